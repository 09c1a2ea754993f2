"""A push-based, constant-memory walker over an RDB dump that counts keys per database.

It is fed chunks of any size as they arrive (a chunk boundary may fall anywhere, including
inside a length encoding) and never holds a value in memory: string payloads are skipped by
keeping a count of "bytes still to skip", so a 500 MB string costs O(1) per chunk. Only the
small headers (length encodings, at most 19 bytes) and AUX fields are ever buffered.

Layouts follow ``rdbLoadObject``/``rdbLoadRio`` in Redis's ``src/rdb.c`` (7.0 to 7.4): every
value type Redis 7.x writes is walked (strings, lists, sets, sorted sets, hashes in all their
encodings including hashes with field TTLs, streams v1-v3, module values v2 through their
self-describing annotations). A construct the walker does not know (a module value of the
pre-GA format, an unknown type byte, the pre-GA function opcode) stops counting: the result then
reports ``counts_unavailable`` with the reason, and callers keep verifying the checksum.
Malformed structure (an impossible length encoding, a bad LZF AUX field) is reported as
``malformed`` instead; the scanner never raises for bad data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from redisops.rdb.versions import HEADER_SIZE, RDB_MAGIC

__all__ = ["DbKeyCounts", "RdbScanResult", "RdbScanner"]

# Steps of a value "program". Ints >= 0 are primitive steps; negative ints are fixed-size fields
# of -n bytes; tuples ("rep", sub) read a length n and run the sub-program n times; tuples
# ("repfixed", size) read a length n and skip n * size bytes.
_STR: Final = 0  # an RDB string (length-prefixed, int-encoded or LZF): skipped
_LEN: Final = 1  # a length encoding: read and dropped
_DBL: Final = 2  # an old-style (type 3) double: 1-byte length then that many bytes (253-255: none)
_MOD: Final = 3  # module annotations until the EOF annotation
_F4: Final = -4
_F8: Final = -8
_F16: Final = -16

_Prog = tuple[Any, ...]


def _rep(*sub: Any) -> tuple[str, Any]:
    if all(isinstance(s, int) and s < 0 for s in sub):
        return ("repfixed", -sum(sub))
    return ("rep", tuple(sub))


_ONE_STR: Final[_Prog] = (_STR,)


def _stream(version: int) -> _Prog:
    consumer: list[Any] = [_STR, _F8] + ([_F8] if version >= 3 else []) + [_rep(_F16)]
    cgroup: list[Any] = [_STR, _LEN, _LEN] + ([_LEN] if version >= 2 else [])
    cgroup += [_rep(_F16, _F8, _LEN), _rep(*consumer)]
    meta = [_LEN] * (3 if version == 1 else 8)  # length, last id; v2+: first id, max deleted id, added
    return (_rep(_STR, _STR), *meta, _rep(*cgroup))


# RDB type byte -> how to skip the value that follows the key.
_VALUE_PROGRAMS: Final[dict[int, _Prog]] = {
    0: _ONE_STR,  # string
    1: (_rep(_STR),),  # list (linked, pre-3.2)
    2: (_rep(_STR),),  # set (hash table)
    3: (_rep(_STR, _DBL),),  # zset with string scores
    4: (_rep(_STR, _STR),),  # hash (hash table)
    5: (_rep(_STR, _F8),),  # zset2: binary double scores
    7: (_LEN, _MOD),  # module value v2: module id then annotated fields
    9: _ONE_STR,  # hash zipmap
    10: _ONE_STR,  # list ziplist
    11: _ONE_STR,  # set intset
    12: _ONE_STR,  # zset ziplist
    13: _ONE_STR,  # hash ziplist
    14: (_rep(_STR),),  # list quicklist (ziplist nodes)
    15: _stream(1),
    16: _ONE_STR,  # hash listpack
    17: _ONE_STR,  # zset listpack
    18: (_rep(_LEN, _STR),),  # list quicklist2: (container, node) pairs
    19: _stream(2),
    20: _ONE_STR,  # set listpack (7.2)
    21: _stream(3),
    22: (_rep(_LEN, _STR, _STR),),  # hash with field TTLs, pre-GA 7.4 RC
    23: _ONE_STR,  # hash listpack with TTLs, pre-GA
    24: (_F8, _rep(_LEN, _STR, _STR)),  # hash with field TTLs: min expire, (ttl, field, value)*
    25: (_F8, _STR),  # hash listpack with TTLs: min expire, listpack
}

_OP_SLOT_INFO: Final = 0xF4
_OP_FUNCTION2: Final = 0xF5
_OP_FUNCTION_PRE_GA: Final = 0xF6
_OP_MODULE_AUX: Final = 0xF7
_OP_IDLE: Final = 0xF8
_OP_FREQ: Final = 0xF9
_OP_AUX: Final = 0xFA
_OP_RESIZEDB: Final = 0xFB
_OP_EXPIRETIME_MS: Final = 0xFC
_OP_EXPIRETIME: Final = 0xFD
_OP_SELECTDB: Final = 0xFE
_OP_EOF: Final = 0xFF

_AUX_CAP: Final = 1 << 16  # AUX fields longer than this are skipped, not recorded


class _Signal(Exception):  # control flow inside the scanner, never escapes it
    pos = 0  # the last committed position in the buffer when the signal was raised


class _NeedMore(_Signal):
    """The current atomic step needs the buffer to reach index ``need``."""

    def __init__(self, need: int) -> None:
        super().__init__(need)
        self.need = need


class _Malformed(_Signal):
    pass


class _Unsupported(_Signal):
    pass


def _str_hdr(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Parse an RDB string header at ``pos``: (payload start, payload length in the stream)."""
    if pos >= end:
        raise _NeedMore(pos + 1)
    b = data[pos]
    kind = b >> 6
    if kind == 0:
        return pos + 1, b & 0x3F
    if kind == 1:
        if pos + 2 > end:
            raise _NeedMore(pos + 2)
        return pos + 2, ((b & 0x3F) << 8) | data[pos + 1]
    if kind == 2:
        return _long_len(data, pos, end, b)
    enc = b & 0x3F
    if enc < 3:  # int8 / int16 / int32
        return pos + 1, 1 << enc
    if enc == 3:  # LZF: compressed length, uncompressed length, compressed bytes
        p, clen = _len(data, pos + 1, end)
        p, _ = _len(data, p, end)
        return p, clen
    raise _Malformed(f"unknown string encoding 0x{b:02x}")


