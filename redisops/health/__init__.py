"""Health checks: the pure model (statuses, results, thresholds), the rules and the platform Protocol.

Pure: no I/O. :mod:`redisops.ops.health` gathers the inputs from a server and runs the rules.

Example::

    inputs = HealthInputs(now=time.time(), ping_ms=0.3, info=parse_info(raw), config=parse_config_get(c))
    report = HealthReport(checks=tuple(evaluate(inputs, Thresholds(memory_warn_ratio=0.8))))
    report.overall, report.exit_code()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redisops._lazy import lazy_getattr

#: public name -> module that defines it; loaded on first use (PEP 562), so importing one module of
#: the package (``redisops.health.display`` for the CLI's tables) does not load every rule
_EXPORTS: dict[str, str] = {
    "CHECKS": "redisops.health.rules",
    "BackupAge": "redisops.health.platform",
    "CheckResult": "redisops.health.model",
    "CheckSpec": "redisops.health.rules",
    "DrillProbe": "redisops.health.platform",
    "HealthInputs": "redisops.health.rules",
    "HealthReport": "redisops.health.model",
    "NoPlatform": "redisops.health.platform",
    "PlatformProbe": "redisops.health.platform",
    "Status": "redisops.health.model",
    "Thresholds": "redisops.health.model",
    "backup_age_check": "redisops.health.graders",
    "container_memory_limit": "redisops.health.rules",
    "drill_check": "redisops.health.graders",
    "evaluate": "redisops.health.rules",
    "platform_unknown": "redisops.health.platform",
    "pod_check": "redisops.health.graders",
    "pvc_check": "redisops.health.graders",
    "service_check": "redisops.health.graders",
}

__all__ = [
    "CHECKS",
    "BackupAge",
    "CheckResult",
    "CheckSpec",
    "DrillProbe",
    "HealthInputs",
    "HealthReport",
    "NoPlatform",
    "PlatformProbe",
    "Status",
    "Thresholds",
    "backup_age_check",
    "container_memory_limit",
    "drill_check",
    "evaluate",
    "platform_unknown",
    "pod_check",
    "pvc_check",
    "service_check",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from redisops.health.graders import backup_age_check, drill_check, pod_check, pvc_check, service_check
    from redisops.health.model import CheckResult, HealthReport, Status, Thresholds
    from redisops.health.platform import BackupAge, DrillProbe, NoPlatform, PlatformProbe, platform_unknown
    from redisops.health.rules import CHECKS, CheckSpec, HealthInputs, container_memory_limit, evaluate
