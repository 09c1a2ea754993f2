"""Health checks graded from the platform's status (``platform.status``'s JSON form): pods, the PVC and
the Service on Kubernetes; the target process and the data dir on the sandbox.

Pure: each function takes the status mapping (:meth:`redisops.ops.platform_status.PlatformReport.to_dict`)
and the thresholds, and returns :class:`CheckResult` values with the threshold's source and a hint
(reference/health-checks.md):

======================  ===========================================================  =====================
check                   grading                                                      source
======================  ===========================================================  =====================
``pod:<name>``          CrashLoopBackOff, OOMKilled within ``restart_warn_s``, not    kubernetes-mixin
                        ready = crit; an older OOMKilled or a restart within
                        ``restart_warn_s`` or restarts > ``pod_restarts_warn`` = warn
``deployment:<name>``   no ready replica = crit; fewer ready than desired = warn     kubernetes-mixin
``pvc:<name>``          not Bound = crit; free < ``pvc_free_crit_ratio`` crit; used  kubernetes-mixin
                        > ``pvc_used_warn_ratio`` warn (usage from ``df -P /data``)
``service:<name>``      no ready endpoint = crit                                     kubernetes-mixin
``process:target``      not running / not answering = crit                           all sets (down)
``data_dir``            as the PVC, on the data dir's filesystem                     kubernetes-mixin
======================  ===========================================================  =====================

Example::

    checks = pod_checks(report.to_dict(), Thresholds(), now=time.time())
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from redisops.health.model import CheckResult, Status, Thresholds

__all__ = [
    "PLATFORM_SOURCE",
    "data_dir_check",
    "deployment_check",
    "pod_checks",
    "process_checks",
    "pvc_checks",
    "service_checks",
    "volume_check",
]

PLATFORM_SOURCE = "kubernetes-mixin (KubePodNotReady, KubePodCrashLooping)"
PVC_SOURCE = "kubernetes-mixin (KubePersistentVolumeFillingUp: < 3 % free crit; > 85 % used warn)"
SERVICE_SOURCE = "kubernetes-mixin (no endpoints)"
UPTIME_SOURCE = "all sets (down = crit)"

_CRASHLOOP_HINT = (
    "the Redis container is crash-looping: `redisops logs --previous` shows why the last one died; "
    "runbook incident-pod-crashloop"
)
_OOM_HINT = (
    "Redis was OOMKilled: the container limit is below Redis's peak (a fork for BGSAVE/AOF rewrite can "
    "need up to 2x): lower maxmemory or raise the memory limit; runbook incident-memory-pressure"
)
_FULL_HINT = "runbook incident-pvc-nearly-full: free old files or grow the claim"


def _ts(value: Any) -> float | None:
    """Unix time of an RFC 3339 timestamp (``2026-12-07T05:00:00Z``), None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _pod_check(pod: Mapping[str, Any], t: Thresholds, now: float) -> CheckResult:
    name = f"pod:{pod.get('name')}"
    restarts = int(pod.get("restarts") or 0)
    last_reason = pod.get("last_terminated_reason")
    last_at = _ts(pod.get("last_terminated_at"))
    since = now - last_at if last_at is not None else None
    recent = since is not None and since < t.restart_warn_s
    value = {
        "phase": pod.get("phase"),
        "ready": pod.get("ready"),
        "restarts": restarts,
        "waiting": pod.get("waiting_reason"),
        "last_terminated": last_reason,
        "last_terminated_at": pod.get("last_terminated_at"),
        "last_exit_code": pod.get("last_exit_code"),
    }
    threshold = (
        f"CrashLoopBackOff / not ready / OOMKilled in the last {t.restart_warn_s:g} s = crit; an older "
        f"OOMKilled, or restarts > {t.pod_restarts_warn} the last within {t.restart_warn_s:g} s = warn"
    )
    when = f" ({_ago(since)})" if since is not None else ""

    def res(status: Status, hint: str, reason: str | None = None) -> CheckResult:
        return CheckResult(name, status, value, threshold, PLATFORM_SOURCE, hint, reason, "kubernetes")

    if pod.get("waiting_reason") == "CrashLoopBackOff":
        extra = f"; last exit {last_reason}{when}" if last_reason else ""
        return res(Status.CRIT, _CRASHLOOP_HINT, f"CrashLoopBackOff after {restarts} restart(s){extra}")
    if last_reason == "OOMKilled" and (recent or since is None):
        return res(Status.CRIT, _OOM_HINT, f"last termination OOMKilled{when}, {restarts} restart(s)")
    if not pod.get("ready"):
        waiting = pod.get("waiting_reason")
        why = f"phase {pod.get('phase')}" + (f", waiting: {waiting}" if waiting else "")
        return res(
            Status.CRIT,
            "the Redis pod is not ready: `redisops status` shows its events, `redisops logs` its log",
            why,
        )
    if last_reason == "OOMKilled":
        return res(Status.WARN, _OOM_HINT, f"last termination OOMKilled{when}")
    if restarts > t.pod_restarts_warn and (recent or last_at is None):
        return res(
            Status.WARN,
            "Redis restarted recently: `redisops logs --previous` shows why the last container ended",
            f"{restarts} restart(s), last termination {last_reason or 'unknown'}{when}",
        )
    if restarts > t.pod_restarts_warn:
        return res(
            Status.OK,
            f"ready; {restarts} restart(s), the last {last_reason or ''}{when}".replace("  ", " "),
        )
    return res(Status.OK, "pod ready, no restarts")


