"""Pure parts of the TUI: snapshots and recordings, the slow-log history, rates, diffs, backoff, the
screen registry."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from redisops.errors import InvalidArgument
from tui.data import ReplaySource, parse_quantity
from tui.poller import MAX_BACKOFF, backoff
from tui.snapshot import RecordingWriter, Snapshot, read_recording
from tui.state import SessionState, SlowlogHistory, command_shape
from tui.views import VIEWS, find_view, register_view
from tui.views.base import View


def test_snapshot_round_trips_through_json_and_is_immutable():
    snap = Snapshot("info", 12.5, data={"info": {"memory": {"used_memory": 10}}, "list": [1, 2]})
    again = Snapshot.from_json(snap.to_json())
    assert again == snap
    assert again.data["info"]["memory"]["used_memory"] == 10
    assert isinstance(snap.data, MappingProxyType)
    with pytest.raises(TypeError):
        snap.data["info"] = {}  # type: ignore[index]
    failed = Snapshot("health", 1.0, error="no route", hint="check the URL", disconnected=True)
    assert Snapshot.from_json(failed.to_json()) == failed and not failed.ok


def test_recording_writer_and_reader(tmp_path):
    path = tmp_path / "rec.jsonl"
    w = RecordingWriter(path, target="sandbox")
    snaps = [Snapshot("info", 1.0, data={"a": 1}), Snapshot("slowlog", 2.0, error="x")]
    for s in snaps:
        w.write(s)
    w.close()
    w.write(Snapshot("info", 3.0))  # after close: ignored, not raised
    header, got = read_recording(path)
    assert header["target"] == "sandbox" and got == snaps


def test_a_file_that_is_not_a_recording_is_refused(tmp_path):
    bad = tmp_path / "x.jsonl"
    bad.write_text(json.dumps({"hello": 1}) + "\n")
    with pytest.raises(ValueError, match="not a redisops tui recording"):
        read_recording(bad)
    with pytest.raises(InvalidArgument) as e:
        ReplaySource(bad)
    assert e.value.exit_code == 2 and "--record" in e.value.hint
    with pytest.raises(InvalidArgument, match="no recording"):
        ReplaySource(tmp_path / "missing.jsonl")


def test_command_shape_hides_arguments():
    assert command_shape(["set", "user:1", "secret"]) == "SET"
    assert command_shape(["config", "get", "*"]) == "CONFIG GET"
    assert command_shape(["CLIENT"]) == "CLIENT"
    assert command_shape([]) == "?"


def _entries(ids, argv=("GET", "k")):
    return [{"id": i, "started_at": 100 + i, "duration_us": 10 * i, "argv": list(argv)} for i in ids]


def test_slowlog_history_goes_beyond_the_servers_ring_and_survives_a_reset():
    h = SlowlogHistory()
    assert h.add(_entries(range(0, 128))) == 128
    assert h.add(_entries(range(100, 228))) == 100  # the ring moved on: only the new ones count
    assert len(h) == 228 and h.watermark == 227
    assert h.add(_entries(range(100, 228))) == 0  # the same poll again adds nothing
    assert h.add(_entries(range(0, 3), argv=("CONFIG", "SET", "x", "1"))) == 3  # SLOWLOG RESET: ids restart
    assert h.resets == 1 and h.generation == 1 and len(h) == 231
    assert h.entries()[0].generation == 1  # newest first
    groups = {g["shape"]: g for g in h.by_shape()}
    assert groups["CONFIG SET"]["count"] == 3 and groups["GET"]["count"] == 228
    assert groups["GET"]["max_us"] == 2270


def test_slowlog_history_is_capped():
    h = SlowlogHistory(limit=50)
    h.add(_entries(range(200)))
    assert len(h) == 50 and h.entries()[-1].id == 150


def _info(at, cmds, hits, misses, evicted=0, used=1000, clients=3):
    stats = {
        "total_commands_processed": cmds,
        "keyspace_hits": hits,
        "keyspace_misses": misses,
        "evicted_keys": evicted,
    }
    info = {"stats": stats, "memory": {"used_memory": used}, "clients": {"connected_clients": clients}}
    return Snapshot("info", at, data={"info": info})


def test_rates_come_from_consecutive_info_snapshots():
    s = SessionState()
    s.apply(_info(10.0, 1000, 50, 50))
    s.apply(_info(12.0, 1400, 140, 60, evicted=4))
    assert list(s.series["ops_per_sec"]) == [200.0]
    assert list(s.series["evicted_per_sec"]) == [2.0]
    assert list(s.series["hit_ratio"]) == [0.9]
    assert list(s.series["used_memory"]) == [1000.0, 1000.0] and s.connected is True
    s.apply(_info(13.0, 5, 0, 0))  # a restart: the counters went down, no rate point
    assert list(s.series["ops_per_sec"]) == [200.0]


def test_disconnection_and_recovery():
    s = SessionState()
    s.apply(_info(1.0, 1, 0, 0))
    s.apply(Snapshot("info", 2.0, error="Connection refused", disconnected=True))
    s.apply(Snapshot("slowlog", 2.1, error="Connection refused", disconnected=True))
    assert s.connected is False and s.failures == 2 and "refused" in s.connection_error
    s.apply(_info(3.0, 2, 0, 0))
    assert s.connected is True and s.failures == 0
    assert list(s.series["ops_per_sec"]) == []  # no rate across the gap


def test_info_diff_against_a_baseline():
    s = SessionState()
    s.apply(_info(1.0, 1, 0, 0, used=100))
    s.apply(_info(2.0, 9, 0, 0, used=200))
    assert s.info_diff() == {("stats", "total_commands_processed"): "1", ("memory", "used_memory"): "100"}
    s.set_baseline()
    assert s.info_diff() == {}


def test_backoff_doubles_up_to_the_cap():
    assert backoff(1.0, 0) == 1.0
    assert [backoff(1.0, n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff(1.0, 50) == MAX_BACKOFF


def test_parse_quantity():
    assert parse_quantity("512Mi") == 512 * 2**20
    assert parse_quantity("1G") == 10**9
    assert parse_quantity("lots") is None


def test_the_screen_registry_is_open_and_refuses_duplicates():
    assert [v.NAME for v in VIEWS[:5]] == ["dashboard", "slowlog", "info", "keys", "backups"]
    assert find_view("2") is VIEWS[1] and find_view("slow") is VIEWS[1] and find_view("back") is VIEWS[4]
    assert find_view("nope") is None

    class Again(View):
        NAME = "info"

    with pytest.raises(ValueError, match="already registered"):
        register_view(Again)


def test_slowlog_history_with_only_the_new_entries_and_the_servers_newest_id():
    h = SlowlogHistory()
    assert h.add(_entries(range(0, 5)), newest=4) == 5
    assert h.add([], newest=4) == 0 and h.resets == 0  # nothing new
    assert h.add([], newest=-1) == 0 and h.resets == 0  # SLOWLOG RESET, the log is empty for now
    assert h.add(_entries([0, 1]), newest=1) == 2  # ids start again: a new generation
    assert h.resets == 1 and len(h) == 7


def test_spark_text_buckets_the_session_into_the_width():
    from tui.views.dashboard import spark_text

    assert spark_text([], 8) == ""
    assert spark_text([5.0, 5.0], 8) == "▁▁"
    assert spark_text([0.0, 1.0, 2.0, 3.0], 8) == "▁▃▆█"
    long = [0.0] * 100 + [10.0] + [0.0] * 99
    line = spark_text(long, 20)
    assert len(line) == 20 and line.count("█") == 1  # a spike is kept (the largest of its bucket)


def test_the_copy_progress_and_the_follow_lag_from_events():
    from redisops.events import Finished, Log, Phase, Progress, Started
    from tui.views.migration import lag_of, progress_data

    assert lag_of("lag 0.4 s; 3 changes seen, 2 keys applied, 0 deleted") == 0.4
    assert (
        lag_of("pass 2 took 0.1 s: 3 keys applied, 0 deleted; a change reaches the target within 5.1 s")
        == 5.1
    )
    assert lag_of("copied 10 of 20 keys: 5 keys/s") is None
    p = progress_data({}, Started(op="migrate.copy", op_id="x", at=0.0))
    assert p["phase"] == "starting" and p["lag_seconds"] is None
    p = progress_data(p, Phase(op="migrate.copy", op_id="x", at=0.0, name="copying", detail="2 databases"))
    p = progress_data(
        p, Progress(op="migrate.copy", op_id="x", at=0.0, phase="copying", done=5, total=9, unit="keys")
    )
    assert (p["phase"], p["done"], p["total"]) == ("copying", 5, 9)
    p = progress_data(p, Phase(op="migrate.copy", op_id="x", at=0.0, name="following"))
    p = progress_data(p, Log(op="migrate.copy", op_id="x", at=0.0, message="lag 1.5 s; 4 changes seen"))
    p = progress_data(
        p, Progress(op="migrate.copy", op_id="x", at=0.0, phase="following", done=4, unit="changes")
    )
    assert (p["phase"], p["lag_seconds"], p["changes"], p["done"]) == ("following", 1.5, 4, 5)
    assert progress_data(p, Finished(op="migrate.copy", op_id="x", at=0.0))["phase"] == "done"


def test_the_platform_line_shows_pods_pvc_service_and_the_sandbox():
    from tui.views.dashboard import platform_text

    kube = {
        "platform": "kubernetes",
        "pods": [
            {
                "name": "redis-0",
                "phase": "Running",
                "ready": True,
                "restarts": 2,
                "last_terminated_reason": "OOMKilled",
            }
        ],
        "volume": {
            "kind": "pvc",
            "name": "data-redis-0",
            "phase": "Bound",
            "capacity": "10Gi",
            "used_ratio": 0.93,
        },
        "service": {"name": "redis", "ready_endpoints": 1},
    }
    line = str(platform_text(kube))
    for part in ("pod redis-0 Running", "restarts 2", "OOMKilled", "PVC data-redis-0 Bound 10Gi", "93% used"):
        assert part in line, line
    assert "svc redis 1 endpoint(s)" in line
    none = str(platform_text({"platform": "kubernetes", "pods": [], "volume": None, "service": None}))
    assert "pod: none" in none
    sandbox = {
        "platform": "sandbox",
        "processes": [{"name": "target", "pid": 42, "alive": True, "ready": True}],
        "volume": {"kind": "dir", "name": "/x", "files_bytes": 2048, "used_ratio": 0.5},
    }
    assert str(platform_text(sandbox)) == "sandbox: redis-server pid 42 up  data dir 2.0 KiB disk 50% used"
