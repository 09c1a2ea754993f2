"""The controllers' shared machinery: scheduling on the emulator loop, the event fan-out, garbage
collection, failure modes, events, and the helpers every controller uses.

:class:`ControllerBase` is the base of the controllers in ``controller_*.py``;
:class:`tests.harness.k8s.controllers.Controllers` puts them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .resources import BY_KIND, RESOURCE_TYPES
from .store import ApiError, Event, Obj, Store, now

DEPLOY, RS, STS, POD, JOB = (BY_KIND[k] for k in ("Deployment", "ReplicaSet", "StatefulSet", "Pod", "Job"))
SVC, EP, EPS, PVC, PV, EV = (
    BY_KIND[k]
    for k in ("Service", "Endpoints", "EndpointSlice", "PersistentVolumeClaim", "PersistentVolume", "Event")
)
NODE_NAME = "emulator-node"
HOST_IP = "172.18.0.2"
_SAFE = "bcdfghjklmnpqrstvwxz2456789"

FAILURE_MODES = ("stuck", "crash", "oomkilled", "fail", "pending")


@dataclass(frozen=True)
class Failure:
    """How the pods (or the PVC, or the Job) of one workload misbehave."""

    mode: str
    reason: str | None = None
    message: str | None = None


@dataclass
class Timing:
    ready_delay: float = 0.2
    job_duration: float = 0.2
    restart_interval: float = 0.5
    pvc_bind_delay: float = 0.1


def template_hash(template: Any) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    n = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(10):
        n, r = divmod(n, len(_SAFE))
        out.append(_SAFE[r])
    return "".join(out)


def _owner_ref(obj: Obj) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned_by(obj: Obj, owner_uid: str) -> bool:
    return any(ref.get("uid") == owner_uid for ref in obj["metadata"].get("ownerReferences", []))


def _controller_of(obj: Obj) -> Obj | None:
    refs = obj["metadata"].get("ownerReferences", [])
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def _active(pod: Obj) -> bool:
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def _omit_zero(status: Obj) -> Obj:
    return {k: v for k, v in status.items() if v not in (0, None, [], {})}


def _conditions(old: list[Obj], wanted: list[Obj]) -> list[Obj]:
    """Conditions with transition/update times kept when nothing changed for them."""
    stamp = now()
    previous = {c.get("type"): c for c in old}
    out = []
    for cond in wanted:
        prev = previous.get(cond["type"])
        c = dict(cond)
        same_status = prev is not None and prev.get("status") == c["status"]
        same_all = (
            same_status and prev is not None and all(prev.get(k) == c.get(k) for k in ("reason", "message"))
        )
        c["lastTransitionTime"] = prev["lastTransitionTime"] if same_status and prev else stamp
        if "lastUpdateTime" in c or "lastProbeTime" not in c:
            c["lastUpdateTime"] = prev.get("lastUpdateTime", stamp) if same_all and prev else stamp
        out.append(c)
    return out


@dataclass
class ControllerState:
    failures: dict[tuple[str, str], Failure] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)


class ControllerBase:
    """The scheduling, fan-out and helpers of all controllers; every method runs on the emulator loop.

    The reconcile methods named by ``_run`` and ``on_event`` come from the controller classes
    (``reconcile_*``, ``bind_pvc``, ``kubelet``) combined in
    :class:`~tests.harness.k8s.controllers.Controllers`.
    """

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop, timing: Timing, state: ControllerState):
        self.store = store
        self.loop = loop
        self.timing = timing
        self.state = state
        self._pending: set[tuple[str, str, str]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._ips = itertools.count(2)
        self._progress: dict[tuple[str, str], tuple[str, float]] = {}
        self._backoff_reported: set[str] = set()
        self.closed = False

    # --- scheduling --------------------------------------------------------------------------

    def close(self) -> None:
        self.closed = True
        for timer in list(self._timers):
            timer.cancel()
        self._timers.clear()

    def later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        if self.closed:
            return
        handle: asyncio.TimerHandle | None = None

        def run() -> None:
            if handle is not None:
                self._timers.discard(handle)
            self._guard(fn, *args)

        handle = self.loop.call_later(max(delay, 0.0), run)
        self._timers.add(handle)

    def enqueue(self, kind: str, namespace: str, name: str) -> None:
        key = (kind, namespace, name)
        if self.closed or key in self._pending:
            return
        self._pending.add(key)
        self.loop.call_soon(self._run, key)

    def _run(self, key: tuple[str, str, str]) -> None:
        self._pending.discard(key)
        if self.closed:
            return
        kind, namespace, name = key
        handler = {
            "Deployment": self.reconcile_deployment,
            "ReplicaSet": self.reconcile_replicaset,
            "StatefulSet": self.reconcile_statefulset,
            "Job": self.reconcile_job,
            "Service": self.reconcile_service,
            "Pod": self.kubelet,
        }[kind]
        self._guard(handler, namespace, name)

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        if self.closed:
            return
        try:
            fn(*args)
        except ApiError as exc:
            if exc.code == 409:  # raced with a writer: try again shortly
                self.later(0.02, fn, *args)
            elif exc.code != 404:
                self.state.errors.append(exc)
        except Exception as exc:  # a controller bug must not kill the loop; tests can look at errors
            self.state.errors.append(exc)

    # --- event fan-out ---------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if self.closed:
            return
        kind = event.rt.kind
        meta = event.obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        if event.type == "DELETED":
            self._collect_garbage(meta.get("uid", ""), ns if event.rt.namespaced else None)
        if kind in ("Deployment", "ReplicaSet", "StatefulSet", "Job", "Service"):
            self.enqueue(kind, ns, name)
        if kind == "ReplicaSet" or kind == "Pod":
            ref = _controller_of(event.obj)
            if ref and ref.get("kind") in ("ReplicaSet", "StatefulSet", "Job", "Deployment"):
                self.enqueue(ref["kind"], ns, ref["name"])
        if kind == "Pod":
            if event.type == "ADDED":
                self.later(self.timing.ready_delay, self.kubelet, ns, name, meta["uid"])
            for svc in self.store.list(SVC, ns)[0]:
                self.enqueue("Service", ns, svc["metadata"]["name"])
        if kind == "PersistentVolumeClaim" and event.type == "ADDED":
            self.later(self.timing.pvc_bind_delay, self.bind_pvc, ns, name)

    def _collect_garbage(self, uid: str, namespace: str | None) -> None:
        if not uid:
            return
        for rt in RESOURCE_TYPES:
            if not rt.namespaced:
                continue
            for obj in self.store.list(rt, namespace, lambda o: _owned_by(o, uid))[0]:
                with contextlib.suppress(ApiError):
                    self.store.delete(rt, obj["metadata"]["namespace"], obj["metadata"]["name"])

    def poke_workload(self, namespace: str, name: str) -> None:
        """Re-run the kubelet for the pods of a workload (its failure mode changed)."""
        for pod in self.store.list(POD, namespace)[0]:
            if name in self.workload_names(pod):
                self.kubelet(pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"])
        for kind, rt in (("Job", JOB), ("Deployment", DEPLOY), ("StatefulSet", STS)):
            if self.store.find(rt, namespace, name):
                self.enqueue(kind, namespace, name)
        pvc = self.store.find(PVC, namespace, name)
        if pvc is not None:
            self.bind_pvc(namespace, name)

    # --- helpers ---------------------------------------------------------------------------------

    def workload_names(self, pod: Obj) -> list[str]:
        """The pod's own name, then its owners' names up the controller chain."""
        names = [pod["metadata"]["name"]]
        ns = pod["metadata"].get("namespace", "")
        ref = _controller_of(pod)
        depth = 0
        while ref is not None and depth < 4:
            names.append(ref["name"])
            owner_rt = BY_KIND.get(ref.get("kind", ""))
            owner = self.store.find(owner_rt, ns, ref["name"]) if owner_rt else None
            ref = _controller_of(owner) if owner else None
            depth += 1
        return names

    def failure_for(self, namespace: str, names: list[str]) -> Failure | None:
        for name in names:
            failure = self.state.failures.get((namespace, name))
            if failure is not None:
                return failure
        return None

    def record_event(
        self, obj: Obj, reason: str, message: str, type_: str = "Normal", component: str = "emulator"
    ) -> None:
        meta = obj["metadata"]
        stamp = now()
        involved = {
            "kind": obj["kind"],
            "apiVersion": obj["apiVersion"],
            "name": meta["name"],
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        namespace = meta.get("namespace") or "default"
        if meta.get("namespace"):
            involved["namespace"] = meta["namespace"]
        event = {
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": component},
            "reportingComponent": component,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        with contextlib.suppress(ApiError):
            self.store.create(EV, namespace, event, manager=component)

    def _pods_of(self, namespace: str, owner_uid: str) -> list[Obj]:
        return self.store.list(POD, namespace, lambda p: _owned_by(p, owner_uid))[0]

    def _new_pod(self, owner: Obj, name: str, template: Obj, labels: Obj) -> Obj:
        spec = copy.deepcopy(template.get("spec") or {})
        spec["nodeName"] = NODE_NAME
        meta: Obj = {"name": name, "labels": labels, "ownerReferences": [_owner_ref(owner)]}
        annotations = (template.get("metadata") or {}).get("annotations")
        if annotations:
            meta["annotations"] = copy.deepcopy(annotations)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
        return self.store.create(POD, owner["metadata"]["namespace"], pod, manager="kube-controller-manager")


def _set_replicas(obj: Obj, replicas: int) -> Obj:
    obj.setdefault("spec", {})["replicas"] = replicas
    return obj


def _annotate(obj: Obj, key: str, value: str) -> Obj:
    obj["metadata"].setdefault("annotations", {})[key] = value
    return obj
