"""The ElastiCache calls of the migration: describe a replication group (its primary endpoint) and
snapshots, create a snapshot and wait for it, export one to a bucket (CopySnapshot with TargetBucket;
:func:`missing_export_grants` checks the bucket's ACL and policy first), delete a group with a final
snapshot, read ``notify-keyspace-events`` from the group's parameter group."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from redisops.adapters.aws_clients import AwsClients, poll_until
from redisops.adapters.aws_errors import aws_error
from redisops.cancel import CancelToken
from redisops.errors import NotFoundError, OperationTimeout

__all__ = [
    "ELASTICACHE_CANONICAL_USER",
    "EXPORT_ACL",
    "EXPORT_POLICY_ACTIONS",
    "ElastiCacheCalls",
    "ReplicationGroup",
    "SnapshotInfo",
    "missing_export_grants",
]

#: ElastiCache's canonical user in the default partition (the grantee of an export bucket's ACL)
ELASTICACHE_CANONICAL_USER = "540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353"
#: the ACL permissions an export bucket grants that user (FULL_CONTROL covers them)
EXPORT_ACL = ("READ", "WRITE", "READ_ACP")
#: what a bucket policy allows ``<region>.elasticache-snapshot.amazonaws.com`` instead
EXPORT_POLICY_ACTIONS = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:GetBucketAcl",
    "s3:ListMultipartUploadParts",
    "s3:ListBucketMultipartUploads",
)


@dataclass(frozen=True)
class ReplicationGroup:
    """What the migration needs of a replication group."""

    id: str
    status: str
    host: str | None
    port: int | None
    cluster_mode: bool
    shards: int
    member_clusters: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class SnapshotInfo:
    """One ElastiCache snapshot."""

    name: str
    status: str
    replication_group: str | None
    source: str | None = None
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def missing_export_grants(acl: Mapping[str, Any], policy: str | None, region: str) -> list[str]:
    """What an export bucket lacks for ElastiCache (empty: it may write there).

    ``acl`` is GetBucketAcl's answer, ``policy`` the bucket policy document (None: none). Enough is an
    ACL grant of READ, WRITE and READ_ACP (or FULL_CONTROL) to ElastiCache's canonical user, or a
    policy allowing ``<region>.elasticache-snapshot.amazonaws.com`` the export's actions.
    """
    granted: set[str] = set()
    for grant in acl.get("Grants") or []:
        if (grant.get("Grantee") or {}).get("ID") == ELASTICACHE_CANONICAL_USER:
            perm = str(grant.get("Permission"))
            granted |= set(EXPORT_ACL) if perm == "FULL_CONTROL" else {perm}
    missing_acl = [f"ACL {p}" for p in EXPORT_ACL if p not in granted]
    if not missing_acl:
        return []
    allowed: set[str] = set()
    principal = f"{region}.elasticache-snapshot.amazonaws.com"
    try:
        statements = json.loads(policy).get("Statement") or [] if policy else []
    except ValueError:
        statements = []
    for st in statements:
        who = st.get("Principal")
        services = who.get("Service") if isinstance(who, dict) else None
        names = [services] if isinstance(services, str) else list(services or [])
        if st.get("Effect") == "Allow" and principal in names:
            actions = st.get("Action")
            allowed |= {actions} if isinstance(actions, str) else set(actions or [])
    if "s3:*" in allowed or all(a in allowed for a in EXPORT_POLICY_ACTIONS):
        return []
    if allowed:
        return [f"policy {a}" for a in EXPORT_POLICY_ACTIONS if a not in allowed]
    return missing_acl


class ElastiCacheCalls(AwsClients):
    """The ElastiCache calls (a part of :class:`redisops.adapters.aws.AwsAdapter`)."""

    def replication_group(self, group_id: str) -> ReplicationGroup:
        """The group's status and primary endpoint (the configuration endpoint in cluster mode)."""
        out = self._call("elasticache", "describe_replication_groups", group_id, ReplicationGroupId=group_id)
        g = out["ReplicationGroups"][0]
        groups = g.get("NodeGroups") or []
        ep = g.get("ConfigurationEndpoint") or (groups[0].get("PrimaryEndpoint") if groups else None) or {}
        return ReplicationGroup(
            id=g["ReplicationGroupId"],
            status=str(g.get("Status", "")),
            host=ep.get("Address"),
            port=ep.get("Port"),
            cluster_mode=bool(g.get("ClusterEnabled")) or str(g.get("ClusterMode", "")) == "enabled",
            shards=len(groups),
            member_clusters=tuple(g.get("MemberClusters") or ()),
        )

    def snapshot(self, name: str) -> SnapshotInfo | None:
        """The snapshot ``name``, or None when there is none."""
        try:
            out = self._call("elasticache", "describe_snapshots", name, SnapshotName=name)
        except NotFoundError:
            return None
        snaps = out.get("Snapshots") or []
        return _snapshot(snaps[0]) if snaps else None

    def snapshots(self, group_id: str) -> list[SnapshotInfo]:
        """The snapshots of a replication group."""
        out = self._call("elasticache", "describe_snapshots", group_id, ReplicationGroupId=group_id)
        return [_snapshot(s) for s in out.get("Snapshots") or []]

    def create_snapshot(self, group_id: str, name: str) -> SnapshotInfo:
        """CreateSnapshot of the group (returns at once; poll :meth:`snapshot` until ``available``)."""
        out = self._call(
            "elasticache", "create_snapshot", name, ReplicationGroupId=group_id, SnapshotName=name
        )
        return _snapshot(out["Snapshot"])

    def wait_snapshot(
        self, name: str, *, timeout: float = 3600.0, interval: float = 5.0, cancel: CancelToken | None = None
    ) -> SnapshotInfo:
        """Poll DescribeSnapshots until ``name`` is ``available`` (boto3 has no waiter for it)."""

        def read() -> SnapshotInfo:
            snap = self.snapshot(name)
            if snap is None:
                raise NotFoundError(f"the snapshot {name} disappeared while it was being created")
            if snap.status in ("failed", "deleting"):
                raise aws_error(
                    RuntimeError(f"snapshot {name} is {snap.status}"),
                    service="elasticache",
                    op="describe_snapshots",
                    resource=name,
                )
            return snap

        return poll_until(
            read,
            lambda snap: snap.status == "available",
            timeout=timeout,
            interval=interval,
            cancel=cancel,
            late=lambda snap: OperationTimeout(
                f"the snapshot {name} is still {snap.status} after {timeout:.0f}s",
                hint="it keeps going in AWS; run the command again later to pick it up",
            ),
        )

    def export_snapshot(self, name: str, target_name: str, bucket: str) -> SnapshotInfo:
        """CopySnapshot with TargetBucket: ElastiCache writes ``<target_name>-0001.rdb`` into ``bucket``."""
        out = self._call(
            "elasticache",
            "copy_snapshot",
            name,
            SourceSnapshotName=name,
            TargetSnapshotName=target_name,
            TargetBucket=bucket,
        )
        return _snapshot(out["Snapshot"])

    def delete_replication_group(self, group_id: str, final_snapshot: str | None) -> str:
        """DeleteReplicationGroup (with a final snapshot when named); returns the group's new status."""
        params: dict[str, Any] = {"ReplicationGroupId": group_id, "RetainPrimaryCluster": False}
        if final_snapshot:
            params["FinalSnapshotIdentifier"] = final_snapshot
        out = self._call("elasticache", "delete_replication_group", group_id, **params)
        return str(out["ReplicationGroup"].get("Status", ""))

    def parameter_group_of(self, group_id: str) -> str:
        """The cache parameter group of the group's (first) member cluster."""
        group = self.replication_group(group_id)
        if not group.member_clusters:
            raise NotFoundError(f"the replication group {group_id} has no member clusters")
        member = group.member_clusters[0]
        out = self._call("elasticache", "describe_cache_clusters", member, CacheClusterId=member)
        return str(out["CacheClusters"][0]["CacheParameterGroup"]["CacheParameterGroupName"])

    def keyspace_events(self, group_id: str) -> tuple[str, str]:
        """``(parameter group, notify-keyspace-events)`` of the group (CONFIG is blocked on ElastiCache)."""
        pg = self.parameter_group_of(group_id)
        paginator = self.client("elasticache").get_paginator("describe_cache_parameters")
        try:
            for page in paginator.paginate(CacheParameterGroupName=pg):
                for p in page.get("Parameters") or []:
                    if p.get("ParameterName") == "notify-keyspace-events":
                        return pg, str(p.get("ParameterValue") or "")
        except Exception as e:
            raise aws_error(e, service="elasticache", op="describe_cache_parameters", resource=pg) from e
        return pg, ""


def _snapshot(s: Mapping[str, Any]) -> SnapshotInfo:
    created = None
    for node in s.get("NodeSnapshots") or []:
        if node.get("SnapshotCreateTime"):
            created = str(node["SnapshotCreateTime"])
    return SnapshotInfo(
        name=str(s["SnapshotName"]),
        status=str(s.get("SnapshotStatus", "")),
        replication_group=s.get("ReplicationGroupId"),
        source=s.get("SnapshotSource"),
        created_at=created,
    )
