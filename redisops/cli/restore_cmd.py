"""``redisops restore [ID|latest|undo]``, ``redisops restore-data-dir`` (in-cluster) and ``backup drill``.

``restore`` takes the shared target options (:mod:`redisops.cli.options`). Without ``--target`` it
restores into the local sandbox (its Redis reached with the target's credentials: ``--password-file``,
``--password-env``, ``REDISCLI_AUTH``, ``REDIS_PASSWORD`` ...). ``--target k8s`` restores into the Redis
PVC of the cluster that ``--kubeconfig``, ``--context`` and ``-n`` choose, and a named target into its
own cluster (scale to 0, a restore Job running ``restore-data-dir`` on the PVC, scale back, verify:
see docs/restore.md). A target marked ``production: true`` refuses unless ``--read-write``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from redisops.cli.backup_cmd import SourceOpt, _config, _store, watched
from redisops.cli.common import (
    ConfigOpt,
    Output,
    OutputOpt,
    YesOpt,
    confirm,
    console,
    emit,
    error_boundary,
    progress_printer,
)
from redisops.cli.options import TargetArgs, with_target

if TYPE_CHECKING:
    from redisops.adapters.redis_conn import RedisEndpoint
    from redisops.backup import BackupStore
    from redisops.ops.sandbox import SandboxState
    from redisops.ops.target import Target

#: ``--target k8s``: the cluster of --kubeconfig/--context/-n (not a named target)
K8S = "k8s"


def _progress(output: Output) -> Any:
    say = progress_printer(output)
    last: dict[str, str] = {}

    def on(phase: str, done: int, total: int | None) -> None:
        if last.get("phase") != phase:
            last["phase"] = phase
            say(f"restore: {phase}")

    return on


@with_target(kube=True, read_write=True, state_dir=True)
def restore(
    what: Annotated[
        str, typer.Argument(help="backup id, 'latest', or 'undo' (put back the previous files)")
    ] = "latest",
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
    tool_image: Annotated[
        str | None, typer.Option("--tool-image", help="k8s: the redisops image the restore Job runs")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="k8s: seconds for each wait (pods gone, Job, rollout)")
    ] = 600.0,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Restore a backup into the target: verified download, undo point, the form the config loads, verify.

    The target is the sandbox by default; --target k8s is the cluster of --kubeconfig/--context/-n, a
    named target its own cluster."""
    with error_boundary(output):
        opts = _Opts(what, dry_run, force, not no_safety_backup, include_safety, yes, source, output)
        if where.target_name not in (None, "sandbox"):
            _restore_k8s(opts, where, tool_image=tool_image, timeout=timeout)
        else:
            _restore_sandbox(opts, where.build())


@dataclasses.dataclass(frozen=True)
class _Opts:
    """What ``restore`` was asked, whatever the platform."""

    what: str
    dry_run: bool
    force: bool
    safety_backup: bool
    include_safety: bool
    yes: bool
    source: str | None
    output: Output

    def allowed(self, t: Target) -> None:
        """A production target refuses a real run without --read-write (a dry run is a read)."""
        if not self.dry_run:
            t.require_writable("undo a restore" if self.what == "undo" else "restore")


def _restore_sandbox(o: _Opts, t: Target) -> None:
    """Restore (or undo) into the running sandbox, reaching its Redis with the target's credentials."""
    from redisops.errors import InvalidArgument, NotFoundError
    from redisops.ops.restore import restore_sandbox
    from redisops.ops.sandbox import sandbox_status

    o.allowed(t)
    state = sandbox_status(t.state_dir)
    if state is None or any(s.status != "running" for s in state.services.values()):
        raise NotFoundError("the sandbox is not running", hint="redisops sandbox up")
    ep = t.redis
    if ep.address != state.target.address:
        raise InvalidArgument(
            f"restore works on the sandbox's data dir: --url must be the sandbox target "
            f"{state.target.address}, not {ep.address}",
            hint="to restore into a cluster pass --target k8s (with --kubeconfig/--context/-n) or "
            "--target NAME",
        )
    state = _with_endpoint(state, ep)
    if o.what == "undo":
        _undo_sandbox(state, dry_run=o.dry_run, yes=o.yes, output=o.output)
        return
    store = _store(t, o.source)
    if not o.dry_run:
        confirm(
            f"restore {o.what} into the sandbox target {ep.address} (data dir {state.data_dir})?", yes=o.yes
        )
    res = restore_sandbox(
        state, _config(t), store, o.what,
        dry_run=o.dry_run, force=o.force, safety_backup=o.safety_backup, confirmed=True,
        progress=_progress(o.output), include_safety=o.include_safety,
    )  # fmt: skip
    if o.dry_run:
        _show_plan(o.output, res.to_dict(), f"plan for backup {res.backup_id}:", res.plan, res.blockers)
        return
    emit(o.output, res.to_dict(), lambda: _lines(res.summary()))


