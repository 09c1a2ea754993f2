"""The sandbox's AWS side: the control-plane emulator and the resources that stand for the write-up's.

``sandbox up`` runs the AWS emulator (:mod:`redisops.emulators.aws`) beside the moto server, as the
``aws`` service, and provisions through the real boto3 clients:

* a cache parameter group :data:`PARAMETER_GROUP` (redis7) and a replication group :data:`GROUP_ID`
  in moto standing for the ElastiCache-like source (its endpoint is the source's host:port);
* the export bucket :data:`EXPORT_BUCKET` with the ACL grants ElastiCache's snapshot export needs;
* an AppConfig application :data:`APPLICATION`, environment :data:`ENVIRONMENT` and configuration
  profile :data:`PROFILE` whose deployed configuration holds the source endpoint in the write-up's
  shape (``{"redis": {"host", "port", "default_ttl_seconds"}}``).

The source renames the commands ElastiCache blocks to secret names (:func:`source_commands`) that only
the state file and the emulator's config hold (both mode 0600); customers get ``unknown command``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from redisops.adapters.aws import ELASTICACHE_CANONICAL_USER, AwsAdapter, AwsSettings
from redisops.adapters.aws_errors import aws_error
from redisops.adapters.local import elasticache_like_directives, secret_command_names
from redisops.adapters.local_tls import write_private
from redisops.adapters.s3_settings import AwsCredentials
from redisops.errors import NotFoundError, RedisOpsError

__all__ = [
    "APPLICATION",
    "ENVIRONMENT",
    "EXPORT_BUCKET",
    "GROUP_ID",
    "PARAMETER_GROUP",
    "PROFILE",
    "REGION",
    "STRATEGY",
    "provision",
    "sandbox_aws",
    "source_commands",
    "source_directives",
    "write_emulator_config",
]

REGION = "us-east-1"
GROUP_ID = "llm-judge-redis"
PARAMETER_GROUP = "llm-judge-redis7"
APPLICATION = "llm-judge"
ENVIRONMENT = "dev"
PROFILE = "llm-judge-config"
STRATEGY = "AppConfig.AllAtOnce"
#: the bucket snapshots are exported to (its ACL grants ElastiCache what the export needs)
EXPORT_BUCKET = "llm-judge-redis-export"
#: the write-up's default_ttl_seconds (configuration.hcl's redis_k8s_config)
DEFAULT_TTL_SECONDS = 604800
#: seconds one AppConfig deployment minute lasts in the sandbox (AllAtOnce's 10 min bake: 0.1 s)
TIME_SCALE = 0.01
#: how long a new snapshot stays ``creating`` in the sandbox (so waiting for it is rehearsed too)
SNAPSHOT_SECONDS = 0.5
_DIR = "aws"


def emulator_config_path(state_dir: Path) -> Path:
    """The emulator's config file (mode 0600: it names the source's secret commands)."""
    return state_dir / _DIR / "emulator.json"


def source_commands(previous: Mapping[str, str] | None) -> dict[str, str]:
    """The secret names of the source's SYNC, CONFIG and BGSAVE: the recorded ones, else new ones."""
    if previous and {"SYNC", "CONFIG", "BGSAVE"} <= set(previous):
        return dict(previous)
    return secret_command_names()


def source_directives(commands: Mapping[str, str], state_dir: Path) -> dict[str, str]:
    """The source's redis.conf directives: blocked commands renamed, and ``notify-keyspace-events`` as
    the sandbox's parameter group says (the emulator keeps the groups in its data dir)."""
    out = elasticache_like_directives(commands)
    out["notify-keyspace-events"] = f'"{_keyspace_events(state_dir)}"'
    return out


