"""Kubernetes manifests for one Redis deployment, rendered from the typed config as plain dicts.

Pure: no API calls, no kubernetes client. :func:`render_manifests` returns the objects in apply
order (StorageClass, PVC, ConfigMap, Deployment, Service, NetworkPolicies, backup ServiceAccount and
CronJob); :func:`to_yaml` turns them into one multi-document YAML stream for GitOps or ``kubectl
apply -f -``. The design decisions (Recreate, SAVE in the Velero hook, the secret handling, the
client egress policy) are explained in docs/manifests.md.

Secrets are never rendered: with ``auth.enabled`` the pod reads the password from the Secret named
in the config (``auth.secret_name`` / ``auth.secret_key``), which must exist in the namespace.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from redisops.config.model import DeploymentConfig
from redisops.config.redisconf import config_checksum, render_redis_conf
from redisops.errors import ConfigError

__all__ = [
    "APPLY_ORDER",
    "BACKUP_COMPONENT",
    "BACKUP_ROLE_RULES",
    "CHECKSUM_ANNOTATION",
    "DEFAULT_TOOL_IMAGE",
    "LAST_RESTORE_ANNOTATION",
    "REDIS_CONF_PATH",
    "VELERO_PRE_HOOK_COMMAND",
    "VELERO_RESTORE_INIT_CONTAINER",
    "Manifest",
    "RenderOptions",
    "common_labels",
    "render_backup_cronjob",
    "render_backup_rbac",
    "render_backup_service_account",
    "render_client_egress_policy",
    "render_configmap",
    "render_deployment",
    "render_drill_cronjob",
    "render_ingress_policy",
    "render_manifests",
    "render_pvc",
    "render_restore_job",
    "render_service",
    "render_storage_class",
    "render_undo_job",
    "render_velero_restore_hooks",
    "to_yaml",
    "velero_post_restore_command",
    "velero_restore_init_command",
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

#: Velero pre-backup hook: a *synchronous* SAVE (Velero waits for the command, then copies the
#: volume). BGSAVE would return at once and Velero would copy the files while the child writes.
#: SAVE errors while another save runs, so retry for up to 60 s; it needs no fork (no 2x memory).
VELERO_PRE_HOOK_COMMAND = [
    "/bin/sh",
    "-c",
    'for i in $(seq 60); do [ "$(redis-cli -p ${REDIS_PORT_NUMBER} SAVE)" = OK ] && exit 0; sleep 1; done; '
    "echo 'redis-cli SAVE did not succeed in 60s' >&2; exit 1",
]

#: the init container Velero adds to a restored Redis pod (init restore hook)
VELERO_RESTORE_INIT_CONTAINER = "redisops-restore-init"
#: Deployment annotation naming the last restore redisops ran into the PVC (JSON: job, backup id, time)
LAST_RESTORE_ANNOTATION = "redisops.io/last-restore"

_DATA_VOLUME = "data"
_CONFIG_VOLUME = "config"
_TMP_VOLUME = "tmp"
#: an emptyDir: the root filesystem is read-only, and redis-cli/the tool may need scratch space
_TMP_PATH = "/tmp"  # noqa: S108
_JOB_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


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


def _s3_env(cfg: DeploymentConfig) -> list[dict[str, Any]]:
    b = cfg.backup
    values: list[tuple[str, str | None]] = [
        ("REDISOPS_S3_BUCKET", b.bucket),
        ("REDISOPS_S3_PREFIX", b.prefix),
        ("AWS_REGION", b.region),
        ("REDISOPS_S3_ENDPOINT_URL", b.endpoint_url),
        ("REDISOPS_S3_FORCE_PATH_STYLE", "true" if b.force_path_style else "false"),
        ("REDISOPS_S3_SSE", b.server_side_encryption),
        ("REDISOPS_S3_KMS_KEY_ID", b.kms_key_id),
        ("REDISOPS_BACKUP_KEEP_LAST", str(b.keep_last)),
    ]
    return [{"name": k, "value": v} for k, v in values if v is not None]


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


def _job_pod_spec(
    cfg: DeploymentConfig,
    *,
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "serviceAccountName": _names(cfg)["ops_sa"],
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "restartPolicy": "Never",
        "securityContext": _pod_security(cfg),
        "containers": [container],
        "volumes": volumes,
    }


def _job_container(
    cfg: DeploymentConfig, opts: RenderOptions, name: str, command: list[str], mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    env = _s3_env(cfg)
    if cfg.auth.enabled:
        env.append(_secret_env(cfg, cfg.auth.password_env))
    container: dict[str, Any] = {
        "name": name,
        "image": opts.tool_image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env,
        "resources": json.loads(json.dumps(_JOB_RESOURCES)),
        "securityContext": _container_security(cfg),
        "volumeMounts": mounts,
    }
    if opts.s3_credentials_secret:
        container["envFrom"] = [{"secretRef": {"name": opts.s3_credentials_secret}}]
    return container


# --- objects -----------------------------------------------------------------------------------


def render_storage_class(cfg: DeploymentConfig, *, revision: str | None = None) -> Manifest:
    """The gp3 StorageClass of the write-up (cluster-scoped): EBS CSI, encrypted, expandable."""
    p = cfg.persistence
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": _meta(cfg, p.storage_class, namespaced=False, revision=revision),
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": p.volume_type, "encrypted": "true" if p.encrypted else "false"},
        "reclaimPolicy": p.reclaim_policy,
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def render_pvc(cfg: DeploymentConfig, *, revision: str | None = None) -> Manifest:
    """The PersistentVolumeClaim that holds Redis's data dir (RDB + AOF)."""
    p = cfg.persistence
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(cfg, _names(cfg)["pvc"], revision=revision),
        "spec": {
            "storageClassName": p.storage_class,
            "accessModes": [p.access_mode],
            "resources": {"requests": {"storage": p.size}},
        },
    }


