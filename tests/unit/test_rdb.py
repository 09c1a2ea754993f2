"""Unit tests for redisops.rdb: CRC64, the streaming verifier and key scanner, RDB versions.

The RDB files under tests/fixtures/rdb/ were written once by a real Redis 7.0.15 via
scripts/make_rdb_fixtures.py; expected.json holds what that server reported (INFO keyspace).
Types Redis 7.0 cannot write (7.2/7.4 encodings, modules) are covered by dumps built here
byte by byte, checksummed with the independent pure-Python CRC.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redisops.errors import ParseError, RedisOpsError, VerificationError
from redisops.rdb import (
    CRC64_BACKEND,
    Crc64,
    RdbScanner,
    RdbStreamVerifier,
    check_rdb_loadable,
    crc64,
    max_rdb_version_for,
    rdb_version_of,
    verify_rdb_chunks,
)
from redisops.rdb.crc64 import CHECK_VALUE, crc64_pure
from redisops.rdb.scanner import lzf_decompress

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rdb"
EXPECTED: dict[str, dict[str, object]] = json.loads((FIXTURES / "expected.json").read_text())
NAMES = sorted(EXPECTED)
DATA = {name: (FIXTURES / name).read_bytes() for name in NAMES}
ALL_TYPES = DATA["all_types.rdb"]
NO_CHECKSUM = DATA["no_checksum.rdb"]
EMPTY = DATA["empty.rdb"]

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def verify(data: bytes, chunk: int | None = None) -> object:
    return verify_rdb_chunks(chunked(data, chunk) if chunk else [data])


# -- CRC64 ---------------------------------------------------------------------------------------


def test_crc64_check_value() -> None:
    assert crc64(b"123456789") == CHECK_VALUE == 0xE9C6D914C4B8D9CA
    assert crc64_pure(b"123456789") == CHECK_VALUE
    assert crc64(b"") == 0


def test_crc64_incremental_and_class() -> None:
    assert crc64(b"56789", crc64(b"1234")) == CHECK_VALUE
    c = Crc64()
    for piece in (b"1", b"23", memoryview(b"x456")[1:], bytearray(b"789")):
        c.update(piece)
    assert c.value == CHECK_VALUE
    assert c.hexdigest() == "e9c6d914c4b8d9ca"
    assert c.copy().value == c.value
    assert "e9c6d914c4b8d9ca" in repr(c)


def test_crc64_uses_a_fast_backend_when_installed() -> None:
    if importlib.util.find_spec("anycrc") is not None:
        assert CRC64_BACKEND == "anycrc"
    elif importlib.util.find_spec("crcmod") is not None:
        assert CRC64_BACKEND in ("crcmod", "pure-python")


@given(st.binary(max_size=2048), st.integers(min_value=0, max_value=2048))
def test_crc64_backend_agrees_with_pure_python(data: bytes, cut: int) -> None:
    assert crc64(data) == crc64_pure(data)
    cut = min(cut, len(data))
    assert crc64(data[cut:], crc64(data[:cut])) == crc64_pure(data)


def test_fixture_trailers_match_crc() -> None:
    # independent of the verifier: the last 8 bytes are the CRC of the rest
    assert int.from_bytes(ALL_TYPES[-8:], "little") == crc64(ALL_TYPES[:-8])
    assert int.from_bytes(NO_CHECKSUM[-8:], "little") == 0


# -- the fixtures --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_fixture_verifies_with_expected_facts(name: str) -> None:
    data = DATA[name]
    expected = EXPECTED[name]
    result = verify_rdb_chunks([data])
    assert result.rdb_version == expected["rdb_version"] == 10
    assert result.size == len(data) == expected["size"]
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.crc64 == crc64(data[:-8])
    assert result.checksum_disabled is (name == "no_checksum.rdb")
    assert result.counts_unavailable_reason is None
    assert result.redis_version == expected["redis_version"]
    assert {"redis-ver", "redis-bits", "ctime", "used-mem", "aof-base"} <= set(result.aux)
    assert result.aux["redis-bits"] == "64"
    assert result.function_libraries == expected["function_libraries"]
    assert result.db_key_counts is not None
    got = {str(db): {"keys": c.keys, "expires": c.expires} for db, c in result.db_key_counts.items()}
    assert got == expected["dbs"]
    for counts in result.db_key_counts.values():  # RESIZEDB hints agree with what was walked
        assert (counts.resize_db_size, counts.resize_expires_size) == (counts.keys, counts.expires)
    assert result.total_keys == sum(v["keys"] for v in expected["dbs"].values())  # type: ignore[attr-defined]


def test_all_types_fixture_covers_many_dbs() -> None:
    result = verify_rdb_chunks([ALL_TYPES])
    assert result.key_counts() == {0: 27, 3: 242, 15: 2}


def test_result_to_dict_is_json_ready() -> None:
    result = verify_rdb_chunks([ALL_TYPES])
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["db_key_counts"]["3"] == {
        "keys": 242,
        "expires": 40,
        "resize_db_size": 242,
        "resize_expires_size": 40,
    }
    assert doc["crc64"] == ALL_TYPES[-8:][::-1].hex()
    assert doc["sha256"] == hashlib.sha256(ALL_TYPES).hexdigest()
    assert doc["aux"]["redis-ver"] == "7.0.15"


@pytest.mark.parametrize("size", [1, 7, 4096])
@pytest.mark.parametrize("name", NAMES)
def test_chunk_size_does_not_change_result(name: str, size: int) -> None:
    assert verify(DATA[name], size) == verify(DATA[name])


@FAST
@given(st.data())
def test_random_chunking_gives_identical_result(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(NAMES))
    blob = DATA[name]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(blob)), max_size=60)))
    pieces = [blob[a:b] for a, b in zip([0, *cuts], [*cuts, len(blob)], strict=True)]
    assert verify_rdb_chunks(pieces) == verify(blob)
    # memoryview and bytearray chunks work the same
    views = [memoryview(p) if i % 2 else bytearray(p) for i, p in enumerate(pieces)]
    assert verify_rdb_chunks(views) == verify(blob)


def test_verifier_progress_properties() -> None:
    v = RdbStreamVerifier()
    assert v.rdb_version is None
    v.feed(ALL_TYPES[:5])
    assert v.rdb_version is None
    v.feed(ALL_TYPES[5:100])
    assert v.rdb_version == 10
    assert v.bytes_seen == 100
    v.feed(ALL_TYPES[100:])
    v.finish()
    with pytest.raises(ValueError):
        v.feed(b"x")


def test_count_keys_can_be_disabled() -> None:
    v = RdbStreamVerifier(count_keys=False)
    v.feed(ALL_TYPES)
    result = v.finish()
    assert result.db_key_counts is None
    assert result.counts_unavailable_reason == "key counting disabled"
    assert result.total_keys is None
    assert result.key_counts() == {}


# -- damage --------------------------------------------------------------------------------------


def test_bad_header_fails_on_first_chunk() -> None:
    v = RdbStreamVerifier()
    with pytest.raises(VerificationError, match="not an RDB"):
        v.feed(b"*3\r\n$3\r\nSET")
    with pytest.raises(VerificationError, match="not an RDB"):
        RdbStreamVerifier().feed(b"REDIS00x0")
    with pytest.raises(VerificationError, match="predates checksums"):
        RdbStreamVerifier().feed(b"REDIS0004")


def test_wrong_trailer_is_rejected() -> None:
    bad = ALL_TYPES[:-8] + (crc64(ALL_TYPES[:-8]) ^ 1).to_bytes(8, "little")
    with pytest.raises(VerificationError, match="checksum mismatch"):
        verify(bad)


def test_zero_trailer_means_checksum_disabled_but_structure_is_still_checked() -> None:
    result = verify(ALL_TYPES[:-8] + bytes(8))
    assert result.checksum_disabled
    assert result.total_keys == 271


def test_missing_eof_opcode_is_rejected() -> None:
    body = ALL_TYPES[:-9] + b"\x00"
    with pytest.raises(VerificationError, match="EOF opcode"):
        verify(body + crc64(body).to_bytes(8, "little"))


def test_trailing_garbage_is_rejected() -> None:
    with pytest.raises(VerificationError):
        verify(ALL_TYPES + b"\n")
    with pytest.raises(VerificationError):
        verify(NO_CHECKSUM + bytes(9))


@pytest.mark.parametrize("name", ["empty.rdb", "no_checksum.rdb"])
def test_truncation_at_every_point_is_rejected(name: str) -> None:
    data = DATA[name]
    for cut in range(len(data)):
        with pytest.raises(VerificationError):
            verify(data[:cut])


def test_truncated_message_says_so() -> None:
    with pytest.raises(VerificationError, match="truncated"):
        verify(ALL_TYPES[:5000])
    with pytest.raises(VerificationError, match="truncated"):
        verify(b"REDIS0010")


@FAST
@given(st.integers(0, len(ALL_TYPES) - 1))
def test_truncation_anywhere_in_large_fixture_is_rejected(cut: int) -> None:
    with pytest.raises(VerificationError):
        verify(ALL_TYPES[:cut])


def test_bit_flip_anywhere_in_small_dump_is_rejected() -> None:
    for pos in range(len(EMPTY)):
        for bit in range(8):
            bad = bytearray(EMPTY)
            bad[pos] ^= 1 << bit
            with pytest.raises(VerificationError):
                verify(bytes(bad))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(ALL_TYPES) - 1), st.integers(0, 7))
def test_bit_flip_anywhere_is_rejected(pos: int, bit: int) -> None:
    bad = bytearray(ALL_TYPES)
    bad[pos] ^= 1 << bit
    with pytest.raises(VerificationError):
        verify(bytes(bad))


def test_bit_flip_every_kilobyte_with_odd_chunks() -> None:
    for pos in range(0, len(ALL_TYPES), 1024):
        bad = bytearray(ALL_TYPES)
        bad[pos] ^= 0x10
        with pytest.raises(VerificationError):
            verify(bytes(bad), 997)


@FAST
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_project_errors(blob: bytes) -> None:
    for data in (blob, b"REDIS0010" + blob, b"REDIS0010" + blob + b"\xff" + bytes(8)):
        with contextlib.suppress(RedisOpsError):
            verify(data, 13)
        scanner = RdbScanner()  # the scanner alone never raises for bad data
        for piece in chunked(data, 5):
            scanner.feed(piece)
        scanner.finish()


@FAST
@given(st.lists(st.tuples(st.integers(0, len(NO_CHECKSUM) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_dump_raises_only_project_errors(edits: list[tuple[int, int]]) -> None:
    bad = bytearray(NO_CHECKSUM)
    for pos, value in edits:
        bad[pos] = value
    try:
        verify(bytes(bad), 64)
    except RedisOpsError as e:
        assert isinstance(e, VerificationError)


# -- versions ------------------------------------------------------------------------------------


def test_rdb_version_of() -> None:
    assert rdb_version_of(ALL_TYPES[:9]) == 10
    assert rdb_version_of(b"REDIS0012 and more") == 12
    with pytest.raises(ParseError):
        rdb_version_of(b"REDIS00")
    with pytest.raises(ParseError):
        rdb_version_of(b"REDIX0010")


@pytest.mark.parametrize(
    ("version", "rdb"),
    [
        ("5.0.14", 9), ("6.0.20", 9), ("6.2.14", 9), ("7.0.15", 10), ("7.2.4", 11), ("7.4.1", 12),
        ("4.0.14", 8), ("3.2.12", 7), ("7.1.242", 10), ("8.0.0", 12), ("9.1", 12), ("v7.2.0", 11),
    ],
)  # fmt: skip
def test_max_rdb_version_for(version: str, rdb: int) -> None:
    assert max_rdb_version_for(version) == rdb


def test_max_rdb_version_for_rejects_garbage() -> None:
    with pytest.raises(ParseError):
        max_rdb_version_for("latest")
    with pytest.raises(ParseError):
        max_rdb_version_for("2.4.0")


def test_check_rdb_loadable() -> None:
    check_rdb_loadable(10, "7.0.15")
    check_rdb_loadable(10, "7.4.0")
    check_rdb_loadable(9, "6.2.0")
    with pytest.raises(VerificationError, match="too new") as info:
        check_rdb_loadable(11, "7.0.15")
    assert info.value.context["max"] == 10


# -- hand-built dumps: encodings Redis 7.0 does not write ------------------------------------------


def enc_len(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n < 1 << 32:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def s(value: bytes) -> bytes:
    return enc_len(len(value)) + value


def dump(body: bytes, version: int = 12, checksum: bool = True) -> bytes:
    """Header + AUX + body + EOF + CRC (the pure-Python CRC, independent of the backend, when small)."""
    data = b"REDIS%04d" % version + b"\xfa" + s(b"redis-ver") + s(b"7.4.0") + body + b"\xff"
    crc = (crc64_pure(data) if len(data) < 200_000 else crc64(data)) if checksum else 0
    return data + crc.to_bytes(8, "little")


F8 = b"\x01" * 8
STREAM_V3 = (
    b"\x15" + s(b"stream")
    + enc_len(1) + s(b"\x00" * 16) + s(b"listpack-bytes")  # one listpack node
    + enc_len(3) + enc_len(5) + enc_len(0)  # length, last id
    + enc_len(1) + enc_len(0) + enc_len(0) + enc_len(0) + enc_len(3)  # first id, max deleted, added
    + enc_len(1)  # one consumer group
    + s(b"cg") + enc_len(5) + enc_len(0) + enc_len(3)  # name, last id, offset
    + enc_len(2) + (b"\x02" * 16 + F8 + enc_len(1)) * 2  # group PEL
    + enc_len(1) + s(b"alice") + F8 + F8 + enc_len(2) + b"\x02" * 32  # consumer: times, PEL
)  # fmt: skip
MODULE_VALUE = (
    b"\x07" + s(b"modkey") + enc_len(0x1234567890)  # module id (64-bit length encoding)
    + enc_len(1) + enc_len(7) + enc_len(2) + enc_len(1 << 40)  # sint, uint
    + enc_len(3) + b"\x00" * 4 + enc_len(4) + b"\x00" * 8  # float, double
    + enc_len(5) + s(b"module string") + enc_len(5) + b"\xc0\x05"  # strings (one int-encoded)
    + enc_len(0)  # EOF annotation
)  # fmt: skip
SYNTHETIC_BODY = (
    b"\xf7" + enc_len(99) + enc_len(2) + enc_len(1) + enc_len(5) + s(b"aux data") + enc_len(0)
    + b"\xfe" + enc_len(0) + b"\xfb" + enc_len(12) + enc_len(4)
    + b"\xf4" + enc_len(100) + enc_len(12) + enc_len(4)  # SLOT_INFO
    + b"\xfd" + b"\x00\x00\x00\x7f" + b"\x03" + s(b"zset-old")  # EXPIRETIME (s) + zset with text scores
    + enc_len(4) + s(b"a") + b"\x031.5" + s(b"b") + b"\xfd" + s(b"c") + b"\xfe" + s(b"d") + b"\xff"
    + b"\x14" + s(b"set-listpack") + s(b"lp")  # 7.2 set listpack
    + STREAM_V3
    + b"\xfc" + F8 + b"\x18" + s(b"hash-ttl") + F8  # hash with field TTLs (7.4)
    + enc_len(2) + enc_len(0) + s(b"f1") + s(b"v1") + enc_len(9) + s(b"f2") + b"\xc1\x10\x27"
    + b"\x19" + s(b"hash-lp-ttl") + F8 + s(b"listpack")
    + b"\x16" + s(b"hash-ttl-rc") + enc_len(1) + enc_len(123) + s(b"f") + s(b"v")
    + b"\x17" + s(b"hash-lp-ttl-rc") + s(b"lp")
    + b"\xf9\x05" + b"\xf8" + enc_len(100000) + MODULE_VALUE
    + b"\xfe" + enc_len(9)
    + b"\x01" + s(b"old-list") + enc_len(2) + s(b"x") + s(b"y")
    + b"\x0e" + s(b"ql-v1") + enc_len(1) + s(b"ziplist")
    + b"\x09" + s(b"zipmap") + s(b"zm") + b"\x0a" + s(b"zl") + s(b"z") + b"\x0c" + s(b"zz") + s(b"z")
    + b"\x0d" + s(b"hz") + s(b"z") + b"\x0f" + s(b"stream-v1") + enc_len(0) + enc_len(0) * 3
    + enc_len(1) + s(b"g") + enc_len(0) + enc_len(0) + enc_len(0) + enc_len(0)
    + b"\x00" + s(b"big-key-" + b"k" * 20000) + s(b"v" * 70000)
    + b"\xf5" + s(b"#!lua name=lib\n...")
)  # fmt: skip


def test_synthetic_dump_with_newer_types_is_walked() -> None:
    data = dump(SYNTHETIC_BODY)
    result = verify(data)
    assert result.rdb_version == 12
    assert not result.checksum_disabled
    assert result.counts_unavailable_reason is None
    assert result.db_key_counts is not None
    db0, db9 = result.db_key_counts[0], result.db_key_counts[9]
    assert (db0.keys, db0.expires, db0.resize_db_size, db0.resize_expires_size) == (8, 2, 12, 4)
    assert (db9.keys, db9.expires) == (8, 0)
    assert result.function_libraries == 1
    for size in (1, 3, 17, 1000):
        assert verify(data, size) == result


def test_synthetic_dump_truncations_are_rejected_without_checksum() -> None:
    data = dump(SYNTHETIC_BODY, checksum=False)
    assert verify(data).checksum_disabled
    cuts = [*range(0, 2000), *range(2000, len(data), 331)]
    for cut in cuts:
        with pytest.raises(VerificationError):
            verify(data[:cut], 4096)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x06" + s(b"k") + b"anything", "module value"),
        (b"\x50" + s(b"k") + s(b"v"), "unknown RDB type"),
        (b"\xf6" + s(b"old functions"), "function"),
    ],
)
def test_unskippable_content_stops_counting_but_crc_still_verifies(body: bytes, reason: str) -> None:
    data = dump(b"\x00" + s(b"first") + s(b"v") + body)
    result = verify(data, 3)
    assert result.db_key_counts is None
    assert result.total_keys is None
    assert reason in (result.counts_unavailable_reason or "")
    bad = bytearray(data)
    bad[-12] ^= 1
    with pytest.raises(VerificationError, match="checksum mismatch"):
        verify(bytes(bad))


def test_malformed_structure_with_checksum_disabled_is_rejected() -> None:
    data = dump(b"\x00" + s(b"k") + b"\xbf", checksum=False)  # 0xbf: no such length encoding
    with pytest.raises(VerificationError, match="structure is invalid"):
        verify(data)


def test_lzf_compressed_aux_value_is_decoded() -> None:
    at = ALL_TYPES.index(b"\x07str:lzf") + 8  # key "str:lzf", then its LZF-encoded value
    assert ALL_TYPES[at] == 0xC3
    clen, ulen = ALL_TYPES[at + 1], int.from_bytes(ALL_TYPES[at + 2 : at + 4], "big") & 0x3FFF
    compressed = ALL_TYPES[at + 4 : at + 4 + clen]
    assert lzf_decompress(compressed, ulen) == b"abcdefgh" * 500
    body = (
        b"\xfa" + s(b"lzf-aux") + ALL_TYPES[at : at + 4 + clen] + b"\xfa" + s(b"n") + b"\xc2\x15\xcd\x5b\x07"
    )
    result = verify(dump(body), 5)
    assert result.aux["lzf-aux"] == "abcdefgh" * 500
    assert result.aux["n"] == "123456789"


def test_oversized_aux_is_skipped_not_buffered() -> None:
    body = b"\xfa" + s(b"big") + s(b"x" * 100_000) + b"\xfa" + s(b"y" * 70_000) + s(b"v")
    result = verify(dump(body), 1000)
    assert result.aux["big"] == "<oversized>"
    assert result.aux["redis-ver"] == "7.4.0"


def test_scanner_memory_stays_small_on_huge_values() -> None:
    value = os.urandom(1 << 20)
    body = b"".join(b"\x00" + s(b"k%d" % i) + s(value) for i in range(8))
    scanner = RdbScanner()
    for piece in chunked(dump(body), 65536):
        scanner.feed(piece)
        assert len(scanner._left) < 64  # only headers are ever buffered
    result = scanner.finish()
    assert result.complete
    assert result.dbs is not None and result.dbs[0].keys == 8


def test_scanner_result_reports_where_it_stopped() -> None:
    scanner = RdbScanner()
    scanner.feed(dump(b"\x00" + s(b"a") + s(b"b") + b"\x60"))
    result = scanner.finish()
    assert result.dbs is None
    assert result.stop_offset is not None and result.stop_offset > 9
    assert not result.complete


def test_lzf_decompress_rejects_garbage() -> None:
    rng = random.Random(1)
    for _ in range(200):
        blob = rng.randbytes(rng.randint(1, 30))
        with contextlib.suppress(ValueError):
            lzf_decompress(blob, 50)