def pod_checks(status: Mapping[str, Any], t: Thresholds | None = None, *, now: float) -> list[CheckResult]:
    """One ``pod:<name>`` check per pod and the ``deployment:<name>`` check (Kubernetes status)."""
    t = t or Thresholds()
    out: list[CheckResult] = []
    workload = status.get("workload")
    if workload is None:
        notes = "; ".join(status.get("notes") or []) or "the Deployment does not exist"
        return [
            CheckResult(
                "deployment",
                Status.CRIT,
                None,
                "not deployed = crit",
                PLATFORM_SOURCE,
                "deploy Redis (redisops deploy) or point at the right namespace/config",
                notes,
                "kubernetes",
            )
        ]
    out.append(deployment_check(workload))
    out.extend(_pod_check(p, t, now) for p in status.get("pods") or [])
    return out


def deployment_check(workload: Mapping[str, Any]) -> CheckResult:
    """Replicas ready vs desired: none ready = crit, fewer than desired = warn, scaled to 0 = crit."""
    desired, ready = int(workload.get("desired") or 0), int(workload.get("ready") or 0)
    name = f"deployment:{workload.get('name')}"
    value = {"desired": desired, "ready": ready}
    threshold = "no ready replica = crit; fewer ready than desired = warn"
    source = "kubernetes-mixin (KubeDeploymentReplicasMismatch)"

    def res(status: Status, hint: str) -> CheckResult:
        return CheckResult(name, status, value, threshold, source, hint, category="kubernetes")

    if desired == 0:
        return res(Status.CRIT, "scaled to 0: nothing serves (an interrupted restore? redisops restore undo)")
    if ready == 0:
        return res(Status.CRIT, "no ready replica: see the pod check and `redisops status`")
    if ready < desired:
        return res(Status.WARN, f"{ready} of {desired} replicas ready")
    return res(Status.OK, f"{ready}/{desired} ready")


def volume_check(name: str, volume: Mapping[str, Any], t: Thresholds, *, category: str) -> CheckResult:
    """A volume's usage (PVC or data dir): missing / not Bound = crit; free < crit share; used > warn."""
    threshold = (
        f"not Bound = crit; free < {t.pvc_free_crit_ratio:.0%} crit; used > {t.pvc_used_warn_ratio:.0%} warn"
    )
    total, free = volume.get("total_bytes"), volume.get("free_bytes")
    value: dict[str, Any] = {
        "phase": volume.get("phase"),
        "capacity": volume.get("capacity"),
        "total_bytes": total,
        "used_bytes": volume.get("used_bytes"),
        "free_bytes": free,
        "files_bytes": volume.get("files_bytes"),
    }

    def res(status: Status, hint: str, reason: str | None = None) -> CheckResult:
        return CheckResult(name, status, value, threshold, PVC_SOURCE, hint, reason, category)

    if not volume.get("exists", True):
        return res(Status.CRIT, "the data volume is missing", volume.get("usage_reason"))
    if volume.get("kind") == "pvc" and volume.get("phase") != "Bound":
        return res(Status.CRIT, f"the PVC is {volume.get('phase') or 'not bound'}: Redis cannot start on it")
    if not total or free is None:
        return CheckResult(
            name,
            Status.UNKNOWN,
            value,
            threshold,
            PVC_SOURCE,
            "",
            volume.get("usage_reason") or "usage not measured",
            category,
        )
    used = 1 - int(free) / int(total)
    value["used_ratio"] = round(used, 4)
    where = f"measured by {volume.get('usage_source')}" if volume.get("usage_source") else None
    if 1 - used < t.pvc_free_crit_ratio:
        return res(
            Status.CRIT,
            f"the data volume is nearly full ({used:.1%} used): saves will fail; {_FULL_HINT}",
            where,
        )
    if used > t.pvc_used_warn_ratio:
        return res(Status.WARN, f"the data volume is filling up ({used:.1%} used); {_FULL_HINT}", where)
    return res(Status.OK, f"{used:.0%} used", where)


