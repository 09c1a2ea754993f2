"""The snapshot path on the sandbox, end to end through the CLI: ``elasticache snapshot`` -> ``elasticache
export`` (the bucket's grants checked first) -> ``backup list`` shows the imported backup -> ``restore``
loads exactly the snapshot's keys into the sandbox target's data dir (the PVC stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.ops.compare import compare_datasets
from redisops.ops.sandbox_store import sandbox_s3
from tests.integration.aws._cli import cli, cli_json

pytestmark = pytest.mark.slow


def _counts(client: redis.Redis) -> dict[str, dict[str, int]]:
    info = client.info("keyspace")
    return {k[2:]: {"keys": v["keys"], "expires": v["expires"]} for k, v in info.items()}


def test_snapshot_export_list_restore_loads_the_snapshot_keys(state: Path) -> None:
    up = cli_json(state, "sandbox", "up")
    source = redis.Redis(port=up["services"]["source"]["port"], protocol=2)
    source.hset("db0:hash", mapping={"a": "1", "b": "2"})
    source.set("db0:ttl", "x", ex=7200)
    expected = _counts(source)

    snap = cli_json(state, "elasticache", "snapshot", "--name", "rehearsal-1", "--poll-interval", "0.1")
    assert (snap["replication_group"], snap["snapshot"], snap["status"]) == (
        "llm-judge-redis",
        "rehearsal-1",
        "available",
    )
    assert snap["polls"] >= 1  # the sandbox's snapshots are `creating` for a moment, as in AWS
    source.set("written-after-the-snapshot", "1")  # the backup holds the snapshot, not the live data

    export_bucket = sandbox_s3(up["services"]["s3"]["url"], up["aws"]["export_bucket"])
    plan = json.loads(cli(state, "elasticache", "export", "rehearsal-1", "--dry-run", "-o", "json").stdout)
    assert plan["blocked"] is False and plan["details"]["key"] == "rehearsal-1-export-0001.rdb"
    assert export_bucket.list_keys("") == []  # the dry run changed nothing

    out = cli_json(state, "elasticache", "export", "rehearsal-1")
    assert out["key"] == "rehearsal-1-export-0001.rdb" and out["rdb_version"] == 10
    assert out["key_counts"] == expected
    assert export_bucket.list_keys("") == ["rehearsal-1-export-0001.rdb"]

    listed = cli_json(state, "backup", "list")
    backup = next(b for b in listed["backups"] if b["id"] == out["backup_id"])
    assert [o["verified"] for o in backup["objects"]] == [True]
    assert backup["source"]["address"] == "elasticache://llm-judge-redis"
    assert {db: c for db, c in backup["key_counts"].items()} == expected

    cli(state, "restore", out["backup_id"], "--yes", "--force", "--no-safety-backup")
    target = redis.Redis(port=up["services"]["target"]["port"], protocol=2)
    assert _counts(target) == expected
    source.delete("written-after-the-snapshot")
    result = compare_datasets(
        RedisEndpoint(port=up["services"]["source"]["port"]),
        RedisEndpoint(port=up["services"]["target"]["port"]),
        ttl_tolerance_ms=120_000,
    )
    assert result.equal, result.summary()
    assert sum(result.compared.values()) == sum(c["keys"] for c in expected.values())


def test_export_into_a_bucket_without_grants_is_refused_before_anything_is_written(state: Path) -> None:
    up = cli_json(state, "sandbox", "up")
    bare = sandbox_s3(up["services"]["s3"]["url"], "no-grants-bucket")
    bare.client.create_bucket(Bucket="no-grants-bucket")
    cli_json(state, "elasticache", "snapshot", "--name", "snap-x", "--poll-interval", "0.1")
    before = cli_json(state, "backup", "list")["backups"]

    refused = cli(
        state, "elasticache", "export", "snap-x", "--bucket", "no-grants-bucket", "-o", "json", check=False
    )
    assert refused.returncode == 15
    error = json.loads(refused.stdout)
    text = json.dumps(error)
    assert "ACL READ, ACL WRITE, ACL READ_ACP" in text and "elasticache-snapshot.amazonaws.com" in text
    assert bare.list_keys("") == []
    assert cli_json(state, "backup", "list")["backups"] == before

    missing = cli(state, "elasticache", "export", "no-such-snapshot", "-o", "json", check=False)
    assert missing.returncode == 15 and "no ElastiCache snapshot no-such-snapshot" in missing.stdout
