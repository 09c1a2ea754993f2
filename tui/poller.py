"""The poller: one thread worker per probe produces snapshots and posts them to the app as messages.

Each probe runs on its own period (:data:`tui.data.PROBES` times the refresh interval), so a slow probe
never blocks the others; a probe that cannot reach the server (a ``disconnected`` snapshot) retries with
exponential backoff (interval, 2x, 4x, ... up to :data:`MAX_BACKOFF`) and goes back to its period once it
answers again. A replay posts the recorded snapshots in order instead (``speed`` 0: at once).
Snapshots are written to the recording (``--record``) as they are posted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from textual.message import Message

from tui.data import PROBES, DataSource
from tui.snapshot import RecordingWriter, Snapshot

__all__ = ["MAX_BACKOFF", "Poller", "ReplayFinished", "SnapshotArrived", "backoff"]

#: the longest wait between two reconnection attempts (seconds)
MAX_BACKOFF = 30.0


class SnapshotArrived(Message):
    """A probe produced a snapshot."""

    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap


class ReplayFinished(Message):
    """Every recorded snapshot was posted."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count


def backoff(interval: float, failures: int) -> float:
    """The wait before the next attempt after ``failures`` failures in a row."""
    if failures <= 0:
        return interval
    return float(min(MAX_BACKOFF, interval * 2 ** min(failures, 16)))


class Poller:
    """Starts the probe workers of ``source`` on ``app`` and stops them; see the module docstring."""

    def __init__(
        self,
        app: Any,
        source: DataSource,
        *,
        interval: float,
        record: RecordingWriter | None = None,
        replay_speed: float = 0.0,
        post: Callable[[Message], object] | None = None,
    ) -> None:
        self.app = app
        self.source = source
        self.interval = interval
        self.record = record
        self.replay_speed = replay_speed
        self._post = post or app.post_message
        self._stop = threading.Event()
        self._wake: dict[str, threading.Event] = {p: threading.Event() for p in PROBES}
        self.paused = False
        self._play = threading.Event()  # a replay plays while set (space pauses it)
        self._play.set()
        self._steps = threading.Semaphore(0)  # "." while paused: one snapshot each

    def start(self) -> None:
        """Start one worker per probe (live) or the replay worker."""
        if not self.source.live:
            self.app.run_worker(self._replay, thread=True, group="poll", name="replay", exit_on_error=False)
            return
        for probe in PROBES:
            self.app.run_worker(
                lambda p=probe: self._loop(p),
                thread=True,
                group="poll",
                name=f"poll:{probe}",
                exit_on_error=False,
            )

    def deliver(self, snap: Snapshot) -> None:
        """Record ``snap`` (with ``--record``) and post it to the app."""
        if self.record is not None:
            self.record.write(snap)
        self._post(SnapshotArrived(snap))

    def poll_now(self, probe: str | None = None) -> None:
        """Wake ``probe``'s worker (all of them when None) for an immediate poll."""
        for name, ev in self._wake.items():
            if probe is None or name == probe:
                ev.set()

    def stop(self) -> None:
        """Stop every worker at its next wake-up (the running operation finishes first)."""
        self._stop.set()
        for ev in self._wake.values():
            ev.set()

    def _loop(self, probe: str) -> None:
        period = self.interval * PROBES[probe]
        failures = 0
        wake = self._wake[probe]
        while not self._stop.is_set():
            if not self.paused:
                snap = self.source.poll(probe)
                if self._stop.is_set():
                    return
                self.deliver(snap)
                failures = failures + 1 if snap.disconnected else 0
            wait = backoff(self.interval, failures) if failures else period
            wake.wait(wait)
            wake.clear()

    @property
    def replay_paused(self) -> bool:
        """The replay is paused (``space``)."""
        return not self._play.is_set()

    def pause_replay(self, paused: bool) -> None:
        """Pause or resume the replay (at the next snapshot)."""
        if paused:
            self._play.clear()
        else:
            self._play.set()

    def step_replay(self) -> None:
        """Play one snapshot of a paused replay."""
        self._steps.release()

    def _held(self) -> bool:
        """Wait while paused until resumed or stepped; True when stepped (no gap wait), None-safe on stop."""
        while not self._play.is_set():
            if self._steps.acquire(timeout=0.1):
                return True
            if self._stop.is_set():
                return False
        return False

    def _replay(self) -> None:
        snaps = self.source.recorded()
        prev: float | None = None
        for snap in snaps:
            if self._stop.is_set():
                return
            stepped = self._held()
            if self._stop.is_set():
                return
            gap = snap.at - prev if self.replay_speed > 0 and prev is not None and not stepped else 0.0
            if gap > 0 and self._stop.wait(min(5.0, gap / self.replay_speed)):
                return
            prev = snap.at
            self._post(SnapshotArrived(snap))
        self._post(ReplayFinished(len(snaps)))
