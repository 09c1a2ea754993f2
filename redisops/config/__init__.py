"""Typed deployment config: model, loaders (YAML, HCL) and the redis.conf renderer."""

from redisops.config.loaders import apply_env, config_from_mapping, load_config, load_hcl, load_yaml
from redisops.config.model import (
    AuthConfig,
    BackupTarget,
    ClientSelector,
    DeploymentConfig,
    PersistenceConfig,
    RedisSettings,
    Resources,
    SavePoint,
    SecurityContext,
    parse_memory,
)
from redisops.config.redisconf import (
    config_checksum,
    override_redis_conf,
    parse_redis_conf,
    render_redis_conf,
)

__all__ = [
    "AuthConfig",
    "BackupTarget",
    "ClientSelector",
    "DeploymentConfig",
    "PersistenceConfig",
    "RedisSettings",
    "Resources",
    "SavePoint",
    "SecurityContext",
    "apply_env",
    "config_checksum",
    "config_from_mapping",
    "load_config",
    "load_hcl",
    "load_yaml",
    "override_redis_conf",
    "parse_memory",
    "parse_redis_conf",
    "render_redis_conf",
]
