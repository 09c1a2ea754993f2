"""Deployments (with their ReplicaSets and rollout status), ReplicaSets and StatefulSets."""

from __future__ import annotations

import copy
import time

from .controller_base import (
    DEPLOY,
    POD,
    PVC,
    RS,
    STS,
    ControllerBase,
    _active,
    _annotate,
    _conditions,
    _omit_zero,
    _owned_by,
    _owner_ref,
    _set_replicas,
    is_ready,
    template_hash,
)
from .store import Obj, random_suffix


class WorkloadControllers(ControllerBase):
    """Deployment, ReplicaSet and StatefulSet controllers."""

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
