"""The dual-write window at small scale: copy --follow while a writer keeps writing and deleting on the
source, stop the writer, stop following, then verify finds 0 differences (the large version of this
scenario, >= 1M keys and 50 MB big keys, is for a manual run: ``-m slow`` with REDISOPS_MIGRATE_SCALE)."""

from __future__ import annotations

import os
import random
import threading
import time

import pytest

from redisops.cancel import CancelToken
from redisops.events import Reporter
from redisops.migrate.copy import CopyOptions, run_copy
from redisops.migrate.follow import FollowOptions, run_follow
from redisops.migrate.verify import VerifyOptions, run_verify
from tests.harness.redis_sources import SourceFactory, TargetFactory, fill_dataset

SCALE = int(os.environ.get("REDISOPS_MIGRATE_SCALE", "1"))


class Writer(threading.Thread):
    """Sets, appends, deletes and expires keys in dbs 0-2 until stopped."""

    def __init__(self, source: object) -> None:
        super().__init__(daemon=True)
        self.clients = [source.client(db) for db in (0, 1, 2)]  # type: ignore[attr-defined]
        self.halt = threading.Event()
        self.ops = 0

    def run(self) -> None:
        rng = random.Random(7)
        while not self.halt.is_set():
            c = rng.choice(self.clients)
            i = rng.randrange(0, 400 * SCALE)
            roll = rng.random()
            if roll < 0.4:
                c.set(f"w:{i}", rng.randbytes(32))
            elif roll < 0.55:
                c.hset(f"wh:{i % 50}", f"f{i}", i)
            elif roll < 0.7:
                c.delete(f"w:{i}", f"mig:string:{c.connection_pool.connection_kwargs['db']}:{i:08d}")
            elif roll < 0.8:
                c.set(f"w:{i}", "short", px=rng.randrange(50, 500))
            elif roll < 0.9:
                c.rpush("big:list", i)
            else:
                c.zadd("big:zset", {f"w{i}": i})
            self.ops += 1
            time.sleep(0.0005)


@pytest.mark.slow
@pytest.mark.parametrize("notifications", [True, False], ids=["notifications", "scan"])
def test_copy_follow_with_a_writer_then_verify(
    source_factory: SourceFactory, target_factory: TargetFactory, notifications: bool
) -> None:
    src = source_factory(notify="KEA" if notifications else None)
    tgt = target_factory()
    fill_dataset(src.endpoint, keys_per_db=1000 * SCALE, big_key_elements=5000 * SCALE)
    writer = Writer(src)
    writer.start()
    token = CancelToken()
    result: dict[str, object] = {}

    def bulk() -> None:
        opts = CopyOptions(big_key_bytes=64 * 1024, batch_size=200)
        result["copy"] = run_copy(src.endpoint, tgt.endpoint, opts, Reporter("migrate.copy"), token)

    def follow() -> None:
        fopts = FollowOptions(big_key_bytes=64 * 1024, apply_interval=0.05, pass_interval=0.2)
        result["follow"] = run_follow(src.endpoint, tgt.endpoint, fopts, Reporter("migrate.follow"), token,
                                      notifications=notifications, bulk=bulk)  # fmt: skip

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    time.sleep(4)  # the writer runs during the bulk pass and the follow
    writer.halt.set()
    writer.join()
    time.sleep(0.5)  # then stop: the drain applies what is pending, or runs one last SCAN pass
    token.cancel("writer stopped")
    t.join(timeout=120)
    assert "follow" in result, result
    followed = result["follow"]
    assert followed.complete and followed.applied > 0  # type: ignore[attr-defined]
    assert writer.ops > 500
    report = run_verify(src.endpoint, tgt.endpoint, VerifyOptions(round_delay=0.2))
    assert report.ok, report.summary()
