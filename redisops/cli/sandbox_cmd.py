"""``redisops sandbox up | status | down``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from redisops.cli.common import (
    ConfigOpt,
    Output,
    OutputOpt,
    StateDirOpt,
    console,
    emit,
    error_boundary,
    progress_printer,
)

app = typer.Typer(
    help="The local sandbox: target Redis, ElastiCache-like source, local S3.", no_args_is_help=True
)


@app.command()
def up(config: ConfigOpt = None, state_dir: StateDirOpt = None, output: OutputOpt = Output.text) -> None:
    """Start the sandbox (idempotent; repairs a stale state)."""
    from redisops.config import load_config
    from redisops.ops.sandbox import sandbox_up

    with error_boundary(output):
        cfg = load_config(config)
        st = sandbox_up(
            state_dir,
            config=cfg,
            config_file=str(config) if config else None,
            progress=progress_printer(output),
        )
        emit(output, st, lambda: _print_state(st))


@app.command()
def status(state_dir: StateDirOpt = None, output: OutputOpt = Output.text) -> None:
    """Show the sandbox services; exit 1 when any is not running, 6 when there is no sandbox."""
    from redisops.errors import NotFoundError
    from redisops.ops.sandbox import sandbox_status

    with error_boundary(output):
        st = sandbox_status(state_dir)
        if st is None:
            raise NotFoundError("the sandbox is not running", hint="start it with: redisops sandbox up")
        emit(output, st, lambda: _print_state(st))
        if any(s.status != "running" for s in st.services.values()):
            raise typer.Exit(1)


@app.command()
def down(
    state_dir: StateDirOpt = None,
    output: OutputOpt = Output.text,
    discard_backups: Annotated[
        bool,
        typer.Option(
            "--discard-backups",
            help="stop without exporting the backup store (backups since the last export are lost)",
        ),
    ] = False,
) -> None:
    """Stop the sandbox processes (only those it started). The target's data dir is kept; the backup
    store is exported into the state dir and imported again by the next ``sandbox up``."""
    from redisops.ops.sandbox import sandbox_down

    with error_boundary(output):
        report = sandbox_down(state_dir, progress=progress_printer(output), discard_backups=discard_backups)

        def text() -> None:
            console.print(f"stopped: {', '.join(report.stopped) or 'nothing'}")
            e = report.export
            if e is not None:
                console.print(
                    f"backup store: exported {e.backups} backups ({e.objects} objects) to {e.path}; "
                    "`redisops sandbox up` restores them"
                )
            for note in report.notes:
                console.print(f"[yellow]note:[/yellow] {note}")

        emit(output, report, text)


def _print_state(st: object) -> None:
    from redisops.ops.sandbox import SandboxState

    assert isinstance(st, SandboxState)
    table = Table(title=f"sandbox ({st.state_dir})")
    for col in ("service", "status", "endpoint", "pid"):
        table.add_column(col)
    for svc in st.services.values():
        style = "green" if svc.status == "running" else "red"
        table.add_row(svc.name, f"[{style}]{svc.status}[/{style}]", svc.url, str(svc.pid))
    console.print(table)
    console.print(f"backup bucket: {st.bucket}")
    if st.store.get("summary"):
        console.print(f"backup store: {st.store['summary']}")
    for note in st.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
