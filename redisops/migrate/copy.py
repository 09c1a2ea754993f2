"""The online copy: SCAN per database, pipelined DUMP + PTTL on the source, pipelined RESTORE with the
remaining TTL on the target; big keys and refused payloads type by type; throttled, checkpointed,
cancellable.

Per SCAN batch (the one walker, :mod:`redisops.migrate.walker`):

1. ``MEMORY USAGE`` of every key (one pipeline): keys above ``big_key_bytes`` are copied type by type in
   chunks (:func:`redisops.migrate.bigkeys.copy_by_type`), so no big value is held whole in memory.
2. The others in pipelines of at most ``pipeline_depth`` keys and ``pipeline_bytes`` bytes: ``PTTL`` +
   ``DUMP`` on the source, then ``RESTORE key <remaining ttl> <payload> [REPLACE]`` on the target. The
   remaining TTL is the PTTL minus the time since the source pipeline was sent; a key whose TTL ran out
   meanwhile is not written (never resurrected) and counted as ``expired``; a key gone from the source
   between SCAN and DUMP is counted as ``vanished``.
3. The target's answer per key: ``BUSYKEY`` (without ``replace``) is ``skipped`` with its reason; "DUMP
   payload version or checksum are wrong" (a target older than the source) is retried type by type; any
   other refusal (OOM at maxmemory, ...) is ``failed`` with the server's words.

A Redis Cluster source (ElastiCache in cluster mode) is copied primary by primary (SCAN is per node;
one checkpoint per primary, ``<checkpoint>.shard<N>``); into a Redis Cluster target each RESTORE goes to
the node of its key's hash slot, in one pipeline per node (:mod:`redisops.migrate.cluster`).

After each batch the database's cursor goes into the checkpoint (atomic file): a killed copy given
``resume`` continues from there. Cancellation saves the checkpoint and raises
:class:`~redisops.errors.Interrupted` naming it. The source sees at most ``ops_per_second`` commands per
second (SCAN, MEMORY USAGE, PTTL, DUMP and the big keys' reads); the target is not throttled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import redis.exceptions as rex
from pydantic import BaseModel, ConfigDict, Field

from redisops.adapters.redis_conn import RedisEndpoint, connect, redis_errors
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, InvalidArgument
from redisops.events import Reporter
from redisops.migrate.bigkeys import KeyOutcome, copy_by_type
from redisops.migrate.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from redisops.migrate.cluster import Side, open_side, primary_endpoints
from redisops.migrate.copy_report import CopyReport, DbCopyStats, MiB
from redisops.migrate.payload import is_payload_refusal
from redisops.migrate.pipeline import pack_memory_usage, pack_pttl_dump, pack_restores, run_packed
from redisops.migrate.prefetch import prefetched
from redisops.migrate.walker import RateLimiter, ScanBatch, keyspace_sizes, scan_batches

__all__ = [
    "ClientSource",
    "CopyOptions",
    "CopyReport",
    "DbCopyStats",
    "KeyCopier",
    "endpoint_label",
    "open_client",
    "run_copy",
]

#: where to reach a server: an endpoint, or a factory ``db -> redis.Redis`` (the copy closes what it gets)
ClientSource = RedisEndpoint | Callable[[int], redis.Redis]


class CopyOptions(BaseModel):
    """How to copy (every field has a safe default for a production source)."""

    model_config = ConfigDict(extra="forbid")

    dbs: list[int] | None = Field(
        default=None, description="databases to copy; default: every database that holds keys (INFO keyspace)"
    )
    match: str | None = Field(default=None, description="copy only keys matching this SCAN MATCH pattern")
    replace: bool = Field(
        default=False,
        description="overwrite keys that already exist on the target (RESTORE ... REPLACE); without it they "
        "are skipped and counted as BUSYKEY",
    )
    batch_size: int = Field(default=1000, ge=1, le=100_000, description="SCAN COUNT per batch")
    pipeline_depth: int = Field(
        default=1000, ge=1, le=10_000, description="keys per DUMP/RESTORE pipeline round trip"
    )
    pipeline_bytes: int = Field(
        default=16 * MiB, ge=1024, description="bytes (by MEMORY USAGE) of payloads held per pipeline"
    )
    ops_per_second: float = Field(
        default=0.0, ge=0, description="cap on the commands per second sent to the source; 0: no cap"
    )
    big_key_bytes: int = Field(
        default=4 * MiB, ge=1, description="keys above this MEMORY USAGE are copied type by type in chunks"
    )
    chunk_size: int = Field(default=1000, ge=1, le=100_000, description="elements per chunk of a big key")
    chunk_bytes: int = Field(default=MiB, ge=1024, description="bytes per chunk of a big string")
    by_type: bool = Field(
        default=False,
        description="copy every key type by type instead of DUMP/RESTORE (a target older than the source)",
    )
    checkpoint_path: Path | None = Field(
        default=None, description="file where the copy records each database's SCAN cursor (to resume)"
    )
    resume: bool = Field(default=False, description="continue from the checkpoint instead of starting over")
    read_ahead: int = Field(
        default=4,
        ge=0,
        le=64,
        description="source pipelines a reader thread runs ahead of the target's RESTOREs (0: no thread, "
        "read and write in turn); each holds at most pipeline_bytes",
    )
    rate_log_seconds: float = Field(
        default=2.0, ge=0, description="seconds between log events with keys/s and MB/s (0: every batch)"
    )


def endpoint_label(src: ClientSource) -> str:
    """``host:port`` of an endpoint or of a factory's client (never a password)."""
    if isinstance(src, RedisEndpoint):
        return f"{src.host}:{src.port}"
    client = src(0)
    try:
        kw = client.connection_pool.connection_kwargs
        return f"{kw.get('host', '?')}:{kw.get('port', '?')}"
    finally:
        client.close()


