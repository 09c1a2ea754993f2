"""Issue 12 item 22: ``backup create`` starts the Redis transfer before it touches the store, and the run
reuses what its plan read. Against real redis-server processes and a real moto S3.

* the replication stream reads the payload ahead (bounded) while the caller does something else, and
  serves those bytes first and in order (the RDB's CRC64 trailer and key counts check it);
* a cancellation while it reads ahead stops it and leaves no reader thread;
* ``backup.create`` through the catalogue sends INFO once (the plan's INFO goes to the run);
* a plan made for a run that follows at once (``then_runs`` on the context) leaves the lock to the run:
  a held lock then blocks the run (PlanBlocked, the plan's words) with nothing written.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.replication import ReplicationRdbStream
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, PlanBlocked
from redisops.events import Recorder, Reporter
from redisops.ops.catalogue import OpContext
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.entries_backup import CreateParams, backup_create, plan_create
from redisops.ops.target import Target, resolve_target
from redisops.rdb import RdbStreamVerifier
from tests.harness.snapshots import world

#: ~4 MB of values in two dbs
DATA = DatasetSpec(keys_per_db=500, dbs=(0, 3), value_bytes=4096, elements=2, ttl_fraction=0.0)


def _wait_for(cond: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def _readers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "redis-prefetch"]


def test_prefetched_bytes_are_served_first_and_in_order(redis_factory: Any) -> None:
    inst = redis_factory(extra={"repl-diskless-sync-delay": "0"})
    populate(inst.endpoint, DATA, seed=5)
    limit = 256 * 1024
    verifier = RdbStreamVerifier()
    with ReplicationRdbStream("127.0.0.1", inst.endpoint.port, timeout=30) as stream:
        stream.prefetch(limit)
        # the server's child writes while nobody iterates: the reader holds exactly the limit, no more
        _wait_for(lambda: stream.prefetched >= limit, "the read-ahead to fill")
        time.sleep(0.2)
        assert stream.prefetched == limit
        total = 0
        for chunk in stream:
            verifier.feed(chunk)
            total += len(chunk)
        assert stream.prefetched == 0
    result = verifier.finish()  # header, CRC64 trailer over every byte in order, key counts
    assert result.db_key_counts is not None
    assert {db: c.keys for db, c in result.db_key_counts.items()} == {0: 500, 3: 500}
    assert total > 4 * 1024 * 1024
    assert _readers() == []


def test_a_cancel_while_reading_ahead_interrupts_and_leaves_no_reader(redis_factory: Any) -> None:
    inst = redis_factory(extra={"repl-diskless-sync-delay": "0"})
    populate(inst.endpoint, DATA, seed=6)
    token = CancelToken()
    with ReplicationRdbStream("127.0.0.1", inst.endpoint.port, timeout=30, cancel=token) as stream:
        stream.prefetch(64 * 1024)
        _wait_for(lambda: stream.prefetched > 0, "the read-ahead to start")
        token.cancel("test")
        with pytest.raises(Interrupted):
            for _ in stream:
                pass
    assert _readers() == []


# --- through the catalogue -----------------------------------------------------------------------------


@pytest.fixture
def target(redis_factory: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path) -> Target:
    inst = redis_factory(extra={"repl-diskless-sync-delay": "0"})
    c = inst.client()
    for i in range(50):
        c.set(f"k:{i}", "v" * 100)
    c.close()
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text(
        f"backup:\n  bucket: {s3_bucket}\n  endpoint_url: {s3_endpoint.url}\n  force_path_style: true\n"
        "  server_side_encryption: none\n"
    )
    return resolve_target(url=f"redis://127.0.0.1:{inst.endpoint.port}", config=cfg,
                          state_dir=tmp_path / "state", env={})  # fmt: skip


def _info_calls(target: Target) -> int:
    from redisops.adapters.redis_conn import connect

    c = connect(target.redis)
    try:
        stats = c.info("commandstats")
        return int(stats.get("cmdstat_info", {}).get("calls", 0))
    finally:
        c.close()


def test_backup_create_reads_info_once(target: Target) -> None:
    from redisops.adapters.redis_conn import connect

    c = connect(target.redis)
    c.config_resetstat()
    c.close()
    m = target.run("backup.create", {})
    assert m.total_keys == 50
    assert _info_calls(target) == 1  # the plan's INFO; the run reuses it


def _context(target: Target) -> OpContext:
    ctx = OpContext(target, Reporter("backup.create", Recorder()), CancelToken())
    ctx.then_runs = True  # type: ignore[attr-defined]  # what Catalogue.invoke says when the run follows
    return ctx


def test_a_plan_for_the_run_that_follows_leaves_the_lock_to_the_run(
    target: Target, s3_endpoint: Any, s3_bucket: str
) -> None:
    params = CreateParams()
    ctx = _context(target)
    ctx.plan = plan_create(ctx, params)
    assert not ctx.plan.blocked and ctx.plan.details["lock"]["verdict"] == "when-taken"
    m = backup_create(ctx, params)
    assert [b.id for b in target.store().list()] == [m.id]

    # another backup holds the lock: the plan (reads Redis only) is not blocked, the run is, and the
    # store is left as it was (the transfer it had started is dropped)
    holder = target.store().begin("rdb", datetime.now(UTC))
    try:
        before = world(s3=(s3_endpoint.client(), s3_bucket))
        ctx = _context(target)
        ctx.plan = plan_create(ctx, params)
        assert not ctx.plan.blocked
        with pytest.raises(PlanBlocked, match="already running") as e:
            backup_create(ctx, params)
        assert e.value.exit_code == 15 and e.value.context["backup_id"] == holder.backup_id
        assert world(s3=(s3_endpoint.client(), s3_bucket)) == before
        assert _readers() == []
    finally:
        holder.abort()
    # without then_runs (a dry run) the plan reads the lock itself, as before
    ctx = OpContext(target, Reporter("backup.create", Recorder()), CancelToken())
    assert plan_create(ctx, params).details["lock"]["verdict"] == "free"