def pvc_checks(status: Mapping[str, Any], t: Thresholds | None = None) -> list[CheckResult]:
    """The ``pvc:<name>`` check of a Kubernetes status."""
    t = t or Thresholds()
    volume = status.get("volume")
    if volume is None:
        return [
            CheckResult(
                "pvc", Status.UNKNOWN, None, None, PVC_SOURCE, "", "no PVC in the status", "kubernetes"
            )
        ]
    return [volume_check(f"pvc:{volume.get('name')}", volume, t, category="kubernetes")]


def service_checks(status: Mapping[str, Any]) -> list[CheckResult]:
    """The ``service:<name>`` check: missing or no ready endpoint = crit."""
    svc = status.get("service")
    if svc is None:
        return [
            CheckResult(
                "service",
                Status.CRIT,
                None,
                "none = crit",
                SERVICE_SOURCE,
                "the Redis Service does not exist: clients cannot reach Redis",
                None,
                "kubernetes",
            )
        ]
    name = f"service:{svc.get('name')}"
    ready = svc.get("ready_endpoints")
    value = {"type": svc.get("type"), "ready": ready, "not_ready": svc.get("not_ready_endpoints")}
    if ready is None:
        return [
            CheckResult(
                name,
                Status.UNKNOWN,
                value,
                "none = crit",
                SERVICE_SOURCE,
                "",
                "no Endpoints object",
                "kubernetes",
            )
        ]
    if ready == 0:
        return [
            CheckResult(
                name,
                Status.CRIT,
                value,
                "none = crit",
                SERVICE_SOURCE,
                "the Service has no ready endpoint: clients get connection refused",
                category="kubernetes",
            )
        ]
    return [
        CheckResult(
            name,
            Status.OK,
            value,
            "none = crit",
            SERVICE_SOURCE,
            f"{ready} endpoint(s) ready",
            category="kubernetes",
        )
    ]


def process_checks(status: Mapping[str, Any], t: Thresholds | None = None) -> list[CheckResult]:
    """The sandbox's ``process:target`` check: not running or not answering = crit (a recent restart is
    the Redis ``uptime`` check's)."""
    t = t or Thresholds()
    procs = [p for p in status.get("processes") or [] if p.get("name") == "target"]
    threshold = "not answering = crit"
    if not procs:
        return [
            CheckResult(
                "process:target",
                Status.CRIT,
                None,
                threshold,
                UPTIME_SOURCE,
                "the sandbox has no target: redisops sandbox up",
                None,
                "platform",
            )
        ]
    p = procs[0]
    value = {
        "pid": p.get("pid"),
        "port": p.get("port"),
        "alive": p.get("alive"),
        "uptime_s": p.get("uptime_s"),
    }

    def res(status: Status, hint: str) -> list[CheckResult]:
        return [
            CheckResult("process:target", status, value, threshold, UPTIME_SOURCE, hint, category="platform")
        ]

    if not p.get("ready"):
        what = "is not running" if not p.get("alive") else "does not answer on its port"
        return res(
            Status.CRIT, f"the target (pid {p.get('pid')}) {what}: `redisops logs`, redisops sandbox up"
        )
    up = p.get("uptime_s")
    return res(Status.OK, "the target answers" + (f" (started {_ago(float(up))})" if up is not None else ""))


def data_dir_check(status: Mapping[str, Any], t: Thresholds | None = None) -> list[CheckResult]:
    """The sandbox's ``data_dir`` check: the data dir's filesystem usage, graded as a PVC."""
    t = t or Thresholds()
    volume = status.get("volume")
    if volume is None:
        return [
            CheckResult(
                "data_dir",
                Status.UNKNOWN,
                None,
                None,
                PVC_SOURCE,
                "",
                "no data dir in the status",
                "platform",
            )
        ]
    return [volume_check("data_dir", volume, t, category="platform")]
