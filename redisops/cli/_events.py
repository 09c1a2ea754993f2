"""The CLI's rendering of the event stream (:mod:`redisops.events`) and its Ctrl-C handling.

Every command that runs a catalogue operation does::

    with op_events(output, "backup create") as ev:
        result = target.run("backup.create", params, on_event=ev.sink, cancel=ev.cancel)

For text output the sink draws on stderr: one line per phase, a progress bar per phase (bytes as
MiB with rate and ETA, other units as counts; a total that is an estimate is labelled "~ ... (estimate)"),
warnings in yellow, info log lines dim (debug lines are not shown). For ``-o json`` it draws nothing:
stdout carries only the command's JSON.

While the block runs, the first Ctrl-C cancels ``ev.cancel`` ("interrupted"): the operation stops at
its next check, cleans up and raises :class:`~redisops.errors.Interrupted`, which the error boundary
prints (exit 130). A second Ctrl-C raises :class:`KeyboardInterrupt` at once, as without the handler.
An operation that never checks the token and returns anyway is reported as interrupted on leaving
the block.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from rich.text import Text

from redisops.cancel import CancelToken
from redisops.cli.common import Output, err_console
from redisops.events import Event, EventSink, Log, Phase, Progress, Warn

__all__ = ["EventView", "TextEvents", "interrupt_cancels", "op_events"]


def _silent(_event: Event) -> None:
    """The sink of ``-o json``: stdout is the command's JSON, stderr stays quiet."""


class TextEvents:
    """An :data:`~redisops.events.EventSink` drawing events on stderr for people (see the module doc).

    ``label`` prefixes the phase lines (``"backup create: streaming"``). Call :meth:`close` at the end
    (``op_events`` does) to take the last progress bar off the screen.
    """

    def __init__(self, label: str = "", *, console: Any = None) -> None:
        self.label = label
        self.console = console or err_console
        self._bar: Any = None
        self._task: Any = None
        self._key: tuple[str, str, bool] | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._progress(event)
        elif isinstance(event, Phase):
            self.close()
            head = f"{self.label}: " if self.label else ""
            detail = f" ({event.detail})" if event.detail else ""
            self._print(Text(f"{head}{event.name}{detail}", style="dim"))
        elif isinstance(event, Warn):
            self._print(Text.assemble(("warning: ", "yellow"), (event.message, "yellow")))
        elif isinstance(event, Log) and event.level != "debug":
            self._print(Text(event.message, style="dim"))

    def _print(self, text: Text) -> None:
        out = self._bar.console if self._bar is not None else self.console
        out.print(text, soft_wrap=True)

    def _description(self, p: Progress) -> str:
        head = f"{self.label}: " if self.label else ""
        text = f"{head}{p.phase or 'working'}" + (" (estimate)" if p.estimate and p.total else "")
        return text + _rates(p.detail)

    def _progress(self, p: Progress) -> None:
        key = (p.phase, p.unit, p.estimate)
        if self._bar is None or key != self._key:
            self.close()
            self._open(p)
            self._key = key
        total = p.total if p.total else None
        self._bar.update(self._task, completed=p.done, total=total, description=self._description(p))

    def _open(self, p: Progress) -> None:
        # imported on the first progress event only: a JSON run never loads rich.progress
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as Bar

        approx = "~" if p.estimate else ""
        columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn()]
        if p.unit == "bytes":
            columns += [TextColumn(approx), DownloadColumn(binary_units=True), TransferSpeedColumn()]
        else:
            columns += [MofNCompleteColumn(), TextColumn(f"{approx}{p.unit}")]
        columns.append(TimeRemainingColumn())
        self._bar = Bar(*columns, console=self.console, transient=True)
        self._bar.start()
        self._task = self._bar.add_task(self._description(p), total=p.total or None)

    def close(self) -> None:
        """Stop and remove the current progress bar (idempotent)."""
        if self._bar is not None:
            self._bar.stop()
        self._bar = self._task = self._key = None


@dataclasses.dataclass(frozen=True)
class EventView:
    """What a command passes to ``Target.run``: ``on_event=view.sink, cancel=view.cancel``."""

    sink: EventSink
    cancel: CancelToken


@contextmanager
def interrupt_cancels(token: CancelToken) -> Iterator[CancelToken]:
    """While the block runs, the first SIGINT cancels ``token`` ("interrupted"); the second raises
    :class:`KeyboardInterrupt`. The previous handler is restored afterwards. Outside the main thread
    (where signals cannot be handled) nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield token
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel("interrupted")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def op_events(output: Output, label: str = "", *, cancel: CancelToken | None = None) -> Iterator[EventView]:
    """The event sink for ``output`` (drawn on stderr for text, silent for JSON) and a cancel token
    that the first Ctrl-C cancels. Leaving the block cancelled (an operation that did not check) raises
    :class:`~redisops.errors.Interrupted`."""
    token = cancel or CancelToken()
    view = TextEvents(label) if output is Output.text else None
    with interrupt_cancels(token):
        try:
            yield EventView(view if view is not None else _silent, token)
        finally:
            if view is not None:
                view.close()
        token.check("before the command finished")


def _rates(detail: Any) -> str:
    """What a progress event's ``detail`` adds beside the bar: `` 12,400 keys/s 21.9 MB/s``."""
    if not detail:
        return ""
    parts = []
    keys = detail.get("keys_per_second")
    if isinstance(keys, (int, float)):
        parts.append(f"{keys:,.0f} keys/s")
    mb = detail.get("mb_per_second")
    if isinstance(mb, (int, float)):
        parts.append(f"{mb:.1f} MB/s")
    return (" " + " ".join(parts)) if parts else ""
