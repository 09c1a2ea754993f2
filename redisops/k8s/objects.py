"""The Redis objects: StorageClass, PVC, ConfigMap, Deployment, Service and the NetworkPolicies."""

from __future__ import annotations

import json
from typing import Any

from redisops.config.model import DeploymentConfig
from redisops.config.redisconf import config_checksum, render_redis_conf
from redisops.k8s.common import (
    _CONFIG_MOUNT,
    _DATA_VOLUME,
    _TMP_PATH,
    _TMP_VOLUME,
    BACKUP_COMPONENT,
    CHECKSUM_ANNOTATION,
    COMPONENT_LABEL,
    Manifest,
    RenderOptions,
    _config_volume,
    _container_security,
    _data_volume,
    _meta,
    _names,
    _pod_security,
    _secret_env,
    _tmp_volume,
    common_labels,
)
from redisops.k8s.velero import VELERO_PRE_HOOK_COMMAND, _velero_restore_annotations

__all__ = [
    "render_client_egress_policy",
    "render_configmap",
    "render_deployment",
    "render_ingress_policy",
    "render_pvc",
    "render_service",
    "render_storage_class",
]


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
