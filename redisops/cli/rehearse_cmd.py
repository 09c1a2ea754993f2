"""``redisops rehearse``: the main job on the local sandbox (``rehearsal.run``)."""

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
    """Start the sandbox and rehearse the toolkit on it, step by step (exit 1 when a step fails)."""
    with error_boundary(output), build_target(config=config, state_dir=state_dir) as target:
        report: RehearsalReport = _oprun.run(target, "rehearsal.run", {}, output, label="rehearse")

        def text() -> None:
            table = Table(title="redisops rehearsal on the local sandbox")
            for col in ("step", "result", "detail", "time"):
                table.add_column(col)
            for s in report.steps:
                mark = "[green]ok[/green]" if s.ok else "[red]FAILED[/red]"
                table.add_row(s.name, mark, s.detail, f"{s.seconds:.2f}s")
            console.print(table)
            console.print(
                "[green]rehearsal passed[/green]" if report.ok else "[red]rehearsal failed[/red]",
                "- the sandbox stays up: redisops sandbox status | redisops sandbox down",
            )

        emit(output, {"ok": report.ok, "steps": report.steps, "sandbox": report.sandbox}, text)
        if not report.ok:
            raise typer.Exit(1)
