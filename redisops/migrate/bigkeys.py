"""Copy one key type by type, in chunks: big keys (no DUMP of 50 MB held in memory) and payloads the
target refuses (a newer RDB version).

The value is rebuilt under a temporary name on the target, chunk by chunk (HSCAN -> HSET, SSCAN -> SADD,
ZSCAN -> ZADD, LRANGE ranges -> RPUSH, XRANGE -> XADD, GETRANGE -> APPEND), then RENAMEd (RENAMENX
without ``replace``) over the key, so clients of the target never see half a key. The temporary key
carries a safety TTL (renewed every chunk) so a copy killed midway leaves nothing behind for long; a
cancelled copy deletes it at once. The TTL the source key has at the end is applied before the rename;
a key gone from the source by then is counted as vanished, not written.

Streams: entries, the last generated id and the consumer groups (with their last delivered id) are
copied; pending entry lists and consumers are not (DUMP/RESTORE copies them for keys that are not big).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import redis
import redis.exceptions as rex

from redisops.adapters.redis_conn import raw_command
from redisops.cancel import CancelToken
from redisops.errors import PlatformError, RedisOpsError
from redisops.migrate.walker import RateLimiter

__all__ = ["KeyOutcome", "copy_by_type", "temp_key_for"]

#: temporary keys expire after this unless renewed (a killed copy leaves nothing behind for long)
TEMP_TTL_MS = 600_000
_TEMP_SUFFIX = b":__redisops_migrate_tmp__"


@dataclass(frozen=True, slots=True)
class KeyOutcome:
    """What happened to one key: ``copied``, ``skipped``, ``expired``, ``vanished`` or ``failed``."""

    status: str
    reason: str = ""
    nbytes: int = 0
    chunks: int = 0
    note: str = ""


def _hashtag(key: bytes) -> bytes | None:
    start = key.find(b"{")
    if start < 0:
        return None
    end = key.find(b"}", start + 1)
    if end <= start + 1:
        return None
    return key[start + 1 : end]


def temp_key_for(key: bytes) -> bytes:
    """The temporary name of ``key`` on the target, in the same cluster slot (same hash tag)."""
    if _hashtag(key) is not None:
        return key + _TEMP_SUFFIX
    return b"{" + key + b"}" + _TEMP_SUFFIX


def _text(v: Any) -> str:
    return v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else str(v)


class _Copier:
    def __init__(
        self,
        src: redis.Redis,
        tgt: redis.Redis,
        key: bytes,
        tmp: bytes,
        chunk: int,
        chunk_bytes: int,
        limiter: RateLimiter | None,
        cancel: CancelToken | None,
    ) -> None:
        self.src, self.tgt, self.key, self.tmp = src, tgt, key, tmp
        self.chunk, self.chunk_bytes = chunk, chunk_bytes
        self.limiter, self.cancel = limiter, cancel
        self.bytes = 0
        self.chunks = 0
        self.note = ""

    def read(self, *args: Any) -> Any:
        if self.cancel is not None:
            self.cancel.check(f"while copying the big key {_text(self.key)!r}")
        if self.limiter is not None:
            self.limiter.acquire(1, "while copying a big key")
        return raw_command(self.src, *args)

    def write(self, *args: Any) -> None:
        pipe = self.tgt.pipeline(transaction=False)
        pipe.execute_command(*args)  # type: ignore[no-untyped-call]
        pipe.execute_command("PEXPIRE", self.tmp, TEMP_TTL_MS)  # type: ignore[no-untyped-call]
        pipe.execute()
        self.chunks += 1

    def scan_family(self, scan: str, add: str) -> None:
        cursor = b"0"
        while True:
            reply = self.read(scan, self.key, cursor, "COUNT", self.chunk)
            cursor, items = reply[0], reply[1]
            if items:
                if add == "ZADD":  # ZSCAN gives member, score; ZADD wants score, member
                    args: list[Any] = []
                    for i in range(0, len(items), 2):
                        args += [items[i + 1], items[i]]
                    items = args
                self.bytes += sum(len(x) for x in items)
                self.write(add, self.tmp, *items)
            if cursor in (b"0", 0, "0"):
                return

    def list_(self) -> None:
        start = 0
        while True:
            items = self.read("LRANGE", self.key, start, start + self.chunk - 1)
            if items:
                self.bytes += sum(len(x) for x in items)
                self.write("RPUSH", self.tmp, *items)
            if len(items) < self.chunk:
                return
            start += self.chunk

    def string(self) -> None:
        start = 0
        self.write("SET", self.tmp, b"")
        while True:
            piece = self.read("GETRANGE", self.key, start, start + self.chunk_bytes - 1)
            if piece:
                self.bytes += len(piece)
                self.write("APPEND", self.tmp, piece)
            if len(piece) < self.chunk_bytes:
                return
            start += self.chunk_bytes

    def stream(self) -> None:
        start: bytes = b"-"
        wrote = False
        while True:
            entries = self.read("XRANGE", self.key, start, "+", "COUNT", self.chunk)
            if entries:
                pipe = self.tgt.pipeline(transaction=False)
                for entry_id, fields in entries:
                    self.bytes += sum(len(x) for x in fields)
                    pipe.execute_command("XADD", self.tmp, entry_id, *fields)  # type: ignore[no-untyped-call]
                pipe.execute_command("PEXPIRE", self.tmp, TEMP_TTL_MS)  # type: ignore[no-untyped-call]
                pipe.execute()
                self.chunks += 1
                wrote = True
                start = b"(" + entries[-1][0]
            if len(entries) < self.chunk:
                break
        if not wrote:  # an empty stream still exists: create it empty
            raw_command(self.tgt, "XGROUP", "CREATE", self.tmp, "__redisops__", "0", "MKSTREAM")
            raw_command(self.tgt, "XGROUP", "DESTROY", self.tmp, "__redisops__")
        info = _pairs(self.read("XINFO", "STREAM", self.key))
        last = info.get(b"last-generated-id")
        if last is not None:
            added = info.get(b"entries-added")
            maxdel = info.get(b"max-deleted-entry-id")
            try:
                if added is not None and maxdel is not None:
                    raw_command(
                        self.tgt, "XSETID", self.tmp, last, "ENTRIESADDED", added, "MAXDELETEDID", maxdel
                    )
                else:
                    raw_command(self.tgt, "XSETID", self.tmp, last)
            except RedisOpsError:
                raw_command(self.tgt, "XSETID", self.tmp, last)
        groups = self.read("XINFO", "GROUPS", self.key)
        for g in groups:
            gi = _pairs(g)
            raw_command(self.tgt, "XGROUP", "CREATE", self.tmp, gi[b"name"], gi[b"last-delivered-id"])
            if int(gi.get(b"pending", 0) or 0):
                self.note = "pending entries and consumers of its consumer groups were not copied"


def _pairs(reply: Any) -> dict[bytes, Any]:
    items = list(reply or [])
    return {items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)}


def copy_by_type(
    src: redis.Redis,
    tgt: redis.Redis,
    key: bytes,
    *,
    replace: bool,
    chunk: int = 1000,
    chunk_bytes: int = 1 << 20,
    limiter: RateLimiter | None = None,
    cancel: CancelToken | None = None,
) -> KeyOutcome:
    """Copy ``key`` from ``src`` to ``tgt`` (clients on the same db) type by type, in chunks.

    Returns the outcome; raises :class:`~redisops.errors.Interrupted` on cancel (the temporary key is
    deleted first) and a :class:`~redisops.errors.RedisOpsError` for a connection failure.
    """
    tmp = temp_key_for(key)
    kind = _text(raw_command(src, "TYPE", key))
    if kind == "none":
        return KeyOutcome("vanished", "deleted or expired before it was copied")
    if not replace and int(raw_command(tgt, "EXISTS", key)):
        return KeyOutcome("skipped", "target key exists (BUSYKEY); copy with replace to overwrite")
    c = _Copier(src, tgt, key, tmp, chunk, chunk_bytes, limiter, cancel)
    raw_command(tgt, "DEL", tmp)
    try:
        if kind == "hash":
            c.scan_family("HSCAN", "HSET")
        elif kind == "set":
            c.scan_family("SSCAN", "SADD")
        elif kind == "zset":
            c.scan_family("ZSCAN", "ZADD")
        elif kind == "list":
            c.list_()
        elif kind == "string":
            c.string()
        elif kind == "stream":
            c.stream()
        else:
            return KeyOutcome("failed", f"type {kind} cannot be copied type by type (a module type?)")
        return _finish(src, tgt, key, tmp, kind, replace, c)
    except (PlatformError, rex.ResponseError) as e:
        # one key refused (a type changed under us, the target's OOM): count it, go on with the others
        with contextlib.suppress(RedisOpsError, rex.RedisError):
            raw_command(tgt, "DEL", tmp)
        text = getattr(e, "message", None) or str(e)
        if "WRONGTYPE" in text:
            return KeyOutcome("failed", f"its type changed from {kind} while copied", c.bytes, c.chunks)
        return KeyOutcome("failed", f"refused while copied type by type: {_short(text)}", c.bytes, c.chunks)
    except BaseException:
        with contextlib.suppress(RedisOpsError, rex.RedisError):  # else the safety TTL removes it
            raw_command(tgt, "DEL", tmp)
        raise


def _short(text: str) -> str:
    return text if len(text) <= 120 else text[:117] + "..."


def _finish(
    src: redis.Redis, tgt: redis.Redis, key: bytes, tmp: bytes, kind: str, replace: bool, c: _Copier
) -> KeyOutcome:
    t0 = time.monotonic()
    pipe = src.pipeline(transaction=False)
    pipe.execute_command("TYPE", key)  # type: ignore[no-untyped-call]
    pipe.execute_command("PTTL", key)  # type: ignore[no-untyped-call]
    now_type, pttl = pipe.execute(raise_on_error=False)
    if _text(now_type) == "none" or int(pttl) == -2:
        raw_command(tgt, "DEL", tmp)
        return KeyOutcome("vanished", "deleted or expired while it was copied", c.bytes, c.chunks)
    if _text(now_type) != kind:
        raw_command(tgt, "DEL", tmp)
        return KeyOutcome("failed", f"its type changed from {kind} to {_text(now_type)} while it was copied")
    pttl = int(pttl)
    if pttl > 0:
        remaining = pttl - int((time.monotonic() - t0) * 1000)
        if remaining <= 0:
            raw_command(tgt, "DEL", tmp)
            return KeyOutcome("expired", "its TTL ran out before it was written", c.bytes, c.chunks)
        raw_command(tgt, "PEXPIRE", tmp, remaining)
    else:
        raw_command(tgt, "PERSIST", tmp)
    if replace:
        raw_command(tgt, "RENAME", tmp, key)
    elif not int(raw_command(tgt, "RENAMENX", tmp, key)):
        raw_command(tgt, "DEL", tmp)
        return KeyOutcome("skipped", "target key exists (BUSYKEY); copy with replace to overwrite")
    return KeyOutcome("copied", "", c.bytes, c.chunks, c.note)
