"""``redisops migrate cutover | rollback``: point the clients at the new Redis, and back to ElastiCache.

Thin renderings of ``migrate.cutover`` and ``migrate.rollback`` (:mod:`redisops.ops.cutover`): the plan
is shown and confirmed (``--yes`` skips the question), ``--dry-run`` prints it and changes nothing
(exit 15 when blocked), ``-o json`` prints one JSON object. Exit 1 when the clients do not check out
afterwards (the record is kept: ``migrate rollback`` undoes the cutover), 22 when the first verify
finds differences (nothing was changed).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from redisops.cli import _oprun
from redisops.cli.common import DryRunOpt, Output, OutputOpt, YesOpt, console, error_boundary
from redisops.cli.migrate_options import SourceArgs, with_source
from redisops.cli.options import TargetArgs, with_target

__all__ = ["register"]

TimeoutOpt = Annotated[
    float, typer.Option("--wait-timeout", min=1, help="seconds to wait for the deployment / read-back")
]
PollOpt = Annotated[float, typer.Option("--poll-interval", min=0.01, help="seconds between read-back polls")]
HclOpt = Annotated[
    Path | None, typer.Option("--hcl-file", help="terraform mode: also write the HCL diff to this file")
]
RestartTimeoutOpt = Annotated[
    float, typer.Option("--restart-timeout", min=1, help="seconds to wait for each rollout")
]


class Mode(enum.StrEnum):
    """How the AppConfig endpoint is switched."""

    api = "api"
    terraform = "terraform"


class HelmOwned(enum.StrEnum):
    """What to do with NetworkPolicies a Helm release owns."""

    skip = "skip"
    edit = "edit"


def _checks(clients: list[dict[str, Any]]) -> None:
    for c in clients:
        mark = "ok" if c["ok"] else "FAILED"
        console.print(f"  {c['check']}: {mark} {c['detail'] or ''}", markup=False, soft_wrap=True)


def _cutover_text(r: Any) -> None:
    console.print(
        f"cutover {r.record_id}: {r.previous_endpoint} -> {r.new_endpoint} "
        f"(AppConfig version {r.previous_version} -> {r.new_version})",
        markup=False,
    )
    console.print(f"record: {', '.join(r.saved_to)}", markup=False, soft_wrap=True)
    _checks(r.clients)
    for w in r.warnings:
        console.print(f"  note: {w}", markup=False, soft_wrap=True, style="yellow")


def _rollback_text(r: Any) -> None:
    console.print(f"rolled back {r.record_id}: clients read {r.endpoint} (version {r.version})", markup=False)
    _checks(r.clients)
    if r.copy_back:
        console.print(f"copied back: {r.copy_back.get('scope')}", markup=False, soft_wrap=True)


# command -> (what the target is built for, the confirmation question, the text rendering of the result)
_COMMANDS: dict[str, tuple[str, str, Callable[[Any], None]]] = {
    "cutover": ("cut the clients over", "cut the clients over?", _cutover_text),
    "rollback": ("roll the clients back to ElastiCache", "roll the clients back?", _rollback_text),
}


def _plan_or_run(
    where: TargetArgs, command: str, params: dict[str, Any], output: Output, *, dry_run: bool, yes: bool
) -> None:
    """``migrate.<command>`` on the target: with ``dry_run`` the plan is printed; else the plan is
    confirmed (``yes`` skips the question), the operation run and its result printed (exit 1 when the
    clients do not check out)."""
    writing, question, text = _COMMANDS[command]
    t = where.build(writing=writing)
    op, title = f"migrate.{command}", f"migrate {command}"
    r = _oprun.plan_or_run(
        t,
        op,
        params,
        output,
        dry_run=dry_run,
        yes=yes,
        question=question,
        title=title,
        label=title,
        text=text,
    )
    if r is not None and not r.ok:
        raise typer.Exit(1)


def cutover(
    mode: Annotated[
        Mode,
        typer.Option(
            "--mode",
            help="api: deploy through AppConfig; terraform: print the "
            "main.tf change and wait for the read-back",
        ),
    ] = Mode.api,
    application: Annotated[str | None, typer.Option("--application", help="AppConfig application ID")] = None,
    environment: Annotated[str | None, typer.Option("--environment", help="AppConfig environment ID")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AppConfig configuration profile ID")
    ] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="AppConfig deployment strategy")] = None,
    host: Annotated[str | None, typer.Option("--host", help="the new endpoint's host")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="the new endpoint's port")
    ] = None,
    hcl_file: HclOpt = None,
    wait_timeout: TimeoutOpt = 1800.0,
    poll_interval: PollOpt = 2.0,
    helm_owned: Annotated[
        HelmOwned,
        typer.Option(
            "--helm-owned", help="Helm-owned NetworkPolicies: skip (say what to change) or edit anyway"
        ),
    ] = HelmOwned.skip,
    replication_group: Annotated[
        str | None, typer.Option("--replication-group", help="the source's group")
    ] = None,
    restart: Annotated[
        list[str] | None,
        typer.Option("--restart", help="a Deployment to restart (repeat) [default: the config's clients]"),
    ] = None,
    restart_timeout: RestartTimeoutOpt = 300.0,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="skip the verify before switching")] = False,
    rollback_window_hours: Annotated[
        float, typer.Option("--rollback-window-hours", min=0, help="hours before a decommission may run")
    ] = 48.0,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    *,
    where: TargetArgs,
    source: SourceArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Point the clients at the new Redis: verify, egress NetworkPolicy, AppConfig (API or Terraform),
    restarts, egress to ElastiCache removed, client checks; recorded for migrate rollback."""
    params: dict[str, Any] = {
        **source.params(),
        "mode": mode.value,
        "application": application,
        "environment": environment,
        "profile": profile,
        "strategy": strategy,
        "host": host,
        "port": port,
        "hcl_file": str(hcl_file) if hcl_file else None,
        "timeout": wait_timeout,
        "poll_interval": poll_interval,
        "helm_owned": helm_owned.value,
        "replication_group": replication_group,
        "restart": restart,
        "restart_timeout": restart_timeout,
        "verify": not no_verify,
        "rollback_window_hours": rollback_window_hours,
    }
    with error_boundary(output):
        _plan_or_run(where, "cutover", params, output, dry_run=dry_run, yes=yes)


