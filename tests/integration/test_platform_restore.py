"""Restore over the platform seam (issue 13, item 7): the target serves while the backup is downloaded
and staged, and is stopped only for the install and the start; cancellation before that leaves the
same server process running on its unchanged data dir; undo over the same seam; the seam's status,
logs and staging decision; on Kubernetes the plan's staging decision per PVC access mode and, where
staging beside Redis is possible, the order stage Job -> scale to 0 in the emulator's events.

Real redis-server processes (a private sandbox), a real moto S3 server, the Kubernetes emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.redis_conn import connect
from redisops.cancel import CancelToken
from redisops.config import DeploymentConfig, config_from_mapping
from redisops.errors import Interrupted
from redisops.events import Event, Phase, Progress, Recorder, Reporter
from redisops.ops.backup import create_rdb_backup, store_for
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.platform import LocalPlatform, Platform
from redisops.ops.restore import restore_sandbox, undo_sandbox_restore
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up
from tests.harness.snapshots import dir_state

MB = 1_000_000
#: ~12 MB: a download of a dozen 1 MiB chunks
DATA = DatasetSpec(keys_per_db=1500, dbs=(0, 1), value_bytes=4096, elements=2, ttl_fraction=0)
BEFORE = DatasetSpec(keys_per_db=30, dbs=(0,), prefix="before", ttl_fraction=0)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[SandboxState, DeploymentConfig]]:
    """A private sandbox whose target persists by AOF only (``save ""``): its data dir changes only
    when redisops changes it, so it can be compared byte for byte."""
    cfg = config_from_mapping({"config": {"save": ""}})
    state = sandbox_up(tmp_path / "sandbox", config=cfg)
    yield state, cfg
    sandbox_down(tmp_path / "sandbox")


def _ping(state: SandboxState) -> bool:
    c = connect(state.target, check=False)
    try:
        return bool(c.ping())
    finally:
        c.close()


def _settled_dir_state(state: SandboxState) -> dict[str, str]:
    """``dir_state`` of the data dir once Redis has written its AOF buffer (``appendfsync everysec`` may
    hold writes back while a background fsync runs)."""
    import time

    c = connect(state.target, check=False)
    try:
        deadline = time.monotonic() + 30
        while int(c.info("persistence").get("aof_buffer_length", 0)):
            assert time.monotonic() < deadline, "Redis never wrote its AOF buffer"
            time.sleep(0.05)
    finally:
        c.close()
    return dir_state(state.data_dir)


def _dbsizes(state: SandboxState) -> dict[int, int]:
    out = {}
    for db in range(4):
        c = connect(state.target.with_db(db), check=False)
        try:
            if n := int(c.dbsize()):
                out[db] = n
        finally:
            c.close()
    return out


class PingDuringDownload:
    """An event sink that records every event and, on each download progress past 0 bytes, asks the
    target for PING and records its pid: evidence (not timing) that it served during the download."""

    def __init__(
        self, state: SandboxState, cancel_after: int | None = None, token: CancelToken | None = None
    ):
        self.state, self.cancel_after, self.token = state, cancel_after, token
        self.events = Recorder()
        self.pings: list[tuple[int, bool, int]] = []  # (bytes done, PING answered, target pid)

    def __call__(self, event: Event) -> None:
        self.events(event)
        if isinstance(event, Progress) and event.phase == "downloading" and event.done > 0:
            self.pings.append((event.done, _ping(self.state), self.state.services["target"].pid))
            if self.cancel_after is not None and self.token is not None and event.done > self.cancel_after:
                self.token.cancel()


def _phases(events: Recorder) -> list[str]:
    return [e.name for e in events.of(Phase)]  # type: ignore[attr-defined]


def test_the_target_serves_during_the_download_and_is_down_only_for_install_and_start(
    redis_server: Any, sandbox: tuple[SandboxState, DeploymentConfig]
) -> None:
    state, cfg = sandbox
    store = store_for(cfg.backup, sandbox=state)
    populate(redis_server.endpoint, DATA, seed=1)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(state.target, BEFORE, seed=2)
    pid_before = state.services["target"].pid

    plan = restore_sandbox(state, cfg, store, m.id, dry_run=True, force=True, safety_backup=False)
    text = "\n".join(plan.plan)
    # the plan shows the order: stage while serving, then stop, install, start
    assert text.index("keeps serving: download, verify and fsync") < text.index("2. stop the sandbox target")
    assert text.index("2. stop the sandbox target") < text.index("3. install") < text.index("4. start")

    sink = PingDuringDownload(state)
    out = restore_sandbox(
        state, cfg, store, m.id, force=True, safety_backup=False, confirmed=True,
        reporter=Reporter("restore.apply", sink), now=datetime.now(UTC),
    )  # fmt: skip
    assert _phases(sink.events) == ["downloading", "stopping", "installing", "starting", "verifying"]
    # the target answered PING, as the same process, at every chunk of the download, the last included
    assert len(sink.pings) >= 5 and sink.pings[-1][0] == m.size
    assert all(ok and pid == pid_before for _done, ok, pid in sink.pings)
    assert state.services["target"].pid != pid_before  # restarted for the install only
    r = out.result
    assert r is not None and r.key_counts == {0: (1500, 0), 1: (1500, 0)}
    # downtime is the stop, install and start: the download (stage) lies outside it
    # (intervals of one monotonic clock: the download precedes the stop, so total covers both apart)
    assert r.downtime_seconds >= r.stop_seconds + r.install_seconds + r.start_to_loaded_seconds
    assert r.stage_seconds > 0 and r.total_seconds >= r.stage_seconds + r.downtime_seconds
    doc = out.to_dict()
    assert doc["downtime_seconds"] == doc["timings"]["downtime"] == round(r.downtime_seconds, 3)
    assert any("downtime" in line for line in out.summary())
    assert not list(state.data_dir.glob(".redisops-staging-*"))


def test_cancel_during_the_download_leaves_the_same_server_running_on_unchanged_files(
    redis_server: Any, sandbox: tuple[SandboxState, DeploymentConfig]
) -> None:
    state, cfg = sandbox
    store = store_for(cfg.backup, sandbox=state)
    populate(redis_server.endpoint, DATA, seed=3)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(state.target, BEFORE, seed=4)
    pid_before = state.services["target"].pid
    data_before, sizes_before = _settled_dir_state(state), _dbsizes(state)

    token = CancelToken()
    sink = PingDuringDownload(state, cancel_after=3 * MB, token=token)
    with pytest.raises(Interrupted) as err:
        restore_sandbox(
            state, cfg, store, m.id, force=True, safety_backup=False, confirmed=True,
            reporter=Reporter("restore.apply", sink), cancel=token,
        )  # fmt: skip
    e = err.value
    assert e.exit_code == 130
    assert e.context["installed"] is False and e.context["server_stopped"] is False
    assert "the server kept running" in e.message
    assert _phases(sink.events) == ["downloading"]  # never "stopping"
    assert sink.pings[-1][0] < m.size  # cancelled mid-download
    # the same process, never restarted, serving the same data; the data dir byte for byte unchanged
    assert state.services["target"].pid == pid_before and _ping(state)
    assert _dbsizes(state) == sizes_before == {0: 30}
    assert dir_state(state.data_dir) == data_before


def test_undo_over_the_seam_gives_back_the_previous_data(
    redis_server: Any, sandbox: tuple[SandboxState, DeploymentConfig]
) -> None:
    state, cfg = sandbox
    store = store_for(cfg.backup, sandbox=state)
    populate(redis_server.endpoint, DATA, seed=5)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(state.target, BEFORE, seed=6)
    restore_sandbox(state, cfg, store, m.id, force=True, safety_backup=False, confirmed=True)
    assert _dbsizes(state) == {0: 1500, 1: 1500}
    undone = undo_sandbox_restore(state)
    assert undone.key_counts == {0: (30, 0)} and _dbsizes(state) == {0: 30}
    # and the undo is undoable: the restored data comes back
    again = undo_sandbox_restore(state)
    assert again.key_counts == {0: (1500, 0), 1: (1500, 0)}


def test_local_platform_status_logs_and_staging(sandbox: tuple[SandboxState, DeploymentConfig]) -> None:
    state, _cfg = sandbox
    p = LocalPlatform(state)
    assert isinstance(p, Platform) and p.kind == "sandbox" and p.data_dir == state.data_dir
    st = p.status()
    assert st.running and st.processes[0]["pid"] == state.services["target"].pid
    assert st.volume["path"] == str(state.data_dir) and st.volume["exists"]
    assert p.staging().beside_running
    assert "Ready to accept connections" in p.logs(200)
    p.stop()
    down = p.status()
    assert not down.running and any("not serving" in n for n in down.notes)
    p.start()
    assert p.wait_ready().persistence.aof_enabled
    assert p.status().running and p.status().to_dict()["platform"] == "sandbox"


# --- Kubernetes: the staging decision per access mode, and the order stage Job -> scale to 0 -----------

NS = "llm-judge"
K8S_SPEC = DatasetSpec(keys_per_db=60, dbs=(0, 2), value_bytes=64, elements=4, ttl_fraction=0)


def _cluster(kube: Any, redis_factory: Any, cfg: DeploymentConfig) -> Any:
    """The emulator with the Redis manifests of ``cfg`` applied, the pods' port mapped to a real server."""
    from redisops.adapters.kube import Kube
    from redisops.k8s import render_manifests

    kube.redis = redis_factory(cfg, name="target")
    kube.map_port(NS, "app=redis", cfg.port, ("127.0.0.1", kube.redis.endpoint.port))
    client = Kube.from_kubeconfig(kube.kubeconfig_path)
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    client.apply(render_manifests(cfg))
    client.wait_rollout(cfg.service_name, NS, timeout=10)
    return client


