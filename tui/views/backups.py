"""Backups: the store's backups with age, size and verification; create (planned first, with
progress), verify the selected one, restore it behind a modal that requires typing the target's name."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.state import SessionState
from tui.views.base import KeySpec, View, age, human_bytes, parse_iso

__all__ = ["BackupsView"]


class BackupsView(View):
    """The backup list and its actions."""

    NAME = "backups"
    TITLE = "Backups"
    ALIASES: ClassVar[tuple[str, ...]] = ("b", "backup")
    PROBES: ClassVar[frozenset[str]] = frozenset({"backups"})
    KEYS: ClassVar[tuple[KeySpec, ...]] = (
        KeySpec("n", "create", "new backup (planned first)", mutating=True, live=True),
        KeySpec("v", "verify", "verify the selected backup (read-only)", live=True),
        KeySpec(
            "d", "drill", "drill: restore the selected backup into a scratch server", mutating=True, live=True
        ),
        KeySpec(
            "r", "restore", "restore the selected backup (type the target's name)", mutating=True, live=True
        ),
    )
    BINDINGS: ClassVar[list[Any]] = [
        ("n", "create", "new"),
        ("v", "verify", "verify"),
        ("d", "drill", "drill"),
        ("r", "restore", "restore"),
    ]

    DEFAULT_CSS = """
    BackupsView #backups-head { height: 1; }
    BackupsView #backups-table { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="backups-head")
        table: DataTable[Any] = DataTable(id="backups-table", cursor_type="row")
        table.add_columns("id", "age", "size", "kind", "purpose", "verified", "keys")
        yield table

    def focus_target(self) -> Widget | None:
        return self.query_one("#backups-table", DataTable)

    def selected(self) -> str | None:
        """The id of the highlighted backup."""
        table = self.query_one("#backups-table", DataTable)
        ids: list[str] = getattr(self, "_ids", [])
        if ids and 0 <= table.cursor_row < len(ids):
            return ids[table.cursor_row]
        return None

    def action_create(self) -> None:
        self.rapp.plan_then_run("backup.create", {})

    def action_verify(self) -> None:
        bid = self.selected()
        if bid is None:
            self.rapp.notify("no backup selected", severity="warning")
            return
        self.rapp.start_action("backup.verify", {"backup_id": bid})

    def action_drill(self) -> None:
        bid = self.selected()
        if bid is None:
            self.rapp.notify("no backup selected", severity="warning")
            return
        self.rapp.plan_then_run("backup.drill", {"backup_id": bid})

    def action_restore(self) -> None:
        bid = self.selected()
        if bid is None:
            self.rapp.notify("no backup selected", severity="warning")
            return
        self.rapp.plan_then_run("restore.apply", {"backup_id": bid, "force": True}, destructive=True)

    def update_view(self, state: SessionState) -> None:
        table = self.query_one("#backups-table", DataTable)
        keep = table.cursor_row
        table.clear()
        self._ids: list[str] = []
        snap = state.latest.get("backups")
        head = self.query_one("#backups-head", Static)
        if snap is None:
            head.update("backups: not listed yet")
            return
        if not snap.ok:
            head.update(f"backups: {snap.error}" + (f" ({snap.hint})" if snap.hint else ""))
            return
        backups = snap.data.get("backups", ())
        for b in backups:
            objects = b.get("objects", ())
            size = sum(int(o.get("size", 0)) for o in objects)
            verified = bool(objects) and all(o.get("verified") for o in objects)
            keys = sum(int(v.get("keys", 0)) for v in b.get("key_counts", {}).values())
            created = parse_iso(b.get("created_at"))
            if not self.matches(b.get("id"), b.get("kind"), b.get("purpose"), b.get("notes")):
                continue
            self._ids.append(str(b.get("id")))
            table.add_row(
                b.get("id"),
                age(snap.at - created) if created is not None else "-",
                human_bytes(size),
                b.get("kind"),
                b.get("purpose"),
                Text("yes", style="bold green") if verified else Text("no", style="bold red"),
                keys,
            )
        if self._ids:
            table.move_cursor(row=min(max(keep, 0), len(self._ids) - 1))
        where = f"source {snap.data.get('source', '?')}"
        head.update(
            f"{len(backups)} backups ({where})"
            + (f", filter '{self.filter_text}'" if self.filter_text else "")
        )
