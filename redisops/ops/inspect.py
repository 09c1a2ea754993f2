"""Read-only inspection of a live Redis: INFO, PING latency, CONFIG, slow log, latency, memory, clients,
rates between two samples and a throttled, resumable key analysis (SCAN, never KEYS).

Every function takes a :class:`RedisEndpoint` and, optionally, an open ``client`` to reuse (pollers keep
one connection instead of reconnecting every second). Replies are fetched raw with
:func:`raw_command` and parsed by :mod:`redisops.inspect`; errors are :mod:`redisops.errors` types.
Waits use injectable ``sleep`` / ``clock`` so tests never sleep for real.
"""

from __future__ import annotations

import heapq
import statistics
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import redis
import redis.exceptions as rex
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command, redis_errors
from redisops.cancel import CancelToken
from redisops.errors import (
    AuthError,
    Interrupted,
    InvalidArgument,
    ParseError,
    PlatformError,
    RedisOpsError,
)
from redisops.events import Reporter
from redisops.inspect import (
    ClientInfo,
    Info,
    InfoRates,
    LatencyEvent,
    MemoryInfo,
    MemoryStats,
    SlowlogDelta,
    SlowlogEntry,
    SlowlogWatermark,
    compute_rates,
    key_pattern,
    new_slowlog_entries,
    parse_client_list,
    parse_config_get,
    parse_info,
    parse_latency_doctor,
    parse_latency_latest,
    parse_memory_doctor,
    parse_memory_stats,
    parse_slowlog,
    unknown_sections,
)
from redisops.inspect.info import INFO_SECTIONS
from redisops.migrate.walker import RateLimiter, scan_batches

__all__ = [
    "KeyAnalysis",
    "KeyStat",
    "LatencyReport",
    "MemoryReport",
    "PingStats",
    "PrefixStat",
    "SlowlogPoller",
    "TypeSummary",
    "analyze_keys",
    "fetch_clients",
    "fetch_config",
    "fetch_info",
    "fetch_latency",
    "fetch_memory",
    "fetch_slowlog",
    "open_client",
    "ping_latency",
    "refusal_reason",
    "sample_rates",
]


def open_client(ep: RedisEndpoint, *, retries: int = 1) -> redis.Redis:
    """A client for ``ep`` that does not connect yet (the first command does); close it when done.

    It retries a failed connection ``retries`` times after a short backoff (redis-py's default of 10
    retries with exponential backoff makes a down server, or a wrong password, take ~5 s to report).
    """
    client = connect(ep, check=False)
    client.set_retry(Retry(ExponentialBackoff(cap=0.2, base=0.05), retries))
    return client


@contextmanager
def _client(ep: RedisEndpoint, client: redis.Redis | None) -> Iterator[redis.Redis]:
    if client is not None:
        yield client
        return
    own = open_client(ep)
    try:
        yield own
    finally:
        own.close()


_T = TypeVar("_T")


def _raw(ep: RedisEndpoint, c: redis.Redis, *args: str | bytes | int) -> Any:
    """:func:`raw_command` with connection errors (raised while getting a connection) translated too."""
    with redis_errors(ep):
        return raw_command(c, *args)


def refusal_reason(err: RedisOpsError, what: str) -> str:
    """Why ``what`` was refused, one line, for an ``unknown`` check (never includes secrets)."""
    if isinstance(err, AuthError):
        return f"{what} refused: no permission (ACL) - {err.message}"
    if isinstance(err, PlatformError) and "does not offer" in err.message:
        return f"{what} is not available on this server (renamed or blocked, as on ElastiCache)"
    return f"{what} failed: {err.message}"


# --- INFO, PING, CONFIG -------------------------------------------------------------------------------


