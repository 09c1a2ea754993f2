"""The platform side of the health report: Kubernetes and backup checks plug in through a Protocol.

The Kubernetes adapter (and the backup store) implement :class:`PlatformProbe`, turning what they
observe into checks with the graders of :mod:`redisops.health.graders` (``pod_check``, ``pvc_check``,
``service_check``, ``backup_age_check``, ``drill_check``). Until one is configured, :class:`NoPlatform`
reports each of those checks as ``unknown`` with the reason.

Restore drills are an optional extra: a probe that also has ``drill_checks()`` (see :class:`DrillProbe`)
reports them; for any other probe the runner reports ``drill`` as ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from redisops.health.graders import DRILL_SOURCE
from redisops.health.model import CheckResult, Status

__all__ = ["BackupAge", "DrillProbe", "NoPlatform", "PlatformProbe", "platform_unknown"]


@dataclass(frozen=True, slots=True)
class BackupAge:
    """Age in seconds of the newest complete backup, or None with the reason.

    ``missing`` tells "the store was read and holds no usable backup" (graded ``warn``) from "the store
    could not be read" (``unknown``). With an age, ``reason`` is a note (e.g. the backup's id).
    """

    age_s: float | None
    reason: str | None = None
    missing: bool = False


@runtime_checkable
class PlatformProbe(Protocol):
    """What the health report asks the platform. Each method may raise; the runner turns an
    exception into an ``unknown`` check with the reason."""

    def pod_checks(self) -> list[CheckResult]:
        """One check per Redis pod (ready, restarts, OOMKilled, CrashLoopBackOff)."""
        ...

    def pvc_checks(self) -> list[CheckResult]:
        """One check per data PVC (bound, usage)."""
        ...

    def service_checks(self) -> list[CheckResult]:
        """One check per Service (endpoints present)."""
        ...

    def backup_age(self) -> BackupAge:
        """Age of the newest complete backup."""
        ...


@runtime_checkable
class DrillProbe(Protocol):
    """The optional part of a platform probe: the restore-drill check(s)."""

    def drill_checks(self) -> list[CheckResult]:
        """The ``drill`` check (see :func:`redisops.health.graders.drill_check`)."""
        ...


def platform_unknown(name: str, reason: str, category: str = "kubernetes", source: str = "") -> CheckResult:
    """An ``unknown`` platform check with ``reason``."""
    return CheckResult(name=name, status=Status.UNKNOWN, source=source, reason=reason, category=category)


class NoPlatform:
    """No Kubernetes adapter and no backup store: every platform check is ``unknown``."""

    K8S_REASON = "Kubernetes adapter not configured"
    BACKUP_REASON = "no backup store configured"

    def pod_checks(self) -> list[CheckResult]:
        """``pod`` unknown."""
        return [platform_unknown("pod", self.K8S_REASON, source="kubernetes-mixin")]

    def pvc_checks(self) -> list[CheckResult]:
        """``pvc`` unknown."""
        return [platform_unknown("pvc", self.K8S_REASON, source="kubernetes-mixin")]

    def service_checks(self) -> list[CheckResult]:
        """``service`` unknown."""
        return [platform_unknown("service", self.K8S_REASON, source="kubernetes-mixin")]

    def backup_age(self) -> BackupAge:
        """No store: unknown."""
        return BackupAge(None, self.BACKUP_REASON)

    def drill_checks(self) -> list[CheckResult]:
        """``drill`` unknown."""
        return [platform_unknown("drill", self.BACKUP_REASON, category="backup", source=DRILL_SOURCE)]
