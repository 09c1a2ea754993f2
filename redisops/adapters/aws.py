"""The AWS calls of the migration in one place: ElastiCache, AppConfig and the AppConfigData read-back.

Every call goes through a real boto3 client (against AWS, or the sandbox's control-plane emulator via
``endpoint_url``) and every failure comes out as a :mod:`redisops.errors` error with a hint
(:mod:`redisops.adapters.aws_errors`); credentials never appear in messages or reprs.

ElastiCache: describe a replication group (its primary endpoint) and snapshots, create a snapshot,
export one to a bucket (CopySnapshot with TargetBucket; :func:`missing_export_grants` checks the
bucket's ACL and policy first), delete a group with a final snapshot, read ``notify-keyspace-events``
from the group's parameter group. AppConfig: the content deployed to an environment, a new hosted
version, start a deployment and wait for it, the version deployed before; AppConfigData: what clients
receive now.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from redisops.adapters.aws_errors import aws_error
from redisops.adapters.s3_settings import AwsCredentials
from redisops.cancel import CancelToken
from redisops.errors import NotFoundError, OperationTimeout

__all__ = [
    "ELASTICACHE_CANONICAL_USER",
    "EXPORT_ACL",
    "EXPORT_POLICY_ACTIONS",
    "AwsAdapter",
    "AwsSettings",
    "Deployment",
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
class AwsSettings:
    """How to reach the AWS control plane.

    Attributes:
        region: the AWS region.
        endpoint_url: one endpoint for elasticache, appconfig and appconfigdata (the sandbox's emulator);
            None = AWS.
        profile: a named profile of the default credential chain (ignored with ``credentials``).
        credentials: explicit credentials; None = the default chain.
        max_attempts: botocore attempts per call.
        connect_timeout, read_timeout: seconds.
    """

    region: str = "us-east-1"
    endpoint_url: str | None = None
    profile: str | None = None
    credentials: AwsCredentials | None = None
    max_attempts: int = 3
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AwsSettings:
        """From REDISOPS_AWS_ENDPOINT_URL, AWS_REGION (or AWS_DEFAULT_REGION) and REDISOPS_AWS_PROFILE."""
        e = os.environ if env is None else env
        return cls(
            region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=e.get("REDISOPS_AWS_ENDPOINT_URL") or None,
            profile=e.get("REDISOPS_AWS_PROFILE") or None,
        )

    def secrets(self) -> tuple[str, ...]:
        """Values to scrub from messages."""
        return self.credentials.secrets() if self.credentials else ()


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


@dataclass(frozen=True)
class Deployment:
    """One AppConfig deployment."""

    number: int
    state: str
    version: str
    profile_id: str
    percentage: float = 0.0

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


_sessions: dict[str | None, Any] = {}
_sessions_lock = threading.RLock()


def _session(profile: str | None) -> Any:
    """One boto3 session per profile for the process: clients made from one session share its loaded
    service models (a new session per client costs about 0.5 s per client on a small machine)."""
    import boto3

    with _sessions_lock:
        if profile not in _sessions:
            _sessions[profile] = boto3.session.Session(profile_name=profile)
        return _sessions[profile]


class AwsAdapter:
    """boto3 clients of elasticache, appconfig and appconfigdata with translated errors."""

    def __init__(self, settings: AwsSettings | None = None) -> None:
        self.settings = settings or AwsSettings.from_env()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AwsAdapter(region={self.settings.region!r}, endpoint_url={self.settings.endpoint_url!r})"

    def client(self, service: str) -> Any:
        """The boto3 client of ``service`` (made once; client creation is serialized, as boto3 needs)."""
        with _sessions_lock, self._lock:
            if service not in self._clients:
                from botocore.config import Config

                s = self.settings
                kwargs: dict[str, Any] = {}
                if s.credentials is not None:
                    kwargs = {
                        "aws_access_key_id": s.credentials.access_key_id,
                        "aws_secret_access_key": s.credentials.secret_access_key,
                        "aws_session_token": s.credentials.session_token,
                    }
                session = _session(s.profile if s.credentials is None else None)
                self._clients[service] = session.client(
                    service,
                    region_name=s.region,
                    endpoint_url=s.endpoint_url,
                    config=Config(
                        retries={"max_attempts": s.max_attempts, "mode": "standard"},
                        connect_timeout=s.connect_timeout,
                        read_timeout=s.read_timeout,
                    ),
                    **kwargs,
                )
            return self._clients[service]

    def _call(self, service: str, op: str, resource: str, **params: Any) -> Any:
        try:
            return getattr(self.client(service), op)(**params)
        except Exception as e:
            raise aws_error(
                e, service=service, op=op, resource=resource, secrets=self.settings.secrets()
            ) from e

    # --- ElastiCache ---------------------------------------------------------------------------------

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
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot(name)
            if snap is None:
                raise NotFoundError(f"the snapshot {name} disappeared while it was being created")
            if snap.status == "available":
                return snap
            if snap.status in ("failed", "deleting"):
                raise aws_error(
                    RuntimeError(f"snapshot {name} is {snap.status}"),
                    service="elasticache",
                    op="describe_snapshots",
                    resource=name,
                )
            if time.monotonic() >= deadline:
                raise OperationTimeout(
                    f"the snapshot {name} is still {snap.status} after {timeout:.0f}s",
                    hint="it keeps going in AWS; run the command again later to pick it up",
                )
            if cancel is not None:
                cancel.sleep(interval)
            else:
                time.sleep(interval)

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

    # --- AppConfig -----------------------------------------------------------------------------------

    def create_hosted_version(
        self,
        app: str,
        profile: str,
        content: bytes,
        content_type: str = "application/json",
        description: str = "",
    ) -> int:
        """A new hosted configuration version of the profile (versions are immutable); its number."""
        out = self._call(
            "appconfig",
            "create_hosted_configuration_version",
            f"{app}/{profile}",
            ApplicationId=app,
            ConfigurationProfileId=profile,
            Content=content,
            ContentType=content_type,
            Description=description,
        )
        return int(out["VersionNumber"])

    def hosted_version(self, app: str, profile: str, version: int) -> tuple[bytes, str]:
        """The content and content type of a hosted version."""
        out = self._call(
            "appconfig",
            "get_hosted_configuration_version",
            f"{app}/{profile}/{version}",
            ApplicationId=app,
            ConfigurationProfileId=profile,
            VersionNumber=version,
        )
        return out["Content"].read(), str(out.get("ContentType") or "application/octet-stream")

    def deployments(self, app: str, env: str) -> list[Deployment]:
        """The environment's deployments, newest first."""
        out = self._call(
            "appconfig", "list_deployments", f"{app}/{env}", ApplicationId=app, EnvironmentId=env
        )
        found = []
        for item in out.get("Items") or []:
            n = int(item["DeploymentNumber"])
            d = self._call(
                "appconfig",
                "get_deployment",
                f"{app}/{env}/{n}",
                ApplicationId=app,
                EnvironmentId=env,
                DeploymentNumber=n,
            )
            found.append(_deployment(d))
        return sorted(found, key=lambda d: -d.number)

    def deployed_versions(self, app: str, env: str, profile: str) -> list[str]:
        """Versions of ``profile`` completely deployed to ``env``, newest first (current, previous, ...)."""
        return [
            d.version for d in self.deployments(app, env) if d.profile_id == profile and d.state == "COMPLETE"
        ]

    def start_deployment(
        self, app: str, env: str, profile: str, version: int | str, strategy: str
    ) -> Deployment:
        """StartDeployment of ``version`` of ``profile`` to ``env``."""
        out = self._call(
            "appconfig",
            "start_deployment",
            f"{app}/{env}",
            ApplicationId=app,
            EnvironmentId=env,
            DeploymentStrategyId=strategy,
            ConfigurationProfileId=profile,
            ConfigurationVersion=str(version),
        )
        return _deployment(out)

    def wait_deployment(
        self,
        app: str,
        env: str,
        number: int,
        *,
        timeout: float = 1800.0,
        interval: float = 2.0,
        cancel: CancelToken | None = None,
    ) -> Deployment:
        """Poll GetDeployment until COMPLETE (PlatformError when it is rolled back)."""
        deadline = time.monotonic() + timeout
        while True:
            d = _deployment(
                self._call(
                    "appconfig",
                    "get_deployment",
                    f"{app}/{env}/{number}",
                    ApplicationId=app,
                    EnvironmentId=env,
                    DeploymentNumber=number,
                )
            )
            if d.state == "COMPLETE":
                return d
            if d.state == "ROLLED_BACK":
                from redisops.errors import PlatformError

                raise PlatformError(
                    f"AppConfig deployment {number} to {env} was rolled back",
                    hint="see the deployment's event log (aws appconfig get-deployment) for why",
                )
            if time.monotonic() >= deadline:
                raise OperationTimeout(
                    f"AppConfig deployment {number} to {env} is still {d.state} after {timeout:.0f}s",
                    hint="it keeps going in AWS; check it with aws appconfig get-deployment",
                )
            if cancel is not None:
                cancel.sleep(interval)
            else:
                time.sleep(interval)

    def read_back(self, app: str, env: str, profile: str) -> bytes:
        """What a client starting now receives through AppConfigData (a fresh session)."""
        where = f"{app}/{env}/{profile}"
        start = self._call(
            "appconfigdata",
            "start_configuration_session",
            where,
            ApplicationIdentifier=app,
            EnvironmentIdentifier=env,
            ConfigurationProfileIdentifier=profile,
        )
        out = self._call(
            "appconfigdata",
            "get_latest_configuration",
            where,
            ConfigurationToken=start["InitialConfigurationToken"],
        )
        return bytes(out["Configuration"].read())


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


def _deployment(d: Mapping[str, Any]) -> Deployment:
    return Deployment(
        number=int(d["DeploymentNumber"]),
        state=str(d.get("State", "")),
        version=str(d.get("ConfigurationVersion", "")),
        profile_id=str(d.get("ConfigurationProfileId", "")),
        percentage=float(d.get("PercentageComplete") or 0.0),
    )