def open_client(src: ClientSource, db: int) -> redis.Redis:
    """A client on ``db`` of ``src`` (the caller closes it)."""
    if isinstance(src, RedisEndpoint):
        return connect(src.with_db(db))
    return src(db)


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return text if len(text) <= 120 else text[:117] + "..."


class KeyCopier:
    """Copies lists of keys of one database (the bulk pass per batch, and the follow loop per change)."""

    def __init__(
        self,
        src: redis.Redis,
        tgt: redis.Redis | Side,
        options: CopyOptions,
        limiter: RateLimiter,
        cancel: CancelToken | None,
        src_ep: RedisEndpoint | None = None,
        *,
        track_gone: bool = False,
    ) -> None:
        #: the target: one server, or a Redis Cluster's primaries (each key goes to its slot's node)
        self.side = tgt if isinstance(tgt, Side) else Side.single(tgt)
        self.src, self.tgt, self.o = src, self.side.clients[0], options
        self.limiter, self.cancel = limiter, cancel
        self.ep = src_ep
        self.memory_refused = False
        self.track_gone = track_gone
        #: keys found gone (vanished or expired) on the source; the follow loop deletes them on the target
        self.gone: list[bytes] = []

    def _count(self, stats: DbCopyStats, outcome: KeyOutcome, key: bytes) -> None:
        if self.track_gone and outcome.status in ("vanished", "expired"):
            self.gone.append(key)
        stats.count(outcome, key)

    def copy(self, keys: list[bytes], stats: DbCopyStats) -> None:
        """Copy ``keys`` (any size) into the target, counting every outcome into ``stats``."""
        for step in self.fetch(keys):
            self.apply(step, stats)

    def fetch(self, keys: list[bytes]) -> Iterator[Step]:
        """The source side of copying ``keys``, step by step (lazily: each DUMP pipeline is sent when its
        step is asked for, so a reader thread may run it ahead of :meth:`apply`)."""
        if not keys:
            return
        if self.o.by_type:
            for key in keys:
                yield Step("by_type", key)
            return
        sizes = self._sizes(keys)
        known = [size for size in sizes if size is not None]
        if len(known) == len(keys) and max(known, default=0) <= self.o.big_key_bytes:
            yield from self._dump_steps(list(zip(keys, known, strict=True)))  # the usual batch
            return
        small: list[tuple[bytes, int]] = []
        for key, size in zip(keys, sizes, strict=True):
            if size is None:
                yield Step("vanished", key)
            elif size > self.o.big_key_bytes:
                yield Step("big", key)
            else:
                small.append((key, size))
        yield from self._dump_steps(small)

    def _dump_steps(self, small: list[tuple[bytes, int]]) -> Iterator[Step]:
        """One ``dump`` step per pipeline of ``(key, size)``: PTTL + DUMP sent when the step is asked for."""
        for group in _groups(small, self.o.pipeline_depth, self.o.pipeline_bytes):
            if self.cancel is not None:
                self.cancel.check("while copying keys")
            with redis_errors(self.ep):
                sent = time.monotonic()
                replies = run_packed(self.src, pack_pttl_dump(group), 2 * len(group))
            self.limiter.acquire(2 * len(group), "while copying keys")
            yield Step("dump", group=group, replies=replies, sent=sent)

    def apply(self, step: Step, stats: DbCopyStats) -> None:
        """The target side of one step of :meth:`fetch` (RESTOREs, or a big key type by type)."""
        if step.kind == "vanished":
            self._count(stats, KeyOutcome("vanished"), step.key)
        elif step.kind == "big":
            stats.big_keys += 1
            self._by_type(step.key, stats)
        elif step.kind == "by_type":
            self._by_type(step.key, stats)
        else:
            self._dump_restore(step, stats)

    def _sizes(self, keys: list[bytes]) -> list[int | None]:
        """MEMORY USAGE per key (None: the key is gone; 0 when MEMORY USAGE is refused)."""
        with redis_errors(self.ep):
            replies = run_packed(self.src, pack_memory_usage(keys), len(keys))
        self.limiter.acquire(len(keys), "while copying keys")
        if set(map(type, replies)) == {int}:
            return replies  # every key there, every size known (checked in C)
        out: list[int | None] = []
        for r in replies:
            if isinstance(r, rex.ResponseError):
                self.memory_refused = True
                out.append(0)
            else:
                out.append(None if r is None else int(r))
        return out

    def _by_type(self, key: bytes, stats: DbCopyStats) -> None:
        with redis_errors(self.ep):
            outcome = copy_by_type(
                self.src,
                self.side.client_for(key),  # the temp key's hash tag keeps the key's slot
                key,
                replace=self.o.replace,
                chunk=self.o.chunk_size,
                chunk_bytes=self.o.chunk_bytes,
                limiter=self.limiter,
                cancel=self.cancel,
            )
        if outcome.status == "copied":
            stats.by_type += 1
        self._count(stats, outcome, key)

    def _dump_restore(self, step: Step, stats: DbCopyStats) -> None:
        group, replies = step.group, step.replies
        pttls, dumps = replies[0::2], replies[1::2]
        # the TTL left when written: the source's PTTL minus the time since it was read
        elapsed_ms = (time.monotonic() - step.sent) * 1000
        if set(map(type, pttls)) == {int} and set(map(type, dumps)) == {bytes} and min(pttls) >= -1:
            # the usual batch, checked in C: every key there, no error; only TTLs need a look per key
            if max(pttls) <= 0:
                rows = list(zip(group, [0] * len(group), dumps, strict=True))
            else:
                rows = self._with_ttls(group, pttls, dumps, elapsed_ms, stats)
        else:
            rows = self._rows(group, pttls, dumps, elapsed_ms, stats)
        if not rows:
            return
        with redis_errors(None):
            results = self._restore(rows)
        if results.count(b"OK") == len(results):
            stats.copied += len(rows)
            stats.bytes_copied += sum(map(len, [row[2] for row in rows]))
            return
        for (key, _, dump), result in zip(rows, results, strict=True):
            if not isinstance(result, Exception):
                stats.copied += 1
                stats.bytes_copied += len(dump)
            elif "BUSYKEY" in str(result)[:20]:
                self._count(
                    stats,
                    KeyOutcome("skipped", "target key exists (BUSYKEY); copy with replace to overwrite"),
                    key,
                )
            elif is_payload_refusal(result):
                self._by_type(key, stats)
            else:
                self._count(stats, KeyOutcome("failed", f"target refused: {_reason(result)}"), key)

    def _with_ttls(
        self, group: list[bytes], pttls: list[int], dumps: list[bytes], elapsed_ms: float, stats: DbCopyStats
    ) -> list[tuple[bytes, int, bytes]]:
        """Rows of a batch where every key is there: the remaining TTL per key; a TTL that ran out since
        the read is ``expired`` (never resurrected)."""
        rows: list[tuple[bytes, int, bytes]] = []
        for key, pttl, dump in zip(group, pttls, dumps, strict=True):
            if pttl > 0:
                pttl = int(pttl - elapsed_ms)
                if pttl <= 0:
                    self._count(stats, KeyOutcome("expired", "its TTL ran out before it was written"), key)
                    continue
            else:
                pttl = 0
            rows.append((key, pttl, dump))
        return rows

    def _rows(
        self, group: list[bytes], pttls: list[Any], dumps: list[Any], elapsed_ms: float, stats: DbCopyStats
    ) -> list[tuple[bytes, int, bytes]]:
        """Rows of a batch with errors or keys gone: those keys' outcomes counted, the others through
        :meth:`_with_ttls`."""
        keys: list[bytes] = []
        present_pttls: list[int] = []
        present_dumps: list[bytes] = []
        for key, pttl, dump in zip(group, pttls, dumps, strict=True):
            if isinstance(pttl, Exception) or isinstance(dump, Exception):
                self._count(
                    stats, KeyOutcome("failed", f"source refused: {_reason(_first_error(pttl, dump))}"), key
                )
            elif dump is None or pttl == -2:
                self._count(stats, KeyOutcome("vanished", "deleted or expired before it was copied"), key)
            else:
                keys.append(key)
                present_pttls.append(pttl)
                present_dumps.append(dump)
        return self._with_ttls(keys, present_pttls, present_dumps, elapsed_ms, stats)

    def _restore(self, rows: list[tuple[bytes, int, bytes]]) -> list[Any]:
        """RESTORE pipelines of ``(key, ttl, payload)``: one per target node (a cluster), replies back in
        the given order."""
        replace = self.o.replace
        if not self.side.clustered:
            return run_packed(self.tgt, pack_restores(rows, replace=replace), len(rows))
        by_node: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            by_node.setdefault(self.side.index_for(row[0]), []).append(i)
        results: list[Any] = [None] * len(rows)
        for node, idx in by_node.items():
            packed = pack_restores([rows[i] for i in idx], replace=replace)
            replies = run_packed(self.side.clients[node], packed, len(idx))
            for i, r in zip(idx, replies, strict=True):
                results[i] = r
        return results


