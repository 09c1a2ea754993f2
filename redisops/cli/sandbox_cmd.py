"""``redisops sandbox up | status | down``: thin renderings of ``sandbox.up``, ``sandbox.status`` and
``sandbox.down`` (catalogue operations on the sandbox of ``--state-dir``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from redisops.cli import _oprun
from redisops.cli.common import (
    ConfigOpt,
    Output,
    OutputOpt,
    StateDirOpt,
    console,
    emit,
    error_boundary,
    print_error,
)
from redisops.cli.options import build_target
from redisops.errors import RedisOpsError

if TYPE_CHECKING:
    from redisops.ops.sandbox import SandboxDownReport, SandboxService, SandboxState

app = typer.Typer(
    help="The local sandbox: target Redis, ElastiCache-like source, local S3 and AWS control plane.",
    no_args_is_help=True,
)


@app.command()
def up(
    config: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    output: OutputOpt = Output.text,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="the target requires the password in FILE (first line); the state records only the path",
            metavar="FILE",
        ),
    ] = None,
    acl_user: Annotated[
        str | None,
        typer.Option("--acl-user", help="also make this ACL user (same password, ~* +@all)", metavar="NAME"),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="the target speaks TLS only (a self-signed CA under the state dir)")
    ] = False,
) -> None:
    """Start the sandbox (idempotent; repairs a stale state)."""
    params: dict[str, object] = {"tls": tls}
    if password_file is not None:
        params["password_file"] = str(password_file)
    if acl_user is not None:
        params["acl_user"] = acl_user
    with error_boundary(output), build_target(config=config, state_dir=state_dir) as target:
        st: SandboxState = _oprun.run(target, "sandbox.up", params, output, label="sandbox up")
        emit(output, st, lambda: _print_state(st, store_label="backup store"))


@app.command()
def status(state_dir: StateDirOpt = None, output: OutputOpt = Output.text) -> None:
    """Show the sandbox services; exit 21 when any is not running (`redisops sandbox up` repairs it),
    6 when there is no sandbox."""
    with error_boundary(output), build_target(state_dir=state_dir) as target:
        st: SandboxState = _oprun.run(target, "sandbox.status", {}, output, label="sandbox status")
        # up's store line says what up found; status says so, it does not know what the store holds now
        emit(output, st, lambda: _print_state(st, store_label="backup store at the last `sandbox up`"))
    down = [s for s in st.services.values() if s.status != "running"]
    if down:
        if output is Output.text:  # -o json: the services' statuses are in the object already
            print_error(services_down(down))
        raise typer.Exit(SERVICE_DOWN_EXIT)


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
    with error_boundary(output), build_target(state_dir=state_dir) as target:
        params = {"discard_backups": discard_backups}
        report: SandboxDownReport = _oprun.run(target, "sandbox.down", params, output, label="sandbox down")

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


#: ``sandbox status`` with a service not running: a check that found a critical problem (docs/errors.md)
SERVICE_DOWN_EXIT = 21


def services_down(down: list[SandboxService]) -> RedisOpsError:
    """The error line and repair for sandbox services that are not running."""
    listed = ", ".join(f"{s.name} ({s.status})" for s in down)
    return RedisOpsError(
        f"sandbox {'service' if len(down) == 1 else 'services'} not running: {listed}",
        hint="repair with: redisops sandbox up (it restarts only what is down; data and backups are kept)",
    )


def _print_state(st: SandboxState, store_label: str) -> None:
    table = Table(title=f"sandbox ({st.state_dir})")
    for col in ("service", "status", "endpoint", "pid"):
        table.add_column(col)
    for svc in st.services.values():
        style = "green" if svc.status == "running" else "red"
        table.add_row(svc.name, f"[{style}]{svc.status}[/{style}]", svc.url, str(svc.pid))
    console.print(table)
    console.print(f"backup bucket: {st.bucket}")
    if st.store.get("summary"):
        console.print(f"{store_label}: {st.store['summary']}", markup=False)
    aws = st.aws
    if aws:
        console.print(
            f"aws: replication group {aws.get('replication_group')} "
            f"({aws.get('replication_group_endpoint')}, "
            f"parameter group {aws.get('parameter_group')}); AppConfig {aws.get('application')}/"
            f"{aws.get('environment')}/{aws.get('profile')} version {aws.get('deployed_version')}; "
            f"export bucket {aws.get('export_bucket')}"
        )
    for note in st.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
