"""The Python API of backups: typed methods over the catalogue's ``backup.*`` operations.

Each method validates its arguments through the operation's parameter model (a bad value is
:class:`~redisops.errors.InvalidArgument` naming the field), runs on the target it was built with,
sends its events to ``on_event`` and stops on ``cancel``. Destructive ones (``delete``, ``gc``,
``prune``, ``schedule``) need ``confirm=True``; read :meth:`BackupAPI.plan` first::

    import redisops
    from redisops.ops.api_backup import BackupAPI

    backups = BackupAPI(redisops.target())          # the sandbox
    # m = backups.create(on_event=print); backups.verify(m.id, deep=True)
    # print(backups.plan("prune", keep_last=3).steps); backups.prune(keep_last=3, confirm=True)
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from redisops._lazy import lazy_getattr

if TYPE_CHECKING:
    from redisops.backup import BackupStore, GcReport, Manifest, RetentionPlan
    from redisops.backup.layout import check_source_name, is_backup_id
    from redisops.cancel import CancelToken
    from redisops.events import EventSink
    from redisops.ops.backup import VerifyResult
    from redisops.ops.catalogue import Plan
    from redisops.ops.entries_backup import BackupList, DeleteResult, ScheduleResult, UnlockResult
    from redisops.ops.restore import DrillResult
    from redisops.ops.target import Target

#: what front ends render and check (they import these from here, not from redisops.backup)
__all__ = ["BackupAPI", "BackupStore", "Manifest", "RetentionPlan", "check_source_name", "is_backup_id"]

#: loaded on first use: the backup store (boto3) stays out of a CLI's start-up
__getattr__ = lazy_getattr(
    __name__,
    {
        "BackupStore": "redisops.backup",
        "Manifest": "redisops.backup",
        "RetentionPlan": "redisops.backup",
        "check_source_name": "redisops.backup.layout",
        "is_backup_id": "redisops.backup.layout",
    },
    globals(),
)


class BackupAPI:
    """Backups of the target's Redis in its backup store (``source``: the source name in the store,
    default the config's ``service_name``)."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"BackupAPI({self._target!r})"

    def _run(
        self,
        op: str,
        params: Mapping[str, Any],
        on_event: EventSink | None,
        cancel: CancelToken | None,
        confirm: bool = False,
    ) -> Any:
        return self._target.run(op, params, on_event=on_event, cancel=cancel, confirm=confirm)

    def plan(self, op_name: str, **params: Any) -> Plan:
        """What ``backup.<op_name>`` would do with ``params`` (``"prune"`` or ``"backup.prune"``):
        steps, blockers (what the real run would refuse) and warnings; changes nothing."""
        name = op_name if op_name.startswith("backup.") else f"backup.{op_name}"
        return self._target.plan(name, params)

    # --- reading ---------------------------------------------------------------------------------------

    def list(
        self,
        *,
        source: str | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> BackupList:
        """The complete backups (with a manifest), newest first (``.backups``)."""
        result: BackupList = self._run("backup.list", {"source": source}, on_event, cancel)
        return result

    def describe(
        self,
        backup_id: str = "latest",
        *,
        source: str | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> Manifest:
        """One backup's manifest (``latest``: the newest that is not a restore's safety backup)."""
        params = {"backup_id": backup_id, "source": source}
        result: Manifest = self._run("backup.describe", params, on_event, cancel)
        return result

    def verify(
        self,
        backup_id: str = "latest",
        *,
        deep: bool = False,
        source: str | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> VerifyResult:
        """Re-read a backup: sizes, SHA-256, RDB trailer; ``deep`` also loads it into a scratch
        redis-server and compares key counts. Raises VerificationError (exit 8) when it does not verify."""
        params = {"backup_id": backup_id, "deep": deep, "source": source}
        result: VerifyResult = self._run("backup.verify", params, on_event, cancel)
        return result

    # --- changing --------------------------------------------------------------------------------------

    def create(
        self,
        *,
        kind: Literal["rdb", "aof"] = "rdb",
        purpose: Literal["manual", "scheduled"] = "manual",
        notes: str = "",
        source: str | None = None,
        data_dir: str | Path | None = None,
        prefer_replica: bool = True,
        timeout: float = 120.0,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> Manifest:
        """Take a backup now: an RDB streamed from the server (verified on the way) or, with
        ``kind="aof"``, the AOF files of ``data_dir``. Listed only once complete; a cancelled or failed
        backup leaves nothing listed and the lock released."""
        params = {
            "kind": kind,
            "purpose": purpose,
            "notes": notes,
            "source": source,
            "data_dir": str(data_dir) if data_dir is not None else None,
            "prefer_replica": prefer_replica,
            "timeout": timeout,
        }
        result: Manifest = self._run("backup.create", params, on_event, cancel)
        return result

    def drill(
        self,
        backup_id: str = "latest",
        *,
        redis_conf: str | Path | None = None,
        source: str | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> DrillResult:
        """Restore drill: the backup into a scratch redis-server (``redis_conf``: the production
        redis.conf file), verified; RTO and RPO recorded in the store for ``health``. Raises
        VerificationError when the drill fails (the failure is recorded too)."""
        params = {
            "backup_id": backup_id,
            "redis_conf": str(redis_conf) if redis_conf is not None else None,
            "source": source,
        }
        result: DrillResult = self._run("backup.drill", params, on_event, cancel)
        return result

    def unlock(
        self,
        *,
        force: bool = False,
        source: str | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> UnlockResult:
        """Break the backup lock left by a dead backup (a holder known to run only with ``force``);
        with no lock held it says so (``broken`` None)."""
        params = {"force": force, "source": source}
        result: UnlockResult = self._run("backup.unlock", params, on_event, cancel)
        return result

    # --- destroying (confirm=True) ---------------------------------------------------------------------

    def delete(
        self,
        backup_id: str,
        *,
        force: bool = False,
        source: str | None = None,
        confirm: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> DeleteResult:
        """Delete one backup, its manifest first. Refused (PlanBlocked) for the newest verified backup
        unless ``force``; AbortedError without ``confirm=True``."""
        params = {"backup_id": backup_id, "force": force, "source": source}
        result: DeleteResult = self._run("backup.delete", params, on_event, cancel, confirm)
        return result

    def gc(
        self,
        *,
        grace_hours: float = 24.0,
        source: str | None = None,
        confirm: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> GcReport:
        """Remove leftovers of failed backups (unfinished uploads, folders without a manifest) older
        than ``grace_hours``; AbortedError without ``confirm=True``."""
        params = {"grace_hours": grace_hours, "source": source}
        result: GcReport = self._run("backup.gc", params, on_event, cancel, confirm)
        return result

    def prune(
        self,
        *,
        keep_last: int | None = None,
        daily: int = 0,
        weekly: int = 0,
        monthly: int = 0,
        keep_safety: int = 3,
        source: str | None = None,
        confirm: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> RetentionPlan:
        """Apply retention (``keep_last`` default: the config's; plus daily/weekly/monthly); the newest
        verified backup is always kept. AbortedError without ``confirm=True``."""
        params = {
            "keep_last": keep_last,
            "daily": daily,
            "weekly": weekly,
            "monthly": monthly,
            "keep_safety": keep_safety,
            "source": source,
        }
        result: RetentionPlan = self._run("backup.prune", params, on_event, cancel, confirm)
        return result

    def schedule(
        self,
        *,
        every: float = 6 * 3600,
        count: int = 1,
        drill: bool = False,
        source: str | None = None,
        confirm: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> ScheduleResult:
        """The backup job on a timer: ``count`` times (0: until ``cancel``) a backup, a prune to the
        config's keep_last and, with ``drill``, a restore drill; ``every`` seconds apart."""
        params = {"every": every, "count": count, "drill": drill, "source": source}
        result: ScheduleResult = self._run("backup.schedule", params, on_event, cancel, confirm)
        return result

    def ids(self, *, source: str | None = None) -> builtins.list[str]:
        """The ids of the complete backups, newest first (a shorthand for ``list().backups``)."""
        return [m.id for m in self.list(source=source).backups]
