"""``redisops elasticache decommission``: delete the replication group after its guard rails.

Renders ``elasticache.decommission`` (:mod:`redisops.ops.elasticache_decommission`): the rails
(clients, verify, backup, rollback window) are checked first, each refusal naming its rail (exit 15);
the confirmation names the replication group (``--yes`` skips it); ``--dry-run`` prints the plan;
``-o json`` one JSON object.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from redisops.cli import _oprun
from redisops.cli.common import DryRunOpt, Output, OutputOpt, YesOpt, console, error_boundary
from redisops.cli.migrate_options import SourceArgs, with_source
from redisops.cli.options import TargetArgs, with_target

__all__ = ["PollIntervalOpt", "group_option", "register"]

PollIntervalOpt = Annotated[
    float, typer.Option("--poll-interval", min=0.05, help="seconds between DescribeSnapshots polls")
]


def group_option(what: str) -> Any:
    """``--replication-group ID``: the group the command acts on (``what`` it does to it)."""
    return typer.Option(
        "--replication-group", metavar="ID", help=f"the group to {what} [default: the sandbox's]"
    )


def decommission(
    replication_group: Annotated[str | None, group_option("delete")] = None,
    final_snapshot: Annotated[
        str | None,
        typer.Option(
            "--final-snapshot", help="the final snapshot's name [default: <group>-final-<UTC time>]"
        ),
    ] = None,
    quiet_seconds: Annotated[
        float, typer.Option("--quiet-seconds", min=0, help="seconds the source must have no client")
    ] = 60.0,
    sample_interval: Annotated[
        float, typer.Option("--sample-interval", min=0.05, help="seconds between CLIENT LIST samples")
    ] = 5.0,
    verify_max_age_hours: Annotated[
        float, typer.Option("--verify-max-age-hours", min=0.001, help="age limit of the verify report")
    ] = 24.0,
    rollback_window_hours: Annotated[
        float | None,
        typer.Option(
            "--rollback-window-hours", min=0, help="hours after the cutover [default: the record's]"
        ),
    ] = None,
    backup_source: Annotated[
        str | None, typer.Option("--backup-source", help="the new Redis's source name in the backup store")
    ] = None,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", min=1, help="seconds to wait for the final snapshot")
    ] = 3600.0,
    poll_interval: PollIntervalOpt = 5.0,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    *,
    where: TargetArgs,
    source: SourceArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Delete the ElastiCache replication group with a final snapshot, once no client uses the source,
    a fresh verify is clean, the newest backup verifies and the rollback window is over."""
    params: dict[str, Any] = {
        **source.params(),
        "replication_group": replication_group,
        "final_snapshot": final_snapshot,
        "quiet_seconds": quiet_seconds,
        "sample_interval": sample_interval,
        "verify_max_age_hours": verify_max_age_hours,
        "rollback_window_hours": rollback_window_hours,
        "backup_source": backup_source,
        "timeout": wait_timeout,
        "poll_interval": poll_interval,
    }
    with error_boundary(output):

        def question(plan: Any) -> str:
            group = plan.details.get("replication_group")
            return f"delete replication group {group} for good (rollback to ElastiCache becomes impossible)?"

        _oprun.plan_or_run(
            where.build(writing="delete an ElastiCache replication group"), "elasticache.decommission",
            params, output, dry_run=dry_run, yes=yes, question=question,
            title="elasticache decommission", label="elasticache decommission", text=_text,
        )  # fmt: skip


def _text(r: Any) -> None:
    console.print(
        f"replication group {r.replication_group} is {r.status}; "
        f"final snapshot {r.final_snapshot} is {r.final_snapshot_status}",
        markup=False,
    )


def register(elasticache_app: typer.Typer) -> None:
    """Add ``decommission`` to the ``elasticache`` group."""
    command = with_target(timeout=10.0, state_dir=True, read_write=True)(with_source()(decommission))
    elasticache_app.command("decommission")(command)