def _long_len(data: bytes, pos: int, end: int, b: int) -> tuple[int, int]:
    if b == 0x80:
        if pos + 5 > end:
            raise _NeedMore(pos + 5)
        return pos + 5, int.from_bytes(data[pos + 1 : pos + 5], "big")
    if b == 0x81:
        if pos + 9 > end:
            raise _NeedMore(pos + 9)
        return pos + 9, int.from_bytes(data[pos + 1 : pos + 9], "big")
    raise _Malformed(f"invalid length encoding 0x{b:02x}")


def _len(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Parse a length encoding at ``pos``: (position after it, value)."""
    if pos >= end:
        raise _NeedMore(pos + 1)
    b = data[pos]
    kind = b >> 6
    if kind == 0:
        return pos + 1, b & 0x3F
    if kind == 1:
        if pos + 2 > end:
            raise _NeedMore(pos + 2)
        return pos + 2, ((b & 0x3F) << 8) | data[pos + 1]
    if kind == 2:
        return _long_len(data, pos, end, b)
    raise _Malformed(f"special string encoding 0x{b:02x} where a length was expected")


def lzf_decompress(src: bytes, out_len: int) -> bytes:
    """Decompress an LZF block (as Redis's ``lzf_d.c``); used for small AUX fields only.

    Raises:
        ValueError: the block is corrupt or does not expand to ``out_len`` bytes.
    """
    out = bytearray()
    i, n = 0, len(src)
    try:
        while i < n:
            ctrl = src[i]
            i += 1
            if ctrl < 32:
                out += src[i : i + ctrl + 1]
                i += ctrl + 1
                continue
            length = ctrl >> 5
            if length == 7:
                length += src[i]
                i += 1
            ref = len(out) - ((ctrl & 0x1F) << 8) - src[i] - 1
            i += 1
            if ref < 0:
                raise ValueError("LZF back-reference before the start")
            for _ in range(length + 2):
                out.append(out[ref])
                ref += 1
    except IndexError as e:
        raise ValueError("truncated LZF data") from e
    if len(out) != out_len:
        raise ValueError(f"LZF data expands to {len(out)} bytes, header says {out_len}")
    return bytes(out)


def _str_value(data: bytes, pos: int, end: int) -> tuple[int, bytes | None]:
    """Read a whole (small) RDB string: (position after it, value or None when over the cap)."""
    if pos >= end:
        raise _NeedMore(pos + 1)
    b = data[pos]
    if b >> 6 == 3:
        enc = b & 0x3F
        if enc < 3:
            size = 1 << enc
            if pos + 1 + size > end:
                raise _NeedMore(pos + 1 + size)
            num = int.from_bytes(data[pos + 1 : pos + 1 + size], "little", signed=True)
            return pos + 1 + size, str(num).encode()
        if enc == 3:
            p, clen = _len(data, pos + 1, end)
            p, ulen = _len(data, p, end)
            if clen > _AUX_CAP or ulen > _AUX_CAP:
                return p + clen, None
            if p + clen > end:
                raise _NeedMore(p + clen)
            try:
                return p + clen, lzf_decompress(data[p : p + clen], ulen)
            except ValueError as e:
                raise _Malformed(f"AUX field: {e}") from None
        raise _Malformed(f"unknown string encoding 0x{b:02x}")
    p, size = _len(data, pos, end)
    if size > _AUX_CAP:
        return p + size, None
    if p + size > end:
        raise _NeedMore(p + size)
    return p + size, data[p : p + size]


@dataclass(frozen=True)
class DbKeyCounts:
    """Keys found in one database, and the RESIZEDB hint written at fork time (None if absent)."""

    keys: int
    expires: int
    resize_db_size: int | None = None
    resize_expires_size: int | None = None


@dataclass(frozen=True)
class RdbScanResult:
    """What a scan found.

    ``dbs`` is None when counting stopped (``counts_unavailable`` says why, or ``malformed``
    when the structure was broken). ``complete`` is true when the EOF opcode was reached and
    exactly 8 checksum bytes followed it.
    """

    rdb_version: int | None
    dbs: MappingProxyType[int, DbKeyCounts] | None
    aux: MappingProxyType[str, str]
    function_libraries: int | None
    module_aux_fields: int
    eof_offset: int | None
    bytes_after_eof: int
    size: int
    complete: bool
    counts_unavailable: str | None = None
    malformed: str | None = None
    stop_offset: int | None = field(default=None)


class RdbScanner:
    """Walk an RDB stream chunk by chunk; see the module docstring.

    Usage::

        scanner = RdbScanner()
        for chunk in chunks:
            scanner.feed(chunk)
        result = scanner.finish()
    """

    def __init__(self) -> None:
        self._left = bytearray()  # unconsumed bytes of an incomplete atomic step
        self._need = 0  # bytes (from the start of _left) the pending step needs
        self._skip = 0  # payload bytes still to skip
        self._offset = 0  # absolute offset of the first byte not yet consumed
        self._size = 0
        self._tasks: list[list[Any]] = []  # [program, step index, repeats left]
        self._header_done = False
        self._rdb_version: int | None = None
        self._done = False  # EOF opcode seen
        self._eof_offset: int | None = None
        self._after_eof = 0
        self._stopped = False
        self._unsupported: str | None = None
        self._malformed: str | None = None
        self._stop_offset: int | None = None
        self._db = 0
        self._counts: dict[int, list[int]] = {0: [0, 0]}
        self._cur = self._counts[0]
        self._hints: dict[int, tuple[int, int]] = {}
        self._expire_pending = False
        self._aux: dict[str, str] = {}
        self._functions = 0
        self._module_aux = 0
        self._finished = False

    # -- feeding -----------------------------------------------------------------------------

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Consume the next piece of the stream (any size, including empty)."""
        if self._finished:
            raise ValueError("feed() after finish()")
        n = len(chunk)
        if not n:
            return
        self._size += n
        if self._stopped:
            return
        if self._done:
            self._after_eof += n
            return
        skip = self._skip
        if skip:
            if skip >= n:
                self._skip = skip - n
                self._offset += n
                return
            chunk = memoryview(chunk)[skip:]
            self._skip = 0
            self._offset += skip
            n -= skip
        left = self._left
        if left:
            left += chunk
            if len(left) < self._need:
                return
            data = bytes(left)
            self._left = bytearray()
        else:
            if n < self._need:
                self._left = bytearray(chunk)
                return
            data = chunk if isinstance(chunk, bytes) else bytes(chunk)
        self._need = 0
        self._run(data)

    def _run(self, data: bytes) -> None:
        end = len(data)
        try:
            pos = self._header(data, end) if not self._header_done else 0
            pos = self._parse(data, pos, end)
        except _NeedMore as e:
            self._need = e.need - e.pos
            self._left = bytearray(data[e.pos :])
            self._offset += e.pos
            return
        except _Malformed as e:
            self._stop(malformed=str(e), at=self._offset + e.pos)
            return
        except _Unsupported as e:
            self._stop(unsupported=str(e), at=self._offset + e.pos)
            return
        if pos > end:
            self._skip = pos - end
        elif pos < end:  # EOF opcode reached: the rest is the checksum (and anything after it)
            self._after_eof += end - pos
        self._offset += min(pos, end)

    def _stop(self, *, at: int, malformed: str | None = None, unsupported: str | None = None) -> None:
        self._stopped = True
        self._malformed = malformed
        self._unsupported = unsupported
        self._stop_offset = at
        self._left = bytearray()
        self._tasks.clear()

    def _header(self, data: bytes, end: int) -> int:
        if end < HEADER_SIZE:
            raise _NeedMore(HEADER_SIZE)
        head = data[:HEADER_SIZE]
        if head[:5] != RDB_MAGIC or not head[5:].isdigit():
            raise _Malformed("not an RDB header")
        self._rdb_version = int(head[5:])
        self._header_done = True
        return HEADER_SIZE

    # -- the walk ----------------------------------------------------------------------------

    def _parse(self, data: bytes, pos: int, end: int) -> int:
        """Consume steps from ``pos``; returns the position reached (> end: bytes to skip)."""
        tasks = self._tasks
        str_hdr = _str_hdr
        try:
            while pos < end:
                if not tasks:
                    if self._done:
                        return pos
                    pos = self._top(data, pos, end)
                    continue
                task = tasks[-1]
                prog = task[0]
                i = task[1]
                if i == len(prog):
                    if task[2] > 1:
                        task[2] -= 1
                        task[1] = 0
                    else:
                        tasks.pop()
                    continue
                step = prog[i]
                if step.__class__ is int:
                    if step == _STR:
                        p, size = str_hdr(data, pos, end)
                        task[1] = i + 1
                        pos = p + size
                    elif step < 0:
                        task[1] = i + 1
                        pos -= step
                    elif step == _LEN:
                        pos = _len(data, pos, end)[0]
                        task[1] = i + 1
                    elif step == _DBL:
                        b = data[pos]
                        task[1] = i + 1
                        pos += 1 + (b if b < 253 else 0)
                    else:  # _MOD: one annotated field per pass; the EOF annotation ends the step
                        p, opcode = _len(data, pos, end)
                        if opcode == 0:
                            task[1] = i + 1
                            pos = p
                        elif opcode in (1, 2):  # signed / unsigned integer
                            pos = _len(data, p, end)[0]
                        elif opcode == 3:  # float
                            pos = p + 4
                        elif opcode == 4:  # double
                            pos = p + 8
                        elif opcode == 5:
                            p, size = str_hdr(data, p, end)
                            pos = p + size
                        else:
                            raise _Malformed(f"unknown module annotation {opcode}")
                else:
                    p, count = _len(data, pos, end)
                    task[1] = i + 1
                    pos = p
                    if step[0] == "repfixed":
                        pos += count * step[1]
                    elif count:
                        tasks.append([step[1], 0, count])
        except _Signal as e:
            e.pos = pos
            raise
        return pos

    def _top(self, data: bytes, pos: int, end: int) -> int:
        """Parse one top-level record (opcode or key) at ``pos``; returns the new position."""
        op = data[pos]
        prog = _VALUE_PROGRAMS.get(op)
        if prog is not None:
            kp, klen = _str_hdr(data, pos + 1, end)
            counts = self._cur
            counts[0] += 1
            if self._expire_pending:
                counts[1] += 1
                self._expire_pending = False
            p = kp + klen
            if prog is _ONE_STR and p < end:
                try:
                    vp, vlen = _str_hdr(data, p, end)
                except _NeedMore:
                    pass
                else:
                    return vp + vlen
            self._tasks.append([prog, 0, 1])
            return p
        if op == _OP_EXPIRETIME_MS:
            self._expire_pending = True
            return pos + 9
        if op == _OP_SELECTDB:
            p, db = _len(data, pos + 1, end)
            self._db = db
            self._cur = self._counts.setdefault(db, [0, 0])
            return p
        if op == _OP_RESIZEDB:
            p, db_size = _len(data, pos + 1, end)
            p, expires_size = _len(data, p, end)
            self._hints[self._db] = (db_size, expires_size)
            return p
        if op == _OP_AUX:
            return self._aux_field(data, pos, end)
        if op == _OP_EOF:
            self._done = True
            self._eof_offset = self._offset + pos
            return pos + 1
        if op == _OP_FREQ:
            return pos + 2
        if op == _OP_IDLE:
            return _len(data, pos + 1, end)[0]
        if op == _OP_EXPIRETIME:
            self._expire_pending = True
            return pos + 5
        if op == _OP_FUNCTION2:
            self._functions += 1
            self._tasks.append([_ONE_STR, 0, 1])
            return pos + 1
        if op == _OP_MODULE_AUX:
            p, _module_id = _len(data, pos + 1, end)
            p, when_opcode = _len(data, p, end)
            p, _when = _len(data, p, end)
            if when_opcode != 2:
                raise _Malformed(f"module AUX field with bad 'when' annotation {when_opcode}")
            self._module_aux += 1
            self._tasks.append([(_MOD,), 0, 1])
            return p
        if op == _OP_SLOT_INFO:
            p = _len(data, pos + 1, end)[0]
            p = _len(data, p, end)[0]
            return _len(data, p, end)[0]
        if op == _OP_FUNCTION_PRE_GA:
            raise _Unsupported("pre-release (7.0 RC) function format")
        if op == 6:
            raise _Unsupported("pre-release (4.0 RC) module value format")
        raise _Unsupported(f"unknown RDB type or opcode {op} (0x{op:02x})")

    def _aux_field(self, data: bytes, pos: int, end: int) -> int:
        p, key = _str_value(data, pos + 1, end)
        if key is None:  # oversized key: skip key and value without recording
            self._tasks.append([_ONE_STR, 0, 1])
            return p
        p, value = _str_value(data, p, end)
        name = key.decode("utf-8", "replace")
        self._aux[name] = value.decode("utf-8", "replace") if value is not None else "<oversized>"
        return p

    # -- results -----------------------------------------------------------------------------

    def finish(self) -> RdbScanResult:
        """End of stream: what was found. Never raises for bad data (see ``malformed``)."""
        self._finished = True
        malformed = self._malformed
        complete = self._done and self._after_eof == 8 and not self._stopped
        if not self._stopped and not malformed:
            if not self._header_done:
                malformed = f"stream ended after {self._size} bytes, inside the 9-byte header"
            elif not self._done:
                malformed = (
                    f"stream ended after {self._size} bytes without reaching the RDB EOF opcode (truncated)"
                )
            elif self._after_eof != 8:
                malformed = (
                    f"EOF opcode at offset {self._eof_offset} is followed by {self._after_eof} bytes, "
                    "expected exactly 8 (the checksum)"
                )
        dbs: MappingProxyType[int, DbKeyCounts] | None = None
        if not self._stopped:
            found: dict[int, DbKeyCounts] = {}
            for db in sorted(set(self._counts) | set(self._hints)):
                keys, expires = self._counts.get(db, (0, 0))
                hint = self._hints.get(db)
                if keys == 0 and hint is None:
                    continue
                found[db] = DbKeyCounts(keys, expires, *(hint if hint else (None, None)))
            dbs = MappingProxyType(found)
        return RdbScanResult(
            rdb_version=self._rdb_version,
            dbs=dbs,
            aux=MappingProxyType(dict(self._aux)),
            function_libraries=None if self._stopped else self._functions,
            module_aux_fields=self._module_aux,
            eof_offset=self._eof_offset,
            bytes_after_eof=self._after_eof,
            size=self._size,
            complete=complete,
            counts_unavailable=self._unsupported,
            malformed=malformed,
            stop_offset=self._stop_offset,
        )