def render_configmap(cfg: DeploymentConfig, *, revision: str | None = None) -> Manifest:
    """The ConfigMap holding ``redis.conf`` (rendered by :func:`render_redis_conf`; no secrets)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(cfg, _names(cfg)["configmap"], revision=revision),
        "data": {"redis.conf": render_redis_conf(cfg)},
    }


def velero_restore_init_command(cfg: DeploymentConfig) -> list[str]:
    """What Velero's init restore hook runs before Redis starts on a restored PVC: adopt a lone
    ``dump.rdb`` as the AOF base (see :mod:`redisops.restore.adopt`); a valid AOF is left alone."""
    return [
        "redisops", "restore-data-dir", "--adopt", "--data-dir", "/data",
        "--redis-version", redis_version_of_image(cfg.image), "--redis-conf", REDIS_CONF_PATH,
    ]  # fmt: skip


def velero_post_restore_command(cfg: DeploymentConfig) -> list[str]:
    """Velero's post-restore hook (in the redis container): wait until Redis has loaded the restored
    data (``loading:0``, up to 300 s), print the keyspace, and fail when ``aof_enabled`` differs from
    the config's ``appendonly`` (a restore that came up without its AOF is reported, not hidden)."""
    aof = "1" if cfg.config.appendonly else "0"
    script = (
        "for i in $(seq 300); do info=$(redis-cli -p ${REDIS_PORT_NUMBER} INFO persistence 2>/dev/null); "
        'case "$info" in *loading:0*) break;; esac; sleep 1; done; '
        'case "$info" in *loading:0*) ;; *) echo "Redis did not finish loading in 300s" >&2; exit 1;; esac; '
        "redis-cli -p ${REDIS_PORT_NUMBER} INFO keyspace; "
        f'echo "$info" | grep -q "aof_enabled:{aof}" || {{ echo "aof_enabled is not {aof}" >&2; exit 1; }}'
    )
    return ["/bin/sh", "-c", script]