def rollback(
    record: Annotated[
        str | None, typer.Option("--record", help="the cutover record id [default: the newest]")
    ] = None,
    hcl_file: HclOpt = None,
    wait_timeout: TimeoutOpt = 1800.0,
    poll_interval: PollOpt = 2.0,
    restart_timeout: RestartTimeoutOpt = 300.0,
    copy_back: Annotated[
        bool,
        typer.Option(
            "--copy-back",
            help="copy the new Redis back into the source (whole keyspace with REPLACE; needs --yes)",
        ),
    ] = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    *,
    where: TargetArgs,
    source: SourceArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Revert the last cutover: the previous AppConfig content deployed again, the NetworkPolicies put
    back, restarts, the read-back checked; --copy-back copies the new writes to the source."""
    params: dict[str, Any] = {
        **source.params(),
        "record": record,
        "hcl_file": str(hcl_file) if hcl_file else None,
        "timeout": wait_timeout,
        "poll_interval": poll_interval,
        "restart_timeout": restart_timeout,
        "copy_back": copy_back,
    }
    with error_boundary(output):
        _plan_or_run(where, "rollback", params, output, dry_run=dry_run, yes=yes)


def register(migrate_app: typer.Typer) -> None:
    """Add ``cutover`` and ``rollback`` to the ``migrate`` group."""
    for name, fn in (("cutover", cutover), ("rollback", rollback)):
        command = with_target(timeout=10.0, state_dir=True, read_write=True)(with_source()(fn))
        migrate_app.command(name)(command)
