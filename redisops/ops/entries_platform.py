"""Catalogue entries of the platform area: ``platform.status`` and ``platform.logs`` (both ``read``).

Where Redis runs is the target's: the sandbox (the default target), or Kubernetes when the target
names a kubeconfig or a context (``--kubeconfig`` / ``--context`` / a named target's); ``platform``
forces one (``kubernetes`` with neither uses ``$KUBECONFIG``, ``~/.kube/config`` or the in-cluster
account)::

    t = redisops.target(context="prod", namespace="llm-judge")
    st = t.run("platform.status", {})          # PlatformReport: pods, PVC (df usage), Service, events
    t.run("platform.logs", {"previous": True, "lines": 50}).lines
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from redisops.errors import InvalidArgument, NotFoundError
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation
from redisops.ops.platform_status import PlatformReport

__all__ = ["LogsParams", "PlatformLogs", "StatusParams", "platform_of", "read_status", "register"]

Which = Literal["auto", "sandbox", "kubernetes"]

_PLATFORM_DOC = (
    "where Redis runs: auto (Kubernetes when the target names a kubeconfig or context, the sandbox for "
    "the sandbox target), sandbox or kubernetes"
)


class StatusParams(BaseModel):
    """Parameters of ``platform.status``."""

    model_config = ConfigDict(extra="forbid")

    platform: Which = Field("auto", description=_PLATFORM_DOC)
    usage: bool = Field(
        True, description="measure the PVC's usage with `df -P /data` through exec in the Redis pod"
    )


class LogsParams(BaseModel):
    """Parameters of ``platform.logs``."""

    model_config = ConfigDict(extra="forbid")

    platform: Which = Field("auto", description=_PLATFORM_DOC)
    lines: int = Field(100, ge=1, le=100_000, description="the last N lines")
    previous: bool = Field(
        False,
        description="Kubernetes: the previous container's log (the one that crashed or was OOMKilled); "
        "refused on the sandbox (its log file keeps every run)",
    )


@dataclass(frozen=True)
class PlatformLogs:
    """``platform.logs``: the last lines of Redis's log and where they were read."""

    platform: Literal["kubernetes", "sandbox"]
    source: str
    previous: bool
    lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"platform", "source", "previous", "count", "lines"}``."""
        return {
            "platform": self.platform,
            "source": self.source,
            "previous": self.previous,
            "count": len(self.lines),
            "lines": list(self.lines),
        }


def platform_of(
    target: Any, wanted: Which = "auto", *, strict: bool = True
) -> Literal["kubernetes", "sandbox"] | None:
    """Where ``target``'s Redis runs: ``wanted`` unless ``auto``; then Kubernetes when the target names a
    kubeconfig or context, the sandbox for the sandbox target.

    Raises:
        InvalidArgument: (``strict``) neither applies (an ad hoc ``--url``); without ``strict`` None.
    """
    if wanted != "auto":
        return wanted
    if getattr(target, "kubeconfig", None) is not None or getattr(target, "context", None) is not None:
        return "kubernetes"
    if getattr(target, "is_sandbox", False):
        return "sandbox"
    if not strict:
        return None
    raise InvalidArgument(
        f"cannot tell where target {getattr(target, 'name', '?')} runs Redis: it is not the sandbox and "
        "names no kubeconfig or context",
        hint="pass --context/--kubeconfig (or a named target with a context); Python: platform='kubernetes'",
    )


def _sandbox(target: Any) -> Any:
    from redisops.ops.sandbox import sandbox_status

    state = sandbox_status(getattr(target, "state_dir", None))
    if state is None:
        raise NotFoundError("the sandbox is not running", hint="start it with: redisops sandbox up")
    return state


def read_status(
    target: Any, which: Literal["kubernetes", "sandbox"], *, usage: bool = True
) -> PlatformReport:
    """The :class:`PlatformReport` of ``target`` on ``which`` (the helper ``platform.status`` and the
    health report's probe share)."""
    from redisops.ops.platform_status import kube_report, sandbox_report

    if which == "kubernetes":
        return kube_report(target.kube(), target.config(), measure_usage=usage)
    return sandbox_report(_sandbox(target))


def run_status(ctx: OpContext, p: StatusParams) -> PlatformReport:
    """``platform.status``: where Redis runs and its state."""
    which = platform_of(ctx.target, p.platform)
    assert which is not None  # strict
    ctx.reporter.phase("reading", which)
    return read_status(ctx.target, which, usage=p.usage)


def run_logs(ctx: OpContext, p: LogsParams) -> PlatformLogs:
    """``platform.logs``: the last lines of the Redis container's (or the sandbox target's) log."""
    from redisops.ops.platform_status import kube_logs, sandbox_logs

    which = platform_of(ctx.target, p.platform)
    if which == "kubernetes":
        cfg = ctx.target.config()
        pod, text = kube_logs(ctx.target.kube(), cfg, lines=p.lines, previous=p.previous)
        return PlatformLogs("kubernetes", f"pod {cfg.namespace}/{pod}", p.previous, text.splitlines())
    if p.previous:
        raise InvalidArgument(
            "--previous is for a pod's previous container; the sandbox target's log file keeps every run",
            hint="drop --previous (raise -n to see further back)",
        )
    source, text = sandbox_logs(_sandbox(ctx.target), lines=p.lines)
    return PlatformLogs("sandbox", source, False, text.splitlines())


def register(cat: Catalogue) -> None:
    """Add ``platform.status`` and ``platform.logs`` to ``cat``."""
    read = Kind.read
    for op in (
        Operation("platform.status",
                  "Where Redis runs and its state: pods, PVC, Service, or processes, data dir.", read,
                  StatusParams, run_status, result=PlatformReport),
        Operation("platform.logs",
                  "The last lines of Redis's log: its container's (or the previous one's), or the sandbox's.",
                  read, LogsParams, run_logs, result=PlatformLogs),
    ):  # fmt: skip
        cat.register(op)