def _velero_restore_annotations(cfg: DeploymentConfig, tool_image: str) -> dict[str, str]:
    """The Velero post-restore hook: wait until Redis has loaded the restored data and check AOF.

    No init hook here: Velero builds an annotation-declared init container without volume mounts, so
    it could not see /data. The adopt step lives in the Restore spec's hooks instead
    (:func:`render_velero_restore_hooks`), where the data volume can be mounted.
    """
    return {
        "post.hook.restore.velero.io/container": "redis",
        "post.hook.restore.velero.io/command": json.dumps(velero_post_restore_command(cfg)),
        "post.hook.restore.velero.io/on-error": "Fail",
        "post.hook.restore.velero.io/exec-timeout": "330s",
        "post.hook.restore.velero.io/wait-timeout": "10m",
    }


def render_velero_restore_hooks(cfg: DeploymentConfig, options: RenderOptions | None = None) -> Manifest:
    """The ``spec.hooks`` of a Velero ``Restore`` that adopts the restored data dir: the same init
    container as the pod annotations, but with the data volume mounted at /data (Velero gives an
    init container declared by annotations image, name and command only, no volume mounts), and the
    post-restore check in the redis container."""
    opts = options or RenderOptions()
    init = {
        "name": VELERO_RESTORE_INIT_CONTAINER,
        "image": opts.tool_image,
        "command": velero_restore_init_command(cfg),
        "securityContext": _container_security(cfg),
        "volumeMounts": [{"name": _DATA_VOLUME, "mountPath": "/data"}, dict(_CONFIG_MOUNT)],
    }
    post = {
        "container": "redis",
        "command": velero_post_restore_command(cfg),
        "onError": "Fail",
        "execTimeout": "330s",
        "waitTimeout": "10m",
    }
    return {
        "resources": [
            {
                "name": f"{cfg.service_name}-adopt-data-dir",
                "includedNamespaces": [cfg.namespace],
                "includedResources": ["pods"],
                "labelSelector": {"matchLabels": dict(cfg.labels)},
                "postHooks": [{"init": {"initContainers": [init], "timeout": "10m"}}, {"exec": post}],
            }
        ]
    }


