"""Health checks: the pure model (statuses, results, thresholds), the rules and the platform Protocol.

Pure: no I/O. :mod:`redisops.ops.health` gathers the inputs from a server and runs the rules.

Example::

    inputs = HealthInputs(now=time.time(), ping_ms=0.3, info=parse_info(raw), config=parse_config_get(c))
    report = HealthReport(checks=tuple(evaluate(inputs, Thresholds(memory_warn_ratio=0.8))))
    report.overall, report.exit_code()
"""

from __future__ import annotations

from redisops.health.graders import backup_age_check, drill_check, pod_check, pvc_check, service_check
from redisops.health.model import CheckResult, HealthReport, Status, Thresholds
from redisops.health.platform import BackupAge, DrillProbe, NoPlatform, PlatformProbe, platform_unknown
from redisops.health.rules import CHECKS, CheckSpec, HealthInputs, container_memory_limit, evaluate

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
