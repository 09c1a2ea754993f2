"""Catalogue entries of the ElastiCache snapshot path: ``elasticache.snapshot`` and ``elasticache.export``
(both mutate: they create a snapshot, an exported object and a backup, and delete nothing).

The AWS side is the target's (:func:`redisops.ops.elasticache.aws_side`): for the sandbox target its
AWS emulator, replication group and export bucket are the defaults; elsewhere AWS as the environment
says (``AWS_REGION``, ``REDISOPS_AWS_ENDPOINT_URL``, the default credential chain). Plans only read.

``elasticache.decommission`` (issue 14 item 8) is registered here too once it is built: see the marked
place in :func:`register`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from redisops.errors import InvalidArgument, NotFoundError, RedisOpsError
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation, Plan

if TYPE_CHECKING:
    from redisops.ops.elasticache import AwsSide, ExportResult, SnapshotResult

__all__ = ["ExportParams", "SnapshotParams", "register"]

_NAME = r"^[A-Za-z][A-Za-z0-9-]{0,254}$"


class SnapshotParams(BaseModel):
    """Parameters of ``elasticache.snapshot``."""

    model_config = ConfigDict(extra="forbid")

    replication_group: str | None = Field(
        None, pattern=_NAME, description="the replication group to snapshot [default: the sandbox's group]"
    )
    name: str | None = Field(
        None,
        pattern=_NAME,
        description="the snapshot's name [default: <group>-<UTC time>, e.g. g-20261207T0412Z]",
    )
    timeout: float = Field(
        3600.0, ge=1, le=86400, description="seconds to wait for the snapshot to be available"
    )
    poll_interval: float = Field(5.0, ge=0.05, le=300, description="seconds between DescribeSnapshots polls")


class ExportParams(BaseModel):
    """Parameters of ``elasticache.export``."""

    model_config = ConfigDict(extra="forbid")

    snapshot: str = Field(..., pattern=_NAME, description="the ElastiCache snapshot to export")
    bucket: str | None = Field(
        None,
        min_length=3,
        max_length=63,
        description="the bucket ElastiCache exports into (it must grant ElastiCache READ, WRITE and "
        "READ_ACP, or allow its service principal) [default: the sandbox's export bucket]",
    )
    target_name: str | None = Field(
        None,
        pattern=_NAME,
        description="the exported snapshot's name (the file is <name>-0001.rdb) [default: <snapshot>-export]",
    )
    source: str | None = Field(
        None,
        min_length=1,
        max_length=63,
        description="the backup store's source name the backup is filed "
        "under [default: the config's service name, which restore reads]",
    )
    keep_export: bool = Field(True, description="keep the exported RDB in the bucket after the import")


def _side(ctx: OpContext) -> AwsSide:
    from redisops.ops.elasticache import aws_side

    return aws_side(ctx.target)


def _needed(value: str | None, message: str, hint: str) -> str:
    """``value``, which the operation cannot do without: None is InvalidArgument(message, hint)."""
    if value is None:
        raise InvalidArgument(message, hint=hint)
    return value


def _group(side: AwsSide, given: str | None) -> str:
    return _needed(
        given or side.group,
        "replication_group: which ElastiCache replication group?",
        "pass replication_group (CLI: --replication-group ID); the sandbox has a default",
    )


def _snapshot_name(p: SnapshotParams, group: str) -> str:
    return p.name or f"{group}-{time.strftime('%Y%m%dT%H%MZ', time.gmtime())}"


def run_snapshot(ctx: OpContext, p: SnapshotParams) -> SnapshotResult:
    """``elasticache.snapshot``: CreateSnapshot and wait until it is available."""
    from redisops.ops.elasticache import snapshot_group

    side = _side(ctx)
    group = _group(side, p.replication_group)
    return snapshot_group(
        side.aws,
        group,
        _snapshot_name(p, group),
        timeout=p.timeout,
        interval=p.poll_interval,
        reporter=ctx.reporter,
        cancel=ctx.cancel,
    )


def plan_snapshot(ctx: OpContext, p: SnapshotParams) -> Plan:
    """The group must exist and be available; the name must be free."""
    side = _side(ctx)
    group = _group(side, p.replication_group)
    name = _snapshot_name(p, group)
    blockers: list[str] = []
    details: dict[str, object] = {"replication_group": group, "snapshot": name}
    try:
        rg = side.aws.replication_group(group)
        details.update(status=rg.status, endpoint=f"{rg.host}:{rg.port}", shards=rg.shards)
        if rg.status != "available":
            blockers.append(f"the replication group {group} is {rg.status}, not available")
    except NotFoundError as e:
        blockers.append(e.message)
    if side.aws.snapshot(name) is not None:
        blockers.append(f"a snapshot named {name} exists already: pick another name")
    steps = (
        f"CreateSnapshot {name} of replication group {group}",
        f"poll DescribeSnapshots every {p.poll_interval:g}s until it is available (at most {p.timeout:g}s)",
    )
    return Plan("elasticache.snapshot", steps=steps, blockers=tuple(blockers), details=details)


def _bucket(side: AwsSide, given: str | None) -> str:
    return _needed(
        given or side.export_bucket,
        "bucket: which bucket should ElastiCache export into?",
        "pass bucket (CLI: --bucket NAME); it must grant ElastiCache access (see the plan)",
    )


def run_export(ctx: OpContext, p: ExportParams) -> ExportResult:
    """``elasticache.export``: CopySnapshot to the bucket, then import ``-0001.rdb`` as a backup."""
    from redisops.ops.elasticache import export_snapshot

    side = _side(ctx)
    store = ctx.target.store(p.source)
    store.on_notice = ctx.reporter.warning
    return export_snapshot(
        side.aws,
        side.s3(_bucket(side, p.bucket)),
        store,
        p.snapshot,
        region=side.region,
        target_name=p.target_name,
        keep_export=p.keep_export,
        reporter=ctx.reporter,
        cancel=ctx.cancel,
    )


def plan_export(ctx: OpContext, p: ExportParams) -> Plan:
    """The snapshot must be available, the bucket must grant ElastiCache access, the file must be new."""
    from redisops.ops.elasticache import export_blockers

    side = _side(ctx)
    bucket = _bucket(side, p.bucket)
    s3 = side.s3(bucket)
    name = p.target_name or f"{p.snapshot}-export"
    key = f"{name}-0001.rdb"
    blockers = export_blockers(s3, bucket, side.region)
    snap = side.aws.snapshot(p.snapshot)
    if snap is None:
        blockers.append(
            f"there is no ElastiCache snapshot {p.snapshot} (take one: redisops elasticache snapshot)"
        )
    elif snap.status != "available":
        blockers.append(f"the snapshot {p.snapshot} is {snap.status}, not available")
    try:
        if not blockers and s3.exists(key):
            blockers.append(f"s3://{bucket}/{key} exists already: pass another target_name")
    except RedisOpsError as e:
        blockers.append(e.message)
    store = ctx.target.store(p.source)
    steps = (
        f"check that bucket {bucket} grants ElastiCache READ, WRITE and READ_ACP (or its service principal)",
        f"CopySnapshot {p.snapshot} -> {name} into s3://{bucket}/ (ElastiCache writes {key})",
        f"stream {key} into the backup store of {store.source} as dump.rdb, verifying the RDB (header, "
        "CRC-64) and counting keys per db for the manifest, written last",
        "keep the exported file" if p.keep_export else f"delete s3://{bucket}/{key} after the import",
    )
    details = {"snapshot": p.snapshot, "bucket": bucket, "key": key, "source": store.source}
    return Plan("elasticache.export", steps=steps, blockers=tuple(blockers), details=details)


def register(cat: Catalogue) -> None:
    """Add the ElastiCache operations."""
    for op in (
        Operation(
            "elasticache.snapshot",
            "Snapshot an ElastiCache replication group and wait until it is available.",
            Kind.mutate,
            SnapshotParams,
            run_snapshot,
            plan_snapshot,
        ),
        Operation(
            "elasticache.export",
            "Export an ElastiCache snapshot to S3 and import its RDB as a redisops backup (restore-able).",
            Kind.mutate,
            ExportParams,
            run_export,
            plan_export,
        ),
        # elasticache.decommission (issue 14 item 8, Kind.destructive) goes here: its entry registers
        # in this loop, its engine in redisops/ops/elasticache_decommission.py
    ):
        cat.register(op)
