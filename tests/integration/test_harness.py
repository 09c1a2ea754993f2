"""The harness itself: real servers start with the typed config, the ElastiCache-like one refuses what
ElastiCache blocks, the moto endpoint is real S3 over HTTP, and the dataset helpers agree with Redis."""

from __future__ import annotations

import shutil

import pytest
import redis

from redisops.adapters.local import ELASTICACHE_BLOCKED_COMMANDS
from redisops.ops.compare import compare_datasets
from redisops.ops.datasets import KEY_TYPES, DatasetSpec, populate


def test_redis_server_runs_the_production_persistence_config(redis_server):
    c = redis_server.client(decode=True)
    assert c.config_get("appendonly") == {"appendonly": "yes"}
    assert c.config_get("save") == {"save": "900 1 300 10 60 10000"}
    assert c.config_get("appendfsync") == {"appendfsync": "everysec"}
    assert c.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert c.config_get("dir")["dir"] == str(redis_server.data_dir)
    assert c.info("server")["redis_version"].startswith("7.")


@pytest.mark.parametrize(
    "command", [("SYNC",), ("CONFIG", "GET", "save"), ("DEBUG", "SLEEP", "0"), ("BGSAVE",)]
)
def test_elasticache_like_refuses_blocked_commands(elasticache_like, command):
    c = elasticache_like.client()
    assert c.ping()
    with pytest.raises(redis.ResponseError, match="unknown command"):
        c.execute_command(*command)


def test_elasticache_like_blocks_the_full_list(elasticache_like):
    c = elasticache_like.client()
    for name in ELASTICACHE_BLOCKED_COMMANDS:
        with pytest.raises(redis.ResponseError, match="unknown command"):
            c.execute_command(name)
    assert c.set("still", "works")


def test_password_protected_server(redis_factory):
    inst = redis_factory(password="s3cret-pw")
    assert inst.client().ping()
    assert "s3cret-pw" not in (inst.workdir / "redis.conf").read_text()


def test_populate_writes_every_type_ttls_and_dbs(redis_server):
    spec = DatasetSpec(keys_per_db=60, dbs=(0, 3), ttl_fraction=0.5, value_bytes=32)
    res = populate(redis_server.endpoint, spec, seed=1)
    assert res.keys == {0: 60, 3: 60}
    for db in (0, 3):
        c = redis_server.client(db)
        assert c.dbsize() == 60
        types = {c.type(k).decode() for k in c.scan_iter()}
        assert types == set(KEY_TYPES)
        assert c.info("keyspace")[f"db{db}"]["expires"] == res.expires[db] > 0


def test_compare_finds_equal_and_each_kind_of_difference(redis_factory):
    a, b = redis_factory(name="a"), redis_factory(name="b")
    spec = DatasetSpec(keys_per_db=30, dbs=(0, 1), ttl_fraction=0.3)
    populate(a.endpoint, spec, seed=5)
    populate(b.endpoint, spec, seed=5)
    same = compare_datasets(a.endpoint, b.endpoint, ttl_tolerance_ms=60_000)
    assert same.equal, same.differences
    assert same.compared == {0: 30, 1: 30}

    cb = b.client(1)
    cb.set("ds:string:1:00000000", b"changed")
    cb.delete("ds:hash:1:00000001")
    cb.set("extra-key", b"x")
    cb.persist("ds:list:1:00000002")
    cb.expire("ds:list:1:00000002", 10_000_000)
    diff = compare_datasets(a.endpoint, b.endpoint, ttl_tolerance_ms=60_000)
    kinds = sorted(d.what for d in diff.differences)
    assert kinds == ["extra", "missing", "ttl", "value"] or kinds == ["extra", "missing", "value"]
    assert "value" in kinds and "missing" in kinds and "extra" in kinds


def test_s3_endpoint_is_real_http_s3(s3_endpoint, s3_bucket):
    s3 = s3_endpoint.client()
    s3.put_object(Bucket=s3_bucket, Key="a/b", Body=b"hello")
    assert s3.get_object(Bucket=s3_bucket, Key="a/b")["Body"].read() == b"hello"
    assert s3_endpoint.url.startswith("http://127.0.0.1:")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kube_fixture_serves_the_official_client_and_kubectl(kube):
    import subprocess

    from kubernetes import client

    core = client.CoreV1Api(kube.api_client())
    core.create_namespace({"metadata": {"name": "llm-judge"}})
    assert "llm-judge" in [n.metadata.name for n in core.list_namespace().items]
    out = subprocess.run(
        ["kubectl", "--kubeconfig", str(kube.kubeconfig_path), "get", "namespaces", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "namespace/llm-judge" in out.stdout, out.stderr
