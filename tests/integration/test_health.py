"""Health checks against real redis-server processes: each check is provoked into warn/crit.

Fragmentation is provoked by filling then deleting most small keys; fork cost (graded with thresholds
set around a real fork's measured speed) and aof_last_write_status (a real ENOSPC on a full tmpfs) are
provoked in tests/integration/test_health_provoked.py; backup age and drills in test_health_probes.py.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from redisops.adapters.local import free_port
from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.config import config_from_mapping
from redisops.errors import AuthError
from redisops.health import HealthReport, Status, Thresholds
from redisops.inspect import SlowlogEntry
from redisops.ops.health import HealthPoller, run_health
from redisops.ops.inspect import (
    SlowlogPoller,
    analyze_keys,
    fetch_clients,
    fetch_config,
    fetch_latency,
    fetch_memory,
    sample_rates,
)

NO_RESTART = Thresholds(restart_warn_s=0)


def status(report: HealthReport, name: str) -> Status:
    return report.get(name).status


def wait_for(cond: Callable[[], bool], timeout: float = 3.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def fill(client: Any, until: Callable[[], bool], value: bytes = b"x" * 1000, prefix: str = "fill") -> int:
    """Write keys in small pipelined batches until ``until()``."""
    n = 0
    while not until():
        pipe = client.pipeline(transaction=False)
        for _ in range(20):
            pipe.set(f"{prefix}:{n}", value)
            n += 1
        pipe.execute()
    return n


def test_production_config_is_healthy_apart_from_unknown_platform(redis_factory: Any) -> None:
    inst = redis_factory()
    report = run_health(inst.endpoint, inst.config, NO_RESTART)
    not_ok = {c.name: c.status for c in report.checks if c.status is not Status.OK}
    assert not_ok == {n: Status.UNKNOWN for n in ("pod", "pvc", "service", "backup_age", "drill")}
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 20
    assert report.get("pod").reason == "Kubernetes adapter not configured"
    assert report.get("backup_age").reason == "no backup store configured"
    assert report.get("drill").reason == "no backup store configured"
    assert status(run_health(inst.endpoint, inst.config), "uptime") is Status.WARN  # recent restart


@pytest.mark.parametrize(("policy", "expected"), [("noeviction", Status.CRIT), ("allkeys-lru", Status.OK)])
def test_memory_over_90_percent(redis_factory: Any, policy: str, expected: Status) -> None:
    inst = redis_factory({"config": {"maxmemory": "4mb", "maxmemory_policy": policy, "appendonly": False}})
    c = inst.client()
    used = lambda: c.info("memory")["used_memory"] / (4 * 1024 * 1024)  # noqa: E731
    fill(c, lambda: used() > 0.86)
    warn = run_health(inst.endpoint, inst.config, NO_RESTART).get("memory")
    assert warn.status is (Status.WARN if policy == "noeviction" else Status.OK)
    fill(c, lambda: used() > 0.91, prefix="more")
    report = run_health(inst.endpoint, inst.config, NO_RESTART)
    assert status(report, "memory") is expected
    assert report.get("memory").value > 0.9
    assert report.get("memory").source.startswith("Sysdig")


def test_maxmemory_unset_warns(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"maxmemory": "0", "appendonly": False}})
    report = run_health(inst.endpoint, inst.config, NO_RESTART)
    assert status(report, "maxmemory") is Status.WARN
    assert status(report, "fork_headroom") is Status.WARN  # unset maxmemory with RDB save points


def test_fork_headroom_against_the_container_limit(redis_factory: Any) -> None:
    tight = {
        "resources": {"limits": {"memory": "64Mi", "cpu": "1"}, "requests": {"memory": "1Mi", "cpu": "100m"}},
        "config": {"maxmemory": "40mb"},
    }
    inst = redis_factory(tight)
    assert status(run_health(inst.endpoint, inst.config, NO_RESTART), "fork_headroom") is Status.WARN
    tiny = {**tight, "resources": {**tight["resources"], "limits": {"memory": "4Mi", "cpu": "1"}}}
    crit = run_health(inst.endpoint, config_from_mapping(tiny), NO_RESTART).get("fork_headroom")
    assert crit.status is Status.CRIT and crit.value["limit"] == 4 * 1024 * 1024


def test_evictions_cache_and_non_cache(redis_factory: Any) -> None:
    cache = redis_factory(
        {"config": {"maxmemory": "2mb", "maxmemory_policy": "allkeys-lru", "appendonly": False}}
    )
    c = cache.client()
    fill(c, lambda: c.info("stats")["evicted_keys"] > 200)
    r = run_health(cache.endpoint, cache.config, NO_RESTART).get("evictions")
    assert r.status is Status.WARN and r.value["evicted_keys"] > 200

    volatile = redis_factory(
        {"config": {"maxmemory": "2mb", "maxmemory_policy": "volatile-lru", "appendonly": False}}, name="vol"
    )
    v = volatile.client()
    for i in range(3000):
        v.set(f"ttl:{i}", b"y" * 1000, ex=3600)
        if i % 100 == 0 and v.info("stats")["evicted_keys"]:
            break
    r = run_health(volatile.endpoint, volatile.config, NO_RESTART).get("evictions")
    assert r.status is Status.WARN and "volatile-lru" in r.hint


def test_hit_ratio_low(redis_server: Any) -> None:
    c = redis_server.client()
    c.set("present", "1")
    pipe = c.pipeline(transaction=False)
    for i in range(150):
        pipe.get("present" if i % 2 else f"absent:{i}")
    pipe.execute()
    r = run_health(redis_server.endpoint, redis_server.config, NO_RESTART).get("hit_ratio")
    assert r.status is Status.WARN and 0.4 < r.value < 0.6


def _socket(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"PING\r\n")
    s.recv(100)
    return s


def _refused(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        return s.recv(200)


def test_maxclients_exceeded(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"maxclients": 4, "appendonly": False}})
    socks: list[socket.socket] = []
    try:
        with HealthPoller(inst.endpoint, inst.config, NO_RESTART, ping_count=1) as poller:
            first = poller.poll()  # its connection is one of the 4
            assert status(first, "clients") is Status.OK
            socks += [_socket(inst.endpoint.port) for _ in range(3)]
            replies = [_refused(inst.endpoint.port) for _ in range(2)]
            assert all(b"max number of clients" in r for r in replies)
            one_shot = run_health(inst.endpoint, inst.config, NO_RESTART, client=poller.client)
            assert status(one_shot, "clients") is Status.CRIT
            rejected = one_shot.get("rejected_connections")
            assert rejected.status is Status.WARN and rejected.value["rejected_connections"] == 2
            polled = poller.poll()  # 2 rejections within a second of the previous poll: > 5/min
            assert status(polled, "rejected_connections") is Status.CRIT
            assert polled.get("rejected_connections").value["per_min"] > 5
    finally:
        for s in socks:
            s.close()


def test_persistence_broken_rdb_aof_and_save_age(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"save": "1 1", "appendonly": True}})
    c = inst.client()
    shutil.rmtree(inst.data_dir)
    c.set("k", "v")
    c.bgsave()
    wait_for(lambda: c.info("persistence")["rdb_last_bgsave_status"] == "err")
    with contextlib.suppress(redis.ResponseError):  # refused at once, or scheduled after the BGSAVE
        c.bgrewriteaof()
    wait_for(lambda: c.info("persistence")["aof_last_bgrewrite_status"] == "err")
    t = Thresholds(restart_warn_s=0, save_grace_s=0)
    report = run_health(inst.endpoint, inst.config, t)
    assert status(report, "rdb_save") is Status.CRIT
    assert status(report, "aof") is Status.CRIT
    ping = report.get("ping")  # Redis refuses PING like a write while saves fail
    assert ping.status is Status.CRIT and "MISCONF" in (ping.reason or "")
    assert report.exit_code() == 21
    wait_for(lambda: status(run_health(inst.endpoint, inst.config, t), "save_age") is Status.WARN, timeout=4)
    c.shutdown(nosave=True)  # a SIGTERM would try to save into the missing dir and hang until killed


def test_slow_command_then_watermark(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": False}}, extra={"enable-debug-command": "yes"})
    with HealthPoller(inst.endpoint, inst.config, NO_RESTART) as poller:
        assert status(poller.poll(), "slow_commands") is Status.OK
        inst.client().execute_command("DEBUG", "SLEEP", "0.03")
        slow = poller.poll().get("slow_commands")
        assert slow.status is Status.WARN and slow.value["worst"] == "DEBUG SLEEP"
        assert status(poller.poll(), "slow_commands") is Status.OK  # already seen: watermark


def test_ping_latency_while_the_server_is_blocked(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": False}}, extra={"enable-debug-command": "yes"})
    blocker = inst.client()
    for t, expected in (
        (Thresholds(ping_warn_ms=50, ping_crit_ms=5000), Status.WARN),
        (Thresholds(ping_crit_ms=100), Status.CRIT),
    ):
        th = threading.Thread(target=blocker.execute_command, args=("DEBUG", "SLEEP", "0.3"))
        th.start()
        time.sleep(0.05)
        r = run_health(inst.endpoint, inst.config, t, ping_count=1).get("ping")
        th.join()
        assert r.status is expected and r.value > 100


def test_down_is_crit_and_everything_else_says_why(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": False}})
    inst.process.stop()
    report = run_health(inst.endpoint, inst.config)
    assert status(report, "ping") is Status.CRIT and report.exit_code() == 21
    assert "cannot reach" in (report.get("ping").reason or "")
    assert status(report, "memory") is Status.UNKNOWN
    assert "not reachable" in (report.get("memory").reason or "")


def test_replica_with_master_link_down(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": False}}, extra={"replicaof": f"127.0.0.1 {free_port()}"})
    r = run_health(inst.endpoint, inst.config, NO_RESTART).get("replication")
    assert r.status is Status.CRIT and r.value["master_link_status"] == "down"


def test_fragmentation_after_mass_delete(redis_factory: Any) -> None:
    inst = redis_factory(
        {"config": {"maxmemory": "0", "appendonly": False, "save": ""}}, extra={"enable-debug-command": "yes"}
    )
    c = inst.client()
    c.execute_command("DEBUG", "POPULATE", 200_000, "frag", 100)
    # keep one key in ten: jemalloc cannot give back pages that still hold a live key
    c.eval("for i = 0, 199999 do if i % 10 ~= 0 then redis.call('DEL', 'frag:' .. i) end end", 0)

    def fragmented() -> bool:
        return status(run_health(inst.endpoint, inst.config, NO_RESTART), "fragmentation") is Status.WARN

    wait_for(fragmented, timeout=3, step=0.2)
    r = run_health(inst.endpoint, inst.config, NO_RESTART).get("fragmentation")
    assert r.value > 1.5


def test_config_drift_after_config_set(redis_server: Any) -> None:
    assert status(run_health(redis_server.endpoint, redis_server.config), "config_drift") is Status.OK
    redis_server.client().config_set("maxmemory", "100mb")
    r = run_health(redis_server.endpoint, redis_server.config).get("config_drift")
    assert r.status is Status.WARN and set(r.value) == {"maxmemory"}
    assert r.value["maxmemory"]["live"] == str(100 * 1024 * 1024)


def test_elasticache_like_config_checks_unknown_with_reason(elasticache_like: Any) -> None:
    report = run_health(elasticache_like.endpoint, elasticache_like.config, NO_RESTART)
    for name in ("config_drift", "latency_monitor", "save_age"):
        check = report.get(name)
        assert check.status is Status.UNKNOWN, name
        assert "not available on this server" in (check.reason or ""), check.reason
    for name in ("ping", "memory", "clients", "rdb_save", "aof", "slow_commands", "evictions"):
        assert status(report, name) is Status.OK, name
    assert fetch_config(elasticache_like.endpoint)[0] is None


def test_acl_user_without_info_or_config_rights(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": False}})
    inst.client().execute_command(
        "ACL", "SETUSER", "limited", "on", ">lim-pw", "~*", "+@all", "-info", "-config"
    )
    ep = RedisEndpoint(port=inst.endpoint.port, username="limited", password="lim-pw")
    report = run_health(ep, inst.config, NO_RESTART)
    assert status(report, "ping") is Status.OK
    assert status(report, "slow_commands") is Status.OK
    mem = report.get("memory")
    assert mem.status is Status.UNKNOWN and "no permission" in (mem.reason or "")
    assert "no permission" in (report.get("config_drift").reason or "")
    assert "lim-pw" not in str(report.to_dict())


def test_password_server_and_wrong_password(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": False}}, password="pw-s3cret-9")
    report = run_health(inst.endpoint, inst.config, NO_RESTART)
    assert status(report, "ping") is Status.OK
    # refused credentials are the caller's mistake, not a health finding: one AuthError (exit 5)
    with pytest.raises(AuthError) as refused:
        run_health(RedisEndpoint(port=inst.endpoint.port, password="wrong-pw-77"), inst.config)
    text = str(refused.value.to_dict()) + str(report.to_dict())
    assert "pw-s3cret-9" not in text and "wrong-pw-77" not in text
    assert "authentication" in refused.value.message.lower() and refused.value.exit_code == 5


# --- ops.inspect --------------------------------------------------------------------------------------


def test_slowlog_poller_keeps_history_past_the_ring(redis_factory: Any) -> None:
    inst = redis_factory(
        {"config": {"appendonly": False, "slowlog_max_len": 4, "slowlog_log_slower_than": 0}}
    )
    c = inst.client()
    with SlowlogPoller(inst.endpoint, n=128) as poller:
        poller.poll()
        for i in range(3):
            c.get(f"user:{i}")
        first = poller.poll()
        assert [e.argv[:2] for e in first.entries if e.command == "GET"] == [
            ("GET", f"user:{i}") for i in range(3)
        ]
        for i in range(10):
            c.get(f"user:{i}")
        second = poller.poll()
        assert second.missed > 0  # the ring of 4 rotated; the gap is counted
        assert all(isinstance(e, SlowlogEntry) for e in poller.history)
        assert len(poller.history) > 4


def test_analyze_keys_throttled_sampled_and_resumable(redis_server: Any) -> None:
    c = redis_server.client()
    pipe = c.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"user:{i}:name", "x" * (i + 1))
    for i in range(20):
        pipe.hset(f"session:{i}", mapping={f"f{j}": "v" for j in range(i + 1)})
    pipe.rpush("queue:big", *range(500))
    pipe.execute()
    slept: list[float] = []
    clock_t = [0.0]
    result = analyze_keys(
        redis_server.endpoint,
        count=50,
        top=3,
        max_ops_per_sec=100,
        sleep=lambda s: slept.append(s) or clock_t.__setitem__(0, clock_t[0] + s),
        clock=lambda: clock_t[0],
    )
    assert result.done and result.cursor == 0 and result.scanned >= 321
    assert result.types["string"].keys == 300 and result.types["hash"].keys == 20
    assert len(result.top["string"]) == 3 and all(s.length and s.length > 250 for s in result.top["string"])
    assert result.top["hash"][0].key.startswith("session:") and result.top["list"][0].length == 500
    assert {p.prefix for p in result.prefixes} == {"user:*", "session:*", "queue:*"}
    assert sum(slept) == pytest.approx(result.ops / 100, rel=0.05)  # throttled to 100 ops/s

    part = analyze_keys(redis_server.endpoint, count=50, max_keys=100, max_ops_per_sec=0)
    assert not part.done and part.cursor != 0
    rest = analyze_keys(redis_server.endpoint, count=50, previous=part, max_ops_per_sec=0)
    assert rest.done and rest.scanned >= 321
    assert rest.types["string"].keys >= 300

    sampled = analyze_keys(redis_server.endpoint, sample=0.5, max_ops_per_sec=0, prefix_depth=2)
    assert 0 < sampled.examined < sampled.scanned and sampled.scale == 2.0
    assert any(p.prefix == "user:*:*" for p in sampled.prefixes)


def test_rates_latency_memory_clients(redis_server: Any) -> None:
    c = redis_server.client()
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        for i in range(100):
            c.set(f"k{i}", i)

    rates = sample_rates(redis_server.endpoint, 0.5, sleep=sleep)
    assert slept == [0.5] and rates.valid
    assert rates.commands["set"].calls == 100 and rates.ops_per_sec and rates.ops_per_sec > 0
    lat = fetch_latency(redis_server.endpoint)
    assert lat.doctor and lat.events == []
    mem = fetch_memory(redis_server.endpoint)
    assert mem.info and mem.info.used_memory and mem.stats and mem.doctor
    clients = fetch_clients(redis_server.endpoint)
    assert any(cl.cmd == "client|list" for cl in clients)


def test_memory_degrades_on_elasticache_like(elasticache_like: Any) -> None:
    mem = fetch_memory(elasticache_like.endpoint)
    assert mem.info is not None and mem.stats is not None
    ep = elasticache_like.endpoint
    assert connect(ep).ping()
