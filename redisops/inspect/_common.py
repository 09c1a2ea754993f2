"""Shared helpers of the reply parsers: decoding, strict number conversion and ParseError building.

Everything here raises only :class:`~redisops.errors.ParseError`, with a short excerpt of the bad input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from redisops.errors import ParseError

EXCERPT_CHARS = 60

_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(
    r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.IGNORECASE
)
_PLAIN_DECIMAL = re.compile(r"-?\d{1,30}(?:\.\d{1,30})?", re.ASCII)
_MAX_INT_DIGITS = 40


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short printable excerpt of ``value`` (never more than ``limit`` + 3 characters)."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value[: limit + 1]).decode("utf-8", "backslashreplace")
    elif isinstance(value, str):
        text = value[: limit + 1]
    else:
        try:
            text = repr(value)
        except Exception:  # a broken __repr__ must not escape as a foreign exception
            text = f"<{type(value).__name__}>"
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


def fail(what: str, bad: object, **context: Any) -> NoReturn:
    """Raise a ParseError saying ``what`` failed, with an excerpt of ``bad``."""
    short = excerpt(bad)
    raise ParseError(f"{what}: {short!r}", context={"excerpt": short, **context})


def to_text(value: object, what: str) -> str:
    """Decode bytes (UTF-8, undecodable bytes as ``\\xNN``) or pass a str through; anything else fails."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "backslashreplace")
    fail(f"{what}: expected bytes or str, got {type(value).__name__}", value)


def to_int(value: object, what: str) -> int:
    """An integer from an int reply or its decimal text; bools, floats and other text fail."""
    if isinstance(value, str) and value.isdigit() and value.isascii() and len(value) < 20:
        return int(value)  # the common case first
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, bytes | bytearray | str):
        text = value.decode("ascii", "replace") if isinstance(value, bytes | bytearray) else value
        text = text.strip()
        if len(text) <= _MAX_INT_DIGITS and _INT_RE.fullmatch(text):
            return int(text)
    fail(f"{what}: expected an integer", value)


def to_float(value: object, what: str) -> float:
    """A float from a float/int reply or its decimal text (``nan``/``inf`` allowed, as Redis may print)."""
    if isinstance(value, str) and _PLAIN_DECIMAL.fullmatch(value):
        return float(value)  # the common case first
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > 2**1023:
            fail(f"{what}: number out of range", value)
        return float(value)
    if isinstance(value, bytes | bytearray | str):
        text = value.decode("ascii", "replace") if isinstance(value, bytes | bytearray) else value
        text = text.strip()
        if len(text) <= 64 and _FLOAT_RE.fullmatch(text):
            return float(text)
    fail(f"{what}: expected a number", value)


def to_bool01(value: str, what: str) -> bool:
    """``0``/``1`` (as INFO prints flags) to a bool."""
    if value == "1":
        return True
    if value == "0":
        return False
    fail(f"{what}: expected 0 or 1", value)


def coerce_scalar(text: str) -> int | float | str:
    """INFO's loose typing: decimal integer -> int, decimal fraction -> float, anything else str.

    Values with leading zeros (``00000000`` git sha, all-zero replication ids) stay strings, so
    coercion never loses information.
    """
    if not text or len(text) > _MAX_INT_DIGITS:
        return text
    body = text[1:] if text[0] == "-" else text
    if not body or (len(body) > 1 and body[0] == "0" and body[1] != "."):
        return text
    if body.isdigit() and body.isascii():
        return text if body == "0" and text[0] == "-" else int(text)
    head, dot, tail = body.partition(".")
    if dot and head.isdigit() and tail.isdigit() and head.isascii() and tail.isascii():
        return float(text)
    return text


def as_sequence(value: object, what: str) -> Sequence[Any]:
    """The reply as a list/tuple; anything else (including str/bytes) fails."""
    if isinstance(value, list | tuple):
        return value
    fail(f"{what}: expected an array reply, got {type(value).__name__}", value)


def pairs(value: object, what: str) -> list[tuple[Any, Any]]:
    """Key/value pairs from a flat alternating array (RESP2) or a map (RESP3 dict)."""
    if isinstance(value, Mapping):
        return list(value.items())
    seq = as_sequence(value, what)
    if len(seq) % 2:
        fail(f"{what}: expected an even number of elements, got {len(seq)}", seq)
    return [(seq[i], seq[i + 1]) for i in range(0, len(seq), 2)]
