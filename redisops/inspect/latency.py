"""``LATENCY LATEST``, ``LATENCY HISTORY`` and the free-text ``LATENCY DOCTOR`` / ``MEMORY DOCTOR``."""

from __future__ import annotations

from typing import Any

from redisops.inspect._common import as_sequence, fail, to_int, to_text
from redisops.inspect.models import LatencyEvent, LatencySample

__all__ = ["parse_doctor_text", "parse_latency_doctor", "parse_latency_history", "parse_latency_latest"]

_VERBATIM_PREFIXES = ("txt:", "mkd:")


def parse_latency_latest(reply: Any) -> list[LatencyEvent]:
    """Parse ``LATENCY LATEST``: rows ``[event, unix time, latest ms, max ms]`` (extra trailing elements
    of newer servers are ignored).

    Raises:
        ParseError: not a list of rows of that shape.
    """
    events: list[LatencyEvent] = []
    for raw in as_sequence(reply, "LATENCY LATEST"):
        row = as_sequence(raw, "LATENCY LATEST row")
        if len(row) < 4:
            fail(f"LATENCY LATEST row: expected 4 elements, got {len(row)}", row)
        events.append(
            LatencyEvent(
                event=to_text(row[0], "LATENCY LATEST event"),
                at=to_int(row[1], "LATENCY LATEST time"),
                latest_ms=to_int(row[2], "LATENCY LATEST latest"),
                max_ms=to_int(row[3], "LATENCY LATEST max"),
            )
        )
    return events


def parse_latency_history(reply: Any) -> list[LatencySample]:
    """Parse ``LATENCY HISTORY <event>``: rows ``[unix time, ms]``, oldest first as Redis sends them.

    Raises:
        ParseError: not a list of 2-element rows of integers.
    """
    samples: list[LatencySample] = []
    for raw in as_sequence(reply, "LATENCY HISTORY"):
        row = as_sequence(raw, "LATENCY HISTORY row")
        if len(row) < 2:
            fail(f"LATENCY HISTORY row: expected 2 elements, got {len(row)}", row)
        samples.append(
            LatencySample(at=to_int(row[0], "LATENCY HISTORY time"), ms=to_int(row[1], "LATENCY HISTORY ms"))
        )
    return samples


def parse_doctor_text(reply: Any, what: str = "DOCTOR") -> str:
    """The report text of a ``* DOCTOR`` command: bytes decoded, a RESP3 verbatim ``txt:`` prefix dropped.

    Raises:
        ParseError: the reply is not bytes/str.
    """
    text = to_text(reply, what)
    if text.startswith(_VERBATIM_PREFIXES):
        text = text[4:]
    return text


def parse_latency_doctor(reply: Any) -> str:
    """The ``LATENCY DOCTOR`` report as text (see :func:`parse_doctor_text`)."""
    return parse_doctor_text(reply, "LATENCY DOCTOR")
