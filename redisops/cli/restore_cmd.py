"""``redisops restore [ID|latest|undo]``, ``redisops restore-data-dir`` (in-cluster) and ``backup drill``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from redisops.cli.backup_cmd import SourceOpt, _context, _store
from redisops.cli.common import (
    ConfigOpt,
    Output,
    OutputOpt,
    StateDirOpt,
    YesOpt,
    confirm,
    console,
    emit,
    error_boundary,
    progress_printer,
)


def _progress(output: Output) -> Any:
    say = progress_printer(output)
    last: dict[str, str] = {}

    def on(phase: str, done: int, total: int | None) -> None:
        if last.get("phase") != phase:
            last["phase"] = phase
            say(f"restore: {phase}")

    return on


def restore(
    what: Annotated[
        str, typer.Argument(help="backup id, 'latest', or 'undo' (put back the previous files)")
    ] = "latest",
    target: Annotated[
        str, typer.Option("--target", help="sandbox (the local target); k8s: see docs/restore.md")
    ] = "sandbox",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan, change nothing")] = False,
    force: Annotated[bool, typer.Option("--force", help="replace a target that holds keys")] = False,
    no_safety_backup: Annotated[
        bool, typer.Option("--no-safety-backup", help="skip the backup of the target taken first")
    ] = False,
    yes: YesOpt = False,
    source: SourceOpt = None,
    config: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Restore a backup into the target: verified download, undo point, the form the config loads, verify."""
    from redisops.errors import ConfigError, NotFoundError
    from redisops.ops.restore import restore_sandbox, undo_sandbox_restore

    with error_boundary(output):
        cfg, state = _context(config, state_dir)
        if target != "sandbox":
            raise ConfigError(
                f"--target {target} is not available from this command yet",
                hint="in Kubernetes: scale Redis to 0, run the Job of `redisops manifests --restore-job ID`",
            )
        if state is None:
            raise NotFoundError("the sandbox is not running", hint="redisops sandbox up")
        if what == "undo":
            confirm(f"put back the files the last restore moved aside in {state.data_dir}?", yes=yes)
            undone = undo_sandbox_restore(state)
            emit(
                output,
                undone,
                lambda: console.print(f"undone: the previous files are back in {state.data_dir}"),
            )
            return
        store = _store(cfg, state, source)
        if not dry_run:
            confirm(
                f"restore {what} into the sandbox target {state.target.address} (data dir {state.data_dir})?",
                yes=yes,
            )
        res = restore_sandbox(
            state, cfg, store, what,
            dry_run=dry_run, force=force, safety_backup=not no_safety_backup, confirmed=True,
            progress=_progress(output),
        )  # fmt: skip

        def text() -> None:
            console.print(f"{'plan for' if dry_run else 'restored'} backup {res.backup_id}:")
            for line in res.plan:
                console.print(f"  - {line}", markup=False)
            if res.safety_backup:
                console.print(f"safety backup of the previous data: {res.safety_backup}")
            if res.result is not None:
                console.print(
                    f"verified after start; undo with: redisops restore undo ({res.result})", markup=False
                )

        emit(output, res, text)


def restore_data_dir(
    backup: Annotated[str, typer.Option("--backup", help="backup id or 'latest'")],
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="the mounted PVC (Redis must be stopped)")
    ] = Path("/data"),
    redis_version: Annotated[
        str, typer.Option("--redis-version", help="version of the Redis that will load it")
    ] = "7.0.15",
    uid: Annotated[int | None, typer.Option("--uid", help="owner of the installed files")] = None,
    gid: Annotated[int | None, typer.Option("--gid", help="group of the installed files")] = None,
    source: SourceOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Output.json,
) -> None:
    """The engine alone on a mounted data dir: what the restore Job runs while Redis is scaled to 0."""
    from redisops.ops.restore import restore_into_data_dir

    with error_boundary(output):
        cfg, _ = _context(config, Path(os.environ.get("REDISOPS_STATE_DIR", "/nonexistent")))
        store = _store(cfg, None, source)
        res = restore_into_data_dir(
            store,
            backup,
            data_dir,
            cfg,
            redis_version=redis_version,
            uid=uid,
            gid=gid,
            progress=_progress(output),
        )
        emit(output, res, lambda: console.print(f"installed into {data_dir}: {res}", markup=False))


def drill(
    backup_id: Annotated[str, typer.Argument(help="backup id, or 'latest'")] = "latest",
    source: SourceOpt = None,
    config: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Restore drill: restore into a scratch redis-server, verify, report RTO and RPO, record the result."""
    from redisops.errors import VerificationError
    from redisops.ops.restore import run_drill

    with error_boundary(output):
        cfg, state = _context(config, state_dir)
        res = run_drill(_store(cfg, state, source), backup_id, cfg=cfg)
        emit(
            output,
            res.to_dict(),
            lambda: console.print(
                f"drill of {res.backup_id}: {'ok' if res.ok else 'FAILED'}; RTO {res.rto_seconds:.2f}s, "
                f"RPO {res.rpo_seconds:.0f}s; keys {res.key_counts}"
            ),
        )
        if not res.ok:
            raise VerificationError(
                f"the restore drill failed: {res.problem}", hint="the backup cannot be trusted"
            )


def register(app: typer.Typer, backup_app: typer.Typer) -> None:
    """Add ``restore``, ``restore-data-dir`` and ``backup drill``."""
    app.command(name="restore")(restore)
    app.command(name="restore-data-dir")(restore_data_dir)
    backup_app.command(name="drill")(drill)
