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
from redisops.cli.common import Output, OutputOpt, console, emit, error_boundary
from redisops.cli.elasticache_decommission_cmd import register as register_decommission
from redisops.cli.options import TargetArgs, with_target

if TYPE_CHECKING:
    from redisops.ops.elasticache import ExportResult, SnapshotResult

app = typer.Typer(
    help="ElastiCache: snapshot a replication group, export a snapshot into a redisops backup.",
    no_args_is_help=True,
)

_changes = with_target(timeout=10.0, state_dir=True, read_write=True)
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="show the plan; change nothing")]


@app.command()
@_changes
def snapshot(
    replication_group: Annotated[
        str | None,
        typer.Option(
            "--replication-group", help="the group to snapshot [default: the sandbox's]", metavar="ID"
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="the snapshot's name [default: <group>-<UTC time>]")
    ] = None,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", help="seconds to wait until it is available", min=1)
    ] = 3600.0,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="seconds between DescribeSnapshots polls", min=0.05)
    ] = 5.0,
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
        t = where.build(writing="snapshot ElastiCache")
        if dry_run:
            _oprun.dry_run(t, "elasticache.snapshot", params, output, title="elasticache snapshot")
            return
        r: SnapshotResult = _oprun.run(
            t, "elasticache.snapshot", params, output, label="elasticache snapshot"
        )
        emit(
            output,
            r,
            lambda: console.print(
                f"snapshot {r.snapshot} of {r.replication_group} is {r.status} "
                f"({r.seconds:.1f}s, {r.polls} polls)"
            ),
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
        t = where.build(writing="export an ElastiCache snapshot into the backup store")
        if dry_run:
            _oprun.dry_run(t, "elasticache.export", params, output, title="elasticache export")
            return
        r: ExportResult = _oprun.run(t, "elasticache.export", params, output, label="elasticache export")

        def text() -> None:
            keys = sum(c["keys"] for c in r.key_counts.values())
            dbs = ", ".join(f"db{db} {c['keys']}" for db, c in sorted(r.key_counts.items()))
            console.print(
                f"exported {r.snapshot} to s3://{r.bucket}/{r.key} ({r.size} bytes, RDB {r.rdb_version}); "
                f"imported as backup {r.backup_id} of {r.source}: {keys} keys ({dbs})"
            )
            console.print(f"restore it with: redisops restore {r.backup_id}")

        emit(output, r, text)


register_decommission(app)
