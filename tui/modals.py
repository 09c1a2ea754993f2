"""Modal screens: help (the key table), a mutating action's plan, and the typed-name confirmation."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Static

__all__ = ["ConfirmScreen", "HelpScreen", "PlanScreen", "TypedNameScreen", "step_lines"]

_CSS = """
{cls} {{ align: center middle; }}
{cls} > Vertical {{ width: 76; max-width: 100%; height: auto; max-height: 100%; border: thick $primary;
    background: $surface; padding: 0 1; }}
{cls} Horizontal {{ height: auto; align-horizontal: right; }}
{cls} Button {{ margin: 0 1; min-width: 10; }}
"""


def step_lines(steps: Sequence[str]) -> list[str]:
    """A plan's steps for the modal: numbered ``1.``, ``2.`` ..., unless the plan already structures
    them (a step starting with a number or indented under another, as ``restore.apply``'s): then as
    given, like the CLI prints them, never numbered twice."""
    steps = [str(s) for s in steps]
    if any(s[:1].isspace() or re.match(r"\d+\.\s", s) for s in steps):
        return steps
    return [f"{i}. {s}" for i, s in enumerate(steps, start=1)]


class HelpScreen(ModalScreen[None]):
    """Every key: global ones and the current screen's (the same table feeds the command palette)."""

    BINDINGS: ClassVar[list[Any]] = [("escape", "dismiss", "close"), ("question_mark", "dismiss", "close")]
    DEFAULT_CSS = _CSS.format(cls="HelpScreen") + "HelpScreen DataTable { height: auto; max-height: 18; }"

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Keys (esc closes)", style="bold"))
            table: DataTable[Any] = DataTable(id="help-table", cursor_type="row")
            table.add_columns("key", "where", "what")
            for row in self.rows:
                table.add_row(*row)
            yield table

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class PlanScreen(ModalScreen[bool]):
    """A mutating action's plan: steps, warnings, blockers; Run is disabled when the plan is blocked."""

    BINDINGS: ClassVar[list[Any]] = [("escape", "cancel", "cancel")]
    DEFAULT_CSS = _CSS.format(cls="PlanScreen") + "PlanScreen #plan-body { height: auto; max-height: 16; }"

    def __init__(self, plan: Mapping[str, Any]) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        p = self.plan
        body = Text()
        body.append(f"Plan of {p.get('op')}\n", style="bold")
        for line in step_lines(p.get("steps", ())):
            body.append(f"{line}\n")
        for w in p.get("warnings", ()):
            body.append(f"warning: {w}\n", style="bold dark_orange")
        for b in p.get("blockers", ()):
            body.append(f"blocked: {b}\n", style="bold red")
        with Vertical():
            yield Static(body, id="plan-body")
            with Horizontal():
                yield Button("Run", id="plan-run", variant="primary", disabled=bool(p.get("blockers")))
                yield Button("Cancel", id="plan-cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "plan-run")

    def action_cancel(self) -> None:
        self.dismiss(False)


class TypedNameScreen(ModalScreen[bool]):
    """A destructive action goes ahead only once the target's name is typed exactly."""

    BINDINGS: ClassVar[list[Any]] = [("escape", "cancel", "cancel")]
    DEFAULT_CSS = _CSS.format(cls="TypedNameScreen")

    def __init__(self, what: str, name: str, consequence: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.name_required = name
        self.consequence = consequence or "This replaces the data of the target. "

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    (f"{self.what}\n", "bold red"),
                    f"{self.consequence}Type its name, ",
                    (self.name_required, "bold"),
                    ", to go ahead.",
                )
            )
            yield Input(placeholder=self.name_required, id="typed-name")
            with Horizontal():
                yield Button("Confirm", id="typed-ok", variant="error", disabled=True)
                yield Button("Cancel", id="typed-cancel")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#typed-ok", Button).disabled = event.value != self.name_required

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.name_required:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "typed-ok" and self.query_one(Input).value == self.name_required)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question (a runbook step's confirmation, the offer to undo a failed run)."""

    BINDINGS: ClassVar[list[Any]] = [
        ("escape", "cancel", "cancel"),
        ("y", "yes", "yes"),
        ("n", "cancel", "no"),
    ]
    DEFAULT_CSS = _CSS.format(cls="ConfirmScreen")

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble((f"{self.title_text}\n", "bold"), self.question), id="confirm-text")
            with Horizontal():
                yield Button("Yes", id="confirm-yes", variant="primary")
                yield Button("No", id="confirm-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
