"""Revisions of a deployment, recorded in the cluster like Helm's release Secrets.

One ConfigMap per revision, ``redisops-release-<service>-v<N>``, labelled ``redisops.io/release=<service>``
and ``redisops.io/revision=<N>``, holding the applied manifests (gzip+base64 in ``binaryData`` when
large), who, when, what, the status (``deployed`` / ``failed``) and the config checksum.
:func:`history` reads them back oldest first; :func:`record_revision` writes the next one.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import yaml

from redisops.config.model import DeploymentConfig
from redisops.errors import ConflictError
from redisops.ops.deploy_diff import MANAGED_BY_LABEL

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube

__all__ = [
    "CHECKSUM_ANNOTATION",
    "INLINE_LIMIT",
    "RELEASE_LABEL",
    "REVISION_LABEL",
    "Revision",
    "history",
    "record_revision",
    "release_name",
]

RELEASE_LABEL = "redisops.io/release"
REVISION_LABEL = "redisops.io/revision"
CHECKSUM_ANNOTATION = "redisops.io/config-checksum"
#: manifests larger than this are stored gzip+base64 in binaryData (a ConfigMap holds at most 1 MiB)
INLINE_LIMIT = 256 * 1024


@dataclass(frozen=True)
class Revision:
    """One recorded revision (a ConfigMap in the namespace)."""

    number: int
    who: str
    when: str
    what: str
    status: str
    config_checksum: str
    configmap: str
    manifests: list[dict[str, Any]] = field(default_factory=list, repr=False)


def release_name(cfg: DeploymentConfig, number: int) -> str:
    """The ConfigMap name of revision ``number``."""
    return f"redisops-release-{cfg.service_name}-v{number}"


def _checksum_of(manifests: Sequence[Mapping[str, Any]]) -> str:
    for m in manifests:
        if m.get("kind") == "Deployment":
            tmpl = ((m.get("spec") or {}).get("template") or {}).get("metadata") or {}
            return str((tmpl.get("annotations") or {}).get(CHECKSUM_ANNOTATION, ""))
    return ""


def _revision_from(cm: Mapping[str, Any]) -> Revision:
    meta = cm.get("metadata") or {}
    data = cm.get("data") or {}
    if "manifests.gz" in (cm.get("binaryData") or {}):
        text = gzip.decompress(base64.b64decode(cm["binaryData"]["manifests.gz"])).decode()
    else:
        text = data.get("manifests", "")
    docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    return Revision(
        number=int((meta.get("labels") or {}).get(REVISION_LABEL, data.get("revision", 0))),
        who=data.get("who", ""),
        when=data.get("when", ""),
        what=data.get("what", ""),
        status=data.get("status", ""),
        config_checksum=data.get("config-checksum", ""),
        configmap=str(meta.get("name")),
        manifests=docs,
    )


def history(kube: Kube, cfg: DeploymentConfig) -> list[Revision]:
    """Recorded revisions of the deployment, oldest first."""
    items = kube.list("ConfigMap", cfg.namespace, {RELEASE_LABEL: cfg.service_name})
    return sorted((_revision_from(cm) for cm in items), key=lambda r: r.number)


def record_revision(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]],
    *,
    who: str,
    when: datetime,
    what: str,
    status: str,
) -> int:
    """Record the next revision of ``cfg``'s deployment (``manifests``, who, when, what, status);
    returns its number. ConflictError when someone else recorded that number meanwhile."""
    revs = history(kube, cfg)
    number = (revs[-1].number if revs else 0) + 1
    text = yaml.safe_dump_all([dict(m) for m in manifests], sort_keys=False)
    cm: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": release_name(cfg, number),
            "namespace": cfg.namespace,
            "labels": {
                RELEASE_LABEL: cfg.service_name,
                REVISION_LABEL: str(number),
                MANAGED_BY_LABEL: "redisops",
            },
        },
        "data": {
            "revision": str(number),
            "who": who,
            "when": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "what": what,
            "status": status,
            "config-checksum": _checksum_of(manifests),
        },
    }
    if len(text.encode()) > INLINE_LIMIT:
        cm["binaryData"] = {"manifests.gz": base64.b64encode(gzip.compress(text.encode())).decode()}
    else:
        cm["data"]["manifests"] = text
    try:
        kube.create(cm)
    except ConflictError as e:
        raise ConflictError(
            f"revision {number} was recorded by someone else meanwhile",
            hint="another deploy is running; check `redisops history` and try again",
            context={"configmap": release_name(cfg, number)},
        ) from e
    return number
