"""One event stream for every operation: what the CLI renders, a runbook journals and the TUI posts.

An operation gets a :class:`Reporter` (or builds one from the ``on_event`` sink it was given) and
reports through it; it never prints. Every event carries the operation's dotted name (``backup.create``)
and the id of this run of it, so several operations can share one sink::

    from redisops.events import Recorder, Reporter

    events = Recorder()
    r = Reporter("backup.create", events)
    r.started({"kind": "rdb"})
    r.phase("streaming")
    r.progress(512, 1024, unit="bytes")
    r.finished({"id": "b1"})
    assert [e.kind for e in events] == ["started", "phase", "progress", "finished"]
    assert events[2].fraction == 0.5 and events[2].phase == "streaming"

Events are frozen dataclasses with a ``to_dict()`` that is plain JSON (for ``-o json`` streams, journals
and recordings). Nothing here does I/O; sinks decide where events go.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from redisops.errors import RedisOpsError

__all__ = [
    "Event",
    "EventSink",
    "Failed",
    "Finished",
    "Log",
    "Phase",
    "Progress",
    "Recorder",
    "Reporter",
    "Started",
    "Warn",
    "fanout",
    "jsonable",
    "new_op_id",
]


def jsonable(obj: Any) -> Any:
    """Dataclasses, pydantic models, paths, enums and times as plain JSON values."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "backslashreplace")
    if isinstance(obj, enum.Enum):
        return jsonable(obj.value)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, datetime.datetime | datetime.date):
        return obj.isoformat().replace("+00:00", "Z")
    if isinstance(obj, datetime.timedelta):
        return obj.total_seconds()
    return obj


