"""One SCAN pass of the follow's scan mode: re-copy the keys that differ, delete the ones the source lost;
and the watch for FLUSHDB/FLUSHALL on the source, which keyspace notifications do not report.

Keys are compared by their DUMP bytes and TTL (within ``ttl_tolerance_ms``); when the two payloads carry
different RDB versions (a target older than the source, copied type by type) or either key is big,
by type and canonical value (big keys: by type and length only, so a big key changed in place without
a length change waits for the notification mode or ``migrate verify``).

A pass walks one source node (the single server, or one primary of a Redis Cluster source) and reads
each key on the target node of its slot; the target-side walk visits every target node and, for a
cluster source, asks the primary that serves each key's slot whether it still has it.
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
from redisops.migrate.cluster import Side
from redisops.migrate.follow_apply import Applier, delete_keys, pipe
from redisops.migrate.payload import payload_rdb_version
from redisops.migrate.walker import keyspace_sizes, scan_batches

if TYPE_CHECKING:
    from redisops.migrate.follow_model import FollowOptions

__all__ = ["FlushWatch", "canonical_value", "delete_extra", "differing_keys", "reconcile", "scan_pass"]

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


def _per_node(side: Side, keys: list[bytes], *commands: str) -> dict[bytes, list[Any]]:
    """The replies of ``command key`` for each of ``commands``, per key, each key read on the node of its
    slot (one pipeline per node)."""
    out: dict[bytes, list[Any]] = {}
    n = len(commands)
    for node, group in side.group(keys).items():
        replies = pipe(side.clients[node], [(c, k) for k in group for c in commands])
        for j, key in enumerate(group):
            out[key] = replies[j * n : (j + 1) * n]
    return out


def differing_keys(src: redis.Redis, tgt: Side, keys: list[bytes], options: FollowOptions) -> list[bytes]:
    """The keys of ``keys`` (all on the source node ``src``) whose value or TTL differs between source and
    target (or that are gone); each is read on the target node of its slot."""
    sizes = pipe(src, [("MEMORY", "USAGE", k) for k in keys])
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
        a = pipe(src, [c for k in small for c in (("PTTL", k), ("DUMP", k))])
        b = _per_node(tgt, small, "PTTL", "DUMP")
        for i, key in enumerate(small):
            replies = (a[2 * i], a[2 * i + 1], *b[key])
            if _small_differs(src, tgt.client_for(key), key, replies, options.ttl_tolerance_ms):
                out.append(key)
    for key in big:
        t = tgt.client_for(key)
        s_type, t_type = _text(raw_command(src, "TYPE", key)), _text(raw_command(t, "TYPE", key))
        cmd = _LENGTH.get(s_type)
        if s_type != t_type or cmd is None:
            out.append(key)
            continue
        s_ttl, t_ttl_big = int(raw_command(src, "PTTL", key)), int(raw_command(t, "PTTL", key))
        if raw_command(src, cmd, key) != raw_command(t, cmd, key) or _ttl_differs(
            s_ttl, t_ttl_big, options.ttl_tolerance_ms
        ):
            out.append(key)
    return out


def scan_pass(
    applier: Applier, db: int, node: int, options: FollowOptions, cancel: CancelToken | None
) -> None:
    """Walk ``db`` on source node ``node`` (a cluster's primary, or the single server: 0) and re-copy what
    differs, then walk the target and delete what that node no longer has."""
    src, tgt = applier.sides(db)
    limiter = applier.limiter
    for batch in scan_batches(src.clients[node], db=db, limiter=limiter, cancel=cancel):
        if batch.keys:
            limiter.acquire(3 * len(batch.keys), "while following")
            changed = differing_keys(src.clients[node], tgt, batch.keys, options)
            if changed:
                applier.apply(changed, db, node, cancel)
    delete_extra(applier, db, cancel, node=node)


def delete_extra(applier: Applier, db: int, cancel: CancelToken | None, *, node: int | None = None) -> int:
    """Walk ``db`` on every target node and delete the keys the source does not have; with ``node``,
    only the keys whose slot source node ``node`` serves (a cluster source). Returns how many."""
    src, tgt = applier.sides(db)
    deleted = 0
    for client in tgt.clients:
        for batch in scan_batches(client, db=db, cancel=cancel):
            keys = batch.keys
            if node is not None and src.clustered:
                keys = [k for k in keys if src.index_for(k) == node]
            if not keys:
                continue
            exists = {k: r[0] for k, r in _per_node(src, keys, "EXISTS").items()}
            applier.limiter.acquire(len(keys), "while following")
            gone = [k for k in keys if not isinstance(exists[k], Exception) and not exists[k]]
            if gone:
                deleted += delete_keys(tgt, gone)
    applier.report.deleted += deleted
    return deleted


def reconcile(
    applier: Applier,
    dbs: list[int],
    why: str,
    reporter: Reporter,
    cancel: CancelToken | None,
    *,
    node: int | None = None,
) -> None:
    """After a flush on the source (on its node ``node`` of a cluster): delete the target keys of ``dbs``
    the source no longer has."""
    deleted = sum(delete_extra(applier, db, cancel, node=node) for db in dbs)
    applier.report.flushes.append(f"{why}: deleted {deleted} target keys the source no longer has")
    reporter.warning(applier.report.flushes[-1])


def _flush_calls(client: redis.Redis) -> int | None:
    """Calls of FLUSHDB + FLUSHALL so far on the source (None when INFO commandstats is refused)."""
    try:
        stats = parse_info(raw_command(client, "INFO", "commandstats")).commandstats
    except RedisOpsError:
        return None
    return sum(stats[name].calls for name in ("flushdb", "flushall") if name in stats)


class FlushWatch:
    """Finds flushes on one source node (the single server, or a cluster's primary ``node``) that keyspace
    notifications do not report."""

    def __init__(self, applier: Applier, followed: set[int], node: int = 0) -> None:
        self.applier, self.followed, self.node = applier, followed, node
        src = applier.sides(min(followed))[0]
        self.clustered = src.clustered
        self.probe = src.clients[node]
        self.where = applier.label(node)
        self.calls = _flush_calls(self.probe)
        self.sizes = keyspace_sizes(self.probe)

    def _reconcile(self, dbs: list[int], why: str, reporter: Reporter, cancel: CancelToken | None) -> None:
        reconcile(self.applier, dbs, why, reporter, cancel, node=self.node if self.clustered else None)

    def check(self, reporter: Reporter, cancel: CancelToken | None) -> None:
        """Reconcile the target when the node ran FLUSHDB/FLUSHALL, or a followed db emptied on it."""
        calls = _flush_calls(self.probe)
        if calls is not None and self.calls is not None and calls > self.calls:
            self.calls = calls
            self.sizes = keyspace_sizes(self.probe)
            why = (
                f"the source{self.where} ran FLUSHDB/FLUSHALL (seen in INFO commandstats; keyspace "
                "notifications do not report it)"
            )
            self._reconcile(sorted(self.followed), why, reporter, cancel)
            return
        self.calls = calls if calls is not None else self.calls
        sizes, before = keyspace_sizes(self.probe), self.sizes
        self.sizes = sizes
        for db in sorted(self.followed):
            if sizes.get(db, 0):
                continue
            if self.clustered:  # the target holds every primary's keys: a primary that emptied
                if before.get(db, 0):
                    self._reconcile([db], f"db {db}{self.where} emptied on the source (a flush?)", reporter,
                                    cancel)  # fmt: skip
            elif sum(int(raw_command(c, "DBSIZE")) for c in self.applier.sides(db)[1].clients):
                self._reconcile(
                    [db], f"db {db} is empty on the source but not on the target (a flush?)", reporter, cancel
                )