def fetch_info(
    ep: RedisEndpoint, sections: Sequence[str] = ("everything",), *, client: redis.Redis | None = None
) -> Info:
    """``INFO <sections>`` parsed (``everything`` by default: includes commandstats and latencystats).

    Raises:
        InvalidArgument: a section Redis does not know (it would answer with nothing).
    """
    with _client(ep, client) as c:
        info = parse_info(_raw(ep, c, "INFO", *sections))
    unknown = unknown_sections(sections, info)
    if unknown:
        names = ", ".join(repr(s) for s in unknown)
        raise InvalidArgument(
            f"unknown INFO section{'s' if len(unknown) > 1 else ''} {names}",
            hint=f"known sections: {', '.join(INFO_SECTIONS)}",
            context={"sections": unknown},
        )
    return info


@dataclass(frozen=True, slots=True)
class PingStats:
    """Round trips of ``n`` PINGs in milliseconds; ``error`` is the error reply when the server answered
    PING with one (``MISCONF`` while RDB saves fail: Redis refuses PING like a write)."""

    n: int
    min_ms: float
    median_ms: float
    max_ms: float
    error: str | None = None


def ping_latency(
    ep: RedisEndpoint,
    n: int = 3,
    *,
    client: redis.Redis | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> PingStats:
    """PING ``n`` times and time each round trip (the first includes connecting on a fresh client).

    An error reply still counts as an answer (timed, ``error`` set).

    Raises:
        ConnectionFailed / AuthError / OperationTimeout: the server did not answer.
    """
    samples: list[float] = []
    error: str | None = None
    with _client(ep, client) as c:
        for _ in range(max(n, 1)):
            start = clock()
            try:
                _raw(ep, c, "PING")
            except PlatformError as e:
                error = e.message
            samples.append((clock() - start) * 1000.0)
    return PingStats(
        n=len(samples),
        min_ms=min(samples),
        median_ms=statistics.median(samples),
        max_ms=max(samples),
        error=error,
    )


def fetch_config(
    ep: RedisEndpoint, pattern: str = "*", *, client: redis.Redis | None = None
) -> tuple[dict[str, str] | None, str | None]:
    """``CONFIG GET <pattern>`` as ``(settings, None)``, or ``(None, reason)`` when CONFIG is refused
    (ACL), renamed or blocked (ElastiCache). Connection errors are raised."""
    with _client(ep, client) as c:
        try:
            return parse_config_get(_raw(ep, c, "CONFIG", "GET", pattern)), None
        except (AuthError, PlatformError) as e:
            return None, refusal_reason(e, "CONFIG GET")
        except ParseError as e:
            return None, f"CONFIG GET reply unreadable: {e.message}"


# --- SLOWLOG ------------------------------------------------------------------------------------------


def fetch_slowlog(
    ep: RedisEndpoint, n: int = 128, *, client: redis.Redis | None = None
) -> list[SlowlogEntry]:
    """The newest ``n`` (>= 1) slow-log entries, newest first (as Redis sends them)."""
    if n < 1:
        raise InvalidArgument(f"the number of slow-log entries must be at least 1, got {n}")
    with _client(ep, client) as c:
        return parse_slowlog(_raw(ep, c, "SLOWLOG", "GET", n))


class SlowlogPoller:
    """Read the slow log repeatedly with an id watermark so entries survive the ring (128 by default).

    ``poll()`` returns the entries new since the previous poll (oldest first) and keeps them in
    ``history`` (bounded by ``max_history``). Pass ``watermark`` to resume from a saved one.
    """

    def __init__(
        self,
        ep: RedisEndpoint,
        *,
        n: int = 128,
        client: redis.Redis | None = None,
        watermark: SlowlogWatermark | None = None,
        max_history: int = 10_000,
    ) -> None:
        self.ep = ep
        self.n = n
        self._own = client is None
        self.client = client if client is not None else open_client(ep)
        self.watermark = watermark
        self.history: deque[SlowlogEntry] = deque(maxlen=max_history)
        self.missed = 0
        self.resets = 0

    def poll(self) -> SlowlogDelta:
        """Fetch the log and return what is new since the last poll."""
        delta = new_slowlog_entries(fetch_slowlog(self.ep, self.n, client=self.client), self.watermark)
        self.watermark = delta.watermark
        self.history.extend(delta.entries)
        self.missed += delta.missed
        self.resets += int(delta.reset)
        return delta

    def close(self) -> None:
        """Close the connection if the poller opened it."""
        if self._own:
            self.client.close()

    def __enter__(self) -> SlowlogPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- LATENCY, MEMORY, CLIENTS -------------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyReport:
    """``LATENCY LATEST`` events and the ``LATENCY DOCTOR`` text (None with the reason when refused)."""

    events: list[LatencyEvent]
    doctor: str | None
    reasons: dict[str, str] = field(default_factory=dict)


def fetch_latency(ep: RedisEndpoint, *, client: redis.Redis | None = None) -> LatencyReport:
    """LATENCY LATEST and LATENCY DOCTOR; each degrades to empty/None with a reason when refused."""
    reasons: dict[str, str] = {}
    with _client(ep, client) as c:
        latest = _or_reason(reasons, "latest", ep, c, parse_latency_latest, "LATENCY", "LATEST")
        doctor = _or_reason(reasons, "doctor", ep, c, parse_latency_doctor, "LATENCY", "DOCTOR")
    return LatencyReport(events=latest or [], doctor=doctor, reasons=reasons)


def _or_reason(
    reasons: dict[str, str],
    part: str,
    ep: RedisEndpoint,
    c: redis.Redis,
    parse: Callable[[Any], _T],
    *command: str,
) -> _T | None:
    """``parse`` of ``command``'s answer, or None with the reason in ``reasons[part]`` when Redis (or its
    ACL, or ElastiCache) refuses the command."""
    try:
        return parse(_raw(ep, c, *command))
    except (AuthError, PlatformError) as e:
        reasons[part] = refusal_reason(e, " ".join(command))
        return None


@dataclass(frozen=True)
class MemoryReport:
    """INFO memory, MEMORY STATS and MEMORY DOCTOR (each None with the reason when refused)."""

    info: MemoryInfo | None
    stats: MemoryStats | None
    doctor: str | None
    reasons: dict[str, str] = field(default_factory=dict)


def fetch_memory(ep: RedisEndpoint, *, client: redis.Redis | None = None) -> MemoryReport:
    """INFO memory + MEMORY STATS + MEMORY DOCTOR, degrading per part."""
    reasons: dict[str, str] = {}
    with _client(ep, client) as c:
        info = _or_reason(reasons, "info", ep, c, lambda raw: parse_info(raw).memory, "INFO", "memory")
        stats = _or_reason(reasons, "stats", ep, c, parse_memory_stats, "MEMORY", "STATS")
        doctor = _or_reason(reasons, "doctor", ep, c, parse_memory_doctor, "MEMORY", "DOCTOR")
    return MemoryReport(info=info, stats=stats, doctor=doctor, reasons=reasons)


def fetch_clients(ep: RedisEndpoint, *, client: redis.Redis | None = None) -> list[ClientInfo]:
    """``CLIENT LIST`` parsed."""
    with _client(ep, client) as c:
        return parse_client_list(_raw(ep, c, "CLIENT", "LIST"))


# --- rates --------------------------------------------------------------------------------------------


def sample_rates(
    ep: RedisEndpoint,
    interval: float = 1.0,
    *,
    client: redis.Redis | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> InfoRates:
    """Two ``INFO everything`` samples ``interval`` seconds apart and the rates between them: ops/s from
    total_commands_processed (beside instantaneous_ops_per_sec), hit ratio, net in/out, evictions/s,
    expirations/s, per-command calls/s and µs/call."""
    with _client(ep, client) as c:
        before = fetch_info(ep, client=c)
        t0 = clock()
        sleep(interval)
        after = fetch_info(ep, client=c)
        elapsed = clock() - t0
    return compute_rates(before, after, elapsed)


# --- key analysis -------------------------------------------------------------------------------------

_SIZE_COMMAND = {
    "string": "STRLEN",
    "hash": "HLEN",
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "stream": "XLEN",
}


@dataclass(frozen=True, slots=True)
class KeyStat:
    """One key: its type, MEMORY USAGE in bytes (None when refused) and length (bytes or elements)."""

    key: str
    type: str
    memory_bytes: int | None
    length: int | None


@dataclass(frozen=True, slots=True)
class TypeSummary:
    """Keys of one type among the examined keys: count, memory and summed length."""

    keys: int = 0
    memory_bytes: int = 0
    length: int = 0


@dataclass(frozen=True, slots=True)
class PrefixStat:
    """Keys whose prefix (the first ``prefix_depth`` ``:``-parts, digits/hex as ``*``) is ``prefix``."""

    prefix: str
    keys: int
    memory_bytes: int


@dataclass(frozen=True)
class KeyAnalysis:
    """The result (so far) of :func:`analyze_keys`.

    ``cursor`` is where to continue (0 with ``done`` when SCAN went all the way round). With
    ``sample`` < 1 only that share of keys (by a hash of the name, stable across resumes) is examined;
    multiply counts and bytes by :attr:`scale` for estimates of the whole keyspace. SCAN may return a
    key twice; the top lists hold each key once, the totals may count a rare duplicate twice.
    """

    db: int
    cursor: int
    done: bool
    scanned: int
    examined: int
    sample: float
    ops: int
    elapsed_s: float
    prefix_depth: int
    types: dict[str, TypeSummary]
    top: dict[str, list[KeyStat]]
    prefixes: list[PrefixStat]
    memory_reason: str | None = None

    @property
    def scale(self) -> float:
        """Factor from examined to estimated totals (1/sample)."""
        return 1.0 / self.sample if self.sample > 0 else 1.0

    @property
    def total_memory(self) -> int:
        """MEMORY USAGE summed over the examined keys."""
        return sum(t.memory_bytes for t in self.types.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the fields, with :attr:`scale` and :attr:`total_memory`."""
        return {**asdict(self), "scale": self.scale, "total_memory": self.total_memory}


def key_prefix(key: str, depth: int) -> str:
    """The grouping prefix of ``key``: its first ``depth`` ``:``-parts then ``:*``, as a pattern."""
    parts = key.split(":")
    if depth > 0 and len(parts) > depth:
        return key_pattern(":".join(parts[:depth])) + ":*"
    return key_pattern(key)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, Exception) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _Acc:
    def __init__(self, top: int, prefix_depth: int, previous: KeyAnalysis | None) -> None:
        self.top_n = top
        self.depth = prefix_depth
        self.types: dict[str, list[int]] = {}
        self.heaps: dict[str, list[tuple[int, str, KeyStat]]] = {}
        self.prefixes: dict[str, list[int]] = {}
        self.scanned = self.examined = self.ops = 0
        self.elapsed = 0.0
        self.memory_reason: str | None = None
        if previous is not None:
            for name, ts in previous.types.items():
                self.types[name] = [ts.keys, ts.memory_bytes, ts.length]
            for stats in previous.top.values():
                for stat in stats:
                    self._push(stat)
            for p in previous.prefixes:
                self.prefixes[p.prefix] = [p.keys, p.memory_bytes]
            self.scanned, self.examined, self.ops = previous.scanned, previous.examined, previous.ops
            self.elapsed = previous.elapsed_s
            self.memory_reason = previous.memory_reason

    def _push(self, stat: KeyStat) -> None:
        heap = self.heaps.setdefault(stat.type, [])
        weight = stat.memory_bytes if stat.memory_bytes is not None else (stat.length or 0)
        if any(item[1] == stat.key for item in heap):
            return
        item = (weight, stat.key, stat)
        if len(heap) < self.top_n:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)

    def add(self, stat: KeyStat) -> None:
        self.examined += 1
        t = self.types.setdefault(stat.type, [0, 0, 0])
        t[0] += 1
        t[1] += stat.memory_bytes or 0
        t[2] += stat.length or 0
        p = self.prefixes.setdefault(key_prefix(stat.key, self.depth), [0, 0])
        p[0] += 1
        p[1] += stat.memory_bytes or 0
        self._push(stat)

    def result(self, db: int, cursor: int, sample: float) -> KeyAnalysis:
        top = {
            name: [s for _, _, s in sorted(heap, key=lambda i: (-i[0], i[1]))]
            for name, heap in sorted(self.heaps.items())
        }
        prefixes = sorted(
            (PrefixStat(k, v[0], v[1]) for k, v in self.prefixes.items()),
            key=lambda p: (-p.memory_bytes, -p.keys, p.prefix),
        )
        return KeyAnalysis(
            db=db,
            cursor=cursor,
            done=cursor == 0,
            scanned=self.scanned,
            examined=self.examined,
            sample=sample,
            ops=self.ops,
            elapsed_s=self.elapsed,
            prefix_depth=self.depth,
            types={k: TypeSummary(*v) for k, v in sorted(self.types.items())},
            top=top,
            prefixes=prefixes,
            memory_reason=self.memory_reason,
        )


def _sampled(key: bytes, sample: float) -> bool:
    return sample >= 1.0 or zlib.crc32(key) < sample * 2**32


def analyze_keys(
    ep: RedisEndpoint,
    *,
    count: int = 1000,
    max_ops_per_sec: float = 5000.0,
    sample: float | None = None,
    cursor: int = 0,
    prefix_depth: int = 1,
    top: int = 10,
    max_keys: int | None = None,
    previous: KeyAnalysis | None = None,
    on_progress: Callable[[str], None] | None = None,
    client: redis.Redis | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> KeyAnalysis:
    """Biggest keys per type and memory by key prefix, without hurting production.

    The keyspace is walked by :func:`redisops.migrate.walker.scan_batches` (the walker the migration's
    copy and verify use): SCAN with ``COUNT count`` (never KEYS), then per batch one pipeline of
    TYPE + MEMORY USAGE and one of the length commands (STRLEN/HLEN/LLEN/SCARD/ZCARD/XLEN). Commands
    are throttled to
    ``max_ops_per_sec`` (each key costs 3, each SCAN 1). ``sample`` (0 < f <= 1) examines that share of
    keys. Stops after ``max_keys`` scanned keys with the cursor to resume from: pass the result as
    ``previous`` (its cursor and totals carry over) or just its ``cursor``.

    ``reporter`` gets the phase ``scanning`` and after every SCAN batch ``progress`` in ``keys``:
    scanned of DBSIZE (read once at the start; keys may come and go meanwhile). ``cancel`` is checked
    after every batch and wakes the throttle's sleep; a cancelled scan raises
    :class:`~redisops.errors.Interrupted` naming the cursor to resume from (nothing was changed).
    """
    _check_key_args(count, max_ops_per_sec, sample, cursor, prefix_depth, top, max_keys)
    fraction = 1.0 if sample is None else sample
    acc = _Acc(top, prefix_depth, previous)
    cur = previous.cursor if previous is not None and cursor == 0 else cursor
    start = clock()
    # the one walker (redisops.migrate.walker): SCAN costs 1 token, each examined key 2 plus its length
    limiter = RateLimiter(
        max_ops_per_sec, cancel=cancel, sleep=None if sleep is time.sleep else sleep, clock=clock
    )
    with _client(ep, client) as c:
        total: int | None = None
        if reporter is not None:
            total = int(_raw(ep, c, "DBSIZE"))
            reporter.phase("scanning", f"SCAN COUNT {count} of db {ep.db} ({total} keys)")
            reporter.progress(acc.scanned, max(total, acc.scanned), unit="keys")
        try:
            for batch in scan_batches(
                c, db=ep.db, count=count, start_cursor=cur, limiter=limiter, cancel=cancel
            ):
                acc.ops += 1
                cur = batch.cursor
                acc.scanned += len(batch.keys)
                chosen = [k for k in batch.keys if _sampled(k, fraction)]
                if chosen:
                    limiter.acquire(_examine(c, ep, chosen, acc), "while scanning keys")
                if on_progress is not None:
                    on_progress(f"scanned {acc.scanned} keys, examined {acc.examined}, cursor {cur}")
                if reporter is not None and total is not None:
                    reporter.progress(acc.scanned, max(total, acc.scanned), unit="keys")
                if max_keys is not None and acc.scanned - _prev_scanned(previous) >= max_keys:
                    break
        except Interrupted:
            if cancel is None:
                raise
            raise _scan_interrupted(cancel, acc, cur) from None
    acc.elapsed += clock() - start
    return acc.result(ep.db, cur, fraction)


def _scan_interrupted(cancel: CancelToken, acc: _Acc, cursor: int) -> Interrupted:
    why = cancel.reason or "cancelled"
    return Interrupted(
        f"{why} while scanning keys after {acc.scanned} keys; nothing was changed"
        + (f" (resume with cursor {cursor})" if cursor else ""),
        context={"reason": why, "scanned": acc.scanned, "cursor": cursor},
    )


def _check_key_args(
    count: int,
    max_ops_per_sec: float,
    sample: float | None,
    cursor: int,
    prefix_depth: int,
    top: int,
    max_keys: int | None,
) -> None:
    """InvalidArgument for an out-of-range argument of :func:`analyze_keys`."""
    problems = [
        (count < 1, f"the SCAN count must be at least 1, got {count}"),
        (max_ops_per_sec < 0, f"max_ops_per_sec must be 0 (no cap) or more, got {max_ops_per_sec:g}"),
        (sample is not None and not 0 < sample <= 1, f"sample must be in (0, 1], got {sample}"),
        (cursor < 0, f"the cursor must be 0 or more, got {cursor}"),
        (prefix_depth < 0, f"the prefix depth must be 0 or more, got {prefix_depth}"),
        (top < 1, f"top must be at least 1, got {top}"),
        (max_keys is not None and max_keys < 1, f"max_keys must be at least 1, got {max_keys}"),
    ]
    for bad, message in problems:
        if bad:
            raise InvalidArgument(message)


def _prev_scanned(previous: KeyAnalysis | None) -> int:
    return previous.scanned if previous is not None else 0


def _examine(c: redis.Redis, ep: RedisEndpoint, keys: list[Any], acc: _Acc) -> int:
    """TYPE + MEMORY USAGE + the length of ``keys`` into ``acc``; returns the commands sent."""
    with redis_errors(ep):
        pipe = c.pipeline(transaction=False)
        for key in keys:
            pipe.execute_command("TYPE", key)  # type: ignore[no-untyped-call]
            pipe.execute_command("MEMORY", "USAGE", key)  # type: ignore[no-untyped-call]
        replies = pipe.execute(raise_on_error=False)
    types = [_text(r) if not isinstance(r, Exception) else "none" for r in replies[0::2]]
    memories = replies[1::2]
    for mem in memories:
        if isinstance(mem, rex.ResponseError):
            acc.memory_reason = f"MEMORY USAGE refused: {mem}"
            break
    with redis_errors(ep):
        pipe = c.pipeline(transaction=False)
        sized: list[int] = []
        for i, (key, kind) in enumerate(zip(keys, types, strict=True)):
            cmd = _SIZE_COMMAND.get(kind)
            if cmd is not None:
                pipe.execute_command(cmd, key)  # type: ignore[no-untyped-call]
                sized.append(i)
        lengths = pipe.execute(raise_on_error=False) if sized else []
    ops = 2 * len(keys) + len(sized)
    acc.ops += ops
    length_of = dict(zip(sized, lengths, strict=True))
    for i, key in enumerate(keys):
        if types[i] == "none":
            continue  # deleted or expired between SCAN and TYPE
        acc.add(
            KeyStat(
                key=_text(key),
                type=types[i],
                memory_bytes=_int_or_none(memories[i]),
                length=_int_or_none(length_of.get(i)),
            )
        )
    return ops
