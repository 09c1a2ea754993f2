"""What the screens show, built from snapshots only (pure: no I/O, no clock, no Textual).

:class:`SessionState` keeps the newest snapshot of each probe, the series the dashboard plots (ops/s,
memory, hit ratio, clients, evictions: computed from consecutive INFO snapshots, so a replay plots the
same), the slow log beyond the server's ring (:class:`SlowlogHistory`), an INFO baseline for diffs and
whether the server is reachable.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tui.snapshot import Snapshot

__all__ = ["SERIES", "SessionState", "SlowEntry", "SlowlogHistory", "command_shape", "info_fields"]

#: the dashboard's plots: series name -> label
SERIES: dict[str, str] = {
    "ops_per_sec": "ops/s",
    "used_memory": "memory used",
    "hit_ratio": "hit ratio",
    "clients": "clients",
    "evicted_per_sec": "evictions/s",
}

#: commands whose first argument is a subcommand (CONFIG GET, CLIENT LIST, ...)
_CONTAINERS = frozenset(
    {
        *("ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "LATENCY", "MEMORY"),
        *("MODULE", "OBJECT", "PUBSUB", "SCRIPT", "SLOWLOG", "XGROUP", "XINFO"),
    }
)


def command_shape(argv: Sequence[str]) -> str:
    """The command without its arguments: ``SET``, ``CONFIG GET``, ``XINFO STREAM`` (keys never shown)."""
    if not argv:
        return "?"
    name = str(argv[0]).upper()
    if name in _CONTAINERS and len(argv) > 1:
        return f"{name} {str(argv[1]).upper()}"
    return name


@dataclasses.dataclass(frozen=True)
class SlowEntry:
    """One slow-log entry as kept by the session (``generation`` counts server-side resets)."""

    generation: int
    id: int
    started_at: int
    duration_us: int
    argv: tuple[str, ...]
    client: str

    @property
    def shape(self) -> str:
        """:func:`command_shape` of the entry."""
        return command_shape(self.argv)


class SlowlogHistory:
    """The slow log across polls: an id watermark per poll, reset/wrap detection, capped at ``limit``.

    The server keeps only ``slowlog-max-len`` entries (128 by default); every poll adds the entries
    newer than the watermark. When the newest id goes down (SLOWLOG RESET, a restart), a new
    generation starts and the older entries stay.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self.generation = 0
        self.watermark = -1
        self.resets = 0
        self._entries: dict[tuple[int, int], SlowEntry] = {}

    def add(self, entries: Iterable[Mapping[str, Any]], *, newest: int | None = None) -> int:
        """Take one poll's entries (any order); returns how many were new.

        ``newest`` is the newest id on the server when the poll sent only the entries it had not sent
        before (a live source does: an older newest id than seen means the server's log was reset).
        """
        polled = [e for e in entries if "id" in e]
        if newest is None:
            if not polled:
                return 0
            newest = max(int(e["id"]) for e in polled)
        if newest < self.watermark and (polled or newest >= 0):
            self.generation += 1
            self.resets += 1
            self.watermark = -1
        added = 0
        for e in polled:
            eid = int(e["id"])
            if eid <= self.watermark:
                continue
            key = (self.generation, eid)
            if key not in self._entries:
                self._entries[key] = SlowEntry(
                    generation=self.generation,
                    id=eid,
                    started_at=int(e.get("started_at", 0)),
                    duration_us=int(e.get("duration_us", 0)),
                    argv=tuple(str(a) for a in e.get("argv", ())),
                    client=str(e.get("client_addr", "")),
                )
                added += 1
        self.watermark = max(self.watermark, newest)
        if len(self._entries) > self.limit:
            for key in sorted(self._entries)[: len(self._entries) - self.limit]:
                del self._entries[key]
        return added

    def entries(self) -> list[SlowEntry]:
        """Every kept entry, newest first."""
        return [self._entries[k] for k in sorted(self._entries, reverse=True)]

    def __len__(self) -> int:
        return len(self._entries)

    def by_shape(self) -> list[dict[str, Any]]:
        """Entries grouped by command shape: count, total and max µs; the slowest total first."""
        groups: dict[str, dict[str, Any]] = {}
        for e in self._entries.values():
            g = groups.setdefault(e.shape, {"shape": e.shape, "count": 0, "total_us": 0, "max_us": 0})
            g["count"] += 1
            g["total_us"] += e.duration_us
            g["max_us"] = max(g["max_us"], e.duration_us)
        return sorted(groups.values(), key=lambda g: (-g["total_us"], g["shape"]))