def render_deployment(
    cfg: DeploymentConfig, *, revision: str | None = None, options: RenderOptions | None = None
) -> Manifest:
    """The Redis Deployment: 1 replica, Recreate, hardened pod, probes, checksum and Velero annotations
    (the pre-backup SAVE; with persistence, the restore hooks that run ``options.tool_image``)."""
    opts = options or RenderOptions()
    names = _names(cfg)
    port = cfg.port
    pod_labels = {**common_labels(cfg), COMPONENT_LABEL: "server"}
    command = ["redis-server", "/etc/redis/redis.conf"]
    # redis-cli in the probes and the Velero hook reads the port from here (no shell defaults)
    env: list[dict[str, Any]] = [{"name": "REDIS_PORT_NUMBER", "value": str(port)}]
    if cfg.auth.enabled:
        # kubelet expands $(VAR) in command/args from the container's env; no shell is involved,
        # so the password never appears in the manifest, only in the process's argv
        command += ["--requirepass", f"$({cfg.auth.password_env})"]
        env += [_secret_env(cfg, cfg.auth.password_env), _secret_env(cfg, "REDISCLI_AUTH")]
    annotations = {
        CHECKSUM_ANNOTATION: config_checksum(render_redis_conf(cfg)),
        "pre.hook.backup.velero.io/container": "redis",
        "pre.hook.backup.velero.io/command": json.dumps(VELERO_PRE_HOOK_COMMAND),
        "pre.hook.backup.velero.io/on-error": "Fail",
        "pre.hook.backup.velero.io/timeout": "90s",
    }
    if cfg.persistence.enabled:
        annotations["backup.velero.io/backup-volumes"] = _DATA_VOLUME
        annotations.update(_velero_restore_annotations(cfg, opts.tool_image))
    container: dict[str, Any] = {
        "name": "redis",
        "image": cfg.image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env,
        "ports": [{"name": "redis", "containerPort": port, "protocol": "TCP"}],
        "readinessProbe": {
            # PONG only: a loading Redis answers -LOADING and must not get traffic yet
            "exec": {"command": ["/bin/sh", "-c", 'redis-cli -p "$REDIS_PORT_NUMBER" ping | grep -q PONG']},
            "initialDelaySeconds": 5,
            "periodSeconds": 5,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
        # TCP only: Redis accepts connections while loading a large AOF; an exec PING would fail
        # during the load and the kubelet would kill the pod before it ever finishes loading
        "livenessProbe": {
            "tcpSocket": {"port": "redis"},
            "initialDelaySeconds": 15,
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 6,
        },
        "resources": {
            "requests": {"cpu": cfg.resources.requests.cpu, "memory": cfg.resources.requests.memory},
            "limits": {"cpu": cfg.resources.limits.cpu, "memory": cfg.resources.limits.memory},
        },
        "securityContext": _container_security(cfg),
        "volumeMounts": [
            {"name": _DATA_VOLUME, "mountPath": "/data"},
            dict(_CONFIG_MOUNT),
            {"name": _TMP_VOLUME, "mountPath": _TMP_PATH},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(cfg, names["deployment"], revision=revision, component="server"),
        "spec": {
            "replicas": 1,
            # an RWO volume cannot be attached to two pods on different nodes, and two Redis
            # processes on one node would write the same AOF: the old pod must stop first
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": dict(cfg.labels)},
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": {
                    "automountServiceAccountToken": False,
                    # a Service named "redis" would inject REDIS_PORT=tcp://... into the pods
                    "enableServiceLinks": False,
                    # time for the shutdown save (SIGTERM -> final RDB/AOF fsync) before SIGKILL
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": _pod_security(cfg),
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {"matchLabels": dict(cfg.labels)},
                                        "topologyKey": "kubernetes.io/hostname",
                                    },
                                }
                            ]
                        }
                    },
                    "containers": [container],
                    "volumes": [_data_volume(cfg), _config_volume(cfg), _tmp_volume("64Mi")],
                },
            },
        },
    }


def render_service(cfg: DeploymentConfig, *, revision: str | None = None) -> Manifest:
    """The ClusterIP Service (``<service_name>.<namespace>.svc.cluster.local:<port>``)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(cfg, _names(cfg)["service"], revision=revision),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(cfg.labels),
            "ports": [{"name": "redis", "port": cfg.port, "targetPort": "redis", "protocol": "TCP"}],
        },
    }


def render_ingress_policy(cfg: DeploymentConfig, *, revision: str | None = None) -> Manifest:
    """Ingress NetworkPolicy on the Redis pods: only the client pods and the backup pods, on the port."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(cfg, _names(cfg)["ingress_policy"], revision=revision),
        "spec": {
            "podSelector": {"matchLabels": dict(cfg.labels)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": dict(cfg.clients.match_labels)}},
                        {"podSelector": {"matchLabels": {COMPONENT_LABEL: BACKUP_COMPONENT}}},
                    ],
                    "ports": [{"protocol": "TCP", "port": cfg.port}],
                }
            ],
        },
    }


def render_client_egress_policy(
    cfg: DeploymentConfig, options: RenderOptions | None = None, *, revision: str | None = None
) -> Manifest:
    """The write-up's client egress rule: to the Redis pods on the port (not ``ipBlock 10.0.0.0/16``),
    plus DNS so the clients keep resolving ``redis.<ns>.svc.cluster.local``."""
    opts = options or RenderOptions()
    dns_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": opts.dns_namespace}},
        "podSelector": {"matchLabels": dict(opts.dns_pod_labels)},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(cfg, _names(cfg)["egress_policy"], revision=revision),
        "spec": {
            "podSelector": {"matchLabels": dict(cfg.clients.match_labels)},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": dict(cfg.labels)}}],
                    "ports": [{"protocol": "TCP", "port": cfg.port}],
                },
                {
                    "to": [dns_peer],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
            ],
        },
    }


