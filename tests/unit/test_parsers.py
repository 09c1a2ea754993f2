"""redisops.inspect parsers against real Redis 7.0 captures (tests/fixtures/redis70) and bad input.

The captures come from scripts/capture_fixtures.py, whose docstring lists the workload the concrete
numbers below come from (105 keys in db0, 11 with a TTL, 50 hits / 7 misses, ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redisops.errors import ParseError
from redisops.inspect import (
    ClientInfo,
    Info,
    compute_rates,
    group_by_client,
    group_by_shape,
    parse_client_info,
    parse_client_list,
    parse_config_get,
    parse_info,
    parse_latency_doctor,
    parse_latency_history,
    parse_latency_latest,
    parse_memory_doctor,
    parse_memory_stats,
    parse_memory_usage,
    parse_slowlog,
    parse_slowlog_entry,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "redis70"


def raw_bytes(name: str) -> bytes:
    """A ``*.txt`` capture, byte for byte."""
    return (FIXTURES / name).read_bytes()


def raw_reply(name: str) -> Any:
    """A ``*.json`` capture decoded back to the redis-py reply (JSON strings are latin-1 bytes)."""

    def decode(value: Any) -> Any:
        if isinstance(value, str):
            return value.encode("latin-1")
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return decode(json.loads((FIXTURES / name).read_text(encoding="ascii")))


@pytest.fixture(scope="module")
def info() -> Info:
    return parse_info(raw_bytes("info_everything.txt"))


# --- INFO everything ------------------------------------------------------------------------------------


def test_info_server(info: Info) -> None:
    assert info.server.redis_version is not None and info.server.redis_version.startswith("7.0")
    assert info.server.version is not None and info.server.version[:2] == (7, 0)
    assert info.server.redis_mode == "standalone"
    assert info.server.redis_git_sha1 == "00000000"  # stays text, not int 0
    assert info.server.arch_bits == 64
    assert isinstance(info.server.uptime_in_seconds, int)
    assert info.server.io_threads_active is False
    assert info.server.os is not None and " " in info.server.os  # values may hold spaces


def test_info_all_sections_present(info: Info) -> None:
    assert list(info.sections) == [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
        "commandstats", "errorstats", "latencystats", "cluster", "keyspace",
    ]  # fmt: skip
    assert info.has_section("CPU") and info.section("Commandstats") is not None
    assert len(info.sections["modules"]) == 0 and info.modules == ()


def test_info_typed_fields(info: Info) -> None:
    assert info.clients.connected_clients == 3
    assert info.clients.maxclients == 10000
    assert info.clients.blocked_clients == 0
    assert info.memory.used_memory is not None and info.memory.used_memory > 0
    assert info.memory.used_memory_rss is not None and info.memory.used_memory_rss > 0
    assert info.memory.maxmemory == 0 and info.memory.maxmemory_ratio is None
    assert info.memory.maxmemory_policy == "noeviction"
    assert isinstance(info.memory.mem_fragmentation_ratio, float)
    assert info.persistence.loading is False
    assert info.persistence.aof_enabled is False
    assert info.persistence.rdb_bgsave_in_progress is False
    assert info.persistence.rdb_last_bgsave_status == "ok"
    assert info.persistence.aof_last_write_status == "ok"
    assert info.persistence.rdb_last_bgsave_time_sec == -1
    assert info.stats.keyspace_hits == 50
    assert info.stats.keyspace_misses == 7
    assert info.stats.hit_ratio == pytest.approx(50 / 57)
    assert info.stats.evicted_keys == 0 and info.stats.rejected_connections == 0
    assert info.stats.latest_fork_usec == 0
    assert isinstance(info.stats.instantaneous_input_kbps, float)
    assert info.replication.role == "master" and info.replication.connected_slaves == 0
    assert info.replication.master_replid2 == "0" * 40
    assert info.replication.second_repl_offset == -1
    assert isinstance(info.cpu.used_cpu_sys, float)
    assert info.cluster.cluster_enabled is False


def test_info_keyspace(info: Info) -> None:
    assert sorted(info.keyspace) == [0, 1]
    db0 = info.keyspace[0]
    assert (db0.keys, db0.expires) == (105, 11)
    assert 0 < db0.avg_ttl <= 3_600_000
    assert (info.keyspace[1].keys, info.keyspace[1].expires, info.keyspace[1].avg_ttl) == (5, 0, 0)
    assert info.total_keys == 110


def test_info_commandstats(info: Info) -> None:
    stats = info.commandstats
    assert stats["get"].calls == 57  # 50 hits + 7 misses
    assert stats["set"].calls == 108
    assert stats["rpush"].calls == 1
    assert stats["incrby"].failed_calls == 2
    assert stats["lpush"].failed_calls == 1
    assert stats["debug"].usec >= 50_000
    client_list = stats["client|list"]
    assert (client_list.command, client_list.subcommand) == ("client", "list")
    assert stats["get"].subcommand is None
    assert stats["set"].usec_per_call == pytest.approx(stats["set"].usec / 108, abs=0.01)


def test_info_errorstats_and_latencystats(info: Info) -> None:
    assert info.errorstats["WRONGTYPE"].count == 1
    assert info.errorstats["ERR"].count >= 2  # 2 INCRBY + redis-py's CLIENT SETINFO (unknown in 7.0)
    debug = info.latencystats["debug"]
    assert debug.p50 is not None and debug.p50 >= 50_000
    assert debug.p999 is not None and debug.p99 is not None
    assert set(info.latencystats["client|list"].percentiles) == {"p50", "p99", "p99.9"}


def test_info_raw_fields_kept_and_loosely_typed(info: Info) -> None:
    server = info.sections["server"]
    assert server.fields["redis_git_sha1"] == "00000000"
    assert server.get("redis_git_sha1") == "00000000"
    assert server.get("arch_bits") == 64
    assert server.get("no_such_field") is None
    assert info.get("used_cpu_sys") == info.cpu.used_cpu_sys
    assert info.get("mem_allocator") == info.memory.mem_allocator
    assert info.sections["keyspace"].fields["db1"] == "keys=5,expires=0,avg_ttl=0"
    assert "cmdstat_client|list" in info.sections["commandstats"]
    # every non-blank, non-header line of the capture is somewhere in the sections
    lines = [ln for ln in raw_bytes("info_everything.txt").decode().split("\r\n") if ln and ln[0] != "#"]
    assert sum(len(s) for s in info.sections.values()) == len(lines)


def test_info_line_endings_and_input_types_agree(info: Info) -> None:
    text = raw_bytes("info_everything.txt").decode()
    assert parse_info(text) == info
    assert parse_info(text.replace("\r\n", "\n")) == info
    assert parse_info(text.encode()) == info


def test_info_replica_default_sections() -> None:
    replica = parse_info(raw_bytes("info_replica_default.txt"))
    assert not replica.has_section("commandstats") and replica.commandstats == {}
    assert not replica.has_section("latencystats") and replica.latencystats == {}
    assert replica.has_section("errorstats")  # a default section, unlike commandstats/latencystats
    assert replica.replication.role == "slave"
    assert replica.replication.master_link_status == "up"
    assert replica.replication.master_host == "127.0.0.1"
    assert isinstance(replica.replication.master_port, int)
    assert replica.replication.master_sync_in_progress is False
    assert replica.replication.slave_read_only is True
    assert replica.keyspace[0].keys == 105  # the replica synced the master's data


def test_info_master_replication_section_only() -> None:
    master = parse_info(raw_bytes("info_master_replication.txt"))
    assert list(master.sections) == ["replication"]
    assert master.server.redis_version is None  # section not requested
    assert master.replication.connected_slaves == 1
    (replica,) = master.replication.replicas
    assert (replica.index, replica.ip, replica.state) == (0, "127.0.0.1", "online")
    assert isinstance(replica.port, int) and replica.lag is not None and replica.offset >= 0


def test_info_rates_against_itself_are_zero(info: Info) -> None:
    rates = compute_rates(info, info, 5.0)
    assert rates.valid and not rates.reset and rates.reset_counters == ()
    assert rates.ops_per_sec == 0.0 and rates.hit_ratio_interval is None
    assert rates.hit_ratio_overall == pytest.approx(50 / 57)
    assert rates.commands == {}


# --- SLOWLOG --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slowlog() -> list[Any]:
    return parse_slowlog(raw_reply("slowlog_get.json"))


def test_slowlog_ring_and_order(slowlog: list[Any]) -> None:
    assert len(slowlog) == 128  # the ring (slowlog-max-len) is full
    ids = [e.id for e in slowlog]
    assert ids == sorted(ids, reverse=True) and ids[0] - ids[-1] == 127


def test_slowlog_debug_sleep(slowlog: list[Any]) -> None:
    (debug,) = [e for e in slowlog if e.command == "DEBUG"]
    assert debug.argv == ("DEBUG", "SLEEP", "0.05")
    assert debug.duration_us >= 50_000
    assert debug.full_command == "DEBUG SLEEP" and debug.shape == "DEBUG SLEEP" and debug.key is None
    assert debug.client_addr.startswith("127.0.0.1:") and debug.client_name == ""
    assert isinstance(debug.started_at, int) and debug.started_at > 1_600_000_000


def test_slowlog_abbreviations_kept(slowlog: list[Any]) -> None:
    (rpush,) = [e for e in slowlog if e.command == "RPUSH"]
    assert len(rpush.argv) == 32 and rpush.argv[-1] == "... (11 more arguments)"
    assert rpush.omitted_args == 11
    assert rpush.shape == "RPUSH queue:jobs"
    (blob,) = [e for e in slowlog if e.key == "blob:7f3a9c"]
    assert blob.argv[2].endswith("... (172 more bytes)") and blob.omitted_args == 0
    assert blob.shape == "SET blob:*"


def test_slowlog_non_utf8_and_uuid_keys(slowlog: list[Any]) -> None:
    (binary,) = [e for e in slowlog if e.argv[1:2] == ("bin:\\xff\\xfe",)]
    assert binary.argv[2] == "\x00\x01"
    (session,) = [e for e in slowlog if e.key and e.key.startswith("session:")]
    assert session.shape == "SET session:*"


def test_slowlog_named_clients(slowlog: list[Any]) -> None:
    worker = [e for e in slowlog if e.client_name == "redisops-worker-1"]
    assert sum(1 for e in worker if e.shape == "SET cache:*") == 5
    assert {e.client_name for e in slowlog} >= {"redisops-worker-1", "redisops-probe", ""}


def test_slowlog_grouping(slowlog: list[Any]) -> None:
    groups = {g.key: g for g in group_by_shape(slowlog)}
    assert groups["GET user:*"].count == 50
    assert groups["GET missing:*"].count == 7
    assert groups["INCRBY user:*"].count == 2
    top = group_by_shape(slowlog)[0]
    assert top.key == "DEBUG SLEEP" and top.max_us == top.total_us >= 50_000
    by_client = group_by_client(slowlog)
    assert sum(g.count for g in by_client) == 128
    assert by_client[0].max_us >= 50_000  # the client that ran DEBUG SLEEP spent the most time


# --- LATENCY / MEMORY / CLIENT / CONFIG -----------------------------------------------------------------


def test_latency_latest_and_history() -> None:
    (event,) = parse_latency_latest(raw_reply("latency_latest.json"))
    assert event.event == "command"
    assert event.latest_ms >= 50 and event.max_ms >= event.latest_ms
    (sample,) = parse_latency_history(raw_reply("latency_history_command.json"))
    assert sample.ms >= 50 and sample.at == event.at


def test_doctor_texts() -> None:
    latency = parse_latency_doctor(raw_bytes("latency_doctor.txt"))
    assert "1. command: 1 latency spikes" in latency
    memory = parse_memory_doctor(raw_bytes("memory_doctor.txt"))
    assert memory.startswith("Hi Sam")
    assert parse_latency_doctor("txt:" + latency) == latency  # RESP3 verbatim prefix


def test_memory_stats() -> None:
    stats = parse_memory_stats(raw_reply("memory_stats.json"))
    assert stats.keys_count == 110
    assert sorted(stats.dbs) == [0, 1]
    assert stats.dbs[0].overhead_hashtable_main is not None and stats.dbs[0].overhead_hashtable_main > 0
    assert stats.dbs[1].raw["overhead.hashtable.slot-to-keys"] == 0
    assert isinstance(stats.dataset_percentage, float) and 0 < stats.dataset_percentage <= 100
    assert isinstance(stats.fragmentation, float)
    assert isinstance(stats.allocator_fragmentation_ratio, float)
    assert stats.peak_allocated is not None and stats.startup_allocated is not None
    assert stats.raw["keys.bytes-per-key"] == stats.keys_bytes_per_key


def test_memory_stats_resp3_shape_equals_resp2() -> None:
    flat = raw_reply("memory_stats.json")
    as_map: dict[bytes, Any] = {}
    for key, value in zip(flat[::2], flat[1::2], strict=True):
        if isinstance(value, list):
            value = dict(zip(value[::2], value[1::2], strict=True))
        elif isinstance(value, bytes):
            value = float(value)  # RESP3 sends doubles as doubles
        as_map[key] = value
    assert parse_memory_stats(as_map) == parse_memory_stats(flat)


def test_memory_usage() -> None:
    assert parse_memory_usage(raw_reply("memory_usage.json")) == 88
    assert parse_memory_usage(None) is None
    assert parse_memory_usage(b"120") == 120


def test_client_list() -> None:
    clients = parse_client_list(raw_bytes("client_list.txt"))
    assert [c.name for c in clients] == ["redisops-worker-1", "redisops-probe", ""]
    worker, probe, me = clients
    assert worker.db == 1 and worker.cmd == "set" and probe.cmd == "ping"
    assert me.cmd == "client|list" and me.qbuf == 26
    assert worker.multi == -1 and worker.flags == "N" and not worker.is_replica
    assert worker.tot_mem is not None and worker.tot_mem > 0
    assert worker.raw["qbuf-free"] == str(worker.qbuf_free) and worker.raw["rbs"] == "16384"
    assert worker.host == "127.0.0.1" and worker.laddr is not None
    assert worker.user == "default" and worker.resp == 2 and worker.lib_name is None


def test_client_info_and_line_ends() -> None:
    text = raw_bytes("client_list.txt").decode()
    assert parse_client_list(text.replace("\n", "\r\n")) == parse_client_list(text)
    one = parse_client_info(text.splitlines()[0] + "\n")
    assert isinstance(one, ClientInfo) and one.id == 5
    assert parse_client_list(b"") == []
    ipv6 = parse_client_info("id=9 addr=[::1]:5000 flags=S name=r1")
    assert ipv6.host == "[::1]" and ipv6.is_replica and ipv6.fd is None


def test_config_get() -> None:
    flat = raw_reply("config_get.json")
    config = parse_config_get(flat)
    assert len(config) == len(flat) // 2 > 150
    assert config["maxmemory-policy"] == "noeviction"
    assert config["slowlog-log-slower-than"] == "0"
    assert config["latency-monitor-threshold"] == "1"
    assert config["save"] == "" and config["appendonly"] == "no"
    as_map = dict(zip(flat[::2], flat[1::2], strict=True))
    assert parse_config_get(as_map) == config
    assert parse_config_get({k.decode(): v.decode() for k, v in as_map.items()}) == config


# --- bad input: ParseError and nothing else ---------------------------------------------------------------

BAD: list[tuple[str, Any, Any]] = [
    ("info-dict", parse_info, {"redis_version": "7.0.15"}),
    ("info-none", parse_info, None),
    ("info-no-colon", parse_info, "# Server\r\nthis is not a field\r\n"),
    ("info-space-key", parse_info, "id=5 addr=127.0.0.1:6379 fd=8\n"),
    ("info-typed-int", parse_info, "# Memory\r\nused_memory:lots\r\n"),
    ("info-typed-bool", parse_info, "# Persistence\r\nloading:yes\r\n"),
    ("info-typed-float", parse_info, "# CPU\r\nused_cpu_sys:fast\r\n"),
    ("info-keyspace", parse_info, "# Keyspace\r\ndb0:expires=1\r\n"),
    ("info-keyspace-int", parse_info, "# Keyspace\r\ndb0:keys=x,expires=0\r\n"),
    ("info-cmdstat", parse_info, "# Commandstats\r\ncmdstat_get:calls=1\r\n"),
    ("info-cmdstat-noeq", parse_info, "# Commandstats\r\ncmdstat_get:calls\r\n"),
    ("info-errorstat", parse_info, "# Errorstats\r\nerrorstat_ERR:total=1\r\n"),
    ("info-latency", parse_info, "# Latencystats\r\nlatency_percentiles_usec_get:p50=slow\r\n"),
    ("info-replica", parse_info, "# Replication\r\nslave0:state=online\r\n"),
    ("info-module", parse_info, "# Modules\r\nmodule:ver=1\r\n"),
    ("info-huge-int", parse_info, "# Server\r\nuptime_in_seconds:" + "9" * 5000 + "\r\n"),
    ("slowlog-not-list", parse_slowlog, b"1) 2)"),
    ("slowlog-short", parse_slowlog, [[1, 2, 3]]),
    ("slowlog-id", parse_slowlog, [[b"x", 2, 3, [b"GET"], b"", b""]]),
    ("slowlog-argv", parse_slowlog, [[1, 2, 3, b"GET", b"", b""]]),
    ("slowlog-bool", parse_slowlog, [[True, 2, 3, [b"GET"], b"", b""]]),
    ("slowlog-arg-int", parse_slowlog, [[1, 2, 3, [7], b"", b""]]),
    ("slowlog-entry-dict", parse_slowlog_entry, {"id": 1}),
    ("latency-row", parse_latency_latest, [[b"command", 1, 2]]),
    ("latency-type", parse_latency_latest, [[b"command", b"soon", 2, 3]]),
    ("history-row", parse_latency_history, [[1]]),
    ("history-none", parse_latency_history, None),
    ("doctor-int", parse_latency_doctor, 5),
    ("memstats-odd", parse_memory_stats, [b"peak.allocated"]),
    ("memstats-db", parse_memory_stats, [b"db.0", 5]),
    ("memstats-nested", parse_memory_stats, [b"peak.allocated", [1, 2]]),
    ("memstats-typed", parse_memory_stats, [b"keys.count", b"many"]),
    ("memstats-key", parse_memory_stats, [1, 2]),
    ("memusage", parse_memory_usage, b"big"),
    ("memusage-float", parse_memory_usage, 1.5),
    ("clients-noid", parse_client_list, "addr=1.2.3.4:5 name=x\n"),
    ("clients-noeq", parse_client_list, "hello world\n"),
    ("clients-int", parse_client_list, "id=abc\n"),
    ("clients-list", parse_client_list, [b"id=1"]),
    ("client-info-two", parse_client_info, "id=1\nid=2\n"),
    ("config-odd", parse_config_get, [b"maxmemory"]),
    ("config-type", parse_config_get, [b"maxmemory", 0]),
    ("config-str", parse_config_get, "maxmemory 0"),
]


@pytest.mark.parametrize(("parser", "bad"), [(p, b) for _, p, b in BAD], ids=[name for name, _, _ in BAD])
def test_bad_input_raises_parse_error(parser: Any, bad: Any) -> None:
    with pytest.raises(ParseError) as caught:
        parser(bad)
    error = caught.value
    assert error.exit_code == 9
    assert len(error.context.get("excerpt", "")) <= 80
    assert len(error.message) <= 200


def test_info_dict_error_has_hint() -> None:
    with pytest.raises(ParseError) as caught:
        parse_info({"redis_version": "7.0.15"})  # type: ignore[arg-type]
    assert "parse_info" in caught.value.hint


def test_info_edge_cases() -> None:
    assert parse_info("").sections == {}
    assert parse_info(b"\r\n\r\n").sections == {}
    headerless = parse_info("redis_version:7.2.4\ndb3:keys=2,expires=1,avg_ttl=5,subexpiry=0\n")
    assert headerless.server.redis_version == "7.2.4" and list(headerless.sections) == [""]
    assert headerless.keyspace[3].extra == {"subexpiry": "0"}
    host = parse_info("# Commandstats\r\ncmdstat_host::calls=1,usec=2,usec_per_call=2.00\r\n")
    assert host.commandstats["host:"].calls == 1
    modules = parse_info(
        "# Modules\r\nmodule:name=search,ver=20405,api=1,filters=0,usedby=[],using=[],options=[]\r\n"
        "module:name=ReJSON,ver=20407,api=1,filters=0,usedby=[search],using=[],options=[]\r\n"
    )
    assert [(m.name, m.ver) for m in modules.modules] == [("search", 20405), ("ReJSON", 20407)]
    assert modules.sections["modules"].repeated["module"][0].startswith("name=search")
    old = parse_info("# Commandstats\r\ncmdstat_get:calls=4,usec=10\r\n")
    assert old.commandstats["get"].usec_per_call == 2.5 and old.commandstats["get"].failed_calls == 0
    nan = parse_info("# Memory\r\nmem_fragmentation_ratio:-nan\r\n")
    assert nan.memory.mem_fragmentation_ratio != nan.memory.mem_fragmentation_ratio
    assert parse_info("# Server\r\nredis_version:7.0.15-rc1\r\n").server.version is None
