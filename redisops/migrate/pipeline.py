"""A lean pipeline for the copy's hot path: commands packed by hiredis in one buffer, one send, replies
read in order, error replies kept in place (redis-py's Pipeline spends most of a copy's client CPU on
packing and bookkeeping the copy does not need).

    replies = run_pipeline(client, [("PTTL", key), ("DUMP", key)])
    # -> [12000, b"\\x00..."]; an error reply is a redis.exceptions.ResponseError in its slot
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
import redis.exceptions as rex

_Pack = Callable[[tuple[Any, ...]], bytes]
_pack: _Pack | None
try:  # hiredis is redis-py's optional C parser; without it redis-py's own packer is used
    from hiredis import pack_command as _pack
except ImportError:  # pragma: no cover - hiredis is a dependency of the install
    _pack = None

try:
    from redis._parsers.hiredis import NOT_ENOUGH_DATA as _NOT_ENOUGH
except ImportError:  # pragma: no cover - another redis-py layout: the portable path
    _NOT_ENOUGH = None

__all__ = ["pack_memory_usage", "pack_pttl_dump", "pack_restores", "run_packed", "run_pipeline"]


def run_pipeline(client: redis.Redis, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """Send ``commands`` in one write and read their replies (no transaction).

    Raises redis-py's connection errors (the caller translates them); error replies are returned.
    """
    if not commands:
        return []
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        if _pack is not None:
            conn.send_packed_command([b"".join(_pack(tuple(c)) for c in commands)])  # type: ignore[no-untyped-call]
        else:  # pragma: no cover
            conn.send_packed_command(conn.pack_commands([tuple(c) for c in commands]))  # type: ignore[no-untyped-call]
        return _read_replies(conn, len(commands))
    except BaseException:
        conn.disconnect()  # type: ignore[no-untyped-call]
        raise
    finally:
        pool.release(conn)


def run_packed(client: redis.Redis, payload: bytes, n: int) -> list[Any]:
    """Send ``payload`` (``n`` commands already in RESP, e.g. from :func:`pack_pttl_dump`) in one write and
    read their ``n`` replies, like :func:`run_pipeline`."""
    if not n:
        return []
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_packed_command([payload])  # type: ignore[no-untyped-call]
        return _read_replies(conn, n)
    except BaseException:
        conn.disconnect()  # type: ignore[no-untyped-call]
        raise
    finally:
        pool.release(conn)


# RESP packed with bytes formatting: about twice as fast as a generic packer for the copy's few shapes
_PTTL_DUMP = b"*2\r\n$4\r\nPTTL\r\n$%d\r\n%b\r\n*2\r\n$4\r\nDUMP\r\n$%d\r\n%b\r\n"
_MEMORY_USAGE = b"*3\r\n$6\r\nMEMORY\r\n$5\r\nUSAGE\r\n$%d\r\n%b\r\n"
_RESTORE = b"*4\r\n$7\r\nRESTORE\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
_RESTORE_REPLACE = b"*5\r\n$7\r\nRESTORE\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n$7\r\nREPLACE\r\n"


def pack_pttl_dump(keys: Sequence[bytes]) -> bytes:
    """``PTTL key`` and ``DUMP key`` for every key, in RESP (2 replies per key)."""
    fmt = _PTTL_DUMP
    return b"".join([fmt % (len(k), k, len(k), k) for k in keys])


def pack_memory_usage(keys: Sequence[bytes]) -> bytes:
    """``MEMORY USAGE key`` for every key, in RESP."""
    fmt = _MEMORY_USAGE
    return b"".join([fmt % (len(k), k) for k in keys])


def pack_restores(rows: Sequence[tuple[bytes, int, bytes]], *, replace: bool = False) -> bytes:
    """``RESTORE key ttl payload [REPLACE]`` for every ``(key, ttl, payload)``, in RESP."""
    fmt = _RESTORE_REPLACE if replace else _RESTORE
    return b"".join(
        [
            fmt % (len(key), key, 1, b"0", len(payload), payload)
            if not ttl
            else fmt % (len(key), key, len(t := b"%d" % ttl), t, len(payload), payload)
            for key, ttl, payload in rows
        ]
    )


def _read_replies(conn: Any, n: int) -> list[Any]:
    """``n`` replies: straight from the connection's hiredis reader when it has one and speaks RESP2
    (redis-py's per-reply bookkeeping costs more than the parse), else through ``read_response``
    (also for a connection class with its own ``read_response``)."""
    parser = getattr(conn, "_parser", None)
    reader = getattr(parser, "_reader", None)
    more = getattr(parser, "read_from_socket", None)
    custom = type(conn).read_response is not redis.Connection.read_response  # a subclass reads its own way
    if (
        custom
        or _NOT_ENOUGH is None
        or reader is None
        or more is None
        or str(getattr(conn, "protocol", 2)) != "2"
    ):
        out: list[Any] = []
        for _ in range(n):
            try:
                out.append(conn.read_response())
            except rex.ResponseError as e:
                out.append(e)
        return out
    replies: list[Any] = []
    gets, append, not_enough = reader.gets, replies.append, _NOT_ENOUGH
    for _ in range(n):
        reply = gets()
        while reply is not_enough:
            more()
            reply = gets()
        append(reply)
    # an error redis-py maps to a connection error (LOADING, max clients...) is raised, not kept:
    # looked for among the few distinct reply types (in C), not reply by reply
    for kind in set(map(type, replies)):
        if issubclass(kind, rex.ConnectionError):
            raise next(r for r in replies if isinstance(r, rex.ConnectionError))
    return replies
