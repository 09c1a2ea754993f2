"""The ``redisops`` entry point. Heavy libraries (kubernetes, boto3, textual) load lazily per command."""

from __future__ import annotations

from typing import Annotated

import typer

from redisops._version import __version__
from redisops.cli import (
    backup_cmd,
    config_cmd,
    inspect_cmd,
    k8s_cmd,
    k8s_pure_cmd,
    rehearse_cmd,
    restore_cmd,
    sandbox_cmd,
)
from redisops.cli.common import state

app = typer.Typer(
    name="redisops",
    help="Operations toolkit for Redis 7 on Kubernetes (and the local sandbox that rehearses it).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(config_cmd.app, name="config")
app.add_typer(backup_cmd.app, name="backup")
restore_cmd.register(app, backup_cmd.app)
app.command(name="rehearse")(rehearse_cmd.rehearse)
inspect_cmd.register(app)
k8s_cmd.register(app)
k8s_pure_cmd.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"redisops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks for errors")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    state.debug = debug


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
