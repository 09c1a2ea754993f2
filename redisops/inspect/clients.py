"""``CLIENT LIST`` / ``CLIENT INFO`` text: one client a line, ``name=value`` fields separated by spaces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from redisops.inspect._common import fail, to_int, to_text
from redisops.inspect.models import ClientInfo

__all__ = ["parse_client_info", "parse_client_line", "parse_client_list"]


def _int(text: str, name: str) -> int:
    return to_int(text, f"CLIENT LIST field {name}")


def _str(text: str, name: str) -> str:
    return text


_CONVERTERS: dict[str, Callable[[str, str], Any]] = {
    "int": _int,
    "int | None": _int,
    "str": _str,
    "str | None": _str,
}
# (Redis field name, attribute, converter), e.g. ("tot-mem", "tot_mem", _int)
_FIELDS = tuple(
    (f.name.replace("_", "-"), f.name, _CONVERTERS[str(f.type)])
    for f in fields(ClientInfo)
    if str(f.type) in _CONVERTERS
)


def parse_client_line(line: str) -> ClientInfo:
    """Parse one ``id=.. addr=.. ...`` line. A space-separated word without ``=`` is taken as part of the
    previous value (no 7.x field contains spaces, but names of a future field might).

    Raises:
        ParseError: no ``id`` field, a word without ``=`` before any field, or a numeric field that is not.
    """
    raw: dict[str, str] = {}
    last: str | None = None
    for word in line.split(" "):
        if not word:
            continue
        key, sep, value = word.partition("=")
        if not sep or not key:
            if last is None:
                fail("CLIENT LIST: expected name=value", line)
            raw[last] = f"{raw[last]} {word}"
            continue
        raw[key] = value
        last = key
    if "id" not in raw:
        fail("CLIENT LIST: line without id=", line)
    typed = {attr: conv(raw[name], name) for name, attr, conv in _FIELDS if name in raw}
    return ClientInfo(raw=raw, **typed)


def parse_client_list(reply: bytes | str) -> list[ClientInfo]:
    """Parse a raw ``CLIENT LIST`` reply (bytes or str; ``\\n`` or ``\\r\\n`` line ends); "" gives [].

    Raises:
        ParseError: the reply is not bytes/str or a line is malformed (see :func:`parse_client_line`).
    """
    text = to_text(reply, "CLIENT LIST")
    clients: list[ClientInfo] = []
    for raw_line in text.split("\n"):
        line = raw_line.rstrip("\r")
        if line.strip():
            clients.append(parse_client_line(line))
    return clients


def parse_client_info(reply: bytes | str) -> ClientInfo:
    """Parse ``CLIENT INFO`` (the current connection's line).

    Raises:
        ParseError: not exactly one client line, or a malformed one.
    """
    clients = parse_client_list(reply)
    if len(clients) != 1:
        fail(f"CLIENT INFO: expected one client line, got {len(clients)}", reply)
    return clients[0]
