"""The Python API of inspection: typed methods over the catalogue's ``health.report``, ``info.get``,
``slowlog.get``, ``latency.report``, ``memory.report``, ``keys.analyze`` and ``clients.list``, and the
streaming ``slowlog.follow`` and ``health.watch`` (each new entry, each report, is an :class:`Item`
event on ``on_event``; they run until ``cancel`` is cancelled, or for ``rounds``).

Each method validates its arguments through the operation's parameter model (a bad value is
:class:`~redisops.errors.InvalidArgument` naming the field), runs on the target it was built with,
sends its events to ``on_event`` and stops on ``cancel``::

    import redisops
    from redisops.ops.api_inspect import InspectAPI

    look = InspectAPI(redisops.target(url="redis://127.0.0.1:6379"))
    # look.health().overall, look.info(["memory"]).info.memory.used_memory, look.keys(top=5).top ...
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redisops._lazy import lazy_getattr
from redisops.health.display import human_bytes, human_value, percent, value_text
from redisops.health.model import CheckResult, HealthReport, Status, Thresholds

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.events import EventSink
    from redisops.ops.entries_inspect import ClientsResult, InfoResult, LatencyResult, SlowlogResult
    from redisops.ops.entries_watch import HealthWatch, Item, SlowlogFollow
    from redisops.ops.inspect import KeyAnalysis, MemoryReport
    from redisops.ops.target import Target

#: what front ends render (they import these from here, not from redisops.health / redisops.inspect)
__all__ = [
    "CheckResult",
    "HealthReport",
    "HealthWatch",
    "InspectAPI",
    "Item",
    "SlowlogFollow",
    "Status",
    "Thresholds",
    "human_bytes",
    "human_value",
    "percent",
    "value_text",
]

#: loaded on first use: the catalogue's entries (pydantic models) stay out of a CLI's start-up
__getattr__ = lazy_getattr(
    __name__,
    {name: "redisops.ops.entries_watch" for name in ("HealthWatch", "Item", "SlowlogFollow")},
    globals(),
)


class InspectAPI:
    """Read-only looks at the target's Redis (every method is a ``read`` operation of the catalogue)."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"InspectAPI({self._target!r})"

    def _run(
        self, op: str, params: Mapping[str, Any], on_event: EventSink | None, cancel: CancelToken | None
    ) -> Any:
        return self._target.run(op, params, on_event=on_event, cancel=cancel)

    def health(
        self,
        *,
        thresholds: Mapping[str, Any] | None = None,
        backups: bool | None = None,
        ping_count: int = 3,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> HealthReport:
        """Every health check (``health.report``): Redis, config drift against the target's config and,
        when the target has a backup store (or ``backups=True``), backup age and the last drill.

        ``thresholds`` overrides thresholds by name (``{"memory_warn_ratio": 0.8}``); the report's
        ``overall`` is the worst status and ``exit_code()`` is 0/20/21 as ``redisops health``.
        """
        params = {"thresholds": dict(thresholds or {}), "backups": backups, "ping_count": ping_count}
        report: HealthReport = self._run("health.report", params, on_event, cancel)
        return report

    def info(
        self,
        sections: builtins.list[str] | None = None,
        *,
        rates: bool = False,
        interval: float = 1.0,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> InfoResult:
        """INFO, parsed (``info.get``): the ``sections`` asked for (default: the server's default set);
        with ``rates`` also two samples ``interval`` seconds apart and the rates between them."""
        params = {"sections": list(sections or []), "rates": rates, "interval": interval}
        result: InfoResult = self._run("info.get", params, on_event, cancel)
        return result

    def slowlog(
        self, count: int = 10, *, on_event: EventSink | None = None, cancel: CancelToken | None = None
    ) -> SlowlogResult:
        """The newest ``count`` slow-log entries and their groups by command shape and client."""
        result: SlowlogResult = self._run("slowlog.get", {"count": count}, on_event, cancel)
        return result

    def slowlog_follow(
        self,
        *,
        count: int = 10,
        interval: float = 1.0,
        rounds: int | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> SlowlogFollow:
        """New slow-log entries as they appear (``slowlog.follow``): the newest ``count`` first, then
        each new one, as ``Item(name="slowlog.entry")`` events on ``on_event``, polling every
        ``interval`` seconds until ``cancel`` (Interrupted) or ``rounds`` polls (then the summary)."""
        params = {"count": count, "interval": interval, "rounds": rounds}
        result: SlowlogFollow = self._run("slowlog.follow", params, on_event, cancel)
        return result

    def health_watch(
        self,
        *,
        interval: float = 5.0,
        rounds: int | None = None,
        thresholds: Mapping[str, Any] | None = None,
        backups: bool | None = None,
        ping_count: int = 3,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> HealthWatch:
        """A health report every ``interval`` seconds (``health.watch``) as ``Item(name="health.report")``
        events, until ``cancel`` (Interrupted) or ``rounds`` reports (then the last one)."""
        params = {
            "interval": interval,
            "rounds": rounds,
            "thresholds": dict(thresholds or {}),
            "backups": backups,
            "ping_count": ping_count,
        }
        result: HealthWatch = self._run("health.watch", params, on_event, cancel)
        return result

    def latency(
        self, pings: int = 5, *, on_event: EventSink | None = None, cancel: CancelToken | None = None
    ) -> LatencyResult:
        """``pings`` timed PINGs, LATENCY LATEST and LATENCY DOCTOR (``latency.report``)."""
        result: LatencyResult = self._run("latency.report", {"pings": pings}, on_event, cancel)
        return result

    def memory(self, *, on_event: EventSink | None = None, cancel: CancelToken | None = None) -> MemoryReport:
        """INFO memory, MEMORY STATS and MEMORY DOCTOR (``memory.report``; parts refused are None with
        the reason in ``reasons``)."""
        result: MemoryReport = self._run("memory.report", {}, on_event, cancel)
        return result

    def keys(
        self,
        *,
        top: int = 10,
        prefix_depth: int = 1,
        prefixes: int = 20,
        scan_count: int = 1000,
        max_ops: float = 5000.0,
        sample: float | None = None,
        cursor: int = 0,
        max_keys: int | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> KeyAnalysis:
        """Biggest keys per type and memory by prefix (``keys.analyze``): SCAN ``scan_count`` at a time,
        at most ``max_ops`` commands per second, ``sample`` of the keys; stops after ``max_keys``
        with the ``cursor`` to resume from. ``cancel`` stops it between batches."""
        params = {
            "top": top,
            "prefix_depth": prefix_depth,
            "prefixes": prefixes,
            "scan_count": scan_count,
            "max_ops": max_ops,
            "sample": sample,
            "cursor": cursor,
            "max_keys": max_keys,
        }
        result: KeyAnalysis = self._run("keys.analyze", params, on_event, cancel)
        return result

    def clients(
        self,
        *,
        limit: int | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> ClientsResult:
        """CLIENT LIST, parsed (``clients.list``); ``limit`` keeps the clients using the most memory."""
        result: ClientsResult = self._run("clients.list", {"limit": limit}, on_event, cancel)
        return result