def render_backup_service_account(
    cfg: DeploymentConfig, options: RenderOptions | None = None, *, revision: str | None = None
) -> Manifest:
    """``<service>-ops``: the restore, undo and drill pods' ServiceAccount. No API token, no Role: they
    only talk to Redis and S3, never to the Kubernetes API (the backup pods have their own account,
    see :func:`render_backup_rbac`)."""
    opts = options or RenderOptions()
    meta = _meta(cfg, _names(cfg)["ops_sa"], revision=revision, component=BACKUP_COMPONENT)
    if opts.backup_service_account_annotations:
        meta["annotations"] = {**meta.get("annotations", {}), **opts.backup_service_account_annotations}
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        "automountServiceAccountToken": False,
    }


#: the one permission of the backup pods: read their own Pod (the store lock names the pod holding it,
#: and a later backup checks whether that pod still exists before it breaks a stale lock)
BACKUP_ROLE_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
)


def render_backup_rbac(
    cfg: DeploymentConfig, options: RenderOptions | None = None, *, revision: str | None = None
) -> list[Manifest]:
    """The backup CronJob's identity: ServiceAccount ``<service>-backup`` (the only redisops pods that
    mount an API token), a namespaced Role allowing exactly ``get`` on pods, and its RoleBinding."""
    opts = options or RenderOptions()
    name = _names(cfg)["backup_sa"]
    sa_meta = _meta(cfg, name, revision=revision, component=BACKUP_COMPONENT)
    if opts.backup_service_account_annotations:
        sa_meta["annotations"] = {**sa_meta.get("annotations", {}), **opts.backup_service_account_annotations}
    return [
        # the pod spec asks for the token; other pods that name this account do not get one
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": sa_meta,
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(cfg, name, revision=revision, component=BACKUP_COMPONENT),
            "rules": [json.loads(json.dumps(r)) for r in BACKUP_ROLE_RULES],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(cfg, name, revision=revision, component=BACKUP_COMPONENT),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": cfg.namespace}],
        },
    ]


def render_backup_cronjob(
    cfg: DeploymentConfig, options: RenderOptions | None = None, *, revision: str | None = None
) -> Manifest:
    """The backup CronJob (``cfg.backup.schedule``, UTC): ``redisops backup create`` against the Service."""
    opts = options or RenderOptions()
    if not cfg.backup.schedule:
        raise ConfigError("backup.schedule is not set: there is no CronJob to render")
    names = _names(cfg)
    url = f"redis://{cfg.service_dns}:{cfg.port}"
    command = [*opts.backup_command, "--url", url, "--output", "json"]
    container = _job_container(cfg, opts, "backup", command, [{"name": _TMP_VOLUME, "mountPath": _TMP_PATH}])
    # the pod's own name and namespace: the store lock records them (downward API)
    container["env"] += [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    pod = _job_pod_spec(cfg, container=container, volumes=[_tmp_volume(cfg.persistence.size)])
    pod["serviceAccountName"] = names["backup_sa"]
    pod["automountServiceAccountToken"] = True
    meta = _meta(cfg, names["backup"], revision=revision, component=BACKUP_COMPONENT)
    return _cronjob(cfg, opts, meta, cfg.backup.schedule, BACKUP_COMPONENT, pod, backoff_limit=1)


def _cronjob(
    cfg: DeploymentConfig,
    opts: RenderOptions,
    meta: dict[str, Any],
    schedule: str,
    component: str,
    pod: dict[str, Any],
    *,
    backoff_limit: int,
) -> Manifest:
    """A CronJob in UTC that never overlaps itself, keeps 3 + 3 Jobs and gives each an hour."""
    labels = _job_pod_labels(cfg, component)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": opts.starting_deadline_seconds,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": backoff_limit,
                    "activeDeadlineSeconds": 3600,
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                },
            },
        },
    }


