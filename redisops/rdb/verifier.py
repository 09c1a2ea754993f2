"""Verify an RDB dump while it streams past: header, CRC64 trailer, SHA-256, key counts.

``RdbStreamVerifier`` is push-based and uses O(1) memory whatever the dump's size: feed it the
chunks as they arrive (from a replication stream, a file, an S3 download), then call ``finish()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn

from redisops.errors import ParseError, VerificationError
from redisops.rdb.crc64 import Crc64
from redisops.rdb.scanner import DbKeyCounts, RdbScanner, RdbScanResult
from redisops.rdb.versions import HEADER_SIZE, rdb_version_of

__all__ = ["RdbStreamVerifier", "RdbVerification", "verify_rdb_chunks"]

_TRAILER = 8
_EOF_OPCODE = 0xFF
_MIN_SIZE = HEADER_SIZE + 1 + _TRAILER


@dataclass(frozen=True)
class RdbVerification:
    """The facts about a verified RDB dump.

    Attributes:
        rdb_version: from the ``REDIS00NN`` header.
        size: total bytes, trailer included.
        crc64: CRC-64/Jones computed over everything before the 8-byte trailer.
        checksum_disabled: the trailer is 0 (written with ``rdbchecksum no``): nothing was compared.
        sha256: hex SHA-256 of the whole dump (trailer included), for the backup manifest.
        db_key_counts: db number -> keys / keys with an expiry / RESIZEDB hint; None when the
            scanner could not walk the whole dump (see ``counts_unavailable_reason``).
        counts_unavailable_reason: why ``db_key_counts`` is None.
        aux: the AUX fields (``redis-ver``, ``redis-bits``, ``ctime``, ``used-mem``, ``aof-base``,
            ``repl-id``, ``repl-offset`` ...), values as text.
        function_libraries: number of FUNCTION libraries in the dump (None when counts stopped).
    """

    rdb_version: int
    size: int
    crc64: int
    checksum_disabled: bool
    sha256: str
    db_key_counts: Mapping[int, DbKeyCounts] | None
    counts_unavailable_reason: str | None
    aux: Mapping[str, str]
    function_libraries: int | None

    @property
    def total_keys(self) -> int | None:
        """Keys over all databases, or None when counts are unavailable."""
        if self.db_key_counts is None:
            return None
        return sum(c.keys for c in self.db_key_counts.values())

    @property
    def redis_version(self) -> str | None:
        """The ``redis-ver`` AUX field: the version of the server that wrote the dump."""
        return self.aux.get("redis-ver")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for a backup manifest); db numbers become strings."""
        counts = None
        if self.db_key_counts is not None:
            counts = {
                str(db): {
                    "keys": c.keys,
                    "expires": c.expires,
                    "resize_db_size": c.resize_db_size,
                    "resize_expires_size": c.resize_expires_size,
                }
                for db, c in self.db_key_counts.items()
            }
        return {
            "rdb_version": self.rdb_version,
            "size": self.size,
            "crc64": f"{self.crc64:016x}",
            "checksum_disabled": self.checksum_disabled,
            "sha256": self.sha256,
            "db_key_counts": counts,
            "counts_unavailable_reason": self.counts_unavailable_reason,
            "aux": dict(self.aux),
            "function_libraries": self.function_libraries,
        }

    def key_counts(self) -> dict[int, int]:
        """db number -> key count (empty when counts are unavailable)."""
        return {db: c.keys for db, c in (self.db_key_counts or {}).items()}