@dataclass(slots=True)
class Step:
    """One step of copying a batch: a key ``vanished``, a ``big`` key or a ``by_type`` key (copied in
    chunks), or a ``dump`` pipeline's replies (PTTL, DUMP per key of ``group``, sent at ``sent``)."""

    kind: str
    key: bytes = b""
    group: list[bytes] = field(default_factory=list)
    replies: list[Any] = field(default_factory=list)
    sent: float = 0.0


def _first_error(*values: Any) -> BaseException:
    for v in values:
        if isinstance(v, BaseException):
            return v
    return RuntimeError("unknown error")


def _groups(items: list[tuple[bytes, int]], depth: int, max_bytes: int) -> Iterable[list[bytes]]:
    if len(items) <= depth and sum(n for _, n in items) <= max_bytes:
        if items:
            yield [key for key, _ in items]  # the usual batch: one pipeline
        return
    group: list[bytes] = []
    size = 0
    for key, n in items:
        if group and (len(group) >= depth or size + n > max_bytes):
            yield group
            group, size = [], 0
        group.append(key)
        size += n
    if group:
        yield group


def run_copy(
    source: ClientSource,
    target: ClientSource,
    options: CopyOptions,
    reporter: Reporter,
    cancel: CancelToken,
) -> CopyReport:
    """Copy every key of the chosen databases from ``source`` to ``target`` (see the module docstring).

    Reports the phase ``copying`` with progress in keys (done: keys scanned in all databases, total:
    their DBSIZE sum at the start) and log events with keys/s and MB/s.

    Raises:
        InvalidArgument: a checkpoint exists but ``resume`` was not asked (or it belongs to another copy),
            ``resume`` without a checkpoint path.
        Interrupted: cancelled; the checkpoint (when configured) holds where to resume.
    """
    if options.resume and options.checkpoint_path is None:
        raise InvalidArgument("resume needs the checkpoint path of the copy to resume")
    if isinstance(source, RedisEndpoint):
        primaries = primary_endpoints(source)
        if primaries is not None:
            return _copy_shards(primaries, target, options, reporter, cancel)
    return _copy_node(source, target, options, reporter, cancel)


