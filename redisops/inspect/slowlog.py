"""``SLOWLOG GET`` replies, incremental reading with a watermark, and grouping.

Input of :func:`parse_slowlog` is the raw nested reply of ``execute_command("SLOWLOG", "GET", n)``
(RESP2 or RESP3, ``decode_responses`` either way): a list of entries
``[id, unix time, duration µs, [arg, ...], client addr, client name]`` (4 elements before Redis 4.0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from redisops.inspect._common import as_sequence, fail, to_int, to_text
from redisops.inspect.models import SlowlogDelta, SlowlogEntry, SlowlogGroup, SlowlogWatermark

__all__ = [
    "group_by_client",
    "group_by_shape",
    "group_slowlog",
    "new_slowlog_entries",
    "parse_slowlog",
    "parse_slowlog_entry",
]


def parse_slowlog_entry(raw: Any) -> SlowlogEntry:
    """Parse one raw slow-log entry; raises ParseError when it is not the documented shape."""
    entry = as_sequence(raw, "SLOWLOG entry")
    if len(entry) < 4:
        fail(f"SLOWLOG entry: expected at least 4 elements, got {len(entry)}", entry)
    argv = tuple(to_text(arg, "SLOWLOG entry argument") for arg in as_sequence(entry[3], "SLOWLOG argv"))
    return SlowlogEntry(
        id=to_int(entry[0], "SLOWLOG entry id"),
        started_at=to_int(entry[1], "SLOWLOG entry time"),
        duration_us=to_int(entry[2], "SLOWLOG entry duration"),
        argv=argv,
        client_addr=to_text(entry[4], "SLOWLOG client addr") if len(entry) > 4 else "",
        client_name=to_text(entry[5], "SLOWLOG client name") if len(entry) > 5 else "",
    )


def parse_slowlog(reply: Any) -> list[SlowlogEntry]:
    """Parse a raw ``SLOWLOG GET`` reply into entries, in reply order (newest first as Redis sends them).

    Raises:
        ParseError: the reply is not a list of entries of the documented shape.
    """
    return [parse_slowlog_entry(raw) for raw in as_sequence(reply, "SLOWLOG GET")]


def new_slowlog_entries(entries: Iterable[SlowlogEntry], watermark: SlowlogWatermark | None) -> SlowlogDelta:
    """The entries of a batch that are newer than ``watermark``, oldest first, and the next watermark.

    Slow-log ids grow by one per entry and the log is a ring (``slowlog-max-len``, 128 by default), so
    a gap between the watermark and the oldest new id counts entries that rotated out unread
    (``missed``). ``SLOWLOG RESET`` keeps the id counter; a restart (or a failover to another server)
    restarts ids at 0. That is detected as ids below the watermark whose time is later than the
    watermark's time (an entry with a lower id is never later in one server's life), or a batch whose
    newest id is below the watermark; such entries are all new and ``reset`` is set. A restart within
    the same second as the watermark whose new ids have not passed it yet cannot be told apart from old
    entries and is caught on a later poll. ``watermark=None`` (first poll) returns the whole batch.
    """
    batch = sorted(entries, key=lambda e: e.id)
    if not batch:
        return SlowlogDelta(entries=(), watermark=watermark)
    newest = batch[-1]
    mark = SlowlogWatermark(last_id=newest.id, last_time=newest.started_at)
    if watermark is None:
        return SlowlogDelta(entries=tuple(batch), watermark=mark)
    if newest.id < watermark.last_id:
        return SlowlogDelta(entries=tuple(batch), watermark=mark, reset=True, missed=max(batch[0].id, 0))
    fresh: list[SlowlogEntry] = []
    reset = False
    for entry in batch:
        if entry.id > watermark.last_id:
            fresh.append(entry)
        elif entry.started_at > watermark.last_time:
            fresh.append(entry)
            reset = True
    if not fresh:
        return SlowlogDelta(entries=(), watermark=watermark)
    missed = max(fresh[0].id, 0) if reset else max(fresh[0].id - watermark.last_id - 1, 0)
    return SlowlogDelta(entries=tuple(fresh), watermark=mark, reset=reset, missed=missed)


def group_slowlog(entries: Iterable[SlowlogEntry], key: Callable[[SlowlogEntry], str]) -> list[SlowlogGroup]:
    """Group entries by ``key(entry)``: count, total and max duration; sorted by total µs, largest first."""
    acc: dict[str, list[int]] = {}
    for entry in entries:
        slot = acc.setdefault(key(entry), [0, 0, 0])
        slot[0] += 1
        slot[1] += entry.duration_us
        slot[2] = max(slot[2], entry.duration_us)
    groups = [SlowlogGroup(key=k, count=c, total_us=t, max_us=m) for k, (c, t, m) in acc.items()]
    groups.sort(key=lambda g: (-g.total_us, -g.count, g.key))
    return groups


def group_by_shape(entries: Iterable[SlowlogEntry]) -> list[SlowlogGroup]:
    """Group by :attr:`SlowlogEntry.shape` (``GET user:*``)."""
    return group_slowlog(entries, lambda e: e.shape)


def group_by_client(entries: Iterable[SlowlogEntry]) -> list[SlowlogGroup]:
    """Group by client address (``ip:port``; "" for servers before 4.0)."""
    return group_slowlog(entries, lambda e: e.client_addr)
