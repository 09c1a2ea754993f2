"""Runbooks: the list (``redisops.runbooks.list_runbooks``), the selected one rendered (Markdown), a run
step by step with its live output (the executor's events), confirmations as modals (a destructive step
goes ahead only once the runbook target's name is typed), the offer to undo a failed run, and the report
at the end.

The runbook runs against the target its front matter names (as ``redisops runbook run`` does). A run's
result (status, steps, the report's text) is kept as a ``runbook.run`` snapshot, so a recording replays it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Log, Markdown, Static

from redisops.cancel import CancelToken
from redisops.events import Event, EventSink, Phase, Warn
from redisops.events import Log as LogEvent
from redisops.runbooks import RunbookEntry, list_runbooks
from redisops.runbooks import run as run_runbook
from tui.actions import ActionDone
from tui.modals import ConfirmScreen, TypedNameScreen
from tui.snapshot import Snapshot
from tui.state import SessionState
from tui.views.base import KeySpec, View, utc

__all__ = ["RunbooksView", "body_of", "list_width", "result_dict"]


def body_of(text: str) -> str:
    """A runbook's Markdown without its YAML front matter."""
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            return text[end + 4 :].lstrip("\n")
    return text


def result_dict(name: str, result: Any) -> dict[str, Any]:
    """A :class:`~redisops.runbooks.executor.RunResult` as the JSON the screen shows (and records): status,
    exit code, every step's outcome (no output tails: they are in the report), undone steps, the report."""
    report = result.report
    return {
        "runbook": name,
        "run_id": result.run_id,
        "status": result.status,
        "exit_code": result.exit_code,
        "steps": [
            {k: s.to_dict()[k] for k in ("name", "kind", "status", "exit_code", "message", "seconds")}
            for s in result.steps
        ],
        "undone": list(result.undone),
        "error": result.error,
        "report_path": str(report) if report else None,
        "report": report.read_text(errors="replace") if report is not None and report.is_file() else "",
    }


def list_width(names: Iterable[str]) -> int:
    """The runbook list's width: the longest name whole (cell padding and the scrollbar beside it), 16 to
    34 columns, so the document keeps most of an 80-column terminal."""
    longest = max((len(n) for n in names), default=0)
    return min(max(longest + 4, 16), 34)


