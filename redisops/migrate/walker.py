"""One throttled, resumable SCAN walker for the copy, the verify and the key analysis.

:func:`scan_batches` walks one database with ``SCAN cursor [MATCH m] COUNT n`` (never KEYS) and yields
one :class:`ScanBatch` per reply: the keys and the cursor to resume from. A :class:`RateLimiter` (token
bucket) caps the commands per second the walk and its consumer send to a production source; a
:class:`~redisops.cancel.CancelToken` stops it between batches (and wakes a throttle's sleep)::

    limiter = RateLimiter(5000)
    for batch in scan_batches(client, db=0, count=1000, limiter=limiter, cancel=token):
        pipe = ...                      # the consumer's own commands for batch.keys
        limiter.acquire(len(batch.keys) * 2)
        save_checkpoint(batch.db, batch.cursor)   # resume with start_cursor=batch.cursor
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis

from redisops.adapters.redis_conn import raw_command
from redisops.cancel import CancelToken
from redisops.errors import InvalidArgument
from redisops.inspect import parse_info

__all__ = ["RateLimiter", "ScanBatch", "client_for_db", "dbs_in_use", "keyspace_sizes", "scan_batches"]


@dataclass(frozen=True, slots=True)
class ScanBatch:
    """One SCAN reply of database ``db``.

    ``cursor`` is the cursor the server returned: where to resume *after* this batch (pass it as
    ``start_cursor``); ``done`` is True when it is 0 (the walk went all the way round). SCAN may return
    a key more than once across batches; keys added during the walk may or may not be seen.
    """

    db: int
    cursor: int
    keys: list[bytes]
    done: bool


class RateLimiter:
    """A token bucket: at most ``ops_per_second`` on average, bursts up to ``burst`` (default: none).

    :meth:`acquire` takes ``n`` tokens and, when the bucket is in debt, sleeps until it is paid back, so
    a consumer may acquire before or after the commands it sends. ``ops_per_second`` of 0 or None means
    no cap (acquire only counts). ``sleep``/``clock`` are injectable so tests never sleep for real; with
    a ``cancel`` token the sleep wakes (and raises :class:`~redisops.errors.Interrupted`) on cancel.
    Several threads may share one (the copy's reader and writer): the bucket is updated under a lock.
    """

    def __init__(
        self,
        ops_per_second: float | None,
        *,
        burst: float = 0.0,
        cancel: CancelToken | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ops_per_second is not None and ops_per_second < 0:
            raise InvalidArgument(f"ops per second must be 0 (no cap) or more, got {ops_per_second:g}")
        if burst < 0:
            raise InvalidArgument(f"the burst must be 0 or more, got {burst:g}")
        self.rate = float(ops_per_second or 0.0)
        self.burst = float(burst)
        self.cancel = cancel
        self._sleep = sleep
        self._clock = clock
        self._tokens = 0.0
        self._last = clock()
        self._lock = threading.Lock()  # the copy's reader thread and writer share one limiter
        #: operations acquired so far and seconds spent waiting (for reports)
        self.ops = 0
        self.waited = 0.0

    @property
    def limited(self) -> bool:
        """True when there is a cap."""
        return self.rate > 0

    def charge(self, n: int = 1) -> None:
        """Take ``n`` tokens without waiting (the next :meth:`acquire` pays the debt)."""
        if n < 0:
            raise InvalidArgument(f"cannot acquire a negative number of operations ({n})")
        with self._lock:
            self.ops += n
            if not self.limited:
                return
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate) - n
            self._last = now

    def acquire(self, n: int = 1, doing: str = "") -> float:
        """Take ``n`` tokens; sleep while the bucket is in debt. Returns the seconds slept."""
        self.charge(n)
        if not self.limited or self._tokens >= 0:
            return 0.0
        wait = -self._tokens / self.rate
        if self._sleep is not None:
            self._sleep(wait)
        elif self.cancel is not None:
            self.cancel.sleep(wait, doing)
        else:
            time.sleep(wait)
        self.waited += wait
        return wait


def client_for_db(client: redis.Redis, db: int) -> redis.Redis:
    """``client`` when it is on ``db``, else a new client with the same connection settings on ``db``."""
    pool = client.connection_pool
    if int(pool.connection_kwargs.get("db", 0) or 0) == db:
        return client
    kwargs = {**pool.connection_kwargs, "db": db}
    new_pool = redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    out = redis.Redis(connection_pool=new_pool)
    given = getattr(client, "_redisops_endpoint", None)
    if given is not None:
        from dataclasses import replace

        out._redisops_endpoint = replace(given, db=db)  # type: ignore[attr-defined]
    return out


def keyspace_sizes(client: redis.Redis) -> dict[int, int]:
    """Keys per database from ``INFO keyspace`` (databases without keys are absent)."""
    info = parse_info(raw_command(client, "INFO", "keyspace"))
    return {db: ks.keys for db, ks in sorted(info.keyspace.items()) if ks.keys > 0}


def dbs_in_use(client: redis.Redis) -> list[int]:
    """The databases that hold keys, from ``INFO keyspace`` (works where CONFIG is blocked)."""
    return list(keyspace_sizes(client))


def scan_batches(
    client: redis.Redis,
    *,
    db: int,
    count: int = 1000,
    match: bytes | str | None = None,
    start_cursor: int = 0,
    limiter: RateLimiter | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[ScanBatch]:
    """Walk database ``db`` from ``start_cursor`` until SCAN returns cursor 0.

    Each SCAN costs one token of ``limiter``, charged after it is sent and paid (waited for) before the
    next SCAN, so a batch is always handed over before the throttle sleeps; the consumer acquires for
    its own commands. ``cancel``
    is checked before every SCAN: a cancelled walk raises :class:`~redisops.errors.Interrupted` and the
    last yielded batch's ``cursor`` is where to resume. ``client`` may be on another database: a client
    with the same settings on ``db`` is used then (closed at the end).

    Raises:
        InvalidArgument: ``count`` < 1, a negative cursor or db.
    """
    if count < 1:
        raise InvalidArgument(f"the SCAN count must be at least 1, got {count}")
    if start_cursor < 0:
        raise InvalidArgument(f"the cursor must be 0 or more, got {start_cursor}")
    if db < 0:
        raise InvalidArgument(f"the database must be 0 or more, got {db}")
    c = client_for_db(client, db)
    args: list[str | bytes | int] = []
    if match is not None:
        args += ["MATCH", match]
    args += ["COUNT", count]
    cursor = start_cursor
    try:
        while True:
            if cancel is not None:
                cancel.check(f"while scanning db {db} (resume with cursor {cursor})")
            if limiter is not None:
                limiter.acquire(0, f"while scanning db {db}")  # pay what the last batch cost
            reply = raw_command(c, "SCAN", cursor, *args)
            if limiter is not None:
                limiter.charge(1)
            cursor = int(reply[0])
            keys = [k if isinstance(k, bytes) else str(k).encode() for k in reply[1]]
            yield ScanBatch(db=db, cursor=cursor, keys=keys, done=cursor == 0)
            if cursor == 0:
                return
    finally:
        if c is not client:
            c.close()
