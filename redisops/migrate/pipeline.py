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

__all__ = ["run_pipeline"]


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
    while len(replies) < n:
        reply = reader.gets()
        if reply is _NOT_ENOUGH:
            more()
            continue
        if isinstance(reply, rex.ConnectionError):
            raise reply
        replies.append(reply)
    return replies
