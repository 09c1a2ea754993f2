#!/usr/bin/env python3
"""Throughput of the CRC-64/Jones candidates and of the RDB verifier/scanner, same data, same run.

    .venv/bin/python benchmarks/crc64.py [--mb 256] [--keys 1000000]

CRC candidates (each checked against the check value first; a wrong one is reported, not timed):

* ``anycrc``  - model CRC64-REDIS (carry-less multiply in C)
* ``crcmod``  - ``mkCrcFun(0x1ad93d23594c935a9, rev=True)`` with its C extension
* ``fastcrc`` - has no CRC-64/Jones model (only ecma_182, go_iso, we, xz, tms570_iso): its
  ``crc64.xz`` is timed for reference only, it cannot compute Redis's checksum
* pure Python (the fallback), on a smaller slice

Then the verifier (CRC + SHA-256 + key scanner) and the scanner alone on synthetic dumps: large
values (64 x 4 MiB strings) and many small keys (``--keys`` string keys of ~20 bytes).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redisops.rdb import CRC64_BACKEND, RdbScanner, RdbStreamVerifier, crc64
from redisops.rdb.crc64 import CHECK_VALUE, crc64_pure

CHUNK = 1 << 20


def timed(fn: Callable[[], object], nbytes: int, repeat: int = 3) -> float:
    """Best-of-``repeat`` throughput in MB/s (10^6 bytes)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return nbytes / best / 1e6


def crc_candidates() -> dict[str, tuple[Callable[[bytes], int] | None, str]]:
    found: dict[str, tuple[Callable[[bytes], int] | None, str]] = {}
    try:
        model: Any = importlib.import_module("anycrc").Model("CRC64-REDIS")
        found["anycrc"] = (lambda d: int(model.calc(d)), "")
    except ImportError as e:
        found["anycrc"] = (None, f"not installed ({e})")
    try:
        crcmod: Any = importlib.import_module("crcmod")
        ext = getattr(sys.modules.get("crcmod.crcmod"), "_usingExtension", False)
        fn = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)
        found["crcmod"] = (lambda d: int(fn(d)), "" if ext else "WITHOUT its C extension")
    except ImportError as e:
        found["crcmod"] = (None, f"not installed ({e})")
    try:
        fastcrc: Any = importlib.import_module("fastcrc")
        xz = fastcrc.crc64.xz
        found["fastcrc (xz, wrong polynomial)"] = (lambda d: int(xz(d)), "no CRC-64/Jones model")
    except ImportError as e:
        found["fastcrc"] = (None, f"not installed ({e})")
    return found


def enc_len(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n < 1 << 32:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def synthetic_dump(records: list[tuple[bytes, bytes]]) -> bytes:
    body = bytearray(b"REDIS0010\xfa" + enc_len(9) + b"redis-ver" + enc_len(6) + b"7.0.15\xfe\x00")
    for key, value in records:
        body += b"\x00" + enc_len(len(key)) + key + enc_len(len(value)) + value
    body += b"\xff"
    return bytes(body) + crc64(body).to_bytes(8, "little")


def feed_all(cls: type[RdbScanner] | type[RdbStreamVerifier], data: bytes) -> None:
    view = memoryview(data)
    sink = cls()
    for i in range(0, len(data), CHUNK):
        sink.feed(view[i : i + CHUNK])
    sink.finish()


def main() -> int:
    parser = argparse.ArgumentParser(description="CRC64 and RDB scanner throughput")
    parser.add_argument("--mb", type=int, default=256, help="MiB of random data for the CRC runs")
    parser.add_argument("--keys", type=int, default=1_000_000, help="small keys in the small-key dump")
    args = parser.parse_args()

    data = os.urandom(args.mb << 20)
    print(f"CRC-64/Jones over {args.mb} MiB of random data (best of 3); redisops uses: {CRC64_BACKEND}")
    for name, (fn, note) in crc_candidates().items():
        if fn is None:
            print(f"  {name:32s} -          {note}")
            continue
        ok = fn(b"123456789") == CHECK_VALUE
        rate = timed(lambda fn=fn: fn(data), len(data))  # type: ignore[misc]
        verdict = "check value OK" if ok else "FAILS the check value"
        print(f"  {name:32s} {rate:9.0f} MB/s  {verdict}{'; ' + note if note else ''}")
    small = data[: 4 << 20]
    rate = timed(lambda: crc64_pure(small), len(small), repeat=1)
    print(f"  {'pure python (fallback)':32s} {rate:9.1f} MB/s  check value OK (4 MiB slice)")

    big = os.urandom(4 << 20)
    large = synthetic_dump([(b"big:%d" % i, big) for i in range(64)])
    keys = synthetic_dump([(b"key:%08d" % i, b"v" * 20) for i in range(args.keys)])
    print(f"\nRDB walk, {CHUNK >> 10} KiB chunks (best of 3)")
    for label, dump, nkeys in (
        ("large values (64 x 4 MiB)", large, 64),
        (f"{args.keys} small keys", keys, args.keys),
    ):
        for what, cls in (("verifier (CRC+SHA-256+scan)", RdbStreamVerifier), ("scanner only", RdbScanner)):
            rate = timed(lambda cls=cls, dump=dump: feed_all(cls, dump), len(dump))  # type: ignore[misc]
            per_key = rate * 1e6 / (len(dump) / nkeys)
            print(f"  {label:28s} {what:28s} {rate:9.1f} MB/s  {per_key:12,.0f} keys/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
