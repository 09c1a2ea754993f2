"""The typed deployment config: everything the migration write-up's ``redis_k8s_config`` holds, and more.

Defaults equal the write-up's values (seed/redis-migration-summary.md, "Global Configuration"), so an
empty YAML file describes the deployment the team runs today. Pure: no I/O here; loading lives in
``loaders.py`` and rendering of redis.conf in ``redisconf.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AuthConfig",
    "BackupTarget",
    "ClientSelector",
    "DeploymentConfig",
    "PersistenceConfig",
    "RedisSettings",
    "ResourceQuantities",
    "Resources",
    "SavePoint",
    "SecurityContext",
    "parse_memory",
]

_QUANTITY = re.compile(r"^(?:\d+(?:\.\d+)?|\.\d+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_REDIS_MEMORY = re.compile(r"^(\d+)\s*(b|k|kb|m|mb|g|gb)?$", re.IGNORECASE)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_REDIS_MEMORY_UNITS = {
    None: 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


def parse_memory(value: str | int) -> int:
    """Bytes of a Redis memory value (``256mb``, ``1gb``, ``0``) using redis.conf's units.

    redis.conf: ``1k => 1000 bytes, 1kb => 1024 bytes, 1m => 1000000, 1mb => 1048576`` (case-insensitive).
    """
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"memory must not be negative, got {value}")
        return value
    m = _REDIS_MEMORY.match(value.strip())
    if not m:
        raise ValueError(f"not a Redis memory value: {value!r} (examples: 256mb, 1gb, 0)")
    unit = m.group(2).lower() if m.group(2) else None
    return int(m.group(1)) * _REDIS_MEMORY_UNITS[unit]


_K8S_SUFFIX = {
    "": 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "P": 1000**5,
    "E": 1000**6,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "Ei": 1024**6,
    "m": 0.001,
}


def quantity_value(q: str) -> float:
    """Numeric value of a Kubernetes quantity (``512Mi`` -> 536870912, ``100m`` -> 0.1)."""
    m = re.match(r"^([0-9.]+)([a-zA-Z]*)$", q)
    if not m or m.group(2) not in _K8S_SUFFIX:
        raise ValueError(f"not a Kubernetes quantity: {q!r}")
    return float(m.group(1)) * _K8S_SUFFIX[m.group(2)]


def _check_quantity(v: str) -> str:
    if not _QUANTITY.match(v):
        raise ValueError(f"not a Kubernetes quantity: {v!r} (examples: 100m, 0.5, 256Mi, 10Gi)")
    return v


Quantity = Annotated[str, Field(description="a Kubernetes quantity such as 100m or 256Mi")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ResourceQuantities(_Strict):
    """CPU and memory quantities (requests or limits)."""

    cpu: Quantity
    memory: Quantity

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _quantity(cls, v: object) -> object:
        # YAML reads `cpu: 2` as an int; Kubernetes accepts numbers as quantities
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = str(v)
        return _check_quantity(v) if isinstance(v, str) else v


class Resources(_Strict):
    """Container resources of the Redis pod."""

    requests: ResourceQuantities = ResourceQuantities(cpu="100m", memory="256Mi")
    limits: ResourceQuantities = ResourceQuantities(cpu="500m", memory="512Mi")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        for field in ("cpu", "memory"):
            req = quantity_value(getattr(self.requests, field))
            lim = quantity_value(getattr(self.limits, field))
            if req > lim:
                raise ValueError(
                    f"requests.{field} ({getattr(self.requests, field)}) exceeds "
                    f"limits.{field} ({getattr(self.limits, field)})"
                )
        return self


class PersistenceConfig(_Strict):
    """The PVC that holds Redis's data dir."""

    enabled: bool = True
    storage_class: str = "gp3"
    access_mode: Literal["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"] = (
        "ReadWriteOnce"
    )
    size: Quantity = "10Gi"
    encrypted: bool = True
    reclaim_policy: Literal["Delete", "Retain"] = "Delete"
    volume_type: str = "gp3"

    @field_validator("size")
    @classmethod
    def _size(cls, v: str) -> str:
        return _check_quantity(v)


