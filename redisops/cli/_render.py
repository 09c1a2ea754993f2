"""Text rendering shared by the inspection commands: values with units, and the health report.

The health report's default view is one line per check (status, check, value with units, a note cut to
the terminal's width) and, below it, the full hint of every warning and critical check, so it fits 80
columns; ``--details`` adds each check's threshold, its source and the full notes, wrapped on words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from redisops.cli.common import console
from redisops.ops.api_inspect import human_bytes, human_value, value_text

if TYPE_CHECKING:
    from redisops.ops.api_inspect import CheckResult, HealthReport

__all__ = ["STATUS_STYLE", "fmt", "human_bytes", "indented", "print_health"]

STATUS_STYLE = {"ok": "green", "warn": "yellow", "crit": "bold red", "unknown": "dim"}


def fmt(value: Any) -> str:
    """A value for a table cell: numbers to 4 significant digits, never a Python repr."""
    return human_value(value)


def _note(c: CheckResult) -> str:
    """The hint (and reason) of a check as one text; the reason alone for ``unknown``."""
    if c.status.value == "unknown":
        return c.reason or ""
    if c.reason and c.hint:
        return f"{c.hint} ({c.reason})"
    return c.hint or c.reason or ""


def _summary(report: HealthReport, strict: bool) -> Text:
    overall = report.overall.value
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
    return Text.assemble(
        "overall: ", (overall, STATUS_STYLE[overall]), f" ({counts}; exit {report.exit_code(strict)})"
    )


def _print_compact(report: HealthReport) -> None:
    rows = [(c, value_text(c), _note(c)) for c in report.checks]
    check_w = min(max((len(c.name) for c, _, _ in rows), default=5), 24)
    value_w = min(max((len(v) for _, v, _ in rows), default=5), 28)
    check_w, value_w = max(check_w, 5), max(value_w, 5)
    # 7 for the status, 2 between columns: the note gets the rest of the line
    note_w = max(console.width - (7 + check_w + value_w + 3 * 2), 10)
    table = Table(title=f"health of {report.target}", box=None, pad_edge=False, collapse_padding=True)
    table.add_column("status", no_wrap=True, width=7)
    table.add_column("check", no_wrap=True, overflow="ellipsis", width=check_w)
    table.add_column("value", no_wrap=True, overflow="ellipsis", width=value_w)
    table.add_column("note", no_wrap=True, overflow="ellipsis", width=note_w)
    for c, value, note in rows:
        table.add_row(Text(c.status.value, style=STATUS_STYLE[c.status.value]), c.name, value, note)
    console.print(table)
    problems = [c for c in report.checks if c.status.value in ("warn", "crit")]
    for c in sorted(problems, key=lambda c: -c.status.rank):
        console.print(Text.assemble((f"{c.status.value:<7}", STATUS_STYLE[c.status.value]), " ", c.name))
        console.print(indented(_note(c)))


def indented(text: str | Text, indent: int = 8) -> Padding:
    """``text`` wrapped on words with every line indented (continuation lines too)."""
    return Padding(text if isinstance(text, Text) else Text(text), (0, 0, 0, indent))


def _print_details(report: HealthReport) -> None:
    console.print(Text(f"health of {report.target}", style="bold"))
    for c in report.checks:
        style = STATUS_STYLE[c.status.value]
        console.print(
            Text.assemble((f"{c.status.value:<7}", style), " ", (c.name, "bold"), f"  {value_text(c)}")
        )
        if c.threshold:
            source = f" (source: {c.source})" if c.source else ""
            console.print(indented(f"threshold: {c.threshold}{source}"))
        elif c.source:
            console.print(indented(f"source: {c.source}"))
        if c.hint:
            console.print(indented(f"hint: {c.hint}"))
        if c.reason:
            console.print(indented(f"reason: {c.reason}"))


def print_health(report: HealthReport, strict: bool, details: bool = False) -> None:
    """The health report for people: compact by default (fits 80 columns), every field with ``details``."""
    if details:
        _print_details(report)
    else:
        _print_compact(report)
    console.print(_summary(report, strict))
    if not details:
        console.print("--details shows thresholds, sources and full notes", style="dim")
