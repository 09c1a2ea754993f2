"""Slowlog: every entry seen this session (beyond the server's 128-entry ring), sortable, filterable,
grouped by command shape, with the selected entry's details."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.state import SessionState, SlowEntry
from tui.views.base import KeySpec, View, utc

__all__ = ["SlowlogView"]

_SORTS = ("newest", "slowest", "command")


class SlowlogView(View):
    """The session's slow log; ``g`` groups by command shape, ``s`` changes the sort."""

    NAME = "slowlog"
    TITLE = "Slowlog"
    ALIASES: ClassVar[tuple[str, ...]] = ("slow", "sl")
    PROBES: ClassVar[frozenset[str]] = frozenset({"slowlog"})
    KEYS: ClassVar[tuple[KeySpec, ...]] = (
        KeySpec("g", "toggle_group", "group by command shape / every entry"),
        KeySpec("s", "cycle_sort", "sort: newest, slowest, command"),
    )
    BINDINGS: ClassVar[list[Any]] = [("g", "toggle_group", "group"), ("s", "cycle_sort", "sort")]

    DEFAULT_CSS = """
    SlowlogView #slow-head { height: 1; }
    SlowlogView #slow-table { height: 1fr; }
    SlowlogView #slow-detail { height: 3; border-top: solid $primary; }
    """

    grouped = False
    sort = "newest"

    def compose(self) -> ComposeResult:
        yield Static(id="slow-head")
        yield DataTable(id="slow-table", cursor_type="row")
        yield Static(id="slow-detail")

    def on_mount(self) -> None:
        self._columns()

    def focus_target(self) -> Widget | None:
        return self.query_one("#slow-table", DataTable)

    def _columns(self) -> None:
        table = self.query_one("#slow-table", DataTable)
        table.clear(columns=True)
        if self.grouped:
            table.add_columns("command", "count", "total ms", "max ms")
        else:
            table.add_columns("id", "time", "ms", "command", "client")

    def action_toggle_group(self) -> None:
        self.grouped = not self.grouped
        self._columns()
        self.update_view(self.rapp.state)

    def action_cycle_sort(self) -> None:
        self.sort = _SORTS[(_SORTS.index(self.sort) + 1) % len(_SORTS)]
        self.update_view(self.rapp.state)

    def _sorted(self, entries: list[SlowEntry]) -> list[SlowEntry]:
        if self.sort == "slowest":
            return sorted(entries, key=lambda e: (-e.duration_us, -e.id))
        if self.sort == "command":
            return sorted(entries, key=lambda e: (e.shape, -e.id))
        return entries

    def update_view(self, state: SessionState) -> None:
        hist = state.slowlog
        table = self.query_one("#slow-table", DataTable)
        table.clear()
        self._rows: list[SlowEntry] = []
        if self.grouped:
            groups = [g for g in hist.by_shape() if self.matches(g["shape"])]
            if self.sort == "command":
                groups.sort(key=lambda g: g["shape"])
            elif self.sort == "slowest":
                groups.sort(key=lambda g: -g["max_us"])
            for g in groups:
                table.add_row(
                    g["shape"], g["count"], f"{g['total_us'] / 1000:.2f}", f"{g['max_us'] / 1000:.2f}"
                )
        else:
            for e in self._sorted(hist.entries()):
                if not self.matches(" ".join(e.argv), e.client):
                    continue
                self._rows.append(e)
                cmd = " ".join(e.argv)
                table.add_row(e.id, utc(e.started_at), f"{e.duration_us / 1000:.2f}", cmd[:60], e.client)
        mode = "grouped by command" if self.grouped else "entries"
        resets = f", {hist.resets} server resets" if hist.resets else ""
        self.query_one("#slow-head", Static).update(
            f"{len(hist)} entries this session{resets}; {mode}, sorted by {self.sort}"
            + (f", filter '{self.filter_text}'" if self.filter_text else "")
        )
        self._detail()

    def _detail(self) -> None:
        table = self.query_one("#slow-table", DataTable)
        text = ""
        rows = getattr(self, "_rows", [])
        if not self.grouped and rows and 0 <= table.cursor_row < len(rows):
            e = rows[table.cursor_row]
            text = f"#{e.id} {e.duration_us} µs from {e.client or '?'}\n{' '.join(e.argv)[:300]}"
        self.query_one("#slow-detail", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()
