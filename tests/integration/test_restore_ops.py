"""Restore from the store into the sandbox target, undo, the in-cluster data-dir path, and drills.

The engine's own corruption and byte-for-byte tests are in test_restore_engine.py; here the whole path
runs: real redis-servers with the production persistence config, backups in a real S3 endpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redisops.adapters.redis_conn import connect
from redisops.config import DeploymentConfig, config_from_mapping, render_redis_conf
from redisops.errors import AbortedError, ConflictError
from redisops.ops.backup import create_rdb_backup, store_for
from redisops.ops.compare import compare_datasets
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.restore import last_drill, restore_sandbox, run_drill, undo_sandbox_restore
from redisops.ops.sandbox import sandbox_down, sandbox_up, target_controls
from redisops.ops.sandbox_store import sandbox_s3
from redisops.restore.plan import RECORD_NAME, UNDO_DIR_NAME

SPEC = DatasetSpec(keys_per_db=200, dbs=(0, 3, 7), value_bytes=200, elements=6, ttl_fraction=0.3)
LARGE = DatasetSpec(
    keys_per_db=4, dbs=(1,), value_bytes=256 * 1024, elements=4, prefix="large", ttl_fraction=0
)


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory):
    """One sandbox for the module (started once; each test gets it emptied by ``sandbox``)."""
    d = tmp_path_factory.mktemp("restore-ops") / "sandbox"
    sandbox_up(d)
    yield d
    sandbox_down(d, discard_backups=True)


@pytest.fixture
def sandbox(sandbox_dir):
    """The module's sandbox as a fresh one is: running (up repairs what a test left stopped), no key in
    the target, no object in the backup store (backups, drill records, lock), no restore record or
    undo point in the target's data dir."""
    state = sandbox_up(sandbox_dir)
    client = connect(state.target)
    try:
        client.flushall()
    finally:
        client.close()
    s3 = sandbox_s3(state.s3_url, state.bucket)
    s3.delete_keys([o.key for o in s3.list_objects("")])
    shutil.rmtree(state.data_dir / UNDO_DIR_NAME, ignore_errors=True)
    (state.data_dir / RECORD_NAME).unlink(missing_ok=True)
    return state


def test_round_trip_into_the_sandbox_survives_restarts_and_undo(redis_server, sandbox):
    cfg = DeploymentConfig()
    populate(redis_server.endpoint, SPEC, seed=1)
    populate(redis_server.endpoint, LARGE, seed=2)
    store = store_for(cfg.backup, sandbox=sandbox)
    m = create_rdb_backup(redis_server.endpoint, store)

    populate(sandbox.target, DatasetSpec(keys_per_db=50, dbs=(0,), prefix="before"), seed=3)
    with pytest.raises(ConflictError, match="holds 50 keys"):
        restore_sandbox(sandbox, cfg, store, m.id, confirmed=True)
    with pytest.raises(AbortedError):
        restore_sandbox(sandbox, cfg, store, m.id, force=True)

    plan = restore_sandbox(sandbox, cfg, store, m.id, dry_run=True)
    assert plan.result is None and any("appendonlydir" in line for line in plan.plan)
    assert compare_datasets(redis_server.endpoint, sandbox.target).differences  # nothing changed yet

    res = restore_sandbox(sandbox, cfg, store, "latest", force=True, confirmed=True)
    assert res.backup_id == m.id and res.result is not None
    assert res.safety_backup is not None and res.safety_backup != m.id  # the 50 keys were backed up first
    assert (sandbox.data_dir / "appendonlydir" / "appendonly.aof.1.base.rdb").exists()

    same = compare_datasets(redis_server.endpoint, sandbox.target, ttl_tolerance_ms=120_000)
    assert same.equal, same.summary()
    stop, start = target_controls(sandbox)
    for _ in range(2):  # the appendonly trap would show here: the naive copy comes back empty
        stop()
        start()
        again = compare_datasets(redis_server.endpoint, sandbox.target, ttl_tolerance_ms=120_000)
        assert again.equal, again.summary()

    undo_sandbox_restore(sandbox)
    client = sandbox.target
    import redis

    r = redis.Redis(port=client.port, protocol=2)
    try:
        assert r.dbsize() == 50 and r.exists("before:string:0:00000000")
    finally:
        r.close()


