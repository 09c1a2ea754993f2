"""Verify a migration: per-db counts, then a full or sampled comparison of every key, in rounds.

:func:`run_verify` compares the source with the target (read-only on both):

1. **counts** per db from INFO keyspace (``keys - expires``, since expiries make raw counts diverge);
2. **compare**: every source key (``full``, SCAN) or ``sample_size`` random keys per db (``sample``,
   RANDOMKEY) by type, length, canonical value and PTTL within ``ttl_tolerance_ms``
   (:mod:`redisops.migrate.compare`; big keys window by window);
3. **extra**: the target-side pass (SCAN of the target, or a random sample of it) finds keys only on the
   target;
4. **re-check rounds** (as redis-full-check): the keys that differed are read again ``rounds - 1`` times,
   ``round_delay`` seconds apart. A key that became equal is *settled*; one whose observed state
   changed between rounds is *in flight* (named, not counted as a mismatch); only a difference seen
   identically in every round counts.

Either side may be a Redis Cluster (:mod:`redisops.migrate.cluster`): SCAN walks every primary, and
each key is read on the node of its hash slot on each side.

The report (:class:`VerifyReport`) has the counts, the differences by kind (missing, extra, type,
value, ttl) with examples, and the in-flight keys; :meth:`VerifyReport.raise_if_different` raises
:class:`~redisops.migrate.errors.VerifyDifferences` (exit 22)::

    report = run_verify(source_ep, target_ep, VerifyOptions(rounds=3), reporter=r, cancel=token)
    print("\\n".join(report.summary()))
    report.raise_if_different()
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import redis
from pydantic import BaseModel, ConfigDict, Field

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.cancel import CancelToken
from redisops.events import Reporter
from redisops.migrate.cluster import Side, merged_info, open_side
from redisops.migrate.compare import (
    ABSENT,
    CHUNK,
    KINDS,
    KeyHead,
    ReplyError,
    compare_big,
    fetch_heads_on,
    fetch_values_on,
    fingerprint,
    head_difference,
    is_big,
    raw_pipeline,
    values_differ,
)
from redisops.migrate.errors import VerifyDifferences
from redisops.migrate.walker import RateLimiter, scan_batches

__all__ = ["DIFFERENCE_KINDS", "DbCount", "KeyDifference", "VerifyOptions", "VerifyReport", "run_verify"]

#: the kinds of difference a verify reports, in report order
DIFFERENCE_KINDS = ("missing", "extra", "type", "value", "ttl")


class VerifyOptions(BaseModel):
    """What :func:`run_verify` compares and how hard it may load the servers."""

    model_config = ConfigDict(extra="forbid")

    dbs: list[Annotated[int, Field(ge=0, le=100_000)]] | None = Field(
        default=None,
        max_length=10_000,
        description="databases to compare (null: every db holding keys on either side)",
    )
    mode: Literal["full", "sample"] = Field(
        default="full", description="full: every key (SCAN) both ways; sample: sample_size random keys per db"
    )
    sample_size: int = Field(
        default=1000, ge=1, le=10_000_000, description="sample mode: random keys per db on each side"
    )
    ttl_tolerance_ms: int = Field(
        default=2000, ge=0, le=86_400_000, description="TTLs this far apart (ms) still match"
    )
    rounds: int = Field(
        default=3,
        ge=1,
        le=20,
        description="comparison rounds: keys that differ are read again rounds-1 times",
    )
    round_delay: float = Field(default=1.0, ge=0, le=3600, description="seconds between two rounds")
    max_ops: float = Field(
        default=0.0, ge=0, description="cap on commands per second sent to the source (0: none)"
    )
    scan_count: int = Field(default=1000, ge=1, le=100_000, description="SCAN COUNT hint (keys per batch)")
    chunk: int = Field(
        default=CHUNK, ge=10, le=100_000, description="big keys are compared in windows of this many elements"
    )
    examples: int = Field(default=20, ge=0, le=10_000, description="example keys kept per kind of difference")
    recheck_limit: int = Field(
        default=100_000, ge=0, le=10_000_000,
        description="keys re-checked at most; differences beyond it count without re-check",
    )  # fmt: skip
    in_flight_limit: int = Field(
        default=10_000, ge=0, le=1_000_000, description="in-flight keys named at most"
    )


@dataclass(frozen=True)
class DbCount:
    """One db's key counts on both sides (INFO keyspace)."""

    db: int
    source_keys: int
    source_expires: int
    target_keys: int
    target_expires: int

    @property
    def source_persistent(self) -> int:
        """Source keys without a TTL (``keys - expires``)."""
        return self.source_keys - self.source_expires

    @property
    def target_persistent(self) -> int:
        """Target keys without a TTL."""
        return self.target_keys - self.target_expires

    @property
    def match(self) -> bool:
        """True when both sides hold as many keys without a TTL."""
        return self.source_persistent == self.target_persistent

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, with the ``keys - expires`` figures and whether they match."""
        return {
            "db": self.db,
            "source_keys": self.source_keys,
            "source_expires": self.source_expires,
            "target_keys": self.target_keys,
            "target_expires": self.target_expires,
            "source_persistent": self.source_persistent,
            "target_persistent": self.target_persistent,
            "match": self.match,
        }


@dataclass(frozen=True)
class KeyDifference:
    """One key that differs (or is in flight): its db, name, the kind of difference and a detail."""

    db: int
    key: bytes
    kind: str
    detail: str = ""

    @property
    def name(self) -> str:
        """The key as text (bytes that are not UTF-8 escaped)."""
        return self.key.decode("utf-8", "backslashreplace")

    def to_dict(self) -> dict[str, Any]:
        """``{"db", "key", "kind", "detail"}``."""
        return {"db": self.db, "key": self.name, "kind": self.kind, "detail": self.detail}


@dataclass
class VerifyReport:
    """What :func:`run_verify` found (see the module docstring)."""

    mode: str
    rounds: int
    ttl_tolerance_ms: int
    counts: list[DbCount] = field(default_factory=list)
    compared: int = 0
    checked_on_target: int = 0
    differences: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DIFFERENCE_KINDS, 0))
    examples: list[KeyDifference] = field(default_factory=list)
    in_flight: list[KeyDifference] = field(default_factory=list)
    in_flight_count: int = 0
    settled: int = 0
    vanished: int = 0
    not_rechecked: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_differences(self) -> int:
        """Stable differences of every kind."""
        return sum(self.differences.values())

    @property
    def ok(self) -> bool:
        """True when no stable difference was found (in-flight keys do not count)."""
        return self.total_differences == 0

    def summary(self) -> list[str]:
        """Lines for people: counts, the verdict, differences by kind, examples, in-flight keys."""
        lines = [
            f"db{c.db}: source {c.source_persistent} keys without TTL ({c.source_keys} in all), "
            f"target {c.target_persistent} ({c.target_keys})" + ("" if c.match else "  <- counts differ")
            for c in self.counts
        ]
        where = f"{self.compared} source keys and {self.checked_on_target} target keys compared ({self.mode})"
        if self.ok:
            lines.append(f"{where}: no differences")
        else:
            kinds = ", ".join(f"{k} {n}" for k, n in self.differences.items() if n)
            lines.append(f"{where}: {self.total_differences} differences ({kinds})")
        for d in self.examples:
            lines.append(f"  {d.kind:<7} db{d.db} {d.name}: {d.detail}")
        if self.in_flight_count:
            lines.append(f"{self.in_flight_count} keys in flight (changed during the verify; not counted):")
            lines.extend(f"  db{d.db} {d.name}: {d.detail}" for d in self.in_flight)
        if self.settled:
            lines.append(f"{self.settled} keys differed at first and matched when read again")
        lines.extend(f"note: {w}" for w in self.warnings)
        return lines

    def raise_if_different(self) -> None:
        """:class:`~redisops.migrate.errors.VerifyDifferences` (exit 22) on a stable difference."""
        if self.ok:
            return
        kinds = ", ".join(f"{k} {n}" for k, n in self.differences.items() if n)
        first = self.examples[0] if self.examples else None
        example = f"; e.g. {first.kind} db{first.db} {first.name}" if first else ""
        raise VerifyDifferences(
            f"{self.total_differences} key{'s' if self.total_differences != 1 else ''} "
            f"differ between source and target ({kinds}){example}",
            context={"differences": dict(self.differences), "in_flight": self.in_flight_count},
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``ok``, counts, differences by kind, examples, in-flight keys)."""
        return {
            "ok": self.ok,
            "mode": self.mode,
            "rounds": self.rounds,
            "ttl_tolerance_ms": self.ttl_tolerance_ms,
            "counts": [c.to_dict() for c in self.counts],
            "counts_match": all(c.match for c in self.counts),
            "compared": self.compared,
            "checked_on_target": self.checked_on_target,
            "total_differences": self.total_differences,
            "differences": dict(self.differences),
            "examples": [d.to_dict() for d in self.examples],
            "in_flight_count": self.in_flight_count,
            "in_flight": [d.to_dict() for d in self.in_flight],
            "settled": self.settled,
            "vanished": self.vanished,
            "not_rechecked": self.not_rechecked,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
        }


