"""``MEMORY STATS``, ``MEMORY USAGE`` and ``MEMORY DOCTOR``.

``MEMORY STATS`` is a flat alternating array in RESP2 (a map in RESP3) of scalars, except the
``db.N`` entries whose values are themselves such arrays. Doubles arrive as bulk strings in RESP2
(``b"1.0878"``) and as floats in RESP3; both are accepted.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from redisops.inspect._common import coerce_scalar, fail, pairs, to_float, to_int, to_text
from redisops.inspect.latency import parse_doctor_text
from redisops.inspect.models import MemoryStats, MemoryStatsDb

__all__ = ["parse_memory_doctor", "parse_memory_stats", "parse_memory_usage"]

_FLOAT_FIELDS = frozenset(f.name for f in fields(MemoryStats) if str(f.type) == "float | None")
_INT_FIELDS = frozenset(f.name for f in fields(MemoryStats) if str(f.type) == "int | None")


def _attr(name: str) -> str:
    return name.replace(".", "_").replace("-", "_")


def _scalar(value: Any, what: str) -> int | float | str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return value
    if isinstance(value, bytes | bytearray | str):
        return coerce_scalar(to_text(value, what))
    fail(f"{what}: expected a scalar, got {type(value).__name__}", value)


def _db(number: int, value: Any) -> MemoryStatsDb:
    what = f"MEMORY STATS db.{number}"
    raw: dict[str, int | float | str] = {}
    for key, val in pairs(value, what):
        raw[to_text(key, what)] = _scalar(val, f"{what} value")
    main = raw.get("overhead.hashtable.main")
    expires = raw.get("overhead.hashtable.expires")
    return MemoryStatsDb(
        db=number,
        overhead_hashtable_main=None if main is None else to_int(main, what),
        overhead_hashtable_expires=None if expires is None else to_int(expires, what),
        raw=raw,
    )


def parse_memory_stats(reply: Any) -> MemoryStats:
    """Parse ``MEMORY STATS`` (RESP2 flat array or RESP3 map) into :class:`MemoryStats`.

    Raises:
        ParseError: odd-length array, non-text keys, a ``db.N`` entry that is not an array/map, or a known
            field of the wrong kind.
    """
    raw: dict[str, int | float | str] = {}
    typed: dict[str, Any] = {}
    dbs: dict[int, MemoryStatsDb] = {}
    for key_raw, value in pairs(reply, "MEMORY STATS"):
        key = to_text(key_raw, "MEMORY STATS key")
        if key.startswith("db.") and key[3:].isascii() and key[3:].isdigit() and len(key) < 20:
            dbs[int(key[3:])] = _db(int(key[3:]), value)
            continue
        scalar = _scalar(value, f"MEMORY STATS {key}")
        raw[key] = scalar
        attr = _attr(key)
        if attr in _INT_FIELDS:
            typed[attr] = to_int(scalar, f"MEMORY STATS {key}")
        elif attr in _FLOAT_FIELDS:
            typed[attr] = to_float(scalar, f"MEMORY STATS {key}")
    return MemoryStats(dbs=dbs, raw=raw, **typed)


def parse_memory_usage(reply: Any) -> int | None:
    """``MEMORY USAGE key``: bytes, or None when the key does not exist (nil reply).

    Raises:
        ParseError: neither nil nor an integer.
    """
    if reply is None:
        return None
    return to_int(reply, "MEMORY USAGE")


def parse_memory_doctor(reply: Any) -> str:
    """The ``MEMORY DOCTOR`` report as text (see :func:`~redisops.inspect.latency.parse_doctor_text`)."""
    return parse_doctor_text(reply, "MEMORY DOCTOR")
