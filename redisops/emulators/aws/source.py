"""The emulator's side door into an ElastiCache-like source: the commands ElastiCache blocks for its
customers, renamed to secret names in the source's config, which ElastiCache itself still uses.

A snapshot's RDB comes from the renamed SYNC (the full resynchronization payload, read to a file);
a parameter group's ``notify-keyspace-events`` is applied with the renamed CONFIG SET. Plain RESP
over a socket, so this package needs no Redis client library.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SourceError", "SourceNode"]

_CHUNK = 1 << 20


class SourceError(Exception):
    """The source could not be reached or refused a command."""


@dataclass(frozen=True)
class SourceNode:
    """One ElastiCache-like node: where it listens and the secret names of its blocked commands.

    ``commands`` maps a public name (``SYNC``, ``CONFIG``) to the name the source accepts; the repr
    never shows them.
    """

    host: str
    port: int
    commands: dict[str, str] = field(default_factory=dict, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SourceNode:
        """From the emulator config's ``sources`` entry."""
        return cls(
            str(raw.get("host", "127.0.0.1")),
            int(raw["port"]),
            {str(k).upper(): str(v) for k, v in dict(raw.get("commands") or {}).items()},
            raw.get("password"),
        )

    def _name(self, public: str) -> str:
        try:
            return self.commands[public]
        except KeyError:
            raise SourceError(f"the source on port {self.port} has no renamed {public} known") from None

    def _scrub(self, e: SourceError) -> SourceError:
        """The error without the secret command names (a reply may echo the command)."""
        text = str(e)
        for secret in self.commands.values():
            text = text.replace(secret, "***")
        return SourceError(text)

    def _connect(self, timeout: float) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except OSError as e:
            raise SourceError(f"cannot reach the source {self.host}:{self.port}: {e.strerror or e}") from e
        if self.password:
            _send(sock, "AUTH", self.password)
            _reply(sock.makefile("rb"))
        return sock

    def config_set(self, name: str, value: str, timeout: float = 5.0) -> None:
        """CONFIG SET through the renamed CONFIG."""
        try:
            with self._connect(timeout) as sock:
                _send(sock, self._name("CONFIG"), "SET", name, value)
                _reply(sock.makefile("rb"))
        except SourceError as e:
            raise self._scrub(e) from None

    def config_get(self, name: str, timeout: float = 5.0) -> str:
        """CONFIG GET through the renamed CONFIG ("" when the parameter is unknown)."""
        with self._connect(timeout) as sock:
            _send(sock, self._name("CONFIG"), "GET", name)
            got = _reply(sock.makefile("rb"))
        return got[1].decode() if isinstance(got, list) and len(got) == 2 else ""

    def dump_rdb(self, dest: Path, timeout: float = 120.0) -> int:
        """Write the source's RDB (through the renamed SYNC) to ``dest``; returns its size."""
        try:
            return self._dump_rdb(dest, timeout)
        except SourceError as e:
            raise self._scrub(e) from None

    def _dump_rdb(self, dest: Path, timeout: float) -> int:
        with self._connect(timeout) as sock:
            _send(sock, self._name("SYNC"))
            f = sock.makefile("rb")
            while True:  # newlines are keep-alives while the server forks and saves
                line = f.readline()
                if not line:
                    raise SourceError("the source closed the connection before sending its RDB")
                if line.strip():
                    break
            if line.startswith(b"-"):
                raise SourceError(f"the source refused SYNC: {line[1:].strip().decode(errors='replace')}")
            if not line.startswith(b"$") or line.startswith(b"$EOF:"):
                raise SourceError("the source answered SYNC with an unexpected header")
            size = int(line[1:].strip())
            tmp = dest.with_suffix(dest.suffix + ".part")
            left = size
            with open(tmp, "wb") as out:
                while left:
                    chunk = f.read(min(left, _CHUNK))
                    if not chunk:
                        raise SourceError("the source's RDB stream ended early")
                    out.write(chunk)
                    left -= len(chunk)
            os.replace(tmp, dest)
        return size


def _send(sock: socket.socket, *args: str) -> None:
    parts = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    sock.sendall(b"".join(parts))


def _reply(f: Any) -> Any:
    line = f.readline()
    if not line:
        raise SourceError("the source closed the connection")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind == b"-":
        raise SourceError(f"the source refused the command: {rest.decode(errors='replace')}")
    if kind in (b"+", b":"):
        return rest
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_reply(f) for _ in range(n)]
    raise SourceError("the source sent an unreadable reply")
