"""One SCAN pass of the follow's scan mode: re-copy the keys that differ, delete the ones the source lost;
and the watch for FLUSHDB/FLUSHALL on the source, which keyspace notifications do not report.

Keys are compared by their DUMP bytes and TTL (within ``ttl_tolerance_ms``); when the two payloads carry
different RDB versions (a target older than the source, copied type by type) or either key is big,
by type and canonical value (big keys: by type and length only, so a big key changed in place without
a length change waits for the notification mode or ``migrate verify``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis
import redis.exceptions as rex

from redisops.adapters.redis_conn import raw_command
from redisops.cancel import CancelToken
from redisops.errors import RedisOpsError
from redisops.events import Reporter
from redisops.inspect import parse_info
from redisops.migrate.payload import payload_rdb_version
from redisops.migrate.walker import keyspace_sizes, scan_batches

if TYPE_CHECKING:
    from redisops.migrate.follow import _Applier
    from redisops.migrate.follow_model import FollowOptions

__all__ = ["FlushWatch", "canonical_value", "delete_extra", "differing_keys", "scan_pass"]

_LENGTH = {
    "string": "STRLEN",
    "hash": "HLEN",
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "stream": "XLEN",
}


def canonical_value(client: redis.Redis, key: bytes) -> tuple[str, Any]:
    """``(type, value)`` independent of encoding: sorted hash fields and set members, zset with scores."""
    kind = _text(raw_command(client, "TYPE", key))
    if kind == "string":
        return kind, raw_command(client, "GET", key)
    if kind == "hash":
        flat = raw_command(client, "HGETALL", key)
        return kind, sorted(zip(flat[0::2], flat[1::2], strict=True))
    if kind == "list":
        return kind, raw_command(client, "LRANGE", key, 0, -1)
    if kind == "set":
        return kind, sorted(raw_command(client, "SMEMBERS", key))
    if kind == "zset":
        return kind, raw_command(client, "ZRANGE", key, 0, -1, "WITHSCORES")
    if kind == "stream":
        return kind, raw_command(client, "XRANGE", key, "-", "+")
    return kind, None


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _pipe(client: redis.Redis, commands: list[tuple[Any, ...]]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    for cmd in commands:
        pipe.execute_command(*cmd)  # type: ignore[no-untyped-call]
    return list(pipe.execute(raise_on_error=False))


def _ttl_differs(s: int, t: int, tolerance: int) -> bool:
    if (s > 0) != (t > 0):
        return True
    return s > 0 and abs(s - t) > tolerance


def _small_differs(
    src: redis.Redis, tgt: redis.Redis, key: bytes, replies: tuple[Any, ...], tol: int
) -> bool:
    s_ttl, s_dump, t_ttl, t_dump = replies
    if any(isinstance(x, Exception) for x in replies) or s_dump is None or t_dump is None:
        return True
    if _ttl_differs(int(s_ttl), int(t_ttl), tol):
        return True
    if s_dump == t_dump:
        return False
    if payload_rdb_version(s_dump) == payload_rdb_version(t_dump):
        return True
    return canonical_value(src, key) != canonical_value(tgt, key)


def differing_keys(
    src: redis.Redis, tgt: redis.Redis, keys: list[bytes], options: FollowOptions
) -> list[bytes]:
    """The keys of ``keys`` whose value or TTL differs between source and target (or that are gone)."""
    sizes = _pipe(src, [("MEMORY", "USAGE", k) for k in keys])
    out: list[bytes] = []
    small: list[bytes] = []
    big: list[bytes] = []
    for key, size in zip(keys, sizes, strict=True):
        if size is None:
            out.append(key)  # gone from the source: the re-copy deletes it on the target
        elif not isinstance(size, rex.ResponseError) and int(size) > options.big_key_bytes:
            big.append(key)
        else:
            small.append(key)
    if small:
        cmds = [c for k in small for c in (("PTTL", k), ("DUMP", k))]
        a, b = _pipe(src, cmds), _pipe(tgt, cmds)
        for i, key in enumerate(small):
            s_ttl, s_dump, t_ttl, t_dump = a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]
            if _small_differs(src, tgt, key, (s_ttl, s_dump, t_ttl, t_dump), options.ttl_tolerance_ms):
                out.append(key)
    for key in big:
        s_type, t_type = _text(raw_command(src, "TYPE", key)), _text(raw_command(tgt, "TYPE", key))
        cmd = _LENGTH.get(s_type)
        if s_type != t_type or cmd is None:
            out.append(key)
            continue
        s_ttl, t_ttl = int(raw_command(src, "PTTL", key)), int(raw_command(tgt, "PTTL", key))
        if raw_command(src, cmd, key) != raw_command(tgt, cmd, key) or _ttl_differs(
            s_ttl, t_ttl, options.ttl_tolerance_ms
        ):
            out.append(key)
    return out


def scan_pass(applier: _Applier, db: int, options: FollowOptions, cancel: CancelToken | None) -> None:
    """Walk ``db`` on the source and re-copy what differs, then walk the target and delete what the
    source no longer has."""
    src, tgt = applier.pair(db)
    limiter = applier.limiter
    for batch in scan_batches(src, db=db, limiter=limiter, cancel=cancel):
        if batch.keys:
            limiter.acquire(3 * len(batch.keys), "while following")
            changed = differing_keys(src, tgt, batch.keys, options)
            if changed:
                applier.apply(changed, db, cancel)
    delete_extra(applier, db, cancel)


def delete_extra(applier: _Applier, db: int, cancel: CancelToken | None) -> int:
    """Walk ``db`` on the target and delete the keys the source does not have; returns how many."""
    src, tgt = applier.pair(db)
    deleted = 0
    for batch in scan_batches(tgt, db=db, cancel=cancel):
        if not batch.keys:
            continue
        exists = _pipe(src, [("EXISTS", k) for k in batch.keys])
        applier.limiter.acquire(len(batch.keys), "while following")
        gone = [k for k, e in zip(batch.keys, exists, strict=True) if not isinstance(e, Exception) and not e]
        if gone:
            deleted += int(raw_command(tgt, "DEL", *gone))
    applier.report.deleted += deleted
    return deleted


def _flush_calls(client: redis.Redis) -> int | None:
    """Calls of FLUSHDB + FLUSHALL so far on the source (None when INFO commandstats is refused)."""
    try:
        stats = parse_info(raw_command(client, "INFO", "commandstats")).commandstats
    except RedisOpsError:
        return None
    return sum(stats[name].calls for name in ("flushdb", "flushall") if name in stats)


class FlushWatch:
    """Finds flushes on the source that keyspace notifications do not report."""

    def __init__(self, applier: _Applier, followed: set[int]) -> None:
        self.applier, self.followed = applier, followed
        self.probe = applier.pair(min(followed))[0]
        self.calls = _flush_calls(self.probe)

    def check(self, reporter: Reporter, cancel: CancelToken | None) -> None:
        calls = _flush_calls(self.probe)
        if calls is not None and self.calls is not None and calls > self.calls:
            self.calls = calls
            self.applier.reconcile(
                sorted(self.followed),
                "the source ran FLUSHDB/FLUSHALL (seen in INFO commandstats; keyspace notifications do not "
                "report it)",
                reporter,
                cancel,
            )
            return
        self.calls = calls if calls is not None else self.calls
        sizes = keyspace_sizes(self.probe)
        for db in sorted(self.followed):
            if sizes.get(db, 0) == 0 and int(raw_command(self.applier.pair(db)[1], "DBSIZE")):
                self.applier.reconcile(
                    [db], f"db {db} is empty on the source but not on the target (a flush?)", reporter, cancel
                )
