"""DUMP payloads: the trailer that says which RDB version wrote them, and the refusal of a newer one.

A ``DUMP`` reply is ``<serialized value><RDB version: 2 bytes LE><CRC64: 8 bytes LE>``, the CRC64
(Jones, :mod:`redisops.rdb.crc64`) covering everything before it. A server refuses to RESTORE a payload
whose version is newer than its own RDB version (Redis 7.0 writes 10, 7.2 writes 11, 7.4 writes 12)
with "DUMP payload version or checksum are wrong"; the copy then moves that key type by type.

:func:`raise_payload_version` forges such a payload (version raised, CRC recomputed) so the fallback
can be tested with the one Redis version installed here::

    newer = raise_payload_version(dump, 12)
    assert payload_rdb_version(newer) == 12 and payload_checksum_ok(newer)
"""

from __future__ import annotations

import struct

from redisops.errors import InvalidArgument
from redisops.rdb.crc64 import crc64

__all__ = [
    "PAYLOAD_REFUSED",
    "is_payload_refusal",
    "payload_checksum_ok",
    "payload_rdb_version",
    "raise_payload_version",
]

#: the error text Redis answers RESTORE with for a payload of a newer RDB version (or a bad CRC)
PAYLOAD_REFUSED = "DUMP payload version or checksum are wrong"

_TRAILER = 10  # 2 bytes version + 8 bytes CRC64


def _check(dump: bytes) -> None:
    if len(dump) < _TRAILER + 1:
        raise InvalidArgument(
            f"not a DUMP payload: {len(dump)} bytes, shorter than its 10-byte trailer",
            hint="pass the exact reply of DUMP",
        )


def payload_rdb_version(dump: bytes) -> int:
    """The RDB version in the payload's trailer."""
    _check(dump)
    return int(struct.unpack_from("<H", dump, len(dump) - _TRAILER)[0])


def payload_checksum_ok(dump: bytes) -> bool:
    """True when the trailer's CRC64 matches (a CRC of 0 means "not checked", as Redis treats it)."""
    _check(dump)
    stored = int(struct.unpack_from("<Q", dump, len(dump) - 8)[0])
    return stored == 0 or stored == crc64(dump[:-8])


def raise_payload_version(dump: bytes, to: int) -> bytes:
    """``dump`` with its RDB version set to ``to`` and its CRC64 recomputed (a "newer" payload)."""
    _check(dump)
    if not 0 <= to <= 0xFFFF:
        raise InvalidArgument(f"an RDB version is 0..65535, got {to}")
    body = dump[:-_TRAILER] + struct.pack("<H", to)
    return body + struct.pack("<Q", crc64(body))


def is_payload_refusal(error: BaseException | str) -> bool:
    """True for the target's refusal of a payload (newer version or wrong checksum)."""
    return PAYLOAD_REFUSED.lower() in str(error).lower()
