"""The fake kubelet: Pods move to Running/Ready after ``ready_delay`` seconds, or into the failure
mode a test set (stuck, crash, oomkilled, fail, pending).
"""

from __future__ import annotations

import hashlib
import secrets

from .controller_base import (
    HOST_IP,
    POD,
    ControllerBase,
    _conditions,
    _controller_of,
)
from .store import Obj, now


class Kubelet(ControllerBase):
    """The kubelet and its failure injection."""

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