class RdbStreamVerifier:
    """Verify an RDB dump fed in chunks of any size; see ``finish()`` for what is checked.

    The header is checked as soon as its 9 bytes have arrived, so a stream that is not an RDB
    fails on the first chunk. Memory stays O(1): an 8-byte tail is held back from the CRC
    (the trailer is not part of what it covers) and the key scanner skips values without
    buffering them.

    Args:
        count_keys: also walk the dump to count keys per database (default True).
        sha256: also hash the dump (default True); off when the caller hashes the same bytes anyway
            (the S3 uploader does), so the result's ``sha256`` is then "".
    """

    def __init__(self, *, count_keys: bool = True, sha256: bool = True) -> None:
        self._crc = Crc64()
        self._sha = hashlib.sha256() if sha256 else None
        self._tail = b""  # the last (up to) 8 bytes seen: not yet folded into the CRC
        self._last_crc_byte: int | None = None
        self._head = b""
        self._rdb_version: int | None = None
        self._size = 0
        self._scanner = RdbScanner() if count_keys else None
        self._finished = False

    @property
    def bytes_seen(self) -> int:
        """Bytes fed so far."""
        return self._size

    @property
    def rdb_version(self) -> int | None:
        """The RDB version, once the header has arrived."""
        return self._rdb_version

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Consume the next piece of the dump.

        Raises:
            VerificationError: the first 9 bytes are not an RDB header.
            ValueError: called after ``finish()``.
        """
        if self._finished:
            raise ValueError("feed() after finish()")
        n = len(chunk)
        if not n:
            return
        if self._rdb_version is None:
            self._check_header(chunk)
        self._size += n
        if self._sha is not None:
            self._sha.update(chunk)
        if self._scanner is not None:
            self._scanner.feed(chunk)
        if n >= _TRAILER:
            view = memoryview(chunk)
            if self._tail:
                self._crc.update(self._tail)
            if n > _TRAILER:
                self._crc.update(view[: n - _TRAILER])
                self._last_crc_byte = view[n - _TRAILER - 1]
            elif self._tail:
                self._last_crc_byte = self._tail[-1]
            self._tail = bytes(view[n - _TRAILER :])
        else:
            joined = self._tail + bytes(chunk)
            extra = len(joined) - _TRAILER
            if extra > 0:
                self._crc.update(joined[:extra])
                self._last_crc_byte = joined[extra - 1]
                self._tail = joined[extra:]
            else:
                self._tail = joined

    def _check_header(self, chunk: bytes | bytearray | memoryview) -> None:
        self._head += bytes(chunk[: HEADER_SIZE - len(self._head)])
        if len(self._head) < HEADER_SIZE:
            if not b"REDIS".startswith(self._head[:5]):
                self._bad_header(self._head)
            return
        try:
            version = rdb_version_of(self._head)
        except ParseError as e:
            self._bad_header(self._head, e)
        if version < 5:
            raise VerificationError(
                f"RDB version {version} predates checksums (version 5) and is not supported",
                context={"rdb_version": version},
            )
        self._rdb_version = version

    @staticmethod
    def _bad_header(head: bytes, cause: Exception | None = None) -> NoReturn:
        raise VerificationError(
            "not an RDB dump: it does not start with 'REDIS' and a 4-digit version",
            hint="check that the file or stream is a Redis RDB dump (not an AOF or an error page)",
            context={"first_bytes": head[:16].hex()},
        ) from cause

    def finish(self) -> RdbVerification:
        """Check the end of the dump and return the facts.

        Checks: the dump is at least header + EOF opcode + trailer long; the byte before the
        trailer is the EOF opcode 0xFF; the trailer equals the computed CRC64 (or is 0: checksum
        disabled, reported as such); and, when counting, that the scanner reached the EOF opcode
        exactly 8 bytes before the end (this also catches a truncation that happens to end in
        0xFF + 8 zero bytes).

        Raises:
            VerificationError: truncated, corrupt, or not an RDB dump.
        """
        if self._finished:
            raise ValueError("finish() called twice")
        self._finished = True
        scan = self._scanner.finish() if self._scanner is not None else None
        if self._rdb_version is None or self._size < _MIN_SIZE:
            raise VerificationError(
                f"RDB dump is truncated: {self._size} bytes, a dump has at least {_MIN_SIZE}",
                hint="the transfer ended early; run the backup again",
                context={"size": self._size},
            )
        trailer = int.from_bytes(self._tail, "little")
        computed = self._crc.value
        diagnosis = _diagnose(scan)
        if self._last_crc_byte != _EOF_OPCODE:
            raise VerificationError(
                "RDB dump does not end with the EOF opcode 0xFF followed by an 8-byte checksum"
                + (f": {diagnosis}" if diagnosis else " (truncated or trailing garbage)"),
                hint="the dump is truncated or corrupt; run the backup again",
                context={"size": self._size, "byte_before_trailer": self._last_crc_byte},
            )
        checksum_disabled = trailer == 0
        if not checksum_disabled and trailer != computed:
            raise VerificationError(
                f"RDB checksum mismatch: trailer says {trailer:016x}, content hashes to {computed:016x}"
                + (f" ({diagnosis})" if diagnosis else ""),
                hint="the dump is corrupt or truncated; run the backup again",
                context={"size": self._size, "trailer_crc64": f"{trailer:016x}", "crc64": f"{computed:016x}"},
            )
        if scan is not None and scan.malformed is not None:
            raise VerificationError(
                f"RDB structure is invalid: {scan.malformed}",
                hint="the dump is corrupt or truncated; run the backup again",
                context={
                    "size": self._size,
                    "offset": scan.stop_offset,
                    "checksum_disabled": checksum_disabled,
                },
            )
        if scan is not None and scan.counts_unavailable is None and scan.eof_offset != self._size - 9:
            raise VerificationError(  # unreachable unless scanner and trailer disagree; kept as a guard
                f"RDB EOF opcode found at offset {scan.eof_offset}, expected {self._size - 9}",
                context={"size": self._size},
            )
        return RdbVerification(
            rdb_version=self._rdb_version,
            size=self._size,
            crc64=computed,
            checksum_disabled=checksum_disabled,
            sha256=self._sha.hexdigest() if self._sha is not None else "",
            db_key_counts=scan.dbs if scan is not None else None,
            counts_unavailable_reason=("key counting disabled" if scan is None else scan.counts_unavailable),
            aux=scan.aux if scan is not None else MappingProxyType({}),
            function_libraries=scan.function_libraries if scan is not None else None,
        )


def _diagnose(scan: RdbScanResult | None) -> str:
    if scan is None or scan.counts_unavailable is not None:
        return ""
    return scan.malformed or ""


def verify_rdb_chunks(
    chunks: Iterable[bytes | bytearray | memoryview], *, count_keys: bool = True
) -> RdbVerification:
    """Verify a whole dump given as an iterable of chunks (e.g. a replication stream)."""
    verifier = RdbStreamVerifier(count_keys=count_keys)
    for chunk in chunks:
        verifier.feed(chunk)
    return verifier.finish()
