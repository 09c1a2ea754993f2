"""CRC-64/Jones, the checksum Redis writes at the end of every RDB file.

Parameters: reflected, polynomial 0xad93d23594c935a9, init 0, xorout 0; check value
``crc64(b"123456789") == 0xe9c6d914c4b8d9ca``. Because init and xorout are zero, a running CRC
is also the seed for the next piece, so ``crc64(b, crc64(a)) == crc64(a + b)``.

Backends, fastest first (measured by ``benchmarks/crc64.py``): ``anycrc`` (model CRC64-REDIS,
carry-less multiply, GB/s), ``crcmod`` with its C extension (hundreds of MB/s), and a pure-Python
table (a few MB/s, a last resort). ``fastcrc`` has no CRC-64/Jones model and cannot be used.
Each backend is checked against the check value at import; one that disagrees is skipped.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["CHECK_VALUE", "CRC64_BACKEND", "Crc64", "crc64", "crc64_pure"]

_POLY_REFLECTED = 0x95AC9329AC4BC9B5  # bit-reverse of 0xad93d23594c935a9
CHECK_VALUE = 0xE9C6D914C4B8D9CA
_CHECK_INPUT = b"123456789"

_Buffer = bytes | bytearray | memoryview
_CrcFn = Callable[[_Buffer, int], int]


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc64_pure(data: _Buffer, crc: int = 0) -> int:
    """CRC-64/Jones in pure Python (slow: a few MB/s); the fallback when no C backend imports."""
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _anycrc_backend() -> _CrcFn:
    model: Any = importlib.import_module("anycrc").Model("CRC64-REDIS")
    calc = model.calc

    def fn(data: _Buffer, crc: int) -> int:
        return int(calc(data, crc)) if len(data) else crc

    return fn


def _crcmod_backend() -> _CrcFn:
    crcmod: Any = importlib.import_module("crcmod")
    if not getattr(sys.modules.get("crcmod.crcmod"), "_usingExtension", False):
        raise ImportError("crcmod is installed without its C extension")
    raw = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)

    def fn(data: _Buffer, crc: int) -> int:
        return int(raw(data, crc))

    return fn


def _select_backend() -> tuple[str, _CrcFn]:
    for name, factory in (("anycrc", _anycrc_backend), ("crcmod", _crcmod_backend)):
        try:
            fn = factory()
            ok = fn(_CHECK_INPUT, 0) == CHECK_VALUE and fn(b"56789", fn(b"1234", 0)) == CHECK_VALUE
            ok = ok and fn(memoryview(b"x123456789")[1:], 0) == CHECK_VALUE
        except Exception:  # any import or runtime problem: try the next backend
            continue
        if ok:
            return name, fn
    return "pure-python", crc64_pure


CRC64_BACKEND, _crc_fn = _select_backend()
"""Name of the backend in use: ``anycrc``, ``crcmod`` or ``pure-python``."""


def crc64(data: _Buffer, crc: int = 0) -> int:
    """CRC-64/Jones of ``data``, continuing from ``crc`` (the CRC of everything before it).

    Accepts ``bytes``, ``bytearray`` or a ``memoryview`` (sliced views are not copied by the
    C backends).
    """
    return _crc_fn(data, crc)


class Crc64:
    """Streaming CRC-64/Jones: ``update()`` with successive pieces, read ``value``."""

    __slots__ = ("value",)

    def __init__(self, initial: int = 0) -> None:
        self.value = initial

    def update(self, data: _Buffer) -> None:
        """Fold ``data`` into the running checksum."""
        self.value = _crc_fn(data, self.value)

    def copy(self) -> Crc64:
        """An independent copy with the same running value."""
        return Crc64(self.value)

    def hexdigest(self) -> str:
        """The value as 16 lowercase hex digits."""
        return f"{self.value:016x}"

    def __repr__(self) -> str:
        return f"Crc64(0x{self.value:016x})"
