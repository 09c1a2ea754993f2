"""Key and command shapes for grouping slow-log entries: ``GET user:1234`` -> ``GET user:*``.

A shape is the upper-cased command (with its subcommand for container commands such as ``CLIENT LIST``)
plus the key with its variable parts replaced by ``*``: UUIDs, tokens that are hex with at least one
digit (``7f3a9c``, ``1234``), and any remaining run of digits (``item42`` -> ``item*``). Words made only
of hex letters (``cafe``, ``bad``) are kept. Redis' abbreviation of long arguments
(``... (N more bytes)``) becomes ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["command_name", "key_of", "key_pattern", "omitted_arguments", "shape_of"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_TOKEN = re.compile(r"(?<![0-9A-Za-z])(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]+(?![0-9A-Za-z])")
_DIGITS = re.compile(r"[0-9]+")
_STARS = re.compile(r"\*{2,}")
_MORE_BYTES = re.compile(r"\.\.\. \(\d+ more bytes\)$")
_MORE_ARGS = re.compile(r"\.\.\. \((\d+) more arguments\)")

# Commands whose first argument is a subcommand: the shape keeps it (``CLIENT LIST``).
_CONTAINERS = frozenset(
    {
        "ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY", "MEMORY",
        "MODULE", "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO",
    }
)  # fmt: skip
# Container subcommands whose next argument is a key.
_CONTAINER_KEYED = frozenset({"MEMORY USAGE", "OBJECT ENCODING", "OBJECT FREQ", "OBJECT IDLETIME",
                              "OBJECT REFCOUNT", "XGROUP CREATE", "XGROUP DESTROY", "XGROUP SETID",
                              "XGROUP CREATECONSUMER", "XGROUP DELCONSUMER", "XINFO STREAM",
                              "XINFO GROUPS", "XINFO CONSUMERS"})  # fmt: skip
# Commands without a key argument (their arguments are not grouped on).
_KEYLESS = frozenset(
    {
        "AUTH", "BGREWRITEAOF", "BGSAVE", "DBSIZE", "DISCARD", "ECHO", "EXEC", "FAILOVER", "FLUSHALL",
        "FLUSHDB", "HELLO", "INFO", "KEYS", "LASTSAVE", "MONITOR", "MULTI", "PING", "PSUBSCRIBE", "PUBLISH",
        "PUNSUBSCRIBE", "QUIT", "RANDOMKEY", "READONLY", "READWRITE", "REPLICAOF", "RESET", "ROLE", "SAVE",
        "SCAN", "SELECT", "SHUTDOWN", "SLAVEOF", "SPUBLISH", "SUBSCRIBE", "SWAPDB", "SYNC", "PSYNC", "TIME",
        "UNSUBSCRIBE", "UNWATCH", "WAIT", "WAITAOF", "REPLCONF",
    }
)  # fmt: skip
# Scripting commands: key positions follow numkeys (argv[2]); the first key is argv[3].
_NUMKEYS_AT_2 = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})


def command_name(argv: Sequence[str]) -> str:
    """The upper-cased command, with the subcommand for container commands (``CLIENT LIST``)."""
    if not argv:
        return ""
    cmd = argv[0].upper()
    if cmd in _CONTAINERS and len(argv) > 1 and not _MORE_ARGS.fullmatch(argv[1]):
        return f"{cmd} {argv[1].upper()}"
    return cmd


def key_of(argv: Sequence[str]) -> str | None:
    """The first key argument of a command line, best effort; None for keyless commands."""
    if not argv:
        return None
    cmd = argv[0].upper()
    if cmd in _CONTAINERS:
        index = 2 if command_name(argv) in _CONTAINER_KEYED else -1
    elif cmd in _KEYLESS:
        index = -1
    elif cmd in _NUMKEYS_AT_2:
        numkeys = argv[2] if len(argv) > 2 else "0"
        index = 3 if numkeys.isascii() and numkeys.isdigit() and int(numkeys) > 0 else -1
    else:
        index = 1
    if index < 0 or index >= len(argv) or _MORE_ARGS.fullmatch(argv[index]):
        return None
    return argv[index]


def key_pattern(key: str) -> str:
    """The key with UUIDs, hex tokens with a digit and digit runs replaced by ``*``."""
    key = _MORE_BYTES.sub("*", key)
    key = _UUID.sub("*", key)
    key = _HEX_TOKEN.sub("*", key)
    key = _DIGITS.sub("*", key)
    return _STARS.sub("*", key)


def shape_of(argv: Sequence[str]) -> str:
    """``COMMAND key-pattern`` (or just the command for keyless ones): the slow-log grouping key."""
    name = command_name(argv)
    key = key_of(argv)
    return name if key is None else f"{name} {key_pattern(key)}"


def omitted_arguments(argv: Sequence[str]) -> int:
    """N of Redis' trailing ``... (N more arguments)`` marker, 0 when the argv was not abbreviated."""
    if argv:
        match = _MORE_ARGS.fullmatch(argv[-1])
        if match and len(match.group(1)) < 19:
            return int(match.group(1))
    return 0