def _copy_node(
    source: ClientSource,
    target: ClientSource,
    options: CopyOptions,
    reporter: Reporter,
    cancel: CancelToken,
) -> CopyReport:
    """:func:`run_copy` of one source server."""
    src_label, tgt_label = endpoint_label(source), endpoint_label(target)
    cp = _open_checkpoint(options, src_label, tgt_label)
    started = time.monotonic()
    limiter = RateLimiter(options.ops_per_second, cancel=cancel)
    probe = open_client(source, 0)
    try:
        sizes = keyspace_sizes(probe)
    finally:
        probe.close()
    dbs = sorted(options.dbs) if options.dbs is not None else sorted(set(sizes) | set(cp.dbs if cp else ()))
    if cp is None and options.checkpoint_path is not None:
        cp = Checkpoint(source=src_label, target=tgt_label)
    report = CopyReport(
        dbs={},
        seconds=0.0,
        source_ops=0,
        throttled_seconds=0.0,
        resumed=options.resume and cp is not None and bool(cp.dbs),
        checkpoint=str(options.checkpoint_path) if options.checkpoint_path else None,
    )
    for db in dbs:
        entry = cp.dbs.get(db) if cp is not None else None
        report.dbs[db] = (
            DbCopyStats.from_dict(entry.counters) if entry and entry.counters else DbCopyStats(db)
        )
        report.dbs[db].db = db
    total = sum(sizes.get(db, 0) for db in dbs)
    done = sum(s.scanned for s in report.dbs.values())
    reporter.phase("copying", f"{len(dbs)} database(s), {total} keys by DBSIZE")
    reporter.progress(done, max(total, done), unit="keys")
    rates = _Rates(options.rate_log_seconds, report)
    try:
        for db in dbs:
            stats = report.dbs[db]
            entry = cp.db(db) if cp is not None else None
            if entry is not None and entry.done:
                continue
            _copy_db(source, target, db, options, stats, entry, cp, limiter, cancel, reporter, rates, total)
    except Interrupted as e:
        if cp is not None and options.checkpoint_path is not None:
            save_checkpoint(options.checkpoint_path, cp)
        report.seconds = time.monotonic() - started
        kept = (
            f"; the checkpoint {options.checkpoint_path} holds where to resume (copy again with resume)"
            if options.checkpoint_path
            else "; no checkpoint was configured: a new copy starts over"
        )
        raise Interrupted(
            f"{cancel.reason or 'cancelled'}: the copy stopped after {report.copied} keys{kept}",
            hint="resume with migrate copy --resume --checkpoint <file>",
            context={**dict(e.context or {}), "report": report.to_dict()},
        ) from None
    report.seconds = time.monotonic() - started
    report.source_ops, report.throttled_seconds = limiter.ops, limiter.waited
    scanned = sum(s.scanned for s in report.dbs.values())
    reporter.progress(max(scanned, total), max(scanned, total), unit="keys")
    return report


