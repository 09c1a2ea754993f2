"""redisops: operations toolkit for Redis 7 on Kubernetes.

Every operation is importable from here with a typed signature and a docstring::

    import redisops

    state = redisops.sandbox_up()                       # local sandbox (the embedded default)
    t = redisops.target("prod")                         # a named target: where and with which creds
    cfg = redisops.load_config("configuration.hcl")     # the write-up's HCL or a YAML file
    print(redisops.render_redis_conf(cfg))

Names load lazily (PEP 562) so importing redisops, or running ``redisops --help``, does not pay for
boto3, kubernetes or textual. The public surface is pinned by tests/unit/test_public_api.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redisops._lazy import lazy_getattr
from redisops._version import __version__

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "RedisOpsError": "redisops.errors",
    "ConfigError": "redisops.errors",
    "ConnectionFailed": "redisops.errors",
    "AuthError": "redisops.errors",
    "NotFoundError": "redisops.errors",
    "ConflictError": "redisops.errors",
    "VerificationError": "redisops.errors",
    "ParseError": "redisops.errors",
    "AbortedError": "redisops.errors",
    "OperationTimeout": "redisops.errors",
    "DependencyMissing": "redisops.errors",
    "PlatformError": "redisops.errors",
    "StorageError": "redisops.errors",
    # config
    "DeploymentConfig": "redisops.config",
    "load_config": "redisops.config",
    "load_yaml": "redisops.config",
    "load_hcl": "redisops.config",
    "config_from_mapping": "redisops.config",
    "render_redis_conf": "redisops.config",
    "config_checksum": "redisops.config",
    # connections
    "RedisEndpoint": "redisops.adapters.redis_conn",
    "connect": "redisops.adapters.redis_conn",
    # targets: where to act and with which credentials
    "Target": "redisops.ops.target",
    "TargetSpec": "redisops.ops.target",
    "load_targets": "redisops.ops.target",
    "resolve_target": "redisops.ops.target",
    "target": "redisops.ops.target",
    # sandbox
    "SandboxState": "redisops.ops.sandbox",
    "sandbox_up": "redisops.ops.sandbox",
    "sandbox_status": "redisops.ops.sandbox",
    "sandbox_down": "redisops.ops.sandbox",
    "load_state": "redisops.ops.sandbox",
    # datasets and comparison
    "DatasetSpec": "redisops.ops.datasets",
    "populate": "redisops.ops.datasets",
    "CompareResult": "redisops.ops.compare",
    "compare_datasets": "redisops.ops.compare",
    # rehearsal (the main job)
    "RehearsalReport": "redisops.ops.rehearsal",
    "rehearse": "redisops.ops.rehearsal",
}

__all__ = sorted([*_EXPORTS, "__version__"])


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from redisops.adapters.redis_conn import RedisEndpoint, connect
    from redisops.config import (
        DeploymentConfig,
        config_checksum,
        config_from_mapping,
        load_config,
        load_hcl,
        load_yaml,
        render_redis_conf,
    )
    from redisops.errors import (
        AbortedError,
        AuthError,
        ConfigError,
        ConflictError,
        ConnectionFailed,
        DependencyMissing,
        NotFoundError,
        OperationTimeout,
        ParseError,
        PlatformError,
        RedisOpsError,
        StorageError,
        VerificationError,
    )
    from redisops.ops.compare import CompareResult, compare_datasets
    from redisops.ops.datasets import DatasetSpec, populate
    from redisops.ops.rehearsal import RehearsalReport, rehearse
    from redisops.ops.sandbox import SandboxState, load_state, sandbox_down, sandbox_status, sandbox_up
    from redisops.ops.target import Target, TargetSpec, load_targets, resolve_target, target
