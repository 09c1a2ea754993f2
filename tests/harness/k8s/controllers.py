"""Tiny stand-ins for the controllers and the kubelet, running on the emulator's event loop.

They react to store changes: Deployments get ReplicaSets and Pods, StatefulSets get ordinal Pods (and PVCs
from their claim templates), Jobs get a Pod that completes, Services get Endpoints and EndpointSlices,
PVCs get Bound, and a fake kubelet moves Pods to Running/Ready after ``ready_delay`` seconds — or into a
failure mode set by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .resources import BY_KIND, RESOURCE_TYPES, ResourceType
from .selectors import labels_match, selector_from_spec
from .store import ApiError, Event, Obj, Store, now, random_suffix

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


class Controllers:
    """All controllers; every method runs on the emulator loop."""

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

    # --- Deployment / ReplicaSet -----------------------------------------------------------------

    def reconcile_deployment(self, namespace: str, name: str) -> None:
        d = self.store.find(DEPLOY, namespace, name)
        if d is None:
            self._progress.pop((namespace, name), None)
            return
        uid = d["metadata"]["uid"]
        spec = d.get("spec", {})
        template = copy.deepcopy(spec.get("template") or {})
        desired = int(spec.get("replicas", 1))
        h = template_hash(template)
        all_rs = self.store.list(RS, namespace, lambda o: _owned_by(o, uid))[0]
        new_rs = next(
            (r for r in all_rs if r["metadata"].get("labels", {}).get("pod-template-hash") == h), None
        )
        revisions = [
            int(r["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0"))
            for r in all_rs
        ]
        if spec.get("paused"):
            return
        if new_rs is None:
            revision = max(revisions, default=0) + 1
            labels = {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": h}
            template.setdefault("metadata", {})["labels"] = labels
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = h
            rs_body = {
                "metadata": {
                    "name": f"{name}-{h}",
                    "labels": labels,
                    "annotations": {
                        "deployment.kubernetes.io/revision": str(revision),
                        "deployment.kubernetes.io/desired-replicas": str(desired),
                        "deployment.kubernetes.io/max-replicas": str(desired + 1),
                    },
                    "ownerReferences": [_owner_ref(d)],
                },
                "spec": {"replicas": desired, "selector": selector, "template": template},
            }
            new_rs = self.store.create(RS, namespace, rs_body, manager="kube-controller-manager")
            self.record_event(
                d,
                "ScalingReplicaSet",
                f"Scaled up replica set {new_rs['metadata']['name']} from 0 to {desired}",
                component="deployment-controller",
            )
            self._progress[(namespace, name)] = (h, time.monotonic())
        elif self._progress.get((namespace, name), ("", 0.0))[0] != h:
            self._progress[(namespace, name)] = (h, time.monotonic())
        if new_rs["spec"].get("replicas") != desired:
            self._progress[(namespace, name)] = (h, time.monotonic())
            self.store.update(
                RS,
                namespace,
                new_rs["metadata"]["name"],
                lambda o: _set_replicas(o, desired),
                manager="kube-controller-manager",
            )
        for rs in all_rs:
            if rs["metadata"]["name"] != new_rs["metadata"]["name"] and rs["spec"].get("replicas", 0) != 0:
                self.store.update(
                    RS,
                    namespace,
                    rs["metadata"]["name"],
                    lambda o: _set_replicas(o, 0),
                    manager="kube-controller-manager",
                )
                self.record_event(
                    d,
                    "ScalingReplicaSet",
                    f"Scaled down replica set {rs['metadata']['name']} "
                    f"from {rs['spec'].get('replicas', 0)} to 0",
                    component="deployment-controller",
                )
        revision = new_rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "1")
        if d["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision") != revision:
            d = self.store.update(
                DEPLOY,
                namespace,
                name,
                lambda o: _annotate(o, "deployment.kubernetes.io/revision", revision),
                manager="kube-controller-manager",
            )
        self._deployment_status(d, new_rs)

    def _deployment_status(self, d: Obj, new_rs: Obj) -> None:
        namespace, name = d["metadata"]["namespace"], d["metadata"]["name"]
        uid = d["metadata"]["uid"]
        all_rs = self.store.list(RS, namespace, lambda o: _owned_by(o, uid))[0]
        pods = [p for rs in all_rs for p in self._pods_of(namespace, rs["metadata"]["uid"]) if _active(p)]
        new_pods = [p for p in pods if _owned_by(p, new_rs["metadata"]["uid"])]
        desired = int(d.get("spec", {}).get("replicas", 1))
        ready = sum(1 for p in pods if is_ready(p))
        updated = len(new_pods)
        rs_name = new_rs["metadata"]["name"]
        complete = updated == desired and len(pods) == desired and ready == desired
        conditions = [
            {
                "type": "Available",
                "status": "True" if ready >= desired else "False",
                "reason": "MinimumReplicasAvailable" if ready >= desired else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if ready >= desired
                else "Deployment does not have minimum availability.",
            }
        ]
        started = self._progress.get((namespace, name), ("", time.monotonic()))[1]
        deadline = float(d.get("spec", {}).get("progressDeadlineSeconds", 600))
        elapsed = time.monotonic() - started
        if complete:
            progressing = (
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
            )
        elif elapsed >= deadline:
            progressing = (
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
            )
        else:
            progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
            self.later(deadline - elapsed + 0.01, self.enqueue, "Deployment", namespace, name)
        conditions.append(
            dict(zip(("type", "status", "reason", "message"), ("Progressing", *progressing), strict=True))
        )

        def set_status(obj: Obj) -> Obj:
            old = obj.get("status") or {}
            status = _omit_zero(
                {
                    "observedGeneration": obj["metadata"].get("generation", 1),
                    "replicas": len(pods),
                    "updatedReplicas": updated,
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "unavailableReplicas": max(desired - ready, 0),
                }
            )
            status["conditions"] = _conditions(old.get("conditions", []), conditions)
            obj["status"] = status
            return obj

        self.store.update(
            DEPLOY, namespace, name, set_status, subresource="status", manager="kube-controller-manager"
        )

    def reconcile_replicaset(self, namespace: str, name: str) -> None:
        rs = self.store.find(RS, namespace, name)
        if rs is None:
            return
        desired = int(rs.get("spec", {}).get("replicas", 1))
        pods = [p for p in self._pods_of(namespace, rs["metadata"]["uid"]) if _active(p)]
        template = rs.get("spec", {}).get("template") or {}
        labels = dict((template.get("metadata") or {}).get("labels", {}))
        for _ in range(desired - len(pods)):
            pod = self._new_pod(rs, f"{name}-{random_suffix()}", template, labels)
            self.record_event(
                rs,
                "SuccessfulCreate",
                f"Created pod: {pod['metadata']['name']}",
                component="replicaset-controller",
            )
        if len(pods) > desired:
            doomed = sorted(pods, key=lambda p: (is_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in doomed[: len(pods) - desired]:
                self.store.delete(POD, namespace, pod["metadata"]["name"])
                self.record_event(
                    rs,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    component="replicaset-controller",
                )
        pods = [p for p in self._pods_of(namespace, rs["metadata"]["uid"]) if _active(p)]
        ready = sum(1 for p in pods if is_ready(p))

        def set_status(obj: Obj) -> Obj:
            status = _omit_zero(
                {
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "fullyLabeledReplicas": len(pods),
                    "observedGeneration": obj["metadata"].get("generation", 1),
                }
            )
            status["replicas"] = len(pods)
            obj["status"] = status
            return obj

        self.store.update(
            RS, namespace, name, set_status, subresource="status", manager="kube-controller-manager"
        )

    # --- StatefulSet -----------------------------------------------------------------------------

    def reconcile_statefulset(self, namespace: str, name: str) -> None:
        sts = self.store.find(STS, namespace, name)
        if sts is None:
            return
        spec = sts.get("spec", {})
        desired = int(spec.get("replicas", 1))
        template = copy.deepcopy(spec.get("template") or {})
        revision = f"{name}-{template_hash(template)}"
        pods = {p["metadata"]["name"]: p for p in self._pods_of(namespace, sts["metadata"]["uid"])}
        claim_templates = spec.get("volumeClaimTemplates") or []
        for i in range(desired):
            pod_name = f"{name}-{i}"
            pod = pods.get(pod_name)
            if (
                pod is not None
                and pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision
            ):
                self.store.delete(POD, namespace, pod_name)
                pod = None
            if pod is not None:
                continue
            pod_template = copy.deepcopy(template)
            volumes = pod_template.setdefault("spec", {}).setdefault("volumes", [])
            for claim in claim_templates:
                claim_name = f"{claim['metadata']['name']}-{pod_name}"
                if self.store.find(PVC, namespace, claim_name) is None:
                    body = {
                        "metadata": {
                            "name": claim_name,
                            "labels": dict((template.get("metadata") or {}).get("labels", {})),
                        },
                        "spec": copy.deepcopy(claim.get("spec") or {}),
                    }
                    self.store.create(PVC, namespace, body, manager="kube-controller-manager")
                volumes.append(
                    {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}}
                )
            if not volumes:
                pod_template["spec"].pop("volumes")
            labels = {
                **(template.get("metadata") or {}).get("labels", {}),
                "controller-revision-hash": revision,
                "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(i),
            }
            self._new_pod(sts, pod_name, pod_template, labels)
            pod_template["spec"].setdefault("hostname", pod_name)
        for pod_name in pods:
            index = pod_name.rsplit("-", 1)[-1]
            if not index.isdigit() or int(index) >= desired:
                self.store.delete(POD, namespace, pod_name)
        live = [p for p in self._pods_of(namespace, sts["metadata"]["uid"]) if _active(p)]
        ready = sum(1 for p in live if is_ready(p))
        updated = sum(
            1 for p in live if p["metadata"].get("labels", {}).get("controller-revision-hash") == revision
        )

        def set_status(obj: Obj) -> Obj:
            status = _omit_zero(
                {
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "currentReplicas": updated,
                    "updatedReplicas": updated,
                }
            )
            status.update(
                observedGeneration=obj["metadata"].get("generation", 1),
                replicas=len(live),
                currentRevision=revision,
                updateRevision=revision,
                collisionCount=0,
            )
            obj["status"] = status
            return obj

        self.store.update(
            STS, namespace, name, set_status, subresource="status", manager="kube-controller-manager"
        )

    # --- Jobs ------------------------------------------------------------------------------------

    def reconcile_job(self, namespace: str, name: str) -> None:
        job = self.store.find(JOB, namespace, name)
        if job is None:
            return
        status = job.get("status") or {}
        if any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions", [])
        ):
            return
        uid = job["metadata"]["uid"]
        pods = self._pods_of(namespace, uid)
        if job.get("spec", {}).get("suspend"):
            return
        if not pods:
            template = job.get("spec", {}).get("template") or {}
            labels = {
                **(template.get("metadata") or {}).get("labels", {}),
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "job-name": name,
            }
            pod = self._new_pod(job, f"{name}-{random_suffix()}", template, labels)
            self.record_event(
                job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", component="job-controller"
            )
            pods = [pod]
        succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if p.get("status", {}).get("phase") == "Failed")
        active = sum(1 for p in pods if _active(p))
        ready = sum(1 for p in pods if is_ready(p))
        stamp = now()

        def set_status(obj: Obj) -> Obj:
            old = obj.get("status") or {}
            new = _omit_zero({"active": active, "ready": ready, "succeeded": succeeded, "failed": failed})
            new["startTime"] = old.get("startTime", stamp)
            conditions: list[Obj] = []
            if succeeded:
                new["completionTime"] = stamp
                conditions = [
                    {
                        "type": "SuccessCriteriaMet",
                        "status": "True",
                        "reason": "CompletionsReached",
                        "message": "Reached expected number of succeeded pods",
                        "lastProbeTime": stamp,
                    },
                    {
                        "type": "Complete",
                        "status": "True",
                        "reason": "CompletionsReached",
                        "message": "Reached expected number of succeeded pods",
                        "lastProbeTime": stamp,
                    },
                ]
            elif failed:
                conditions = [
                    {
                        "type": "FailureTarget",
                        "status": "True",
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                        "lastProbeTime": stamp,
                    },
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                        "lastProbeTime": stamp,
                    },
                ]
            if conditions:
                new["conditions"] = _conditions(old.get("conditions", []), conditions)
            new["uncountedTerminatedPods"] = {}
            obj["status"] = new
            return obj

        self.store.update(
            JOB, namespace, name, set_status, subresource="status", manager="kube-controller-manager"
        )
        if succeeded:
            self.record_event(job, "Completed", "Job completed", component="job-controller")
        elif failed:
            self.record_event(
                job,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                "Warning",
                component="job-controller",
            )

    # --- Services ------------------------------------------------------------------------------

    def reconcile_service(self, namespace: str, name: str) -> None:
        svc = self.store.find(SVC, namespace, name)
        if svc is None:
            for rt in (EP, EPS):
                for obj in self.store.list(
                    rt,
                    namespace,
                    lambda o: (
                        o["metadata"]["name"] == name
                        or o["metadata"].get("labels", {}).get("kubernetes.io/service-name") == name
                    ),
                )[0]:
                    self.store.delete(rt, namespace, obj["metadata"]["name"])
            return
        selector = svc.get("spec", {}).get("selector")
        if not selector:
            return
        reqs = selector_from_spec({"matchLabels": selector})
        pods = self.store.list(
            POD,
            namespace,
            lambda p: (
                labels_match(reqs, p["metadata"].get("labels"))
                and bool(p.get("status", {}).get("podIP"))
                and _active(p)
            ),
        )[0]
        ready = [p for p in pods if is_ready(p)]
        not_ready = [p for p in pods if not is_ready(p)]

        def address(p: Obj) -> Obj:
            meta = p["metadata"]
            return {
                "ip": p["status"]["podIP"],
                "nodeName": NODE_NAME,
                "targetRef": {
                    "kind": "Pod",
                    "namespace": namespace,
                    "name": meta["name"],
                    "uid": meta["uid"],
                },
            }

        ports = []
        for port in svc.get("spec", {}).get("ports", []):
            target = port.get("targetPort", port.get("port"))
            if isinstance(target, str):
                target = next(
                    (
                        cp.get("containerPort")
                        for p in pods
                        for c in p.get("spec", {}).get("containers", [])
                        for cp in c.get("ports", [])
                        if cp.get("name") == target
                    ),
                    port.get("port"),
                )
            entry = {"port": target, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            ports.append(entry)
        subset: Obj = {}
        if ready:
            subset["addresses"] = [address(p) for p in ready]
        if not_ready:
            subset["notReadyAddresses"] = [address(p) for p in not_ready]
        labels = {**svc["metadata"].get("labels", {})}
        endpoints = {
            "metadata": {"name": name, "labels": labels},
            "subsets": [{**subset, "ports": ports}] if subset else [],
        }
        self._upsert(EP, namespace, endpoints, "endpoint-controller")
        slice_name = f"{name}-{template_hash(name)[:5]}"
        slice_obj = {
            "metadata": {
                "name": slice_name,
                "labels": {
                    **labels,
                    "kubernetes.io/service-name": name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
                "ownerReferences": [_owner_ref(svc)],
            },
            "addressType": "IPv4",
            "endpoints": [
                {
                    "addresses": [p["status"]["podIP"]],
                    "conditions": {"ready": is_ready(p), "serving": is_ready(p), "terminating": False},
                    "nodeName": NODE_NAME,
                    "targetRef": address(p)["targetRef"],
                }
                for p in pods
            ],
            "ports": [{k: v for k, v in p.items()} for p in ports],
        }
        self._upsert(EPS, namespace, slice_obj, "endpointslice-controller")

    def _upsert(self, rt: ResourceType, namespace: str, body: Obj, manager: str) -> None:
        current = self.store.find(rt, namespace, body["metadata"]["name"])
        if current is None:
            self.store.create(rt, namespace, body, manager=manager)
            return

        def replace(obj: Obj) -> Obj:
            new = copy.deepcopy(body)
            new["metadata"] = {**obj["metadata"], **body["metadata"]}
            return new

        self.store.update(rt, namespace, body["metadata"]["name"], replace, manager=manager)

    # --- PVCs ------------------------------------------------------------------------------------

    def bind_pvc(self, namespace: str, name: str) -> None:
        pvc = self.store.find(PVC, namespace, name)
        if pvc is None:
            return
        failure = self.failure_for(namespace, [name])
        if failure is not None:
            return
        if pvc.get("status", {}).get("phase") == "Bound":
            return
        spec = pvc.get("spec", {})
        volume = spec.get("volumeName") or f"pvc-{pvc['metadata']['uid']}"
        storage_class = spec.get("storageClassName")
        if storage_class is None:
            classes = self.store.list(BY_KIND["StorageClass"])[0]
            default = next(
                (
                    c
                    for c in classes
                    if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class")
                    == "true"
                ),
                None,
            )
            storage_class = default["metadata"]["name"] if default else None
        storage = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
        access = spec.get("accessModes", ["ReadWriteOnce"])
        if self.store.find(PV, None, volume) is None:
            pv = {
                "metadata": {"name": volume, "annotations": {"pv.kubernetes.io/provisioned-by": "emulator"}},
                "spec": {
                    "capacity": {"storage": storage},
                    "accessModes": access,
                    "persistentVolumeReclaimPolicy": "Delete",
                    "claimRef": {
                        "kind": "PersistentVolumeClaim",
                        "namespace": namespace,
                        "name": name,
                        "uid": pvc["metadata"]["uid"],
                        "apiVersion": "v1",
                    },
                    "hostPath": {"path": f"/var/emulator/{volume}"},
                    **({"storageClassName": storage_class} if storage_class else {}),
                },
            }
            self.store.create(PV, None, pv, manager="persistentvolume-controller")

        def bind_spec(obj: Obj) -> Obj:
            obj.setdefault("spec", {})["volumeName"] = volume
            if storage_class and "storageClassName" not in obj["spec"]:
                obj["spec"]["storageClassName"] = storage_class
            _annotate(obj, "pv.kubernetes.io/bind-completed", "yes")
            return obj

        def bind_status(obj: Obj) -> Obj:
            obj["status"] = {"phase": "Bound", "accessModes": access, "capacity": {"storage": storage}}
            return obj

        self.store.update(PVC, namespace, name, bind_spec, manager="persistentvolume-controller")
        self.store.update(
            PVC, namespace, name, bind_status, subresource="status", manager="persistentvolume-controller"
        )
        self.store.update(
            PV,
            None,
            volume,
            lambda o: {**o, "status": {"phase": "Bound"}},
            subresource="status",
            manager="persistentvolume-controller",
        )

    # --- the kubelet -----------------------------------------------------------------------------

    def kubelet(self, namespace: str, name: str, uid: str | None = None) -> None:
        pod = self.store.find(POD, namespace, name)
        if pod is None or (uid is not None and pod["metadata"]["uid"] != uid):
            return
        uid = pod["metadata"]["uid"]
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return
        names = self.workload_names(pod)
        failure = self.failure_for(namespace, names)
        owner = _controller_of(pod)
        is_job = owner is not None and owner.get("kind") == "Job"
        containers = pod.get("spec", {}).get("containers", [])
        stamp = now()
        started = status.get("startTime", stamp)
        pod_ip = status.get("podIP") or f"10.244.{(n := next(self._ips)) // 250}.{n % 250 + 1}"
        restarts = {c.get("name"): c.get("restartCount", 0) for c in status.get("containerStatuses", [])}
        previous_states = {c.get("name"): c.get("lastState", {}) for c in status.get("containerStatuses", [])}
        mode = failure.mode if failure else None
        running_for = status.get("phase") == "Running" and all(
            c.get("state", {}).get("running") for c in status.get("containerStatuses", [{}])
        )

        def cstatus(c: Obj, state: Obj, ready: bool, restart_count: int, last: Obj | None = None) -> Obj:
            image = c.get("image", "")
            out = {
                "name": c.get("name", ""),
                "image": image,
                "imageID": f"docker.io/library/{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
                "containerID": "containerd://"
                + hashlib.sha256((uid + c.get("name", "")).encode()).hexdigest(),
                "ready": ready,
                "started": bool(state.get("running")),
                "restartCount": restart_count,
                "state": state,
                "lastState": last if last is not None else previous_states.get(c.get("name"), {}),
            }
            if state.get("waiting") and not state["waiting"].get("reason", "").endswith("BackOff"):
                out.pop("containerID")
            return out

        phase = "Running"
        ready = False
        reschedule: float | None = None
        if is_job and mode not in ("stuck", "pending"):
            if not running_for:
                statuses = [cstatus(c, {"running": {"startedAt": stamp}}, True, 0) for c in containers]
                phase, ready = "Running", True
                reschedule = self.timing.job_duration
            else:
                ok = mode is None
                code = 0 if ok else (137 if mode == "oomkilled" else 1)
                reason = "Completed" if ok else ("OOMKilled" if mode == "oomkilled" else "Error")
                term = {
                    "terminated": {
                        "exitCode": code,
                        "reason": reason,
                        "startedAt": started,
                        "finishedAt": stamp,
                    }
                }
                statuses = [cstatus(c, term, False, 0) for c in containers]
                phase = "Succeeded" if ok else "Failed"
        elif mode in ("stuck", "pending"):
            phase = "Pending"
            waiting = {"reason": (failure.reason if failure else None) or "ContainerCreating"}
            if failure and failure.message:
                waiting["message"] = failure.message
            elif waiting["reason"] in ("ImagePullBackOff", "ErrImagePull"):
                waiting["message"] = (
                    f'Back-off pulling image "{containers[0].get("image", "") if containers else ""}"'
                )
            statuses = [
                cstatus(c, {"waiting": waiting}, False, restarts.get(c.get("name"), 0)) for c in containers
            ]
        elif mode in ("crash", "oomkilled", "fail"):
            oom = mode == "oomkilled"
            code = 137 if oom else 1
            reason = "OOMKilled" if oom else "Error"
            statuses = []
            for c in containers:
                count = restarts.get(c.get("name"), 0) + 1
                last = {
                    "terminated": {
                        "exitCode": code,
                        "reason": reason,
                        "startedAt": stamp,
                        "finishedAt": stamp,
                        "containerID": f"containerd://{secrets.token_hex(32)}",
                    }
                }
                waiting = {
                    "reason": (failure.reason if failure else None) or "CrashLoopBackOff",
                    "message": (failure.message if failure else None)
                    or f"back-off 10s restarting failed container={c.get('name')} pod={name}_{namespace}"
                    f"({uid})",
                }
                statuses.append(cstatus(c, {"waiting": waiting}, False, count, last))
            reschedule = self.timing.restart_interval
            if uid not in self._backoff_reported:
                self._backoff_reported.add(uid)
                if oom:
                    self.record_event(
                        pod,
                        "OOMKilling",
                        f"Memory cgroup out of memory: Killed process in {name}",
                        "Warning",
                        "kubelet",
                    )
                self.record_event(
                    pod, "BackOff", "Back-off restarting failed container", "Warning", "kubelet"
                )
        else:
            ready = True
            statuses = []
            for c in containers:
                old: Obj = next(
                    (s for s in status.get("containerStatuses", []) if s.get("name") == c.get("name")), {}
                )
                running = old.get("state", {}).get("running") or {"startedAt": stamp}
                statuses.append(cstatus(c, {"running": running}, True, restarts.get(c.get("name"), 0)))
            if not running_for:
                self.record_event(pod, "Started", "Started container", component="kubelet")
        all_ready = ready and phase == "Running"
        conds: list[Obj] = [
            {"type": "PodReadyToStartContainers", "status": "True" if phase != "Pending" else "False"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "True" if all_ready else "False"},
            {"type": "ContainersReady", "status": "True" if all_ready else "False"},
            {"type": "PodScheduled", "status": "True"},
        ]
        for cond in conds:
            cond["lastProbeTime"] = None
            if cond["status"] == "False" and cond["type"] in ("Ready", "ContainersReady"):
                cond["reason"] = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
                if phase not in ("Succeeded", "Failed"):
                    unready = [s["name"] for s in statuses if not s["ready"]]
                    cond["message"] = f"containers with unready status: [{' '.join(unready)}]"

        def set_status(obj: Obj) -> Obj:
            old = obj.get("status") or {}
            obj["status"] = {
                "phase": phase,
                "conditions": [
                    {k: v for k, v in c.items() if k != "lastUpdateTime"}
                    for c in _conditions(old.get("conditions", []), conds)
                ],
                "hostIP": HOST_IP,
                "hostIPs": [{"ip": HOST_IP}],
                "podIP": pod_ip,
                "podIPs": [{"ip": pod_ip}],
                "startTime": started,
                "containerStatuses": statuses,
                "qosClass": old.get("qosClass", "BestEffort"),
            }
            return obj

        self.store.update(POD, namespace, name, set_status, subresource="status", manager="kubelet")
        if reschedule is not None:
            self.later(reschedule, self.kubelet, namespace, name, uid)


def _set_replicas(obj: Obj, replicas: int) -> Obj:
    obj.setdefault("spec", {})["replicas"] = replicas
    return obj


def _annotate(obj: Obj, key: str, value: str) -> Obj:
    obj["metadata"].setdefault("annotations", {})[key] = value
    return obj
