"""Compare two Redis datasets by content: "nothing lost" for backups, restores and migrations.

DUMP payloads are not comparable across versions or encodings, and DEBUG DIGEST is disabled by default
(and blocked on ElastiCache), so this compares TYPE, canonical values and PTTL within a tolerance
(reference/redis-persistence.md). Key counts compare ``keys - expires`` per db, since expiries diverge.
Both sides are walked with the one SCAN walker of :mod:`redisops.migrate.walker`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from redisops.adapters.redis_conn import RedisEndpoint, connect, redis_errors
from redisops.migrate.walker import scan_batches

__all__ = ["CompareResult", "Difference", "canonical_value", "compare_datasets"]


@dataclass(frozen=True)
class Difference:
    """One key that differs: which db, which key, what differs (type/value/ttl/missing/extra)."""

    db: int
    key: bytes
    what: str
    detail: str = ""


@dataclass
class CompareResult:
    """Keys compared per db and every difference found (capped at ``max_differences``)."""

    compared: dict[int, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        """True when no difference was found."""
        return not self.differences

    def summary(self) -> str:
        """One line: keys compared and differences by kind."""
        kinds: dict[str, int] = {}
        for d in self.differences:
            kinds[d.what] = kinds.get(d.what, 0) + 1
        total = sum(self.compared.values())
        if not kinds:
            return f"{total} keys compared, all equal"
        return f"{total} keys compared, differences: " + ", ".join(
            f"{k}={v}" for k, v in sorted(kinds.items())
        )


def canonical_value(client: redis.Redis, key: bytes, kind: str) -> Any:
    """The value of ``key`` in a form independent of encoding (sorted where order does not matter)."""
    if kind == "string":
        return client.get(key)
    if kind == "hash":
        return sorted(client.hgetall(key).items())
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "set":
        return sorted(client.smembers(key))
    if kind == "zset":
        return client.zrange(key, 0, -1, withscores=True)
    if kind == "stream":
        return client.xrange(key, "-", "+")
    return None  # module types are not compared by value


def compare_datasets(
    source: RedisEndpoint,
    target: RedisEndpoint,
    *,
    dbs: Iterable[int] | None = None,
    ttl_tolerance_ms: int = 5000,
    sample_every: int = 1,
    max_differences: int = 100,
    on_progress: Callable[[int], None] | None = None,
) -> CompareResult:
    """Compare every key (or every ``sample_every``-th) of ``source`` with ``target``, both ways.

    Keys with a TTL about to expire (within the tolerance) may legitimately be missing on one side.
    ``dbs`` defaults to every db that holds keys on either side.
    """
    result = CompareResult()
    if dbs is None:
        dbs = sorted(_used_dbs(source) | _used_dbs(target))
    for db in dbs:
        src = connect(source.with_db(db))
        dst = connect(target.with_db(db))
        try:
            with redis_errors(source):
                _compare_db(
                    src, dst, db, result, ttl_tolerance_ms, sample_every, max_differences, on_progress
                )
        finally:
            src.close()
            dst.close()
    return result


def _used_dbs(ep: RedisEndpoint) -> set[int]:
    client = connect(ep)
    try:
        with redis_errors(ep):
            info = client.info("keyspace")
    finally:
        client.close()
    return {int(name[2:]) for name in info if name.startswith("db")}


def _keys(client: redis.Redis, db: int) -> Iterator[bytes]:
    """Every key of ``db`` through the one SCAN walker (:func:`redisops.migrate.walker.scan_batches`)."""
    for batch in scan_batches(client, db=db, count=1000):
        yield from batch.keys


def _type_name(client: redis.Redis, key: bytes) -> str:
    kind = client.type(key)
    return kind.decode() if isinstance(kind, bytes) else str(kind)


def _compare_db(
    src: redis.Redis,
    dst: redis.Redis,
    db: int,
    result: CompareResult,
    tol: int,
    every: int,
    cap: int,
    on_progress: Callable[[int], None] | None,
) -> None:
    seen = 0
    for i, key in enumerate(_keys(src, db)):
        if i % every:
            continue
        seen += 1
        if len(result.differences) >= cap:
            break
        s_type = _type_name(src, key)
        d_type = _type_name(dst, key)
        s_ttl = int(src.pttl(key))
        if d_type == "none":
            if s_type != "none" and not (0 <= s_ttl <= tol):
                result.differences.append(Difference(db, key, "missing"))
            continue
        if s_type == "none":
            continue  # expired on the source meanwhile
        if s_type != d_type:
            result.differences.append(Difference(db, key, "type", f"{s_type} != {d_type}"))
            continue
        if canonical_value(src, key, s_type) != canonical_value(dst, key, d_type):
            result.differences.append(Difference(db, key, "value", s_type))
            continue
        d_ttl = int(dst.pttl(key))
        if (s_ttl < 0) != (d_ttl < 0) or (s_ttl >= 0 and abs(s_ttl - d_ttl) > tol):
            result.differences.append(Difference(db, key, "ttl", f"{s_ttl}ms vs {d_ttl}ms"))
    result.compared[db] = seen
    if every == 1:
        for key in _keys(dst, db):
            if len(result.differences) >= cap:
                break
            if not src.exists(key):
                d_ttl = int(dst.pttl(key))
                if not (0 <= d_ttl <= tol):
                    result.differences.append(Difference(db, key, "extra"))
    if on_progress:
        on_progress(seen)
