"""The snapshot path off ElastiCache (issue 14 item 5): snapshot a replication group, export the
snapshot to S3 and import the exported RDB as a redisops backup, which the existing ``restore``
restores.

* :func:`snapshot_group` — CreateSnapshot, then DescribeSnapshots until ``available`` (boto3 has no
  waiter for it).
* :func:`export_snapshot` — checks the bucket's grants first (:func:`export_blockers`), CopySnapshot
  with TargetBucket (ElastiCache writes ``<target name>-0001.rdb``), then streams that file into the
  backup store as ``dump.rdb``, verified and scanned on the way (header, CRC-64, per-db key counts by
  :mod:`redisops.rdb`), with a manifest written last as every backup's is.

The AWS side is the target's: the sandbox's emulator for the sandbox target, else AWS as the
environment says (:class:`~redisops.adapters.aws.AwsSettings.from_env`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redisops.adapters.aws import (
    ELASTICACHE_CANONICAL_USER,
    AwsAdapter,
    AwsSettings,
    SnapshotInfo,
    missing_export_grants,
)
from redisops.adapters.s3 import S3Adapter, S3Settings, translate_error
from redisops.cancel import CancelToken
from redisops.errors import (
    NotFoundError,
    OperationTimeout,
    PlanBlocked,
    PlatformError,
    VerificationError,
)
from redisops.events import Reporter
from redisops.rdb import RdbStreamVerifier

if TYPE_CHECKING:
    from redisops.backup import BackupStore, Manifest
    from redisops.ops.sandbox import SandboxState

__all__ = ["ExportResult", "SnapshotResult", "export_blockers", "export_snapshot", "snapshot_group"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class SnapshotResult:
    """What ``elasticache.snapshot`` made."""

    replication_group: str
    snapshot: str
    status: str
    seconds: float
    polls: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class ExportResult:
    """What ``elasticache.export`` did: the exported object and the backup it became."""

    snapshot: str
    bucket: str
    key: str
    size: int
    backup_id: str
    source: str
    rdb_version: int | None
    redis_version: str | None
    key_counts: dict[int, dict[str, int]]
    export_kept: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["key_counts"] = {str(db): c for db, c in self.key_counts.items()}
        return out


@dataclass(frozen=True)
class AwsSide:
    """The AWS adapter, region and default names a target uses (the sandbox's, or the environment's)."""

    aws: AwsAdapter
    region: str
    group: str | None
    export_bucket: str | None
    s3: Any  # a callable bucket -> S3Adapter


def aws_side(target: Any, store: BackupStore | None = None) -> AwsSide:
    """The AWS side of ``target``: the sandbox's emulator and export bucket when the target is the
    sandbox and its AWS side runs, else AWS from the environment (S3 as the target's backup config)."""
    state: SandboxState | None = None
    if getattr(target, "is_sandbox", False) or getattr(target, "name", None) in ("sandbox", "url"):
        from redisops.ops.sandbox import sandbox_status

        state = sandbox_status(getattr(target, "state_dir", None))
    if state is not None and state.aws and "aws" in state.services:
        from redisops.ops.sandbox_aws import sandbox_aws
        from redisops.ops.sandbox_store import sandbox_s3

        url = state.s3_url
        return AwsSide(
            sandbox_aws(state.aws_url),
            str(state.aws.get("region", "us-east-1")),
            state.aws.get("replication_group"),
            state.aws.get("export_bucket"),
            lambda bucket: sandbox_s3(url, bucket),
        )
    settings = AwsSettings.from_env()
    backup = target.config().backup

    def s3_for(bucket: str) -> S3Adapter:
        return S3Adapter(S3Settings.from_target(backup, bucket=bucket, region=settings.region))

    return AwsSide(AwsAdapter(settings), settings.region, None, None, s3_for)


def snapshot_group(
    aws: AwsAdapter,
    group: str,
    name: str,
    *,
    timeout: float = 3600.0,
    interval: float = 5.0,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> SnapshotResult:
    """CreateSnapshot of ``group`` named ``name`` and poll until it is ``available``.

    Raises:
        ConflictError: a snapshot of that name exists already (AWS refuses).
        OperationTimeout: not available after ``timeout`` (it keeps going in AWS).
        Interrupted: cancelled while polling (the snapshot keeps being made in AWS).
    """
    started = time.monotonic()
    if reporter:
        reporter.phase("creating", f"CreateSnapshot {name} of {group}")
    if cancel:
        cancel.check("before the snapshot was requested")
    snap: SnapshotInfo | None = aws.create_snapshot(group, name)
    polls = 0
    if reporter:
        reporter.phase("waiting", f"waiting for snapshot {name} to become available")
    while snap is None or snap.status != "available":
        if snap is None:
            raise NotFoundError(f"the snapshot {name} disappeared while it was being made")
        if snap.status in ("failed", "deleting"):
            raise PlatformError(
                f"the snapshot {name} of {group} is {snap.status}", hint="see the ElastiCache events"
            )
        if time.monotonic() - started >= timeout:
            raise OperationTimeout(
                f"the snapshot {name} is still {snap.status} after {timeout:.0f}s",
                hint="it keeps being made in AWS; export it once DescribeSnapshots says available "
                "(redisops elasticache export NAME --dry-run tells)",
            )
        if cancel:
            cancel.sleep(interval, "while waiting for the snapshot (it keeps being made in AWS)")
        else:
            time.sleep(interval)
        polls += 1
        snap = aws.snapshot(name)
        if reporter and snap is not None:
            reporter.log(f"snapshot {name}: {snap.status}")
    if reporter:
        reporter.log(f"snapshot {name} of {group} is available")
    return SnapshotResult(group, name, snap.status, round(time.monotonic() - started, 3), polls)


def export_blockers(s3: S3Adapter, bucket: str, region: str) -> list[str]:
    """Why ElastiCache could not export into ``bucket`` (empty: it can): missing bucket, other Region,
    missing ACL grants / policy statements."""
    client = s3.client
    try:
        loc = client.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        acl = client.get_bucket_acl(Bucket=bucket)
    except Exception as e:
        err = translate_error(e, op="GetBucketAcl", bucket=bucket)
        return [f"the export bucket {bucket} cannot be read: {err.message}"]
    if loc != region:
        return [f"the export bucket {bucket} is in {loc}; ElastiCache exports only within {region}"]
    try:
        policy = client.get_bucket_policy(Bucket=bucket).get("Policy")
    except Exception:
        policy = None
    missing = missing_export_grants(acl, policy, region)
    if not missing:
        return []
    return [
        f"the export bucket {bucket} does not grant ElastiCache {', '.join(missing)}: grant READ, WRITE "
        f"and READ_ACP to its canonical user (aws s3api put-bucket-acl --bucket {bucket} "
        f"--grant-read id={ELASTICACHE_CANONICAL_USER} --grant-write id={ELASTICACHE_CANONICAL_USER} "
        f"--grant-read-acp id={ELASTICACHE_CANONICAL_USER}), or allow the service principal "
        f"{region}.elasticache-snapshot.amazonaws.com in the bucket policy"
    ]


def _chunks(s3: S3Adapter, key: str, on_bytes: Any, cancel: CancelToken | None) -> Iterator[bytes]:
    done = 0
    for chunk in s3.iter_chunks(key, chunk_size=_CHUNK):
        if cancel:
            cancel.check("while importing the exported RDB")
        done += len(chunk)
        on_bytes(done)
        yield chunk


def export_snapshot(
    aws: AwsAdapter,
    export_s3: S3Adapter,
    store: BackupStore,
    snapshot: str,
    *,
    region: str,
    target_name: str | None = None,
    keep_export: bool = True,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Export ``snapshot`` into ``export_s3``'s bucket and import the RDB into ``store`` as a backup.

    Raises:
        PlanBlocked: the bucket does not grant ElastiCache what the export needs (nothing was called).
        NotFoundError: no such snapshot, or the exported object is missing.
        VerificationError: the exported RDB does not verify (the backup is not committed).
    """
    bucket = export_s3.bucket
    blockers = export_blockers(export_s3, bucket, region)
    if blockers:
        raise PlanBlocked("; ".join(blockers), context={"bucket": bucket})
    info = aws.snapshot(snapshot)
    if info is None:
        raise NotFoundError(
            f"there is no ElastiCache snapshot {snapshot}",
            hint="take one with: redisops elasticache snapshot",
        )
    name = target_name or f"{snapshot}-export"
    key = f"{name}-0001.rdb"
    if reporter:
        reporter.phase("exporting", f"CopySnapshot {snapshot} to s3://{bucket}/{key}")
    if cancel:
        cancel.check("before the export was requested")
    aws.export_snapshot(snapshot, name, bucket)
    try:
        head = export_s3.head(key)
    except NotFoundError:
        raise NotFoundError(
            f"ElastiCache reported the export of {snapshot}, but s3://{bucket}/{key} is not there",
            hint="with cluster mode each shard is one file (-0001, -0002 ...); check the bucket",
        ) from None
    manifest = _import(export_s3, store, key, head.size, info, reporter, cancel)
    if not keep_export:
        export_s3.delete(key)
    counts = {db: {"keys": c.keys, "expires": c.expires} for db, c in (manifest.key_counts or {}).items()}
    return ExportResult(
        snapshot=snapshot,
        bucket=bucket,
        key=key,
        size=head.size,
        backup_id=manifest.id,
        source=store.source,
        rdb_version=manifest.rdb_version,
        redis_version=manifest.redis_version,
        key_counts=counts,
        export_kept=keep_export,
    )


def _import(
    s3: S3Adapter,
    store: BackupStore,
    key: str,
    size: int,
    info: SnapshotInfo,
    reporter: Reporter | None,
    cancel: CancelToken | None,
) -> Manifest:
    if reporter:
        reporter.phase("importing", f"s3://{s3.bucket}/{key} into the backup store of {store.source}")

    def on_bytes(done: int) -> None:
        if reporter:
            reporter.progress(done, size, unit="bytes")

    with store.begin("rdb", datetime.now(UTC)) as writer:
        writer.write_object(
            "dump.rdb",
            _chunks(s3, key, on_bytes, cancel),
            expected_size=size,
            verifier=RdbStreamVerifier(sha256=False),
        )
        detail = writer.verification("dump.rdb")
        counts = getattr(detail, "db_key_counts", None)
        if counts is None:
            why = getattr(detail, "counts_unavailable_reason", None) or "unknown"
            raise VerificationError(
                f"the exported RDB s3://{s3.bucket}/{key} could not be scanned for key counts ({why})",
                hint="the backup was not committed; check the snapshot's engine version (RDB format)",
            )
        aux = dict(getattr(detail, "aux", {}) or {})
        if cancel:
            cancel.check("before the imported backup was committed")
        group = info.replication_group or "unknown"
        return writer.commit(
            source_address=f"elasticache://{group}",
            redis_version=aux.get("redis-ver"),
            rdb_version=getattr(detail, "rdb_version", None),
            key_counts=counts,
            notes=f"imported from ElastiCache snapshot {info.name} of {group} (s3://{s3.bucket}/{key})",
        )
