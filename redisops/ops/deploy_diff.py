"""The plan half of a deploy: what applying manifests would do to each object, as readable diffs.

:func:`plan_deploy` asks the server for a dry-run apply of each object (with the ``redisops`` field
manager) and diffs it against the live object (:func:`diff_objects`, without the metadata the server
fills in); objects a Helm release manages carry its name (:func:`helm_release_of`); objects the last
revision had and the manifests no longer render are planned for deletion (never PVCs, StorageClasses,
Namespaces or PersistentVolumes). Nothing changes.

Example::

    assert diff_objects({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}}) == ["~ b.c: 2 -> 3"]
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import yaml

from redisops.errors import ConflictError

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube

__all__ = [
    "FIELD_MANAGER",
    "HELM_RELEASE_ANNOTATION",
    "MANAGED_BY_LABEL",
    "DeployPlan",
    "ObjectChange",
    "diff_objects",
    "helm_release_of",
    "plan_deploy",
]

FIELD_MANAGER = "redisops"
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
#: kinds never deleted when a later revision drops them (data, cluster-wide objects)
_NEVER_PRUNE = {"PersistentVolumeClaim", "StorageClass", "Namespace", "PersistentVolume"}
_SERVER_META = {
    "managedFields",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
}
_SERVER_ANNOTATIONS = {
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
}

Action = Literal["create", "update", "unchanged", "delete", "conflict"]


@dataclass(frozen=True)
class ObjectChange:
    """What deploying does to one object, with a readable diff for updates."""

    kind: str
    name: str
    namespace: str | None
    action: Action
    diff: list[str] = field(default_factory=list)
    helm_release: str | None = None

    @property
    def ref(self) -> str:
        """``Kind/name``."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class DeployPlan:
    """Per-object actions of a deploy; ``helm_managed`` lists objects a Helm release manages."""

    namespace: str
    changes: list[ObjectChange]
    namespace_exists: bool = True
    #: what the deploy goes ahead with or does besides applying: lint warnings, version notes, backups
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when applying would change anything."""
        return not self.namespace_exists or any(c.action != "unchanged" for c in self.changes)

    @property
    def helm_managed(self) -> list[ObjectChange]:
        """Objects that carry Helm's managed-by label or release annotation."""
        return [c for c in self.changes if c.helm_release is not None]

    def summary(self) -> str:
        """``create 2, update 1, unchanged 5`` (only the non-zero counts)."""
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.action] = counts.get(c.action, 0) + 1
        order = ("create", "update", "delete", "conflict", "unchanged")
        return ", ".join(f"{a} {counts[a]}" for a in order if counts.get(a)) or "nothing"


# --- diffs -------------------------------------------------------------------------------------


def _normalize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and the metadata the server fills in."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_META}
    ann = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _SERVER_ANNOTATIONS}
    if ann:
        meta["annotations"] = ann
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


def _key(path: str, key: str) -> str:
    if any(c in key for c in "./") or not key:
        return f'{path}["{key}"]'
    return f"{path}.{key}" if path else key


def _short(v: Any) -> str:
    text = yaml.safe_dump(v, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return text if len(text) <= 120 else text[:117] + "..."


def diff_objects(old: Any, new: Any, path: str = "") -> list[str]:
    """Readable differences ``old`` → ``new``: ``~ path: a -> b``, ``+ path: v``, ``- path: v``;
    multi-line strings (redis.conf) as unified-diff lines; lists of named items matched by name."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new), key=str):
            p = _key(path, str(k))
            if k not in old:
                out.append(f"+ {p}: {_short(new[k])}")
            elif k not in new:
                out.append(f"- {p}: {_short(old[k])}")
            else:
                out += diff_objects(old[k], new[k], p)
        return out
    if isinstance(old, list) and isinstance(new, list):
        if _named(old) and _named(new):
            olds, news = {i["name"]: i for i in old}, {i["name"]: i for i in new}
            out = []
            for name in [*olds, *(n for n in news if n not in olds)]:
                p = f'{path}["{name}"]'
                if name not in olds:
                    out.append(f"+ {p}: {_short(news[name])}")
                elif name not in news:
                    out.append(f"- {p}: {_short(olds[name])}")
                else:
                    out += diff_objects(olds[name], news[name], p)
            return out
        if len(old) == len(new):
            out = []
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                out += diff_objects(a, b, f"{path}[{i}]")
            return out
    if old == new:
        return []
    if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        body = [f"    {ln}" for ln in lines if not ln.startswith(("---", "+++", "@@"))]
        return [f"~ {path}:", *body]
    return [f"~ {path}: {_short(old)} -> {_short(new)}"]


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)


def helm_release_of(obj: Mapping[str, Any] | None) -> str | None:
    """The Helm release managing a live object (label/annotation), else None."""
    if not obj:
        return None
    meta = obj.get("metadata") or {}
    release = (meta.get("annotations") or {}).get(HELM_RELEASE_ANNOTATION)
    if release:
        return str(release)
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == "Helm":
        return "(unknown release)"
    return None


_CLUSTER_SCOPED = {"StorageClass", "Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding"}


def _ident(m: Mapping[str, Any], default_ns: str) -> tuple[str, str, str | None]:
    meta = m.get("metadata") or {}
    kind = str(m.get("kind"))
    ns = None if kind in _CLUSTER_SCOPED else str(meta.get("namespace") or default_ns)
    return kind, str(meta.get("name")), ns


# --- plan ----------------------------------------------------------------------------------------


def plan_deploy(
    kube: Kube,
    manifests: Sequence[Mapping[str, Any]],
    *,
    force: bool = False,
    previous: Sequence[Mapping[str, Any]] = (),
    namespace: str | None = None,
) -> DeployPlan:
    """What applying ``manifests`` would do, per object, from a server-side dry-run apply.

    ``previous`` (the last revision's manifests) adds ``delete`` for objects no longer rendered
    (never PVCs or StorageClasses). Objects a Helm release manages carry ``helm_release``.
    """
    ns = namespace or kube.namespace
    ns_exists = kube.get("Namespace", ns) is not None
    changes: list[ObjectChange] = []
    for m in manifests:
        kind, name, obj_ns = _ident(m, ns)
        live = (
            kube.get(kind, name, obj_ns, api_version=m.get("apiVersion")) if ns_exists or not obj_ns else None
        )
        if live is None:
            changes.append(ObjectChange(kind, name, obj_ns, "create"))
            continue
        helm = helm_release_of(live)
        try:
            dry = kube.apply([m], field_manager=FIELD_MANAGER, force=force, dry_run=True)[0].object
        except ConflictError as e:
            changes.append(ObjectChange(kind, name, obj_ns, "conflict", [e.message], helm))
            continue
        diff = diff_objects(_normalize(live), _normalize(dry))
        changes.append(ObjectChange(kind, name, obj_ns, "update" if diff else "unchanged", diff, helm))
    wanted = {_ident(m, ns) for m in manifests}
    for m in previous:
        ident = _ident(m, ns)
        if ident in wanted or ident[0] in _NEVER_PRUNE:
            continue
        if kube.get(ident[0], ident[1], ident[2], api_version=m.get("apiVersion")) is not None:
            changes.append(ObjectChange(ident[0], ident[1], ident[2], "delete"))
    return DeployPlan(ns, changes, ns_exists)
