"""``migrate copy --follow`` with a Redis Cluster on either side (issue 14 items 3 and 9): a 3-shard
ElastiCache-like cluster source with keyspace notifications, followed into one target by the CLI while
a writer sets and deletes keys on every shard, stopped with Ctrl-C (exit 0, summary), verifies with 0
differences; a single source followed into a cluster target through the ``migrate.copy`` operation
writes each change on its slot's node and verifies; one primary's subscription dropped is resubscribed
with a SCAN pass of that primary, and a FLUSHALL on one primary removes only that primary's keys from
the target; without notifications (CONFIG blocked) the cluster is followed by SCAN passes per primary."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import redisops
from redisops.cancel import CancelToken
from redisops.cli.main import app
from redisops.errors import InvalidArgument
from redisops.events import Reporter, Warn
from redisops.migrate.cluster import open_side
from redisops.migrate.copy import CopyOptions, run_copy
from redisops.migrate.follow import FollowOptions, run_follow
from redisops.migrate.verify import VerifyOptions, run_verify
from tests.harness.redis_cluster import ClusterFactory, ClusterInstance, fill_cluster
from tests.harness.redis_sources import SourceFactory, TargetFactory, fill_dataset
from tests.integration.migrate.test_follow import Following

REDISOPS = str(Path(sys.executable).parent / "redisops")
runner = CliRunner()


class Writer(threading.Thread):
    """Sets, deletes (also keys of the filled dataset), expires and grows keys until stopped, through
    ``client`` (a RedisCluster: the keys land on every shard); remembers the keys it touched."""

    def __init__(self, client: Any, dataset_key: str) -> None:
        super().__init__(daemon=True)
        self.client, self.dataset_key = client, dataset_key
        self.halt = threading.Event()
        self.ops = 0
        self.keys: set[bytes] = set()

    def run(self) -> None:
        rng = random.Random(5)
        c = self.client
        while not self.halt.is_set():
            i = rng.randrange(300)
            key = f"w:{i}"
            roll = rng.random()
            if roll < 0.4:
                c.set(key, rng.randbytes(24))
            elif roll < 0.55:
                key = f"wh:{i % 40}"
                c.hset(key, f"f{i}", i)
            elif roll < 0.75:
                c.delete(key)
                key = self.dataset_key.format(i - i % 6)
                c.delete(key)
            elif roll < 0.85:
                c.set(key, "short", px=rng.randrange(50, 400))
            else:
                key = f"wz:{i % 30}"
                c.zadd(key, {f"m{i}": i})
            self.keys.add(key.encode())
            self.ops += 1
            time.sleep(0.001)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=30)
        self.client.close()


def enable_notifications(cluster: ClusterInstance) -> None:
    """notify-keyspace-events KEA on every primary (ElastiCache: the parameter group; here CONFIG SET
    under its secret name)."""
    config = cluster.renamed.get("CONFIG", "CONFIG")
    for node in cluster.nodes:
        node.client().execute_command(config, "SET", "notify-keyspace-events", "KEA")


def nodes_of(cluster: ClusterInstance, keys: set[bytes]) -> set[int]:
    """The indexes of the primaries that hold ``keys``' slots."""
    side = open_side(cluster.endpoint)
    try:
        return {side.index_for(k) for k in keys}
    finally:
        side.close()


def cluster_keys(cluster: ClusterInstance) -> set[bytes]:
    return {k for n in cluster.nodes for k in n.client().keys("*")}


def wait_keys(source: Any, target: Any, timeout: float = 30) -> None:
    """Wait (bounded) until both key sets are the same (``source``/``target``: callables)."""
    deadline = time.monotonic() + timeout
    while source() != target() and time.monotonic() < deadline:
        time.sleep(0.1)