def _copy_shards(
    primaries: list[RedisEndpoint],
    target: ClientSource,
    options: CopyOptions,
    reporter: Reporter,
    cancel: CancelToken,
) -> CopyReport:
    """A cluster source: each primary copied in turn (SCAN is per node; db 0 only), one checkpoint file
    per primary beside ``checkpoint_path`` (``<path>.shard<N>``), the reports added into one."""
    if options.dbs not in (None, [0]):
        raise InvalidArgument(
            f"databases {options.dbs} of a Redis Cluster source: cluster mode has only db 0",
            hint="copy db 0 (the default)",
        )
    started = time.monotonic()
    total = CopyReport(dbs={0: DbCopyStats(0, done=True)}, seconds=0.0, source_ops=0, throttled_seconds=0.0)
    total.checkpoint = str(options.checkpoint_path) if options.checkpoint_path else None
    for i, ep in enumerate(primaries):
        reporter.log(f"shard {i + 1} of {len(primaries)}: primary {ep.host}:{ep.port}")
        path = options.checkpoint_path
        shard_opts = options.model_copy(
            update={"dbs": [0], "checkpoint_path": path.with_name(f"{path.name}.shard{i}") if path else None}
        )
        try:
            part = _copy_node(ep, target, shard_opts, reporter, cancel)
        except Interrupted as e:
            raise Interrupted(
                f"{e.message} (shard {i + 1} of {len(primaries)})", hint=e.hint, context=e.context
            ) from None
        total.dbs[0].add(part.dbs.get(0, DbCopyStats(0, done=True)))
        total.source_ops += part.source_ops
        total.throttled_seconds += part.throttled_seconds
        total.resumed = total.resumed or part.resumed
        total.shards.append(f"{ep.host}:{ep.port}")
    total.seconds = time.monotonic() - started
    return total


