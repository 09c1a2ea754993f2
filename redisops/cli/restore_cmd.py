"""``redisops restore [ID|latest|undo]``, ``redisops restore-data-dir`` (in-cluster) and ``backup drill``.

``--target sandbox`` restores into the local sandbox; ``--target k8s`` into the Redis PVC of a cluster
(scale to 0, a restore Job running ``restore-data-dir`` on the PVC, scale back, verify: see
docs/restore.md), choosing the cluster like the deploy commands (``--kubeconfig``, ``--context``, ``-n``).
"""

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
from redisops.cli.k8s_cmd import ContextOpt, KubeconfigOpt, NamespaceOpt


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
        str, typer.Option("--target", help="sandbox (the local target) or k8s (the Redis PVC in a cluster)")
    ] = "sandbox",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan, change nothing")] = False,
    force: Annotated[bool, typer.Option("--force", help="replace a target that holds keys")] = False,
    no_safety_backup: Annotated[
        bool, typer.Option("--no-safety-backup", help="skip the backup of the target taken first")
    ] = False,
    include_safety: Annotated[
        bool,
        typer.Option(
            "--include-safety",
            help="'latest' may be a safety backup (what a restore took of the data it replaced); "
            "by default latest skips them",
        ),
    ] = False,
    yes: YesOpt = False,
    source: SourceOpt = None,
    config: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    namespace: NamespaceOpt = None,
    tool_image: Annotated[
        str | None, typer.Option("--tool-image", help="k8s: the redisops image the restore Job runs")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="k8s: seconds for each wait (pods gone, Job, rollout)")
    ] = 600.0,
    output: OutputOpt = Output.text,
) -> None:
    """Restore a backup into the target: verified download, undo point, the form the config loads, verify."""
    from redisops.errors import InvalidArgument, NotFoundError
    from redisops.ops.restore import restore_sandbox

    with error_boundary(output):
        if target == "k8s":
            _restore_k8s(
                what, dry_run=dry_run, force=force, safety_backup=not no_safety_backup, yes=yes,
                include_safety=include_safety, source=source, config=config, kubeconfig=kubeconfig,
                context=context, namespace=namespace,
                tool_image=tool_image, timeout=timeout, output=output,
            )  # fmt: skip
            return
        cfg, state = _context(config, state_dir)
        if target != "sandbox":
            raise InvalidArgument(f"unknown --target {target}", hint="use sandbox or k8s")
        if state is None:
            raise NotFoundError("the sandbox is not running", hint="redisops sandbox up")
        if what == "undo":
            _undo_sandbox(state, dry_run=dry_run, yes=yes, output=output)
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
            progress=_progress(output), include_safety=include_safety,
        )  # fmt: skip
        if dry_run:
            _show_plan(output, res.to_dict(), f"plan for backup {res.backup_id}:", res.plan, res.blockers)
            return
        emit(output, res.to_dict(), lambda: _lines(res.summary()))


def _lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)


def _show_plan(output: Output, doc: Any, title: str, lines: list[str], blockers: list[str]) -> None:
    """Print a dry run's plan; a blocked plan then exits 15 (PlanBlocked): scripts use dry runs as a
    pre-flight gate. With ``-o json`` the plan (``"blocked": true``) is the only output."""
    from redisops.errors import ExitCode, PlanBlocked

    def text() -> None:
        console.print(title, markup=False)
        for line in lines:
            console.print(f"  {line}", markup=False, soft_wrap=True)

    emit(output, doc, text)
    if not blockers:
        return
    if output is Output.json:
        raise typer.Exit(ExitCode.PLAN_BLOCKED)
    more = f" (and {len(blockers) - 1} more, listed above)" if len(blockers) > 1 else ""
    raise PlanBlocked(
        f"the real run would refuse: {blockers[0]}{more}; nothing was changed",
        context={"blockers": blockers},
    )


def _undo_sandbox(state: Any, *, dry_run: bool, yes: bool, output: Output) -> None:
    """``restore undo`` on the sandbox: the plan (``--dry-run``, changes nothing) or the undo."""
    from redisops.ops.restore import plan_sandbox_undo, undo_sandbox_restore

    if dry_run:
        plan = plan_sandbox_undo(state)
        _show_plan(output, plan.to_dict(), "plan:", plan.describe(), list(plan.blockers))
        return
    confirm(f"put back the files the last restore moved aside in {state.data_dir}?", yes=yes)
    undone = undo_sandbox_restore(state)
    emit(output, undone.to_dict(), lambda: _lines(undone.summary()))