def make_shard_changes(cluster: ClusterInstance, tag: str) -> set[bytes]:
    """A write, a delete, a TTL change and a key that expires on every shard; returns the keys."""
    c = cluster.client()
    keys = [k for k in sorted(cluster_keys(cluster)) if k.startswith(b"mig:string:")]
    touched: set[bytes] = set()
    per_node: dict[int, list[bytes]] = {}
    side = open_side(cluster.endpoint)
    try:
        for k in keys:
            per_node.setdefault(side.index_for(k), []).append(k)
        for node in range(len(side.clients)):
            changed, deleted, ttl = per_node[node][:3]
            c.set(changed, f"changed {tag}")
            c.delete(deleted)
            c.expire(ttl, 3600)
            fresh = next(f"{tag}:{i}" for i in range(10_000) if side.index_for(f"{tag}:{i}".encode()) == node)
            c.set(fresh, "fresh")
            c.set(f"gone-{fresh}", "x", px=100)  # expires on the source: must not stay on the target
            touched |= {changed, deleted, ttl, fresh.encode(), f"gone-{fresh}".encode()}
    finally:
        side.close()
        c.close()
    assert len(nodes_of(cluster, touched)) == 3
    return touched


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_follows_a_cluster_source_into_one_target_until_ctrl_c_then_verifies(
    cluster_factory: ClusterFactory, target_factory: TargetFactory, tmp_path: Path
) -> None:
    cluster = cluster_factory(shards=3, elasticache=True)
    enable_notifications(cluster)
    written = fill_cluster(cluster, keys=600, big_key_elements=800)
    tgt = target_factory()
    args = ["--source-url", f"redis://127.0.0.1:{cluster.endpoint.port}",
            "--url", f"redis://127.0.0.1:{tgt.endpoint.port}"]  # fmt: skip
    plan = runner.invoke(app, ["migrate", "copy", *args, "--follow", "--dry-run", "-o", "json"])
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["details"]["keys"] == {"0": written}  # every shard's keys, not one's
    writer = Writer(cluster.client(), "mig:string:{:06d}")
    writer.start()
    out_file, err_file = tmp_path / "follow.out", tmp_path / "follow.err"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        proc = subprocess.Popen(
            [REDISOPS, "migrate", "copy", *args, "--follow", "--notifications", "--big-key-mb", "0.05"],
            stdout=out, stderr=err,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while "migrate copy: following" not in err_file.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, err_file.read_text()[-2000:]
                time.sleep(0.1)
            assert "3 cluster primaries" in err_file.read_text(), err_file.read_text()[-2000:]
            time.sleep(1.5)  # following while the writer writes on every shard
            expiring = "expiring:key"
            cluster.client().set(expiring, "v", px=600)  # one key expires while followed
            time.sleep(1.0)
            writer.stop()
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)  # Ctrl-C: the follow drains what is pending and reports
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    summary = out_file.read_text()
    print(f"\nwriter ops {writer.ops}\n{summary}")
    assert proc.returncode == 0, err_file.read_text()[-2000:]
    assert ", failed 0" in summary and "followed (notifications)" in summary, summary
    assert "cancelled" in summary
    assert writer.ops > 300 and nodes_of(cluster, writer.keys) == {0, 1, 2}
    assert tgt.client().get(expiring) is None
    v = runner.invoke(app, ["migrate", "verify", *args, "--round-delay", "0.2", "-o", "json"])
    assert v.exit_code == 0, v.output
    report = json.loads(v.stdout)
    assert report["total_differences"] == 0 and report["compared"] == tgt.client().dbsize(), report