def _k8s_store(s3_endpoint: Any, s3_bucket: str) -> Any:
    from redisops.adapters.s3 import AwsCredentials
    from redisops.config import BackupTarget
    from redisops.ops.backup import open_store

    return open_store(
        BackupTarget(bucket=s3_bucket, prefix="redisops"),
        "redis",
        endpoint_url=s3_endpoint.url,
        credentials=AwsCredentials("testing", "testing"),
    )


@pytest.mark.parametrize(
    ("mode", "beside", "says"),
    [
        ("ReadWriteMany", True, "the PVC is ReadWriteMany: the Job stages the backup while Redis keeps"),
        ("ReadWriteOnce", True, "the PVC is ReadWriteOnce: the Job runs on Redis's node"),
        ("ReadWriteOncePod", False, "the PVC is ReadWriteOncePod: only one pod may mount it"),
    ],
)
def test_the_k8s_plan_says_where_the_backup_is_staged_per_access_mode(
    kube: Any, redis_factory: Any, s3_endpoint: Any, s3_bucket: str, mode: str, beside: bool, says: str
) -> None:
    from redisops.ops.platform import KubePlatform
    from redisops.ops.restore_k8s import restore_k8s

    cfg = DeploymentConfig.model_validate({"persistence": {"access_mode": mode}})
    k = _cluster(kube, redis_factory, cfg)
    try:
        store = _k8s_store(s3_endpoint, s3_bucket)
        source = redis_factory(cfg, name="source")
        populate(source.endpoint, K8S_SPEC, seed=1)
        backup = create_rdb_backup(source.endpoint, store)
        platform = KubePlatform(k, cfg)
        decision = platform.staging()
        assert decision.beside_running is beside and decision.access_mode == mode
        node = platform.status().processes[0]["node"]
        assert node and decision.node == (node if mode == "ReadWriteOnce" else None)
        assert platform.status().volume["access_modes"] == [mode]

        res = restore_k8s(k, cfg, store, backup.id, dry_run=True, force=True, stage_beside_redis=True)
        text = "\n".join(res.plan)
        assert f"staging: {says}" in text
        scale = text.index(f"scale Deployment {NS}/redis from 1 to 0")
        if beside:
            # the staging Job comes before the scale to 0, pinned to Redis's node on an RWO volume
            stage = text.index("redis-restore-")
            assert stage < scale and "--stage-only" in text[:scale] and "--install-staged" in text[scale:]
            assert (f"on node {node}" in text) is (mode == "ReadWriteOnce")
        else:
            assert "stages after the scale to 0 (Redis is down for the download too)" in text
            assert "--stage-only" not in text
        assert kube.objects("Job", NS) == []
    finally:
        k.close()


