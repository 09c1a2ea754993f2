"""RDB format versions: reading them from a header, and which server can load which.

A Redis server loads any RDB whose version is at most its own ``RDB_VERSION`` and refuses newer
ones ("Can't handle RDB format version N"). The table maps Redis releases to the RDB version they
write (from each release's ``src/rdb.h``).
"""

from __future__ import annotations

import re

from redisops.errors import ParseError, VerificationError

__all__ = [
    "RDB_MAGIC",
    "check_rdb_loadable",
    "max_rdb_version_for",
    "rdb_version_of",
]

RDB_MAGIC = b"REDIS"
HEADER_SIZE = 9

# (major, minor) -> RDB_VERSION written by that release line.
_RDB_VERSION_BY_RELEASE: dict[tuple[int, int], int] = {
    (2, 6): 6,
    (2, 8): 6,
    (3, 0): 6,
    (3, 2): 7,
    (4, 0): 8,
    (5, 0): 9,
    (6, 0): 9,
    (6, 2): 9,
    (7, 0): 10,
    (7, 2): 11,
    (7, 4): 12,
    (8, 0): 12,
}
_NEWEST_KNOWN = max(_RDB_VERSION_BY_RELEASE)

_VERSION_RE = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?")


def rdb_version_of(header: bytes | bytearray | memoryview) -> int:
    """The RDB version from the first 9 bytes of a dump (``REDIS`` + 4 ASCII digits).

    Raises:
        ParseError: the bytes are too short or are not an RDB header.
    """
    head = bytes(header[:HEADER_SIZE])
    if len(head) < HEADER_SIZE:
        raise ParseError(
            f"RDB header needs {HEADER_SIZE} bytes, got {len(head)}",
            hint="the dump is empty or truncated",
            context={"header": head.hex()},
        )
    digits = head[5:9]
    if head[:5] != RDB_MAGIC or not digits.isdigit():
        raise ParseError(
            "not an RDB dump: it must start with 'REDIS' and 4 digits",
            hint="check that the file or stream is a Redis RDB dump",
            context={"header": head.hex()},
        )
    return int(digits)


def max_rdb_version_for(redis_version: str) -> int:
    """The newest RDB version a Redis server of ``redis_version`` (e.g. ``"7.2.4"``) can load.

    Releases newer than the table (8.2 and later) get the newest known value, a lower bound:
    a check against it may refuse a dump such a server could in fact load, never the reverse.

    Raises:
        ParseError: ``redis_version`` is not of the form MAJOR.MINOR[.PATCH].
    """
    match = _VERSION_RE.match(redis_version)
    if match is None:
        raise ParseError(
            f"not a Redis version: {redis_version!r}",
            hint="pass the redis_version field of INFO server, such as 7.0.15",
        )
    release = (int(match.group(1)), int(match.group(2)))
    if release >= _NEWEST_KNOWN:
        return _RDB_VERSION_BY_RELEASE[_NEWEST_KNOWN]
    # A minor not in the table (e.g. 7.1, an unstable line) loads what its predecessor does.
    known = [rel for rel in _RDB_VERSION_BY_RELEASE if rel <= release]
    if not known:
        raise ParseError(
            f"Redis {redis_version} is older than any release redisops knows (2.6)",
            hint="upgrade the target server",
        )
    return _RDB_VERSION_BY_RELEASE[max(known)]


def check_rdb_loadable(rdb_version: int, redis_version: str) -> None:
    """Raise unless a server running ``redis_version`` can load an RDB of ``rdb_version``.

    Raises:
        VerificationError: the dump is newer than the target server understands.
        ParseError: ``redis_version`` cannot be parsed.
    """
    limit = max_rdb_version_for(redis_version)
    if rdb_version > limit:
        raise VerificationError(
            f"RDB version {rdb_version} is too new for Redis {redis_version}, "
            f"which loads RDB versions up to {limit}",
            hint="restore into a server at least as new as the one that made the backup",
            context={"rdb_version": rdb_version, "target_redis_version": redis_version, "max": limit},
        )
