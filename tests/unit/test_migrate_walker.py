"""The SCAN walker and its token bucket (fakeredis: pure logic, no server)."""

from __future__ import annotations

import fakeredis
import pytest

from redisops.cancel import CancelToken
from redisops.errors import Interrupted, InvalidArgument
from redisops.migrate.walker import RateLimiter, ScanBatch, scan_batches


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_rate_limiter_caps_the_average_rate() -> None:
    t = FakeTime()
    lim = RateLimiter(100, sleep=t.sleep, clock=t.clock)
    for _ in range(50):
        lim.acquire(4)
    assert lim.ops == 200
    assert sum(t.slept) == pytest.approx(2.0)  # 200 ops at 100/s
    assert lim.waited == pytest.approx(2.0)


def test_rate_limiter_lets_a_burst_through_then_waits() -> None:
    t = FakeTime()
    lim = RateLimiter(10, burst=5, sleep=t.sleep, clock=t.clock)
    t.now = 100.0  # idle long enough to fill the bucket (capped at the burst)
    assert lim.acquire(5) == 0.0
    assert lim.acquire(5) == pytest.approx(0.5)


def test_rate_limiter_without_cap_only_counts() -> None:
    t = FakeTime()
    lim = RateLimiter(0, sleep=t.sleep, clock=t.clock)
    lim.acquire(10_000)
    assert lim.ops == 10_000 and t.slept == [] and not lim.limited


def test_rate_limiter_sleep_wakes_on_cancel() -> None:
    token = CancelToken()
    token.cancel("stop now")
    lim = RateLimiter(0.001, cancel=token)  # the first acquire would sleep 1000 s
    with pytest.raises(Interrupted, match="stop now"):
        lim.acquire(1)


def test_rate_limiter_refuses_bad_arguments() -> None:
    with pytest.raises(InvalidArgument):
        RateLimiter(-1)
    with pytest.raises(InvalidArgument):
        RateLimiter(10).acquire(-1)


def _server() -> fakeredis.FakeRedis:
    server = fakeredis.FakeServer()
    c = fakeredis.FakeRedis(server=server)
    c.mset({f"k:{i}": i for i in range(250)})
    c1 = fakeredis.FakeRedis(server=server, db=3)
    c1.mset({f"other:{i}": i for i in range(7)})
    return c


def test_scan_batches_walks_every_key_once_and_ends_done() -> None:
    c = _server()
    batches = list(scan_batches(c, db=0, count=40))
    keys = [k for b in batches for k in b.keys]
    assert set(keys) == {f"k:{i}".encode() for i in range(250)}
    assert all(isinstance(b, ScanBatch) and b.db == 0 for b in batches)
    assert batches[-1].done and batches[-1].cursor == 0
    assert not any(b.done for b in batches[:-1])


def test_scan_batches_on_another_db_and_match() -> None:
    c = _server()
    keys = {k for b in scan_batches(c, db=3, count=5) for k in b.keys}
    assert keys == {f"other:{i}".encode() for i in range(7)}
    matched = {k for b in scan_batches(c, db=0, match="k:1*", count=1000) for k in b.keys}
    assert matched == {f"k:{i}".encode() for i in range(250) if str(i).startswith("1")}


def test_scan_batches_resumes_from_a_cursor() -> None:
    c = _server()
    walk = scan_batches(c, db=0, count=30)
    first = next(walk)
    second = next(walk)
    walk.close()
    rest = list(scan_batches(c, db=0, count=30, start_cursor=first.cursor))
    assert rest[0].keys == second.keys
    seen = set(first.keys) | {k for b in rest for k in b.keys}
    assert len(seen) == 250


def test_scan_batches_throttled_and_cancelled() -> None:
    c = _server()
    t = FakeTime()
    lim = RateLimiter(10, sleep=t.sleep, clock=t.clock)
    batches = list(scan_batches(c, db=0, count=50, limiter=lim))
    # each SCAN is paid before the next one: the last one's debt is left to the consumer
    assert lim.ops == len(batches) and sum(t.slept) == pytest.approx((len(batches) - 1) / 10)
    assert lim.acquire(0) == pytest.approx(0.1)

    token = CancelToken()
    walk = scan_batches(c, db=0, count=50, cancel=token)
    first = next(walk)
    token.cancel("operator")
    with pytest.raises(Interrupted, match=f"resume with cursor {first.cursor}"):
        next(walk)


def test_scan_batches_refuses_bad_arguments() -> None:
    c = _server()
    for kwargs in ({"count": 0}, {"start_cursor": -1}, {"db": -1}):
        with pytest.raises(InvalidArgument):
            next(scan_batches(c, **{"db": 0, **kwargs}))  # type: ignore[arg-type]
