"""Restore into the Redis PVC on Kubernetes (the emulator), and the Velero ``--adopt`` rule on real dirs.

The Redis pods' port 6379 is mapped to a real redis-server, so the key count, the safety backup (a real
SYNC stream into a real S3 endpoint) and the verification after the restore go through a real
port-forward. The restore Job's engine cannot run inside the emulator (its pods run no containers):
where a test needs the Job to have worked, it loads into the real server the same dataset the backup
was taken from, which is exactly what the Job's engine would have installed in the PVC. The engine
itself is tested for real on local dirs (test_restore_engine.py, and the adopt test below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis as redis_py

from redisops.adapters.kube import Kube
from redisops.adapters.local import free_port, start_redis
from redisops.adapters.s3 import AwsCredentials
from redisops.config import BackupTarget, DeploymentConfig, render_redis_conf
from redisops.errors import ConfigError, ConflictError, VerificationError
from redisops.k8s import check_manifest, render_manifests, render_restore_job
from redisops.ops.backup import create_rdb_backup, open_store
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.restore import _server_version
from redisops.ops.restore_k8s import restore_k8s, undo_restore_k8s
from redisops.ops.restore_local import compare_key_counts
from redisops.restore import TargetSettings, undo_restore
from redisops.restore.adopt import adopt_data_dir
from tests.harness.plugin import local_overrides

pytestmark = pytest.mark.k8s

NS = "llm-judge"
REDISOPS = str(Path(sys.executable).with_name("redisops"))
SPEC = DatasetSpec(keys_per_db=60, dbs=(0, 2), value_bytes=64, elements=4, ttl_fraction=0.2)
BEFORE = DatasetSpec(keys_per_db=10, dbs=(0,), prefix="before", ttl_fraction=0)


@pytest.fixture
def cfg() -> DeploymentConfig:
    return DeploymentConfig()


@pytest.fixture
def store(s3_endpoint: Any, s3_bucket: str) -> Any:
    return open_store(
        BackupTarget(bucket=s3_bucket, prefix="redisops"),
        "redis",
        endpoint_url=s3_endpoint.url,
        credentials=AwsCredentials("testing", "testing"),
    )


@pytest.fixture
def env(kube: Any, redis_factory: Any, cfg: DeploymentConfig) -> Any:
    """The emulator with the Redis manifests applied and the pods' port mapped to a real server."""
    kube.redis = redis_factory(cfg, name="target")
    kube.map_port(NS, "app=redis", cfg.port, ("127.0.0.1", kube.redis.endpoint.port))
    yield kube
    assert kube.errors == []


@pytest.fixture
def k(env: Any, cfg: DeploymentConfig) -> Any:
    with Kube.from_kubeconfig(env.kubeconfig_path) as client:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        client.apply(render_manifests(cfg))
        client.wait_rollout(cfg.service_name, NS, timeout=10)
        yield client


@pytest.fixture
def backup(redis_factory: Any, store: Any, cfg: DeploymentConfig) -> Any:
    """A backup of SPEC taken from another real server."""
    source = redis_factory(cfg, name="source")
    populate(source.endpoint, SPEC, seed=1)
    return create_rdb_backup(source.endpoint, store)


def _deployment(k: Kube) -> dict[str, Any]:
    dep = k.get("Deployment", "redis", NS)
    assert dep is not None
    return dep


def _replica_history(env: Any, since: str) -> list[int]:
    """spec.replicas of every change of Deployment/redis after resourceVersion ``since`` (a watch replay)."""
    from kubernetes import client, watch

    api = client.AppsV1Api(env.api_client())
    seen: list[int] = []
    stream = watch.Watch().stream(
        api.list_namespaced_deployment,
        NS,
        field_selector="metadata.name=redis",
        resource_version=since,
        timeout_seconds=1,
    )
    for event in stream:
        replicas = event["object"].spec.replicas
        if not seen or seen[-1] != replicas:
            seen.append(replicas)
    return seen


