"""``CONFIG GET`` replies: RESP2 flat ``[name, value, ...]`` array or RESP3 map -> ``dict[str, str]``."""

from __future__ import annotations

from typing import Any

from redisops.inspect._common import pairs, to_text

__all__ = ["parse_config_get"]


def parse_config_get(reply: Any) -> dict[str, str]:
    """Parse a ``CONFIG GET <pattern>`` reply (array, map, or redis-py's already decoded dict) into
    ``{name: value}`` with bytes decoded as UTF-8.

    Raises:
        ParseError: an odd-length array, or a name/value that is not bytes/str.
    """
    return {
        to_text(k, "CONFIG GET name"): to_text(v, "CONFIG GET value") for k, v in pairs(reply, "CONFIG GET")
    }
