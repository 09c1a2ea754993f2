"""Graders for platform facts (Kubernetes pods, PVCs, Services; backup age) into health checks.

Platform adapters turn what they observe into :class:`CheckResult` values the same way the Redis checks
do, with thresholds and sources from reference/health-checks.md.
"""

from __future__ import annotations

from typing import Any

from redisops.health.model import CheckResult, Status, Thresholds

__all__ = ["backup_age_check", "pod_check", "pvc_check", "service_check"]


def pod_check(
    name: str,
    *,
    ready: bool | None,
    restarts: int | None,
    last_terminated_reason: str | None = None,
    waiting_reason: str | None = None,
    thresholds: Thresholds | None = None,
) -> CheckResult:
    """A pod: not ready / OOMKilled / CrashLoopBackOff = crit; restarts above the threshold warn."""
    t = thresholds or Thresholds()
    source = "kubernetes-mixin (KubePodNotReady, KubePodCrashLooping)"
    threshold = f"not ready / OOMKilled / CrashLoopBackOff = crit; restarts > {t.pod_restarts_warn} warn"
    value = {
        "ready": ready,
        "restarts": restarts,
        "last_terminated": last_terminated_reason,
        "waiting": waiting_reason,
    }
    check = f"pod:{name}"

    def res(status: Status, hint: str) -> CheckResult:
        return CheckResult(check, status, value, threshold, source, hint, category="kubernetes")

    if ready is None:
        return CheckResult(
            check, Status.UNKNOWN, value, threshold, source, "", "pod status unknown", "kubernetes"
        )
    if waiting_reason == "CrashLoopBackOff":
        return res(Status.CRIT, "the Redis container is crash-looping: see its logs and last state")
    if last_terminated_reason == "OOMKilled":
        return res(Status.CRIT, "Redis was OOMKilled: lower maxmemory or raise the limit (fork needs room)")
    if not ready:
        return res(Status.CRIT, "the Redis pod is not ready")
    if restarts is not None and restarts > t.pod_restarts_warn:
        return res(Status.WARN, f"{restarts} restart(s): look at the previous container's logs")
    return res(Status.OK, "pod ready")


def pvc_check(
    name: str,
    *,
    phase: str | None,
    used_bytes: int | None = None,
    capacity_bytes: int | None = None,
    thresholds: Thresholds | None = None,
) -> CheckResult:
    """A PVC: not Bound = crit; < 3 % free = crit; > 85 % used = warn."""
    t = thresholds or Thresholds()
    source = "kubernetes-mixin (KubePersistentVolumeFillingUp)"
    threshold = (
        f"not Bound = crit; free < {t.pvc_free_crit_ratio:.0%} crit; used > {t.pvc_used_warn_ratio:.0%} warn"
    )
    check = f"pvc:{name}"
    value: dict[str, Any] = {"phase": phase, "used_bytes": used_bytes, "capacity_bytes": capacity_bytes}
    if phase is None:
        return CheckResult(check, Status.UNKNOWN, value, threshold, source, "", "PVC not found", "kubernetes")
    if phase != "Bound":
        return CheckResult(
            check, Status.CRIT, value, threshold, source, f"PVC is {phase}", category="kubernetes"
        )
    if used_bytes is None or not capacity_bytes:
        return CheckResult(
            check, Status.OK, value, threshold, source, "bound", "usage unknown (no kubelet volume stats)",
            "kubernetes",
        )  # fmt: skip
    used = used_bytes / capacity_bytes
    value["used_ratio"] = round(used, 4)
    if 1 - used < t.pvc_free_crit_ratio:
        return CheckResult(
            check, Status.CRIT, value, threshold, source, "the data volume is nearly full: saves will fail",
            category="kubernetes",
        )  # fmt: skip
    if used > t.pvc_used_warn_ratio:
        return CheckResult(
            check,
            Status.WARN,
            value,
            threshold,
            source,
            "the data volume is filling up",
            category="kubernetes",
        )
    return CheckResult(check, Status.OK, value, threshold, source, f"{used:.0%} used", category="kubernetes")


def service_check(name: str, *, endpoints: int | None) -> CheckResult:
    """A Service: no ready endpoints = crit."""
    check = f"service:{name}"
    source = "kubernetes-mixin (no endpoints)"
    if endpoints is None:
        return CheckResult(
            check, Status.UNKNOWN, None, "none = crit", source, "", "service not found", "kubernetes"
        )
    if endpoints == 0:
        return CheckResult(
            check,
            Status.CRIT,
            0,
            "none = crit",
            source,
            "the Service has no ready endpoints",
            category="kubernetes",
        )
    return CheckResult(
        check, Status.OK, endpoints, "none = crit", source, "endpoints ready", category="kubernetes"
    )


def backup_age_check(
    age_s: float | None, *, reason: str | None = None, thresholds: Thresholds | None = None
) -> CheckResult:
    """Age of the newest complete backup: > 24 h warn, > 48 h crit; None = unknown with ``reason``."""
    t = thresholds or Thresholds()
    threshold = f"warn > {t.backup_warn_s / 3600:g} h, crit > {t.backup_crit_s / 3600:g} h"
    source = "awesome-prometheus-alerts (48 h)"
    if age_s is None:
        return CheckResult(
            "backup_age", Status.UNKNOWN, None, threshold, source, "", reason or "no backup found", "backup"
        )
    value = round(age_s)
    if age_s > t.backup_crit_s:
        return CheckResult(
            "backup_age", Status.CRIT, value, threshold, source, "backups are stale: check the schedule",
            category="backup",
        )  # fmt: skip
    if age_s > t.backup_warn_s:
        return CheckResult(
            "backup_age", Status.WARN, value, threshold, source, "the newest backup is over a day old",
            category="backup",
        )  # fmt: skip
    return CheckResult("backup_age", Status.OK, value, threshold, source, "recent backup", category="backup")