def test_dry_run_prints_the_plan_and_changes_nothing(k: Kube, env: Any, cfg, store, backup) -> None:
    populate(env.redis.endpoint, BEFORE, seed=2)
    before = _deployment(k)
    objects = sorted((o.key, o.size, o.etag) for o in store.s3.list_objects(""))
    res = restore_k8s(k, cfg, store, "latest", dry_run=True, tool_image="img:1")
    assert res.blocked and "holds 10 keys" in res.blockers[0]  # the real run refuses without --force
    assert restore_k8s(k, cfg, store, "latest", dry_run=True, force=True).blocked is False
    undo = undo_restore_k8s(k, cfg, dry_run=True, tool_image="img:1")  # no --yes needed, nothing done
    assert undo.dry_run and any("create Job redis-restore-undo-" in line for line in undo.plan)
    assert sorted((o.key, o.size, o.etag) for o in store.s3.list_objects("")) == objects  # no safety backup
    job = render_restore_job(cfg, backup.id, "img:1")["metadata"]["name"]
    assert res.dry_run and res.backup_id == backup.id and res.job == job
    text = "\n".join(res.plan)
    assert "scale Deployment llm-judge/redis from 1 to 0" in text
    assert f"create Job {job} mounting PVC redis-data at /data" in text
    assert f"--backup {backup.id}" in text and "back to 1" in text
    assert '"0": 60' in text and '"2": 60' in text
    assert "holds 10 keys" in text and res.target_keys == 10
    assert env.objects("Job", NS) == []
    after = _deployment(k)
    assert after["spec"]["replicas"] == 1
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_restore_scales_down_runs_the_job_scales_back_and_verifies(
    k: Kube, env: Any, cfg, store, backup
) -> None:
    populate(env.redis.endpoint, BEFORE, seed=2)
    job_name = render_restore_job(cfg, backup.id, "img:1")["metadata"]["name"]
    env.set_logs(NS, job_name, f"restore: stage\ninstalled {backup.id} into /data\n")
    since = _deployment(k)["metadata"]["resourceVersion"]
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if line == f"Job {job_name} completed":
            # what the Job's engine installed in the PVC: the dataset the backup was taken from
            client = env.redis.client()
            try:
                client.flushall()
            finally:
                client.close()
            populate(env.redis.endpoint, SPEC, seed=1)

    res = restore_k8s(
        k,
        cfg,
        store,
        backup.id,
        tool_image="img:1",
        force=True,
        confirmed=True,
        timeout=20,
        progress=progress,
    )
    # the 10 keys that were there went into a safety backup (a real stream through the port-forward)
    assert res.target_keys == 10 and res.safety_backup not in (None, backup.id)
    assert store.get(res.safety_backup).key_counts[0].keys == 10
    assert store.get(res.safety_backup).is_safety and store.latest().id == backup.id  # latest skips it
    assert any(res.safety_backup in line for line in res.summary())
    # scaled 1 -> 0 -> 1
    assert _replica_history(env, since)[-2:] == [0, 1]
    assert res.previous_replicas == 1 and _deployment(k)["spec"]["replicas"] == 1
    # the Job: the engine's command on the PVC, the Redis security context, valid
    (job,) = env.objects("Job", NS)
    assert job["metadata"]["name"] == job_name == res.job
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "img:1"
    assert c["command"][:6] == ["redisops", "restore-data-dir", "--data-dir", "/data", "--backup", backup.id]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "redis-data"}} in pod["volumes"]
    assert {"name": "data", "mountPath": "/data"} in c["volumeMounts"]
    assert pod["securityContext"]["runAsUser"] == 999 and pod["securityContext"]["fsGroup"] == 999
    assert check_manifest(job) == []
    assert any(cond["type"] == "Complete" for cond in job["status"]["conditions"])
    # its log is in the result and went to progress
    assert f"installed {backup.id} into /data" in res.job_log
    assert f"[{job_name}] installed {backup.id} into /data" in lines
    # verified through the port-forward: the backup's key counts, the checks of a deploy
    assert {db: keys for db, (keys, _) in res.key_counts.items()} == {0: 60, 2: 60}
    assert all(ch.ok for ch in res.checks) and {"pod-ready", "redis-ping", "persistence"} <= {
        ch.name for ch in res.checks
    }
    assert set(res.timings) >= {"scale_down", "job", "scale_up", "verify", "downtime", "total"}
    note = json.loads(_deployment(k)["metadata"]["annotations"]["redisops.io/last-restore"])
    assert note["backup_id"] == backup.id and note["job"] == job_name


def test_failed_job_scales_back_and_reports_the_log_tail(k: Kube, env: Any, cfg, store, backup) -> None:
    populate(env.redis.endpoint, BEFORE, seed=2)
    job_name = render_restore_job(cfg, backup.id)["metadata"]["name"]
    env.set_failure(NS, job_name, "fail")
    env.set_logs(NS, job_name, "restore: stage\nerror: backup: sha256 abc differs from the recorded def\n")
    with pytest.raises(VerificationError) as err:
        restore_k8s(k, cfg, store, backup.id, force=True, safety_backup=False, confirmed=True, timeout=20)
    e = err.value
    assert f"restore Job {NS}/{job_name} failed" in e.message
    assert "sha256 abc differs" in e.message and "sha256 abc differs" in e.context["log_tail"]
    assert "PVC redis-data is unchanged" in e.hint and "scaled back to 1" in e.hint
    dep = _deployment(k)
    assert dep["spec"]["replicas"] == 1 and dep["status"].get("readyReplicas") == 1
    # with a safety backup taken first, the refusal names it
    with pytest.raises(VerificationError) as err:
        restore_k8s(k, cfg, store, backup.id, force=True, confirmed=True, timeout=20)
    safety = err.value.context["safety_backup"]
    assert store.get(safety).is_safety and safety in err.value.message
    assert f"redisops restore --target k8s {safety} --force" in err.value.hint
    (job,) = env.objects("Job", NS)  # nothing deleted: the failed Job stays to be looked at
    assert any(cond["type"] == "Failed" for cond in job["status"]["conditions"])
    assert "redisops.io/last-restore" not in (dep["metadata"].get("annotations") or {})


