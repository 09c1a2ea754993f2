"""The pure health rules on literal inputs: every check's ok / warn / crit / unknown boundaries, the
report's status and exit code, threshold overrides and the platform graders."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from redisops.config import config_from_mapping
from redisops.errors import ConfigError
from redisops.health import (
    CHECKS,
    HealthInputs,
    HealthReport,
    NoPlatform,
    PlatformProbe,
    Status,
    Thresholds,
    backup_age_check,
    container_memory_limit,
    evaluate,
    pod_check,
    pvc_check,
    service_check,
)
from redisops.health.model import CheckResult
from redisops.inspect import SlowlogEntry, parse_info

NOW = 1_800_000_000.0
MiB = 1024 * 1024

BASE: dict[str, dict[str, Any]] = {
    "server": {
        "redis_version": "7.0.15",
        "run_id": "a" * 40,
        "uptime_in_seconds": 86400,
        "server_time_usec": int(NOW * 1e6),
    },
    "clients": {"connected_clients": 10, "maxclients": 100, "blocked_clients": 0},
    "memory": {
        "used_memory": 100 * MiB,
        "used_memory_rss": 110 * MiB,
        "maxmemory": 200 * MiB,
        "maxmemory_policy": "noeviction",
        "mem_fragmentation_ratio": 1.1,
        "mem_fragmentation_bytes": 10 * MiB,
    },
    "persistence": {
        "rdb_changes_since_last_save": 0,
        "rdb_last_save_time": int(NOW) - 10,
        "rdb_last_bgsave_status": "ok",
        "rdb_last_cow_size": 0,
        "aof_enabled": 1,
        "aof_last_bgrewrite_status": "ok",
        "aof_last_write_status": "ok",
    },
    "stats": {
        "total_commands_processed": 1000,
        "keyspace_hits": 990,
        "keyspace_misses": 10,
        "evicted_keys": 0,
        "rejected_connections": 0,
        "latest_fork_usec": 0,
    },
    "replication": {"role": "master", "connected_slaves": 0},
    "keyspace": {"db0": "keys=1000,expires=0,avg_ttl=0"},
}

CONFIG = {
    "save": "3600 1 300 100 60 10000",
    "maxmemory": str(200 * MiB),
    "maxmemory-policy": "noeviction",
    "latency-monitor-threshold": "0",
    "slowlog-log-slower-than": "10000",
}


def info(**over: Any) -> Any:
    """An Info parsed from INFO text: BASE with fields overridden by name (None removes a field)."""
    sections = {name: dict(fields) for name, fields in BASE.items()}
    for key, value in over.items():
        for fields in sections.values():
            if key in fields:
                break
        else:
            raise KeyError(key)
        if value is None:
            del fields[key]
        else:
            fields[key] = value
    text = ""
    for name, fields in sections.items():
        text += f"# {name.capitalize()}\r\n" + "".join(f"{k}:{v}\r\n" for k, v in fields.items()) + "\r\n"
    return parse_info(text)


def inputs(**kw: Any) -> HealthInputs:
    kw.setdefault("now", NOW)
    kw.setdefault("ping_ms", 0.5)
    kw.setdefault("info", info())
    kw.setdefault("config", dict(CONFIG))
    kw.setdefault("slowlog_new", [])
    return HealthInputs(**kw)


def run(name: str, t: Thresholds | None = None, **kw: Any) -> CheckResult:
    (result,) = evaluate(inputs(**kw), t, only=[name])
    assert result.name == name
    assert result.source, "every check names the source of its threshold"
    return result


# --- model --------------------------------------------------------------------------------------------


def test_status_ordering_and_report_exit_codes() -> None:
    assert Status.OK < Status.UNKNOWN < Status.WARN < Status.CRIT
    assert max([Status.WARN, Status.CRIT, Status.OK]) is Status.CRIT

    def rep(*statuses: Status) -> HealthReport:
        return HealthReport(checks=tuple(CheckResult(f"c{i}", s) for i, s in enumerate(statuses)))

    assert rep().exit_code() == 0 and rep().overall is Status.OK
    assert rep(Status.OK, Status.UNKNOWN).exit_code() == 0
    assert rep(Status.OK, Status.UNKNOWN).exit_code(strict=True) == 20
    assert rep(Status.OK, Status.WARN, Status.UNKNOWN).exit_code() == 20
    assert rep(Status.WARN, Status.CRIT).exit_code() == 21
    d = rep(Status.WARN, Status.CRIT).to_dict()
    assert d["overall"] == "crit" and d["counts"] == {"ok": 0, "unknown": 0, "warn": 1, "crit": 1}
    assert d["checks"][0]["status"] == "warn"


def test_thresholds_from_mapping_and_yaml() -> None:
    t = Thresholds.from_mapping({"memory_warn_ratio": "0.7", "hit_ratio_min_lookups": 5})
    assert t.memory_warn_ratio == 0.7 and t.hit_ratio_min_lookups == 5
    assert Thresholds.from_yaml("thresholds:\n  restart_warn_s: 0\n").restart_warn_s == 0
    assert Thresholds.from_yaml("memory_cache_exempt: no\n").memory_cache_exempt is False
    assert Thresholds.from_yaml("").to_dict() == Thresholds().to_dict()
    with pytest.raises(ConfigError, match="unknown health threshold"):
        Thresholds.from_mapping({"memroy_warn_ratio": 0.5})
    with pytest.raises(ConfigError, match="must be a number"):
        Thresholds.from_mapping({"memory_warn_ratio": "lots"})
    with pytest.raises(ConfigError, match="negative"):
        Thresholds.from_mapping({"ping_warn_ms": -1})
    with pytest.raises(ConfigError, match="mapping"):
        Thresholds.from_yaml("- a\n- b\n")


def test_defaults_follow_the_reference() -> None:
    t = Thresholds()
    assert (t.restart_warn_s, t.memory_warn_ratio, t.memory_crit_ratio) == (3600, 0.85, 0.90)
    assert (t.fragmentation_warn_ratio, t.hit_ratio_warn, t.clients_crit_ratio) == (1.5, 0.9, 0.9)
    assert (t.rejected_crit_per_min, t.fork_poor_gbps, t.fork_terrible_gbps) == (5, 25, 10)
    assert (t.backup_warn_s, t.backup_crit_s) == (24 * 3600, 48 * 3600)
    assert (t.pvc_used_warn_ratio, t.pvc_free_crit_ratio, t.eviction_rate_ratio_warn) == (0.85, 0.03, 0.1)


def test_all_ok_on_a_healthy_snapshot() -> None:
    cfg = config_from_mapping(
        {
            "resources": {"limits": {"memory": "1Gi", "cpu": "1"}},
            "config": {
                "maxmemory": f"{200 * MiB}",
                "maxmemory_policy": "noeviction",
                "save": "3600 1 300 100 60 10000",
            },
        }
    )
    results = evaluate(inputs(deployment=cfg, deployment_reason=None))
    assert [r.name for r in results] == [c.name for c in CHECKS]
    bad = [(r.name, r.status, r.reason) for r in results if r.status is not Status.OK]
    assert bad == []  # settings absent from the live CONFIG (appendonly ...) are not drift


# --- each check ---------------------------------------------------------------------------------------


def test_ping() -> None:
    assert run("ping").status is Status.OK
    assert run("ping", ping_ms=50.0).status is Status.OK
    assert run("ping", ping_ms=50.1).status is Status.WARN
    assert run("ping", ping_ms=500.1).status is Status.CRIT
    down = run("ping", ping_ms=None, ping_error="connection refused")
    assert down.status is Status.CRIT and down.reason == "connection refused"
    assert run("ping", Thresholds(ping_warn_ms=0.1), ping_ms=0.5).status is Status.WARN
    misconf = run(
        "ping", ping_ms=0.3, ping_error="MISCONF Redis is configured to save RDB snapshots, but ..."
    )
    assert misconf.status is Status.CRIT and "RDB save failed" in misconf.hint
    # the server answered: the other checks still run
    results = {r.name: r.status for r in evaluate(inputs(ping_ms=0.3, ping_error="MISCONF ..."))}
    assert results["memory"] is Status.OK


def test_unreachable_server_makes_server_checks_unknown() -> None:
    results = evaluate(inputs(ping_ms=None, ping_error="refused", info=None, config=None, slowlog_new=None))
    statuses = {r.name: r for r in results}
    assert statuses["ping"].status is Status.CRIT
    for name in ("memory", "save_age", "slow_commands", "config_drift"):
        assert statuses[name].status is Status.UNKNOWN
        assert "not reachable" in (statuses[name].reason or "") or name == "config_drift"


def test_uptime() -> None:
    assert run("uptime", info=info(uptime_in_seconds=3600)).status is Status.OK
    assert run("uptime", info=info(uptime_in_seconds=3599)).status is Status.WARN
    assert run("uptime", Thresholds(restart_warn_s=0), info=info(uptime_in_seconds=0)).status is Status.OK
    assert run("uptime", info=info(uptime_in_seconds=None)).status is Status.UNKNOWN


@pytest.mark.parametrize(
    ("used_mib", "policy", "expected"),
    [
        (170, "noeviction", Status.OK),  # 0.85 exactly
        (171, "noeviction", Status.WARN),
        (180, "noeviction", Status.WARN),  # 0.90 exactly
        (181, "noeviction", Status.CRIT),
        (181, "volatile-lru", Status.CRIT),
        (199, "allkeys-lru", Status.OK),  # caches with eviction may run at 1.0
        (200, "allkeys-lfu", Status.OK),
    ],
)
def test_memory(used_mib: int, policy: str, expected: Status) -> None:
    r = run("memory", info=info(used_memory=used_mib * MiB, maxmemory_policy=policy))
    assert r.status is expected
    assert r.threshold is not None and "0.85" in r.threshold


def test_memory_cache_exemption_can_be_turned_off_and_unknowns() -> None:
    t = Thresholds(memory_cache_exempt=False)
    assert (
        run("memory", t, info=info(used_memory=199 * MiB, maxmemory_policy="allkeys-lru")).status
        is Status.CRIT
    )
    assert run("memory", info=info(maxmemory=0)).status is Status.OK
    assert run("memory", info=info(used_memory=None)).status is Status.UNKNOWN
    r = run("memory", info=None, info_reason="INFO refused: no permission")
    assert r.status is Status.UNKNOWN and "no permission" in (r.reason or "")


def test_maxmemory_set() -> None:
    assert run("maxmemory").status is Status.OK
    assert run("maxmemory", info=info(maxmemory=0)).status is Status.WARN
    assert run("maxmemory", info=info(maxmemory=None), config={"maxmemory": "0"}).status is Status.WARN
    assert (
        run("maxmemory", info=info(maxmemory=None), config=None, config_reason="x").status is Status.UNKNOWN
    )


def _cfg(limit: str, maxmemory: str = "100mb", save: str = "3600 1") -> Any:
    return config_from_mapping(
        {
            "resources": {
                "limits": {"memory": limit, "cpu": "1"},
                "requests": {"memory": "1Mi", "cpu": "100m"},
            },
            "config": {"maxmemory": maxmemory, "save": save},
        }
    )


def test_fork_headroom() -> None:
    # default: used 100 MiB, rss 110 MiB, maxmemory 200 MiB, AOF on
    ok = run("fork_headroom", deployment=_cfg("1Gi"), info=info(maxmemory=400 * MiB))
    assert ok.status is Status.OK  # 400 MiB is not more than half of 1 GiB
    assert container_memory_limit(_cfg("1Gi")) == 1024 * MiB
    warn = run("fork_headroom", deployment=_cfg("1Gi"), info=info(maxmemory=513 * MiB))
    assert warn.status is Status.WARN
    # rss 110 + fork copy 100 = 210 MiB > 200 MiB limit
    crit = run("fork_headroom", deployment=_cfg("200Mi"))
    assert crit.status is Status.CRIT and crit.value["fork_estimate"] == 100 * MiB
    assert run("fork_headroom", deployment=_cfg("210Mi"), info=info(maxmemory=100 * MiB)).status is Status.OK
    # persistence off: no save points (live CONFIG) and no AOF
    off = run(
        "fork_headroom", deployment=_cfg("200Mi", save=""), info=info(aof_enabled=0), config={"save": ""}
    )
    assert off.status is Status.OK
    # the cow estimate can be lowered (e.g. a read-mostly cache)
    assert (
        run("fork_headroom", Thresholds(fork_cow_fraction=0.5), deployment=_cfg("200Mi")).status
        is Status.WARN
    )
    unknown = run("fork_headroom")
    assert unknown.status is Status.UNKNOWN and "no deployment config" in (unknown.reason or "")


def test_fragmentation() -> None:
    big = {"used_memory": 100 * MiB}
    assert run("fragmentation", info=info(**big, mem_fragmentation_ratio=1.5)).status is Status.OK
    r = run("fragmentation", info=info(**big, mem_fragmentation_ratio=1.51, mem_fragmentation_bytes=51 * MiB))
    assert r.status is Status.WARN
    # high ratio but few bytes (MEMORY DOCTOR's 10 MB rule)
    low = run("fragmentation", info=info(**big, mem_fragmentation_ratio=1.6, mem_fragmentation_bytes=9 * MiB))
    assert low.status is Status.OK
    assert run("fragmentation", info=info(**big, mem_fragmentation_ratio=0.9)).status is Status.WARN  # swap
    tiny = run("fragmentation", info=info(used_memory=MiB, mem_fragmentation_ratio=9.0))
    assert tiny.status is Status.OK and "means nothing" in tiny.hint
    assert run("fragmentation", info=info(mem_fragmentation_ratio=None)).status is Status.UNKNOWN
    assert (
        run(
            "fragmentation",
            Thresholds(fragmentation_warn_ratio=1.05),
            info=info(**big, mem_fragmentation_ratio=1.2, mem_fragmentation_bytes=20 * MiB),
        ).status
        is Status.WARN
    )


def test_evictions_single_sample_and_rates() -> None:
    assert run("evictions").status is Status.OK
    # non-cache policy: any eviction warns
    r = run("evictions", info=info(evicted_keys=1, maxmemory_policy="volatile-lru"))
    assert r.status is Status.WARN and r.value["measured"].startswith("since start")
    # cache: since start 86400 s -> 100 evictions/s over 1000 keys = 0.1 -> not above
    cache = {"maxmemory_policy": "allkeys-lru"}
    assert run("evictions", info=info(evicted_keys=8_640_000, **cache)).status is Status.OK
    assert run("evictions", info=info(evicted_keys=8_640_000 + 86400, **cache)).status is Status.WARN
    # with a previous sample: the rate over the interval
    prev = info(evicted_keys=500, **cache)
    now_ok = info(evicted_keys=600, **cache)  # 100 in 10 s = 10/s over 1000 keys = 0.01
    assert run("evictions", info=now_ok, previous_info=prev, elapsed_s=10.0).status is Status.OK
    now_bad = info(evicted_keys=5600, **cache)  # 510/s -> 0.51
    assert run("evictions", info=now_bad, previous_info=prev, elapsed_s=10.0).status is Status.WARN
    # non-cache with no evictions in the interval: ok even if some happened before
    prev_nc = info(evicted_keys=5)
    assert (
        run("evictions", info=info(evicted_keys=5), previous_info=prev_nc, elapsed_s=5.0).status is Status.OK
    )
    assert run("evictions", info=info(evicted_keys=None)).status is Status.UNKNOWN


def test_hit_ratio() -> None:
    assert run("hit_ratio", info=info(keyspace_hits=90, keyspace_misses=10)).status is Status.OK  # 0.9
    assert run("hit_ratio", info=info(keyspace_hits=89, keyspace_misses=11)).status is Status.WARN
    few = run("hit_ratio", info=info(keyspace_hits=0, keyspace_misses=99))
    assert few.status is Status.OK and "too few" in (few.reason or "")
    # over the interval: 100 new lookups all misses
    prev = info(keyspace_hits=10_000, keyspace_misses=0)
    r = run(
        "hit_ratio", info=info(keyspace_hits=10_000, keyspace_misses=100), previous_info=prev, elapsed_s=1.0
    )
    assert r.status is Status.WARN and r.value == 0.0
    assert run("hit_ratio", info=info(keyspace_hits=None)).status is Status.UNKNOWN


def test_clients() -> None:
    assert run("clients", info=info(connected_clients=90)).status is Status.OK  # 0.9 exactly
    assert run("clients", info=info(connected_clients=91)).status is Status.CRIT
    assert (
        run("clients", Thresholds(clients_warn_ratio=0.5), info=info(connected_clients=60)).status
        is Status.WARN
    )
    assert run("clients", info=info(maxclients=None)).status is Status.UNKNOWN


def test_rejected_connections() -> None:
    assert run("rejected_connections").status is Status.OK
    one_shot = run("rejected_connections", info=info(rejected_connections=3))
    assert one_shot.status is Status.WARN  # no previous sample: counted since start, never crit
    prev = info(rejected_connections=3)
    # 5 in 60 s = 5/min: not above
    r = run("rejected_connections", info=info(rejected_connections=8), previous_info=prev, elapsed_s=60.0)
    assert r.status is Status.WARN
    r = run("rejected_connections", info=info(rejected_connections=9), previous_info=prev, elapsed_s=60.0)
    assert r.status is Status.CRIT
    r = run("rejected_connections", info=info(rejected_connections=3), previous_info=prev, elapsed_s=60.0)
    assert r.status is Status.OK
    # a restart in between: no rate, counted since start
    restarted = info(rejected_connections=1, run_id="b" * 40)
    assert (
        run("rejected_connections", info=restarted, previous_info=prev, elapsed_s=1.0).status is Status.WARN
    )
    assert run("rejected_connections", info=info(rejected_connections=None)).status is Status.UNKNOWN


def test_blocked_clients_is_informational() -> None:
    assert run("blocked_clients", info=info(blocked_clients=50)).status is Status.OK
    assert run("blocked_clients", info=info(blocked_clients=None)).status is Status.UNKNOWN


def test_rdb_save() -> None:
    assert run("rdb_save").status is Status.OK
    assert run("rdb_save", info=info(rdb_last_bgsave_status="err")).status is Status.CRIT
    assert run("rdb_save", info=info(rdb_last_bgsave_status=None)).status is Status.UNKNOWN


def test_save_age() -> None:
    # save points 3600 1, 300 100, 60 10000; grace 60
    def age(seconds: int, changes: int, t: Thresholds | None = None) -> Status:
        i = info(rdb_last_save_time=int(NOW) - seconds, rdb_changes_since_last_save=changes)
        return run("save_age", t, info=i).status

    assert age(360, 100) is Status.OK  # 300 + 60 grace not exceeded
    assert age(361, 100) is Status.WARN
    assert age(361, 99) is Status.OK  # not enough changes for the 300 s point
    assert age(3661, 1) is Status.WARN
    assert age(100_000, 0) is Status.OK  # nothing pending
    assert age(301, 100, Thresholds(save_grace_s=0)) is Status.WARN
    assert (
        run("save_age", config={"save": ""}, info=info(rdb_changes_since_last_save=10**6)).status is Status.OK
    )
    r = run("save_age", config=None, config_reason="CONFIG GET is not available on this server")
    assert r.status is Status.UNKNOWN and "CONFIG" in (r.reason or "")


def test_aof() -> None:
    assert run("aof").status is Status.OK
    assert run("aof", info=info(aof_last_write_status="err")).status is Status.CRIT
    assert run("aof", info=info(aof_last_bgrewrite_status="err")).status is Status.CRIT
    assert (
        run("aof", info=info(aof_last_write_status=None, aof_last_bgrewrite_status=None)).status
        is Status.UNKNOWN
    )


def test_fork_cost() -> None:
    gib = 1024**3

    def fork(used: int, usec: int) -> Status:
        return run("fork_cost", info=info(used_memory=used, latest_fork_usec=usec)).status

    assert fork(100 * MiB, 0) is Status.OK  # no fork yet
    assert fork(100 * MiB, 5_000) is Status.OK  # 5 ms: too short to matter, whatever the rate
    assert fork(25 * gib, 1_000_000) is Status.OK  # 25 GB/s: not poor
    assert fork(24 * gib, 1_000_000) is Status.WARN  # poor
    assert fork(10 * gib, 1_000_000) is Status.WARN
    assert fork(9 * gib, 1_000_000) is Status.CRIT  # terrible
    assert run("fork_cost", info=info(latest_fork_usec=None)).status is Status.UNKNOWN


def test_replication() -> None:
    assert run("replication").status is Status.OK
    replica = {"role": "slave", "connected_slaves": 0}
    base = dict(BASE["replication"])
    BASE["replication"] = {
        **replica,
        "master_host": "10.0.0.1",
        "master_port": 6379,
        "master_link_status": "down",
    }
    try:
        assert run("replication", info=info()).status is Status.CRIT
        assert run("replication", info=info(master_link_status="up")).status is Status.OK
    finally:
        BASE["replication"] = base
    assert run("replication", info=info(role=None)).status is Status.UNKNOWN


def _entry(i: int, at: float, us: int = 20_000) -> SlowlogEntry:
    return SlowlogEntry(
        id=i, started_at=int(at), duration_us=us, argv=("GET", f"user:{i}"), client_addr="1.2.3.4:5"
    )


def test_slow_commands() -> None:
    assert run("slow_commands").status is Status.OK
    recent = run("slow_commands", slowlog_new=[_entry(1, NOW - 10), _entry(2, NOW - 5, 50_000)])
    assert recent.status is Status.WARN
    assert recent.value["new_entries"] == 2 and recent.value["worst"] == "GET user:*"
    # first poll: only entries inside the window count
    assert run("slow_commands", slowlog_new=[_entry(1, NOW - 301)]).status is Status.OK
    # later polls: every entry past the watermark counts, however old
    later = run("slow_commands", slowlog_new=[_entry(1, NOW - 10_000)], slowlog_first_poll=False)
    assert later.status is Status.WARN
    assert "10 ms" in (recent.threshold or "")
    r = run("slow_commands", slowlog_new=None, slowlog_reason="SLOWLOG refused")
    assert r.status is Status.UNKNOWN


def test_latency_monitor_and_drift_need_config() -> None:
    assert run("latency_monitor").status is Status.OK
    assert run("latency_monitor", config={**CONFIG, "latency-monitor-threshold": "100"}).value == 100
    r = run("latency_monitor", config=None, config_reason="CONFIG GET is not available on this server")
    assert r.status is Status.UNKNOWN and "not available" in (r.reason or "")


def test_config_drift() -> None:
    cfg = config_from_mapping({"config": {"maxmemory": "200mb", "maxmemory_policy": "noeviction"}})
    live = {
        "maxmemory": str(200 * MiB),
        "maxmemory-policy": "noeviction",
        "save": "900 1 300 10 60 10000",
        "appendonly": "yes",
        "appendfsync": "everysec",
        "maxclients": "10000",
    }
    assert run("config_drift", config=live, deployment=cfg).status is Status.OK
    r = run("config_drift", config={**live, "maxmemory": "1000"}, deployment=cfg)
    assert r.status is Status.WARN and r.value == {"maxmemory": {"live": "1000", "config": str(200 * MiB)}}
    r = run("config_drift", config={**live, "appendonly": "no", "save": ""}, deployment=cfg)
    assert set(r.value) == {"appendonly", "save"}
    assert run("config_drift", config=live).status is Status.UNKNOWN  # no typed config
    r = run("config_drift", config=None, config_reason="refused", deployment=cfg)
    assert r.status is Status.UNKNOWN and r.reason == "CONFIG unavailable: refused"
    extra = config_from_mapping({"config": {"maxmemory": "200mb", "extra": {"hz": "20"}}})
    r = run("config_drift", config={**live, "maxmemory-policy": "allkeys-lru", "hz": "10"}, deployment=extra)
    assert r.value["hz"] == {"live": "10", "config": "20"}


def test_a_broken_check_is_unknown_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    from redisops.health import rules

    def boom(_i: HealthInputs, _t: Thresholds) -> CheckResult:
        raise RuntimeError("bug")

    spec = next(s for s in rules.CHECKS if s.name == "memory")
    broken = dataclasses.replace(spec, fn=boom)
    monkeypatch.setattr(rules, "CHECKS", tuple(broken if s is spec else s for s in rules.CHECKS))
    results = {r.name: r for r in rules.evaluate(inputs())}
    assert results["memory"].status is Status.UNKNOWN and "bug" in (results["memory"].reason or "")
    assert results["ping"].status is Status.OK


# --- platform -----------------------------------------------------------------------------------------


def test_no_platform_reports_unknown_with_reasons() -> None:
    probe: PlatformProbe = NoPlatform()
    assert isinstance(probe, PlatformProbe)
    for check in probe.pod_checks() + probe.pvc_checks() + probe.service_checks():
        assert check.status is Status.UNKNOWN and check.reason == "Kubernetes adapter not configured"
    age = probe.backup_age()
    r = backup_age_check(age.age_s, reason=age.reason)
    assert r.status is Status.UNKNOWN and r.reason == "no backup store configured"


def test_platform_graders() -> None:
    assert backup_age_check(23 * 3600).status is Status.OK
    assert backup_age_check(25 * 3600).status is Status.WARN
    assert backup_age_check(49 * 3600).status is Status.CRIT
    assert pod_check("redis-0", ready=True, restarts=0).status is Status.OK
    assert pod_check("redis-0", ready=True, restarts=1).status is Status.WARN
    assert pod_check("redis-0", ready=False, restarts=0).status is Status.CRIT
    assert (
        pod_check("redis-0", ready=True, restarts=3, last_terminated_reason="OOMKilled").status is Status.CRIT
    )
    assert (
        pod_check("redis-0", ready=False, restarts=9, waiting_reason="CrashLoopBackOff").status is Status.CRIT
    )
    assert pod_check("redis-0", ready=None, restarts=None).status is Status.UNKNOWN
    gi = 1024**3
    assert pvc_check("data", phase="Bound", used_bytes=8 * gi, capacity_bytes=10 * gi).status is Status.OK
    assert (
        pvc_check("data", phase="Bound", used_bytes=int(8.6 * gi), capacity_bytes=10 * gi).status
        is Status.WARN
    )
    assert (
        pvc_check("data", phase="Bound", used_bytes=int(9.8 * gi), capacity_bytes=10 * gi).status
        is Status.CRIT
    )
    assert pvc_check("data", phase="Pending").status is Status.CRIT
    assert pvc_check("data", phase="Bound").status is Status.OK
    assert pvc_check("data", phase=None).status is Status.UNKNOWN
    assert service_check("redis", endpoints=1).status is Status.OK
    assert service_check("redis", endpoints=0).status is Status.CRIT
    assert service_check("redis", endpoints=None).status is Status.UNKNOWN
