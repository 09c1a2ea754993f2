"""RDB primitives for streamed backups: CRC64, a streaming verifier and key counter, versions.

Pure code, no I/O: everything here is fed bytes by the caller (the replication adapter, a file
reader, an S3 download) and can run while the bytes are still arriving::

    from redisops.rdb import RdbStreamVerifier

    verifier = RdbStreamVerifier()
    for chunk in chunks:          # e.g. redisops.adapters.replication.stream_rdb(...)
        verifier.feed(chunk)
        upload.write(chunk)
    result = verifier.finish()    # raises VerificationError on a bad or truncated dump
    result.rdb_version, result.sha256, result.key_counts()
"""

from redisops.rdb.crc64 import CRC64_BACKEND, Crc64, crc64
from redisops.rdb.scanner import DbKeyCounts, RdbScanner, RdbScanResult
from redisops.rdb.verifier import RdbStreamVerifier, RdbVerification, verify_rdb_chunks
from redisops.rdb.versions import check_rdb_loadable, max_rdb_version_for, rdb_version_of

__all__ = [
    "CRC64_BACKEND",
    "Crc64",
    "DbKeyCounts",
    "RdbScanResult",
    "RdbScanner",
    "RdbStreamVerifier",
    "RdbVerification",
    "check_rdb_loadable",
    "crc64",
    "max_rdb_version_for",
    "rdb_version_of",
    "verify_rdb_chunks",
]
