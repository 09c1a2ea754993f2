"""Graders for platform facts (Kubernetes pods, PVCs, Services; backup age, restore drills) into checks.

Platform adapters turn what they observe into :class:`CheckResult` values the same way the Redis checks
do, with thresholds and sources from reference/health-checks.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from redisops.health.model import CheckResult, Status, Thresholds

__all__ = ["DRILL_SOURCE", "backup_age_check", "drill_check", "pod_check", "pvc_check", "service_check"]


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
    age_s: float | None,
    *,
    reason: str | None = None,
    missing: bool = False,
    thresholds: Thresholds | None = None,
) -> CheckResult:
    """Age of the newest complete backup: > 24 h warn, > 48 h crit.

    ``age_s`` None is ``unknown`` with ``reason`` (the store could not be read), or ``warn`` when
    ``missing`` (the store was read and holds no usable backup). With an age, ``reason`` is kept as a
    note (e.g. which backup was judged).
    """
    t = thresholds or Thresholds()
    threshold = f"none = warn, warn > {t.backup_warn_s / 3600:g} h, crit > {t.backup_crit_s / 3600:g} h"
    source = "awesome-prometheus-alerts (48 h)"

    def res(status: Status, value: Any, hint: str) -> CheckResult:
        return CheckResult("backup_age", status, value, threshold, source, hint, reason, "backup")

    if age_s is None:
        if missing:
            return res(Status.WARN, None, "no verified backup in the store: run `redisops backup create`")
        return CheckResult(
            "backup_age", Status.UNKNOWN, None, threshold, source, "", reason or "no backup found", "backup"
        )
    value = round(age_s)
    if age_s > t.backup_crit_s:
        return res(Status.CRIT, value, "backups are stale: check the schedule")
    if age_s > t.backup_warn_s:
        return res(Status.WARN, value, "the newest backup is over a day old")
    return res(Status.OK, value, "recent backup")


DRILL_SOURCE = "team policy (issue 5): drills on a schedule"


def drill_check(
    last: Mapping[str, Any] | None, now: datetime, thresholds: Thresholds | None = None
) -> CheckResult:
    """The last restore drill (the record :func:`redisops.ops.restore.last_drill` returns).

    None (no drill ever) = warn with the hint to run one; a failed drill = crit; a successful drill
    older than ``drill_warn_days`` = warn; a record that cannot be read = unknown with the reason.
    ``now`` must be timezone-aware.
    """
    t = thresholds or Thresholds()
    threshold = f"none = warn, failed = crit, older than {t.drill_warn_days:g} d = warn"

    def res(status: Status, value: Any, hint: str, reason: str | None = None) -> CheckResult:
        return CheckResult("drill", status, value, threshold, DRILL_SOURCE, hint, reason, "backup")

    if last is None:
        return res(Status.WARN, None, "no restore drill recorded: run `redisops backup drill`")
    try:
        raw_at = str(last["at"])
        at = datetime.fromisoformat(raw_at.replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError(f"'at' has no timezone: {raw_at!r}")
        ok = last["ok"]
        if not isinstance(ok, bool):
            raise ValueError(f"'ok' is not a boolean: {ok!r}")
    except (KeyError, TypeError, ValueError) as e:
        return CheckResult(
            "drill", Status.UNKNOWN, None, threshold, DRILL_SOURCE, "",
            f"drill record unreadable: {type(e).__name__}: {e}", "backup",
        )  # fmt: skip
    age_s = max(0.0, (now - at).total_seconds())
    value = {
        "ok": ok,
        "at": raw_at,
        "age_s": round(age_s),
        "backup_id": last.get("backup_id"),
        "rto_seconds": last.get("rto_seconds"),
        "rpo_seconds": last.get("rpo_seconds"),
    }
    if not ok:
        problem = last.get("problem") or "no detail recorded"
        return res(Status.CRIT, value, f"the last restore drill failed: {problem}")
    if age_s > t.drill_warn_days * 86400:
        return res(
            Status.WARN,
            value,
            f"the last successful drill is {age_s / 86400:.1f} days old: run `redisops backup drill`",
        )
    return res(Status.OK, value, f"drill ok {age_s / 3600:.1f} h ago (RTO {value['rto_seconds']} s)")
