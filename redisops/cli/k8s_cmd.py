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

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from redisops.cli import _oprun
from redisops.cli._oprun import Line
from redisops.cli.common import Output, OutputOpt, YesOpt, console, emit, error_boundary
from redisops.cli.options import ContextOpt, KubeconfigOpt, NamespaceOpt, TargetArgs, with_target
from redisops.errors import ConfigError

if TYPE_CHECKING:
    from redisops.ops.api_deploy import ClientsReport, DeployHistory, DeployResult, RestartReport
    from redisops.ops.catalogue import Plan
    from redisops.ops.target import Target

__all__ = ["ContextOpt", "KubeconfigOpt", "NamespaceOpt", "register"]

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
AllowOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        metavar="RULE",
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


#: what a missing kubeconfig's hint adds: the commands here need a cluster, which the sandbox does not have
NEEDS_CLUSTER = (
    "these commands need a Kubernetes cluster (--kubeconfig/--context, or a --target with one); "
    "the local sandbox has none (its target is a plain redis-server)"
)


@contextmanager
def _cluster_boundary(output: Output) -> Iterator[None]:
    """:func:`error_boundary`, and a missing kubeconfig's hint says why a cluster is needed at all."""
    with error_boundary(output):
        try:
            yield
        except ConfigError as e:
            if "kubeconfig" not in e.context:
                raise
            raise ConfigError(e.message, hint=f"{e.hint}; {NEEDS_CLUSTER}", context=e.context) from None


def _where(target: Target, plan: Plan) -> str:
    context = target.kube().context
    ns = plan.details.get("namespace") or target.namespace
    return f"namespace {ns}" + (f" (context {context})" if context else "")


def _change(
    target: Target, op: str, params: dict[str, Any], output: Output, *, dry_run: bool, yes: bool, verb: str
) -> None:
    """A deploy or rollback: ``dry_run`` the diff only; else the diff shown and confirmed (unless
    --yes), applied, the result shown."""

    def question(plan: Plan) -> str:
        return f"{verb} {plan.details.get('summary', '')} in {_where(target, plan)}?"

    lines = _dry_plan_lines if dry_run else _plan_lines
    with target:
        result: DeployResult | None = _oprun.plan_or_run(
            target, op, params, output, dry_run=dry_run, yes=yes, question=question, lines=lines
        )
        if result is not None:
            context = target.kube().context
            emit(output, _result_json(result, context), lambda: _print_result(result, plan_shown=not yes))


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
    a revision (deploy.apply). Refuses (exit 15, also with --dry-run) on lint errors not waived with
    --allow RULE and on an image whose Redis cannot read the data; backs up the running Redis before an
    upgrade."""
    with _cluster_boundary(output):
        target = where.build(writing=None if dry_run else "deploy")
        params = {"allow": allow or [], "take_over": take_over, "no_backup": no_backup, "timeout": timeout}
        _change(target, "deploy.apply", params, output, dry_run=dry_run, yes=yes, verb="apply")


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
    """Re-apply a recorded revision, wait, verify and record a new revision ("rollback to N";
    deploy.rollback). Refuses (exit 15, also with --dry-run) a revision that is not recorded and a
    Redis image that cannot read the data."""
    with _cluster_boundary(output):
        target = where.build(writing=None if dry_run else "roll back")
        params = {"to": to, "take_over": take_over, "no_backup": no_backup, "timeout": timeout}
        _change(target, "deploy.rollback", params, output, dry_run=dry_run, yes=yes, verb="rollback:")


def _table(title: str, columns: tuple[str, ...], rows: Iterable[Sequence[str]]) -> None:
    """A table for people, every column folding long values."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@_cluster