def _open_checkpoint(options: CopyOptions, src: str, tgt: str) -> Checkpoint | None:
    path = options.checkpoint_path
    if path is None:
        return None
    cp = load_checkpoint(path, source=src, target=tgt)
    if cp is not None and not options.resume:
        raise InvalidArgument(
            f"a checkpoint of an earlier copy exists at {path}",
            hint="resume it (--resume), or remove the file to start over",
            context={"checkpoint": str(path)},
        )
    return cp


class _Rates:
    def __init__(self, every: float, report: CopyReport) -> None:
        self.every, self.report = every, report
        self.t0 = self.last = time.monotonic()
        self.keys0 = sum(s.scanned for s in report.dbs.values())
        self.bytes0 = report.bytes_copied

    def detail(self, total: int) -> dict[str, float]:
        """keys/s, MB/s since this run started and the ETA in seconds (progress events' ``detail``)."""
        secs = max(time.monotonic() - self.t0, 1e-9)
        keys = sum(s.scanned for s in self.report.dbs.values())
        kps = (keys - self.keys0) / secs
        out = {
            "keys_per_second": round(kps, 1),
            "mb_per_second": round((self.report.bytes_copied - self.bytes0) / MiB / secs, 3),
        }
        if kps > 0:
            out["eta_seconds"] = round(max(0.0, (total - keys) / kps), 1)
        return out

    def maybe_log(self, reporter: Reporter, total: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        secs = max(now - self.t0, 1e-9)
        keys = sum(s.scanned for s in self.report.dbs.values())
        kps = (keys - self.keys0) / secs
        mbps = (self.report.bytes_copied - self.bytes0) / MiB / secs
        eta = f", ETA {max(0.0, (total - keys) / kps):.0f} s" if kps > 0 and total > keys else ""
        reporter.log(f"copied {self.report.copied} of {total} keys: {kps:.0f} keys/s, {mbps:.2f} MB/s{eta}")


def _copy_db(
    source: ClientSource,
    target: ClientSource,
    db: int,
    options: CopyOptions,
    stats: DbCopyStats,
    entry: Any,
    cp: Checkpoint | None,
    limiter: RateLimiter,
    cancel: CancelToken,
    reporter: Reporter,
    rates: _Rates,
    total: int,
) -> None:
    src = open_client(source, db)
    try:
        tgt = (
            open_side(target, db)
            if isinstance(target, RedisEndpoint)
            else Side.single(open_client(target, db))
        )
    except BaseException:
        src.close()
        raise
    src_ep = source if isinstance(source, RedisEndpoint) else None
    try:
        copier = KeyCopier(src, tgt, options, limiter, cancel, src_ep.with_db(db) if src_ep else None)
        start = entry.cursor if entry is not None else 0
        walk = scan_batches(
            src, db=db, count=options.batch_size, match=options.match, start_cursor=start, limiter=limiter,
            cancel=cancel,
        )  # fmt: skip
        for batch in prefetched(walk, copier.fetch, depth=options.read_ahead):
            if not isinstance(batch, ScanBatch):
                copier.apply(batch, stats)  # a step of the batch the reader is ahead on
                continue
            stats.scanned += len(batch.keys)
            stats.done = batch.done
            if entry is not None and cp is not None and options.checkpoint_path is not None:
                entry.cursor, entry.done, entry.counters = batch.cursor, batch.done, stats.to_dict()
                save_checkpoint(options.checkpoint_path, cp)
            done = sum(s.scanned for s in rates.report.dbs.values())
            reporter.progress(done, max(total, done), unit="keys", detail=rates.detail(total))
            rates.maybe_log(reporter, total)
        if copier.memory_refused:
            reporter.warning(f"db {db}: MEMORY USAGE was refused; big keys were copied with DUMP/RESTORE")
    finally:
        src.close()
        tgt.close()
