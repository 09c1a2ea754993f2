"""The resource types the emulator serves, and the discovery documents built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-redisops-emulator"}

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    """One REST resource (a plural under a group/version)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # kinds whose metadata.generation follows spec changes
    generation: bool = False
    singular: str = field(default="")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


_ALL = ("all",)
RESOURCE_TYPES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("status", "finalize")),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), ("status",)),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "secrets", "Secret"),
    ResourceType("", "v1", "services", "Service", True, ("svc",), ("status",), _ALL),
    ResourceType("", "v1", "endpoints", "Endpoints", True, ("ep",), singular="endpoints"),
    ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), ("status",)),
    ResourceType("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",), ("status",)),
    ResourceType(
        "", "v1", "pods", "Pod", True, ("po",), ("status", "log", "exec", "portforward", "eviction"), _ALL
    ),
    ResourceType("", "v1", "events", "Event", True, ("ev",)),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    ResourceType("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",), ("status",)),
    ResourceType("", "v1", "limitranges", "LimitRange", True, ("limits",)),
    # apps/v1
    ResourceType(
        "apps", "v1", "deployments", "Deployment", True, ("deploy",), ("status", "scale"), _ALL, True
    ),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("status", "scale"), _ALL, True),
    ResourceType(
        "apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("status", "scale"), _ALL, True
    ),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",), _ALL, True),
    ResourceType("apps", "v1", "controllerrevisions", "ControllerRevision"),
    # batch/v1
    ResourceType("batch", "v1", "jobs", "Job", True, (), ("status",), _ALL, True),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, ("cj",), ("status",), _ALL, True),
    # networking, storage, rbac, policy, discovery, coordination, autoscaling
    ResourceType(
        "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",), (), (), True
    ),
    ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), ("status",), (), True),
    ResourceType("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), ("status",)),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease"),
    ResourceType(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        ("hpa",),
        ("status",),
    ),
)

BY_PATH: dict[tuple[str, str, str], ResourceType] = {
    (r.group, r.version, r.plural): r for r in RESOURCE_TYPES
}
BY_KIND: dict[str, ResourceType] = {r.kind: r for r in RESOURCE_TYPES}


def group_versions() -> dict[str, list[str]]:
    """group -> versions, in declaration order (the core group is "")."""
    out: dict[str, list[str]] = {}
    for r in RESOURCE_TYPES:
        versions = out.setdefault(r.group, [])
        if r.version not in versions:
            versions.append(r.version)
    return out


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _api_group(name: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list() -> dict[str, Any]:
    groups = [_api_group(g, vs) for g, vs in group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(name: str) -> dict[str, Any] | None:
    versions = group_versions().get(name)
    return _api_group(name, versions) if versions and name else None


def _sub_entry(r: ResourceType, sub: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced}
    if sub == "scale":
        entry.update(group="autoscaling", version="v1", kind="Scale", verbs=["get", "patch", "update"])
    elif sub == "status":
        entry.update(kind=r.kind, verbs=["get", "patch", "update"])
    elif sub == "log":
        entry.update(kind="Pod", verbs=["get"])
    elif sub == "exec":
        entry.update(kind="PodExecOptions", verbs=["create", "get"])
    elif sub == "portforward":
        entry.update(kind="PodPortForwardOptions", verbs=["create", "get"])
    elif sub == "eviction":
        entry.update(group="policy", version="v1", kind="Eviction", verbs=["create"])
    else:
        entry.update(kind=r.kind, verbs=["update"])
    return entry


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    resources: list[dict[str, Any]] = []
    for r in RESOURCE_TYPES:
        if r.group != group or r.version != version:
            continue
        entry: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular_name,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ALL_VERBS,
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        resources.append(entry)
        resources.extend(_sub_entry(r, sub) for sub in r.subresources)
    if not resources:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def openapi_v3_root() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, versions in group_versions().items():
        for v in versions:
            key = f"apis/{group}/{v}" if group else f"api/{v}"
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash=emulator"}
    return {"paths": paths}


def openapi_v3_group_version(group: str, version: str) -> dict[str, Any] | None:
    """A skeleton OpenAPI v3 document: enough for kubectl to see that PATCH takes ``fieldValidation``."""
    paths: dict[str, Any] = {}
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    params = [
        {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for name in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    found = False
    for r in RESOURCE_TYPES:
        if r.group != group or r.version != version:
            continue
        found = True
        gvk = {"group": group, "version": version, "kind": r.kind}
        base = f"{prefix}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{prefix}/{r.plural}"
        op = {"x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": {}}
        paths[base] = {
            "post": {**op, "x-kubernetes-action": "post", "operationId": f"create{r.kind}"},
            "get": {**op, "x-kubernetes-action": "list", "operationId": f"list{r.kind}"},
        }
        paths[base + "/{name}"] = {
            "get": {**op, "x-kubernetes-action": "get", "operationId": f"read{r.kind}"},
            "put": {**op, "x-kubernetes-action": "put", "operationId": f"replace{r.kind}"},
            "patch": {**op, "x-kubernetes-action": "patch", "operationId": f"patch{r.kind}"},
            "delete": {**op, "x-kubernetes-action": "delete", "operationId": f"delete{r.kind}"},
        }
    if not found:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }
