"""Jobs: a Pod per Job, completion, backoff and the Job's status and conditions."""

from __future__ import annotations

from .controller_base import (
    JOB,
    ControllerBase,
    _active,
    _conditions,
    _omit_zero,
    is_ready,
)
from .store import Obj, now, random_suffix


class JobController(ControllerBase):
    """The Job controller."""

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
