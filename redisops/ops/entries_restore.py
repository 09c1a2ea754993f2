"""Catalogue entries of the restore area: ``restore.apply`` and ``restore.undo``.

Both act on the target's platform: the local **sandbox** (:func:`redisops.ops.restore.restore_sandbox`:
stop the sandbox target, the engine on its data dir, start, verify) or **Kubernetes**
(:func:`redisops.ops.restore_k8s.restore_k8s`: scale to 0, the restore Job on the PVC, scale back,
verify). ``platform="auto"`` picks Kubernetes for a target that names a kubeconfig or context, else
the sandbox for the sandbox target (``redisops restore --target sandbox|k8s`` in the CLI says it
explicitly). Their plans are the existing dry runs: what the real run would refuse is the plan's
blockers, and nothing changes (no safety backup, no scale, no file moved).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from redisops.errors import InvalidArgument, NotFoundError
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation, Plan
from redisops.ops.entries_util import deploy_config, log_progress

if TYPE_CHECKING:
    from redisops.adapters.redis_conn import RedisEndpoint
    from redisops.ops.restore import SandboxRestore
    from redisops.ops.restore_flow import FlowPlan
    from redisops.ops.restore_k8s import K8sRestoreResult, K8sUndoResult
    from redisops.ops.restore_local import LocalUndoResult
    from redisops.ops.sandbox import SandboxState

__all__ = ["RestoreParams", "UndoParams", "register"]

Platform = Literal["auto", "sandbox", "kubernetes"]

_PLATFORM_DOC = (
    "where Redis runs: 'sandbox' (the local sandbox target), 'kubernetes' (the Redis PVC of the target's "
    "cluster), or 'auto' (Kubernetes for a target with a kubeconfig or context, else the sandbox for "
    "the sandbox target)"
)
_TIMEOUT_DOC = "Kubernetes: seconds for each wait (pods gone, Job, rollout)"
_TOOL_IMAGE_DOC = "Kubernetes: the redisops image the restore Job runs [default: the release's image]"


class RestoreParams(BaseModel):
    """Parameters of ``restore.apply``."""

    model_config = ConfigDict(extra="forbid")

    backup_id: str = Field("latest", description="the backup to restore: its id, or 'latest'")
    include_safety: bool = Field(
        False,
        description="'latest' may be a safety backup (what a restore took of the data it replaced); "
        "by default latest skips them",
    )
    force: bool = Field(False, description="replace a target that holds keys (else the restore refuses)")
    safety_backup: bool = Field(
        True, description="back up the target's current keys first (when it holds any and force is set)"
    )
    source: str | None = Field(
        None, description="the source name in the backup store [default: the config's service_name]"
    )
    platform: Platform = Field("auto", description=_PLATFORM_DOC)
    timeout: float = Field(600.0, ge=1, le=86400, description=_TIMEOUT_DOC)
    tool_image: str | None = Field(None, description=_TOOL_IMAGE_DOC)
    stage_beside_redis: bool = Field(
        True,
        description="download and verify the backup while Redis keeps serving, so it is down only for "
        "the install and the start. Kubernetes: a staging Job (restore-data-dir --stage-only) beside the "
        "Redis pod, then the install Job (--install-staged) after the scale to 0, where the PVC's access "
        "mode allows it (ReadWriteMany; ReadWriteOnce with the Job on Redis's node; never "
        "ReadWriteOncePod: the plan says so and one Job stages after the scale to 0); false: one Job "
        "after the scale to 0. The sandbox always stages beside its target",
    )

    @field_validator("backup_id")
    @classmethod
    def _backup_id(cls, value: str) -> str:
        from redisops.backup.layout import is_backup_id

        if value != "latest" and not is_backup_id(value):
            raise ValueError(
                f"{value!r} is neither 'latest' nor a backup id "
                "(YYYYMMDDTHHMMSSZ-hex; backup.list shows them)"
            )
        return value


class UndoParams(BaseModel):
    """Parameters of ``restore.undo``."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform = Field("auto", description=_PLATFORM_DOC)
    timeout: float = Field(600.0, ge=1, le=86400, description=_TIMEOUT_DOC)
    tool_image: str | None = Field(None, description=_TOOL_IMAGE_DOC)


