"""The online copy from an ElastiCache-like source into a target (real redis-servers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from redisops.adapters.redis_conn import connect
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, InvalidArgument
from redisops.events import Event, Progress, Recorder, Reporter
from redisops.migrate.copy import CopyOptions, run_copy
from redisops.migrate.walker import keyspace_sizes
from tests.harness.redis_sources import (
    BIG_TYPES,
    SourceFactory,
    TargetFactory,
    assert_same_data,
    fill_dataset,
    newer_dump_source,
)


def test_copy_every_type_ttls_dbs_and_big_keys_in_chunks(
    source_factory: SourceFactory, target_factory: TargetFactory, tmp_path: Path
) -> None:
    src = source_factory()
    tgt = target_factory()
    filled = fill_dataset(src.endpoint, keys_per_db=300, big_key_elements=3000, big_value_bytes=100)
    src_c = src.client()
    src_c.pexpire("big:hash", 3_600_000)
    events = Recorder()
    opts = CopyOptions(
        big_key_bytes=64 * 1024, chunk_size=256, chunk_bytes=16 * 1024, batch_size=100, pipeline_depth=50,
        checkpoint_path=tmp_path / "copy.ckpt",
    )  # fmt: skip
    report = run_copy(src.endpoint, tgt.endpoint, opts, Reporter("migrate.copy", events), CancelToken())

    assert report.failed == 0 and report.skipped == 0
    assert report.copied + report.expired + report.vanished == filled.total
    assert report.dbs[0].big_keys == len(BIG_TYPES) and report.dbs[0].by_type == len(BIG_TYPES)
    assert_same_data(src.endpoint, tgt.endpoint, (0, 1, 2))
    # TTLs: carried over, never longer than the source's
    tc = connect(tgt.endpoint)

    def ttls(key: bytes | str) -> tuple[int, int]:
        source_ttl = src_c.pttl(key)  # read first: the target's, read later, can only be smaller
        return source_ttl, tc.pttl(key)

    s_ttl, t_ttl = ttls("big:hash")
    assert 0 < t_ttl <= s_ttl + 5
    ttl_keys = [k for k in src_c.scan_iter(count=500) if src_c.pttl(k) > 0]
    assert ttl_keys and all(0 < t <= s + 5 for s, t in map(ttls, ttl_keys))
    # no temporary key left behind
    assert not [k for k in tc.scan_iter(match="*__redisops_migrate_tmp__*")]
    # progress in keys up to the DBSIZE total, and rates in the report
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress and {p.unit for p in progress} == {"keys"}
    assert progress[-1].done == progress[-1].total == filled.total
    rated = [p.detail for p in progress if p.detail]
    assert rated and {"keys_per_second", "mb_per_second", "eta_seconds"} <= set(rated[0])
    d = report.to_dict()
    assert d["copied"] == report.copied and d["keys_per_second"] > 0 and d["mb_per_second"] > 0
    assert d["bytes"] > 6 * 3000 * 100

    # again: a finished checkpoint exists; without resume the copy refuses to start over silently
    with pytest.raises(InvalidArgument, match="checkpoint"):
        run_copy(src.endpoint, tgt.endpoint, opts, Reporter("migrate.copy"), CancelToken())
    # without replace every key is skipped as BUSYKEY; with replace copied again
    again = run_copy(
        src.endpoint, tgt.endpoint, CopyOptions(dbs=[1]), Reporter("migrate.copy"), CancelToken()
    )
    assert again.copied == 0 and again.skipped == filled.keys[1]
    assert list(again.dbs[1].skipped) == ["target key exists (BUSYKEY); copy with replace to overwrite"]
    replaced = run_copy(
        src.endpoint,
        tgt.endpoint,
        CopyOptions(dbs=[1], replace=True),
        Reporter("migrate.copy"),
        CancelToken(),
    )
    assert replaced.copied + replaced.expired + replaced.vanished == filled.keys[1] and replaced.skipped == 0


def test_keys_expiring_during_the_copy_are_not_resurrected(
    source_factory: SourceFactory, target_factory: TargetFactory
) -> None:
    """The throttle (20 ops/s) holds the copy ~1 s before DUMP and ~2 s after it: keys with 1.5 s to live
    are gone by the time they would be written, and must not be written."""
    src = source_factory()
    tgt = target_factory()
    c = src.client(5)
    for i in range(20):
        c.set(f"short:{i}", "x", px=1500)
    opts = CopyOptions(dbs=[5], ops_per_second=20, batch_size=100)
    report = run_copy(src.endpoint, tgt.endpoint, opts, Reporter("migrate.copy"), CancelToken())
    assert report.copied == 0 and report.expired + report.vanished == 20
    assert connect(tgt.endpoint.with_db(5)).dbsize() == 0


def test_payloads_the_target_refuses_are_copied_type_by_type(
    source_factory: SourceFactory, target_factory: TargetFactory
) -> None:
    src = source_factory()
    tgt = target_factory()
    filled = fill_dataset(src.endpoint, keys_per_db=60, dbs=(0,), big_key_elements=200)
    # the source's DUMP payloads claim RDB 12 (Redis 7.4); the 7.0 target refuses them
    report = run_copy(
        newer_dump_source(src.endpoint), tgt.endpoint, CopyOptions(), Reporter("migrate.copy"), CancelToken()
    )
    assert report.failed == 0 and report.dbs[0].by_type == report.copied > 0
    assert report.copied + report.expired + report.vanished == filled.total
    assert_same_data(src.endpoint, tgt.endpoint, (0,))


class CancelAfter:
    """A sink that cancels the token once ``n`` keys were reported done."""

    def __init__(self, token: CancelToken, n: int) -> None:
        self.token, self.n = token, n

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress) and event.done >= self.n:
            self.token.cancel("operator")


def test_cancelled_copy_resumes_from_its_checkpoint(
    source_factory: SourceFactory, target_factory: TargetFactory, tmp_path: Path
) -> None:
    src = source_factory()
    tgt = target_factory()
    filled = fill_dataset(src.endpoint, keys_per_db=400, big_key_elements=100)
    ckpt = tmp_path / "ckpt.json"
    opts = CopyOptions(batch_size=50, checkpoint_path=ckpt)
    token = CancelToken()
    with pytest.raises(Interrupted) as err:
        run_copy(src.endpoint, tgt.endpoint, opts, Reporter("migrate.copy", CancelAfter(token, 500)), token)
    assert str(ckpt) in err.value.message and ckpt.exists()
    partial = err.value.context["report"]
    assert 0 < partial["copied"] < filled.total
    resumed = run_copy(
        src.endpoint, tgt.endpoint, opts.model_copy(update={"resume": True}), Reporter("migrate.copy"),
        CancelToken(),
    )  # fmt: skip
    assert resumed.resumed and resumed.failed == 0
    # keys copied before the cancel are counted once; a few in the interrupted batch are seen again (BUSYKEY)
    assert resumed.copied + resumed.expired + resumed.vanished == filled.total
    assert_same_data(src.endpoint, tgt.endpoint, (0, 1, 2))
    assert keyspace_sizes(connect(tgt.endpoint)) == keyspace_sizes(connect(src.endpoint))
