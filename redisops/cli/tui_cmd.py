"""``redisops tui``: the terminal UI (the top-level ``tui`` package, the ``tui`` extra) on a target.

The same target options as every command (the sandbox by default; ``--target``, ``--url``, ``--config``,
``--kubeconfig/--context/-n``); ``--record FILE`` stores the snapshots, ``--replay FILE`` plays them;
``--read-only`` hides mutating actions (the default for targets marked ``production: true`` unless
``--read-write``). This is the one front end that starts another: it hands the resolved target to
:func:`tui.cli.run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from redisops.cli.common import error_boundary
from redisops.cli.options import TargetArgs, with_target

__all__ = ["register", "tui"]


@with_target(timeout=5.0, kube=True, read_write=True)
def tui(
    *,
    where: TargetArgs,
    record: Annotated[
        Path | None, typer.Option("--record", help="store every snapshot in this JSON Lines file")
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option("--replay", help="play a file written by --record instead of polling a target"),
    ] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="hide every mutating action")] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="refresh interval in seconds", min=0.1, max=3600.0)
    ] = 1.0,
    replay_speed: Annotated[
        float, typer.Option("--replay-speed", help="replay speed: 1 = as recorded, 0 = at once", min=0.0)
    ] = 1.0,
    source_url: Annotated[
        str | None,
        typer.Option(
            "--source-url", help="the migration's source [default: the sandbox's ElastiCache-like one]"
        ),
    ] = None,
    source_user: Annotated[
        str | None, typer.Option("--source-user", help="ACL user on the migration's source")
    ] = None,
    source_password_file: Annotated[
        Path | None,
        typer.Option(
            "--source-password-file", help="file whose first line is the source's password or token"
        ),
    ] = None,
) -> None:
    """The terminal UI: health, slow log, INFO, keys and memory, backups, migration, runbooks of one Redis."""
    with error_boundary():
        try:
            from tui.cli import run, source_params
        except ImportError as e:
            from redisops.errors import DependencyMissing

            raise DependencyMissing(
                f"the terminal UI is not installed ({e.name} is missing)",
                hint="pip install 'redisops[tui]'",
            ) from None
        target = where.build() if replay is None else None
        code = run(
            target=target,
            replay=replay,
            record=record,
            read_only=read_only,
            interval=interval,
            replay_speed=replay_speed,
            migrate_source=source_params(source_url, source_user, source_password_file),
        )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``redisops tui`` to the root command."""
    app.command(name="tui")(tui)
