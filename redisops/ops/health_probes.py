"""Platform probes for the health report that read the backup store: backup freshness and restore drills.

:class:`StoreProbe` implements :class:`~redisops.health.PlatformProbe` (and the optional
:class:`~redisops.health.DrillProbe`) from a :class:`~redisops.backup.BackupStore`:

- ``backup_age``: age of the newest *verified* backup at ``now``. No verified backup in a readable
  store is ``warn`` (``missing``); a store that cannot be read is ``unknown`` with the reason.
- ``drill``: the last restore drill recorded by :func:`redisops.ops.restore.run_drill`
  (see :func:`redisops.health.drill_check`).

Pod, PVC and Service checks come from ``base`` (the Kubernetes probe once configured; default
:class:`~redisops.health.NoPlatform`, i.e. ``unknown``). Nothing here raises: failures become reasons.

Example::

    store = fail_fast(store_for(cfg.backup, sandbox=state, source_name=cfg.service_name))
    report = run_health(ep, cfg, platform=StoreProbe(store))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from redisops.adapters.s3 import S3Adapter
from redisops.backup import BackupStore
from redisops.errors import RedisOpsError
from redisops.health import (
    BackupAge,
    CheckResult,
    NoPlatform,
    PlatformProbe,
    Thresholds,
    drill_check,
    platform_unknown,
)
from redisops.health.graders import DRILL_SOURCE
from redisops.ops.restore import last_drill

__all__ = ["StoreProbe", "StoreUnavailable", "fail_fast"]

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _why(e: Exception) -> str:
    detail = e.one_line() if isinstance(e, RedisOpsError) else str(e)
    return f"backup store not readable: {type(e).__name__}: {detail}"


def fail_fast(
    store: BackupStore, *, max_attempts: int = 2, connect_timeout: float = 3.0, read_timeout: float = 15.0
) -> BackupStore:
    """The same store with a client that gives up quickly: a health run should not wait a minute
    (5 attempts x 10 s connect timeout by default) to report an unreachable store as ``unknown``."""
    settings = replace(
        store.s3.settings,
        max_attempts=max_attempts,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return BackupStore(store.layout, S3Adapter(settings), store.source, host=store.host)


class StoreProbe:
    """Backup freshness and the last restore drill from ``store``; other platform checks from ``base``.

    Args:
        store: the backup store of the Redis under check.
        base: the probe for pods, PVCs and Services (default: :class:`NoPlatform`, all ``unknown``).
        thresholds: for the drill age (``drill_warn_days``); backup age is graded by the runner.
        now: the time to judge ages at: a tz-aware datetime, or a callable returning one
            (default: the current UTC time at each call).
    """

    def __init__(
        self,
        store: BackupStore,
        *,
        base: PlatformProbe | None = None,
        thresholds: Thresholds | None = None,
        now: datetime | Clock | None = None,
    ) -> None:
        self.store = store
        self.base: PlatformProbe = base or NoPlatform()
        self.thresholds = thresholds or Thresholds()
        if isinstance(now, datetime):
            fixed = now
            self._clock: Clock = lambda: fixed
        else:
            self._clock = now or _utcnow

    def pod_checks(self) -> list[CheckResult]:
        """From ``base``."""
        return self.base.pod_checks()

    def pvc_checks(self) -> list[CheckResult]:
        """From ``base``."""
        return self.base.pvc_checks()

    def service_checks(self) -> list[CheckResult]:
        """From ``base``."""
        return self.base.service_checks()

    def backup_age(self) -> BackupAge:
        """Age of the newest verified backup at ``now``; ``missing`` when there is none; never raises."""
        where = f"{self.store.s3.settings.bucket}/{self.store.layout.root} (source {self.store.source})"
        try:
            backups = self.store.list()
        except Exception as e:  # health reports, it does not fail
            return BackupAge(None, _why(e))
        for m in backups:
            if m.verified:
                age = (self._clock() - m.created_at).total_seconds()
                return BackupAge(max(0.0, age), f"newest verified backup: {m.id}")
        if backups:
            return BackupAge(
                None, f"{len(backups)} backup(s) in {where}, none verified at write time", missing=True
            )
        return BackupAge(None, f"no backup in {where}", missing=True)

    def drill_checks(self) -> list[CheckResult]:
        """The ``drill`` check from the last recorded drill; ``unknown`` when the store cannot be read."""
        try:
            record = last_drill(self.store)
        except Exception as e:
            return [platform_unknown("drill", _why(e), category="backup", source=DRILL_SOURCE)]
        return [drill_check(record, self._clock(), self.thresholds)]


class StoreUnavailable(NoPlatform):
    """The backup store could not even be set up (bad config): backup checks ``unknown`` with ``reason``."""

    def __init__(self, reason: str) -> None:
        self.BACKUP_REASON = reason
