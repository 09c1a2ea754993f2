"""Kubernetes manifests for one Redis deployment, rendered from the typed config as plain dicts.

Pure: no API calls, no kubernetes client. :func:`render_manifests` returns the objects in apply
order (:data:`APPLY_ORDER`: StorageClass, PVC, ConfigMap, ServiceAccounts and the backup Role and
RoleBinding, Deployment, Service, NetworkPolicies, the backup and drill CronJobs); :func:`to_yaml`
turns them into one multi-document YAML stream for GitOps or ``kubectl apply -f -``. The design
decisions (Recreate, SAVE in the Velero hook, the secret handling, the client egress policy) are
explained in docs/manifests.md.

Secrets are never rendered: with ``auth.enabled`` the pod reads the password from the Secret named
in the config (``auth.secret_name`` / ``auth.secret_key``), which must exist in the namespace.

This module is the public API; the renderers live beside it, by responsibility:

- :mod:`redisops.k8s.common`: constants, :class:`RenderOptions`, names, labels, metadata, security
  contexts, volumes;
- :mod:`redisops.k8s.objects`: StorageClass, PVC, ConfigMap, Deployment, Service, NetworkPolicies;
- :mod:`redisops.k8s.velero`: the Velero backup and restore hooks;
- :mod:`redisops.k8s.rbac`: the ServiceAccounts, the backup Role and RoleBinding;
- :mod:`redisops.k8s.jobs`: the backup and drill CronJobs, the restore and undo Jobs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from redisops.config.model import DeploymentConfig
from redisops.k8s.common import (
    APPLY_ORDER,
    BACKUP_COMPONENT,
    CHECKSUM_ANNOTATION,
    DEFAULT_TOOL_IMAGE,
    LAST_RESTORE_ANNOTATION,
    REDIS_CONF_PATH,
    Manifest,
    RenderOptions,
    common_labels,
)

# public names that are not in __all__, importable from here too (``X as X`` re-exports them)
from redisops.k8s.common import COMPONENT_LABEL as COMPONENT_LABEL
from redisops.k8s.common import DRILL_COMPONENT as DRILL_COMPONENT
from redisops.k8s.common import RESTORE_COMPONENT as RESTORE_COMPONENT
from redisops.k8s.common import REVISION_ANNOTATION as REVISION_ANNOTATION
from redisops.k8s.common import redis_version_of_image as redis_version_of_image
from redisops.k8s.jobs import render_backup_cronjob, render_drill_cronjob, render_restore_job, render_undo_job
from redisops.k8s.objects import (
    render_client_egress_policy,
    render_configmap,
    render_deployment,
    render_ingress_policy,
    render_pvc,
    render_service,
    render_storage_class,
)
from redisops.k8s.rbac import BACKUP_ROLE_RULES, render_backup_rbac, render_backup_service_account
from redisops.k8s.velero import (
    VELERO_PRE_HOOK_COMMAND,
    VELERO_RESTORE_INIT_CONTAINER,
    render_velero_restore_hooks,
    velero_post_restore_command,
    velero_restore_init_command,
)

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
