"""INFO: every field by section, searchable with ``/``, diffed against an earlier snapshot (``b`` takes
the baseline, ``c`` shows only the changed fields)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.state import SessionState, info_fields
from tui.views.base import KeySpec, View, utc

__all__ = ["InfoView"]


class InfoView(View):
    """INFO fields with the baseline's value next to the ones that changed."""

    NAME = "info"
    TITLE = "INFO"
    ALIASES: ClassVar[tuple[str, ...]] = ("i",)
    PROBES: ClassVar[frozenset[str]] = frozenset({"info"})
    KEYS: ClassVar[tuple[KeySpec, ...]] = (
        KeySpec("b", "baseline", "baseline: diff against the current INFO from now on"),
        KeySpec("c", "changed_only", "changed: only the fields that changed since the baseline"),
    )
    BINDINGS: ClassVar[list[Any]] = [("b", "baseline", "baseline"), ("c", "changed_only", "changed")]

    DEFAULT_CSS = """
    InfoView #info-head { height: 1; }
    InfoView #info-table { height: 1fr; }
    """

    changed_only = False

    def compose(self) -> ComposeResult:
        yield Static(id="info-head")
        table: DataTable[Any] = DataTable(id="info-table", cursor_type="row")
        table.add_columns("section", "field", "value", "baseline")
        yield table

    def focus_target(self) -> Widget | None:
        return self.query_one("#info-table", DataTable)

    def action_baseline(self) -> None:
        self.rapp.state.set_baseline()
        self.update_view(self.rapp.state)

    def action_changed_only(self) -> None:
        self.changed_only = not self.changed_only
        self.update_view(self.rapp.state)

    def update_view(self, state: SessionState) -> None:
        table = self.query_one("#info-table", DataTable)
        table.clear()
        snap = state.latest.get("info")
        head = self.query_one("#info-head", Static)
        if snap is None or not snap.ok:
            head.update("INFO: " + ("waiting" if snap is None else str(snap.error)))
            return
        fields = info_fields(snap.data.get("info", {}))
        diff = state.info_diff()
        sections: list[str] = []
        shown = 0
        for (section, name), value in fields.items():
            if section not in sections:
                sections.append(section)
            if self.changed_only and (section, name) not in diff:
                continue
            if not self.matches(section, name, value):
                continue
            was = diff.get((section, name))
            table.add_row(section, name, Text(value, style="bold") if was is not None else value, was or "")
            shown += 1
        base = state.info_baseline
        since = f"baseline {utc(base.at)}" if base is not None else "no baseline"
        head.update(
            f"{shown}/{len(fields)} fields, {len(sections)} sections, {len(diff)} changed ({since})"
            + (", changed only" if self.changed_only else "")
            + (f", filter '{self.filter_text}'" if self.filter_text else "")
        )