def info_fields(info: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """INFO as ``(section, field) -> value`` text (nested values flattened as ``key=value`` lists)."""
    out: dict[tuple[str, str], str] = {}
    for section, fields in info.items():
        if not isinstance(fields, Mapping):
            continue
        for name, value in fields.items():
            if isinstance(value, Mapping):
                value = ",".join(f"{k}={v}" for k, v in value.items())
            out[(str(section), str(name))] = str(value)
    return out


def _num(d: Mapping[str, Any], key: str) -> float | None:
    v = d.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


class SessionState:
    """Everything the screens show, updated by :meth:`apply` from snapshots in arrival order."""

    def __init__(self, history: int = 3600) -> None:
        self.latest: dict[str, Snapshot] = {}
        self.series: dict[str, deque[float]] = {k: deque(maxlen=history) for k in SERIES}
        self.slowlog = SlowlogHistory()
        self.info_baseline: Snapshot | None = None
        self.connected: bool | None = None
        self.connection_error: str = ""
        self.failures = 0
        self._prev: tuple[float, Mapping[str, Any]] | None = None

    def apply(self, snap: Snapshot) -> None:
        """Take one snapshot: keep it, update the series, the slow log and the connection state."""
        self.latest[snap.probe] = snap
        if snap.disconnected:
            self.connected = False
            self.connection_error = snap.error or "disconnected"
            self.failures += 1
            self._prev = None
            return
        if snap.ok and snap.probe in ("info", "slowlog"):  # a health report is made even without Redis
            self.connected = True
            self.connection_error = ""
            self.failures = 0
        if not snap.ok:
            return
        if snap.probe == "info":
            self._info(snap)
        elif snap.probe == "slowlog":
            self.slowlog.add(snap.data.get("entries", ()), newest=snap.data.get("newest_id"))

    def _info(self, snap: Snapshot) -> None:
        info = snap.data.get("info", {})
        stats = info.get("stats", {})
        mem = info.get("memory", {})
        clients = info.get("clients", {})
        self._push("used_memory", _num(mem, "used_memory"))
        self._push("clients", _num(clients, "connected_clients"))
        if self._prev is not None:
            at0, stats0 = self._prev
            dt = snap.at - at0
            if dt > 0:
                self._rates(stats0, stats, dt)
        self._prev = (snap.at, stats)
        if self.info_baseline is None:
            self.info_baseline = snap

    def _rates(self, s0: Mapping[str, Any], s1: Mapping[str, Any], dt: float) -> None:
        def delta(key: str) -> float | None:
            a, b = _num(s0, key), _num(s1, key)
            if a is None or b is None or b < a:  # a counter went down: restart or CONFIG RESETSTAT
                return None
            return b - a

        ops = delta("total_commands_processed")
        self._push("ops_per_sec", None if ops is None else ops / dt)
        ev = delta("evicted_keys")
        self._push("evicted_per_sec", None if ev is None else ev / dt)
        hits, misses = delta("keyspace_hits"), delta("keyspace_misses")
        if hits is not None and misses is not None and hits + misses > 0:
            self._push("hit_ratio", hits / (hits + misses))
        else:
            h, m = _num(s1, "keyspace_hits"), _num(s1, "keyspace_misses")
            if h is not None and m is not None and h + m > 0:
                self._push("hit_ratio", h / (h + m))

    def _push(self, name: str, value: float | None) -> None:
        if value is not None:
            self.series[name].append(value)

    def set_baseline(self) -> None:
        """The INFO diff compares against the newest INFO snapshot from now on."""
        snap = self.latest.get("info")
        if snap is not None and snap.ok:
            self.info_baseline = snap

    def info_diff(self) -> dict[tuple[str, str], str]:
        """``(section, field) -> baseline value`` for the fields whose value changed since the baseline."""
        now, base = self.latest.get("info"), self.info_baseline
        if now is None or base is None or not now.ok or now is base:
            return {}
        a, b = info_fields(base.data.get("info", {})), info_fields(now.data.get("info", {}))
        return {k: a.get(k, "") for k, v in b.items() if a.get(k) != v}
