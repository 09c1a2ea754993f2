"""``redisops elasticache snapshot | export``: the snapshot path off ElastiCache.

Thin renderings of ``elasticache.snapshot`` and ``elasticache.export``: the sandbox target defaults to
its replication group and export bucket; elsewhere AWS as the environment says (AWS_REGION,
REDISOPS_AWS_ENDPOINT_URL, the default credential chain). ``--dry-run`` prints the plan (exit 15 when
blocked); ``-o json`` prints one JSON object. ``elasticache decommission`` joins these commands when it
is built (issue 14 item 8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from redisops.cli import _oprun
from redisops.cli.common import DryRunOpt, Output, OutputOpt, console, error_boundary
from redisops.cli.elasticache_decommission_cmd import PollIntervalOpt, group_option
from redisops.cli.elasticache_decommission_cmd import register as register_decommission
from redisops.cli.options import TargetArgs, with_target

if TYPE_CHECKING:
    from redisops.ops.elasticache import ExportResult, SnapshotResult

app = typer.Typer(
    help="ElastiCache: snapshot a replication group, export a snapshot into a redisops backup.",
    no_args_is_help=True,
)

_changes = with_target(timeout=10.0, state_dir=True, read_write=True)


@app.command()
@_changes
def snapshot(
    replication_group: Annotated[str | None, group_option("snapshot")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="the snapshot's name [default: <group>-<UTC time>]")
    ] = None,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", help="seconds to wait until it is available", min=1)
    ] = 3600.0,
    poll_interval: PollIntervalOpt = 5.0,
    dry_run: DryRunOpt = False,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Snapshot an ElastiCache replication group and wait until the snapshot is available."""
    params = {
        "replication_group": replication_group,
        "name": name,
        "timeout": wait_timeout,
        "poll_interval": poll_interval,
    }
    with error_boundary(output):
        _oprun.plan_or_run(
            where.build(writing="snapshot ElastiCache"), "elasticache.snapshot", params, output,
            dry_run=dry_run, title="elasticache snapshot", label="elasticache snapshot", text=_snapshot_text,
        )  # fmt: skip


def _snapshot_text(r: SnapshotResult) -> None:
    console.print(
        f"snapshot {r.snapshot} of {r.replication_group} is {r.status} ({r.seconds:.1f}s, {r.polls} polls)"
    )


@app.command()
@_changes
def export(
    snapshot_name: Annotated[
        str, typer.Argument(help="the ElastiCache snapshot to export", metavar="SNAPSHOT")
    ],
    bucket: Annotated[
        str | None,
        typer.Option(
            "--bucket", help="the bucket ElastiCache exports into [default: the sandbox's export bucket]"
        ),
    ] = None,
    export_name: Annotated[
        str | None,
        typer.Option("--export-name", help="the exported snapshot's name (file <name>-0001.rdb)"),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="the backup store's source name [default: the config's service name]"),
    ] = None,
    delete_export: Annotated[
        bool, typer.Option("--delete-export", help="delete the exported RDB from the bucket after the import")
    ] = False,
    dry_run: DryRunOpt = False,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Export a snapshot to S3 (CopySnapshot; the bucket's grants are checked first) and import the RDB
    as a redisops backup, which ``redisops restore`` restores."""
    params = {
        "snapshot": snapshot_name,
        "bucket": bucket,
        "target_name": export_name,
        "source": source,
        "keep_export": not delete_export,
    }
    with error_boundary(output):
        writing = "export an ElastiCache snapshot into the backup store"
        _oprun.plan_or_run(
            where.build(writing=writing), "elasticache.export", params, output,
            dry_run=dry_run, title="elasticache export", label="elasticache export", text=_export_text,
        )  # fmt: skip


def _export_text(r: ExportResult) -> None:
    keys = sum(c["keys"] for c in r.key_counts.values())
    dbs = ", ".join(f"db{db} {c['keys']}" for db, c in sorted(r.key_counts.items()))
    console.print(
        f"exported {r.snapshot} to s3://{r.bucket}/{r.key} ({r.size} bytes, RDB {r.rdb_version}); "
        f"imported as backup {r.backup_id} of {r.source}: {keys} keys ({dbs})"
    )
    console.print(f"restore it with: redisops restore {r.backup_id}")


register_decommission(app)