# --- one observation of a key ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seen:
    """How a differing key looked in one round: the kind, a detail, and both sides' fingerprints."""

    kind: str
    detail: str
    shape: str

    @classmethod
    def of(cls, kind: str, detail: str, src: KeyHead, dst: KeyHead, a: Any = None, b: Any = None) -> _Seen:
        return cls(kind, detail, f"{kind}:{fingerprint(src, a)}:{fingerprint(dst, b)}")


def _changing(why: str) -> _Seen:
    return _Seen("value", f"changed while read ({why})", f"error:{time.monotonic_ns()}")


class _Pair:
    """The source and target clients of one db, the limiter both share and the options."""

    def __init__(self, src: redis.Redis, dst: redis.Redis, opts: VerifyOptions, limiter: RateLimiter) -> None:
        self.src, self.dst, self.opts, self.limiter = src, dst, opts, limiter
        self.vanished = 0

    def _spend(self, n: int) -> None:
        self.limiter.acquire((n + 1) // 2, "while comparing a big key")  # about half on the source

    def observe(self, keys: Sequence[bytes]) -> dict[bytes, _Seen]:
        """The keys of ``keys`` that differ now, with how they look."""
        tol = self.opts.ttl_tolerance_ms
        self.limiter.acquire(3 * len(keys), "while comparing")  # TYPE, PTTL, length on the source
        src_heads, dst_heads = fetch_heads_on((self.src, self.dst), keys)
        heads = zip(keys, src_heads, dst_heads, strict=True)
        out: dict[bytes, _Seen] = {}
        small: list[tuple[bytes, KeyHead, KeyHead]] = []
        for key, s, d in heads:
            if isinstance(s, ReplyError) or isinstance(d, ReplyError):
                out[key] = _changing((s if isinstance(s, ReplyError) else d).message)  # type: ignore[union-attr]
                continue
            if not s.exists:
                if d.exists and not 0 <= d.pttl <= tol:
                    out[key] = _Seen.of("extra", f"{d.type} only on the target", ABSENT, d)
                else:
                    self.vanished += 1
                continue
            diff = head_difference(s, d, ttl_tolerance_ms=tol)
            if diff is not None:
                out[key] = _Seen.of(diff[0], diff[1], s, d)
            elif s.type in KINDS and is_big(s, self.opts.chunk):
                problem = compare_big(self.src, self.dst, key, s, chunk=self.opts.chunk, on_ops=self._spend)
                if problem:
                    out[key] = _Seen.of("value", problem, s, d, problem)
            elif s.type in KINDS and d.exists:
                small.append((key, s, d))
        if small:
            self.limiter.acquire(len(small), "while comparing")
            a_values, b_values = fetch_values_on((self.src, self.dst), [(k, s.type) for k, s, _ in small])
            for (key, s, d), a, b in zip(small, a_values, b_values, strict=True):
                if isinstance(a, ReplyError) or isinstance(b, ReplyError):
                    out[key] = _changing((a if isinstance(a, ReplyError) else b).message)
                    continue
                detail = values_differ(s.type, a, b)
                if detail:
                    out[key] = _Seen.of("value", detail, s, d, a, b)
        return out

    def target_only(self, keys: Sequence[bytes]) -> dict[bytes, _Seen]:
        """The keys of ``keys`` (read on the target) that the source does not hold."""
        self.limiter.acquire(len(keys), "while checking the target's keys")
        exists = raw_pipeline(self.src, [("EXISTS", k) for k in keys])
        absent = [
            k for k, e in zip(keys, exists, strict=True) if not isinstance(e, ReplyError) and not int(e)
        ]
        return self.observe(absent) if absent else {}


class _Sides:
    """One db of both sides, each a single server or a Redis Cluster's primaries: keys are grouped by the
    (source node, target node) pair that holds them and compared by that pair's :class:`_Pair`."""

    def __init__(self, src: Side, dst: Side, opts: VerifyOptions, limiter: RateLimiter) -> None:
        self.src, self.dst, self.opts, self.limiter = src, dst, opts, limiter
        self._pairs: dict[tuple[int, int], _Pair] = {}

    @property
    def vanished(self) -> int:
        """Keys gone from the source between SCAN and their comparison."""
        return sum(p.vanished for p in self._pairs.values())

    def _pair(self, i: int, j: int) -> _Pair:
        if (i, j) not in self._pairs:
            self._pairs[(i, j)] = _Pair(self.src.clients[i], self.dst.clients[j], self.opts, self.limiter)
        return self._pairs[(i, j)]

    def _groups(self, keys: Sequence[bytes]) -> dict[tuple[int, int], list[bytes]]:
        if not self.src.clustered and not self.dst.clustered:
            return {(0, 0): list(keys)}
        out: dict[tuple[int, int], list[bytes]] = {}
        for k in keys:
            out.setdefault((self.src.index_for(k), self.dst.index_for(k)), []).append(k)
        return out

    def observe(self, keys: Sequence[bytes]) -> dict[bytes, _Seen]:
        """:meth:`_Pair.observe` of every group."""
        out: dict[bytes, _Seen] = {}
        for (i, j), group in self._groups(keys).items():
            out.update(self._pair(i, j).observe(group))
        return out

    def target_only(self, keys: Sequence[bytes]) -> dict[bytes, _Seen]:
        """:meth:`_Pair.target_only` of every group."""
        out: dict[bytes, _Seen] = {}
        for (i, j), group in self._groups(keys).items():
            out.update(self._pair(i, j).target_only(group))
        return out


def _sample(side: Side, n: int) -> list[bytes]:
    """About ``n`` random keys of a side (spread over a cluster's primaries)."""
    each = max(1, n // len(side.clients))
    return [k for c in side.clients for k in _random_keys(c, each)]


# --- the verify ---------------------------------------------------------------------------------------


def _keyspace(ep: RedisEndpoint) -> dict[int, tuple[int, int]]:
    info = merged_info(ep, "keyspace")
    return {db: (ks.keys, ks.expires) for db, ks in info.keyspace.items()}


def _random_keys(client: redis.Redis, n: int) -> list[bytes]:
    replies = raw_pipeline(client, [("RANDOMKEY",)] * n)
    return list(dict.fromkeys(r for r in replies if isinstance(r, bytes)))


def _chunks(keys: Sequence[bytes], size: int) -> Iterator[Sequence[bytes]]:
    for i in range(0, len(keys), size):
        yield keys[i : i + size]


class _Run:
    """The state of one verify: the report being filled and the candidates of the re-check rounds."""

    def __init__(self, opts: VerifyOptions, reporter: Reporter, cancel: CancelToken) -> None:
        self.opts, self.reporter, self.cancel = opts, reporter, cancel
        self.report = VerifyReport(opts.mode, opts.rounds, opts.ttl_tolerance_ms)
        self.candidates: dict[tuple[int, bytes], list[_Seen]] = {}
        self._examples: dict[str, int] = {}

    def add(self, db: int, found: dict[bytes, _Seen]) -> None:
        """Differences of one batch: kept for the re-check rounds (up to ``recheck_limit`` keys), else
        counted at once (one round, or beyond the limit)."""
        for key, seen in found.items():
            if (db, key) in self.candidates:
                continue  # seen from the other side already
            if self.opts.rounds > 1 and len(self.candidates) < self.opts.recheck_limit:
                self.candidates[(db, key)] = [seen]
                continue
            if self.opts.rounds > 1:
                self.report.not_rechecked += 1
            self.count(db, key, seen)

    def count(self, db: int, key: bytes, seen: _Seen) -> None:
        r = self.report
        r.differences[seen.kind] = r.differences.get(seen.kind, 0) + 1
        if self._examples.get(seen.kind, 0) < self.opts.examples:
            self._examples[seen.kind] = self._examples.get(seen.kind, 0) + 1
            r.examples.append(KeyDifference(db, key, seen.kind, seen.detail))


def run_verify(
    source: RedisEndpoint,
    target: RedisEndpoint,
    options: VerifyOptions | None = None,
    *,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> VerifyReport:
    """Compare ``source`` with ``target`` (see the module docstring); reads only.

    Progress: ``counting``, ``comparing`` (keys of the source's count), ``extra`` (the target-side
    pass), ``rechecking`` (one phase per round). ``cancel`` stops it between batches and during the
    pause between rounds (:class:`~redisops.errors.Interrupted`; nothing to clean up).
    """
    opts = options or VerifyOptions()
    rep = reporter or Reporter("migrate.verify")
    token = cancel or CancelToken()
    run = _Run(opts, rep, token)
    started = time.monotonic()
    with ExitStack() as stack:
        rep.phase("counting", "INFO keyspace on both sides")
        s_ks, d_ks = _keyspace(source), _keyspace(target)
        dbs = sorted(opts.dbs) if opts.dbs is not None else sorted(set(s_ks) | set(d_ks))
        for db in dbs:
            sk, se = s_ks.get(db, (0, 0))
            dk, de = d_ks.get(db, (0, 0))
            run.report.counts.append(DbCount(db, sk, se, dk, de))
        limiter = RateLimiter(opts.max_ops or None, burst=max(opts.max_ops, 1.0), cancel=token)
        pairs: dict[int, _Sides] = {}
        for db in dbs:
            s = open_side(source, db)
            stack.callback(s.close)
            d = open_side(target, db)
            stack.callback(d.close)
            pairs[db] = _Sides(s, d, opts, limiter)
        _first_pass(run, pairs, s_ks)
        _target_pass(run, pairs)
        _recheck(run, pairs)
        run.report.vanished = sum(p.vanished for p in pairs.values())
    report = run.report
    for c in report.counts:
        if not c.match:
            report.warnings.append(
                f"db{c.db}: {c.source_persistent} keys without TTL on the source, {c.target_persistent} "
                "on the target (INFO keyspace; writes during the verify also move these)"
            )
    if report.not_rechecked:
        report.warnings.append(
            f"{report.not_rechecked} differing keys beyond recheck_limit={opts.recheck_limit} were counted "
            "without re-check"
        )
    report.seconds = time.monotonic() - started
    return report


def _first_pass(run: _Run, pairs: dict[int, _Sides], s_ks: dict[int, tuple[int, int]]) -> None:
    opts, rep = run.opts, run.reporter
    rep.phase("comparing", f"{opts.mode}: type, value and TTL within {opts.ttl_tolerance_ms} ms")
    per_db = opts.sample_size if opts.mode == "sample" else None
    total = sum(min(per_db, s_ks.get(db, (0, 0))[0]) if per_db else s_ks.get(db, (0, 0))[0] for db in pairs)
    done = 0
    for db, pair in pairs.items():
        if opts.mode == "sample":
            run.cancel.check(f"while sampling db {db}")
            pair.limiter.acquire(opts.sample_size, "while sampling")
            for keys in _chunks(_sample(pair.src, opts.sample_size), opts.scan_count):
                run.cancel.check(f"while comparing db {db}")
                run.add(db, pair.observe(keys))
                done += len(keys)
                rep.progress(done, max(total, done), unit="keys")
            continue
        for batch in (
            b
            for node in pair.src.clients
            for b in scan_batches(node, db=db, count=opts.scan_count, limiter=pair.limiter, cancel=run.cancel)
        ):
            if batch.keys:
                run.add(db, pair.observe(batch.keys))
                done += len(batch.keys)
            rep.progress(done, max(total, done), unit="keys")
    run.report.compared = done


def _target_pass(run: _Run, pairs: dict[int, _Sides]) -> None:
    opts = run.opts
    run.reporter.phase("extra", "keys only on the target")
    checked = 0
    for db, pair in pairs.items():
        if opts.mode == "sample":
            pair.limiter.acquire(opts.sample_size, "while sampling the target")
            for keys in _chunks(_sample(pair.dst, opts.sample_size), opts.scan_count):
                run.cancel.check(f"while checking the target's db {db}")
                run.add(db, pair.target_only(keys))
                checked += len(keys)
            continue
        for batch in (
            b
            for node in pair.dst.clients
            for b in scan_batches(node, db=db, count=opts.scan_count, limiter=pair.limiter, cancel=run.cancel)
        ):
            if batch.keys:
                run.add(db, pair.target_only(batch.keys))
                checked += len(batch.keys)
            run.reporter.progress(checked, None, unit="keys")
    run.report.checked_on_target = checked


def _recheck(run: _Run, pairs: dict[int, _Sides]) -> None:
    opts, report = run.opts, run.report
    for rnd in range(2, opts.rounds + 1):
        if not run.candidates:
            break
        run.cancel.sleep(opts.round_delay, f"before re-check round {rnd}")
        run.reporter.phase("rechecking", f"round {rnd} of {opts.rounds}: {len(run.candidates)} keys")
        by_db: dict[int, list[bytes]] = {}
        for db, key in run.candidates:
            by_db.setdefault(db, []).append(key)
        done = 0
        for db, keys in by_db.items():
            for chunk in _chunks(keys, opts.scan_count):
                run.cancel.check(f"while re-checking db {db} (round {rnd})")
                now = pairs[db].observe(chunk)
                for key in chunk:
                    seen = now.get(key)
                    if seen is None:
                        report.settled += 1
                        del run.candidates[(db, key)]
                    else:
                        run.candidates[(db, key)].append(seen)
                done += len(chunk)
                run.reporter.progress(done, sum(len(k) for k in by_db.values()), unit="keys")
    for (db, key), hist in run.candidates.items():
        if len({s.shape for s in hist}) > 1:
            report.in_flight_count += 1
            if len(report.in_flight) < opts.in_flight_limit:
                last = hist[-1]
                report.in_flight.append(KeyDifference(db, key, last.kind, f"changing: {last.detail}"))
        else:
            run.count(db, key, hist[-1])
