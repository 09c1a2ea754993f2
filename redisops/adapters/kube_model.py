"""What the Kubernetes adapter speaks besides plain dicts: the apply and rollout results, pod readiness
and failure reasons, label selectors, and the rollout state of a Deployment object (as ``kubectl
rollout status`` reads it). Pure: no I/O, no ``kubernetes`` import (part of :mod:`redisops.adapters.kube`,
which re-exports these names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "API_VERSIONS",
    "DEPLOY_REVISION",
    "RESTARTED_AT_ANNOTATION",
    "ApplyResult",
    "RolloutStatus",
    "comparable",
    "is_pod_ready",
    "meta_of",
    "pod_failure_reasons",
    "rollout_status_of",
    "selector_string",
]

RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
DEPLOY_REVISION = "deployment.kubernetes.io/revision"

#: apiVersion of the kinds redisops uses, so ``get("Deployment", ...)`` needs no apiVersion
API_VERSIONS: dict[str, str] = {
    "Pod": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Endpoints": "v1",
    "Event": "v1",
    "Namespace": "v1",
    "PersistentVolumeClaim": "v1",
    "PersistentVolume": "v1",
    "ServiceAccount": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Ingress": "networking.k8s.io/v1",
    "StorageClass": "storage.k8s.io/v1",
    "EndpointSlice": "discovery.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
    "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
}

#: waiting reasons that are just a pod starting, not a failure
_BENIGN_WAITING = {"ContainerCreating", "PodInitializing"}


@dataclass(frozen=True)
class ApplyResult:
    """The outcome of applying one object: ``created``, ``configured`` or ``unchanged``."""

    kind: str
    name: str
    namespace: str | None
    action: Literal["created", "configured", "unchanged"]
    dry_run: bool = False
    object: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> str:
        """``Kind/name`` for messages."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class RolloutStatus:
    """Where a Deployment's rollout stands (the fields ``kubectl rollout status`` looks at)."""

    name: str
    namespace: str
    done: bool
    generation: int
    observed_generation: int
    replicas: int
    updated_replicas: int
    ready_replicas: int
    available_replicas: int
    message: str
    elapsed_s: float = 0.0
    pods: list[str] = field(default_factory=list)


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    """True when the pod's ``Ready`` condition is ``True``."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_failure_reasons(pod: Mapping[str, Any]) -> list[str]:
    """Why a pod is not (or was not) running, one line per finding; empty when nothing is wrong.

    Looks at container waiting/terminated states (``ImagePullBackOff``, ``CrashLoopBackOff``), the
    last termination (``OOMKilled``, ``Error`` with its exit code), restarts, the pod's own reason
    (``Evicted``) and an unschedulable ``PodScheduled`` condition.
    """
    status = pod.get("status") or {}
    out: list[str] = []
    if status.get("reason"):
        out.append(f"pod {status['reason']}: {status.get('message', '')}".rstrip(": "))
    statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    for cs in statuses:
        parts: list[str] = []
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] not in _BENIGN_WAITING:
            msg = f": {waiting['message']}" if waiting.get("message") else ""
            parts.append(f"{waiting['reason']}{msg}")
        term = state.get("terminated") or {}
        if term.get("reason") and term["reason"] != "Completed":
            parts.append(f"terminated: {term['reason']} (exit code {term.get('exitCode')})")
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if last.get("reason") and last["reason"] != "Completed":
            parts.append(f"last terminated: {last['reason']} (exit code {last.get('exitCode')})")
        restarts = int(cs.get("restartCount") or 0)
        if parts and restarts:
            parts.append(f"{restarts} restarts")
        if parts:
            out.append(f"container {cs.get('name')}: " + ", ".join(parts))
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            out.append(f"unschedulable: {cond.get('reason', '')} {cond.get('message', '')}".strip())
    return out


def selector_string(selector: str | Mapping[str, str]) -> str:
    """``{"app": "redis"}`` → ``"app=redis"`` (strings pass through)."""
    if isinstance(selector, str):
        return selector
    return ",".join(f"{k}={v}" for k, v in selector.items())


def meta_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object's ``metadata`` (empty when it has none)."""
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and server-maintained metadata, to tell whether an apply changed it
    (not the resourceVersion: controllers bump it meanwhile, and a dry run does not)."""
    volatile = {"managedFields", "resourceVersion", "generation"}
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in meta_of(obj).items() if k not in volatile}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != DEPLOY_REVISION}
    meta["annotations"] = annotations
    out["metadata"] = meta
    return out


def rollout_status_of(dep: Mapping[str, Any], ns: str) -> RolloutStatus:
    """Where the rollout of the Deployment object ``dep`` stands (as ``kubectl rollout status``)."""
    meta, spec, status = meta_of(dep), dep.get("spec") or {}, dep.get("status") or {}
    gen = int(meta.get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    replicas = int(status.get("replicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    name = str(meta.get("name"))
    progressing: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {}
    )
    done = False
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        msg = f"ProgressDeadlineExceeded: {progressing.get('message', '')}"
    elif observed < gen:
        msg = "waiting for the rollout to be observed"
    elif updated < want:
        msg = f"{updated} of {want} new replicas have been updated"
    elif replicas > updated:
        msg = f"{replicas - updated} old replicas are pending termination"
    elif available < updated:
        msg = f"{available} of {updated} updated replicas are available"
    else:
        done = True
        msg = f"successfully rolled out ({available}/{want} available)"
    return RolloutStatus(name, ns, done, gen, observed, replicas, updated, ready, available, msg)
