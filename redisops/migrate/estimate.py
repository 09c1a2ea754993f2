"""What the migration plan measures on the source: big keys and the copy's speed, without writing to the
target.

* :func:`find_big_keys` walks the source (SCAN, throttled) asking MEMORY USAGE of each key, up to a
  limit, and keeps those above a threshold;
* :func:`measure_sample` times DUMP + PTTL of a random sample on the source and RESTORE of the same
  payloads into a throwaway redis-server (started here, stopped at the end; the target is never
  written), and counts payloads that server refuses (a newer RDB version);
* :func:`extrapolate` (pure) turns the sample into an estimated copy time for the whole dataset.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from redisops.adapters.local import free_port, start_redis
from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.cancel import CancelToken
from redisops.errors import DependencyMissing, RedisOpsError
from redisops.migrate.compare import ReplyError, raw_pipeline
from redisops.migrate.walker import RateLimiter, scan_batches

__all__ = [
    "BigKey",
    "BigKeyScan",
    "CopyEstimate",
    "SampleTiming",
    "extrapolate",
    "find_big_keys",
    "measure_sample",
]


@dataclass(frozen=True)
class BigKey:
    """A key above the big-key threshold: db, name, MEMORY USAGE bytes."""

    db: int
    key: str
    bytes: int


@dataclass
class BigKeyScan:
    """The big keys found (the biggest first, at most ``top``; ``count`` and ``total_bytes`` of all of
    them), how many keys were examined and whether that was all."""

    keys: list[BigKey] = field(default_factory=list)
    examined: int = 0
    complete: bool = True
    total_bytes: int = 0
    count: int = 0


@dataclass(frozen=True)
class SampleTiming:
    """DUMP + PTTL of ``keys`` sampled keys on the source and their RESTORE into a scratch server."""

    keys: int
    payload_bytes: int
    dump_seconds: float
    restore_seconds: float
    refused: int = 0
    refusal: str = ""
    scratch_version: str = ""


@dataclass(frozen=True)
class CopyEstimate:
    """The estimated copy time of the whole dataset from a sample (see :func:`extrapolate`)."""

    seconds: float
    keys_per_second: float
    mb_per_second: float
    sample_keys: int
    limited_by_ops_cap: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, rounded."""
        return {
            "seconds": round(self.seconds, 2),
            "keys_per_second": round(self.keys_per_second),
            "mb_per_second": round(self.mb_per_second, 2),
            "sample_keys": self.sample_keys,
            "limited_by_ops_cap": self.limited_by_ops_cap,
            "note": self.note,
        }


def extrapolate(
    total_keys: int,
    sample: SampleTiming,
    *,
    big_bytes: int = 0,
    big_bytes_per_second: float | None = None,
    max_ops: float = 0.0,
) -> CopyEstimate | None:
    """The copy time of ``total_keys`` keys at the sample's pace (DUMP on the source then RESTORE, one
    after the other, as a pipelined batch copy does), plus ``big_bytes`` of big keys at
    ``big_bytes_per_second`` (a timed window of a big key; default the sample's bytes per second); at
    least the time the ops cap allows (a key costs about 3 commands: SCAN share, DUMP, PTTL on the
    source). None for an empty sample."""
    if sample.keys <= 0:
        return None
    per_key = max(sample.dump_seconds + sample.restore_seconds, 1e-9) / sample.keys
    seconds = total_keys * per_key
    bytes_per_s = big_bytes_per_second or sample.payload_bytes / max(
        sample.dump_seconds + sample.restore_seconds, 1e-9
    )
    if big_bytes and bytes_per_s > 0:
        seconds += big_bytes / bytes_per_s
    capped = False
    if max_ops > 0:
        floor = total_keys * 3 / max_ops
        if floor > seconds:
            seconds, capped = floor, True
    kps = total_keys / seconds if seconds > 0 else 0.0
    total_bytes = total_keys * sample.payload_bytes / sample.keys + big_bytes
    mbps = total_bytes / seconds / 1e6 if seconds > 0 else 0.0
    note = f"from {sample.keys} sampled keys (DUMP/PTTL on the source, RESTORE into a scratch server)"
    return CopyEstimate(seconds, kps, mbps, sample.keys, capped, note)