@pytest.mark.slow
@pytest.mark.parametrize("notifications", [True, False], ids=["notifications", "scan"])
def test_operation_follows_a_single_source_into_a_cluster_target(
    source_factory: SourceFactory, cluster_factory: ClusterFactory, notifications: bool
) -> None:
    src = source_factory(notify="KEA" if notifications else None)
    fill_dataset(src.endpoint, keys_per_db=300, dbs=(0,), big_key_elements=600)
    cluster = cluster_factory(shards=3, elasticache=False)
    target = redisops.target(url=f"redis://127.0.0.1:{cluster.endpoint.port}")
    params = {"source_url": f"redis://127.0.0.1:{src.endpoint.port}", "follow": True,
              "notifications": notifications, "pass_interval": 0.2, "big_key_bytes": 16 * 1024}  # fmt: skip
    plan = target.plan("migrate.copy", params)
    assert not plan.blockers and plan.details["target"].endswith(str(cluster.endpoint.port))
    token = CancelToken()
    out: dict[str, Any] = {}
    writer = Writer(src.client(), "mig:string:0:{:08d}")

    def run() -> None:
        try:
            out["result"] = target.run("migrate.copy", params, cancel=token)
        except BaseException as e:  # handed to the test thread
            out["error"] = e

    follow = threading.Thread(target=run, daemon=True)
    writer.start()
    follow.start()
    time.sleep(3)
    src.client().set("expiring:key", "v", px=500)
    time.sleep(1)
    writer.stop()
    time.sleep(0.3)
    token.cancel("test done")
    follow.join(timeout=120)
    assert "error" not in out, out
    result = out["result"].to_dict()
    assert result["copy"]["failed"] == 0 and result["follow"]["complete"], result
    assert result["follow"]["mode"] == ("notifications" if notifications else "scan")
    assert result["follow"]["applied"] > 0 and result["follow"]["deleted"] > 0
    written = {k for k in writer.keys if src.client().exists(k)}
    assert len(nodes_of(cluster, written)) == 3  # the followed writes landed on every target node
    side = open_side(cluster.endpoint)
    try:
        for k in written:
            assert side.client_for(k).exists(k), k  # on the node of its slot
    finally:
        side.close()
    assert not cluster.client().exists("expiring:key")
    report = run_verify(src.endpoint, cluster.endpoint, VerifyOptions(round_delay=0.2))
    assert report.ok and report.compared == src.client().dbsize(), report.summary()


@pytest.mark.slow
def test_cluster_source_resubscribes_a_dropped_primary_and_reconciles_a_flushall_per_primary(
    cluster_factory: ClusterFactory, target_factory: TargetFactory
) -> None:
    cluster = cluster_factory(shards=3, elasticache=False)
    enable_notifications(cluster)
    fill_cluster(cluster, keys=300, big_key_types=())
    tgt = target_factory()
    ports = [n.endpoint.port for n in cluster.nodes]

    def bulk() -> Any:
        return run_copy(
            cluster.endpoint, tgt.endpoint, CopyOptions(), Reporter("migrate.copy"), CancelToken()
        )

    opts = FollowOptions(apply_interval=0.05, flush_check_seconds=0.1, report_seconds=0.2)
    f = Following(
        lambda token, reporter: run_follow(
            cluster.endpoint, tgt.endpoint, opts, reporter, token, notifications=None, bulk=bulk
        )
    )
    f.wait_phase("following")
    before = set(tgt.client().keys("*"))
    assert before == cluster_keys(cluster)
    # the pub/sub connection of the second primary is dropped; the writes go on meanwhile
    cluster.nodes[1].client().execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    changed = make_shard_changes(cluster, "drop")
    deadline = time.monotonic() + 30
    while not any(isinstance(e, Warn) and "dropped" in e.message for e in f.events):
        assert time.monotonic() < deadline, f.events.kinds()
        time.sleep(0.05)
    drops = [e.message for e in f.events if isinstance(e, Warn) and "dropped" in e.message]
    assert len(drops) == 1 and f"primary 127.0.0.1:{ports[1]}" in drops[0], drops
    # FLUSHALL on the third primary (no keyspace event): only its keys leave the target
    third = cluster.nodes[2].client()
    flushed = set(third.keys("*"))
    third.flushall()
    survivor = next(
        f"after-flush:{i}" for i in range(10_000) if nodes_of(cluster, {f"after-flush:{i}".encode()}) == {2}
    )
    cluster.client().set(survivor, "written after the flush")
    time.sleep(0.3)  # the short-TTL keys expire on the source
    wait_keys(lambda: cluster_keys(cluster), lambda: set(tgt.client().keys("*")))
    report = f.stop()
    print(f"\n{report.to_dict()}")
    assert report.mode == "notifications" and report.resyncs == 1 and report.complete
    assert len(report.flushes) == 1 and f"primary 127.0.0.1:{ports[2]}" in report.flushes[0], report.flushes
    target_keys = set(tgt.client().keys("*"))
    assert not (flushed & target_keys) and survivor.encode() in target_keys
    assert before - flushed - changed <= target_keys  # the other primaries' keys stayed
    ok = run_verify(cluster.endpoint, tgt.endpoint, VerifyOptions(round_delay=0))
    assert ok.ok and ok.compared == len(target_keys), ok.summary()