def test_k8s_restore_stages_with_a_job_before_scaling_redis_to_0(
    kube: Any, redis_factory: Any, s3_endpoint: Any, s3_bucket: str
) -> None:
    from redisops.ops.restore_k8s import restore_k8s

    cfg = DeploymentConfig()  # ReadWriteOnce
    k = _cluster(kube, redis_factory, cfg)
    try:
        store = _k8s_store(s3_endpoint, s3_bucket)
        source = redis_factory(cfg, name="source")
        populate(source.endpoint, K8S_SPEC, seed=1)
        backup = create_rdb_backup(source.endpoint, store)
        redis_pod = k.pods({"app": "redis"}, NS)[0]
        node = redis_pod["spec"]["nodeName"]

        def progress(line: str) -> None:
            if line.startswith("Job redis-restore-") and line.endswith("completed") and "stage" not in line:
                # what the install Job's engine put in the PVC: the dataset the backup was taken from
                populate(kube.redis.endpoint, K8S_SPEC, seed=1)

        res = restore_k8s(
            k, cfg, store, backup.id, tool_image="img:1", force=True, safety_backup=False, confirmed=True,
            timeout=20, progress=progress, stage_beside_redis=True,
        )  # fmt: skip
        assert {db: n for db, (n, _) in res.key_counts.items()} == {0: 60, 2: 60}
        jobs = {j["metadata"]["name"]: j for j in kube.objects("Job", NS)}
        stage_name = next(n for n in jobs if n.endswith("-stage"))
        stage_pod = jobs[stage_name]["spec"]["template"]["spec"]
        assert stage_pod["nodeName"] == node  # RWO: on Redis's node
        assert "--stage-only" in stage_pod["containers"][0]["command"]
        install_cmd = jobs[res.job]["spec"]["template"]["spec"]["containers"][0]["command"]
        assert "--install-staged" in install_cmd
        # the emulator's events, in the order they were stored: the staging Job completed while the
        # Redis pod was still there; only then was the pod deleted (scale to 0) and the install Job run
        events = sorted(kube.objects("Event", NS), key=lambda e: int(e["metadata"]["resourceVersion"]))
        seq = [(e["involvedObject"]["name"], e["reason"]) for e in events]
        stage_done = seq.index((stage_name, "Completed"))
        redis_deleted = next(
            i
            for i, e in enumerate(events)
            if e["reason"] == "SuccessfulDelete" and e["involvedObject"]["kind"] == "ReplicaSet"
        )
        install_created = seq.index((res.job, "SuccessfulCreate"))
        assert stage_done < redis_deleted < install_created
        assert {"stage_job", "scale_down", "job", "scale_up", "downtime"} <= set(res.timings)
    finally:
        k.close()


