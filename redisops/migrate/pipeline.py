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
        out: list[Any] = []
        for _ in commands:
            try:
                out.append(conn.read_response())
            except rex.ResponseError as e:
                out.append(e)
        return out
    except BaseException:
        conn.disconnect()  # type: ignore[no-untyped-call]
        raise
    finally:
        pool.release(conn)
