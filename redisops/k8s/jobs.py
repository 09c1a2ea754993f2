"""The redisops Jobs and CronJobs: scheduled backups and restore drills, one-shot restore and undo.

All run the redisops image (:attr:`RenderOptions.tool_image`) under the hardened pod security
context, with pod labels that the Redis Service never selects (see ``_job_pod_labels``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

from redisops.config.model import DeploymentConfig
from redisops.errors import ConfigError
from redisops.k8s.common import (
    _CONFIG_MOUNT,
    _DATA_VOLUME,
    _TMP_PATH,
    _TMP_VOLUME,
    BACKUP_COMPONENT,
    DEFAULT_TOOL_IMAGE,
    DRILL_COMPONENT,
    REDIS_CONF_PATH,
    RESTORE_COMPONENT,
    Manifest,
    RenderOptions,
    _config_volume,
    _container_security,
    _data_volume,
    _job_pod_labels,
    _meta,
    _names,
    _pod_security,
    _secret_env,
    _tmp_volume,
    redis_version_of_image,
)

__all__ = [
    "render_backup_cronjob",
    "render_drill_cronjob",
    "render_restore_job",
    "render_undo_job",
]

_JOB_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}


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


def render_backup_cronjob(
    cfg: DeploymentConfig, options: RenderOptions | None = None, *, revision: str | None = None
) -> Manifest:
    """The backup CronJob (``cfg.backup.schedule``, UTC): ``redisops backup create`` against the Service."""
    opts = options or RenderOptions()
    if not cfg.backup.schedule:
        raise ConfigError("backup.schedule is not set: there is no CronJob to render")
    names = _names(cfg)
    url = f"redis://{cfg.service_dns}:{cfg.port}"
    # labelled "scheduled": `backup list` tells them from manual and safety backups
    command = [*opts.backup_command, "--purpose", "scheduled", "--url", url, "--output", "json"]
    container = _job_container(cfg, opts, "backup", command, [{"name": _TMP_VOLUME, "mountPath": _TMP_PATH}])
    # the pod's own name, namespace and uid: the store lock records them (downward API), so a later
    # backup can ask the API whether the holder of a leftover lock still exists (a reused name has
    # another uid)
    container["env"] += [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
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


def render_restore_job(
    cfg: DeploymentConfig,
    backup_id: str,
    tool_image: str = DEFAULT_TOOL_IMAGE,
    *,
    command: Sequence[str] = ("redisops", "restore-data-dir"),
    options: RenderOptions | None = None,
    extra_args: Sequence[str] = (),
    node_name: str | None = None,
    name_suffix: str = "",
) -> Manifest:
    """A one-shot Job that writes backup ``backup_id`` into the data PVC (mounted at /data).

    Run it only while the Redis Deployment is scaled to 0: the volume is RWO and a running Redis
    would overwrite the restored files on its next save. ``backoffLimit: 0``: a failed restore is
    looked at, not retried.

    The staging half of a restore (``extra_args`` such as ``--stage-only``) may run beside the running
    Redis: it writes only into its staging folder. On a ReadWriteOnce PVC it must then run on Redis's
    node: ``node_name`` pins the pod there (``spec.nodeName``); ``name_suffix`` (``stage``) keeps its
    name apart from the install Job's.
    """
    if not cfg.persistence.enabled:
        raise ConfigError("persistence is disabled: there is no data volume to restore into")
    if not backup_id or any(c.isspace() for c in backup_id):
        raise ConfigError(f"not a backup id: {backup_id!r}")
    opts = dataclasses.replace(options or RenderOptions(), tool_image=tool_image)
    names = _names(cfg)
    suffix = f"-{_slug(name_suffix)}" if name_suffix else ""
    name = f"{names['restore']}-{_slug(backup_id)}"[: 63 - len(suffix)].rstrip("-") + suffix
    sc = cfg.security_context
    argv = [
        *command, "--data-dir", "/data", "--backup", backup_id,
        "--redis-version", redis_version_of_image(cfg.image),
        "--uid", str(sc.run_as_user), "--gid", str(sc.run_as_group),
        "--redis-conf", REDIS_CONF_PATH, *extra_args,
    ]  # fmt: skip
    mounts = [
        {"name": _DATA_VOLUME, "mountPath": "/data"},
        {"name": _TMP_VOLUME, "mountPath": _TMP_PATH},
        dict(_CONFIG_MOUNT),
    ]
    container = _job_container(cfg, opts, "restore", argv, mounts)
    volumes = [_data_volume(cfg), _tmp_volume(cfg.persistence.size), _config_volume(cfg)]
    pod = _job_pod_spec(cfg, container=container, volumes=volumes)
    if node_name:
        pod["nodeName"] = node_name
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