def new_op_id(op: str, now: float | None = None) -> str:
    """A run id that sorts by time and names the operation: ``backup.create-20261207T013648Z-3f9a``."""
    stamp = datetime.datetime.fromtimestamp(time.time() if now is None else now, datetime.UTC)
    return f"{op}-{stamp:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """What every event carries: the operation's dotted name, the run's id and the wall-clock time."""

    kind: ClassVar[str] = "event"
    op: str
    op_id: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``{"kind": ..., "op": ..., "op_id": ..., "at": ..., <fields>}``."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            out[f.name] = jsonable(getattr(self, f.name))
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class Started(Event):
    """The operation started with these parameters (secrets already masked by the operation)."""

    kind: ClassVar[str] = "started"
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Phase(Event):
    """A named step of the operation began (``connecting``, ``streaming``, ``committing``)."""

    kind: ClassVar[str] = "phase"
    name: str
    detail: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Progress(Event):
    """``done`` of ``total`` ``unit`` in the current phase; ``total`` None when unknown.

    ``estimate`` marks a total that is a guess (the dataset size under diskless sync, where Redis sends
    no length up front), so a front end can label it as one. ``detail`` carries what a front end may
    show beside the bar (the copy's ``keys_per_second``, ``mb_per_second``, ``eta_seconds``); plain JSON
    values, None when there is nothing to add.
    """

    kind: ClassVar[str] = "progress"
    phase: str
    done: int
    total: int | None = None
    unit: str = "bytes"
    estimate: bool = False
    detail: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``detail`` only when there is one, so older readers see the same keys)."""
        out = super().to_dict()
        if self.detail is None:
            out.pop("detail", None)
        return out

    @property
    def fraction(self) -> float | None:
        """done/total in [0, 1] when the total is known (an estimate may be passed: capped at 1)."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Log(Event):
    """A line worth keeping in a journal (``debug``/``info``)."""

    kind: ClassVar[str] = "log"
    message: str
    level: str = "info"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Warn(Event):
    """Something the operator should read; the operation goes on."""

    kind: ClassVar[str] = "warning"
    message: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Finished(Event):
    """The operation completed; ``result`` is its typed result (JSON through :func:`jsonable`)."""

    kind: ClassVar[str] = "finished"
    result: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Failed(Event):
    """The operation stopped with an error (``RedisOpsError.to_dict()``: message, hint, exit code)."""

    kind: ClassVar[str] = "failed"
    error: Mapping[str, Any]

    @property
    def message(self) -> str:
        """The error's one-sentence message."""
        return str(self.error.get("message", ""))


EventSink = Callable[[Event], None]


def fanout(*sinks: EventSink | None) -> EventSink:
    """One sink that hands every event to each of ``sinks`` (None entries are skipped)."""
    targets = [s for s in sinks if s is not None]

    def send(event: Event) -> None:
        for sink in targets:
            sink(event)

    return send


class Recorder:
    """A sink that keeps every event (tests, journals, the TUI's recorder); thread-safe, indexable."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def __iter__(self) -> Iterator[Event]:
        with self._lock:
            return iter(list(self._events))

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, i: int) -> Event:
        return self._events[i]

    def of(self, cls: type[Event]) -> list[Event]:
        """The events of one type, in order."""
        return [e for e in self if isinstance(e, cls)]

    def kinds(self) -> list[str]:
        """The kinds in order (``["started", "phase", ...]``)."""
        return [e.kind for e in self]


class Reporter:
    """What an operation reports through: binds the operation's name and run id to a sink.

    ``min_interval`` thins progress events (a 1 GiB stream would otherwise send thousands): one per
    interval per phase, plus always the first and the last (``done == total``).
    """

    def __init__(
        self,
        op: str,
        sink: EventSink | None = None,
        *,
        op_id: str | None = None,
        clock: Callable[[], float] = time.time,
        min_interval: float = 0.0,
    ) -> None:
        self.op = op
        self.op_id = op_id or new_op_id(op, clock())
        self._sink = sink
        self._clock = clock
        self._min_interval = min_interval
        self._phase = ""
        self._last_progress: dict[str, float] = {}

    @property
    def current_phase(self) -> str:
        """The name of the last phase reported ("" before the first)."""
        return self._phase

    def emit(self, cls: type[Event], **fields: Any) -> None:
        """Send one event of ``cls`` with ``fields`` (no-op without a sink)."""
        if self._sink is not None:
            self._sink(cls(op=self.op, op_id=self.op_id, at=self._clock(), **fields))

    def started(self, params: Mapping[str, Any] | None = None) -> None:
        """The operation starts (``params``: what it was asked, secrets masked)."""
        self.emit(Started, params=dict(params or {}))

    def phase(self, name: str, detail: str = "") -> None:
        """A new step begins."""
        self._phase = name
        self.emit(Phase, name=name, detail=detail)

    def progress(
        self,
        done: int,
        total: int | None = None,
        *,
        unit: str = "bytes",
        estimate: bool = False,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """``done`` of ``total`` in the current phase (thinned by ``min_interval``); ``detail``: rates and
        the like for the front end (see :class:`Progress`)."""
        now = self._clock()
        last = self._last_progress.get(self._phase)
        final = total is not None and done >= total
        if last is not None and not final and now - last < self._min_interval:
            return
        self._last_progress[self._phase] = now
        extra = {"detail": dict(detail)} if detail else {}
        self.emit(Progress, phase=self._phase, done=done, total=total, unit=unit, estimate=estimate, **extra)

    def log(self, message: str, level: str = "info") -> None:
        """A journal line."""
        self.emit(Log, message=message, level=level)

    def warning(self, message: str) -> None:
        """Something the operator should read."""
        self.emit(Warn, message=message)

    def finished(self, result: Any = None) -> None:
        """The operation completed with ``result``."""
        self.emit(Finished, result=result)

    def failed(self, error: RedisOpsError | BaseException) -> None:
        """The operation stopped with ``error`` (a foreign exception is described, not exposed)."""
        if isinstance(error, RedisOpsError):
            data = error.to_dict()
        elif isinstance(error, KeyboardInterrupt):
            data = {"error": "Interrupted", "message": "interrupted", "exit_code": 130}
        else:
            data = {"error": "InternalError", "message": f"{type(error).__name__}: {error}", "exit_code": 1}
        self.emit(Failed, error=data)

    @contextmanager
    def running(self, params: Mapping[str, Any] | None = None) -> Iterator[Reporter]:
        """``started`` now, ``failed`` if the block raises (re-raised); the block reports ``finished``."""
        self.started(params)
        try:
            yield self
        except BaseException as e:
            self.failed(e)
            raise
