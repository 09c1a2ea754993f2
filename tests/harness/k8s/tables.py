"""Server-side printing: the ``Table`` kubectl asks for (``Accept: application/json;as=Table;...``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def _age(obj: Obj) -> str:
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    seconds = max(int((dt.datetime.now(dt.UTC) - created).total_seconds()), 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600 * 3:
        return f"{seconds // 60}m"
    if seconds < 86400 * 2:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _pod_status(pod: Obj) -> str:
    status = pod.get("status", {})
    for c in status.get("containerStatuses", []):
        state = c.get("state", {})
        if state.get("waiting", {}).get("reason"):
            return str(state["waiting"]["reason"])
        if state.get("terminated", {}).get("reason") and status.get("phase") not in ("Succeeded", "Failed"):
            return str(state["terminated"]["reason"])
    if status.get("phase") == "Succeeded":
        return "Completed"
    return str(status.get("phase", "Pending"))


def _pod_row(p: Obj) -> list[Any]:
    statuses = p.get("status", {}).get("containerStatuses", [])
    total = len(p.get("spec", {}).get("containers", []))
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    return [
        f"{ready}/{total}",
        _pod_status(p),
        restarts,
        _age(p),
        p.get("status", {}).get("podIP", "<none>"),
        p.get("spec", {}).get("nodeName", "<none>"),
    ]


def _ports(svc: Obj) -> str:
    ports = [f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in svc.get("spec", {}).get("ports", [])]
    return ",".join(ports) or "<none>"


def _job_status(job: Obj) -> str:
    for cond in job.get("status", {}).get("conditions", []):
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return "Running"


Columns = list[tuple[str, str]]
_TABLES: dict[str, tuple[Columns, Callable[[Obj], list[Any]]]] = {
    "Pod": (
        [
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "integer"),
            ("Age", "string"),
            ("IP", "string"),
            ("Node", "string"),
        ],
        _pod_row,
    ),
    "Deployment": (
        [("Ready", "string"), ("Up-to-date", "integer"), ("Available", "integer"), ("Age", "string")],
        lambda d: [
            f"{d.get('status', {}).get('readyReplicas', 0)}/{d.get('spec', {}).get('replicas', 0)}",
            d.get("status", {}).get("updatedReplicas", 0),
            d.get("status", {}).get("availableReplicas", 0),
            _age(d),
        ],
    ),
    "StatefulSet": (
        [("Ready", "string"), ("Age", "string")],
        lambda s: [
            f"{s.get('status', {}).get('readyReplicas', 0)}/{s.get('spec', {}).get('replicas', 0)}",
            _age(s),
        ],
    ),
    "ReplicaSet": (
        [("Desired", "integer"), ("Current", "integer"), ("Ready", "integer"), ("Age", "string")],
        lambda r: [
            r.get("spec", {}).get("replicas", 0),
            r.get("status", {}).get("replicas", 0),
            r.get("status", {}).get("readyReplicas", 0),
            _age(r),
        ],
    ),
    "Service": (
        [
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
            ("Age", "string"),
        ],
        lambda s: [
            s.get("spec", {}).get("type", "ClusterIP"),
            s.get("spec", {}).get("clusterIP", "<none>"),
            "<none>",
            _ports(s),
            _age(s),
        ],
    ),
    "Job": (
        [("Status", "string"), ("Completions", "string"), ("Age", "string")],
        lambda j: [
            _job_status(j),
            f"{j.get('status', {}).get('succeeded', 0)}/{j.get('spec', {}).get('completions', 1)}",
            _age(j),
        ],
    ),
    "PersistentVolumeClaim": (
        [
            ("Status", "string"),
            ("Volume", "string"),
            ("Capacity", "string"),
            ("Access Modes", "string"),
            ("StorageClass", "string"),
            ("Age", "string"),
        ],
        lambda c: [
            c.get("status", {}).get("phase", ""),
            c.get("spec", {}).get("volumeName", ""),
            c.get("status", {}).get("capacity", {}).get("storage", ""),
            ",".join(
                {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX"}.get(m, m)
                for m in c.get("status", {}).get("accessModes", [])
            ),
            c.get("spec", {}).get("storageClassName", ""),
            _age(c),
        ],
    ),
    "ConfigMap": (
        [("Data", "integer"), ("Age", "string")],
        lambda c: [len(c.get("data", {}) or {}), _age(c)],
    ),
    "Secret": (
        [("Type", "string"), ("Data", "integer"), ("Age", "string")],
        lambda s: [
            s.get("type", "Opaque"),
            len(s.get("data", {}) or {}) + len(s.get("stringData", {}) or {}),
            _age(s),
        ],
    ),
    "Namespace": (
        [("Status", "string"), ("Age", "string")],
        lambda n: [n.get("status", {}).get("phase", "Active"), _age(n)],
    ),
    "Endpoints": (
        [("Endpoints", "string"), ("Age", "string")],
        lambda e: [
            ",".join(
                f"{a['ip']}:{p.get('port')}"
                for s in e.get("subsets", [])
                for a in s.get("addresses", [])
                for p in s.get("ports", [])
            )
            or "<none>",
            _age(e),
        ],
    ),
    "Event": (
        [("Type", "string"), ("Reason", "string"), ("Object", "string"), ("Message", "string")],
        lambda e: [
            e.get("type", ""),
            e.get("reason", ""),
            "{}/{}".format(
                e.get("involvedObject", {}).get("kind", "").lower(), e.get("involvedObject", {}).get("name")
            ),
            e.get("message", ""),
        ],
    ),
}
_WIDE = {"Pod": {"IP", "Node"}}


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in (accept or "")


def to_table(kind: str, items: list[Obj], resource_version: str) -> Obj:
    columns, row = _TABLES.get(kind, ([("Age", "string")], lambda o: [_age(o)]))
    wide = _WIDE.get(kind, set())
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += [
        {"name": name, "type": type_, "format": "", "description": name, "priority": 1 if name in wide else 0}
        for name, type_ in columns
    ]
    rows = [{"cells": [o["metadata"]["name"], *row(o)], "object": o} for o in items]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