@pytest.mark.slow
def test_cluster_source_without_notifications_is_followed_by_scan_passes_per_primary(
    cluster_factory: ClusterFactory, target_factory: TargetFactory
) -> None:
    cluster = cluster_factory(shards=3, elasticache=True)  # CONFIG blocked: notifications unknown
    fill_cluster(cluster, keys=300, big_key_elements=400)
    tgt = target_factory()
    run_copy(
        cluster.endpoint, tgt.endpoint, CopyOptions(big_key_bytes=8 * 1024), Reporter("c"), CancelToken()
    )
    opts = FollowOptions(pass_interval=0.1, big_key_bytes=8 * 1024)
    f = Following(
        lambda token, reporter: run_follow(
            cluster.endpoint, tgt.endpoint, opts, reporter, token, notifications=None
        )
    )
    f.wait_phase("following")
    make_shard_changes(cluster, "scan")
    c = cluster.client()
    c.hset("big:hash", "added", "x")
    c.rpush("big:list", "tail")
    c.close()
    time.sleep(0.3)
    wait_keys(lambda: cluster_keys(cluster), lambda: set(tgt.client().keys("*")))
    report = f.stop()
    print(f"\n{report.to_dict()}")
    assert report.mode == "scan" and report.passes >= 1 and report.complete
    assert report.staleness_bound_seconds is not None and report.staleness_bound_seconds >= 0.1
    assert any("CONFIG" in n and "primary 127.0.0.1:" in n for n in report.notes), report.notes
    assert report.deleted >= 3  # a delete on each of the 3 primaries
    ok = run_verify(cluster.endpoint, tgt.endpoint, VerifyOptions(round_delay=0))
    assert ok.ok and ok.compared == tgt.client().dbsize(), ok.summary()


def test_follow_refuses_databases_a_cluster_does_not_have(
    source_factory: SourceFactory, cluster_factory: ClusterFactory
) -> None:
    """Cluster mode has only db 0: other databases on either side are refused before any copy."""
    cluster = cluster_factory(shards=3, elasticache=False)
    src = source_factory(notify="KEA")
    src.client(1).set("in-db-1", "x")

    def follow(source: Any, target: Any, opts: FollowOptions) -> None:
        bulk_ran: list[bool] = []
        with pytest.raises(InvalidArgument, match=r"only db 0") as e:
            run_follow(source, target, opts, Reporter("f"), CancelToken(), notifications=True,
                       bulk=lambda: bulk_ran.append(True))  # fmt: skip
        assert not bulk_ran and e.value.hint

    follow(src.endpoint, cluster.endpoint, FollowOptions(dbs=[1]))
    follow(cluster.endpoint, src.endpoint, FollowOptions(dbs=[0, 2]))
    follow(src.endpoint, cluster.endpoint, FollowOptions())  # the source holds keys in db 1
    assert sum(cluster.node_keys()) == 0
