"""Identities of the redisops pods: the ``<service>-ops`` ServiceAccount (restore, undo, drill; no
API token) and the backup CronJob's ServiceAccount, Role and RoleBinding (``get`` on pods only)."""

from __future__ import annotations

import json
from typing import Any

from redisops.config.model import DeploymentConfig
from redisops.k8s.common import BACKUP_COMPONENT, Manifest, RenderOptions, _meta, _names

__all__ = [
    "BACKUP_ROLE_RULES",
    "render_backup_rbac",
    "render_backup_service_account",
]


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