def _restore_k8s(
    what: str,
    *,
    dry_run: bool,
    force: bool,
    safety_backup: bool,
    yes: bool,
    include_safety: bool,
    source: str | None,
    config: Path | None,
    kubeconfig: Path | None,
    context: str | None,
    namespace: str | None,
    tool_image: str | None,
    timeout: float,
    output: Output,
) -> None:
    """``restore --target k8s``: the restore (or undo) Job dance of :mod:`redisops.ops.restore_k8s`."""
    from redisops.cli.k8s_cmd import _kube, config_in_namespace
    from redisops.config import apply_env
    from redisops.k8s import DEFAULT_TOOL_IMAGE
    from redisops.ops.restore_k8s import restore_k8s, undo_restore_k8s

    cfg = apply_env(config_in_namespace(config, namespace), os.environ)
    image = tool_image or DEFAULT_TOOL_IMAGE
    say = progress_printer(output)
    where = f"namespace {cfg.namespace}, Deployment {cfg.service_name}, PVC {cfg.service_name}-data"
    with _kube(kubeconfig, context, cfg) as kube:
        if kube.context:
            where += f" (context {kube.context})"
        if what == "undo":
            if not dry_run:
                confirm(
                    f"scale Redis to 0 and put back the files the last restore replaced in {where}?", yes=yes
                )
            undone = undo_restore_k8s(
                kube, cfg, tool_image=image, confirmed=True, dry_run=dry_run, timeout=timeout, progress=say
            )
            if dry_run:
                _show_plan(output, undone.to_dict(), f"plan ({where}):", undone.plan, [])
                return
            emit(output, undone.to_dict(), lambda: _lines(undone.summary()))
            return
        store = _store(cfg, None, source)
        if not dry_run:
            confirm(f"scale Redis to 0 and restore backup {what} into the data volume ({where})?", yes=yes)
        res = restore_k8s(
            kube, cfg, store, what, tool_image=image, force=force, safety_backup=safety_backup,
            confirmed=True, dry_run=dry_run, timeout=timeout, progress=say, include_safety=include_safety,
        )  # fmt: skip
        if dry_run:
            title = f"plan for backup {res.backup_id} ({where}):"
            _show_plan(output, res.to_dict(), title, res.plan, res.blockers)
            return
        emit(output, res.to_dict(), lambda: _lines(res.summary()))


def restore_data_dir(
    backup: Annotated[
        str | None, typer.Option("--backup", help="backup id or 'latest' (not with --undo/--adopt)")
    ] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="put back the files the last restore moved aside")
    ] = False,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt", help="install a lone dump.rdb as the AOF base (after a Velero restore); else nothing"
        ),
    ] = False,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="the mounted PVC (Redis must be stopped)")
    ] = Path("/data"),
    redis_version: Annotated[
        str, typer.Option("--redis-version", help="version of the Redis that will load it")
    ] = "7.0.15",
    uid: Annotated[int | None, typer.Option("--uid", help="owner of the installed files")] = None,
    gid: Annotated[int | None, typer.Option("--gid", help="group of the installed files")] = None,
    redis_conf: Annotated[
        Path | None,
        typer.Option(
            "--redis-conf",
            help="the redis.conf the target loads (the Jobs mount its ConfigMap): appendonly, file names "
            "and maxmemory come from it instead of the redisops config",
        ),
    ] = None,
    source: SourceOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Output.json,
) -> None:
    """The engine alone on a mounted data dir: what the restore Job runs while Redis is scaled to 0.

    ``--undo`` undoes the last restore there; ``--adopt`` (the Velero init restore hook) installs a
    ``dump.rdb`` Redis would ignore (``appendonly yes`` without a valid AOF) as the AOF base.
    """
    from datetime import UTC, datetime

    from redisops.errors import ConfigError
    from redisops.ops.restore import restore_into_data_dir

    with error_boundary(output):
        if sum((backup is not None, undo, adopt)) != 1:
            raise ConfigError("pass exactly one of --backup ID, --undo or --adopt")
        cfg, _ = _context(config, Path(os.environ.get("REDISOPS_STATE_DIR", "/nonexistent")))
        conf_text = _read_redis_conf(redis_conf)
        if undo:
            from redisops.restore import undo_restore

            undone = undo_restore(data_dir, datetime.now(UTC))
            emit(output, undone.to_dict(), lambda: _lines(undone.summary()))
            return
        if adopt:
            from redisops.ops.restore import target_settings
            from redisops.restore.adopt import adopt_data_dir

            settings = target_settings(cfg, redis_version, uid=uid, gid=gid, redis_conf=conf_text)
            adopted = adopt_data_dir(data_dir, settings, datetime.now(UTC))
            emit(
                output,
                adopted,
                lambda: console.print(f"{adopted.action}: {adopted.reason} ({data_dir})", markup=False),
            )
            return
        assert backup is not None
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
            redis_conf=conf_text,
        )
        emit(output, res.to_dict(), lambda: _lines(res.summary()))


def _read_redis_conf(path: Path | None) -> str | None:
    from redisops.errors import ConfigError

    if path is None:
        return None
    try:
        return path.read_text()
    except OSError as e:
        raise ConfigError(
            f"cannot read the redis.conf {path}: {e.strerror or e}",
            hint="pass the path where the Redis ConfigMap is mounted (/etc/redis/redis.conf in the Jobs)",
        ) from None


def drill(
    backup_id: Annotated[str, typer.Argument(help="backup id, or 'latest'")] = "latest",
    redis_conf: Annotated[
        Path | None,
        typer.Option(
            "--redis-conf",
            help="the redis.conf production loads (the drill CronJob mounts its ConfigMap); default: "
            "rendered from the redisops config",
        ),
    ] = None,
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
        res = run_drill(
            _store(cfg, state, source), backup_id, cfg=cfg, redis_conf=_read_redis_conf(redis_conf)
        )
        emit(
            output,
            res.to_dict(),
            lambda: _lines(res.summary()),
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
