"""migrate plan against real servers: a 7.0 pair (no version gap), dbs and counts, big keys, the
estimate from a sample restored into a scratch server (the target untouched), keyspace notifications
(the caller's value, since the ElastiCache-like source blocks CONFIG), and a small target with
allkeys-lru that would evict keys: refused, naming the shortfall."""

from __future__ import annotations

from typing import Any

import pytest

from redisops.errors import PlanBlocked
from redisops.events import Phase, Recorder, Reporter
from redisops.migrate.plan import PlanOptions, build_plan, check_blockers, require_no_blockers
from tests.harness.redis_sources import fill_dataset


def _keyspace(inst: Any) -> dict[str, Any]:
    c = inst.client(0)
    try:
        return {k: v for k, v in c.info("keyspace").items() if k.startswith("db")}
    finally:
        c.close()


def test_plan_of_a_70_pair_with_big_keys_and_an_estimate(source_factory: Any, target_factory: Any) -> None:
    source, target = source_factory(notify="KEA"), target_factory(maxmemory="512mb", policy="noeviction")
    filled = fill_dataset(source.endpoint, keys_per_db=150, big_key_elements=2000, big_value_bytes=200)
    events = Recorder()
    plan = build_plan(
        source.endpoint,
        target.endpoint,
        PlanOptions(sample=100, big_key_bytes=200_000, notify_keyspace_events="KEA"),
        reporter=Reporter("migrate.plan", events),
    )
    assert not plan.blockers, plan.summary()
    assert not plan.versions.gap and plan.versions.source_rdb == plan.versions.target_rdb == 10
    assert plan.copy_method == "dump-restore"
    assert {db: d["keys"] for db, d in plan.dbs.items()} == filled.keys
    assert plan.total_keys == filled.total
    assert {k.key for k in plan.big_keys.keys} == {
        f"big:{t}" for t in ("hash", "list", "set", "zset", "stream", "string")
    }
    assert plan.big_keys.complete and plan.big_keys.examined == filled.total and plan.big_keys.count == 6
    assert plan.sample is not None and plan.sample.keys > 50 and plan.sample.refused == 0
    assert plan.sample.scratch_version.startswith("7.0")
    assert plan.estimate is not None and plan.estimate.seconds > 0 and plan.estimate.keys_per_second > 0
    assert [f.code for f in plan.findings if f.code.startswith("notify")] == ["notify.on"]
    assert plan.memory.source_dataset > 0 and plan.memory.target_maxmemory == 512 * 1024 * 1024
    assert [e.name for e in events.of(Phase)] == ["reading", "sizing", "sampling"]  # type: ignore[attr-defined]
    data = plan.to_dict()
    assert (
        data["blocked"] is False
        and data["versions"]["gap"] is False
        and data["estimate"]["keys_per_second"] > 0
    )
    assert _keyspace(target) == {}  # the plan wrote nothing to the target
    assert check_blockers(source.endpoint, target.endpoint) == []


def test_plan_refuses_a_target_that_would_evict_keys_naming_the_shortfall(
    source_factory: Any, target_factory: Any
) -> None:
    # the write-up's target is maxmemory 256mb + allkeys-lru against a bigger dataset; the rule is the same
    # at a smaller scale: a few MB of data into a 3mb target
    source = source_factory(notify=None)
    target = target_factory(maxmemory="3mb", policy="allkeys-lru")
    fill_dataset(source.endpoint, keys_per_db=200, big_key_elements=3000, big_value_bytes=200)
    plan = build_plan(source.endpoint, target.endpoint, PlanOptions(sample=50, big_key_scan_limit=0))
    (blocker,) = plan.blockers
    assert blocker.code == "memory.evict"
    assert "copying would silently evict keys" in blocker.message and "allkeys-lru" in blocker.message
    assert f"short by {plan.memory.shortfall / (1 << 20):.1f} MiB" in blocker.message
    assert plan.memory.shortfall > 0
    # CONFIG is blocked on the ElastiCache-like source and no value was given: unknown, with the setting
    (notify,) = [f for f in plan.findings if f.code.startswith("notify")]
    assert notify.code == "notify.unknown" and "notify-keyspace-events" in notify.hint
    with pytest.raises(PlanBlocked) as e:
        plan.raise_if_blocked()
    assert e.value.exit_code == 15 and "silently evict" in e.value.message
    # the copy and the verify check the blockers again (the target holds nothing yet: same verdict)
    assert [f.code for f in check_blockers(source.endpoint, target.endpoint)] == ["memory.evict"]
    with pytest.raises(PlanBlocked, match=r"migrate\.copy is blocked"):
        require_no_blockers(source.endpoint, target.endpoint, op="migrate.copy")
    assert _keyspace(target) == {}


def test_plan_reads_notifications_where_config_is_allowed(redis_factory: Any, target_factory: Any) -> None:
    plain = redis_factory(
        {"config": {"appendonly": "no", "save": ""}}, extra={"notify-keyspace-events": '""'}
    )
    c = plain.client(0)
    c.set("k", "v")
    c.close()
    plan = build_plan(plain.endpoint, target_factory().endpoint, PlanOptions(sample=0, big_key_scan_limit=0))
    (notify,) = [f for f in plan.findings if f.code.startswith("notify")]
    assert notify.code == "notify.off" and plan.notify_keyspace_events == ""
    assert "KEA" in notify.hint and plan.estimate is None


def test_the_scratch_server_refuses_a_newer_payload(redis_server: Any) -> None:
    """Only 7.0 runs here: a 7.0 DUMP with its RDB version raised to 11 (CRC recomputed) stands for a
    7.2 source's payload; the plan's scratch RESTORE counts it refused (the copy then goes type by type)."""
    from redisops.migrate.estimate import restore_into_scratch
    from redisops.migrate.payload import raise_payload_version

    c = redis_server.client(0)
    try:
        c.hset("h", mapping={"a": "1", "b": "2"})
        dump = c.dump("h")
    finally:
        c.close()
    seconds, refused, refusal, version = restore_into_scratch(
        [(0, b"ok", 0, dump), (3, b"newer", 0, raise_payload_version(dump, 11))]
    )
    assert refused == 1 and "payload version" in refusal.lower() and version.startswith("7.0") and seconds > 0