def _with_endpoint(state: SandboxState, ep: RedisEndpoint) -> SandboxState:
    """The sandbox's state whose target Redis is ``ep`` (the same server, with the target's
    credentials): the restore's key count, safety backup and verification log in with them."""
    from redisops.ops.sandbox import SandboxState as State

    class _Credentialed(State):
        @property
        def target(self) -> RedisEndpoint:
            return ep

    return _Credentialed(**{f.name: getattr(state, f.name) for f in dataclasses.fields(state)})


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


def _k8s_target(where: TargetArgs) -> Target:
    """The target of a restore on Kubernetes. ``--target k8s`` is no named target: the cluster comes
    from --kubeconfig/--context/-n and the Redis (for its password) is the config's Service."""
    if where.target_name != K8S:
        return where.build()
    from redisops.cli.k8s_cmd import config_in_namespace

    url = where.url
    if url is None:
        cfg = config_in_namespace(where.config, where.namespace)
        url = f"redis://{cfg.service_dns}:{cfg.port}"
    return where.build(target=None, url=url)


def _pod_password(t: Target) -> str | None:
    """The password the target's options give for the pod's Redis; None: the config's auth settings."""
    from redisops.errors import NotFoundError

    try:
        return t.redis.password
    except NotFoundError:  # a named target naming no Redis: the config's auth settings decide
        return None


def _restore_k8s(o: _Opts, where: TargetArgs, *, tool_image: str | None, timeout: float) -> None:
    """``restore --target k8s|NAME``: the restore (or undo) Job dance of :mod:`redisops.ops.restore_k8s`."""
    from redisops.k8s import DEFAULT_TOOL_IMAGE
    from redisops.ops.restore_k8s import restore_k8s, undo_restore_k8s

    t = _k8s_target(where)
    o.allowed(t)
    cfg = _config(t)
    password = _pod_password(t)
    image = tool_image or DEFAULT_TOOL_IMAGE
    say = progress_printer(o.output)
    where_ = f"namespace {cfg.namespace}, Deployment {cfg.service_name}, PVC {cfg.service_name}-data"
    with t, t.kube() as kube:
        if kube.context:
            where_ += f" (context {kube.context})"
        if o.what == "undo":
            if not o.dry_run:
                confirm(
                    f"scale Redis to 0 and put back the files the last restore replaced in {where_}?",
                    yes=o.yes,
                )
            undone = undo_restore_k8s(
                kube, cfg, tool_image=image, confirmed=True, dry_run=o.dry_run, timeout=timeout,
                progress=say, password=password,
            )  # fmt: skip
            if o.dry_run:
                _show_plan(o.output, undone.to_dict(), f"plan ({where_}):", undone.plan, [])
                return
            emit(o.output, undone.to_dict(), lambda: _lines(undone.summary()))
            return
        store = _store(t, o.source, use_sandbox=False)
        if not o.dry_run:
            ask = f"scale Redis to 0 and restore backup {o.what} into the data volume ({where_})?"
            confirm(ask, yes=o.yes)
        res = restore_k8s(
            kube, cfg, store, o.what, tool_image=image, force=o.force, safety_backup=o.safety_backup,
            confirmed=True, dry_run=o.dry_run, timeout=timeout, progress=say,
            include_safety=o.include_safety, password=password,
        )  # fmt: skip
        if o.dry_run:
            title = f"plan for backup {res.backup_id} ({where_}):"
            _show_plan(o.output, res.to_dict(), title, res.plan, res.blockers)
            return
        emit(o.output, res.to_dict(), lambda: _lines(res.summary()))


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

    from redisops.config import apply_env, load_config
    from redisops.errors import ConfigError
    from redisops.ops.restore import restore_into_data_dir

    with error_boundary(output):
        if sum((backup is not None, undo, adopt)) != 1:
            raise ConfigError("pass exactly one of --backup ID, --undo or --adopt")
        cfg = apply_env(load_config(config), os.environ)
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
        store = _data_dir_store(cfg, source)
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


def _data_dir_store(cfg: Any, source: str | None) -> BackupStore:
    """The restore Job's store: the config's backup target (``REDISOPS_S3_*`` applied), never a
    sandbox's S3."""
    from redisops.ops.backup import store_for

    return watched(store_for(cfg.backup, sandbox=None, source_name=source or cfg.service_name))


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


@with_target(timeout=10.0, state_dir=True, read_write=True)
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
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Restore drill: restore into a scratch redis-server, verify, report RTO and RPO, record the result."""
    from redisops.errors import VerificationError
    from redisops.ops.restore import run_drill

    with error_boundary(output):
        t = where.build(writing="record a restore drill")
        res = run_drill(_store(t, source), backup_id, cfg=_config(t), redis_conf=_read_redis_conf(redis_conf))
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