def _keyspace_events(state_dir: Path) -> str:
    """``notify-keyspace-events`` of the sandbox's parameter group, as the emulator saved it ("" before)."""
    saved = state_dir / _DIR / "data" / "parameter_groups.json"
    try:
        return str(json.loads(saved.read_text())[PARAMETER_GROUP]["values"].get("notify-keyspace-events", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ""


def write_emulator_config(
    state_dir: Path, moto_url: str, source_port: int, commands: Mapping[str, str]
) -> Path:
    """Write the emulator's config (mode 0600) for the sandbox's moto and source; its path."""
    path = emulator_config_path(state_dir)
    cfg = {
        "moto_url": moto_url,
        "data_dir": str(state_dir / _DIR / "data"),
        "time_scale": TIME_SCALE,
        "snapshot_seconds": SNAPSHOT_SECONDS,
        "sources": {
            GROUP_ID: {
                "host": "127.0.0.1",
                "port": source_port,
                "commands": dict(commands),
                "parameter_group": PARAMETER_GROUP,
            }
        },
    }
    write_private(path, json.dumps(cfg, indent=1))
    return path


def sandbox_aws(url: str) -> AwsAdapter:
    """An AWS adapter on the sandbox's emulator (its fixed dummy credentials)."""
    return AwsAdapter(
        AwsSettings(
            region=REGION,
            endpoint_url=url,
            credentials=AwsCredentials("sandbox", "sandbox"),
            max_attempts=2,
        )
    )


def source_endpoint_content(host: str, port: int) -> bytes:
    """The AppConfig content naming the Redis endpoint, in the write-up's shape."""
    doc = {"redis": {"host": host, "port": port, "default_ttl_seconds": DEFAULT_TTL_SECONDS}}
    return json.dumps(doc, indent=2).encode()


def provision(
    url: str, source_port: int, s3: Any, state_dir: Path, aws: AwsAdapter | None = None
) -> dict[str, Any]:
    """Create (or find) the sandbox's AWS resources; the facts the state records. ``s3`` is a boto3
    S3 client of the sandbox's moto (the caller's, so no other is made); ``aws`` an adapter on ``url``
    whose clients the caller may have made already (default: a new :func:`sandbox_aws`).

    Idempotent for the replication group and the parameter group; the AppConfig application,
    environment and profile are made new (moto and the emulator keep them in memory) and the source
    endpoint is deployed to them (a deployment that completes; clients read it through AppConfigData).
    """
    aws = aws or sandbox_aws(url)
    try:
        facts = _provision(aws, url, source_port, state_dir)
        _export_bucket(s3)
        return {**facts, "export_bucket": EXPORT_BUCKET}
    except RedisOpsError:
        raise
    except Exception as e:
        raise aws_error(e, service="sandbox aws", op="provision", resource=url) from e


def _export_bucket(s3: Any) -> None:
    """The export bucket, with the ACL grants ElastiCache needs (as the runbook asks of an operator);
    ``s3`` is a boto3 S3 client of the sandbox's moto."""
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=EXPORT_BUCKET)
    grantee = f"id={ELASTICACHE_CANONICAL_USER}"
    s3.put_bucket_acl(Bucket=EXPORT_BUCKET, GrantRead=grantee, GrantWrite=grantee, GrantReadACP=grantee)


def _provision(aws: AwsAdapter, url: str, source_port: int, state_dir: Path) -> dict[str, Any]:
    ec = aws.client("elasticache")
    with contextlib.suppress(ec.exceptions.CacheParameterGroupAlreadyExistsFault):
        ec.create_cache_parameter_group(
            CacheParameterGroupName=PARAMETER_GROUP,
            CacheParameterGroupFamily="redis7",
            Description="the sandbox's ElastiCache-like source",
        )
    try:
        aws.replication_group(GROUP_ID)
    except NotFoundError:
        ec.create_replication_group(
            ReplicationGroupId=GROUP_ID,
            ReplicationGroupDescription="stands for the sandbox's ElastiCache-like source",
            Engine="redis",
            EngineVersion="7.0",
            CacheNodeType="cache.t4g.medium",
            NumCacheClusters=1,
            Port=source_port,
            CacheParameterGroupName=PARAMETER_GROUP,
        )
    group = aws.replication_group(GROUP_ID)
    ac = aws.client("appconfig")
    app = ac.create_application(Name=APPLICATION, Description="the write-up's application")["Id"]
    env = ac.create_environment(ApplicationId=app, Name=ENVIRONMENT)["Id"]
    profile = ac.create_configuration_profile(ApplicationId=app, Name=PROFILE, LocationUri="hosted")["Id"]
    content = source_endpoint_content(group.host or "127.0.0.1", group.port or source_port)
    version = aws.create_hosted_version(app, profile, content, description="the ElastiCache endpoint")
    dep = aws.start_deployment(app, env, profile, version, STRATEGY)
    aws.wait_deployment(app, env, dep.number, timeout=30, interval=0.05)
    return {
        "endpoint_url": url,
        "region": REGION,
        "replication_group": GROUP_ID,
        "replication_group_endpoint": f"{group.host}:{group.port}",
        "parameter_group": PARAMETER_GROUP,
        "notify_keyspace_events": _keyspace_events(state_dir),
        "application": APPLICATION,
        "application_id": app,
        "environment": ENVIRONMENT,
        "environment_id": env,
        "profile": PROFILE,
        "profile_id": profile,
        "strategy": STRATEGY,
        "deployed_version": version,
    }
