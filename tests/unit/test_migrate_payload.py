"""DUMP payload trailers: the version, the CRC64 and the forged newer payload (pure)."""

from __future__ import annotations

import struct

import pytest

from redisops.errors import InvalidArgument
from redisops.migrate.payload import (
    is_payload_refusal,
    payload_checksum_ok,
    payload_rdb_version,
    raise_payload_version,
)
from redisops.rdb.crc64 import crc64

# DUMP of SET k hello on Redis 7.0: type 0, length-prefixed "hello", RDB version 10, CRC64
_BODY = b"\x00\x05hello" + struct.pack("<H", 10)
DUMP_7_0 = _BODY + struct.pack("<Q", crc64(_BODY))


def test_version_and_checksum_of_a_payload() -> None:
    assert payload_rdb_version(DUMP_7_0) == 10 and payload_checksum_ok(DUMP_7_0)
    broken = DUMP_7_0[:-1] + bytes([DUMP_7_0[-1] ^ 1])
    assert not payload_checksum_ok(broken)


def test_raise_payload_version_recomputes_the_crc() -> None:
    newer = raise_payload_version(DUMP_7_0, 12)
    assert payload_rdb_version(newer) == 12 and payload_checksum_ok(newer)
    assert newer[:-10] == DUMP_7_0[:-10] and newer != DUMP_7_0
    assert raise_payload_version(newer, 10) == DUMP_7_0


def test_refusals_and_bad_input() -> None:
    assert is_payload_refusal("ERR DUMP payload version or checksum are wrong")
    assert not is_payload_refusal("BUSYKEY Target key name already exists.")
    with pytest.raises(InvalidArgument):
        payload_rdb_version(b"short")
    with pytest.raises(InvalidArgument):
        raise_payload_version(DUMP_7_0, 70000)
