"""The platform health rules (:mod:`redisops.health.rules_platform`), graded from ``platform.status``'s
JSON form, and the status parsers they rely on (pod objects, ``df -P`` output)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from redisops.health import Status, Thresholds
from redisops.health.rules_platform import (
    data_dir_check,
    pod_checks,
    process_checks,
    pvc_checks,
    service_checks,
)
from redisops.ops.platform_status import PlatformReport, VolumeInfo, parse_df, pod_info

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pod(**over: Any) -> dict[str, Any]:
    pod = {
        "name": "redis-abc",
        "phase": "Running",
        "ready": True,
        "restarts": 0,
        "waiting_reason": None,
        "last_terminated_reason": None,
        "last_terminated_at": None,
        "last_exit_code": None,
    }
    return pod | over


def _k8s(*pods: dict[str, Any], desired: int = 1, ready: int = 1) -> dict[str, Any]:
    return {
        "platform": "kubernetes",
        "workload": {"name": "redis", "namespace": "ns", "desired": desired, "ready": ready},
        "pods": list(pods),
        "notes": [],
    }


def _grade(*pods: dict[str, Any], **kw: Any) -> dict[str, Any]:
    checks = pod_checks(_k8s(*pods, **kw), Thresholds(), now=NOW.timestamp())
    return {c.name: c for c in checks}


def test_a_healthy_pod_and_deployment_are_ok() -> None:
    checks = _grade(_pod())
    assert checks["pod:redis-abc"].status is Status.OK
    assert checks["deployment:redis"].status is Status.OK
    assert (
        checks["pod:redis-abc"].category == "kubernetes"
        and "kubernetes-mixin" in checks["pod:redis-abc"].source
    )


def test_crash_loop_is_crit_and_names_the_last_exit() -> None:
    c = _grade(
        _pod(ready=False, restarts=4, waiting_reason="CrashLoopBackOff", last_terminated_reason="Error",
             last_terminated_at=_at(1)),
        ready=0,
    )  # fmt: skip
    pod = c["pod:redis-abc"]
    assert pod.status is Status.CRIT and "redisops logs --previous" in pod.hint
    assert "CrashLoopBackOff after 4 restart(s); last exit Error" in (pod.reason or "")
    assert c["deployment:redis"].status is Status.CRIT


def test_a_recent_oomkill_is_crit_an_old_one_warns() -> None:
    recent = _grade(_pod(restarts=2, last_terminated_reason="OOMKilled", last_terminated_at=_at(10)))
    assert recent["pod:redis-abc"].status is Status.CRIT
    assert "maxmemory" in recent["pod:redis-abc"].hint and "10 min ago" in (
        recent["pod:redis-abc"].reason or ""
    )
    old = _grade(_pod(restarts=2, last_terminated_reason="OOMKilled", last_terminated_at=_at(180)))
    assert old["pod:redis-abc"].status is Status.WARN
    # an OOMKill with no time recorded is judged as recent (it cannot be shown to be old)
    assert _grade(_pod(restarts=1, last_terminated_reason="OOMKilled"))["pod:redis-abc"].status is Status.CRIT


def test_restarts_warn_while_recent_and_not_after_the_window() -> None:
    recent = _grade(_pod(restarts=1, last_terminated_reason="Error", last_terminated_at=_at(5)))
    assert (
        recent["pod:redis-abc"].status is Status.WARN and "restarted recently" in recent["pod:redis-abc"].hint
    )
    old = _grade(_pod(restarts=1, last_terminated_reason="Completed", last_terminated_at=_at(120)))
    assert old["pod:redis-abc"].status is Status.OK and "1 restart(s)" in old["pod:redis-abc"].hint
    # a custom threshold: up to 3 restarts are tolerated
    checks = pod_checks(
        _k8s(_pod(restarts=3, last_terminated_reason="Error", last_terminated_at=_at(5))),
        Thresholds(pod_restarts_warn=3),
        now=NOW.timestamp(),
    )
    assert {c.name: c for c in checks}["pod:redis-abc"].status is Status.OK


def test_a_pod_not_ready_and_replicas_missing() -> None:
    c = _grade(_pod(ready=False, phase="Pending", waiting_reason="ImagePullBackOff"), desired=2, ready=1)
    assert c["pod:redis-abc"].status is Status.CRIT and "ImagePullBackOff" in (
        c["pod:redis-abc"].reason or ""
    )
    assert c["deployment:redis"].status is Status.WARN
    scaled = _grade(desired=0, ready=0)
    assert (
        scaled["deployment:redis"].status is Status.CRIT and "scaled to 0" in scaled["deployment:redis"].hint
    )


def test_no_deployment_is_crit() -> None:
    checks = pod_checks({"platform": "kubernetes", "workload": None, "notes": ["not found"]}, now=0.0)
    assert [(c.name, c.status) for c in checks] == [("deployment", Status.CRIT)]


def _pvc(total: int | None, free: int | None, phase: str = "Bound") -> dict[str, Any]:
    v = VolumeInfo("pvc", "redis-data", phase=phase, capacity="10Gi", total_bytes=total, free_bytes=free,
                   used_bytes=None if total is None or free is None else total - free,
                   usage_source="df -P /data in pod p",
                   usage_reason=None if total else "no ready Redis pod to run df in")  # fmt: skip
    return PlatformReport("kubernetes", "Deployment ns/redis", True, volume=v).to_dict()


@pytest.mark.parametrize(
    ("free", "status"),
    [
        (500, Status.OK),
        (150, Status.OK),
        (140, Status.WARN),
        (31, Status.WARN),
        (29, Status.CRIT),
        (0, Status.CRIT),
    ],
)
def test_pvc_usage_thresholds(free: int, status: Status) -> None:
    (check,) = pvc_checks(_pvc(1000, free))
    assert check.status is status, check
    assert check.value["used_ratio"] == round(1 - free / 1000, 4)
    if status is not Status.OK:
        assert "incident-pvc-nearly-full" in check.hint


def test_pvc_not_bound_is_crit_and_unmeasured_is_unknown() -> None:
    (pending,) = pvc_checks(_pvc(1000, 500, phase="Pending"))
    assert pending.status is Status.CRIT and "Pending" in pending.hint
    (unmeasured,) = pvc_checks(_pvc(None, None))
    assert unmeasured.status is Status.UNKNOWN and unmeasured.reason == "no ready Redis pod to run df in"


def test_service_endpoints() -> None:
    def svc(ready: int | None) -> dict[str, Any]:
        return {
            "service": {
                "name": "redis",
                "type": "ClusterIP",
                "ready_endpoints": ready,
                "not_ready_endpoints": 1,
            }
        }

    assert service_checks(svc(1))[0].status is Status.OK
    assert service_checks(svc(0))[0].status is Status.CRIT
    assert service_checks(svc(None))[0].status is Status.UNKNOWN
    assert service_checks({"service": None})[0].status is Status.CRIT


def test_sandbox_process_and_data_dir() -> None:
    proc = {"name": "target", "pid": 42, "port": 7001, "alive": True, "ready": True, "uptime_s": 30.0}
    (ok,) = process_checks({"processes": [proc]})
    assert ok.status is Status.OK and "started 30 s ago" in ok.hint
    (dead,) = process_checks({"processes": [proc | {"alive": False, "ready": False}]})
    assert dead.status is Status.CRIT and "is not running" in dead.hint
    (none,) = process_checks({"processes": []})
    assert none.status is Status.CRIT
    volume = VolumeInfo("dir", "/x/data", total_bytes=100, used_bytes=98, free_bytes=2, files_bytes=10)
    (full,) = data_dir_check(PlatformReport("sandbox", "s", True, volume=volume).to_dict())
    assert full.name == "data_dir" and full.status is Status.CRIT and full.value["files_bytes"] == 10
    gone = VolumeInfo("dir", "/x/data", exists=False, usage_reason="the data dir does not exist")
    (missing,) = data_dir_check(PlatformReport("sandbox", "s", False, volume=gone).to_dict())
    assert missing.status is Status.CRIT


def test_parse_df() -> None:
    out = (
        "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
        "/dev/sdb         10255636  1000000   9000000      11% /data\n"
    )
    assert parse_df(out) == (10255636 * 1024, 1000000 * 1024, 9000000 * 1024)
    # a long device name wraps onto its own line in some df builds: the last line is the numbers
    wrapped = (
        "Filesystem 512-blocks Used Available Capacity Mounted on\n/dev/very/long\n 100 50 50 50% /data\n"
    )
    assert parse_df(wrapped) == (100 * 512, 50 * 512, 50 * 512)
    with pytest.raises(ValueError):
        parse_df("df: /data: No such file or directory\n")


def test_pod_info_reads_the_redis_container() -> None:
    pod = {
        "metadata": {"name": "redis-1"},
        "spec": {"nodeName": "n1"},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "sidecar", "restartCount": 9},
                {
                    "name": "redis",
                    "restartCount": 2,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "t"}},
                },
            ],
        },
    }
    info = pod_info(pod)
    assert (info.name, info.node, info.restarts, info.ready) == ("redis-1", "n1", 2, False)
    assert (info.waiting_reason, info.last_terminated_reason, info.last_exit_code) == (
        "CrashLoopBackOff",
        "OOMKilled",
        137,
    )


def test_the_probe_reads_the_status_once_per_run_and_a_failure_once() -> None:
    from redisops.errors import ConnectionFailed
    from redisops.ops.health import platform_checks
    from redisops.ops.health_probes import PlatformHealthProbe

    calls: list[int] = []

    def unreachable() -> dict[str, Any]:
        calls.append(1)
        raise ConnectionFailed("Kubernetes API not reachable", hint="check the context")

    checks = {c.name: c for c in platform_checks(PlatformHealthProbe(unreachable))}
    assert len(calls) == 1  # pod, pvc and service share the one failed read
    for name in ("pod", "pvc", "service"):
        assert checks[name].status is Status.UNKNOWN and "Kubernetes API not reachable" in (
            checks[name].reason or ""
        )
    assert checks["backup_age"].status is Status.UNKNOWN and checks["drill"].status is Status.UNKNOWN

    reads: list[int] = []
    volume = VolumeInfo("dir", "/d", total_bytes=100, used_bytes=10, free_bytes=90, files_bytes=5)
    proc = {"name": "target", "pid": 1, "port": 7001, "alive": True, "ready": True, "uptime_s": None}

    def sandbox() -> dict[str, Any]:
        reads.append(1)
        return PlatformReport("sandbox", "s", True, volume=volume).to_dict() | {"processes": [proc]}

    probe = PlatformHealthProbe(sandbox)
    first = [c.name for c in platform_checks(probe)]
    assert first == ["process:target", "data_dir", "backup_age", "drill"] and len(reads) == 1
    platform_checks(probe)
    assert len(reads) == 2  # a later run (health --watch) reads afresh