def test_k8s_restore_on_a_read_write_once_pod_pvc_stages_after_the_scale_to_0(
    kube: Any, redis_factory: Any, s3_endpoint: Any, s3_bucket: str
) -> None:
    """ReadWriteOncePod: no pod may mount the PVC beside Redis, so even when staging beside Redis is
    asked for, the one restore Job runs after the scale to 0 (the plan said so, the events show it)."""
    from redisops.ops.restore_k8s import restore_k8s

    cfg = DeploymentConfig.model_validate({"persistence": {"access_mode": "ReadWriteOncePod"}})
    k = _cluster(kube, redis_factory, cfg)
    try:
        store = _k8s_store(s3_endpoint, s3_bucket)
        source = redis_factory(cfg, name="source")
        populate(source.endpoint, K8S_SPEC, seed=2)
        backup = create_rdb_backup(source.endpoint, store)

        def progress(line: str) -> None:
            if line.startswith("Job redis-restore-") and line.endswith("completed"):
                populate(kube.redis.endpoint, K8S_SPEC, seed=2)  # what the Job's engine installed

        res = restore_k8s(
            k, cfg, store, backup.id, tool_image="img:1", force=True, safety_backup=False, confirmed=True,
            timeout=20, progress=progress, stage_beside_redis=True,
        )  # fmt: skip
        assert {db: n for db, (n, _) in res.key_counts.items()} == {0: 60, 2: 60}
        (job,) = kube.objects("Job", NS)  # one Job, no staging Job
        command = job["spec"]["template"]["spec"]["containers"][0]["command"]
        assert job["metadata"]["name"] == res.job and "--stage-only" not in command
        assert "--install-staged" not in command and "nodeName" not in job["spec"]["template"]["spec"]
        events = sorted(kube.objects("Event", NS), key=lambda e: int(e["metadata"]["resourceVersion"]))
        seq = [(e["involvedObject"]["name"], e["reason"]) for e in events]
        redis_deleted = next(
            i
            for i, e in enumerate(events)
            if e["reason"] == "SuccessfulDelete" and e["involvedObject"]["kind"] == "ReplicaSet"
        )
        assert redis_deleted < seq.index((res.job, "SuccessfulCreate"))
        assert "stage_job" not in res.timings and {"scale_down", "job", "scale_up"} <= set(res.timings)
    finally:
        k.close()
