"""ElastiCache calls moto 5.2 lacks (or gets wrong), served on top of moto's own state.

* ``CreateSnapshot``: moto records the snapshot; the emulator also takes the source's RDB (through its
  renamed SYNC) and keeps it under its data dir, as the snapshot's content. ``DescribeSnapshots``
  says ``creating`` for ``snapshot_seconds`` after that (moto: ``available`` at once), as AWS does.
* ``CopySnapshot`` with ``TargetBucket``: checks the bucket as AWS does (exists, same Region, grants
  to ElastiCache's canonical user or a bucket policy for the service principal) and writes
  ``<TargetSnapshotName>-0001.rdb`` into the moto bucket.
* ``DeleteReplicationGroup`` with ``FinalSnapshotIdentifier``: takes the final snapshot first (moto
  ignores the parameter), then moto deletes the group.
* ``DescribeReplicationGroups``: moto's answer with the primary endpoint of groups the emulator knows
  set to their source's host and port (moto invents addresses); ``DescribeCacheClusters`` also lists
  those groups' member clusters, with their cache parameter group (moto lists neither).
* Cache parameter groups: create / describe / modify / delete / describe parameters; modifying
  ``notify-keyspace-events`` applies it to the sources using the group (renamed CONFIG SET), as
  ElastiCache applies a dynamic parameter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redisops.emulators.aws.backend import Backend, fault, moto_error
from redisops.emulators.aws.protocol import ApiError
from redisops.emulators.aws.source import SourceError

__all__ = ["ELASTICACHE_CANONICAL_USER", "HANDLERS", "REQUIRED_ACL", "REQUIRED_POLICY_ACTIONS"]

SVC = "elasticache"
#: ElastiCache's canonical user in the default partition (the export's ACL grantee)
ELASTICACHE_CANONICAL_USER = "540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353"
#: the ACL permissions the export needs (FULL_CONTROL covers them)
REQUIRED_ACL = ("READ", "WRITE", "READ_ACP")
#: what a bucket policy must allow the service principal instead
REQUIRED_POLICY_ACTIONS = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:GetBucketAcl",
    "s3:ListMultipartUploadParts",
    "s3:ListBucketMultipartUploads",
)

#: the parameters a redis7 group describes (name -> (default, data type, allowed, description))
_PARAMS: dict[str, tuple[str, str, str, str]] = {
    "notify-keyspace-events": (
        "",
        "string",
        "",
        "The keyspace events for Redis to notify Pub/Sub clients about (K, E, g, $, l, s, h, z, x, e, A...)",
    ),
    "maxmemory-policy": (
        "volatile-lru",
        "string",
        "volatile-lru,allkeys-lru,volatile-lfu,allkeys-lfu,volatile-random,allkeys-random,"
        "volatile-ttl,noeviction",
        "Max memory policy.",
    ),
    "timeout": ("0", "integer", "0,20-", "Close connection if client is idle for a given number of seconds"),
    "databases": ("16", "integer", "1-1200000", "Set the number of databases."),
}
_DEFAULT_GROUPS = {"default.redis7": "redis7", "default.redis6.x": "redis6.x"}


_GROUPS_FILE = "parameter_groups.json"


def _groups(b: Backend) -> dict[str, dict[str, Any]]:
    """The parameter groups (kept in the data dir too, so they outlive a restart of the emulator)."""
    groups = b.area("parameter_groups")
    with b.lock:
        saved = b.config.data_dir / _GROUPS_FILE
        if not groups and saved.is_file():
            groups.update(json.loads(saved.read_text()))
        for name, family in _DEFAULT_GROUPS.items():
            groups.setdefault(
                name, {"family": family, "description": f"Default parameter group for {family}", "values": {}}
            )
    return groups


def _save_groups(b: Backend) -> None:
    path = b.config.data_dir / _GROUPS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_groups(b), indent=1))
    tmp.replace(path)


def _group(b: Backend, name: str) -> dict[str, Any]:
    group = _groups(b).get(name)
    if group is None:
        raise fault(SVC, "CacheParameterGroupNotFoundFault", f"CacheParameterGroup {name} not found.")
    return group


def _group_shape(name: str, g: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "CacheParameterGroupName": name,
        "CacheParameterGroupFamily": g["family"],
        "Description": g["description"],
        "IsGlobal": False,
        "ARN": f"arn:aws:elasticache:{region}:123456789012:parametergroup:{name}",
    }


def create_parameter_group(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    name = p["CacheParameterGroupName"]
    with b.lock:
        groups = _groups(b)
        if name in groups:
            raise fault(
                SVC, "CacheParameterGroupAlreadyExistsFault", f"Parameter group {name} already exists."
            )
        groups[name] = {
            "family": p["CacheParameterGroupFamily"],
            "description": p["Description"],
            "values": {},
        }
        return {"CacheParameterGroup": _group_shape(name, groups[name], region)}


def describe_parameter_groups(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    name = p.get("CacheParameterGroupName")
    groups = {name: _group(b, name)} if name else dict(_groups(b))
    return {"CacheParameterGroups": [_group_shape(n, g, region) for n, g in sorted(groups.items())]}


def delete_parameter_group(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    name = p["CacheParameterGroupName"]
    with b.lock:
        _group(b, name)
        if name in _DEFAULT_GROUPS:
            raise fault(
                SVC, "InvalidCacheParameterGroupStateFault", "Default parameter groups cannot be deleted."
            )
        if any(s.parameter_group == name for s in b.config.sources.values()):
            raise fault(SVC, "InvalidCacheParameterGroupStateFault", f"Parameter group {name} is in use.")
        del _groups(b)[name]
        _save_groups(b)
    return {}


def describe_parameters(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    g = _group(b, p["CacheParameterGroupName"])
    wanted = p.get("Source")
    out = []
    for pname, (default, dtype, allowed, desc) in _PARAMS.items():
        user = pname in g["values"]
        source = "user" if user else "system"
        if wanted and wanted != source:
            continue
        out.append(
            {
                "ParameterName": pname,
                "ParameterValue": g["values"].get(pname, default),
                "Description": desc,
                "Source": source,
                "DataType": dtype,
                "AllowedValues": allowed or None,
                "IsModifiable": True,
                "MinimumEngineVersion": "2.8.6",
                "ChangeType": "immediate",
            }
        )
    return {"Parameters": out}


def modify_parameter_group(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    name = p["CacheParameterGroupName"]
    changes = {
        str(x["ParameterName"]): str(x.get("ParameterValue", "")) for x in p.get("ParameterNameValues") or []
    }
    with b.lock:
        g = _group(b, name)
        if name in _DEFAULT_GROUPS:
            raise fault(SVC, "InvalidParameterValueException", "Default parameter groups cannot be modified.")
        for pname, value in changes.items():
            if pname not in _PARAMS:
                raise fault(SVC, "InvalidParameterValueException", f"Unrecognized parameter name: {pname}")
            if pname == "notify-keyspace-events" and any(c not in "KEg$lshzxetmdnA" for c in value):
                raise fault(
                    SVC,
                    "InvalidParameterValueException",
                    f"Invalid value for parameter notify-keyspace-events: {value}",
                )
        g["values"].update(changes)
        _save_groups(b)
        apply_group(b, name)
    return {"CacheParameterGroupName": name}


def apply_group(b: Backend, name: str) -> None:
    """Apply the group's dynamic parameters to the sources that use it (renamed CONFIG SET)."""
    g = _groups(b).get(name)
    if g is None:
        return
    for entry in b.config.sources.values():
        if entry.parameter_group != name:
            continue
        for pname in ("notify-keyspace-events", "maxmemory-policy", "timeout"):
            if pname in g["values"]:
                try:
                    entry.node.config_set(pname, g["values"][pname])
                except SourceError as e:
                    raise ApiError("InternalFailure", f"could not apply {pname}: {e}", 500) from e