class SavePoint(_Strict):
    """One RDB save point: save after ``seconds`` if at least ``changes`` keys changed."""

    seconds: int = Field(gt=0)
    changes: int = Field(gt=0)


def _parse_save(value: object) -> object:
    """Accept ``"900 1 300 10"`` (redis.conf form), ``""`` (no RDB saves) or a list of pairs."""
    if isinstance(value, str):
        parts = value.split()
        if len(parts) % 2:
            raise ValueError(f"save points come in pairs of <seconds> <changes>, got {value!r}")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"save points must be integers, got {value!r}") from None
        return [{"seconds": nums[i], "changes": nums[i + 1]} for i in range(0, len(nums), 2)]
    return value


class RedisSettings(_Strict):
    """The redis.conf settings that the write-up's ``config`` block holds, plus a few that matter."""

    maxmemory: str = "256mb"
    maxmemory_policy: Literal[
        "noeviction",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] = "allkeys-lru"
    save: list[SavePoint] = Field(
        default_factory=lambda: [
            SavePoint(seconds=900, changes=1),
            SavePoint(seconds=300, changes=10),
            SavePoint(seconds=60, changes=10000),
        ]
    )
    appendonly: bool = True
    appendfsync: Literal["always", "everysec", "no"] = "everysec"
    appenddirname: str = "appendonlydir"
    appendfilename: str = "appendonly.aof"
    dbfilename: str = "dump.rdb"
    databases: int = Field(default=16, ge=1, le=10000)
    maxclients: int = Field(default=10000, ge=1)
    slowlog_log_slower_than: int = Field(default=10000, ge=-1)
    slowlog_max_len: int = Field(default=128, ge=0)
    latency_monitor_threshold: int = Field(default=0, ge=0)
    extra: dict[str, str] = Field(
        default_factory=dict, description="more redis.conf directives, rendered verbatim (name -> value)"
    )

    @field_validator("appendonly", mode="before")
    @classmethod
    def _yes_no(cls, v: object) -> object:
        if isinstance(v, str) and v.lower() in ("yes", "no"):
            return v.lower() == "yes"
        return v

    @field_validator("save", mode="before")
    @classmethod
    def _save(cls, v: object) -> object:
        return _parse_save(v)

    @field_validator("maxmemory")
    @classmethod
    def _maxmemory(cls, v: str | int) -> str:
        parse_memory(v)
        return str(v)

    @field_validator("appenddirname", "appendfilename", "dbfilename")
    @classmethod
    def _filename(cls, v: str) -> str:
        if not v or "/" in v or v in (".", ".."):
            raise ValueError(f"must be a plain file name without '/', got {v!r}")
        return v

    @property
    def maxmemory_bytes(self) -> int:
        """maxmemory in bytes (0 = unlimited)."""
        return parse_memory(self.maxmemory)


class AuthConfig(_Strict):
    """How clients authenticate. The password itself is never stored in the config."""

    enabled: bool = False
    username: str | None = Field(default=None, description="ACL user; None = the default user")
    password_env: str = Field(default="REDIS_PASSWORD", description="env var that holds the password")
    password_file: str | None = Field(default=None, description="file that holds the password")
    secret_name: str = Field(default="redis-auth", description="Kubernetes Secret holding the password")
    secret_key: str = "password"


class SecurityContext(_Strict):
    """Pod/container security settings; defaults are the write-up's (uid 999, all caps dropped)."""

    run_as_user: int = Field(default=999, ge=0)
    run_as_group: int = Field(default=999, ge=0)
    fs_group: int = Field(default=999, ge=0)
    run_as_non_root: bool = True
    read_only_root_filesystem: bool = True
    drop_capabilities: list[str] = Field(default_factory=lambda: ["ALL"])
    seccomp_profile: Literal["RuntimeDefault", "Unconfined"] = "RuntimeDefault"