def _platform(target: Any, wanted: Platform) -> Literal["sandbox", "kubernetes"]:
    if wanted != "auto":
        return wanted
    if getattr(target, "kubeconfig", None) is not None or getattr(target, "context", None) is not None:
        return "kubernetes"
    if getattr(target, "is_sandbox", False):
        return "sandbox"
    raise InvalidArgument(
        f"cannot tell where target {getattr(target, 'name', '?')} runs Redis: it is not the sandbox and "
        "names no kubeconfig or context",
        hint="pass platform='kubernetes' (in a pod: the in-cluster account) or a target with a context",
    )


def _sandbox(target: Any) -> SandboxState:
    """The running sandbox whose target Redis is the target's own (same server, the target's
    credentials: the restore's key count, safety backup and verification log in with them).

    Raises:
        NotFoundError: the sandbox is not running.
        InvalidArgument: the target's Redis is not the sandbox's target (a restore works on the
            sandbox's data dir).
    """
    from redisops.ops.sandbox import sandbox_status

    state = sandbox_status(target.state_dir)
    if state is None or "target" not in state.services:
        raise NotFoundError("the sandbox is not running", hint="start it with: redisops sandbox up")
    down = [name for name, s in state.services.items() if s.status != "running"]
    if down:
        raise NotFoundError(
            f"the sandbox's {', '.join(down)} {'is' if len(down) == 1 else 'are'} not running",
            hint="start {} again with: redisops sandbox up (it keeps the target's data dir), then "
            "restore".format("it" if len(down) == 1 else "them"),
            context={"stopped": down},
        )
    try:
        ep = target.redis
    except NotFoundError:  # a target naming no Redis: the sandbox's own endpoint
        return state
    if ep.address != state.target.address:
        raise InvalidArgument(
            f"restore works on the sandbox's data dir: the target's Redis must be the sandbox target "
            f"{state.target.address}, not {ep.address}",
            hint="to restore into a cluster pass --target k8s (with --kubeconfig/--context/-n) or "
            "--target NAME (Python: platform='kubernetes')",
        )
    return _with_endpoint(state, ep)


def _with_endpoint(state: SandboxState, ep: RedisEndpoint) -> SandboxState:
    """``state`` whose target Redis is ``ep`` (the same server, with the target's credentials)."""
    import dataclasses

    from redisops.ops.sandbox import SandboxState as State

    class _Credentialed(State):
        @property
        def target(self) -> RedisEndpoint:
            return ep

    return _Credentialed(**{f.name: getattr(state, f.name) for f in dataclasses.fields(state)})


def _pod_password(target: Any) -> str | None:
    """The password the target gives for the pod's Redis; None: the config's auth settings decide."""
    try:
        password: str | None = target.redis.password
    except NotFoundError:  # a target naming no Redis
        return None
    return password


def _image(p: RestoreParams | UndoParams) -> str:
    from redisops.k8s import DEFAULT_TOOL_IMAGE

    return p.tool_image or DEFAULT_TOOL_IMAGE


def _prepared(ctx: OpContext) -> FlowPlan | None:
    """The flow plan that the catalogue's plan of this very run computed (``ctx.plan.state``): the run
    takes it as it is instead of planning again."""
    from redisops.ops.restore_flow import FlowPlan

    state = ctx.plan.state if ctx.plan is not None else None
    return state if isinstance(state, FlowPlan) else None


def _restore(ctx: OpContext, p: RestoreParams, *, dry_run: bool) -> SandboxRestore | K8sRestoreResult:
    target = ctx.target
    ctx.cancel.check("before the restore started")
    prepared = None if dry_run else _prepared(ctx)
    if _platform(target, p.platform) == "sandbox":
        from redisops.ops.restore import restore_sandbox

        state = _sandbox(target)
        return restore_sandbox(
            state,
            target.config(),
            target.store(p.source),
            p.backup_id,
            dry_run=dry_run,
            force=p.force,
            safety_backup=p.safety_backup,
            confirmed=ctx.confirmed,
            include_safety=p.include_safety,
            reporter=ctx.reporter,
            cancel=ctx.cancel,
            prepared=prepared,
        )
    from redisops.ops.restore_k8s import restore_k8s

    return restore_k8s(
        target.kube(),
        deploy_config(target),
        target.store(p.source, use_sandbox=False),
        p.backup_id,
        tool_image=_image(p),
        force=p.force,
        safety_backup=p.safety_backup,
        confirmed=ctx.confirmed,
        dry_run=dry_run,
        timeout=p.timeout,
        progress=log_progress(ctx.reporter),
        password=_pod_password(target),
        include_safety=p.include_safety,
        stage_beside_redis=p.stage_beside_redis,
        reporter=ctx.reporter,
        cancel=ctx.cancel,
        prepared=prepared,
    )


