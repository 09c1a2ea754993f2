"""``platform.status`` / ``platform.logs`` and the health report's pod/PVC view, on both platforms.

Kubernetes: the emulator with the rendered Redis objects deployed (as ``redisops deploy`` applies them);
a restart and an OOMKilled last state are written through the pod's status subresource (as a kubelet
would), the PVC's usage is ``df -P /data`` run through exec in the Redis pod (the exec handler runs the
real ``df`` on a directory standing for the volume). The sandbox: its real processes and data dir.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.local import free_port
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.config import DeploymentConfig
from redisops.health import Status
from redisops.k8s import render_manifests
from redisops.ops.health import run_health
from redisops.ops.health_probes import platform_probe
from redisops.ops.target import resolve_target

NS = "llm-judge"
REDISOPS = str(Path(sys.executable).with_name("redisops"))
IMAGE = "redis:7.0.15-alpine"


def _wait(pred: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _redis_pod(kube: Any) -> dict[str, Any]:
    pods = kube.objects("Pod", NS, label_selector="app=redis")
    assert len(pods) == 1
    return dict(pods[0])


def _ready(kube: Any) -> bool:
    pods = kube.objects("Pod", NS, label_selector="app=redis")
    return bool(pods) and all(
        c.get("ready") for p in pods for c in (p.get("status") or {}).get("containerStatuses") or [{}]
    )


@pytest.fixture
def deployed(kube: Any, tmp_path: Path) -> Any:
    """The rendered namespace, PVC, ConfigMap, Deployment and Service on the emulator, the pod ready;
    ``df``/``du`` in the pod run for real on ``tmp_path/volume`` standing for ``/data``."""
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "dump.rdb").write_bytes(b"x" * 4096)
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for obj in render_manifests(DeploymentConfig(image=IMAGE)):
        if obj["kind"] in ("PersistentVolumeClaim", "ConfigMap", "Deployment", "Service"):
            kube.create(obj)
    kube.df_output = None  # a df -P output to answer instead of the real one

    @kube.on_exec
    def data_commands(pod: dict[str, Any], container: str, argv: list[str], stdin: bytes) -> Any:
        if argv[:1] != ["df"]:
            return None
        if kube.df_output is not None:
            return kube.df_output, "", 0
        real = [str(volume) + a[len("/data") :] if a.startswith("/data") else a for a in argv]
        out = subprocess.run(real, capture_output=True, text=True, timeout=30)
        return out.stdout.replace(str(volume), "/data"), out.stderr, out.returncode

    _wait(lambda: _ready(kube), "the Redis pod")
    _wait(lambda: (kube.get("PersistentVolumeClaim", "redis-data", NS) or {}).get("status", {}).get("phase")
          == "Bound", "the PVC")  # fmt: skip
    kube.volume = volume
    yield kube
    assert kube.errors == []


def _k8s_target(kube: Any) -> Any:
    return resolve_target(kubeconfig=kube.kubeconfig_path, context="emu", namespace=NS)


def _oomkilled(kube: Any, minutes_ago: float, restarts: int = 3) -> str:
    """The Redis pod running again after ``restarts`` restarts, the last an OOMKill ``minutes_ago``."""
    pod = _redis_pod(kube)
    statuses = [dict(c) for c in pod["status"]["containerStatuses"]]
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    statuses[0]["restartCount"] = restarts
    statuses[0]["lastState"] = {
        "terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": at, "finishedAt": at}
    }
    kube.patch_status("Pod", pod["metadata"]["name"], NS, {"containerStatuses": statuses})
    return at


@pytest.mark.k8s
def test_status_shows_the_deployment_pod_pvc_usage_service_and_a_recent_oomkill(deployed: Any) -> None:
    at = _oomkilled(deployed, minutes_ago=5)
    with _k8s_target(deployed) as t:
        report = t.run("platform.status", {})
    d = report.to_dict()
    assert (d["platform"], d["where"], d["running"]) == ("kubernetes", f"Deployment {NS}/redis", True)
    assert d["workload"] == {"name": "redis", "namespace": NS, "desired": 1, "ready": 1}
    (pod,) = report.pods
    assert (pod.restarts, pod.last_terminated_reason, pod.last_terminated_at) == (3, "OOMKilled", at)
    assert pod.last_exit_code == 137 and pod.ready and pod.waiting_reason is None
    v = report.volume
    assert v is not None and (v.kind, v.name, v.phase) == ("pvc", "redis-data", "Bound")
    assert v.access_modes == ("ReadWriteOnce",) and v.capacity == "10Gi" and v.storage_class == "gp3"
    # the usage is df -P /data in the pod, i.e. the filesystem of the directory standing for the volume
    import shutil

    assert v.total_bytes is not None and abs(v.total_bytes - shutil.disk_usage(deployed.volume).total) < 4096
    assert v.usage_source == f"df -P /data in pod {pod.name}" and 0 < (v.used_ratio or 0) < 1
    assert report.service is not None and report.service.ready_endpoints == 1
    assert report.service.type == "ClusterIP"
    assert json.loads(json.dumps(d))["volume"]["used_ratio"] == v.used_ratio
    # the platform seam gives the same report (what restore, the cutover and the TUI hold)
    from redisops.adapters.kube import Kube
    from redisops.ops.platform import KubePlatform

    with Kube.from_kubeconfig(deployed.kubeconfig_path) as k:
        again = KubePlatform(k, DeploymentConfig(image=IMAGE)).report()
    assert again.pods == report.pods and again.workload == report.workload


@pytest.mark.k8s
def test_health_grades_the_oomkill_restarts_and_a_nearly_full_pvc_with_hints(
    deployed: Any, redis_factory: Any
) -> None:
    _oomkilled(deployed, minutes_ago=5)
    deployed.df_output = (
        "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
        "/dev/sdb         10255636 10000000    150000      99% /data\n"
    )
    server = redis_factory()
    with _k8s_target(deployed) as t:
        probe = platform_probe(t)
        report = run_health(server.endpoint, None, platform=probe)
    checks = {c.name: c for c in report.checks}
    pod = next(c for n, c in checks.items() if n.startswith("pod:redis-"))
    assert pod.status is Status.CRIT and "OOMKilled" in (pod.reason or "") and "maxmemory" in pod.hint
    pvc = checks["pvc:redis-data"]
    assert pvc.status is Status.CRIT and "incident-pvc-nearly-full" in pvc.hint
    assert pvc.value["used_ratio"] == pytest.approx(1 - 150000 / 10255636, abs=1e-4)
    assert checks["service:redis"].status is Status.OK
    assert checks["deployment:redis"].status is Status.OK
    assert report.overall is Status.CRIT

    # an OOMKill two hours ago is a warning; restarts with the last an hour and more ago no longer are
    _oomkilled(deployed, minutes_ago=120)
    deployed.df_output = (
        "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
        "/dev/sdb         10000000  9000000   1000000      90% /data\n"
    )
    with _k8s_target(deployed) as t:
        report = run_health(server.endpoint, None, platform=platform_probe(t))
    checks = {c.name: c for c in report.checks}
    pod = next(c for n, c in checks.items() if n.startswith("pod:redis-"))
    assert pod.status is Status.WARN and "OOMKilled" in (pod.reason or "")
    assert checks["pvc:redis-data"].status is Status.WARN


@pytest.mark.k8s
def test_a_crash_loop_is_crit_with_its_events_and_the_previous_log(deployed: Any) -> None:
    deployed.set_failure(NS, "redis", "crash")
    _wait(
        lambda: (_redis_pod(deployed)["status"]["containerStatuses"][0].get("restartCount") or 0) >= 1,
        "a restart",
    )
    name = _redis_pod(deployed)["metadata"]["name"]
    deployed.set_logs(NS, name, "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nline 2\n", previous=True)
    deployed.set_logs(NS, name, "starting\n")
    with _k8s_target(deployed) as t:
        report = t.run("platform.status", {})
        previous = t.run("platform.logs", {"previous": True, "lines": 1})
        current = t.run("platform.logs", {})
        health = run_health(RedisEndpoint(port=free_port()), None, platform=platform_probe(t), ping_count=1)
    (pod,) = report.pods
    assert pod.waiting_reason == "CrashLoopBackOff" and not pod.ready and not report.running
    assert any(e.reason == "BackOff" and e.involved == name for e in report.events)
    assert report.volume is not None and "no ready Redis pod" in (report.volume.usage_reason or "")
    assert previous.lines == ["line 2"] and previous.previous and previous.source == f"pod {NS}/{name}"
    assert current.lines == ["starting"]
    checks = {c.name: c for c in health.checks}
    assert checks[f"pod:{name}"].status is Status.CRIT
    assert "redisops logs --previous" in checks[f"pod:{name}"].hint
    assert checks["deployment:redis"].status is Status.CRIT
    assert checks["service:redis"].status is Status.CRIT
    assert checks["pvc:redis-data"].status is Status.UNKNOWN  # no pod to run df in: not measured


@pytest.mark.k8s
@pytest.mark.slow
def test_the_cli_prints_one_json_object_and_the_log_lines(deployed: Any) -> None:
    name = _redis_pod(deployed)["metadata"]["name"]
    deployed.set_logs(NS, name, "one\ntwo\nReady to accept connections tcp\n")
    kube_opts = ["--kubeconfig", str(deployed.kubeconfig_path), "--context", "emu", "-n", NS]
    out = subprocess.run(
        [REDISOPS, "status", *kube_opts, "-o", "json"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["platform"] == "kubernetes" and data["pods"][0]["name"] == name
    assert data["volume"]["usage_source"].startswith("df -P /data")
    text = subprocess.run([REDISOPS, "status", *kube_opts], capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and "PVC redis-data: Bound, 10Gi, ReadWriteOnce" in text.stdout
    logs = subprocess.run(
        [REDISOPS, "logs", *kube_opts, "--lines", "2", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert logs.returncode == 0, logs.stderr
    assert json.loads(logs.stdout)["lines"] == ["two", "Ready to accept connections tcp"]
    plain = subprocess.run(
        [REDISOPS, "logs", *kube_opts, "--tail", "1"], capture_output=True, text=True, timeout=120
    )
    assert plain.stdout.strip() == "Ready to accept connections tcp"


@pytest.mark.k8s
def test_a_missing_deployment_is_a_report_not_an_error(kube: Any) -> None:
    with _k8s_target(kube) as t:
        report = t.run("platform.status", {})
    assert not report.running and report.workload is None and report.pods == ()
    assert any("Deployment llm-judge/redis not found" in n for n in report.notes)


# --- the sandbox ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_sandbox_shows_its_processes_data_dir_logs_and_health(tmp_path: Path) -> None:
    from redisops.ops.sandbox import sandbox_down, sandbox_up

    state_dir = tmp_path / "sandbox"
    state = sandbox_up(state_dir)
    try:
        t = resolve_target(state_dir=state_dir)
        report = t.run("platform.status", {})
        d = report.to_dict()
        assert (d["platform"], d["running"]) == ("sandbox", True)
        names = [p["name"] for p in d["processes"]]
        assert names[0] == "target" and {"source", "s3", "aws"} <= set(names)
        target = d["processes"][0]
        assert target["pid"] == state.services["target"].pid and target["alive"] and target["ready"]
        assert target["uptime_s"] is not None and 0 <= target["uptime_s"] < 3600
        v = report.volume
        assert v is not None and v.kind == "dir" and v.name == str(state.data_dir)
        assert v.files_bytes is not None and v.files_bytes > 0 and v.total_bytes and v.free_bytes is not None
        logs = t.run("platform.logs", {"lines": 500})
        assert any("Ready to accept connections" in line for line in logs.lines)
        assert logs.source.endswith("redis.log")
        from redisops.ops.platform import LocalPlatform

        seam = LocalPlatform(state).report()
        assert [p.pid for p in seam.processes] == [p["pid"] for p in d["processes"]]
        health = run_health(t.redis, None, platform=platform_probe(t))
        checks = {c.name: c for c in health.checks}
        assert checks["process:target"].status is Status.OK
        dd = checks["data_dir"]
        used = dd.value["used_ratio"]
        assert dd.value["total_bytes"] == v.total_bytes and 0 < used < 1
        assert dd.status is (Status.CRIT if used > 0.97 else Status.WARN if used > 0.85 else Status.OK)
        assert "pod" not in checks  # the sandbox has no pods: its process is checked instead
        out = subprocess.run(
            [REDISOPS, "status", "--state-dir", str(state_dir), "-o", "json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["processes"][0]["name"] == "target"
        text = subprocess.run(
            [REDISOPS, "status", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=120
        )
        assert text.returncode == 0 and f"data dir {state.data_dir}" in text.stdout
        assert "sandbox): running" in text.stdout and "processes" in text.stdout
        prev = subprocess.run(
            [REDISOPS, "logs", "--state-dir", str(state_dir), "--previous"], capture_output=True, text=True
        )
        assert prev.returncode == 2 and "--previous" in prev.stderr
        # the target stopped: the process check is crit
        LocalPlatform(state).stop()
        down = run_health(t.redis, None, platform=platform_probe(t), ping_count=1)
        assert {c.name: c for c in down.checks}["process:target"].status is Status.CRIT
    finally:
        sandbox_down(state_dir)