def test_non_empty_target_is_refused_without_force(k: Kube, env: Any, cfg, store, backup) -> None:
    populate(env.redis.endpoint, BEFORE, seed=2)
    since = _deployment(k)["metadata"]["resourceVersion"]
    with pytest.raises(ConflictError) as err:
        restore_k8s(k, cfg, store, backup.id, confirmed=True)
    assert "holds 10 keys" in err.value.message and "--force" in err.value.hint
    assert env.objects("Job", NS) == []
    assert _deployment(k)["metadata"]["resourceVersion"] == since
    assert store.list() == [store.get(backup.id)]  # no safety backup either


def test_backup_bigger_than_maxmemory_is_refused_before_scaling(
    k: Kube, env: Any, cfg, store, backup
) -> None:
    need = backup.used_memory_dataset
    assert need
    small = cfg.model_copy(update={"config": cfg.config.model_copy(update={"maxmemory": str(need // 2)})})
    since = _deployment(k)["metadata"]["resourceVersion"]
    with pytest.raises(ConfigError, match="does not fit") as err:
        restore_k8s(k, small, store, backup.id, confirmed=True, force=True)
    assert "raise maxmemory" in err.value.hint
    assert env.objects("Job", NS) == []
    assert _deployment(k)["metadata"]["resourceVersion"] == since
    dry = restore_k8s(k, small, store, backup.id, dry_run=True, force=True)
    assert dry.blocked and "does not fit" in dry.blockers[0]
    assert any(line.startswith("BLOCKED: backup") and "does not fit" in line for line in dry.plan)


def test_compare_key_counts_tolerates_expired_keys_only() -> None:
    assert compare_key_counts({0: (10, 4)}, {0: (8, 2)}) == ([], 2)
    problems, _ = compare_key_counts({0: (10, 4)}, {0: (9, 4), 1: (1, 0)})
    assert [p[:3] for p in problems] == ["db0", "db1"]


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REDISOPS, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120
    )


def test_cli_dry_run_and_undo_via_subprocess(
    k: Kube, env: Any, cfg, backup, s3_endpoint: Any, s3_bucket: str
) -> None:
    kc = str(env.kubeconfig_path)
    child = {
        **os.environ,
        "REDISOPS_S3_BUCKET": s3_bucket,
        "REDISOPS_S3_PREFIX": "redisops",
        "REDISOPS_S3_ENDPOINT_URL": s3_endpoint.url,
        "REDISOPS_S3_FORCE_PATH_STYLE": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    out = _run(
        "restore", "latest", "--target", "k8s", "--dry-run", "--kubeconfig", kc, "-o", "json", env=child
    )
    assert out.returncode == 0, out.stderr + out.stdout
    doc = json.loads(out.stdout)
    assert doc["op"] == "restore.apply" and doc["details"]["dry_run"]
    assert doc["details"]["backup_id"] == backup.id and doc["details"]["namespace"] == NS
    assert any("create Job redis-restore-" in line for line in doc["steps"])
    assert doc["blocked"] is False
    assert env.objects("Job", NS) == []
    # a target holding keys, no --force: the real run would refuse, so the plan exits 15 (PlanBlocked)
    populate(env.redis.endpoint, BEFORE, seed=5)
    out = _run(
        "restore", "latest", "--target", "k8s", "--dry-run", "--kubeconfig", kc, "-o", "json", env=child
    )
    assert out.returncode == 15, out.stderr + out.stdout
    doc = json.loads(out.stdout)
    assert doc["blocked"] is True and "holds 10 keys" in doc["blockers"][0]
    assert env.objects("Job", NS) == []
    # the real run plans first: without --force it refuses what the plan blocks, before asking (15)
    out = _run("restore", backup.id, "--target", "k8s", "--kubeconfig", kc, env=child)
    assert out.returncode == 15 and "holds 10 keys" in out.stderr, out.stderr
    # a clear plan (--force), no terminal, no --yes: refused, naming the namespace, Deployment and PVC
    out = _run("restore", backup.id, "--target", "k8s", "--kubeconfig", kc, "--force", env=child)
    assert out.returncode == 10, out.stderr
    assert "namespace llm-judge, Deployment redis, PVC redis-data" in " ".join(out.stderr.split())
    # undo: the undo Job runs on the PVC, Redis comes back and answers
    out = _run(
        "restore", "undo", "--target", "k8s", "--kubeconfig", kc, "-n", NS, "--yes", "-o", "json", env=child
    )
    assert out.returncode == 0, out.stderr + out.stdout
    undo = json.loads(out.stdout)
    assert undo["job"].startswith("redis-restore-undo-") and undo["previous_replicas"] == 1
    (job,) = env.objects("Job", NS)
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "redisops", "restore-data-dir", "--undo", "--data-dir", "/data",
    ]  # fmt: skip
    assert _deployment(k)["spec"]["replicas"] == 1


def test_undo_job_failure_scales_back(k: Kube, env: Any, cfg) -> None:
    from datetime import UTC, datetime

    when = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    env.set_failure(NS, "redis-restore-undo-20250301t120000", "fail")
    env.set_logs(NS, "redis-restore-undo-20250301t120000", "error: nothing to undo in /data\n")
    with pytest.raises(VerificationError, match="nothing to undo") as err:
        undo_restore_k8s(k, cfg, confirmed=True, now=when, timeout=20)
    assert "nothing was changed" in err.value.hint
    assert _deployment(k)["spec"]["replicas"] == 1


# --- Velero: --adopt on real dirs with a real redis-server --------------------------------------


def _start(cfg: DeploymentConfig, workdir: Path, data: Path) -> Any:
    port = free_port()
    return port, start_redis(
        render_redis_conf(cfg, local_overrides(port, data)), workdir, port=port, name="adopt"
    )


def _dbsize(port: int) -> int:
    r = redis_py.Redis(port=port, protocol=2)
    try:
        return int(r.dbsize())
    finally:
        r.close()


def test_adopt_installs_a_velero_restored_dump_rdb_as_the_aof_base(
    redis_factory: Any, tmp_path: Path, cfg: DeploymentConfig
) -> None:
    source = redis_factory(cfg, name="velero-source")
    populate(source.endpoint, DatasetSpec(keys_per_db=50, dbs=(0,), ttl_fraction=0), seed=3)
    client = source.client()
    try:
        client.save()
    finally:
        client.close()
    # what a Velero restore of a dump.rdb-only volume leaves: dump.rdb, no AOF manifest
    dirs = {}
    for name in ("adopted", "naive"):
        data = tmp_path / name / "data"
        data.mkdir(parents=True)
        shutil.copy2(source.data_dir / "dump.rdb", data / "dump.rdb")
        dirs[name] = data
    # the trap: appendonly yes ignores dump.rdb and comes up empty
    port, proc = _start(cfg, tmp_path / "naive", dirs["naive"])
    try:
        assert _dbsize(port) == 0
    finally:
        proc.stop(timeout=10)

    # the init hook's command, as Velero runs it
    out = subprocess.run(
        [REDISOPS, "restore-data-dir", "--adopt", "--data-dir", str(dirs["adopted"]),
         "--redis-version", _server_version(), "-o", "json"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "REDISOPS_STATE_DIR": str(tmp_path / "none")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr + out.stdout
    doc = json.loads(out.stdout)
    assert doc["action"] == "adopted" and "no AOF manifest" in doc["reason"]
    aof = dirs["adopted"] / "appendonlydir"
    assert (aof / "appendonly.aof.manifest").read_text() == "file appendonly.aof.1.base.rdb seq 1 type b\n"
    assert not (dirs["adopted"] / "dump.rdb").exists()  # moved aside into the undo folder
    port, proc = _start(cfg, tmp_path / "adopted", dirs["adopted"])
    try:
        assert _dbsize(port) == 50
    finally:
        proc.stop(timeout=10)
    # Redis wrote its own AOF since: a valid manifest is left alone
    settings = TargetSettings.from_config(cfg, _server_version())
    again = adopt_data_dir(dirs["adopted"], settings, datetime_now())
    assert again.action == "nothing to do" and "manifest is valid" in again.reason
    # undo-able like any restore: the Velero-restored dump.rdb comes back
    undone = undo_restore(dirs["adopted"], datetime_now())
    assert undone.put_back == ("dump.rdb",) and (dirs["adopted"] / "dump.rdb").exists()
    # an empty (fresh) volume: nothing to adopt
    empty = tmp_path / "empty"
    empty.mkdir()
    assert adopt_data_dir(empty, settings, datetime_now()).action == "nothing to do"


def datetime_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