def test_restore_of_the_safety_backup_brings_the_previous_data_back(sandbox):
    cfg = DeploymentConfig()
    store = store_for(cfg.backup, sandbox=sandbox)
    populate(sandbox.target, DatasetSpec(keys_per_db=30, dbs=(0,), prefix="old"), seed=4)
    first = create_rdb_backup(sandbox.target, store)
    populate(sandbox.target, DatasetSpec(keys_per_db=10, dbs=(2,), prefix="new"), seed=5)
    res = restore_sandbox(sandbox, cfg, store, first.id, force=True, confirmed=True)
    assert res.safety_backup is not None
    restore_sandbox(sandbox, cfg, store, res.safety_backup, force=True, confirmed=True)
    import redis

    r = redis.Redis(port=sandbox.target.port, protocol=2)
    try:
        assert r.dbsize() == 30
        r.select(2)
        assert r.dbsize() == 10
    finally:
        r.close()


def test_drill_reports_rto_rpo_and_is_recorded(redis_server, sandbox):
    cfg = DeploymentConfig()
    populate(redis_server.endpoint, SPEC, seed=6)
    store = store_for(cfg.backup, sandbox=sandbox)
    assert last_drill(store) is None
    m = create_rdb_backup(redis_server.endpoint, store)
    time.sleep(0.2)
    d = run_drill(store, "latest", cfg=cfg)
    assert d.ok, d.problem
    assert d.backup_id == m.id
    assert d.rto_seconds > 0 and d.rpo_seconds >= 0.2
    assert d.key_counts == {db: c.keys for db, c in m.key_counts.items()} or all(
        d.key_counts[db] >= c.keys - c.expires for db, c in m.key_counts.items()
    )
    rec = last_drill(store)
    assert rec is not None and rec["ok"] is True and rec["backup_id"] == m.id


def test_cli_restore_undo_and_drill(redis_server, sandbox, tmp_path):
    populate(sandbox.target, SPEC, seed=7)
    redisops = str(Path(sys.executable).with_name("redisops"))
    env = {**os.environ, "REDISOPS_STATE_DIR": sandbox.state_dir}

    def run(*args: str, code: int = 0) -> dict:
        p = subprocess.run(
            [redisops, *args, "-o", "json"], capture_output=True, text=True, env=env, timeout=180
        )
        assert p.returncode == code, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr
        return json.loads(p.stdout)

    made = run("backup", "create")
    plan = run("restore", "latest", "--dry-run", code=15)  # the target holds keys: blocked without --force
    assert plan["details"]["dry_run"] is True and plan["steps"] and plan["blocked"] is True
    refused = run("restore", "latest", "--yes", code=15)  # the run plans first: the same refusal
    assert refused["error"] == "PlanBlocked"
    unconfirmed = run("restore", "latest", "--force", code=10)
    assert unconfirmed["error"] == "AbortedError"
    done = run("restore", made["id"], "--force", "--yes")
    assert done["backup_id"] == made["id"] and done["safety_backup"]
    run("restore", "undo", "--yes")
    drill = run("backup", "drill")
    assert drill["ok"] is True and drill["rto_seconds"] > 0
    scheduled = run("backup", "schedule", "--every", "0", "--count", "2", "--drill")["runs"]
    assert len(scheduled) == 2 and all(s["drill"]["ok"] for s in scheduled)
    assert len({s["id"] for s in scheduled}) == 2


REDISOPS = str(Path(sys.executable).with_name("redisops"))


def _job_env(s3_endpoint, s3_bucket, tmp_path: Path) -> dict[str, str]:
    """The environment the in-cluster Jobs get: S3 settings from REDISOPS_S3_*, no sandbox."""
    return {
        **os.environ,
        "REDISOPS_S3_BUCKET": s3_bucket,
        "REDISOPS_S3_ENDPOINT_URL": s3_endpoint.url,
        "REDISOPS_S3_FORCE_PATH_STYLE": "true",
        "REDISOPS_STATE_DIR": str(tmp_path / "none"),
        "TMPDIR": str(tmp_path),
    }


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REDISOPS, *args], capture_output=True, text=True, env=env, timeout=timeout)


