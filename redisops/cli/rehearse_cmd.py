"""``redisops rehearse``: the main job on the local sandbox (``rehearsal.run``): its own checks, then the
runbooks it runs (``migrate-elasticache-to-k8s`` first), each step a row, each runbook's report named."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from redisops.cli import _oprun
from redisops.cli.common import ConfigOpt, Output, OutputOpt, StateDirOpt, console, emit, error_boundary
from redisops.cli.options import build_target

if TYPE_CHECKING:
    from redisops.ops.api_sandbox import RehearsalReport


def rehearse(
    config: ConfigOpt = None, state_dir: StateDirOpt = None, output: OutputOpt = Output.text
) -> None:
    """Start the sandbox and rehearse the toolkit on it, step by step (exit 1 when any step fails).

    Exit codes: 0 every step passed; 1 a step failed, one of the rehearsal's own checks or a runbook's
    step (that runbook's own exit code, 30-35, is on its "runbook NAME" line and in -o json's
    "runbooks"); an error before the steps (the sandbox did not start) exits with its own code
    (docs/errors.md).
    """
    with error_boundary(output), build_target(config=config, state_dir=state_dir) as target:
        report: RehearsalReport = _oprun.run(target, "rehearsal.run", {}, output, label="rehearse")

        def text() -> None:
            table = Table(title="redisops rehearsal on the local sandbox")
            for col in ("step", "result", "detail", "time"):
                table.add_column(col)
            for s in report.steps:
                skipped = s.facts.get("status") == "skipped"
                mark = (
                    "[dim]skipped[/dim]" if skipped else "[green]ok[/green]" if s.ok else "[red]FAILED[/red]"
                )
                table.add_row(s.name, mark, s.detail, f"{s.seconds:.2f}s")
            console.print(table)
            for book in report.runbooks:
                state = "ok" if book["exit_code"] == 0 else f"{book['status']} (exit {book['exit_code']})"
                console.print(f"runbook {book['name']}: {state} - report {book['report']}")
            console.print(
                "[green]rehearsal passed[/green]" if report.ok else "[red]rehearsal failed[/red]",
                "- the sandbox stays up: redisops sandbox status | redisops sandbox down",
            )

        doc = {"ok": report.ok, "steps": report.steps, "runbooks": report.runbooks, "sandbox": report.sandbox}
        emit(output, doc, text)
        if not report.ok:
            raise typer.Exit(1)