def run_restore(ctx: OpContext, p: RestoreParams) -> SandboxRestore | K8sRestoreResult:
    """``restore.apply``: restore the backup into the target (see the module docstring)."""
    return _restore(ctx, p, dry_run=False)


def plan_restore(ctx: OpContext, p: RestoreParams) -> Plan:
    """The restore's dry run as a :class:`Plan`; changes nothing. The run of the same invocation takes
    this plan rather than computing it again."""
    import dataclasses

    res = _restore(ctx, p, dry_run=True)
    steps = tuple(line for line in res.plan if not line.startswith("BLOCKED: "))
    # the state holds no store (no credentials): the run gives its own
    state = dataclasses.replace(res.prepared, store=None) if res.prepared is not None else None
    details = res.to_dict()
    errors = res.prepared.errors if res.prepared is not None else []
    if errors:  # the first refusal's own hint (pass --force ...) is the way out the person is shown
        details = {**details, "error": {"message": errors[0].message, "hint": errors[0].hint}}
    return Plan("restore.apply", steps=steps, blockers=tuple(res.blockers), details=details, state=state)


def _undo(ctx: OpContext, p: UndoParams, *, dry_run: bool) -> LocalUndoResult | K8sUndoResult | Plan:
    target = ctx.target
    ctx.cancel.check("before the undo started")
    if _platform(target, p.platform) == "sandbox":
        from redisops.ops.restore import plan_sandbox_undo, undo_sandbox_restore

        state = _sandbox(target)
        if dry_run:
            plan = plan_sandbox_undo(state, now=datetime.now(UTC))
            lines = [line.strip() for line in plan.describe() if "BLOCKED: " not in line]
            if plan.undoes is not None:
                lines.insert(0, f"stop the sandbox target {state.target.address}")
                lines.append("start the target and check that it answers")
            return Plan("restore.undo", steps=tuple(lines), blockers=plan.blockers, details=plan.to_dict())
        ctx.reporter.phase("undo", f"put back the files the last restore moved aside in {state.data_dir}")
        return undo_sandbox_restore(state)
    from redisops.ops.restore_k8s import undo_restore_k8s

    res = undo_restore_k8s(
        target.kube(),
        deploy_config(target),
        tool_image=_image(p),
        confirmed=ctx.confirmed,
        dry_run=dry_run,
        timeout=p.timeout,
        progress=log_progress(ctx.reporter),
        password=_pod_password(target),
    )
    if dry_run:
        return Plan("restore.undo", steps=tuple(res.plan), details=res.to_dict())
    return res


def run_undo(ctx: OpContext, p: UndoParams) -> LocalUndoResult | K8sUndoResult:
    """``restore.undo``: put back the files the last restore moved aside."""
    res = _undo(ctx, p, dry_run=False)
    assert not isinstance(res, Plan)
    return res


def plan_undo(ctx: OpContext, p: UndoParams) -> Plan:
    """What ``restore.undo`` would put back; a data dir with nothing to undo is a blocked plan."""
    res = _undo(ctx, p, dry_run=True)
    assert isinstance(res, Plan)
    return res


def register(cat: Catalogue) -> None:
    """Add ``restore.apply`` and ``restore.undo``."""
    cat.register(
        Operation(
            "restore.apply",
            "Restore a backup into the target: verified download, undo point, install, start, verify.",
            Kind.destructive,
            RestoreParams,
            run_restore,
            plan_restore,
        )
    )
    cat.register(
        Operation(
            "restore.undo",
            "Put back the files the last restore moved aside (the data the target had before).",
            Kind.destructive,
            UndoParams,
            run_undo,
            plan_undo,
        )
    )
