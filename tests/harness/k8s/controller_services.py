"""Services get Endpoints and EndpointSlices; PVCs get a PV and are Bound."""

from __future__ import annotations

import copy

from .controller_base import (
    EP,
    EPS,
    NODE_NAME,
    POD,
    PV,
    PVC,
    SVC,
    ControllerBase,
    _active,
    _annotate,
    _owner_ref,
    is_ready,
    template_hash,
)
from .resources import BY_KIND, ResourceType
from .selectors import labels_match, selector_from_spec
from .store import Obj


class ServiceControllers(ControllerBase):
    """The endpoint, endpointslice and PVC-binding controllers."""

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
