"""Where snapshots come from: a live target (catalogue READ operations) or a recording.

Widgets never talk to Redis, S3 or Kubernetes: the poller asks a :class:`DataSource` for one probe's
snapshot at a time, from a worker thread. :class:`LiveSource` runs the catalogue's read operations
through the same :class:`~redisops.ops.target.Target` scripts use (``t.run("health.report")``, ...);
:class:`ReplaySource` hands back what a ``--record`` session stored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from redisops.cancel import CancelToken
from redisops.errors import AuthError, ConnectionFailed, InvalidArgument, OperationTimeout, RedisOpsError
from redisops.events import EventSink, jsonable
from redisops.ops.target import Target
from tui.snapshot import Snapshot, read_recording

__all__ = ["FULL_HEALTH_EVERY", "PROBES", "DataSource", "LiveSource", "ReplaySource", "parse_quantity"]

#: the polled probes and their period as a multiple of the refresh interval (a slow or costly probe is
#: asked less often; each runs in its own worker, so a slow one never holds the others up)
PROBES: dict[str, float] = {"info": 1.0, "slowlog": 3.0, "health": 5.0, "platform": 10.0, "backups": 60.0}

#: the health probe checks the backup store (a new S3 client each time: ~0.2 s of CPU) every Nth poll
#: only; the polls between carry the last backup checks over
FULL_HEALTH_EVERY = 60
_RANK = {"ok": 0, "unknown": 0, "warn": 1, "crit": 2}

_QUANTITY = re.compile(r"^([0-9.]+)([A-Za-z]*)$")
_SUFFIX = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def parse_quantity(q: str) -> int | None:
    """Bytes of a Kubernetes memory quantity (``512Mi`` -> 536870912); None when it is not one."""
    m = _QUANTITY.match(q.strip())
    if not m or m.group(2) not in _SUFFIX:
        return None
    return int(float(m.group(1)) * _SUFFIX[m.group(2)])


@runtime_checkable
class DataSource(Protocol):
    """What the app reads from and acts through.

    Attributes:
        label: the target's name (``sandbox``, ``prod-cache``) or the recording's.
        address: where it is, redacted as the CLI prints it (``redis://127.0.0.1:6379/0``, no password).
        live: polls a server (False: a recording, replayed).
        read_only: mutating actions are refused (a production target, or a recording).
    """

    label: str
    address: str
    live: bool
    read_only: bool

    def poll(self, probe: str) -> Snapshot:
        """One probe's snapshot now (never raises: a failure is a snapshot with ``error``)."""
        ...

    def recorded(self) -> Sequence[Snapshot]:
        """The snapshots of a recording, in order (empty for a live source)."""
        ...

    def run(
        self,
        op: str,
        params: Mapping[str, Any],
        *,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        confirm: bool = False,
    ) -> Any:
        """Run a catalogue operation (an action)."""
        ...

    def plan(self, op: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The plan of a mutating operation (``Plan.to_dict()``); changes nothing."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LiveSource:
    """Snapshots from a live target through the catalogue's read operations."""

    live = True

    def __init__(self, target: Target, *, clock: Callable[[], float] = time.time) -> None:
        self.target = target
        self.label = target.name
        self.address = str(target.to_dict().get("redis") or "")
        self.read_only = target.read_only
        self._clock = clock
        self._health_polls = 0
        self._slow_watermark = -1
        self._backup_checks: list[dict[str, Any]] = []
        self._limit: int | None = None
        try:
            cfg = target.config()  # loaded once here, not raced by the probe threads
            self._limit = parse_quantity(str(cfg.resources.limits.memory))
        except RedisOpsError:
            self._limit = None

    def _call(self, probe: str) -> dict[str, Any]:
        t = self.target
        if probe == "info":
            info = jsonable(t.run("info.get", {}))
            return {"info": info.get("info", {}), "limits": {"container_memory": self._limit}}
        if probe == "health":
            return self._health()
        if probe == "slowlog":
            return self._slowlog()
        if probe == "backups":
            return dict(jsonable(t.run("backup.list", {})))
        if probe == "platform":
            return dict(jsonable(t.run("platform.status", {})))
        raise InvalidArgument(f"unknown probe {probe!r}", hint=f"one of {', '.join(PROBES)}")

    def _slowlog(self) -> dict[str, Any]:
        """The entries newer than the last poll's (all of them after a SLOWLOG RESET or a restart, when
        the newest id goes down): the session keeps the history, a recording stays small."""
        result = self.target.run("slowlog.get", {"count": 128})
        entries = list(result.entries)
        newest = max((int(e.id) for e in entries), default=-1)
        if newest < self._slow_watermark:
            self._slow_watermark = -1
        fresh = [
            {
                "id": int(e.id),
                "started_at": int(e.started_at),
                "duration_us": int(e.duration_us),
                "argv": [str(a) for a in e.argv],
                "client_addr": str(e.client_addr),
            }
            for e in entries
            if int(e.id) > self._slow_watermark
        ]
        self._slow_watermark = max(self._slow_watermark, newest)
        return {"entries": fresh, "newest_id": newest}

    def _health(self) -> dict[str, Any]:
        full = self._health_polls % FULL_HEALTH_EVERY == 0
        self._health_polls += 1
        params = {} if full else {"backups": False}
        report: dict[str, Any] = dict(jsonable(self.target.run("health.report", params)))
        checks = [c for c in report.get("checks", []) if c.get("category") != "backup"]
        if full:
            self._backup_checks = [c for c in report.get("checks", []) if c.get("category") == "backup"]
            return report
        checks += self._backup_checks
        counts = {k: 0 for k in ("ok", "unknown", "warn", "crit")}
        for c in checks:
            counts[str(c.get("status"))] = counts.get(str(c.get("status")), 0) + 1
        worst = max(
            (str(c.get("status")) for c in checks), key=lambda st: _RANK.get(st, 0), default="unknown"
        )
        overall = worst if _RANK.get(worst, 0) > 0 else ("ok" if counts["ok"] else "unknown")
        return {**report, "checks": checks, "counts": counts, "overall": overall}

    def poll(self, probe: str) -> Snapshot:
        """Run the probe's operation; a failure is a snapshot with the error's message and hint."""
        try:
            data = self._call(probe)
        except (ConnectionFailed, OperationTimeout, AuthError) as e:  # cannot read the server at all
            return Snapshot(probe, self._clock(), error=e.message, hint=e.hint, disconnected=True)
        except RedisOpsError as e:
            return Snapshot(probe, self._clock(), error=e.message, hint=e.hint)
        except Exception as e:  # a bug or a foreign error: named, never raised into the UI
            return Snapshot(probe, self._clock(), error=f"{type(e).__name__}: {e}")
        return Snapshot(probe, self._clock(), data=data)

    def recorded(self) -> Sequence[Snapshot]:
        """Nothing: a live source polls."""
        return ()

    def run(
        self,
        op: str,
        params: Mapping[str, Any],
        *,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        confirm: bool = False,
    ) -> Any:
        """``target.run(op, params, ...)``."""
        return self.target.run(op, dict(params), on_event=on_event, cancel=cancel, confirm=confirm)

    def plan(self, op: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``target.plan(op, params).to_dict()``."""
        return dict(self.target.plan(op, dict(params)).to_dict())

    def close(self) -> None:
        """Close the target's clients."""
        self.target.close()


class ReplaySource:
    """The snapshots of a ``--record`` file, played through the same screens (read-only)."""

    live = False
    read_only = True

    def __init__(self, path: Path) -> None:
        try:
            header, self._snaps = read_recording(path)
        except FileNotFoundError:
            raise InvalidArgument(
                f"no recording at {path}", hint="record one with redisops tui --record FILE"
            ) from None
        except ValueError as e:
            raise InvalidArgument(str(e), hint="pass a file written by redisops tui --record") from None
        self.label = f"{header.get('target', '?')} (replay)"
        self.address = str(path.name)

    def poll(self, probe: str) -> Snapshot:
        """A recording is not polled: a snapshot saying so."""
        return Snapshot(probe, 0.0, error="a recording is replayed, not polled")

    def recorded(self) -> Sequence[Snapshot]:
        """The recorded snapshots in order."""
        return tuple(self._snaps)

    def run(
        self,
        op: str,
        params: Mapping[str, Any],
        *,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        confirm: bool = False,
    ) -> Any:
        """Refused: a recording has no server to act on."""
        raise InvalidArgument(
            f"{op} cannot run on a replayed recording", hint="start redisops tui on a target"
        )

    def plan(self, op: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Refused, as :meth:`run`."""
        raise InvalidArgument(f"{op} cannot be planned on a replayed recording")

    def close(self) -> None:
        """Nothing to close."""
