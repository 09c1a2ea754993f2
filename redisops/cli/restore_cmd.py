"""``redisops restore [ID|latest|undo]``, ``redisops restore-data-dir`` (in-cluster) and ``backup drill``.

``restore`` takes the shared target options (:mod:`redisops.cli.options`). Without ``--target`` it
restores into the local sandbox (its Redis reached with the target's credentials: ``--password-file``,
``--password-env``, ``REDISCLI_AUTH``, ``REDIS_PASSWORD`` ...). ``--target k8s`` restores into the Redis
PVC of the cluster that ``--kubeconfig``, ``--context`` and ``-n`` choose, and a named target into its
own cluster (scale to 0, a restore Job running ``restore-data-dir`` on the PVC, scale back, verify:
see docs/restore.md). A target marked ``production: true`` refuses unless ``--read-write``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from redisops.cli import _oprun
from redisops.cli.common import ConfigOpt, Output, OutputOpt, YesOpt, console, emit, error_boundary
from redisops.cli.options import TargetArgs, with_target

if TYPE_CHECKING:
    from redisops.ops.catalogue import Plan
    from redisops.ops.target import Target

#: ``--target k8s``: the cluster of --kubeconfig/--context/-n (not a named target)
K8S = "k8s"

SourceOpt = Annotated[
    str | None,
    typer.Option("--source", help="source name in the store [default: the config's service_name]"),
]


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
        float,
        typer.Option(
            "--timeout", min=1, max=86400, help="k8s: seconds for each wait (pods gone, Job, rollout)"
        ),
    ] = 600.0,
    stage_beside: Annotated[
        bool,
        typer.Option(
            "--stage-beside/--stage-after-stop",
            help="k8s: stage the backup with a Job beside the running Redis where the PVC's access mode "
            "allows it (then scale to 0 and install), or in the one restore Job after the scale to 0",
        ),
    ] = True,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Restore a backup into the target: verified download, undo point, the form the config loads, verify.

    The target is the sandbox by default; --target k8s is the cluster of --kubeconfig/--context/-n, a
    named target its own cluster. --dry-run prints the plan (restore.apply / restore.undo) and exits 15
    when the real run would refuse."""
    with error_boundary(output):
        k8s = where.target_name not in (None, "sandbox")
        undo = what == "undo"
        op = "restore.undo" if undo else "restore.apply"
        params: dict[str, Any] = {
            "platform": "kubernetes" if k8s else "sandbox",
            "timeout": timeout,
            "tool_image": tool_image,
        }
        if not undo:
            params |= {
                "backup_id": what,
                "force": force,
                "safety_backup": not no_safety_backup,
                "include_safety": include_safety,
                "source": source,
                "stage_beside_redis": stage_beside,
            }
        t = _k8s_target(where) if k8s else where.build()
        with t:
            if not dry_run:  # a production target refuses before anything is opened (a dry run reads)
                t.require_writable("undo a restore" if undo else "restore")
            place = _place(t, k8s)

            def question(plan: Plan) -> str:
                if undo:
                    if k8s:
                        return (
                            f"scale Redis to 0 and put back the files the last restore replaced in {place}?"
                        )
                    return f"put back the files the last restore moved aside ({place})?"
                backup = plan.details.get("backup_id") or what
                if k8s:
                    return f"scale Redis to 0 and restore backup {backup} into the data volume ({place})?"
                return f"restore backup {backup} into {place}?"

            _oprun.plan_or_run(t, op, params, output, dry_run=dry_run, yes=yes, question=question,
                               title=f"plan ({place}):", text=lambda res: _lines(res.summary()))  # fmt: skip


def _place(t: Target, k8s: bool) -> str:
    """Where the restore acts, in words (the confirmation and the plan's title name it)."""
    cfg = t.config()
    if not k8s:
        return f"the sandbox target {t.redis.address}"
    place = f"namespace {cfg.namespace}, Deployment {cfg.service_name}, PVC {cfg.service_name}-data"
    context = t.kube().context
    return place + (f" (context {context})" if context else "")


def _lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)


def _k8s_target(where: TargetArgs) -> Target:
    """The target of a restore on Kubernetes. ``--target k8s`` is no named target: the cluster comes
    from --kubeconfig/--context/-n and the Redis (for its password) is the config's Service."""
    if where.target_name != K8S:
        return where.build()
    url = where.url
    if url is None:
        with where.build(target=None, url="redis://localhost") as probe:
            cfg = probe.config()
        url = f"redis://{cfg.service_dns}:{cfg.port}"
    return where.build(target=None, url=url)


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
    stage_only: Annotated[
        bool,
        typer.Option(
            "--stage-only",
            help="with --backup: only download, verify and fsync it into the staging folder of "
            "--operation-id (Redis may keep running on the data dir); --install-staged installs it",
        ),
    ] = False,
    install_staged: Annotated[
        str | None,
        typer.Option(
            "--install-staged",
            metavar="OPERATION_ID",
            help="with --backup: install what --stage-only staged under this operation id (Redis must be "
            "stopped; no download)",
        ),
    ] = None,
    operation_id: Annotated[
        str | None,
        typer.Option("--operation-id", help="names the staging and undo folders [default: a random id]"),
    ] = None,
    source: SourceOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = Output.json,
) -> None:
    """The engine alone on a mounted data dir: what the restore Jobs run (restore.data_dir).

    ``--backup ID`` stages and installs (Redis scaled to 0); split in two, ``--stage-only`` stages beside
    the running Redis and ``--install-staged OPERATION_ID`` installs it once Redis is stopped.
    ``--undo`` undoes the last restore there; ``--adopt`` (the Velero init restore hook) installs a
    ``dump.rdb`` Redis would ignore (``appendonly yes`` without a valid AOF) as the AOF base.
    The command is the confirmation (the Jobs run it unattended).
    """
    from redisops.ops.registry import catalogue

    with error_boundary(output):
        params = {
            "backup": backup,
            "undo": undo,
            "adopt": adopt,
            "data_dir": str(data_dir),
            "redis_version": redis_version,
            "uid": uid,
            "gid": gid,
            "redis_conf": str(redis_conf) if redis_conf is not None else None,
            "stage_only": stage_only,
            "install_staged": install_staged,
            "operation_id": operation_id,
            "source": source,
            "config": str(config) if config is not None else None,
        }
        with _oprun.events(output, "restore") as (sink, token):
            res = catalogue().invoke(
                "restore.data_dir", params, target=None, on_event=sink, cancel=token, confirm=True
            )
        if adopt:
            emit(output, res, lambda: console.print(f"{res.action}: {res.reason} ({data_dir})", markup=False))
        else:
            emit(output, res.to_dict(), lambda: _lines(res.summary()))


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
    """Restore drill: restore into a scratch redis-server, verify, report RTO and RPO, record the result
    (backup.drill; exit 8 when the drill failed: the backup cannot be trusted)."""
    with error_boundary(output):
        t = where.build(writing="record a restore drill")
        with t:
            params = {"backup_id": backup_id, "redis_conf": redis_conf, "source": source}
            res = _oprun.run(t, "backup.drill", params, output)
            emit(output, res, lambda: _lines(res.summary()))


def register(app: typer.Typer, backup_app: typer.Typer) -> None:
    """Add ``restore``, ``restore-data-dir`` and ``backup drill``."""
    app.command(name="restore")(restore)
    app.command(name="restore-data-dir")(restore_data_dir)
    if not any(c.name == "drill" for c in backup_app.registered_commands):  # the group outlives an app
        backup_app.command(name="drill")(drill)
