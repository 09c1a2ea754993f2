"""``redisops deploy | history | rollback | restart | verify-clients``: Redis on Kubernetes.

The cluster is chosen like kubectl does: ``--kubeconfig`` (default $KUBECONFIG or ~/.kube/config,
else the in-cluster service account) and ``--context``; ``--namespace/-n`` defaults to the config's
namespace; ``--target NAME`` takes all of these (and the config) from a named target, the options
overriding it (:mod:`redisops.cli.options`). ``deploy``, ``rollback`` and ``restart`` refuse a target
marked ``production: true`` unless ``--read-write`` is given. ``deploy`` and ``rollback`` show what
changes and ask before applying (``--yes`` skips the question, ``--dry-run`` changes nothing). Exit
codes follow :mod:`redisops.errors`; ``restart`` and ``verify-clients`` exit 1 when any service failed.
"""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from redisops.cli.common import (
    Output,
    OutputOpt,
    YesOpt,
    confirm,
    console,
    emit,
    error_boundary,
    progress_printer,
    to_jsonable,
)
from redisops.cli.options import ContextOpt, KubeconfigOpt, NamespaceOpt, TargetArgs, with_target

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.backup import BackupStore
    from redisops.config.model import DeploymentConfig
    from redisops.ops.deploy import DeployPlan, DeployResult
    from redisops.ops.target import Target

__all__ = ["ContextOpt", "KubeconfigOpt", "NamespaceOpt", "config_in_namespace", "register"]

TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=1, max=86400, help="seconds to wait for each rollout")
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="show the diff against the live objects only; exit 15 when the real run would refuse",
    ),
]
NoBackupOpt = Annotated[
    bool,
    typer.Option(
        "--no-backup", help="do not back up the running Redis before upgrading it (a backup is the default)"
    ),
]


def _check_allow(values: list[str] | None) -> list[str] | None:
    from redisops.lint.rules import RULES

    known = {r.id for r in RULES}
    unknown = sorted({v for v in values or [] if v not in known})
    if unknown:
        raise typer.BadParameter(
            f"unknown lint rule(s) {', '.join(unknown)}; `redisops lint --list-rules` lists them"
        )
    return values


AllowOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        metavar="RULE",
        callback=_check_allow,
        help="go ahead despite this error-level lint finding (repeatable; a rule id from `redisops lint`)",
    ),
]
TakeOverOpt = Annotated[
    bool, typer.Option("--take-over", help="take over objects a Helm release (or another manager) owns")
]

#: the cluster commands' shared options: --target, --config, --kubeconfig, --context, -n
_cluster = with_target(redis=False, kube=True)
#: ... and --read-write for the ones that change the cluster
_cluster_rw = with_target(redis=False, kube=True, read_write=True)

_ACTION_STYLE = {
    "create": "green",
    "update": "yellow",
    "delete": "red",
    "conflict": "bold red",
    "unchanged": "dim",
}


def register(app: typer.Typer) -> None:
    """Add the Kubernetes commands to the root app."""
    app.command(name="deploy")(deploy_cmd)
    app.command(name="history")(history_cmd)
    app.command(name="rollback")(rollback_cmd)
    app.command(name="restart")(restart_cmd)
    app.command(name="verify-clients")(verify_clients_cmd)


def config_in_namespace(path: Path | None, namespace: str | None) -> DeploymentConfig:
    """The config, moved to ``namespace`` when one is given (``service_dns`` follows when derived)."""
    from redisops.config import load_config
    from redisops.config.model import DeploymentConfig

    cfg = load_config(path)
    if namespace and namespace != cfg.namespace:
        data = cfg.model_dump()
        if cfg.service_dns == f"{cfg.service_name}.{cfg.namespace}.svc.cluster.local":
            data.pop("service_dns")  # derived again from the new namespace
        data["namespace"] = namespace
        cfg = DeploymentConfig.model_validate(data)
    return cfg


def _store(target: Target) -> BackupStore:
    """The target's backup store (where an upgrade's backup goes and backups' versions are read);
    never the sandbox's S3: a cluster's backups do not go to a laptop."""
    return target.store(use_sandbox=False)


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _confirmer(output: Output, yes: bool, kube: Kube, what: str) -> Any:
    def ask(plan: DeployPlan) -> None:
        if output is Output.text:
            _print_plan(plan)
        where = f"namespace {plan.namespace}" + (f" (context {kube.context})" if kube.context else "")
        confirm(f"{what} {plan.summary()} in {where}?", yes=yes)

    return ask


