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

Redis Cluster (ElastiCache in cluster mode): on a cluster source every primary is followed on its own
(:mod:`redisops.migrate.follow_listener`: one subscription per primary, since notifications are per
node; or the SCAN passes primary by primary), with one lag over all of them; a primary whose
subscription drops is resubscribed and gets one SCAN pass of its own; the flush watch runs per primary.
On a cluster target every change is written to the node of its key's hash slot (the bulk copy's
:class:`~redisops.migrate.cluster.Side` routing). Cluster mode has only db 0.

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

import threading
import time
from collections.abc import Callable
from typing import Any

from redisops.adapters.redis_conn import raw_command
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, InvalidArgument, RedisOpsError
from redisops.events import Reporter
from redisops.migrate.copy import ClientSource
from redisops.migrate.follow_apply import Applier
from redisops.migrate.follow_listener import Listener
from redisops.migrate.follow_model import FollowOptions, FollowReport, notification_flags_ok
from redisops.migrate.follow_scan import FlushWatch, reconcile, scan_pass
from redisops.migrate.walker import RateLimiter, keyspace_sizes

__all__ = ["FollowOptions", "FollowReport", "notification_flags_ok", "run_follow"]


def _decide_mode(applier: Applier, notifications: bool | None, reporter: Reporter, notes: list[str]) -> bool:
    """Whether to follow keyspace notifications: as told, else from CONFIG GET of every source node."""
    if notifications is not None:
        return notifications
    side = applier.sides(0)[0]
    for node, probe in enumerate(side.clients):
        where = applier.label(node)
        try:
            reply = raw_command(probe, "CONFIG", "GET", "notify-keyspace-events")
            flags = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
        except (RedisOpsError, IndexError) as e:
            note = (
                f"cannot read notify-keyspace-events{where} ({getattr(e, 'message', e)}; CONFIG is blocked "
                "on ElastiCache): following with SCAN passes; say notifications=True when the parameter "
                "group sets notify-keyspace-events to KEA"
            )
            notes.append(note)
            reporter.warning(note)
            return False
        ok, why = notification_flags_ok(flags)
        if not ok:
            notes.append(f"{why}{where}: following with SCAN passes")
            reporter.warning(notes[-1])
            return False
    return True