def find_big_keys(
    source: RedisEndpoint,
    dbs: list[int],
    *,
    threshold: int,
    limit: int,
    top: int = 20,
    limiter: RateLimiter | None = None,
    cancel: CancelToken | None = None,
) -> BigKeyScan:
    """MEMORY USAGE of up to ``limit`` keys (SCAN order) of ``dbs``; the ``top`` biggest above
    ``threshold`` bytes. ``complete`` is False when the limit stopped the walk."""
    out = BigKeyScan()
    found: list[BigKey] = []
    for db in dbs:
        client = connect(source.with_db(db))
        try:
            for batch in scan_batches(client, db=db, count=1000, limiter=limiter, cancel=cancel):
                keys = batch.keys[: max(0, limit - out.examined)]
                if limiter is not None:
                    limiter.acquire(len(keys), "while sizing keys")
                sizes = raw_pipeline(client, [("MEMORY", "USAGE", k) for k in keys])
                out.examined += len(keys)
                for k, size in zip(keys, sizes, strict=True):
                    if isinstance(size, int) and size >= threshold:
                        found.append(BigKey(db, k.decode("utf-8", "backslashreplace"), size))
                if out.examined >= limit and not batch.done:
                    out.complete = False
                    break
        finally:
            client.close()
        if not out.complete:
            break
    found.sort(key=lambda b: -b.bytes)
    out.total_bytes = sum(b.bytes for b in found)
    out.count = len(found)
    out.keys = found[:top]
    return out


#: the read of one window of a big key, by type (what the chunked copy reads per step)
_WINDOW: dict[str, tuple[str, ...]] = {
    "string": ("GETRANGE", "{k}", "0", str((1 << 20) - 1)),
    "hash": ("HSCAN", "{k}", "0", "COUNT", "1000"),
    "set": ("SSCAN", "{k}", "0", "COUNT", "1000"),
    "zset": ("ZRANGE", "{k}", "0", "999", "WITHSCORES"),
    "list": ("LRANGE", "{k}", "0", "999"),
    "stream": ("XRANGE", "{k}", "-", "+", "COUNT", "1000"),
}


def _size(reply: Any) -> int:
    if isinstance(reply, bytes):
        return len(reply)
    if isinstance(reply, list):
        return sum(_size(r) for r in reply)
    return 8


def big_key_throughput(source: RedisEndpoint, key: BigKey) -> float | None:
    """Bytes per second of the copy of a big key, from timing the read of one window of it (as the
    chunked copy reads it) and counting the write as long again; None when it cannot be read."""
    client = connect(source.with_db(key.db))
    try:
        kind = raw_pipeline(client, [("TYPE", key.key)])[0]
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind not in _WINDOW:
            return None
        args = [key.key if a == "{k}" else a for a in _WINDOW[kind]]
        t0 = time.perf_counter()
        reply = raw_pipeline(client, [args])[0]
        seconds = time.perf_counter() - t0
    finally:
        client.close()
    if isinstance(reply, ReplyError) or seconds <= 0:
        return None
    return _size(reply) / (2 * seconds)


def _sample_keys(client: redis.Redis, n: int) -> list[bytes]:
    replies = raw_pipeline(client, [("RANDOMKEY",)] * n)
    return list(dict.fromkeys(r for r in replies if isinstance(r, bytes)))