@_cluster_rw
def deploy_cmd(
    dry_run: DryRunOpt = False,
    take_over: TakeOverOpt = False,
    timeout: TimeoutOpt = 300.0,
    allow: AllowOpt = None,
    no_backup: NoBackupOpt = False,
    yes: YesOpt = False,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Lint, then apply the rendered manifests (server-side apply), wait for the rollout, verify, record
    a revision. Refuses (exit 15, also with --dry-run) on lint errors not waived with --allow RULE and
    on an image whose Redis cannot read the data; backs up the running Redis before an upgrade."""
    from redisops.k8s import render_manifests
    from redisops.ops.deploy import deploy

    with error_boundary(output):
        target = where.build(writing=None if dry_run else "deploy")
        cfg = target.config()
        manifests = render_manifests(cfg)
        with target, target.kube() as kube:
            result = deploy(
                kube,
                cfg,
                manifests,
                dry_run=dry_run,
                take_over=take_over,
                who=_who(),
                timeout=timeout,
                progress=progress_printer(output),
                confirm=_confirmer(output, yes, kube, "apply"),
                allow=allow or (),
                store=_store(target),
                backup=not no_backup,
            )
            emit(output, _result_json(result, kube), lambda: _print_result(result))


@_cluster_rw
def rollback_cmd(
    to: Annotated[
        int | None, typer.Option("--to", min=1, help="revision to roll back to [default: previous]")
    ] = None,
    dry_run: DryRunOpt = False,
    take_over: TakeOverOpt = False,
    timeout: TimeoutOpt = 300.0,
    no_backup: NoBackupOpt = False,
    yes: YesOpt = False,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Re-apply a recorded revision, wait, verify and record a new revision ("rollback to N").
    Refuses (exit 15, also with --dry-run) a Redis image that cannot read the data."""
    from redisops.ops.deploy import rollback

    with error_boundary(output):
        target = where.build(writing=None if dry_run else "roll back")
        cfg = target.config()
        with target, target.kube() as kube:
            result = rollback(
                kube,
                cfg,
                to,
                dry_run=dry_run,
                take_over=take_over,
                who=_who(),
                timeout=timeout,
                progress=progress_printer(output),
                confirm=_confirmer(output, yes, kube, "rollback:"),
                store=_store(target),
                backup=not no_backup,
            )
            emit(output, _result_json(result, kube), lambda: _print_result(result))


@_cluster
def history_cmd(
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """The recorded revisions (who, when, what) of the deployment."""
    from redisops.ops.deploy import history

    with error_boundary(output):
        target = where.build()
        cfg = target.config()
        with target, target.kube() as kube:
            revs = history(kube, cfg)
        data = [
            {k: v for k, v in to_jsonable(r).items() if k != "manifests"} | {"objects": len(r.manifests)}
            for r in revs
        ]

        def text() -> None:
            if not revs:
                console.print(f"no revisions of {cfg.service_name} recorded in namespace {cfg.namespace}")
                return
            table = Table(title=f"{cfg.service_name} in {cfg.namespace}")
            for col in ("rev", "when", "who", "status", "checksum", "what"):
                table.add_column(col, overflow="fold")
            for r in revs:
                style = "green" if r.status == "deployed" else "red"
                table.add_row(
                    str(r.number),
                    r.when,
                    r.who,
                    f"[{style}]{r.status}[/{style}]",
                    r.config_checksum[:12],
                    r.what,
                )
            console.print(table)

        emit(output, data, text)


@_cluster_rw
def restart_cmd(
    deployments: Annotated[
        list[str] | None,
        typer.Argument(help="Deployments to restart [default: the config's client services]"),
    ] = None,
    timeout: TimeoutOpt = 300.0,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Rolling-restart Deployments (kubectl rollout restart) one by one and wait for each."""
    from redisops.ops.services import restart_services

    with error_boundary(output):
        target = where.build(writing="restart deployments")
        cfg = target.config()
        names = deployments or list(cfg.clients.services)
        with target, target.kube() as kube:
            results = restart_services(
                kube, cfg.namespace, names, timeout=timeout, progress=progress_printer(output)
            )

        def text() -> None:
            table = Table(title=f"restart in {cfg.namespace}")
            for col in ("deployment", "result", "seconds", "reason"):
                table.add_column(col, overflow="fold")
            for r in results:
                mark = "[green]ok[/green]" if r.ok else "[bold red]failed[/bold red]"
                table.add_row(r.name, mark, f"{r.elapsed_s:.1f}", r.reason)
            console.print(table)

        emit(output, {"namespace": cfg.namespace, "services": results}, text)
        if not all(r.ok for r in results):
            raise typer.Exit(1)


@_cluster
def verify_clients_cmd(
    deployments: Annotated[
        list[str] | None, typer.Argument(help="client Deployments [default: the config's client services]")
    ] = None,
    tail: Annotated[int, typer.Option("--tail", min=1, max=100000, help="log lines to scan per pod")] = 200,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Check that client pods reach Redis (nc -zv from inside) and their logs show no Redis errors."""
    from redisops.ops.services import verify_clients

    with error_boundary(output):
        target = where.build()
        cfg = target.config()
        with target, target.kube() as kube:
            checks = verify_clients(
                kube, cfg, deployments or None, tail=tail, progress=progress_printer(output)
            )
        data = {
            "namespace": cfg.namespace,
            "target": f"{cfg.service_dns}:{cfg.port}",
            "clients": [to_jsonable(c) | {"ok": c.ok} for c in checks],
        }

        def text() -> None:
            table = Table(title=f"clients of {cfg.service_dns}:{cfg.port}")
            for col in ("service", "pod", "reach", "log errors / problem"):
                table.add_column(col, overflow="fold")
            for c in checks:
                reach = {True: "[green]yes[/green]", False: "[bold red]no[/bold red]", None: "[dim]?[/dim]"}
                notes = [c.problem] if c.problem else []
                notes += c.log_errors or ([] if c.reachable else [c.connect_output])
                table.add_row(c.service, c.pod or "-", reach[c.reachable], "\n".join(n for n in notes if n))
            console.print(table)

        emit(output, data, text)
        if not all(c.ok for c in checks):
            raise typer.Exit(1)


# --- rendering -------------------------------------------------------------------------------------


def _result_json(result: DeployResult, kube: Kube) -> dict[str, Any]:
    plan = result.plan
    return {
        "namespace": result.namespace,
        "context": kube.context,
        "dry_run": result.dry_run,
        "applied": result.applied,
        "revision": result.revision,
        "what": result.what,
        "backup_id": result.backup_id,
        "lint": [f.to_dict() for f in result.lint],
        "plan": {
            "summary": plan.summary(),
            "changed": plan.changed,
            "notes": plan.notes,
            "changes": [
                {
                    "kind": c.kind,
                    "name": c.name,
                    "namespace": c.namespace,
                    "action": c.action,
                    "diff": c.diff,
                    "helm_release": c.helm_release,
                }
                for c in plan.changes
            ],
        },
        "rollouts": to_jsonable(result.rollouts),
        "checks": to_jsonable(result.checks),
        "ok": result.ok,
        "elapsed_s": result.elapsed_s,
    }


def _print_plan(plan: DeployPlan) -> None:
    if not plan.namespace_exists:
        console.print(Text(f"+ Namespace/{plan.namespace} (create)", style="green"))
    for c in plan.changes:
        if c.action == "unchanged":
            continue
        style = _ACTION_STYLE[c.action]
        console.print(Text(f"{c.action:>9} {c.ref}", style=style))
        for line in c.diff[:60]:
            console.print(Text(f"          {line}"), soft_wrap=True)
        if len(c.diff) > 60:
            console.print(Text(f"          ... {len(c.diff) - 60} more lines", style="dim"))
    for note in plan.notes:
        console.print(Text(f"note: {note}", style="yellow"), soft_wrap=True)
    console.print(f"plan: {plan.summary()}")


def _print_result(result: DeployResult) -> None:
    if result.dry_run:
        _print_plan(result.plan)
        console.print("[dim]dry run: nothing was changed[/dim]")
        return
    if not result.applied:  # else the plan (with its notes) was shown before applying
        for note in result.plan.notes:
            console.print(Text(f"note: {note}", style="yellow"), soft_wrap=True)
    if result.backup_id:
        console.print(f"backup {result.backup_id} taken before the upgrade", soft_wrap=True)
    for r in result.rollouts:
        console.print(f"rollout {r.name}: {r.message} in {r.elapsed_s:.1f}s ({', '.join(r.pods)})")
    for c in result.checks:
        mark = "[green]ok[/green]  " if c.ok else "[bold red]FAIL[/bold red]"
        console.print(f"{mark} {c.name}: {c.detail}", soft_wrap=True)
    if result.revision is not None:
        console.print(f"recorded revision {result.revision}: {result.what}", soft_wrap=True)
    else:
        console.print("no changes: nothing recorded")
