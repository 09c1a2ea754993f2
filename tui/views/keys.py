"""Keys and memory: the throttled key analysis (``keys.analyze``) with progress; the biggest keys and
memory by prefix of its last result (recorded, so a replay shows it too)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.state import SessionState
from tui.views.base import KeySpec, View, human_bytes, utc

__all__ = ["KeysView"]


class KeysView(View):
    """Biggest keys per type and memory by prefix; ``a`` analyses the keyspace again."""

    NAME = "keys"
    TITLE = "Keys & memory"
    ALIASES: ClassVar[tuple[str, ...]] = ("k", "memory", "mem")
    PROBES: ClassVar[frozenset[str]] = frozenset({"keys"})
    KEYS: ClassVar[tuple[KeySpec, ...]] = (
        KeySpec("a", "analyze", "analyze the keyspace (throttled SCAN, read-only)", live=True),
    )
    BINDINGS: ClassVar[list[Any]] = [(k.key, k.action, "analyze") for k in KEYS]

    DEFAULT_CSS = """
    KeysView #keys-head { height: 2; }
    KeysView #keys-tables { height: 1fr; }
    KeysView #keys-top { width: 3fr; }
    KeysView #keys-prefixes { width: 2fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="keys-head")
        with Horizontal(id="keys-tables"):
            top: DataTable[Any] = DataTable(id="keys-top", cursor_type="row")
            top.add_columns("key", "type", "memory", "length")
            yield top
            pre: DataTable[Any] = DataTable(id="keys-prefixes", cursor_type="row")
            pre.add_columns("prefix", "keys", "memory")
            yield pre

    def focus_target(self) -> Widget | None:
        return self.query_one("#keys-top", DataTable)

    def action_analyze(self) -> None:
        self.rapp.start_action("keys.analyze", {"top": 20})

    def update_view(self, state: SessionState) -> None:
        snap = state.latest.get("keys")
        top = self.query_one("#keys-top", DataTable)
        pre = self.query_one("#keys-prefixes", DataTable)
        top.clear()
        pre.clear()
        head = self.query_one("#keys-head", Static)
        if snap is None:
            hint = "press a to analyze the keyspace" if self.rapp.source.live else "no key analysis recorded"
            head.update(f"no key analysis yet: {hint}")
            return
        if not snap.ok:
            head.update(f"key analysis failed: {snap.error}\n{snap.hint or ''}")
            return
        d = snap.data
        types = d.get("types", {})
        summary = ", ".join(
            f"{t} {v.get('keys', 0)} ({human_bytes(v.get('memory_bytes'))})" for t, v in types.items()
        )
        state_word = "complete" if d.get("done") else f"partial (cursor {d.get('cursor')})"
        scanned = d.get("scanned", 0)
        head.update(f"analysis {utc(snap.at)}: {scanned} keys scanned, {state_word}\n{summary or 'no keys'}")
        rows: list[dict[str, Any]] = [k for keys in d.get("top", {}).values() for k in keys]
        rows.sort(key=lambda k: (-int(k.get("memory_bytes") or 0), str(k.get("key"))))
        for k in rows:
            if self.matches(k.get("key"), k.get("type")):
                top.add_row(
                    str(k.get("key"))[:50], k.get("type"), human_bytes(k.get("memory_bytes")), k.get("length")
                )
        for p in d.get("prefixes", ()):
            if self.matches(p.get("prefix")):
                pre.add_row(p.get("prefix"), p.get("keys"), human_bytes(p.get("memory_bytes")))
