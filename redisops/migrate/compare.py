"""Compare keys of two Redis servers by type, canonical value and TTL (never DUMP bytes).

DUMP payloads differ across versions and encodings (the same hash dumps to 29 or 20 bytes), so a key
is compared by what a client reads: its TYPE, its canonical value (GET; HGETALL and SMEMBERS sorted;
ZRANGE WITHSCORES; LRANGE; XRANGE) and its PTTL within a tolerance (TTLs drift by the copy's latency).

The pure part (:func:`canonical`, :func:`head_difference`, :func:`ttl_differs`, :func:`fingerprint`)
works on replies; the I/O part fetches them pipelined for a batch of keys (:func:`fetch_heads`,
:func:`fetch_values`) and compares a big key chunk by chunk without holding it whole
(:func:`compare_big`: SSCAN/HSCAN windows checked with SMISMEMBER/HMGET on the other side, LRANGE,
ZRANGE and XRANGE windows, GETRANGE slices)::

    from redisops.migrate.compare import KeyHead, canonical, head_difference

    assert canonical("hash", [b"b", b"2", b"a", b"1"]) == ((b"a", b"1"), (b"b", b"2"))
    src, dst = KeyHead("string", 5000, 3), KeyHead("string", -1, 3)
    assert head_difference(src, dst, ttl_tolerance_ms=1000) == ("ttl", "source 5000 ms, target no TTL")
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.exceptions as rex

from redisops.adapters.redis_conn import translate
from redisops.errors import RedisOpsError

_hiredis: Any
_NOT_ENOUGH: Any
try:  # redis-py's C parser and packer (installed with redis[hiredis])
    import hiredis as _hiredis
    from redis._parsers.hiredis import NOT_ENOUGH_DATA as _NOT_ENOUGH
except ImportError:  # pragma: no cover - hiredis is a dependency; the pure path still works
    _hiredis = None
    _NOT_ENOUGH = object()

__all__ = [
    "BIG_STRING_BYTES",
    "CHUNK",
    "KINDS",
    "LENGTH_COMMANDS",
    "KeyHead",
    "ReplyError",
    "canonical",
    "compare_big",
    "fetch_heads",
    "fetch_heads_on",
    "fetch_values",
    "fetch_values_on",
    "fingerprint",
    "head_difference",
    "is_big",
    "raw_pipeline",
    "raw_pipelines",
    "ttl_differs",
    "values_differ",
]

#: the core types compared by value (module types are compared by type and TTL only)
KINDS = ("string", "hash", "list", "set", "zset", "stream")
#: the command that gives a key's length (bytes for strings, elements otherwise)
LENGTH_COMMANDS = {
    "string": "STRLEN",
    "hash": "HLEN",
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "stream": "XLEN",
}
#: elements per window when a big key is compared chunk by chunk
CHUNK = 1000
#: strings longer than this are compared in GETRANGE slices of this size
BIG_STRING_BYTES = 1 << 20

#: the full-value read of a small key, by type
_FULL_READ: dict[str, Callable[[bytes], tuple[Any, ...]]] = {
    "string": lambda k: ("GET", k),
    "hash": lambda k: ("HGETALL", k),
    "list": lambda k: ("LRANGE", k, 0, -1),
    "set": lambda k: ("SMEMBERS", k),
    "zset": lambda k: ("ZRANGE", k, 0, -1, "WITHSCORES"),
    "stream": lambda k: ("XRANGE", k, "-", "+"),
}


@dataclass(frozen=True, slots=True)
class ReplyError:
    """A command of a pipeline that the server answered with an error (``WRONGTYPE`` when the key
    changed type between two reads): the key is read again in the next round."""

    message: str


@dataclass(frozen=True, slots=True)
class KeyHead:
    """What is known of a key before its value: TYPE (``none`` when absent), PTTL (-1: no TTL, -2:
    absent) and length (bytes of a string, elements otherwise; 0 for module types)."""

    type: str
    pttl: int
    length: int

    @property
    def exists(self) -> bool:
        """False when the key does not exist (or expired between TYPE and PTTL)."""
        return self.type != "none" and self.pttl != -2


ABSENT = KeyHead("none", -2, 0)


# --- pure ------------------------------------------------------------------------------------------------


def _pairs(flat: Sequence[Any]) -> list[tuple[Any, Any]]:
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2)]


def _score(value: Any) -> float:
    return float(value.decode() if isinstance(value, bytes) else value)


def canonical(kind: str, reply: Any) -> Any:
    """The value of a key of type ``kind`` from its full read (raw RESP reply), independent of encoding:
    hashes and sets sorted, zsets as (member, float score) in rank order, streams as (id, fields)."""
    if kind == "string":
        return reply
    if kind == "hash":
        return tuple(sorted(_pairs(reply)))
    if kind == "set":
        return tuple(sorted(reply))
    if kind == "list":
        return tuple(reply)
    if kind == "zset":
        return tuple((m, _score(s)) for m, s in _pairs(reply))
    if kind == "stream":
        return tuple((entry[0], tuple(entry[1] or ())) for entry in reply)
    return None


def ttl_differs(source_pttl: int, target_pttl: int, tolerance_ms: int) -> bool:
    """True when one side has a TTL and the other not, or both have one further apart than the
    tolerance (a copy converts to a relative TTL at read time, so TTLs drift by its latency)."""
    if (source_pttl < 0) != (target_pttl < 0):
        return True
    return source_pttl >= 0 and abs(source_pttl - target_pttl) > tolerance_ms


def _ttl_words(pttl: int) -> str:
    return "no TTL" if pttl < 0 else f"{pttl} ms"


def head_difference(source: KeyHead, target: KeyHead, *, ttl_tolerance_ms: int) -> tuple[str, str] | None:
    """The difference visible without reading values: ``("missing" | "type" | "value" | "ttl", detail)``,
    or None (the values still need comparing). A source key absent from the target whose TTL ends
    within the tolerance is not missing (it would expire before anyone notices); a key absent from the
    source is not compared here (the target-side pass names extras)."""
    if not source.exists:
        return None
    if not target.exists:
        if 0 <= source.pttl <= ttl_tolerance_ms:
            return None
        return ("missing", f"{source.type} absent from the target")
    if source.type != target.type:
        return ("type", f"source {source.type}, target {target.type}")
    if source.length != target.length and source.type in KINDS:
        unit = "bytes" if source.type == "string" else "elements"
        return ("value", f"{source.type} length: source {source.length} {unit}, target {target.length}")
    if ttl_differs(source.pttl, target.pttl, ttl_tolerance_ms):
        return ("ttl", f"source {_ttl_words(source.pttl)}, target {_ttl_words(target.pttl)}")
    return None


def is_big(head: KeyHead, chunk: int = CHUNK) -> bool:
    """True when the key is compared in windows rather than read whole."""
    if head.type == "string":
        return head.length > BIG_STRING_BYTES
    return head.type in KINDS and head.length > chunk


def values_differ(kind: str, source_value: Any, target_value: Any) -> str | None:
    """A short description of how two canonical values differ, or None when equal."""
    if source_value == target_value:
        return None
    if kind == "string":
        return "string value differs"
    if kind in ("hash", "set", "zset") and isinstance(source_value, tuple):
        only_src = len(set(source_value) - set(target_value))
        only_dst = len(set(target_value) - set(source_value))
        return f"{kind}: {only_src} element(s) only on the source side, {only_dst} only on the target side"
    return f"{kind} value differs"


def fingerprint(head: KeyHead, value: Any = None) -> str:
    """A short digest of one side of a key (type, whether it has a TTL, length, value when read): equal
    fingerprints in two rounds mean the key did not change in between (the TTL's countdown ignored)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(f"{head.type}|{head.pttl >= 0}|{head.length}|".encode())
    if value is not None:
        h.update(repr(value).encode())
    return h.hexdigest()


# --- I/O ---------------------------------------------------------------------------------------------------


def _packed(conn: Any, commands: Sequence[Sequence[Any]]) -> Any:
    """The commands in RESP: hiredis's C packer when it is installed (redis-py's own packs in Python,
    which costs more than the round trip for a batch of small commands)."""
    if _hiredis is not None:
        try:
            return [b"".join([_hiredis.pack_command(tuple(c)) for c in commands])]
        except TypeError:
            pass  # an argument hiredis does not pack: redis-py's packer below
    return conn.pack_commands(commands)


def _read_all(conn: Any, n: int) -> list[Any]:
    """``n`` replies; a refused command is a :class:`ReplyError` in its place. With redis-py's hiredis
    parser the replies are taken from its reader directly (no per-reply bookkeeping)."""
    parser: Any = getattr(conn, "_parser", None)
    reader = getattr(parser, "_reader", None)
    out: list[Any] = []
    if reader is None or not hasattr(parser, "read_from_socket"):
        for _ in range(n):
            try:
                out.append(conn.read_response())
            except rex.ResponseError as e:
                out.append(ReplyError(str(e)))
        return out
    while len(out) < n:
        reply = reader.gets()
        if reply is _NOT_ENOUGH or reply is False:
            parser.read_from_socket()
            continue
        out.append(ReplyError(str(reply)) if isinstance(reply, Exception) else reply)
    return out


def raw_pipelines(batches: Sequence[tuple[redis.Redis, Sequence[Sequence[Any]]]]) -> list[list[Any]]:
    """Several pipelines at once, one per ``(client, commands)``: every batch is sent before any reply is
    read, so the servers (source and target) work at the same time. Raw replies (no redis-py callbacks);
    a command a server refuses is a :class:`ReplyError` in its place, the others are still read."""
    taken: list[tuple[redis.Redis, Any]] = []
    try:
        for client, commands in batches:
            pool = client.connection_pool
            try:
                conn = pool.get_connection()
            except rex.RedisError as e:
                raise translate(e, getattr(client, "_redisops_endpoint", None)) from e
            taken.append((client, conn))
            if commands:
                _send(client, conn, _packed(conn, commands))
        out: list[list[Any]] = []
        for (client, conn), (_, commands) in zip(taken, batches, strict=True):
            out.append(_read(client, conn, len(commands)) if commands else [])
        return out
    except BaseException:
        for _, conn in taken:
            conn.disconnect()  # replies may be left unread: the connection cannot be reused
        raise
    finally:
        for client, conn in taken:
            client.connection_pool.release(conn)


def _send(client: redis.Redis, conn: Any, packed: Any) -> None:
    try:
        conn.send_packed_command(packed)
    except rex.RedisError as e:
        raise translate(e, getattr(client, "_redisops_endpoint", None)) from e


def _read(client: redis.Redis, conn: Any, n: int) -> list[Any]:
    try:
        return _read_all(conn, n)
    except rex.RedisError as e:
        raise translate(e, getattr(client, "_redisops_endpoint", None)) from e


def raw_pipeline(client: redis.Redis, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """Send ``commands`` in one round trip and read their raw replies (see :func:`raw_pipelines`)."""
    if not commands:
        return []
    return raw_pipelines([(client, commands)])[0]


def _text(value: Any) -> str:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def fetch_heads(client: redis.Redis, keys: Sequence[bytes]) -> list[KeyHead | ReplyError]:
    """TYPE, PTTL and length of every key, in two pipelined round trips."""
    return fetch_heads_on([client], keys)[0]


def fetch_heads_on(clients: Sequence[redis.Redis], keys: Sequence[bytes]) -> list[list[KeyHead | ReplyError]]:
    """:func:`fetch_heads` of the same keys on several servers at once (source and target)."""
    first = raw_pipelines([(c, [x for k in keys for x in (("TYPE", k), ("PTTL", k))]) for c in clients])
    typed: list[tuple[list[str], list[int], list[tuple[int, str]]]] = []
    for replies in first:
        types = [_text(t) if not isinstance(t, ReplyError) else "none" for t in replies[0::2]]
        pttls = [int(p) if not isinstance(p, ReplyError) else -2 for p in replies[1::2]]
        typed.append(
            (types, pttls, [(i, LENGTH_COMMANDS[t]) for i, t in enumerate(types) if t in LENGTH_COMMANDS])
        )
    second = raw_pipelines(
        [(c, [(cmd, keys[i]) for i, cmd in lf]) for c, (_, _, lf) in zip(clients, typed, strict=True)]
    )
    out: list[list[KeyHead | ReplyError]] = []
    for (types, pttls, lengths_for), replies in zip(typed, second, strict=True):
        lengths: dict[int, Any] = {i: r for (i, _), r in zip(lengths_for, replies, strict=True)}
        heads: list[KeyHead | ReplyError] = []
        for i, (t, p) in enumerate(zip(types, pttls, strict=True)):
            n = lengths.get(i, 0)
            if isinstance(n, ReplyError):
                heads.append(n)  # the key changed type between TYPE and its length
            else:
                heads.append(KeyHead(t, p, int(n)) if t != "none" else ABSENT)
        out.append(heads)
    return out


def fetch_values(client: redis.Redis, items: Sequence[tuple[bytes, str]]) -> list[Any]:
    """The canonical value of every ``(key, type)`` (read whole: for keys :func:`is_big` says are small);
    a module type's value is None, a refused read a :class:`ReplyError`."""
    return fetch_values_on([client], items)[0]


def fetch_values_on(clients: Sequence[redis.Redis], items: Sequence[tuple[bytes, str]]) -> list[list[Any]]:
    """:func:`fetch_values` of the same keys on several servers at once (source and target)."""
    readable = [(i, k, t) for i, (k, t) in enumerate(items) if t in _FULL_READ]
    commands = [_FULL_READ[t](k) for _, k, t in readable]
    out: list[list[Any]] = []
    for replies in raw_pipelines([(c, commands) for c in clients]):
        values: list[Any] = [None] * len(items)
        for (i, _, t), reply in zip(readable, replies, strict=True):
            values[i] = reply if isinstance(reply, ReplyError) else canonical(t, reply)
        out.append(values)
    return out


def _one(client: redis.Redis, *args: Any) -> Any:
    reply = raw_pipeline(client, [args])[0]
    if isinstance(reply, ReplyError):
        raise RedisOpsError(f"the server refused {_text(args[0])}: {reply.message}")
    return reply


def compare_big(
    source: redis.Redis,
    target: redis.Redis,
    key: bytes,
    head: KeyHead,
    *,
    chunk: int = CHUNK,
    on_ops: Callable[[int], None] | None = None,
) -> str | None:
    """Compare one big key window by window (never held whole); None when equal, else what differs.

    The lengths are already known to be equal (:func:`head_difference`), so for hashes and sets it is
    enough that every source element is on the target side with the same value. ``on_ops`` is told how
    many commands each window sent (the ops cap)."""
    count = on_ops or (lambda _n: None)
    kind = head.type
    try:
        if kind == "string":
            step = BIG_STRING_BYTES
            for start in range(0, head.length, step):
                a = _one(source, "GETRANGE", key, start, start + step - 1)
                b = _one(target, "GETRANGE", key, start, start + step - 1)
                count(2)
                if a != b:
                    return f"string differs within bytes {start}..{start + step - 1}"
            return None
        if kind in ("list", "zset"):
            cmd = ("LRANGE",) if kind == "list" else ("ZRANGE",)
            extra = () if kind == "list" else ("WITHSCORES",)
            for start in range(0, head.length, chunk):
                a = canonical(kind, _one(source, *cmd, key, start, start + chunk - 1, *extra))
                b = canonical(kind, _one(target, *cmd, key, start, start + chunk - 1, *extra))
                count(2)
                if a != b:
                    return f"{kind} differs within elements {start}..{start + chunk - 1}"
            return None
        if kind == "stream":
            after = "-"
            while True:
                a = canonical(kind, _one(source, "XRANGE", key, after, "+", "COUNT", chunk))
                b = canonical(kind, _one(target, "XRANGE", key, after, "+", "COUNT", chunk))
                count(2)
                if a != b:
                    where = f"in its first {chunk} entries" if after == "-" else f"after entry {after[1:]}"
                    return f"stream differs {where}"
                if len(a) < chunk:
                    return None
                after = "(" + _text(a[-1][0])
        if kind in ("hash", "set"):
            scan = "HSCAN" if kind == "hash" else "SSCAN"
            cursor = b"0"
            while True:
                cursor, flat = _one(source, scan, key, cursor, "COUNT", chunk)
                count(1)
                if flat:
                    problem = _window_missing(target, key, kind, flat)
                    count(1)
                    if problem:
                        return problem
                if cursor in (b"0", 0, "0"):
                    return None
    except RedisOpsError as e:
        return f"{kind} changed while compared ({e.message})"
    return None


def _window_missing(target: redis.Redis, key: bytes, kind: str, flat: list[Any]) -> str | None:
    if kind == "hash":
        fields, values = flat[0::2], flat[1::2]
        got = _one(target, "HMGET", key, *fields)
        for f, want, have in zip(fields, values, got, strict=True):
            if have != want:
                what = "absent" if have is None else "different"
                return f"hash field {_text(f)!r} {what} on the target"
        return None
    present = _one(target, "SMISMEMBER", key, *flat)
    for member, flag in zip(flat, present, strict=True):
        if not int(flag):
            return f"set member {_text(member)!r} absent from the target"
    return None
