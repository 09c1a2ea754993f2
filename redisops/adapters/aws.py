"""The AWS calls of the migration in one place: :class:`AwsAdapter` has the ElastiCache calls
(:mod:`redisops.adapters.aws_elasticache`), the AppConfig and AppConfigData calls
(:mod:`redisops.adapters.aws_appconfig`) and the clients they go through
(:mod:`redisops.adapters.aws_clients`: settings, credentials, one boto3 session per profile).

Every call goes through a real boto3 client (against AWS, or the sandbox's control-plane emulator via
``endpoint_url``) and every failure comes out as a :mod:`redisops.errors` error with a hint
(:mod:`redisops.adapters.aws_errors`); credentials never appear in messages or reprs.
"""

from __future__ import annotations

from redisops.adapters.aws_appconfig import AppConfigCalls, Deployment
from redisops.adapters.aws_clients import AwsSettings
from redisops.adapters.aws_elasticache import (
    ELASTICACHE_CANONICAL_USER,
    EXPORT_ACL,
    EXPORT_POLICY_ACTIONS,
    ElastiCacheCalls,
    ReplicationGroup,
    SnapshotInfo,
    missing_export_grants,
)

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


class AwsAdapter(ElastiCacheCalls, AppConfigCalls):
    """boto3 clients of elasticache, appconfig and appconfigdata with translated errors."""