def _backup_via_cli(redis_server, env: dict[str, str]) -> dict:
    made = _cli(
        env, "backup", "create", "--url", f"redis://127.0.0.1:{redis_server.endpoint.port}", "-o", "json"
    )
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)


def test_restore_data_dir_is_the_engine_alone(redis_server, s3_endpoint, s3_bucket, tmp_path):
    """What the in-cluster Job runs: S3 settings from the REDISOPS_S3_* env, engine on a data dir."""
    populate(redis_server.endpoint, SPEC, seed=8)
    env = _job_env(s3_endpoint, s3_bucket, tmp_path)
    _backup_via_cli(redis_server, env)
    data = tmp_path / "pvc"
    data.mkdir()
    p = _cli(
        env,
        "restore-data-dir",
        "--backup",
        "latest",
        "--data-dir",
        str(data),
        "--uid",
        "999",
        "--gid",
        "999",
        "-o",
        "json",
    )
    assert p.returncode == 0, p.stderr
    base = data / "appendonlydir" / "appendonly.aof.1.base.rdb"
    assert base.exists() and base.stat().st_uid == 999
    assert (data / "appendonlydir" / "appendonly.aof.manifest").read_text() == (
        "file appendonly.aof.1.base.rdb seq 1 type b\n"
    )
    # as the Job runs it now: the target's settings from the redis.conf Redis loads (its ConfigMap),
    # not from the defaults: appendonly no and another dbfilename install that file, nothing else
    conf = tmp_path / "redis.conf"
    cfg = config_from_mapping({"config": {"appendonly": "no", "dbfilename": "snap.rdb", "maxmemory": "1gb"}})
    conf.write_text(render_redis_conf(cfg))
    other = tmp_path / "pvc2"
    other.mkdir()
    p = _cli(
        env,
        "restore-data-dir",
        "--backup",
        "latest",
        "--data-dir",
        str(other),
        "--redis-conf",
        str(conf),
        "-o",
        "json",
    )
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in other.iterdir() if not x.name.startswith(".redisops")) == ["snap.rdb"]
    # a target whose maxmemory cannot hold the backup is refused before anything changes
    tiny = config_from_mapping({"config": {"maxmemory": "1kb"}})
    conf.write_text(render_redis_conf(tiny))
    third = tmp_path / "pvc3"
    third.mkdir()
    p = _cli(
        env,
        "restore-data-dir",
        "--backup",
        "latest",
        "--data-dir",
        str(third),
        "--redis-conf",
        str(conf),
        "-o",
        "json",
    )
    assert p.returncode == 3, p.stdout + p.stderr
    err = json.loads(p.stdout)
    assert "does not fit" in err["message"] and "maxmemory" in err["hint"]
    assert list(third.iterdir()) == []
    missing = _cli(
        env,
        "restore-data-dir",
        "--backup",
        "latest",
        "--data-dir",
        str(third),
        "--redis-conf",
        str(tmp_path / "nope.conf"),
        "-o",
        "json",
    )
    assert missing.returncode == 3 and "cannot read the redis.conf" in json.loads(missing.stdout)["message"]


def test_drill_with_the_configmaps_redis_conf(redis_server, s3_endpoint, s3_bucket, tmp_path):
    """What the drill CronJob runs: backup drill --redis-conf (the production redis.conf)."""
    populate(redis_server.endpoint, SPEC, seed=9)
    env = _job_env(s3_endpoint, s3_bucket, tmp_path)
    made = _backup_via_cli(redis_server, env)
    conf = tmp_path / "redis.conf"
    conf.write_text(render_redis_conf(DeploymentConfig()))  # what the ConfigMap holds: port 6379, dir /data
    p = _cli(env, "backup", "drill", "--redis-conf", str(conf), "--output", "json", timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    drill = json.loads(p.stdout)
    assert drill["ok"] is True and drill["backup_id"] == made["id"]
    assert sum(drill["key_counts"].values()) >= 3 * 200 * 0.7  # TTL'd keys may expire meanwhile
    assert [x for x in tmp_path.iterdir() if x.name.startswith("redisops-drill-")] == []  # cleaned up
