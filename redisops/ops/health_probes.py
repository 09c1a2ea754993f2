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

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

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

__all__ = ["PlatformHealthProbe", "StoreProbe", "StoreUnavailable", "fail_fast", "platform_probe"]

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


StatusSource = Callable[[], Mapping[str, Any]]


class PlatformHealthProbe:
    """Pod, PVC and Service checks (Kubernetes) or the target process and the data dir (sandbox), graded
    by :mod:`redisops.health.rules_platform` from the platform's status; backups from ``base``.

    Args:
        status: returns ``platform.status``'s JSON form (a :class:`~redisops.ops.platform_status.
            PlatformReport`'s ``to_dict()``); read once per health run (at ``pod_checks``, which the
            runner asks first) and reused by ``pvc_checks`` and ``service_checks``.
        base: the backup probe (:class:`StoreProbe`), default :class:`NoPlatform`.
        thresholds: pod restarts and PVC usage thresholds.
        clock: unix time now (how recent a restart or an OOMKill is).
    """

    def __init__(
        self,
        status: StatusSource,
        *,
        base: PlatformProbe | None = None,
        thresholds: Thresholds | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._status = status
        self.base: PlatformProbe = base or NoPlatform()
        self.thresholds = thresholds or Thresholds()
        self.clock = clock
        self._last: Mapping[str, Any] | Exception | None = None

    def _read(self, fresh: bool) -> Mapping[str, Any]:
        """The status, read afresh or the last one; a failed read is re-raised (not retried) until the
        next fresh read, so an unreachable API server costs one timeout per health run, not three."""
        if fresh or self._last is None:
            try:
                self._last = self._status()
            except Exception as e:  # the runner turns it into unknown checks with the reason
                self._last = e
        if isinstance(self._last, Exception):
            raise self._last
        return self._last

    def pod_checks(self) -> list[CheckResult]:
        """Kubernetes: the Deployment and each pod; the sandbox: the target process."""
        from redisops.health.rules_platform import pod_checks, process_checks

        status = self._read(fresh=True)
        if status.get("platform") == "sandbox":
            return process_checks(status, self.thresholds)
        return pod_checks(status, self.thresholds, now=self.clock())

    def pvc_checks(self) -> list[CheckResult]:
        """Kubernetes: the PVC (bound, usage from df in the pod); the sandbox: the data dir."""
        from redisops.health.rules_platform import data_dir_check, pvc_checks

        status = self._read(fresh=False)
        if status.get("platform") == "sandbox":
            return data_dir_check(status, self.thresholds)
        return pvc_checks(status, self.thresholds)

    def service_checks(self) -> list[CheckResult]:
        """Kubernetes: the Service's endpoints; the sandbox has none (no check)."""
        from redisops.health.rules_platform import service_checks

        status = self._read(fresh=False)
        if status.get("platform") == "sandbox":
            return []
        return service_checks(status)

    def backup_age(self) -> BackupAge:
        """From ``base``."""
        return self.base.backup_age()

    def drill_checks(self) -> list[CheckResult]:
        """From ``base`` (``unknown`` when it has no drills)."""
        drills = getattr(self.base, "drill_checks", None)
        if drills is None:
            return NoPlatform().drill_checks()
        result: list[CheckResult] = drills()
        return result


def platform_probe(
    target: Any, base: PlatformProbe | None = None, thresholds: Thresholds | None = None
) -> PlatformProbe:
    """The health report's probe for ``target``: :class:`PlatformHealthProbe` over ``platform.status``
    where the target says where Redis runs (the sandbox; a kubeconfig or context: Kubernetes), else
    ``base`` (the pod/PVC checks stay ``unknown``, as before). Resolving the platform never raises: a
    failure to read the status becomes ``unknown`` checks with the reason (the runner's rule)."""
    from redisops.ops.entries_platform import platform_of, read_status

    which = platform_of(target, "auto", strict=False)
    if which is None:
        return base or NoPlatform()
    return PlatformHealthProbe(lambda: read_status(target, which).to_dict(), base=base, thresholds=thresholds)