# --- snapshots ----------------------------------------------------------------------------------------


def _capture(b: Backend, snapshot: dict[str, Any]) -> None:
    """Keep the RDB of the snapshot's replication group under the data dir."""
    group = snapshot.get("ReplicationGroupId")
    entry = b.config.sources.get(str(group)) if group else None
    if entry is None:
        return
    try:
        entry.node.dump_rdb(b.config.data_dir / f"{snapshot['SnapshotName']}.rdb")
    except SourceError as e:
        raise ApiError("InternalFailure", f"the snapshot of {group} failed: {e}", 500) from e


def _moto(b: Backend, region: str, call: Callable[[Any], Any]) -> Any:
    try:
        return call(b.moto(SVC, region))
    except ApiError:
        raise
    except Exception as e:
        if getattr(e, "response", None) is not None:
            raise moto_error(SVC, e) from e
        raise


def _creating(b: Backend, snap: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with status ``creating`` while its (emulated) creation time has not passed."""
    ready = b.area("snapshot_ready").get(str(snap.get("SnapshotName")))
    if ready is not None and time.time() < ready:
        snap = {**snap, "SnapshotStatus": "creating"}
    return snap


def _made(b: Backend, snap: dict[str, Any]) -> dict[str, Any]:
    _capture(b, snap)
    with b.lock:
        b.area("snapshot_ready")[snap["SnapshotName"]] = time.time() + b.config.snapshot_seconds
    return _creating(b, snap)


def create_snapshot(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    snap = _moto(b, region, lambda c: c.create_snapshot(**p))["Snapshot"]
    return {"Snapshot": _made(b, snap)}


def describe_snapshots(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    out = _moto(b, region, lambda c: c.describe_snapshots(**p))
    return {"Snapshots": [_creating(b, s) for s in out["Snapshots"]], "Marker": out.get("Marker")}


def delete_replication_group(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    final = p.pop("FinalSnapshotIdentifier", None)
    group_id = p["ReplicationGroupId"]
    if final:
        snap = _moto(b, region, lambda c: c.create_snapshot(ReplicationGroupId=group_id, SnapshotName=final))[
            "Snapshot"
        ]
        _capture(b, snap)
    out = _moto(b, region, lambda c: c.delete_replication_group(**p))
    return {"ReplicationGroup": _patch_group(b, out["ReplicationGroup"])}


def _patch_group(b: Backend, group: dict[str, Any]) -> dict[str, Any]:
    entry = b.config.sources.get(str(group.get("ReplicationGroupId")))
    if entry is None:
        return group
    ep = {"Address": entry.node.host, "Port": entry.node.port}
    for ng in group.get("NodeGroups") or []:
        ng["PrimaryEndpoint"] = dict(ep)
        ng["ReaderEndpoint"] = dict(ep)
        for member in ng.get("NodeGroupMembers") or []:
            member["ReadEndpoint"] = dict(ep)
    if group.get("ConfigurationEndpoint"):
        group["ConfigurationEndpoint"] = dict(ep)
    return group


def describe_replication_groups(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    out = _moto(b, region, lambda c: c.describe_replication_groups(**p))
    return {
        "ReplicationGroups": [_patch_group(b, g) for g in out["ReplicationGroups"]],
        "Marker": out.get("Marker"),
    }


def _describe_group(group_id: str) -> Callable[[Any], Any]:
    return lambda c: c.describe_replication_groups(ReplicationGroupId=group_id)


def _members(b: Backend, region: str) -> list[dict[str, Any]]:
    """Cache clusters for the members of the groups the emulator knows (moto does not list them)."""
    out = []
    for group_id, entry in b.config.sources.items():
        try:
            group = _moto(b, region, _describe_group(group_id))
        except ApiError:
            continue
        for rg in group["ReplicationGroups"]:
            for member in rg.get("MemberClusters") or []:
                out.append(
                    {
                        "CacheClusterId": member,
                        "ReplicationGroupId": group_id,
                        "CacheClusterStatus": "available",
                        "Engine": "redis",
                        "EngineVersion": rg.get("EngineVersion") or "7.0",
                        "CacheNodeType": rg.get("CacheNodeType"),
                        "NumCacheNodes": 1,
                        "CacheParameterGroup": {
                            "CacheParameterGroupName": entry.parameter_group or "default.redis7",
                            "ParameterApplyStatus": "in-sync",
                            "CacheNodeIdsToReboot": [],
                        },
                    }
                )
    return out


def describe_cache_clusters(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    wanted = p.get("CacheClusterId")
    members = {m["CacheClusterId"]: m for m in _members(b, region)}
    if wanted and wanted in members:
        return {"CacheClusters": [members[wanted]]}
    out = _moto(b, region, lambda c: c.describe_cache_clusters(**p))
    clusters = [c for c in out["CacheClusters"] if c["CacheClusterId"] not in members]
    return {"CacheClusters": clusters + ([] if wanted else list(members.values()))}


def check_bucket_grants(b: Backend, bucket: str, region: str) -> None:
    """Refuse (InvalidParameterValue) unless ElastiCache may write the export into ``bucket``."""
    s3 = b.moto("s3", region)
    try:
        loc = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except Exception as e:
        raise fault(
            SVC,
            "InvalidParameterValueException",
            f"The S3 bucket {bucket} does not exist or is not accessible.",
        ) from e
    if loc != region:
        raise fault(
            SVC,
            "InvalidParameterValueException",
            f"The S3 bucket {bucket} is in {loc}; it must be in the snapshot's Region {region}.",
        )
    granted: set[str] = set()
    for grant in s3.get_bucket_acl(Bucket=bucket).get("Grants", []):
        if (grant.get("Grantee") or {}).get("ID") == ELASTICACHE_CANONICAL_USER:
            perm = str(grant.get("Permission"))
            granted |= set(REQUIRED_ACL) if perm == "FULL_CONTROL" else {perm}
    missing = [x for x in REQUIRED_ACL if x not in granted]
    if not missing or _policy_allows(s3, bucket, region):
        return
    raise fault(
        SVC,
        "InvalidParameterValueException",
        f"ElastiCache has not been granted {', '.join(missing)} permissions on the S3 bucket {bucket} "
        f"(grant them to the canonical user {ELASTICACHE_CANONICAL_USER}, or allow the service principal "
        f"{region}.elasticache-snapshot.amazonaws.com in the bucket policy).",
    )


def _policy_allows(s3: Any, bucket: str, region: str) -> bool:
    try:
        doc = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except Exception:
        return False
    principal = f"{region}.elasticache-snapshot.amazonaws.com"
    allowed: set[str] = set()
    for st in doc.get("Statement") or []:
        if st.get("Effect") != "Allow":
            continue
        services = (
            (st.get("Principal") or {}).get("Service") if isinstance(st.get("Principal"), dict) else None
        )
        if principal not in ([services] if isinstance(services, str) else list(services or [])):
            continue
        actions = st.get("Action")
        allowed |= {actions} if isinstance(actions, str) else set(actions or [])
    return "s3:*" in allowed or all(a in allowed for a in REQUIRED_POLICY_ACTIONS)


def copy_snapshot(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    source_name, target = p["SourceSnapshotName"], p["TargetSnapshotName"]
    snap = _moto(b, region, lambda c: c.describe_snapshots(SnapshotName=source_name))["Snapshots"][0]
    if _creating(b, snap)["SnapshotStatus"] != "available":
        raise fault(SVC, "InvalidSnapshotStateFault", f"Snapshot {source_name} is not yet available.")
    bucket = p.get("TargetBucket")
    if not bucket:
        group = snap.get("ReplicationGroupId")
        if not group:
            raise fault(SVC, "InvalidSnapshotStateFault", f"Snapshot {source_name} cannot be copied.")
        copy = _moto(b, region, lambda c: c.create_snapshot(ReplicationGroupId=group, SnapshotName=target))
        rdb = b.config.data_dir / f"{source_name}.rdb"
        if rdb.is_file():
            (b.config.data_dir / f"{target}.rdb").write_bytes(rdb.read_bytes())
        return {"Snapshot": copy["Snapshot"]}
    check_bucket_grants(b, bucket, region)
    rdb = b.config.data_dir / f"{source_name}.rdb"
    if not rdb.is_file():
        _capture(b, snap)
    if not rdb.is_file():
        raise fault(SVC, "InvalidSnapshotStateFault", f"Snapshot {source_name} has no data to export.")
    key = f"{target}-0001.rdb"
    try:
        b.moto("s3", region).upload_file(str(rdb), bucket, key)
    except Exception as e:
        raise ApiError("InternalFailure", f"writing {key} into {bucket} failed: {e}", 500) from e
    snap = dict(snap)
    snap["SnapshotName"] = target
    snap["SnapshotStatus"] = "available"
    snap["SnapshotSource"] = "manual"
    snap["ARN"] = f"arn:aws:elasticache:{region}:123456789012:snapshot:{target}"
    snap.setdefault("NodeSnapshots", [])
    exported = b.area("exports")
    with b.lock:
        exported[target] = {"bucket": bucket, "key": key, "at": datetime.now(UTC).isoformat()}
    return {"Snapshot": snap}


Handler = Callable[[Backend, dict[str, Any], str], dict[str, Any]]

#: operation name -> handler(backend, params, region) -> result
HANDLERS: dict[str, Handler] = {
    "CreateCacheParameterGroup": create_parameter_group,
    "DescribeCacheParameterGroups": describe_parameter_groups,
    "DeleteCacheParameterGroup": delete_parameter_group,
    "DescribeCacheParameters": describe_parameters,
    "ModifyCacheParameterGroup": modify_parameter_group,
    "CreateSnapshot": create_snapshot,
    "DescribeSnapshots": describe_snapshots,
    "CopySnapshot": copy_snapshot,
    "DeleteReplicationGroup": delete_replication_group,
    "DescribeReplicationGroups": describe_replication_groups,
    "DescribeCacheClusters": describe_cache_clusters,
}