class RunbooksView(View):
    """The runbooks and their runs."""

    NAME = "runbooks"
    TITLE = "Runbooks"
    ALIASES: ClassVar[tuple[str, ...]] = ("rb", "runbook", "run")
    PROBES: ClassVar[frozenset[str]] = frozenset({"runbook.run"})
    RESULTS: ClassVar[frozenset[str]] = frozenset({"runbook.run"})
    KEYS: ClassVar[tuple[KeySpec, ...]] = (
        KeySpec("r", "run", "run the selected runbook step by step (confirmations ask)", True, True),
        KeySpec("t", "switch", "show the runbook or the last run's report"),
    )
    BINDINGS: ClassVar[list[Any]] = [("r", "run", "run"), ("t", "switch", "report/runbook")]

    DEFAULT_CSS = """
    RunbooksView #runbooks-body { height: 1fr; }
    RunbooksView #runbooks-table { width: 26; }
    RunbooksView #runbooks-right { width: 1fr; }
    RunbooksView #runbooks-head { height: 1; }
    RunbooksView #runbooks-doc { height: 1fr; }
    RunbooksView #runbooks-log { height: 7; border-top: solid $primary; }
    """

    _entries: list[RunbookEntry]
    _shown: tuple[str, str] = ("", "")  # (runbook name, "doc" | "report")

    def compose(self) -> ComposeResult:
        with Horizontal(id="runbooks-body"):
            table: DataTable[Any] = DataTable(id="runbooks-table", cursor_type="row")
            table.add_columns("runbook")
            yield table
            with Vertical(id="runbooks-right"):
                yield Static(id="runbooks-head")
                yield Markdown(id="runbooks-doc")
                yield Log(id="runbooks-log", max_lines=500)

    def on_mount(self) -> None:
        given = [RunbookEntry(p.stem, p, "given", p.stem) for p in self.rapp.extra_runbooks]
        names = {e.name for e in given}
        found = list_runbooks() if self.rapp.find_runbooks else []
        self._entries = given + [e for e in found if e.name not in names]
        self.query_one("#runbooks-table", DataTable).styles.width = list_width(e.name for e in self._entries)

    def focus_target(self) -> Widget | None:
        return self.query_one("#runbooks-table", DataTable)

    def selected(self) -> RunbookEntry | None:
        """The highlighted runbook."""
        table = self.query_one("#runbooks-table", DataTable)
        shown = self._visible()
        if shown and 0 <= table.cursor_row < len(shown):
            return shown[table.cursor_row]
        return None

    def _visible(self) -> list[RunbookEntry]:
        return [e for e in getattr(self, "_entries", []) if self.matches(e.name, e.title)]

    # --- drawing -------------------------------------------------------------------------------------

    def update_view(self, state: SessionState) -> None:
        table = self.query_one("#runbooks-table", DataTable)
        names = [e.name for e in self._visible()]
        if names != getattr(self, "_rows", None):
            keep = table.cursor_row
            table.clear()
            for n in names:
                table.add_row(n)
            self._rows = names
            if names:
                table.move_cursor(row=min(max(keep, 0), len(names) - 1))
        self._show(state)

    def _show(self, state: SessionState, mode: str | None = None) -> None:
        entry = self.selected()
        snap = state.latest.get("runbook.run")
        if mode is None:
            mode = self._shown[1] or "doc"
        if mode == "report" and (snap is None or not snap.ok):
            mode = "doc"
        head = Text()
        if snap is not None and snap.ok:
            d = snap.data
            style = "bold green" if d.get("status") == "ok" else "bold red"
            head.append(f"last run {utc(snap.at)}: {d.get('runbook')} ", style="bold")
            head.append(f"{d.get('status')} (exit {d.get('exit_code')})", style=style)
        elif snap is not None:
            head.append(f"last run failed: {snap.error}", style="bold red")
        elif entry is not None:
            head.append(f"{entry.name}: ", style="bold")
            head.append("r runs it" if self.check_key("run") else entry.title)
        self.query_one("#runbooks-head", Static).update(head)
        if mode == "report" and snap is not None and snap.ok:
            key = (str(snap.data.get("run_id")), "report")
            text = str(snap.data.get("report") or "") or self._steps_markdown(snap)
        elif entry is not None:
            key = (entry.name, "doc")
            try:
                text = body_of(Path(entry.path).read_text(errors="replace"))
            except OSError as e:
                text = f"cannot read {entry.path}: {e}"
        else:
            key, text = ("", "doc"), "no runbooks found (./runbooks or the packaged ones)"
        if key != self._shown:
            self._shown = key
            self.query_one("#runbooks-doc", Markdown).update(text)

    @staticmethod
    def _steps_markdown(snap: Snapshot) -> str:
        rows = [
            f"- **{s.get('name')}** ({s.get('kind')}): {s.get('status')}" for s in snap.data.get("steps", ())
        ]
        return f"# {snap.data.get('runbook')}: {snap.data.get('status')}\n\n" + "\n".join(rows)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "runbooks-table":
            self._shown = ("", "")
            self._show(self.rapp.state, "doc")

    def action_switch(self) -> None:
        mode = "doc" if self._shown[1] == "report" else "report"
        if mode == "report" and "runbook.run" not in self.rapp.state.latest:
            self.rapp.notify("no run yet: r runs the selected runbook")
            return
        self._show(self.rapp.state, mode)

    # --- running -------------------------------------------------------------------------------------

    def action_run(self) -> None:
        entry = self.selected()
        if entry is None:
            self.rapp.notify("no runbook selected", severity="warning")
            return
        if self.rapp.read_only:
            self.rapp.notify("runbooks change things: refused in read-only mode", severity="error")
            return
        log = self.query_one("#runbooks-log", Log)
        log.clear()
        log.write_line(f"run {entry.name} ({entry.path})")

        def call(sink: EventSink, token: CancelToken) -> Any:
            result = run_runbook(
                entry.path,
                on_event=sink,
                cancel=token,
                confirm=lambda step, question: (
                    self._ask(ConfirmScreen(f"step {step.name} ({step.kind})", question), token) is True
                ),
                type_target=lambda step, name: (
                    name
                    if self._ask(
                        TypedNameScreen(
                            f"step {step.name} is destructive", name, "The step changes or deletes data. "
                        ),
                        token,
                    )
                    is True
                    else ""
                ),
                offer_undo=lambda steps: (
                    self._ask(
                        ConfirmScreen(
                            "the run failed", "run the undo steps (" + ", ".join(s.name for s in steps) + ")?"
                        ),
                        token,
                    )
                    is True
                ),
            )
            return result_dict(entry.name, result)

        self.rapp.start_action("runbook.run", {"runbook": entry.name}, call=call)

    def _ask(self, screen: ModalScreen[bool], token: CancelToken) -> bool | None:
        """Show ``screen`` from the run's worker thread and wait for the answer (None when cancelled)."""
        answered = threading.Event()
        box: dict[str, bool | None] = {}

        def done(value: bool | None) -> None:
            box["value"] = value
            answered.set()

        self.app.call_from_thread(self.app.push_screen, screen, done)
        while not answered.wait(0.1):
            if token.cancelled:
                with contextlib.suppress(Exception):  # the app is closing: nothing to dismiss
                    self.app.call_from_thread(screen.dismiss, False)
                return None
        return box.get("value")

    def action_event(self, op: str, event: Event) -> None:
        """The run's step phases, results and shell output, as they happen."""
        if not (self.rapp.runner.current and self.rapp.runner.current[1] == "runbook.run"):
            return
        log = self.query_one("#runbooks-log", Log)
        if isinstance(event, Phase) and event.op == "runbook.run":
            log.write_line(f"> {event.name}: {event.detail}")
        elif isinstance(event, LogEvent) and event.op == "runbook.run":
            log.write_lines(event.message.splitlines())
        elif isinstance(event, Warn):
            log.write_line(f"warning: {event.message}")

    def action_done(self, message: ActionDone) -> None:
        if message.op != "runbook.run":
            return
        log = self.query_one("#runbooks-log", Log)
        if message.error is not None:
            log.write_line(f"run failed: {message.error.get('message')}")
            return
        r = message.result or {}
        for s in r.get("steps", ()):
            log.write_line(f"{s.get('status'):<10} {s.get('name')} ({s.get('kind')})")
        log.write_line(f"{r.get('status')} (exit {r.get('exit_code')}); report {r.get('report_path')}")
        self._shown = ("", "report")  # the result's snapshot (posted just before) shows the report
