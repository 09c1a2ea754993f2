"""migrate verify against real servers: an ElastiCache-like source and a target holding the same data,
then the target changed behind the tool's back (each change named), keys rewritten during the verify
(in flight, not mismatches), big keys compared window by window, and the sampled mode."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from redisops.cancel import CancelToken
from redisops.errors import ExitCode, Interrupted
from redisops.events import Phase, Recorder, Reporter
from redisops.migrate.errors import VerifyDifferences
from redisops.migrate.verify import VerifyOptions, run_verify
from tests.harness.redis_sources import fill_dataset

FAST = {"round_delay": 0.0, "chunk": 500}


def _same_data(src: Any, dst: Any, **kw: Any) -> None:
    """Both servers hold the same dataset (the filler is deterministic for its seed)."""
    for ep in (src, dst):
        fill_dataset(ep, keys_per_db=120, big_key_elements=1500, **kw)


def _both(source: Any, target: Any, fn: Any, db: int = 0) -> None:
    for inst in (source, target):
        c = inst.client(db)
        try:
            fn(c)
        finally:
            c.close()


def test_same_data_verifies_clean_with_counts_and_big_keys(source_factory: Any, target_factory: Any) -> None:
    source, target = source_factory(), target_factory()
    _same_data(source.endpoint, target.endpoint)
    events = Recorder()
    report = run_verify(
        source.endpoint, target.endpoint, VerifyOptions(**FAST), reporter=Reporter("migrate.verify", events)
    )
    assert report.ok, report.summary()
    assert [c.db for c in report.counts] == [0, 1, 2] and all(c.match for c in report.counts)
    assert report.compared >= 3 * 120 + 6 and report.checked_on_target >= 3 * 120 + 6
    assert report.to_dict()["total_differences"] == 0
    assert [e.name for e in events.of(Phase)] == ["counting", "comparing", "extra"]  # type: ignore[attr-defined]
    report.raise_if_different()  # no error


def test_target_changed_behind_the_tools_back_names_each_change(
    source_factory: Any, target_factory: Any
) -> None:
    source, target = source_factory(), target_factory()
    _same_data(source.endpoint, target.endpoint)

    def seed(c: Any) -> None:
        c.set("t:value", "original")
        c.set("t:deleted", "here")
        c.set("t:ttl", "expiring", ex=3600)
        c.set("t:type", "a string")

    _both(source, target, seed)
    t = target.client(0)
    try:
        t.set("t:value", "changed!")  # same length, other bytes
        t.delete("t:deleted")
        t.persist("t:ttl")
        t.delete("t:type")
        t.rpush("t:type", "now", "a", "list")
        t.set("t:extra", "only on the target")
        t.hset("big:hash", "field:1234", b"x" * 100)  # one field of a big hash, found window by window
        t.zadd("big:zset", {b"intruder": 1.5})
        t.zrem("big:zset", t.zrange("big:zset", 0, 0)[0])  # same length, other member
    finally:
        t.close()

    report = run_verify(source.endpoint, target.endpoint, VerifyOptions(rounds=2, **FAST))

    found = {(d.kind, d.name) for d in report.examples}
    assert ("value", "t:value") in found
    assert ("missing", "t:deleted") in found
    assert ("ttl", "t:ttl") in found
    assert ("type", "t:type") in found
    assert ("extra", "t:extra") in found
    assert ("value", "big:hash") in found and ("value", "big:zset") in found
    assert report.differences == {"missing": 1, "extra": 1, "type": 1, "value": 3, "ttl": 1}
    assert report.in_flight_count == 0
    by_key = {d.name: d.detail for d in report.examples}
    assert "field:1234" in by_key["big:hash"]
    assert by_key["t:ttl"].startswith("source 3") and by_key["t:ttl"].endswith("ms, target no TTL")
    with pytest.raises(VerifyDifferences) as err:
        report.raise_if_different()
    assert err.value.exit_code == ExitCode.DIFFERENCES == 22
    assert "7 keys differ" in err.value.message


def test_a_key_rewritten_during_the_verify_is_in_flight_not_a_mismatch(
    source_factory: Any, target_factory: Any
) -> None:
    source, target = source_factory(), target_factory()
    _same_data(source.endpoint, target.endpoint, dbs=(0,))
    _both(source, target, lambda c: c.set("hot", "v0"))
    stop = threading.Event()

    def writer() -> None:
        c = source.client(0)
        n = 0
        try:
            while not stop.is_set():
                n += 1
                c.set("hot", f"v{n}")
                stop.wait(0.005)
        finally:
            c.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        report = run_verify(
            source.endpoint, target.endpoint, VerifyOptions(rounds=3, round_delay=0.3, chunk=500)
        )
    finally:
        stop.set()
        thread.join(5)
    assert report.ok, report.summary()
    assert [d.name for d in report.in_flight] == ["hot"] and report.in_flight_count == 1
    assert report.to_dict()["in_flight"][0]["key"] == "hot"
    assert any("in flight" in line for line in report.summary())


def test_a_difference_fixed_between_rounds_settles(source_factory: Any, target_factory: Any) -> None:
    source, target = source_factory(), target_factory()
    _both(source, target, lambda c: c.set("k", "one"))
    t = target.client(0)
    t.set("k", "two")
    fixed = threading.Event()

    def fix_after_first_round(event: Any) -> None:
        if getattr(event, "name", "") == "rechecking" and not fixed.is_set():
            t.set("k", "one")
            fixed.set()

    rounds = VerifyOptions(rounds=2, round_delay=0.0)
    report = run_verify(
        source.endpoint, target.endpoint, rounds, reporter=Reporter("v", fix_after_first_round)
    )
    t.close()
    assert fixed.is_set() and report.ok and report.settled == 1


def test_sampled_verify_finds_missing_keys(source_factory: Any, target_factory: Any) -> None:
    source, target = source_factory(), target_factory()
    _same_data(source.endpoint, target.endpoint, dbs=(0, 1))
    t = target.client(1)
    try:
        doomed = [k for i, k in enumerate(t.scan_iter(count=1000)) if i % 2 == 0]
        t.delete(*doomed)
    finally:
        t.close()
    report = run_verify(
        source.endpoint, target.endpoint, VerifyOptions(mode="sample", sample_size=60, rounds=1, **FAST)
    )
    assert report.mode == "sample" and report.compared <= 120
    assert report.differences["missing"] > 0
    assert {d.db for d in report.examples} == {1}
    assert not report.counts[1].match and report.counts[0].match


def test_cancel_stops_the_verify(source_factory: Any, target_factory: Any) -> None:
    source, target = source_factory(), target_factory()
    _same_data(source.endpoint, target.endpoint, dbs=(0,))
    token = CancelToken()
    token.cancel("stop now")
    with pytest.raises(Interrupted, match="stop now"):
        run_verify(source.endpoint, target.endpoint, VerifyOptions(**FAST), cancel=token)


def test_raw_pipelines_read_every_reply_in_order_past_a_refusal(redis_server: Any) -> None:
    from redisops.migrate.compare import ReplyError, raw_pipelines

    c = redis_server.client(0)
    try:
        c.set("s", "v")
        c.rpush("l", "x", "y")
        a, b, empty = raw_pipelines(
            [(c, [("GET", "s"), ("GET", "l"), ("LLEN", "l")]), (c, [("PING",)]), (c, [])]
        )
        assert a[0] == b"v" and isinstance(a[1], ReplyError) and "WRONGTYPE" in a[1].message and a[2] == 2
        assert b == [b"PONG"] and empty == []
        assert c.get("s") == b"v"  # the connections went back to the pool in a clean state
    finally:
        c.close()


def test_differences_beyond_the_recheck_limit_are_counted_without_recheck(
    source_factory: Any, target_factory: Any
) -> None:
    source, target = source_factory(), target_factory()
    c = source.client(0)
    c.mset({f"k{i}": i for i in range(30)})
    c.close()
    report = run_verify(
        source.endpoint, target.endpoint, VerifyOptions(rounds=2, round_delay=0, recheck_limit=5, examples=3)
    )
    assert report.differences["missing"] == 30 and report.not_rechecked == 25
    assert len(report.examples) == 3 and any("recheck_limit=5" in w for w in report.warnings)
    once = run_verify(source.endpoint, target.endpoint, VerifyOptions(rounds=1))
    assert once.differences["missing"] == 30 and once.not_rechecked == 0 and once.settled == 0


def test_every_big_key_type_is_compared_window_by_window(source_factory: Any, target_factory: Any) -> None:
    source, target = source_factory(), target_factory()
    _same_data(source.endpoint, target.endpoint, dbs=(0,))
    blob = bytes(range(256)) * 10_000  # 2.5 MB: compared in 1 MiB slices
    _both(source, target, lambda c: c.set("big:blob", blob))
    t = target.client(0)
    try:
        t.setrange("big:blob", len(blob) - 1, b"\x00")
        member = t.srandmember("big:set")
        t.srem("big:set", member)
        t.sadd("big:set", b"intruder")
        t.lset("big:list", 1400, b"changed")
        first = t.xrange("big:stream", count=1)[0][0]
        t.xdel("big:stream", first)
        t.xadd("big:stream", {"seq": "x"}, id="999999-0")
    finally:
        t.close()
    report = run_verify(source.endpoint, target.endpoint, VerifyOptions(rounds=1, chunk=500))
    by_key = {d.name: d.detail for d in report.examples}
    assert set(by_key) == {"big:blob", "big:set", "big:list", "big:stream"}, report.summary()
    assert by_key["big:blob"] == "string differs within bytes 2097152..3145727"
    assert "absent from the target" in by_key["big:set"]
    assert by_key["big:list"] == "list differs within elements 1000..1499"
    assert by_key["big:stream"] == "stream differs in its first 500 entries"
