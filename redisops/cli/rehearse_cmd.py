"""``redisops rehearse``: the main job on the local sandbox."""

from __future__ import annotations

import typer
from rich.table import Table

from redisops.cli.common import ConfigOpt, Output, OutputOpt, StateDirOpt, console, emit, error_boundary
from redisops.cli.common import progress_printer as _progress


def rehearse(
    config: ConfigOpt = None, state_dir: StateDirOpt = None, output: OutputOpt = Output.text
) -> None:
    """Start the sandbox and rehearse the toolkit on it, step by step (exit 1 when a step fails)."""
    from redisops.config import load_config
    from redisops.ops.rehearsal import rehearse as run

    with error_boundary(output):
        report = run(state_dir, config=load_config(config), progress=_progress(output))

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