def history_cmd(
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """The recorded revisions (who, when, what) of the deployment (deploy.history)."""
    with _cluster_boundary(output), where.build() as target:
        _oprun.run(target, "deploy.history", {}, output, text=_history_text)


def _history_text(hist: DeployHistory) -> None:
    if not hist.revisions:
        console.print(f"no revisions of {hist.service} recorded in namespace {hist.namespace}")
        return
    style = {True: "green", False: "red"}
    rows = [(str(r.number), r.when, r.who, f"[{style[r.status == 'deployed']}]{r.status}[/]",
             r.config_checksum[:12], r.what) for r in hist.revisions]  # fmt: skip
    _table(f"{hist.service} in {hist.namespace}", ("rev", "when", "who", "status", "checksum", "what"), rows)


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
    """Rolling-restart Deployments (kubectl rollout restart) one by one and wait for each
    (deploy.restart; exit 1 when any failed)."""
    with _cluster_boundary(output):
        params = {"deployments": deployments or [], "timeout": timeout}
        with where.build(writing="restart deployments") as target:
            report: RestartReport = _oprun.run(target, "deploy.restart", params, output, text=_restart_text)
        if not report.ok:
            raise typer.Exit(1)


def _restart_text(report: RestartReport) -> None:
    mark = {True: "[green]ok[/green]", False: "[bold red]failed[/bold red]"}
    rows = [(r.name, mark[r.ok], f"{r.elapsed_s:.1f}", r.reason) for r in report.services]
    _table(f"restart in {report.namespace}", ("deployment", "result", "seconds", "reason"), rows)


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
    """Check that client pods reach Redis (nc -zv from inside) and their logs show no Redis errors
    (deploy.verify_clients; exit 1 when any client failed)."""
    with _cluster_boundary(output):
        params = {"deployments": deployments or [], "tail": tail}
        with where.build() as target:
            report: ClientsReport = _oprun.run(
                target, "deploy.verify_clients", params, output, text=_clients_text
            )
        if not report.ok:
            raise typer.Exit(1)


def _clients_text(report: ClientsReport) -> None:
    reach = {True: "[green]yes[/green]", False: "[bold red]no[/bold red]", None: "[dim]?[/dim]"}
    rows = []
    for c in report.clients:
        notes = [c.problem] if c.problem else []
        notes += c.log_errors or ([] if c.reachable else [c.connect_output])
        rows.append((c.service, c.pod or "-", reach[c.reachable], "\n".join(n for n in notes if n)))
    _table(f"clients of {report.target}", ("service", "pod", "reach", "log errors / problem"), rows)


# --- rendering -------------------------------------------------------------------------------------


def _result_json(result: DeployResult, context: str | None) -> dict[str, Any]:
    from redisops.events import jsonable

    plan = result.plan
    return {
        "namespace": result.namespace,
        "context": context,
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
        "rollouts": jsonable(result.rollouts),
        "checks": jsonable(result.checks),
        "ok": result.ok,
        "elapsed_s": result.elapsed_s,
    }


def _diff_lines(plan: Plan) -> list[Line]:
    """A deploy or rollback plan for people: each changed object with its diff."""
    details = plan.details
    lines = [
        Line(f"+ {step.removeprefix('create ')} (create)", "green")
        for step in plan.steps
        if step.startswith("create Namespace/")
    ]
    for c in details.get("changes") or []:
        action = str(c.get("action"))
        if action == "unchanged":
            continue
        lines.append(Line(f"{action:>9} {c.get('kind')}/{c.get('name')}", _ACTION_STYLE.get(action, "")))
        diff = list(c.get("diff") or [])
        lines += [Line(f"          {line}") for line in diff[:60]]
        if len(diff) > 60:
            lines.append(Line(f"          ... {len(diff) - 60} more lines", "dim"))
    if "summary" in details:
        lines.append(Line(f"plan: {details['summary']}"))
    return lines


def _plan_lines(plan: Plan) -> list[Line | str]:
    """The diff, then the notes and blockers (the plan's warnings and blockers)."""
    return _oprun.plan_lines(plan, body=_diff_lines(plan))


def _dry_plan_lines(plan: Plan) -> list[Line | str]:
    """``--dry-run``: the diff, "nothing was changed" (unless blocked), the notes and blockers."""
    done = [] if plan.blocked else [Line("dry run: nothing was changed", "dim")]
    return _oprun.plan_lines(plan, body=_diff_lines(plan) + done)


def _print_result(result: DeployResult, *, plan_shown: bool) -> None:
    if not plan_shown or not result.applied:  # else the plan (with its notes) was shown before applying
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
