"""Sources that outgrew one node (issue 14 item 9): a 3-shard ElastiCache-like Redis Cluster source with
keys in every slot range is copied shard by shard into one target and verifies with 0 mismatches (CLI,
-o json); a single source copies into a Redis Cluster target and verifies, and verify names what was
changed behind its back on the cluster's nodes; the plan sums every shard's memory and refuses a target
that holds one shard's data but not all of it; following is in test_follow_cluster.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.cancel import CancelToken
from redisops.cli.main import app
from redisops.errors import InvalidArgument
from redisops.events import Reporter
from redisops.migrate.cluster import merged_info, open_side, slot_of
from redisops.migrate.copy import CopyOptions, run_copy
from redisops.migrate.follow import FollowOptions, run_follow
from redisops.migrate.plan import check_blockers
from redisops.migrate.verify import VerifyOptions, run_verify
from tests.harness.redis_cluster import ClusterFactory, fill_cluster
from tests.harness.redis_sources import TargetFactory, fill_dataset

runner = CliRunner()


def _every_node_has_keys(cluster: Any) -> None:
    side = open_side(cluster.endpoint)
    try:
        assert side.clustered and len(side.clients) == 3
        for i, client in enumerate(side.clients):
            keys = client.keys("*")
            assert keys, f"node {i} holds no key"
            assert all(side.index_for(k) == i for k in keys)  # each key lives on its slot's owner
    finally:
        side.close()


def test_cluster_source_copies_shard_by_shard_and_verifies(
    cluster_factory: ClusterFactory, target_factory: TargetFactory
) -> None:
    cluster = cluster_factory(shards=3, elasticache=True)
    written = fill_cluster(cluster, keys=900, big_key_elements=1500)
    _every_node_has_keys(cluster)
    assert "CONFIG" in cluster.renamed  # blocked as on ElastiCache; CLUSTER SLOTS still answers
    tgt = target_factory()
    args = ["--source-url", f"redis://127.0.0.1:{cluster.endpoint.port}",
            "--url", f"redis://127.0.0.1:{tgt.endpoint.port}"]  # fmt: skip
    r = runner.invoke(app, ["migrate", "copy", *args, "--big-key-mb", "0.05", "-o", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert len(out["copy"]["shards"]) == 3
    assert out["copy"]["copied"] == written and out["copy"]["failed"] == 0
    assert out["copy"]["dbs"]["0"]["big_keys"] == 6
    assert tgt.client().dbsize() == written

    v = runner.invoke(app, ["migrate", "verify", *args, "--round-delay", "0", "-o", "json"])
    assert v.exit_code == 0, v.output
    report = json.loads(v.stdout)
    assert report["compared"] == written and report["total_differences"] == 0, report

    tgt.client().delete("mig:string:000000")
    tgt.client().set("mig:string:000006", b"changed")
    v = runner.invoke(app, ["migrate", "verify", *args, "--round-delay", "0", "-o", "json"])
    assert v.exit_code == 22, v.output
    names = {(e["key"], e["kind"]) for e in json.loads(v.stdout)["examples"]}
    assert names == {("mig:string:000000", "missing"), ("mig:string:000006", "value")}


def test_single_source_into_a_cluster_target_copies_and_verifies(
    cluster_factory: ClusterFactory, source_factory: Any
) -> None:
    src = source_factory()
    filled = fill_dataset(src.endpoint, keys_per_db=600, dbs=(0,), big_key_elements=1500)
    cluster = cluster_factory(shards=3, elasticache=False)
    opts = CopyOptions(big_key_bytes=64 * 1024, pipeline_depth=64)
    report = run_copy(src.endpoint, cluster.endpoint, opts, Reporter("migrate.copy"), CancelToken())
    assert report.failed == 0 and report.dbs[0].big_keys == 6
    assert report.copied + report.expired + report.vanished == filled.total
    _every_node_has_keys(cluster)
    assert sum(cluster.node_keys()) == src.client().dbsize()
    assert not any(n.client().keys("*__redisops_migrate_tmp__*") for n in cluster.nodes)

    ok = run_verify(src.endpoint, cluster.endpoint, VerifyOptions(round_delay=0))
    assert ok.ok and ok.compared == filled.total, ok.summary()

    c = cluster.client()
    c.delete(b"mig:hash:0:00000001")
    c.persist(b"big:list") if c.ttl(b"big:list") > 0 else c.expire(b"big:list", 5000)
    c.hset(b"big:hash", b"field:7", b"changed")
    c.delete(b"mig:list:0:00000002")
    c.set(b"mig:list:0:00000002", b"now a string")
    c.close()
    bad = run_verify(src.endpoint, cluster.endpoint, VerifyOptions(round_delay=0))
    found = {(d.name, d.kind) for d in bad.examples}
    assert found == {
        ("mig:hash:0:00000001", "missing"),
        ("big:list", "ttl"),
        ("big:hash", "value"),
        ("mig:list:0:00000002", "type"),
    }, bad.summary()
    assert len({slot_of(k) for k, _ in found}) == 4

    with pytest.raises(InvalidArgument, match="only db 0"):
        run_follow(src.endpoint, cluster.endpoint, FollowOptions(dbs=[1]), Reporter("f"), CancelToken(),
                   notifications=True)  # fmt: skip


def test_plan_sums_every_shard_and_refuses_a_target_too_small_for_all(
    cluster_factory: ClusterFactory, target_factory: TargetFactory
) -> None:
    cluster = cluster_factory(shards=3, elasticache=True)
    fill_cluster(cluster, keys=3000, big_key_elements=8000)
    side = open_side(cluster.endpoint)
    try:
        shard_data = [int(c.info("memory")["used_memory_dataset"]) for c in side.clients]
    finally:
        side.close()
    total = merged_info(cluster.endpoint, "memory").memory.used_memory_dataset or 0
    assert total >= sum(shard_data) - 1024 * 1024 and total > max(shard_data) * 2
    tgt = target_factory()
    used = int(tgt.client().info("memory")["used_memory"])
    tgt.client().config_set("maxmemory", used + max(shard_data) * 3 // 2)  # one shard fits, all do not
    tgt.client().config_set("maxmemory-policy", "allkeys-lru")
    found = check_blockers(cluster.endpoint, tgt.endpoint, during=False)
    assert [f.code for f in found] == ["memory.evict"], found
    assert "silently evict" in found[0].message