def render_drill_cronjob(
    cfg: DeploymentConfig, options: RenderOptions | None = None, *, revision: str | None = None
) -> Manifest:
    """The restore-drill CronJob (``cfg.backup.drill_schedule``, UTC): ``redisops backup drill``
    restores the latest backup into a scratch redis-server inside the Job's pod, with the ConfigMap's
    redis.conf, verifies the key counts and records RTO/RPO in the store (``redisops health`` reports
    the last drill). The pod gets Redis's own resources: the scratch server holds the whole dataset."""
    opts = options or RenderOptions()
    if not cfg.backup.drill_schedule:
        raise ConfigError("backup.drill_schedule is not set: there is no drill CronJob to render")
    names = _names(cfg)
    command = ["redisops", "backup", "drill", "--redis-conf", REDIS_CONF_PATH, "--output", "json"]
    mounts = [{"name": _TMP_VOLUME, "mountPath": _TMP_PATH}, dict(_CONFIG_MOUNT)]
    container = _job_container(cfg, opts, "drill", command, mounts)
    container["resources"] = cfg.resources.model_dump(exclude_none=True)
    pod = _job_pod_spec(
        cfg, container=container, volumes=[_tmp_volume(cfg.persistence.size), _config_volume(cfg)]
    )
    meta = _meta(cfg, names["drill"], revision=revision, component=DRILL_COMPONENT)
    # a failed drill is a finding to look at, not something to retry
    return _cronjob(cfg, opts, meta, cfg.backup.drill_schedule, DRILL_COMPONENT, pod, backoff_limit=0)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def redis_version_of_image(image: str, default: str = "7.0.0") -> str:
    """The Redis version an image tag names (``redis:7.2.4-alpine`` -> 7.2.4, ``redis:7.0`` -> 7.0.0).

    The restore checks the backup's RDB version against it; an untagged or unusual image gives ``default``.
    """
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", tag)
    if not m:
        return default
    return f"{m.group(1)}.{m.group(2)}.{m.group(3) or 0}"


