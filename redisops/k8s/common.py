"""Shared pieces of the Kubernetes manifests: names, labels, metadata, security contexts, volumes.

Everything the object, Job and RBAC renderers have in common lives here: the constants (annotations,
component labels, :data:`APPLY_ORDER`), :class:`RenderOptions`, and the helpers that build object
names, labels, metadata, security contexts, Secret env and volumes. Names with a leading underscore
are shared inside :mod:`redisops.k8s` only; the public API is :mod:`redisops.k8s.manifests`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redisops.config.model import DeploymentConfig
from redisops.errors import ConfigError

__all__ = [
    "APPLY_ORDER",
    "BACKUP_COMPONENT",
    "CHECKSUM_ANNOTATION",
    "COMPONENT_LABEL",
    "DEFAULT_TOOL_IMAGE",
    "DRILL_COMPONENT",
    "LAST_RESTORE_ANNOTATION",
    "REDIS_CONF_PATH",
    "RESTORE_COMPONENT",
    "REVISION_ANNOTATION",
    "Manifest",
    "RenderOptions",
    "common_labels",
    "redis_version_of_image",
]

Manifest = dict[str, Any]

#: the redisops image (a test keeps the tag equal to redisops.__version__)
DEFAULT_TOOL_IMAGE = "ghcr.io/example/redisops:0.1.0"
CHECKSUM_ANNOTATION = "redisops.io/config-checksum"
REVISION_ANNOTATION = "redisops.io/revision"
COMPONENT_LABEL = "app.kubernetes.io/component"
BACKUP_COMPONENT = "redisops-backup"
RESTORE_COMPONENT = "redisops-restore"
DRILL_COMPONENT = "redisops-drill"
#: kinds in the order ``render_manifests`` returns them (and ``kubectl apply`` should create them)
APPLY_ORDER = (
    "StorageClass",
    "PersistentVolumeClaim",
    "ConfigMap",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Deployment",
    "Service",
    "NetworkPolicy",
    "CronJob",
)

#: Deployment annotation naming the last restore redisops ran into the PVC (JSON: job, backup id, time)
LAST_RESTORE_ANNOTATION = "redisops.io/last-restore"

_DATA_VOLUME = "data"
_CONFIG_VOLUME = "config"
_TMP_VOLUME = "tmp"
#: an emptyDir: the root filesystem is read-only, and redis-cli/the tool may need scratch space
_TMP_PATH = "/tmp"  # noqa: S108


@dataclass(frozen=True)
class RenderOptions:
    """Choices that are about *how* to deploy, not about Redis (so they are not in the config).

    Attributes:
        tool_image: the redisops image the backup CronJob and restore Job run.
        include_storage_class: render the gp3 StorageClass (cluster-scoped; skip it when the
            platform team owns StorageClasses, as the write-up's Terraform did).
        include_client_egress: render the clients' egress NetworkPolicy (see docs/manifests.md:
            it isolates the client pods for egress, so only use it where the clients already
            have an egress policy, as the write-up's redis-service does).
        s3_credentials_secret: a Secret whose keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...)
            become the backup pods' env (``envFrom``); None = IRSA / instance role.
        backup_service_account_annotations: e.g. ``{"eks.amazonaws.com/role-arn": "arn:..."}`` (IRSA).
        backup_command: the command the backup CronJob runs, before ``--url ... --output json``.
        starting_deadline_seconds: how late a missed backup may still start.
        dns_namespace / dns_pod_labels: where cluster DNS runs (egress to port 53 is allowed there).
    """

    tool_image: str = DEFAULT_TOOL_IMAGE
    include_storage_class: bool = True
    include_client_egress: bool = True
    s3_credentials_secret: str | None = None
    backup_service_account_annotations: Mapping[str, str] = field(default_factory=dict)
    backup_command: Sequence[str] = ("redisops", "backup", "create")
    starting_deadline_seconds: int = 300
    dns_namespace: str = "kube-system"
    dns_pod_labels: Mapping[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})


# --- names and labels --------------------------------------------------------------------------


def _names(cfg: DeploymentConfig) -> dict[str, str]:
    svc = cfg.service_name
    return {
        "deployment": svc,
        "service": svc,
        "pvc": f"{svc}-data",
        "configmap": f"{svc}-config",
        "ingress_policy": f"{svc}-ingress",
        "egress_policy": f"{svc}-clients-egress",
        "backup": f"{svc}-backup",
        "ops_sa": f"{svc}-ops",
        "backup_sa": f"{svc}-backup",
        "restore": f"{svc}-restore",
        "drill": f"{svc}-drill",
    }


def common_labels(cfg: DeploymentConfig) -> dict[str, str]:
    """Labels on every object's metadata: the config's labels plus the standard recommended ones."""
    return {
        **cfg.labels,
        "app.kubernetes.io/name": "redis",
        "app.kubernetes.io/instance": cfg.service_name,
        "app.kubernetes.io/managed-by": "redisops",
    }


def _job_pod_labels(cfg: DeploymentConfig, component: str) -> dict[str, str]:
    """Labels of backup/restore pods. They must not match the Redis selector, or the Service would
    send client traffic to them; they carry the component label the ingress policy admits."""
    labels = {
        "app.kubernetes.io/name": "redisops",
        "app.kubernetes.io/instance": cfg.service_name,
        "app.kubernetes.io/managed-by": "redisops",
        COMPONENT_LABEL: component,
    }
    if all(labels.get(k) == v for k, v in cfg.labels.items()):
        raise ConfigError(
            f"the Redis pod selector {cfg.labels} would also select the {component} pods",
            hint="give the deployment a distinguishing label, e.g. labels: {app: redis}",
            context={"labels": cfg.labels},
        )
    return labels


def _meta(
    cfg: DeploymentConfig,
    name: str,
    *,
    namespaced: bool = True,
    revision: str | None = None,
    component: str | None = None,
) -> dict[str, Any]:
    labels = common_labels(cfg)
    if component:
        labels[COMPONENT_LABEL] = component
    meta: dict[str, Any] = {"name": name}
    if namespaced:
        meta["namespace"] = cfg.namespace
    meta["labels"] = labels
    if revision:
        meta["annotations"] = {REVISION_ANNOTATION: revision}
    return meta


# --- shared pod pieces -------------------------------------------------------------------------


def _pod_security(cfg: DeploymentConfig) -> dict[str, Any]:
    sc = cfg.security_context
    return {
        "runAsUser": sc.run_as_user,
        "runAsGroup": sc.run_as_group,
        "runAsNonRoot": sc.run_as_non_root,
        "fsGroup": sc.fs_group,
        # chown the volume only when its root does not already belong to fsGroup (fast restarts)
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": sc.seccomp_profile},
    }


def _container_security(cfg: DeploymentConfig) -> dict[str, Any]:
    sc = cfg.security_context
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": sc.read_only_root_filesystem,
        "runAsNonRoot": sc.run_as_non_root,
        "capabilities": {"drop": list(sc.drop_capabilities)},
    }


def _secret_env(cfg: DeploymentConfig, name: str) -> dict[str, Any]:
    ref = {"name": cfg.auth.secret_name, "key": cfg.auth.secret_key}
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def _tmp_volume(size: str) -> dict[str, Any]:
    return {"name": _TMP_VOLUME, "emptyDir": {"sizeLimit": size}}


def _config_volume(cfg: DeploymentConfig) -> dict[str, Any]:
    """The ConfigMap's redis.conf: Redis loads it, and the Jobs read the target's settings from it."""
    return {
        "name": _CONFIG_VOLUME,
        "configMap": {
            "name": _names(cfg)["configmap"],
            "items": [{"key": "redis.conf", "path": "redis.conf"}],
        },
    }


_CONFIG_MOUNT: dict[str, Any] = {"name": _CONFIG_VOLUME, "mountPath": "/etc/redis", "readOnly": True}
#: where the Redis pod and the Jobs see the ConfigMap's redis.conf
REDIS_CONF_PATH = "/etc/redis/redis.conf"


def _data_volume(cfg: DeploymentConfig) -> dict[str, Any]:
    if cfg.persistence.enabled:
        return {"name": _DATA_VOLUME, "persistentVolumeClaim": {"claimName": _names(cfg)["pvc"]}}
    return {"name": _DATA_VOLUME, "emptyDir": {}}


def redis_version_of_image(image: str, default: str = "7.0.0") -> str:
    """The Redis version an image tag names (``redis:7.2.4-alpine`` -> 7.2.4, ``redis:7.0`` -> 7.0.0).

    The restore checks the backup's RDB version against it; an untagged or unusual image gives ``default``.
    """
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", tag)
    if not m:
        return default
    return f"{m.group(1)}.{m.group(2)}.{m.group(3) or 0}"
