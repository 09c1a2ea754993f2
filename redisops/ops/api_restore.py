"""The Python API of restores: ``RestoreAPI(target)`` (``target.restore`` once the target has it).

Every method runs a catalogue operation on the target (``restore.apply``, ``restore.undo``), so a script,
a runbook and the CLI validate, plan and report the same way::

    import redisops

    t = redisops.target()                          # the sandbox
    api = RestoreAPI(t)
    plan = api.plan("latest", force=True)          # changes nothing
    if not plan.blocked:
        api.apply("latest", force=True, confirm=True, on_event=print)
    api.undo(confirm=True)                         # the previous data back
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from redisops.ops.catalogue import Plan

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.events import EventSink
    from redisops.ops.restore import SandboxRestore
    from redisops.ops.restore_k8s import K8sRestoreResult, K8sUndoResult
    from redisops.ops.restore_local import LocalUndoResult
    from redisops.ops.target import Target

__all__ = ["RestoreAPI"]

Platform = Literal["auto", "sandbox", "kubernetes"]


class RestoreAPI:
    """Restore backups into a target and undo restores (see the module docstring).

    ``platform``: ``"auto"`` (Kubernetes for a target naming a kubeconfig or context, else the sandbox
    for the sandbox target), ``"sandbox"`` or ``"kubernetes"``.
    """

    def __init__(self, target: Target) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"RestoreAPI({self._target!r})"

    @staticmethod
    def _params(
        backup_id: str,
        force: bool,
        safety_backup: bool,
        include_safety: bool,
        source: str | None,
        platform: Platform,
        timeout: float,
        tool_image: str | None,
        stage_beside_redis: bool = True,
    ) -> dict[str, Any]:
        return {
            "stage_beside_redis": stage_beside_redis,
            "backup_id": backup_id,
            "force": force,
            "safety_backup": safety_backup,
            "include_safety": include_safety,
            "source": source,
            "platform": platform,
            "timeout": timeout,
            "tool_image": tool_image,
        }

    def plan(
        self,
        backup_id: str = "latest",
        *,
        force: bool = False,
        safety_backup: bool = True,
        include_safety: bool = False,
        source: str | None = None,
        platform: Platform = "auto",
        timeout: float = 600.0,
        tool_image: str | None = None,
        stage_beside_redis: bool = True,
    ) -> Plan:
        """What restoring ``backup_id`` (or ``latest``) would do; changes nothing.

        ``plan.blockers`` says what the real run would refuse (a target holding keys without ``force``,
        a backup the target's Redis cannot load, a data dir in use); ``plan.raise_if_blocked()`` turns
        them into PlanBlocked (exit 15).

        Raises:
            InvalidArgument: a malformed backup id or parameter.
            NotFoundError: the backup (or the sandbox) does not exist.
        """
        params = self._params(
            backup_id, force, safety_backup, include_safety, source, platform, timeout, tool_image,
            stage_beside_redis,
        )  # fmt: skip
        return self._target.plan("restore.apply", params)

    def apply(
        self,
        backup_id: str = "latest",
        *,
        force: bool = False,
        safety_backup: bool = True,
        include_safety: bool = False,
        source: str | None = None,
        platform: Platform = "auto",
        timeout: float = 600.0,
        tool_image: str | None = None,
        stage_beside_redis: bool = True,
        confirm: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> SandboxRestore | K8sRestoreResult:
        """Restore ``backup_id`` (or ``latest``) into the target: verified download, the current files
        moved aside (the undo point), the form the target's config loads, start, verify key counts.

        Destructive: needs ``confirm=True``. A target holding keys is refused unless ``force``; its
        keys are backed up first (a ``safety`` backup) unless ``safety_backup=False``. ``on_event``
        receives the events, ``cancel`` stops it (nothing half-done is left).

        Raises:
            AbortedError: no ``confirm=True``, or a read-only (production) target.
            ConflictError: the target holds keys and ``force`` is not set.
            VerificationError: the download or the loaded server did not verify.
        """
        params = self._params(
            backup_id, force, safety_backup, include_safety, source, platform, timeout, tool_image,
            stage_beside_redis,
        )  # fmt: skip
        result: SandboxRestore | K8sRestoreResult = self._target.run(
            "restore.apply", params, confirm=confirm, on_event=on_event, cancel=cancel
        )
        return result

    def plan_undo(
        self, *, platform: Platform = "auto", timeout: float = 600.0, tool_image: str | None = None
    ) -> Plan:
        """What :meth:`undo` would put back; blocked when there is no restore to undo. Changes nothing."""
        params = {"platform": platform, "timeout": timeout, "tool_image": tool_image}
        return self._target.plan("restore.undo", params)

    def undo(
        self,
        *,
        platform: Platform = "auto",
        timeout: float = 600.0,
        tool_image: str | None = None,
        confirm: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> LocalUndoResult | K8sUndoResult:
        """Put back the files the last restore moved aside (stop, swap, start, check it answers).

        Destructive: needs ``confirm=True``.

        Raises:
            AbortedError: no ``confirm=True``, or a read-only (production) target.
            ConflictError: there is nothing to undo (checked before anything stops).
        """
        params = {"platform": platform, "timeout": timeout, "tool_image": tool_image}
        result: LocalUndoResult | K8sUndoResult = self._target.run(
            "restore.undo", params, confirm=confirm, on_event=on_event, cancel=cancel
        )
        return result