def render_restore_job(
    cfg: DeploymentConfig,
    backup_id: str,
    tool_image: str = DEFAULT_TOOL_IMAGE,
    *,
    command: Sequence[str] = ("redisops", "restore-data-dir"),
    options: RenderOptions | None = None,
) -> Manifest:
    """A one-shot Job that writes backup ``backup_id`` into the data PVC (mounted at /data).

    Run it only while the Redis Deployment is scaled to 0: the volume is RWO and a running Redis
    would overwrite the restored files on its next save. ``backoffLimit: 0``: a failed restore is
    looked at, not retried.
    """
    if not cfg.persistence.enabled:
        raise ConfigError("persistence is disabled: there is no data volume to restore into")
    if not backup_id or any(c.isspace() for c in backup_id):
        raise ConfigError(f"not a backup id: {backup_id!r}")
    opts = dataclasses.replace(options or RenderOptions(), tool_image=tool_image)
    names = _names(cfg)
    name = f"{names['restore']}-{_slug(backup_id)}"[:63].rstrip("-")
    sc = cfg.security_context
    argv = [
        *command, "--data-dir", "/data", "--backup", backup_id,
        "--redis-version", redis_version_of_image(cfg.image),
        "--uid", str(sc.run_as_user), "--gid", str(sc.run_as_group),
        "--redis-conf", REDIS_CONF_PATH,
    ]  # fmt: skip
    mounts = [
        {"name": _DATA_VOLUME, "mountPath": "/data"},
        {"name": _TMP_VOLUME, "mountPath": _TMP_PATH},
        dict(_CONFIG_MOUNT),
    ]
    container = _job_container(cfg, opts, "restore", argv, mounts)
    volumes = [_data_volume(cfg), _tmp_volume(cfg.persistence.size), _config_volume(cfg)]
    pod = _job_pod_spec(cfg, container=container, volumes=volumes)
    labels = _job_pod_labels(cfg, RESTORE_COMPONENT)
    meta = _meta(cfg, name, component=RESTORE_COMPONENT)
    meta["annotations"] = {"redisops.io/backup-id": backup_id}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 3600,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def render_undo_job(
    cfg: DeploymentConfig,
    tool_image: str = DEFAULT_TOOL_IMAGE,
    *,
    suffix: str = "",
    options: RenderOptions | None = None,
) -> Manifest:
    """The Job that undoes the last restore in the data PVC (``restore-data-dir --undo``): the files
    the restore moved aside go back, the restored ones go into a new undo folder. Run it while Redis
    is scaled to 0, like :func:`render_restore_job`. ``suffix`` (e.g. a timestamp) keeps names unique.
    """
    if not cfg.persistence.enabled:
        raise ConfigError("persistence is disabled: there is no data volume to undo a restore in")
    opts = dataclasses.replace(options or RenderOptions(), tool_image=tool_image)
    name = f"{_names(cfg)['restore']}-undo" + (f"-{_slug(suffix)}" if suffix else "")
    name = name[:63].rstrip("-")
    argv = [
        "redisops", "restore-data-dir", "--undo", "--data-dir", "/data",
    ]  # fmt: skip
    mounts = [{"name": _DATA_VOLUME, "mountPath": "/data"}, {"name": _TMP_VOLUME, "mountPath": _TMP_PATH}]
    container = _job_container(cfg, opts, "restore-undo", argv, mounts)
    pod = _job_pod_spec(cfg, container=container, volumes=[_data_volume(cfg), _tmp_volume("64Mi")])
    meta = _meta(cfg, name, component=RESTORE_COMPONENT)
    meta["annotations"] = {"redisops.io/operation": "undo"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 3600,
            "template": {"metadata": {"labels": _job_pod_labels(cfg, RESTORE_COMPONENT)}, "spec": pod},
        },
    }


def render_manifests(
    cfg: DeploymentConfig, *, revision: str | None = None, options: RenderOptions | None = None
) -> list[Manifest]:
    """Every object of the deployment, in apply order (see :data:`APPLY_ORDER`).

    ``revision`` (e.g. a git SHA) goes into each object's ``redisops.io/revision`` annotation; it
    is not on the pod template, so a new revision alone does not restart Redis.

    Example::

        docs = render_manifests(DeploymentConfig(), options=RenderOptions(include_storage_class=False))
        print(to_yaml(docs))
    """
    opts = options or RenderOptions()
    out: list[Manifest] = []
    if cfg.persistence.enabled:
        if opts.include_storage_class:
            out.append(render_storage_class(cfg, revision=revision))
        out.append(render_pvc(cfg, revision=revision))
    out.append(render_configmap(cfg, revision=revision))
    # always rendered: the restore Job runs under it too, even without scheduled backups
    out.append(render_backup_service_account(cfg, opts, revision=revision))
    if cfg.backup.schedule:
        out += render_backup_rbac(cfg, opts, revision=revision)
    out.append(render_deployment(cfg, revision=revision, options=opts))
    out.append(render_service(cfg, revision=revision))
    out.append(render_ingress_policy(cfg, revision=revision))
    if opts.include_client_egress:
        out.append(render_client_egress_policy(cfg, opts, revision=revision))
    if cfg.backup.schedule:
        out.append(render_backup_cronjob(cfg, opts, revision=revision))
    if cfg.backup.drill_schedule:
        out.append(render_drill_cronjob(cfg, opts, revision=revision))
    return out


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(manifests: Sequence[Mapping[str, Any]]) -> str:
    """A multi-document YAML stream (``---`` separated; multi-line strings as ``|`` blocks)."""
    return yaml.dump_all(
        [dict(m) for m in manifests],
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        explicit_start=True,
        width=4096,
    )
