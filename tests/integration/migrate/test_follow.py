"""Following the source after the bulk copy: keyspace notifications and SCAN passes (real servers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.cancel import CancelToken
from redisops.events import Phase, Recorder, Reporter, Warn
from redisops.migrate.copy import CopyOptions, run_copy
from redisops.migrate.follow import FollowOptions, FollowReport, notification_flags_ok, run_follow
from tests.harness.redis_sources import (
    SourceFactory,
    TargetFactory,
    assert_same_data,
    dataset_snapshot,
    fill_dataset,
)

DBS = (0, 1, 2)


class Following:
    """run_follow in a thread; ``stop()`` cancels it and returns its report."""

    def __init__(self, run: Callable[[CancelToken, Reporter], FollowReport]) -> None:
        self.token = CancelToken()
        self.events = Recorder()
        self.report: FollowReport | None = None
        self.error: BaseException | None = None

        def target() -> None:
            try:
                self.report = run(self.token, Reporter("migrate.follow", self.events))
            except BaseException as e:  # handed to the test thread
                self.error = e

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def wait_phase(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(isinstance(e, Phase) and e.name == name for e in self.events):
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"no {name} phase: {self.events.kinds()}"
            time.sleep(0.05)

    def stop(self) -> FollowReport:
        self.token.cancel("test done")
        self.thread.join(timeout=60)
        assert self.error is None, self.error
        assert self.report is not None
        return self.report


def wait_same(src: RedisEndpoint, tgt: RedisEndpoint, timeout: float = 30) -> None:
    """Wait (bounded) until the target shows the source's data."""
    deadline = time.monotonic() + timeout
    while dataset_snapshot(src, DBS) != dataset_snapshot(tgt, DBS) and time.monotonic() < deadline:
        time.sleep(0.2)


def make_changes(ep: RedisEndpoint, tag: str, n: int = 0) -> None:
    """Writes, deletes, an expiry, a rename, big-key growth; ``n`` picks other keys (6 per type cycle)."""
    c0, c1, c2 = (connect(ep.with_db(db)) for db in DBS)
    o = 6 * n
    c0.set(f"new:{tag}", "fresh")
    c0.set("mig:string:0:00000000", f"changed {tag}")
    c0.hset("big:hash", f"added-{tag}", "x")
    c0.rpush("big:list", f"tail-{tag}")
    c0.zadd("big:zset", {f"m-{tag}": 1.5})
    c0.xadd("big:stream", {"k": tag})
    c1.delete(f"mig:hash:1:{1 + o:08d}", f"mig:list:1:{2 + o:08d}")
    c1.set(f"soon-gone:{tag}", "x", px=100)  # expires on the source: must not stay on the target
    c1.rename(f"mig:set:1:{3 + o:08d}", f"renamed:{tag}")
    c1.expire(f"mig:zset:1:{4 + o:08d}", 3600)
    c2.sadd("mig:set:2:00000003", f"member-{tag}")


def test_follow_with_keyspace_notifications(
    source_factory: SourceFactory, target_factory: TargetFactory
) -> None:
    src = source_factory(notify="KEA")
    tgt = target_factory()
    fill_dataset(src.endpoint, keys_per_db=60, big_key_elements=300)
    opts = CopyOptions(big_key_bytes=8 * 1024, chunk_size=64)

    def bulk() -> Any:
        report = run_copy(src.endpoint, tgt.endpoint, opts, Reporter("migrate.copy"), CancelToken())
        make_changes(src.endpoint, "during-bulk")  # subscribed before the bulk: must not be lost
        return report

    f = Following(
        lambda token, reporter: run_follow(
            src.endpoint, tgt.endpoint, FollowOptions(apply_interval=0.05, big_key_bytes=8 * 1024), reporter,
            token, notifications=True, bulk=bulk,
        )
    )  # fmt: skip
    f.wait_phase("following")
    make_changes(src.endpoint, "after", 1)
    time.sleep(0.3)  # let the short-TTL keys expire on the source
    connect(src.endpoint.with_db(2)).flushdb()  # no keyspace event: found by INFO keyspace
    connect(src.endpoint.with_db(2)).set("after-flush", "1")
    wait_same(src.endpoint, tgt.endpoint)
    report = f.stop()
    assert report.mode == "notifications" and report.stopped.startswith("cancelled")
    assert report.applied > 0 and report.deleted >= 4 and report.changes_seen > 0
    assert_same_data(src.endpoint, tgt.endpoint, DBS)
    d = report.to_dict()
    assert d["max_lag_seconds"] >= 0 and d["unapplied"] == 0
    # the FLUSHDB (no keyspace event) was found through INFO commandstats, the target reconciled
    assert report.flushes and "FLUSHDB/FLUSHALL" in report.flushes[0]


def test_follow_by_scan_passes_when_notifications_cannot_be_read(
    source_factory: SourceFactory, target_factory: TargetFactory
) -> None:
    """CONFIG is blocked on the source: the follow cannot confirm notifications and falls back to SCAN
    passes with a stated staleness bound."""
    src = source_factory(notify=None)
    tgt = target_factory()
    fill_dataset(src.endpoint, keys_per_db=60, big_key_elements=300)
    run_copy(src.endpoint, tgt.endpoint, CopyOptions(big_key_bytes=8 * 1024), Reporter("c"), CancelToken())
    f = Following(
        lambda token, reporter: run_follow(
            src.endpoint, tgt.endpoint, FollowOptions(pass_interval=0.1, big_key_bytes=8 * 1024), reporter,
            token, notifications=None,
        )
    )  # fmt: skip
    f.wait_phase("following")
    make_changes(src.endpoint, "scan")
    time.sleep(0.3)
    wait_same(src.endpoint, tgt.endpoint)
    report = f.stop()
    assert report.mode == "scan" and report.passes >= 1
    assert report.staleness_bound_seconds is not None and report.staleness_bound_seconds >= 0.1
    assert any("CONFIG" in n for n in report.notes)
    assert any(isinstance(e, Warn) and "SCAN passes" in e.message for e in f.events)
    assert report.deleted >= 3
    assert_same_data(src.endpoint, tgt.endpoint, DBS)


def test_notification_flags() -> None:
    assert notification_flags_ok("KEA")[0] and notification_flags_ok("AK")[0]
    ok, why = notification_flags_ok("")
    assert not ok and "neither" in why
    ok, why = notification_flags_ok("Kg$")
    assert not ok and "lshzxet" in why