class ClientSelector(_Strict):
    """Which pods may reach Redis (NetworkPolicy ingress) and which services restart on cutover."""

    match_labels: dict[str, str] = Field(default_factory=lambda: {"app": "redis-service"})
    services: list[str] = Field(
        default_factory=lambda: [
            "gateway-service",
            "redis-service",
            "persistence-service",
            "inference-service",
            "judge-service",
        ],
        description="Deployments that use Redis; restarted after a cutover (write-up step 6)",
    )


class BackupTarget(_Strict):
    """Where backups go: an S3 bucket (optionally read from a Velero BackupStorageLocation)."""

    bucket: str = "redisops-backups"
    prefix: str = "redisops"
    region: str = "us-east-1"
    endpoint_url: str | None = None
    force_path_style: bool = False
    server_side_encryption: Literal["AES256", "aws:kms", "none"] = "AES256"
    kms_key_id: str | None = None
    velero_bsl: str | None = Field(default=None, description="name of a Velero BSL to take settings from")
    schedule: str | None = Field(default="0 */6 * * *", description="cron schedule of automated backups")
    drill_schedule: str | None = Field(
        default="30 4 * * 0",
        description="cron schedule of restore drills (restore the latest backup into a scratch server)",
    )
    keep_last: int = Field(default=7, ge=1)

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", v) or ".." in v:
            raise ValueError(f"not a valid S3 bucket name: {v!r} (3-63 chars: a-z 0-9 . -)")
        return v

    @model_validator(mode="after")
    def _kms(self) -> BackupTarget:
        if self.kms_key_id and self.server_side_encryption != "aws:kms":
            raise ValueError("kms_key_id is set but server_side_encryption is not 'aws:kms'")
        return self


class DeploymentConfig(_Strict):
    """Everything redisops needs to know about one Redis deployment.

    Field names follow the write-up's ``redis_k8s_config`` (``config`` holds redis.conf settings).
    """

    namespace: str = "llm-judge"
    image: str = "redis:7.1-alpine"
    service_name: str = "redis"
    service_dns: str = "redis.llm-judge.svc.cluster.local"
    port: int = Field(default=6379, ge=1, le=65535)
    default_ttl_seconds: int = Field(default=604800, ge=0)
    resources: Resources = Resources()
    persistence: PersistenceConfig = PersistenceConfig()
    config: RedisSettings = Field(default_factory=RedisSettings)
    auth: AuthConfig = AuthConfig()
    security_context: SecurityContext = Field(default_factory=SecurityContext)
    clients: ClientSelector = Field(default_factory=ClientSelector)
    backup: BackupTarget = BackupTarget()
    labels: dict[str, str] = Field(default_factory=lambda: {"app": "redis"})

    @field_validator("namespace", "service_name")
    @classmethod
    def _dns_label(cls, v: str) -> str:
        if len(v) > 63 or not _DNS_LABEL.match(v):
            raise ValueError(f"must be a DNS label (lower-case a-z, 0-9, '-', at most 63 chars), got {v!r}")
        return v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v):
            raise ValueError(f"not a container image reference: {v!r}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _derive_dns(cls, data: object) -> object:
        """service_dns follows service_name and namespace unless given explicitly (and vice versa:
        the write-up's block has no namespace, only ``service_dns = "redis.llm-judge.svc..."``)."""
        if isinstance(data, dict) and "namespace" not in data and isinstance(data.get("service_dns"), str):
            parts = data["service_dns"].split(".")
            if len(parts) >= 2 and parts[2:3] == ["svc"]:
                data = {**data, "namespace": parts[1]}
        if isinstance(data, dict) and "service_dns" not in data:
            ns = data.get("namespace", "llm-judge")
            name = data.get("service_name", "redis")
            if isinstance(ns, str) and isinstance(name, str):
                data = {**data, "service_dns": f"{name}.{ns}.svc.cluster.local"}
        return data