def measure_sample(
    source: RedisEndpoint,
    per_db: dict[int, int],
    *,
    big_keys: set[tuple[int, str]] | None = None,
    cancel: CancelToken | None = None,
) -> SampleTiming:
    """Time DUMP + PTTL of ``per_db[db]`` random keys of each db on the source, then RESTORE of those
    payloads into a throwaway redis-server on loopback (removed afterwards). Big keys (``big_keys``)
    are left out: the estimate adds them by bytes.

    Raises:
        DependencyMissing: no redis-server on this machine for the scratch server.
    """
    payloads: list[tuple[int, bytes, int, bytes]] = []
    dump_s = 0.0
    skip = big_keys or set()
    for db, n in per_db.items():
        if n <= 0:
            continue
        client = connect(source.with_db(db))
        try:
            keys = [k for k in _sample_keys(client, n) if (db, k.decode("utf-8", "replace")) not in skip]
            if cancel is not None:
                cancel.check("while sampling the source")
            t0 = time.perf_counter()
            replies = raw_pipeline(client, [c for k in keys for c in (("DUMP", k), ("PTTL", k))])
            dump_s += time.perf_counter() - t0
        finally:
            client.close()
        for k, dump, pttl in zip(keys, replies[0::2], replies[1::2], strict=True):
            if isinstance(dump, bytes) and isinstance(pttl, int):
                payloads.append((db, k, max(0, pttl), dump))
    if not payloads:
        return SampleTiming(0, 0, dump_s, 0.0)
    restore_s, refused, refusal, version = restore_into_scratch(payloads, cancel)
    size = sum(len(p[3]) for p in payloads)
    return SampleTiming(len(payloads), size, dump_s, restore_s, refused, refusal, version)


def restore_into_scratch(
    payloads: list[tuple[int, bytes, int, bytes]], cancel: CancelToken | None = None
) -> tuple[float, int, str, str]:
    """RESTORE ``(db, key, ttl ms, DUMP payload)`` into a throwaway redis-server on loopback (started
    here from this machine's redis-server, removed afterwards): ``(seconds, refused, first refusal,
    the scratch server's version)``. A payload of a newer RDB version than the server's is refused."""
    workdir = Path(tempfile.mkdtemp(prefix="redisops-plan-scratch-"))
    port = free_port()
    dbs = max(16, max(p[0] for p in payloads) + 1)
    conf = (
        f'bind 127.0.0.1\nport {port}\ndir {workdir}\nsave ""\nappendonly no\nprotected-mode yes\n'
        f'databases {dbs}\nlogfile ""\n'
    )
    try:
        proc = start_redis(conf, workdir, port=port, name="plan-scratch")
    except DependencyMissing:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        client = connect(RedisEndpoint(port=port))
        try:
            version = str(client.info("server").get("redis_version", ""))
            refused, refusal, total = 0, "", 0.0
            by_db: dict[int, list[tuple[bytes, int, bytes]]] = {}
            for db, k, ttl, dump in payloads:
                by_db.setdefault(db, []).append((k, ttl, dump))
            for db, items in by_db.items():
                if cancel is not None:
                    cancel.check("while timing RESTORE")
                c = connect(RedisEndpoint(port=port, db=db))
                try:
                    t0 = time.perf_counter()
                    replies = raw_pipeline(c, [("RESTORE", k, ttl, d, "REPLACE") for k, ttl, d in items])
                    total += time.perf_counter() - t0
                finally:
                    c.close()
                for r in replies:
                    if isinstance(r, ReplyError):
                        refused += 1
                        refusal = refusal or r.message
            return total, refused, refusal, version
        finally:
            client.close()
    except RedisOpsError:
        raise
    finally:
        proc.stop(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)


def sample_sizes(keys_per_db: dict[int, int], sample: int) -> dict[int, int]:
    """``sample`` keys shared among the dbs in proportion to their key counts (at least 1 each)."""
    total = sum(keys_per_db.values())
    if total == 0:
        return {}
    return {db: max(1, math.ceil(sample * n / total)) for db, n in keys_per_db.items() if n > 0}
