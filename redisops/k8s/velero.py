"""Velero integration of the Redis Deployment: the backup and restore hooks.

The pre-backup hook (a synchronous SAVE) and the post-restore check are pod annotations on the
Deployment (:mod:`redisops.k8s.objects`); the init hook that adopts a restored data dir needs the data
volume mounted, so it goes into a Velero ``Restore``'s ``spec.hooks``
(:func:`render_velero_restore_hooks`). See docs/manifests.md and docs/restore.md.
"""

from __future__ import annotations

import json

from redisops.config.model import DeploymentConfig
from redisops.k8s.common import (
    _CONFIG_MOUNT,
    _DATA_VOLUME,
    REDIS_CONF_PATH,
    Manifest,
    RenderOptions,
    _container_security,
    redis_version_of_image,
)

__all__ = [
    "VELERO_PRE_HOOK_COMMAND",
    "VELERO_RESTORE_INIT_CONTAINER",
    "render_velero_restore_hooks",
    "velero_post_restore_command",
    "velero_restore_init_command",
]

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
