"""The Python API of the local sandbox and the rehearsal: ``SandboxAPI(target)`` over the catalogue's
``sandbox.status``, ``sandbox.up``, ``sandbox.down`` and ``rehearsal.run``, and the result types front
ends render (:class:`SandboxState`, :class:`SandboxDownReport`, :class:`RehearsalReport`)::

    import redisops
    from redisops.ops.api_sandbox import SandboxAPI

    box = SandboxAPI(redisops.target())
    state = box.up()                    # starts (or repairs) the sandbox; changes: audited
    print(box.rehearse().ok)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from redisops._lazy import lazy_getattr

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.events import EventSink
    from redisops.ops.catalogue import Plan
    from redisops.ops.rehearsal import RehearsalReport
    from redisops.ops.sandbox import SandboxDownReport, SandboxState
    from redisops.ops.target import Target

__all__ = ["RehearsalReport", "SandboxAPI", "SandboxDownReport", "SandboxState"]

__getattr__ = lazy_getattr(
    __name__,
    {
        "RehearsalReport": "redisops.ops.rehearsal",
        "SandboxDownReport": "redisops.ops.sandbox",
        "SandboxState": "redisops.ops.sandbox",
    },
    globals(),
)


class SandboxAPI:
    """The sandbox the target lives in (its state dir): status, up, down, and the rehearsal on it."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"SandboxAPI({self._target!r})"

    def status(self) -> SandboxState:
        """The sandbox's services and their live status (NotFoundError: no sandbox is running)."""
        state: SandboxState = self._target.run("sandbox.status")
        return state

    def plan_up(self, **params: Any) -> Plan:
        """What :meth:`up` would start or keep; changes nothing."""
        return self._target.plan("sandbox.up", params)

    def up(
        self,
        *,
        bucket: str | None = None,
        password_file: str | Path | None = None,
        acl_user: str | None = None,
        tls: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> SandboxState:
        """Start (or repair) the sandbox: target Redis (with a password, an ACL user and TLS when asked),
        the ElastiCache-like source, the local S3."""
        params = {"bucket": bucket, "password_file": password_file, "acl_user": acl_user, "tls": tls}
        state: SandboxState = self._target.run("sandbox.up", params, on_event=on_event, cancel=cancel)
        return state

    def down(self, *, discard_backups: bool = False, on_event: EventSink | None = None) -> SandboxDownReport:
        """Export the backup store (unless ``discard_backups``) and stop the sandbox's processes."""
        params = {"discard_backups": discard_backups}
        report: SandboxDownReport = self._target.run("sandbox.down", params, on_event=on_event)
        return report

    def rehearse(
        self, *, on_event: EventSink | None = None, cancel: CancelToken | None = None
    ) -> RehearsalReport:
        """Start the sandbox and rehearse the toolkit on it, step by step (``report.ok``)."""
        report: RehearsalReport = self._target.run("rehearsal.run", {}, on_event=on_event, cancel=cancel)
        return report
