"""Follow the source after the bulk copy (the dual-write window): apply every change it keeps receiving
to the target until stopped, showing the lag.

Two modes:

``notifications``
    With keyspace notifications on the source (ElastiCache: ``notify-keyspace-events`` in the parameter
    group, e.g. ``KEA``), a listener thread PSUBSCRIBEs ``__keyspace@*__:*`` and ``__keyevent@*__:*`` and
    records each changed key with the time it was first seen. Every ``apply_interval`` the loop re-copies
    the changed keys (DUMP/RESTORE REPLACE, big keys in chunks); a key gone from the source (DEL,
    expired, evicted, renamed away) is deleted on the target. The lag is the age of the oldest change not
    yet applied. When ``bulk`` is given, the subscription starts *before* it, so changes made during the
    bulk pass are replayed after it. Notifications are fire-and-forget: when the listener's connection
    drops (a pub/sub client over its output-buffer limit is disconnected), the loop resubscribes and runs
    one SCAN pass (below) to catch what was missed.
``scan``
    Without notifications (or when they cannot be confirmed: CONFIG is blocked on ElastiCache, so the
    caller says whether the parameter group enables them), repeated SCAN passes compare every key of
    source and target (DUMP bytes and TTL; big keys by type and length) and re-copy what differs, then
    delete target keys the source no longer has. A change reaches the target within one pass plus the
    pause between passes: that staleness bound is stated in the events and the report.

FLUSHDB / FLUSHALL: Redis emits no keyspace event for them (RedisShake's follow misses them too; the
``g`` class does not carry them). So every ``flush_check_seconds`` the loop reads ``INFO commandstats``
of the source (allowed on ElastiCache): when the calls of ``flushdb`` or ``flushall`` grew, or a followed
database is empty on the source but not on the target (``INFO keyspace``, for sources that hide the
command stats), the target's followed databases are reconciled: every target key the source no longer
has is deleted (a warning says so). The target is never flushed blindly, so keys written on the source
after the flush and already applied stay. A ``flushdb``/``flushall`` keyspace event, should a server
send one, triggers the same reconciliation.

Cancellation is the normal way to stop: :func:`run_follow` then drains, for at most ``drain_seconds``,
the pending changes (notification mode) or one last complete SCAN pass (scan mode), so every write made
before the stop reaches the target, and returns its :class:`FollowReport` (it does not raise;
``complete`` says whether the drain finished).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from redisops.adapters.redis_conn import RedisEndpoint, raw_command
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, InvalidArgument, RedisOpsError
from redisops.events import Reporter
from redisops.migrate.cluster import primary_endpoints
from redisops.migrate.copy import ClientSource, KeyCopier, open_client
from redisops.migrate.copy_report import DbCopyStats
from redisops.migrate.follow_model import FollowOptions, FollowReport, notification_flags_ok
from redisops.migrate.follow_scan import FlushWatch, delete_extra, scan_pass
from redisops.migrate.walker import RateLimiter, keyspace_sizes

__all__ = ["FollowOptions", "FollowReport", "notification_flags_ok", "run_follow"]


class _Listener:
    """The pub/sub thread: records ``(db, key) -> first seen`` and flush events."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.pending: dict[tuple[int, bytes], float] = {}
        self.flushes: list[tuple[int | None, str]] = []
        self.seen = 0
        self.lost: str | None = None
        self.stop = threading.Event()
        self.channel = f"__redisops_follow_barrier__:{secrets.token_hex(6)}".encode()
        self.barriers: set[bytes] = set()
        self.barrier_seen = threading.Condition(self.lock)
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.restart(first=True)

    def restart(self, *, first: bool = False) -> None:
        """(Re)subscribe on a new connection and start the reading thread (pending changes are kept)."""
        if not first:
            self.close()
            self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self.stop = threading.Event()
        self.lost = None
        self.pubsub.psubscribe("__keyspace@*__:*", "__keyevent@*__:*")
        self.pubsub.subscribe(self.channel)
        self.thread = threading.Thread(target=self._run, name="migrate-follow-listener", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                msg = self.pubsub.get_message(timeout=0.1)
            except (redis.RedisError, OSError, ValueError) as e:
                self.lost = f"{type(e).__name__}: {e}"
                return
            if msg is not None and msg.get("type") == "pmessage":
                self._record(bytes(msg["channel"]), msg["data"])
            elif msg is not None and msg.get("type") == "message" and msg.get("channel") == self.channel:
                with self.barrier_seen:
                    self.barriers.add(bytes(msg["data"]))
                    self.barrier_seen.notify_all()

    def barrier(self, publisher: redis.Redis, timeout: float) -> bool:
        """Wait until every event the source sent before now was recorded: PUBLISH a marker on our own
        channel (Redis delivers a client's messages in order; PUBLISH changes no data). False on timeout
        or a lost subscription."""
        marker = secrets.token_hex(8).encode()
        raw_command(publisher, "PUBLISH", self.channel, marker)
        deadline = time.monotonic() + timeout
        with self.barrier_seen:
            while marker not in self.barriers:
                left = deadline - time.monotonic()
                if left <= 0 or self.lost is not None or not self.thread.is_alive():
                    return False
                self.barrier_seen.wait(min(left, 0.1))
            self.barriers.discard(marker)
        return True

    def _record(self, channel: bytes, data: Any) -> None:
        data = data if isinstance(data, bytes) else str(data).encode()
        space = channel.startswith(b"__keyspace@")
        head, sep, rest = channel.partition(b"__:")
        if not sep:
            return
        try:
            db = int(head.rsplit(b"@", 1)[1])
        except (IndexError, ValueError):
            return
        event, key = (data, rest) if space else (rest, data)
        with self.lock:
            self.seen += 1
            if event in (b"flushdb", b"flushall"):
                self.flushes.append((None if event == b"flushall" else db, event.decode()))
                return
            self.pending.setdefault((db, key), time.monotonic())

    def take(self) -> tuple[dict[tuple[int, bytes], float], list[tuple[int | None, str]]]:
        with self.lock:
            pending, self.pending = self.pending, {}
            flushes, self.flushes = self.flushes, []
        return pending, flushes

    def requeue(self, pending: dict[tuple[int, bytes], float]) -> None:
        """Put changes taken but not (surely) applied back, keeping the earliest first-seen time."""
        with self.lock:
            for k, first in pending.items():
                self.pending[k] = min(first, self.pending.get(k, first))

    def oldest(self) -> float | None:
        with self.lock:
            return min(self.pending.values()) if self.pending else None

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        with contextlib.suppress(redis.RedisError, OSError):
            self.pubsub.close()


class _Applier:
    """Clients per db and the re-copy of changed keys."""

    def __init__(
        self,
        source: ClientSource,
        target: ClientSource,
        options: FollowOptions,
        limiter: RateLimiter,
        report: FollowReport,
    ) -> None:
        self.source, self.target, self.o, self.limiter, self.report = source, target, options, limiter, report
        self.copy_options = options.copy_options()
        self.clients: dict[int, tuple[redis.Redis, redis.Redis]] = {}

    def pair(self, db: int) -> tuple[redis.Redis, redis.Redis]:
        if db not in self.clients:
            self.clients[db] = (open_client(self.source, db), open_client(self.target, db))
        return self.clients[db]

    def apply(self, keys: list[bytes], db: int, cancel: CancelToken | None) -> None:
        """Re-copy ``keys`` of ``db``; delete on the target those gone from the source."""
        src, tgt = self.pair(db)
        copier = KeyCopier(src, tgt, self.copy_options, self.limiter, cancel, track_gone=True)
        stats = DbCopyStats(db)
        copier.copy(keys, stats)
        self.report.applied += stats.copied
        for reason, n in stats.failed.items():
            self.report.failed[reason] = self.report.failed.get(reason, 0) + n
        if copier.gone:
            self.report.deleted += int(raw_command(tgt, "DEL", *copier.gone))

    def reconcile(self, dbs: list[int], why: str, reporter: Reporter, cancel: CancelToken | None) -> None:
        """After a flush on the source: delete the target keys of ``dbs`` the source no longer has."""
        deleted = sum(delete_extra(self, db, cancel) for db in dbs)
        self.report.flushes.append(f"{why}: deleted {deleted} target keys the source no longer has")
        reporter.warning(self.report.flushes[-1])

    def close(self) -> None:
        for src, tgt in self.clients.values():
            src.close()
            tgt.close()


def _decide_mode(
    source: ClientSource, notifications: bool | None, reporter: Reporter, report_notes: list[str]
) -> bool:
    if notifications is not None:
        return notifications
    probe = open_client(source, 0)
    try:
        reply = raw_command(probe, "CONFIG", "GET", "notify-keyspace-events")
        flags = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
    except (RedisOpsError, IndexError) as e:
        note = (
            f"cannot read notify-keyspace-events ({getattr(e, 'message', e)}; CONFIG is blocked on "
            "ElastiCache): following with SCAN passes; say notifications=True when the parameter group "
            "sets notify-keyspace-events to KEA"
        )
        report_notes.append(note)
        reporter.warning(note)
        return False
    finally:
        probe.close()
    ok, why = notification_flags_ok(flags)
    if not ok:
        report_notes.append(f"{why}: following with SCAN passes")
        reporter.warning(f"{why}: following with SCAN passes")
    return ok


def run_follow(
    source: ClientSource,
    target: ClientSource,
    options: FollowOptions,
    reporter: Reporter,
    cancel: CancelToken,
    *,
    notifications: bool | None,
    bulk: Callable[[], Any] | None = None,
) -> FollowReport:
    """Apply the source's changes to the target until ``cancel`` (or ``duration_seconds``); see the module.

    ``notifications``: True when the source's parameter group enables keyspace notifications (``KEA``),
    False to use SCAN passes, None to read CONFIG GET (falling back to SCAN passes where it is blocked).
    ``bulk``: the bulk copy to run once the subscription is in place. When it returns a report whose
    ``resumed`` is true (a killed copy resumed from its checkpoint), the notification mode first runs one
    SCAN pass per db: the writes made while no copy was listening reached no subscription.
    """
    for side, ep in (("source", source), ("target", target)):
        if isinstance(ep, RedisEndpoint) and primary_endpoints(ep) is not None:
            raise InvalidArgument(
                f"following a Redis Cluster {side} is not supported: the follow watches one node",
                hint="copy without --follow (shard by shard), stop the writes, then migrate verify",
            )
    notes: list[str] = []
    use_events = _decide_mode(source, notifications, reporter, notes)
    report = FollowReport(mode="notifications" if use_events else "scan", notes=notes)
    limiter = RateLimiter(options.ops_per_second, cancel=cancel)
    applier = _Applier(source, target, options, limiter, report)
    listener: _Listener | None = None
    started = time.monotonic()
    stop_at = None if options.duration_seconds is None else started + options.duration_seconds
    try:
        if use_events:
            listener = _Listener(open_client(source, 0))
        resumed = bool(getattr(bulk(), "resumed", False)) if bulk is not None else False
        probe = open_client(source, 0)
        try:
            dbs = sorted(options.dbs) if options.dbs is not None else sorted(keyspace_sizes(probe)) or [0]
        finally:
            probe.close()
        if listener is not None and resumed:
            notes.append("the bulk copy was resumed: one SCAN pass per db caught the writes made meanwhile")
            reporter.phase("resyncing", "the copy was resumed: one SCAN pass for the writes made meanwhile")
            for db in dbs:
                scan_pass(applier, db, options, cancel)
            report.resyncs += 1
        reporter.phase("following", _phase_detail(report, options, dbs))
        try:
            if listener is not None:
                _follow_events(listener, applier, dbs, options, reporter, cancel, stop_at)
            else:
                _follow_scans(applier, dbs, options, reporter, cancel, stop_at)
            report.stopped = f"stopped after {options.duration_seconds:g} s"
        except Interrupted:
            report.stopped = f"cancelled: {cancel.reason or 'cancelled'}"
        _drain(listener, applier, dbs, options, reporter)
    finally:
        if listener is not None:
            listener.close()
            listener.client.close()
        applier.close()
    report.seconds = time.monotonic() - started
    return report


def _phase_detail(report: FollowReport, options: FollowOptions, dbs: list[int]) -> str:
    where = f"db {', '.join(map(str, dbs))}"
    if report.mode == "notifications":
        return f"keyspace notifications, {where}, applied every {options.apply_interval:g} s"
    return f"SCAN passes every {options.pass_interval:g} s, {where}"


def _follow_events(
    listener: _Listener,
    applier: _Applier,
    dbs: list[int],
    options: FollowOptions,
    reporter: Reporter,
    cancel: CancelToken,
    stop_at: float | None,
) -> None:
    report = applier.report
    followed = set(dbs)
    flushes = FlushWatch(applier, followed)
    last_report = last_flush_check = time.monotonic()
    while stop_at is None or time.monotonic() < stop_at:
        cancel.sleep(options.apply_interval, "while following")
        if listener.lost is not None:
            why = f"the notification subscription dropped ({listener.lost}): resubscribing, one SCAN pass"
            reporter.warning(why)
            listener.restart()
            report.resyncs += 1
            for db in sorted(followed):
                scan_pass(applier, db, options, cancel)
        _apply_pending(listener, applier, followed, reporter, cancel)
        now = time.monotonic()
        if now - last_flush_check >= options.flush_check_seconds:
            last_flush_check = now
            flushes.check(reporter, cancel)
        if now - last_report >= options.report_seconds:
            last_report = now
            oldest = listener.oldest()
            report.last_lag_seconds = 0.0 if oldest is None else now - oldest
            report.max_lag_seconds = max(report.max_lag_seconds, report.last_lag_seconds)
            reporter.log(
                f"lag {report.last_lag_seconds:.1f} s; {report.changes_seen} changes seen, "
                f"{report.applied} keys applied, {report.deleted} deleted"
            )
            reporter.progress(report.applied + report.deleted, None, unit="changes")


def _apply_pending(
    listener: _Listener,
    applier: _Applier,
    followed: set[int],
    reporter: Reporter,
    cancel: CancelToken | None,
) -> None:
    report = applier.report
    pending, flushes = listener.take()
    report.changes_seen = listener.seen
    by_db: dict[int, list[bytes]] = {}
    for (db, key), first in pending.items():
        if db in followed:
            by_db.setdefault(db, []).append(key)
            lag = time.monotonic() - first
            report.max_lag_seconds = max(report.max_lag_seconds, lag)
    try:
        for db, keys in sorted(by_db.items()):
            applier.apply(keys, db, cancel)
    except BaseException:
        # a stop (or an error) in the middle: the drain (or the next round) applies them again
        listener.requeue({k: t for k, t in pending.items() if k[0] in followed})
        raise
    for flushed_db, event in flushes:
        dbs = sorted(followed) if flushed_db is None else [flushed_db] if flushed_db in followed else []
        if dbs:
            applier.reconcile(dbs, f"the source sent a {event} event", reporter, cancel)


def _drain(
    listener: _Listener | None, applier: _Applier, dbs: list[int], options: FollowOptions, reporter: Reporter
) -> None:
    """After a stop, for at most ``drain_seconds``: apply the pending changes (notification mode), or run
    one last complete SCAN pass (scan mode), so every write made before the stop reaches the target."""
    token = CancelToken()
    timer = threading.Timer(options.drain_seconds, token.cancel, args=("drain time over",))
    timer.start()
    try:
        if listener is not None:
            if not listener.barrier(applier.pair(dbs[0])[0], timeout=max(0.1, options.drain_seconds / 2)):
                reporter.warning("the events sent before the stop could not all be read: some may be missing")
                applier.report.complete = False
            _apply_pending(listener, applier, set(dbs), reporter, token)
        else:
            reporter.phase("draining", "one last SCAN pass: the writes made before the stop")
            for db in dbs:
                scan_pass(applier, db, options, token)
            applier.report.passes += 1
    except Interrupted:
        applier.report.complete = False
        if listener is not None:
            applier.report.unapplied = len(listener.pending)
            reporter.warning(f"stopped before {applier.report.unapplied} pending changes were applied")
        else:
            reporter.warning(
                f"the last SCAN pass did not finish within {options.drain_seconds:g} s: changes made in the "
                "last staleness bound may be missing (follow again, or verify)"
            )
    finally:
        timer.cancel()


def _follow_scans(
    applier: _Applier,
    dbs: list[int],
    options: FollowOptions,
    reporter: Reporter,
    cancel: CancelToken,
    stop_at: float | None,
) -> None:
    report = applier.report
    longest = 0.0
    while stop_at is None or time.monotonic() < stop_at:
        t0 = time.monotonic()
        for db in dbs:
            scan_pass(applier, db, options, cancel)
        report.passes += 1
        took = time.monotonic() - t0
        longest = max(longest, took)
        report.staleness_bound_seconds = longest + options.pass_interval
        report.last_lag_seconds = took + options.pass_interval
        report.max_lag_seconds = max(report.max_lag_seconds, report.last_lag_seconds)
        reporter.log(
            f"pass {report.passes} took {took:.1f} s: {report.applied} keys applied, "
            f"{report.deleted} deleted; "
            f"a change reaches the target within {report.staleness_bound_seconds:.1f} s"
        )
        reporter.progress(report.applied + report.deleted, None, unit="changes")
        if stop_at is not None and time.monotonic() + options.pass_interval >= stop_at:
            cancel.sleep(max(0.0, stop_at - time.monotonic()), "while following")
            break
        cancel.sleep(options.pass_interval, "while following")