def _check_dbs(applier: Applier, options: FollowOptions) -> list[int] | None:
    """The databases a cluster on either side allows (db 0 only), refusing others up front; the source's
    databases when the target is a cluster (None: decide after the bulk pass)."""
    src, tgt = applier.sides(0)
    for side, name in ((src, "source"), (tgt, "target")):
        if side.clustered and options.dbs is not None and set(options.dbs) - {0}:
            raise InvalidArgument(
                f"databases {options.dbs} of a Redis Cluster {name}: cluster mode has only db 0",
                hint="follow db 0 (the default)",
            )
    if src.clustered:
        return [0]
    if tgt.clustered and options.dbs is None:
        others = sorted(set(keyspace_sizes(src.clients[0])) - {0})
        if others:
            raise InvalidArgument(
                f"the source holds keys in db {', '.join(map(str, others))}; a Redis Cluster target has "
                "only db 0",
                hint="move those keys to db 0 on the source first, or follow into a single server",
            )
        return [0]
    return None


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

    Either side may be a Redis Cluster (an endpoint of any of its nodes; db 0 only).
    ``notifications``: True when the source's parameter group enables keyspace notifications (``KEA``),
    False to use SCAN passes, None to read CONFIG GET of every source node (falling back to SCAN passes
    where it is blocked or any node lacks them).
    ``bulk``: the bulk copy to run once the subscriptions are in place. When it returns a report whose
    ``resumed`` is true (a killed copy resumed from its checkpoint), the notification mode first runs one
    SCAN pass per db (and primary): the writes made while no copy was listening reached no subscription.

    Raises:
        InvalidArgument: a database other than 0 on a Redis Cluster side.
    """
    notes: list[str] = []
    report = FollowReport(mode="scan", notes=notes)
    limiter = RateLimiter(options.ops_per_second, cancel=cancel)
    applier = Applier(source, target, options, limiter, report)
    listeners: list[Listener] = []
    started = time.monotonic()
    stop_at = None if options.duration_seconds is None else started + options.duration_seconds
    try:
        fixed_dbs = _check_dbs(applier, options)
        use_events = _decide_mode(applier, notifications, reporter, notes)
        report.mode = "notifications" if use_events else "scan"
        if use_events:
            for node in range(applier.nodes):
                client = applier.listen_client(node)
                try:
                    listeners.append(Listener(client))
                except BaseException:
                    client.close()
                    raise
        resumed = bool(getattr(bulk(), "resumed", False)) if bulk is not None else False
        if fixed_dbs is not None:
            dbs = fixed_dbs
        elif options.dbs is not None:
            dbs = sorted(options.dbs)
        else:
            dbs = sorted(keyspace_sizes(applier.sides(0)[0].clients[0])) or [0]
        if listeners and resumed:
            notes.append("the bulk copy was resumed: one SCAN pass per db caught the writes made meanwhile")
            reporter.phase("resyncing", "the copy was resumed: one SCAN pass for the writes made meanwhile")
            _scan_all(applier, dbs, options, cancel)
            report.resyncs += 1
        reporter.phase("following", _phase_detail(applier, report, options, dbs))
        try:
            if listeners:
                _follow_events(listeners, applier, dbs, options, reporter, cancel, stop_at)
            else:
                _follow_scans(applier, dbs, options, reporter, cancel, stop_at)
            report.stopped = f"stopped after {options.duration_seconds:g} s"
        except Interrupted:
            report.stopped = f"cancelled: {cancel.reason or 'cancelled'}"
        _drain(listeners, applier, dbs, options, reporter)
    finally:
        for listener in listeners:
            listener.close()
            listener.client.close()
        applier.close()
    report.seconds = time.monotonic() - started
    return report


def _scan_all(applier: Applier, dbs: list[int], options: FollowOptions, cancel: CancelToken | None) -> None:
    """One SCAN pass of every followed db on every source node."""
    for db in dbs:
        for node in range(applier.nodes):
            scan_pass(applier, db, node, options, cancel)


def _phase_detail(applier: Applier, report: FollowReport, options: FollowOptions, dbs: list[int]) -> str:
    where = f"db {', '.join(map(str, dbs))}"
    if applier.clustered:
        where += f" of {applier.nodes} cluster primaries"
    if applier.sides(dbs[0])[1].clustered:
        where += ", into a Redis Cluster"
    if report.mode == "notifications":
        return f"keyspace notifications, {where}, applied every {options.apply_interval:g} s"
    return f"SCAN passes every {options.pass_interval:g} s, {where}"


def _follow_events(
    listeners: list[Listener],
    applier: Applier,
    dbs: list[int],
    options: FollowOptions,
    reporter: Reporter,
    cancel: CancelToken,
    stop_at: float | None,
) -> None:
    report = applier.report
    followed = set(dbs)
    watches = [FlushWatch(applier, followed, node) for node in range(len(listeners))]
    last_report = last_flush_check = time.monotonic()
    while stop_at is None or time.monotonic() < stop_at:
        cancel.sleep(options.apply_interval, "while following")
        for node, listener in enumerate(listeners):
            if listener.lost is None:
                continue
            reporter.warning(
                f"the notification subscription{applier.label(node)} dropped ({listener.lost}): "
                "resubscribing, one SCAN pass"
            )
            listener.restart()
            report.resyncs += 1
            for db in sorted(followed):
                scan_pass(applier, db, node, options, cancel)
        _apply_pending(listeners, applier, followed, reporter, cancel)
        now = time.monotonic()
        if now - last_flush_check >= options.flush_check_seconds:
            last_flush_check = now
            for watch in watches:
                watch.check(reporter, cancel)
        if now - last_report >= options.report_seconds:
            last_report = now
            oldest = min((t for t in (x.oldest() for x in listeners) if t is not None), default=None)
            report.last_lag_seconds = 0.0 if oldest is None else now - oldest
            report.max_lag_seconds = max(report.max_lag_seconds, report.last_lag_seconds)
            reporter.log(
                f"lag {report.last_lag_seconds:.1f} s; {report.changes_seen} changes seen, "
                f"{report.applied} keys applied, {report.deleted} deleted"
            )
            reporter.progress(report.applied + report.deleted, None, unit="changes")


def _apply_pending(
    listeners: list[Listener],
    applier: Applier,
    followed: set[int],
    reporter: Reporter,
    cancel: CancelToken | None,
) -> None:
    report = applier.report
    clustered = applier.clustered
    for node, listener in enumerate(listeners):
        pending, flushes = listener.take()
        report.changes_seen = sum(x.seen for x in listeners)
        by_db: dict[int, list[bytes]] = {}
        for (db, key), first in pending.items():
            if db in followed:
                by_db.setdefault(db, []).append(key)
                report.max_lag_seconds = max(report.max_lag_seconds, time.monotonic() - first)
        try:
            for db, keys in sorted(by_db.items()):
                applier.apply(keys, db, node, cancel)
        except BaseException:
            # a stop (or an error) in the middle: the drain (or the next round) applies them again
            listener.requeue({k: t for k, t in pending.items() if k[0] in followed})
            raise
        for flushed_db, event in flushes:
            dbs = sorted(followed) if flushed_db is None else [flushed_db] if flushed_db in followed else []
            if dbs:
                why = f"the source{applier.label(node)} sent a {event} event"
                reconcile(applier, dbs, why, reporter, cancel, node=node if clustered else None)


def _drain(
    listeners: list[Listener], applier: Applier, dbs: list[int], options: FollowOptions, reporter: Reporter
) -> None:
    """After a stop, for at most ``drain_seconds``: apply the pending changes (notification mode), or run
    one last complete SCAN pass (scan mode), so every write made before the stop reaches the target."""
    token = CancelToken()
    timer = threading.Timer(options.drain_seconds, token.cancel, args=("drain time over",))
    timer.start()
    try:
        if listeners:
            src = applier.sides(dbs[0])[0]
            deadline = time.monotonic() + max(0.1, options.drain_seconds / 2)
            for node, listener in enumerate(listeners):
                if not listener.barrier(src.clients[node], timeout=max(0.1, deadline - time.monotonic())):
                    reporter.warning(
                        f"the events sent before the stop{applier.label(node)} could not all be read: some "
                        "may be missing"
                    )
                    applier.report.complete = False
            _apply_pending(listeners, applier, set(dbs), reporter, token)
        else:
            reporter.phase("draining", "one last SCAN pass: the writes made before the stop")
            _scan_all(applier, dbs, options, token)
            applier.report.passes += 1
    except Interrupted:
        applier.report.complete = False
        if listeners:
            applier.report.unapplied = sum(len(x.pending) for x in listeners)
            reporter.warning(f"stopped before {applier.report.unapplied} pending changes were applied")
        else:
            reporter.warning(
                f"the last SCAN pass did not finish within {options.drain_seconds:g} s: changes made in the "
                "last staleness bound may be missing (follow again, or verify)"
            )
    finally:
        timer.cancel()


def _follow_scans(
    applier: Applier,
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
        _scan_all(applier, dbs, options, cancel)
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
