"""Backups end to end against real redis-server processes and a real S3 endpoint (moto over HTTP).

Fault tests cut the S3 endpoint or the Redis connection mid-transfer through a TCP proxy (the store
keeps its contents, so "earlier backups are intact" can be checked), and SIGKILL a real backup process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.adapters.s3 import AwsCredentials
from redisops.config import BackupTarget
from redisops.errors import ConnectionFailed, OperationTimeout, VerificationError
from redisops.ops.backup import create_aof_backup, create_rdb_backup, open_store, verify_backup
from redisops.ops.compare import compare_datasets
from redisops.ops.datasets import DatasetSpec, populate
from tests.harness.proxy import TcpProxy

CREDS = AwsCredentials("testing", "testing")
#: ~40 MB of random values: long enough to cut mid-transfer
BIG = DatasetSpec(keys_per_db=1200, dbs=(0, 1), value_bytes=4096, elements=4, ttl_fraction=0.1)
#: ~24 MB: the cut at 15 MB lands in the upload's second 8 MiB part, with a third still to come
MID = DatasetSpec(keys_per_db=720, dbs=(0, 1), value_bytes=4096, elements=4, ttl_fraction=0.1)
SMALL = DatasetSpec(keys_per_db=150, dbs=(0, 2, 5), value_bytes=100, elements=5, ttl_fraction=0.3)


def store_at(url: str, bucket: str, **kw):
    return open_store(
        BackupTarget(bucket=bucket, prefix="redisops"),
        "redis",
        endpoint_url=url,
        credentials=CREDS,
        max_attempts=2,
        connect_timeout=2,
        read_timeout=10,
        **kw,
    )


def assert_clean(store, s3_client, bucket: str, expected_ids: list[str]) -> None:
    """Only the expected backups are listed, each verifies, and gc leaves no orphan."""
    assert [m.id for m in store.list()] == expected_ids
    for bid in expected_ids:
        assert verify_backup(store, bid).ok
    store.gc(datetime.now(UTC) + timedelta(days=2), timedelta(hours=1))
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    folders = {
        o["Key"].rsplit("/", 1)[0]
        for o in s3_client.list_objects_v2(Bucket=bucket, Prefix="redisops/backups/").get("Contents", [])
    }
    assert folders == {f"redisops/backups/redis/{bid}" for bid in expected_ids}


def test_backup_under_write_load_verifies_deep(redis_server, redis_factory, s3_endpoint, s3_bucket):
    """Production persistence config, every type, TTLs, several DBs, redis-benchmark writing meanwhile;
    the backup verifies and restores equal to the snapshot point."""
    populate(redis_server.endpoint, SMALL, seed=3)
    bench = subprocess.Popen(
        ["redis-benchmark", "-p", str(redis_server.endpoint.port), "-t", "set,lpush,hset", "-r", "5000",
         "-n", "400000", "-c", "4", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.3)
        store = store_at(s3_endpoint.url, s3_bucket)
        m = create_rdb_backup(redis_server.endpoint, store)
    finally:
        bench.terminate()
        bench.wait(timeout=10)
    assert m.kind == "rdb" and m.rdb_version == 10 and m.redis_version.startswith("7.0")
    assert m.key_counts is not None and {2, 5} <= set(m.key_counts)
    assert m.key_counts[2].keys == 150 and m.key_counts[5].keys == 150
    assert m.key_counts[0].keys >= 150  # the benchmark's keys land in db0 too
    assert m.config_fingerprint
    assert m.used_memory_dataset and m.used_memory_dataset > 0  # lets a restore check the target fits
    res = verify_backup(store, m.id, deep=True)
    assert res.ok, res.problems
    assert res.loaded_key_counts == {db: c.keys for db, c in m.key_counts.items()}
    assert "redis-check-rdb" in res.checks

    # restore into a fresh server running the production config: dbs 2 and 5 were not written during
    # the backup, so they must come back equal to the source; db0 (written meanwhile) must hold exactly
    # what the snapshot recorded
    from redisops.ops.restore import restore_into_data_dir
    from redisops.ops.restore_local import compare_key_counts, wait_loaded

    target = redis_factory(name="restored")
    target.process.stop()
    restore_into_data_dir(store, m.id, target.data_dir, target.config, redis_version="7.0.15")
    target.restart()
    info = wait_loaded(target.endpoint)
    live = {db: (ks.keys, ks.expires) for db, ks in info.keyspace.items()}
    problems, _expired = compare_key_counts({db: (c.keys, c.expires) for db, c in m.key_counts.items()}, live)
    assert problems == []
    same = compare_datasets(redis_server.endpoint, target.endpoint, dbs=[2, 5], ttl_tolerance_ms=120_000)
    assert same.equal, same.summary()


def test_aof_backup_copies_the_multipart_directory(redis_server, s3_endpoint, s3_bucket):
    populate(redis_server.endpoint, SMALL, seed=4)
    c = redis_server.client()
    c.bgrewriteaof()
    store = store_at(s3_endpoint.url, s3_bucket)
    m = create_aof_backup(redis_server.endpoint, redis_server.data_dir, store)
    names = sorted(o.name for o in m.objects)
    assert names[0].startswith("aof/appendonly.aof.") and "aof/appendonly.aof.manifest" in names
    assert any(n.endswith(".base.rdb") for n in names) and any(n.endswith(".incr.aof") for n in names)
    assert c.config_get("auto-aof-rewrite-percentage")["auto-aof-rewrite-percentage"] == "100"
    assert verify_backup(store, m.id).ok


def test_aof_backup_restores_the_setting_when_the_wait_times_out(redis_server, s3_endpoint, s3_bucket):
    c = redis_server.client()
    c.config_set("auto-aof-rewrite-percentage", "77")
    clock = iter([0.0, 1000.0, 2000.0, 3000.0])
    # a rewrite that never ends: fake only the clock, the server is real and idle
    c.bgrewriteaof()
    with pytest.raises((OperationTimeout, Exception)):
        create_aof_backup(
            redis_server.endpoint,
            redis_server.data_dir / "missing",
            store_at(s3_endpoint.url, s3_bucket),
            wait_timeout=0.0,
            clock=lambda: next(clock),
        )
    assert c.config_get("auto-aof-rewrite-percentage")["auto-aof-rewrite-percentage"] == "77"


@pytest.mark.parametrize("attempt", [1, 2])
def test_s3_endpoint_cut_mid_upload(redis_server, s3_endpoint, s3_bucket, attempt):
    populate(redis_server.endpoint, MID, seed=attempt)
    host, port = s3_endpoint.url.removeprefix("http://").split(":")
    direct = store_at(s3_endpoint.url, s3_bucket)
    earlier = create_rdb_backup(redis_server.endpoint, direct)
    with TcpProxy((host, int(port)), cut_after=15_000_000) as proxy:
        via_proxy = store_at(f"http://127.0.0.1:{proxy.port}", s3_bucket)
        with pytest.raises(ConnectionFailed) as ei:
            create_rdb_backup(redis_server.endpoint, via_proxy)
        assert ei.value.retryable
        assert proxy.cut_count == 1
        assert "testing" not in str(ei.value.to_dict())
        proxy.restore()
        # the lock could not be released while the endpoint was gone: it names a live pid on this
        # host, so the next backup must not silently take over... but this process is the holder
        # and has ended that backup, so break it explicitly as an operator would
        direct.break_lock(datetime.now(UTC), force=True)
        assert_clean(direct, s3_endpoint.client(), s3_bucket, [earlier.id])
        nxt = create_rdb_backup(redis_server.endpoint, via_proxy)
    assert [m.id for m in direct.list()] == [nxt.id, earlier.id]
    assert verify_backup(direct, nxt.id).ok


@pytest.mark.parametrize("attempt", [1, 2])
def test_redis_connection_dropped_mid_stream(redis_server, s3_endpoint, s3_bucket, attempt):
    populate(redis_server.endpoint, BIG, seed=10 + attempt)
    store = store_at(s3_endpoint.url, s3_bucket)
    earlier = create_rdb_backup(redis_server.endpoint, store)
    with TcpProxy(("127.0.0.1", redis_server.endpoint.port)) as proxy:
        ep = RedisEndpoint(port=proxy.port)
        proxy.cut_after = 5_000_000  # the INFO/CONFIG calls are small; the RDB stream is ~40 MB
        with pytest.raises(ConnectionFailed, match="bytes"):
            create_rdb_backup(ep, store)
    assert_clean(store, s3_endpoint.client(), s3_bucket, [earlier.id])
    nxt = create_rdb_backup(redis_server.endpoint, store)
    assert [m.id for m in store.list()] == [nxt.id, earlier.id]


@pytest.mark.parametrize("attempt", [1, 2])
def test_backup_process_sigkilled_mid_upload(redis_server, s3_endpoint, s3_bucket, tmp_path, attempt):
    populate(redis_server.endpoint, BIG, seed=20 + attempt)
    store = store_at(s3_endpoint.url, s3_bucket)
    earlier = create_rdb_backup(redis_server.endpoint, store)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"backup:\n  bucket: {s3_bucket}\n  endpoint_url: {s3_endpoint.url}\n  force_path_style: true\n"
    )
    redisops = str(Path(sys.executable).with_name("redisops"))
    env = {**os.environ, "REDISOPS_STATE_DIR": str(tmp_path / "no-sandbox")}
    proc = subprocess.Popen(
        [redisops, "backup", "create", "--url", f"redis://127.0.0.1:{redis_server.endpoint.port}",
         "--config", str(cfg), "-o", "json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    s3 = s3_endpoint.client()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not s3.list_multipart_uploads(Bucket=s3_bucket).get("Uploads"):
        time.sleep(0.01)
    assert s3.list_multipart_uploads(Bucket=s3_bucket).get("Uploads"), "the upload never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert [m.id for m in store.list()] == [earlier.id]
    # the dead process's lock (same host, pid gone) does not block the next backup
    nxt = create_rdb_backup(redis_server.endpoint, store)
    assert_clean(store, s3, s3_bucket, [nxt.id, earlier.id])


def test_flipped_byte_or_truncation_is_detected_by_verify(redis_server, s3_endpoint, s3_bucket):
    populate(redis_server.endpoint, SMALL, seed=5)
    store = store_at(s3_endpoint.url, s3_bucket)
    s3 = s3_endpoint.client()
    for damage in ("flip", "truncate"):
        m = create_rdb_backup(redis_server.endpoint, store)
        key = f"redisops/backups/redis/{m.id}/dump.rdb"
        data = bytearray(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
        if damage == "flip":
            data[len(data) // 2] ^= 0x01
        else:
            data = data[: len(data) - 100]
        s3.put_object(Bucket=s3_bucket, Key=key, Body=bytes(data))
        res = verify_backup(store, m.id)
        assert not res.ok and res.problems, damage


def test_elasticache_like_source_cannot_be_streamed(elasticache_like, s3_endpoint, s3_bucket):
    from redisops.errors import PlatformError

    store = store_at(s3_endpoint.url, s3_bucket)
    with pytest.raises(PlatformError, match="SYNC is not available") as ei:
        create_rdb_backup(elasticache_like.endpoint, store)
    assert "SCAN" in ei.value.hint
    assert store.list() == [] and store.lock_info() is None


def test_cli_backup_commands(redis_server, s3_endpoint, s3_bucket, tmp_path):
    import json

    populate(redis_server.endpoint, SMALL, seed=6)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"backup:\n  bucket: {s3_bucket}\n  endpoint_url: {s3_endpoint.url}\n  force_path_style: true\n"
    )
    redisops = str(Path(sys.executable).with_name("redisops"))
    env = {**os.environ, "REDISOPS_STATE_DIR": str(tmp_path / "none")}
    url = f"redis://127.0.0.1:{redis_server.endpoint.port}"

    def run(*args: str, code: int = 0) -> str:
        p = subprocess.run([redisops, *args, "--config", str(cfg), "-o", "json"], capture_output=True,
                           text=True, env=env, timeout=120)  # fmt: skip
        assert p.returncode == code, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr
        return p.stdout

    made = json.loads(run("backup", "create", "--url", url))
    phases = made.pop("timings")  # where the time went, for SREs and benchmarks/backup.py
    assert set(phases) == {"total", "connect", "stream", "finish_upload", "commit"}
    assert all(v >= 0 for v in phases.values())
    assert phases["total"] >= phases["connect"] + phases["stream"] + phases["finish_upload"]
    listed = json.loads(run("backup", "list"))  # one object: {"source": ..., "backups": [...]}
    assert listed == {"source": "redis", "backups": [made], "skipped_newer": 0, "newest_format": None}
    assert json.loads(run("backup", "describe", "latest"))["id"] == made["id"]
    assert json.loads(run("backup", "verify", made["id"], "--deep"))["ok"] is True
    dry = json.loads(run("backup", "prune", "--keep-last", "1", "--dry-run"))  # the plan
    assert dry["blocked"] is False and dry["details"]["retention"]["delete"] == []
    # the only (so the newest verified) backup: the plan refuses without --force (exit 15), before asking
    blocked = json.loads(run("backup", "delete", made["id"], "--yes", code=15))
    assert blocked["error"] == "PlanBlocked" and "newest verified backup" in blocked["message"]
    err = json.loads(run("backup", "delete", made["id"], "--force", code=10))  # no terminal to confirm
    assert err["error"] == "AbortedError"
    run("backup", "delete", made["id"], "--yes", "--force")
    assert json.loads(run("backup", "list"))["backups"] == []
    missing = json.loads(run("backup", "describe", "latest", code=6))
    assert "no backups" in missing["message"]


def test_verify_refuses_a_backup_whose_manifest_lies(redis_server, s3_endpoint, s3_bucket):
    import json

    populate(redis_server.endpoint, SMALL, seed=7)
    store = store_at(s3_endpoint.url, s3_bucket)
    m = create_rdb_backup(redis_server.endpoint, store)
    s3 = s3_endpoint.client()
    key = f"redisops/backups/redis/{m.id}/manifest.json"
    doc = json.loads(s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    doc["key_counts"]["2"]["keys"] += 1
    s3.put_object(Bucket=s3_bucket, Key=key, Body=json.dumps(doc).encode())
    res = verify_backup(store, m.id, deep=True)
    assert not res.ok and "differ from the manifest" in res.problems[0]
    with pytest.raises(VerificationError):
        res.ok or (_ for _ in ()).throw(VerificationError("x"))
    shutil.rmtree(redis_server.workdir / "nothing", ignore_errors=True)


def test_backup_prefers_an_online_replica(redis_factory, s3_endpoint, s3_bucket):
    from redisops.ops.backup import pick_stream_source
    from redisops.ops.inspect import fetch_info

    primary = redis_factory(name="primary")
    populate(primary.endpoint, SMALL, seed=9)
    replica = redis_factory(name="replica")
    replica.client().replicaof("127.0.0.1", primary.endpoint.port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = fetch_info(primary.endpoint)
        if any(r.state == "online" for r in info.replication.replicas):
            break
        time.sleep(0.1)
    chosen = pick_stream_source(primary.endpoint, fetch_info(primary.endpoint))
    assert chosen.port == replica.endpoint.port
    forks = int(primary.client().info("stats")["total_forks"])
    m = create_rdb_backup(primary.endpoint, store_at(s3_endpoint.url, s3_bucket))
    assert int(primary.client().info("stats")["total_forks"]) == forks  # the primary did not fork
    assert f"replica 127.0.0.1:{replica.endpoint.port}" in m.notes
    assert m.key_counts[2].keys == 150 and m.source.address == f"127.0.0.1:{primary.endpoint.port}"
