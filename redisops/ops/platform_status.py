"""Where Redis runs and how it is doing, read-only, in one shape for both platforms.

:class:`PlatformReport` is what ``platform.status`` returns (and the health report's pod/PVC checks
are graded from, :mod:`redisops.health.rules_platform`): on Kubernetes the Deployment (replicas
ready/desired), its pods (phase, ready, restarts, last termination with its reason and time, waiting
reason), the PVC (phase, capacity, access modes, storage class and the usage ``df -P /data`` reports
inside the Redis container), the Service (type, endpoints) and the pod's recent warning events; on the
sandbox the processes (pid, alive, answering, uptime) and the data dir (filesystem usage and the size
of its files). Missing parts are None / empty with a note: nothing here raises for a platform problem.

Example::

    report = kube_report(kube, cfg)
    report.pods[0].last_terminated_reason      # "OOMKilled"
    report.volume.used_ratio                   # 0.42 (from df in the pod)
    report.to_dict()                           # JSON-ready
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from redisops.adapters.local import pid_alive, port_in_use
from redisops.errors import RedisOpsError

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.config.model import DeploymentConfig
    from redisops.ops.sandbox import SandboxState

__all__ = [
    "EventInfo",
    "PlatformReport",
    "PodInfo",
    "ProcessInfo",
    "ServiceInfo",
    "VolumeInfo",
    "WorkloadInfo",
    "kube_logs",
    "kube_report",
    "parse_df",
    "pod_info",
    "sandbox_logs",
    "sandbox_report",
]

#: the Redis container's name in the rendered Deployment (redisops.k8s.objects)
REDIS_CONTAINER = "redis"
#: where the data volume is mounted in the Redis container
DATA_PATH = "/data"
#: warning events of the pod kept in the report
EVENTS_KEPT = 10


@dataclass(frozen=True)
class WorkloadInfo:
    """The Deployment: replicas desired and ready."""

    name: str
    namespace: str
    desired: int
    ready: int


@dataclass(frozen=True)
class PodInfo:
    """One Redis pod and its Redis container's state."""

    name: str
    phase: str | None
    ready: bool
    restarts: int
    node: str | None = None
    started_at: str | None = None
    waiting_reason: str | None = None
    waiting_message: str | None = None
    last_terminated_reason: str | None = None
    last_terminated_at: str | None = None
    last_exit_code: int | None = None


@dataclass(frozen=True)
class ProcessInfo:
    """One sandbox process (``target``, ``source``, ``s3``, ``aws``)."""

    name: str
    pid: int
    port: int
    alive: bool
    ready: bool
    uptime_s: float | None = None


@dataclass(frozen=True)
class VolumeInfo:
    """The data volume: a PVC or the sandbox's data dir, with the filesystem's usage when measured.

    ``used_bytes`` / ``total_bytes`` / ``free_bytes`` are the filesystem's (``df -P`` in the pod,
    ``shutil.disk_usage`` on the sandbox); ``usage_reason`` says why they are missing.
    """

    kind: Literal["pvc", "dir"]
    name: str
    phase: str | None = None
    capacity: str | None = None
    access_modes: tuple[str, ...] = ()
    storage_class: str | None = None
    exists: bool = True
    total_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None
    files_bytes: int | None = None
    usage_source: str | None = None
    usage_reason: str | None = None

    @property
    def used_ratio(self) -> float | None:
        """Used share of the filesystem (1 - free / total), None when not measured."""
        if self.total_bytes and self.free_bytes is not None:
            return round(1 - self.free_bytes / self.total_bytes, 4)
        return None


@dataclass(frozen=True)
class ServiceInfo:
    """The Redis Service and its endpoints."""

    name: str
    type: str | None
    ready_endpoints: int | None
    not_ready_endpoints: int = 0


@dataclass(frozen=True)
class EventInfo:
    """A Kubernetes event about the pod."""

    type: str
    reason: str
    message: str
    count: int
    last_seen: str | None
    involved: str


@dataclass(frozen=True)
class PlatformReport:
    """``platform.status``: where Redis runs and its state, the same keys on both platforms.

    Attributes:
        platform: ``kubernetes`` or ``sandbox``.
        where: one line naming it (``Deployment llm-judge/redis`` / ``the sandbox in <state dir>``).
        running: a Redis pod is ready / the target process answers.
        workload: the Deployment (Kubernetes), None on the sandbox or when not deployed.
        pods: the Redis pods (Kubernetes).
        processes: the sandbox's processes (the target first).
        volume: the PVC or the data dir, None when there is none.
        service: the Service (Kubernetes).
        events: the pods' recent Warning events, oldest first (Kubernetes).
        notes: lines about anything off or not measured.
        observed_at: unix time of the observation.
    """

    platform: Literal["kubernetes", "sandbox"]
    where: str
    running: bool
    workload: WorkloadInfo | None = None
    pods: tuple[PodInfo, ...] = ()
    processes: tuple[ProcessInfo, ...] = ()
    volume: VolumeInfo | None = None
    service: ServiceInfo | None = None
    events: tuple[EventInfo, ...] = ()
    notes: tuple[str, ...] = ()
    observed_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the volume with its ``used_ratio``)."""
        out = asdict(self)
        for key in ("pods", "processes", "events", "notes"):
            out[key] = list(out[key])
        if self.volume is not None:
            out["volume"]["access_modes"] = list(self.volume.access_modes)
            out["volume"]["used_ratio"] = self.volume.used_ratio
        return out


# --- Kubernetes -----------------------------------------------------------------------------------------


def _container(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    statuses = list((pod.get("status") or {}).get("containerStatuses") or [])
    for s in statuses:
        if s.get("name") == REDIS_CONTAINER:
            return dict(s)
    return dict(statuses[0]) if statuses else {}


def pod_info(pod: Mapping[str, Any]) -> PodInfo:
    """The facts of one pod object that health grades (pure)."""
    from redisops.adapters.kube import is_pod_ready

    st = pod.get("status") or {}
    c = _container(pod)
    waiting = (c.get("state") or {}).get("waiting") or {}
    running = (c.get("state") or {}).get("running") or {}
    last = (c.get("lastState") or {}).get("terminated") or {}
    code = last.get("exitCode")
    return PodInfo(
        name=str((pod.get("metadata") or {}).get("name")),
        phase=st.get("phase"),
        ready=is_pod_ready(pod),
        restarts=int(c.get("restartCount") or 0),
        node=(pod.get("spec") or {}).get("nodeName"),
        started_at=running.get("startedAt") or st.get("startTime"),
        waiting_reason=waiting.get("reason"),
        waiting_message=waiting.get("message"),
        last_terminated_reason=last.get("reason"),
        last_terminated_at=last.get("finishedAt"),
        last_exit_code=int(code) if code is not None else None,
    )


def parse_df(text: str) -> tuple[int, int, int]:
    """``(total, used, available)`` bytes from ``df -P`` output (the header names the block size; a long
    device name may put the numbers on a line of their own).

    Raises:
        ValueError: the output is not ``df -P``'s.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2 or "blocks" not in lines[0]:
        raise ValueError(f"not df -P output: {text[:200]!r}")
    size = lines[0].split()[1].split("-")[0]
    unit = int(size) if size.isdigit() else 1024
    tokens = " ".join(lines[1:]).split()
    cap = next((i for i, tok in enumerate(tokens) if tok.endswith("%") and tok[:-1].isdigit()), None)
    if cap is None or cap < 3 or not all(tok.isdigit() for tok in tokens[cap - 3 : cap]):
        raise ValueError(f"not df -P output: {text[:200]!r}")
    total, used, avail = (int(tok) * unit for tok in tokens[cap - 3 : cap])
    return total, used, avail


def _pvc_usage(kube: Kube, ns: str, pod: str | None) -> dict[str, Any]:
    if pod is None:
        return {"usage_reason": "no ready Redis pod to run df in"}
    try:
        code, out, err = kube.exec(pod, ["df", "-P", DATA_PATH], ns, container=REDIS_CONTAINER, timeout=15)
    except RedisOpsError as e:
        return {"usage_reason": f"df in pod {pod} failed: {e.one_line()}"}
    if code != 0:
        return {"usage_reason": f"df -P {DATA_PATH} in pod {pod} exited {code}: {err.strip()[:200]}"}
    try:
        total, used, avail = parse_df(out)
    except ValueError as e:
        return {"usage_reason": str(e)}
    return {
        "total_bytes": total,
        "used_bytes": used,
        "free_bytes": avail,
        "usage_source": f"df -P {DATA_PATH} in pod {pod}",
    }


def _endpoints(kube: Kube, name: str, ns: str) -> tuple[int, int] | None:
    ep = kube.get("Endpoints", name, ns)
    if ep is None:
        return None
    ready = not_ready = 0
    for subset in ep.get("subsets") or []:
        ready += len(subset.get("addresses") or [])
        not_ready += len(subset.get("notReadyAddresses") or [])
    return ready, not_ready


def _events(kube: Kube, ns: str, pods: Sequence[PodInfo]) -> list[EventInfo]:
    out: list[EventInfo] = []
    for p in pods:
        for e in kube.events(ns, p.name, kind="Pod"):
            if e.get("type") != "Warning":
                continue
            out.append(
                EventInfo(
                    type="Warning",
                    reason=str(e.get("reason") or ""),
                    message=str(e.get("message") or ""),
                    count=int(e.get("count") or 1),
                    last_seen=e.get("lastTimestamp") or e.get("eventTime"),
                    involved=p.name,
                )
            )
    out.sort(key=lambda e: str(e.last_seen or ""))
    return out[-EVENTS_KEPT:]


def kube_report(kube: Kube, cfg: DeploymentConfig, *, measure_usage: bool = True) -> PlatformReport:
    """The Deployment of ``cfg``, its pods, PVC (usage by ``df`` in a ready pod), Service and events.

    A Deployment that does not exist is a report with ``running=False`` and a note, not an error; an
    unreachable API server raises the adapter's error.
    """
    ns, name = cfg.namespace, cfg.service_name
    where = f"Deployment {ns}/{name}"
    notes: list[str] = []
    dep = kube.get("Deployment", name, ns)
    workload = None
    selector: dict[str, str] = dict(cfg.labels)
    if dep is None:
        notes.append(f"Deployment {ns}/{name} not found: deploy it (redisops deploy) or pass -n / --config")
    else:
        spec, st = dep.get("spec") or {}, dep.get("status") or {}
        selector = dict((spec.get("selector") or {}).get("matchLabels") or selector)
        desired = spec.get("replicas")
        workload = WorkloadInfo(
            name, ns, int(1 if desired is None else desired), int(st.get("readyReplicas") or 0)
        )
    pods = tuple(pod_info(p) for p in kube.pods(selector, ns)) if dep is not None else ()
    if dep is not None and not pods:
        notes.append(f"no pod of {where} (scaled to {workload.desired if workload else 0})")
    ready_pod = next((p.name for p in pods if p.ready), None)
    pvc_name = f"{name}-data"
    pvc = kube.get("PersistentVolumeClaim", pvc_name, ns)
    volume: VolumeInfo | None
    if pvc is None:
        volume = VolumeInfo("pvc", pvc_name, exists=False, usage_reason="the PVC does not exist")
        notes.append(f"PVC {ns}/{pvc_name} does not exist")
    else:
        spec, st = pvc.get("spec") or {}, pvc.get("status") or {}
        usage = _pvc_usage(kube, ns, ready_pod) if measure_usage else {"usage_reason": "not measured"}
        volume = VolumeInfo(
            "pvc",
            pvc_name,
            phase=st.get("phase"),
            capacity=(st.get("capacity") or {}).get("storage")
            or ((spec.get("resources") or {}).get("requests") or {}).get("storage"),
            access_modes=tuple(spec.get("accessModes") or ()),
            storage_class=spec.get("storageClassName"),
            **usage,
        )
        if st.get("phase") != "Bound":
            notes.append(f"PVC {pvc_name} is {st.get('phase') or 'not bound'}")
    svc = kube.get("Service", name, ns)
    service = None
    if svc is None:
        notes.append(f"Service {ns}/{name} does not exist")
    else:
        eps = _endpoints(kube, name, ns)
        service = ServiceInfo(
            name,
            (svc.get("spec") or {}).get("type"),
            eps[0] if eps is not None else None,
            eps[1] if eps is not None else 0,
        )
    events = tuple(_events(kube, ns, pods))
    return PlatformReport(
        "kubernetes",
        where,
        ready_pod is not None,
        workload=workload,
        pods=pods,
        volume=volume,
        service=service,
        events=events,
        notes=tuple(notes),
    )


def kube_logs(
    kube: Kube, cfg: DeploymentConfig, *, lines: int = 100, previous: bool = False
) -> tuple[str, str]:
    """``(pod name, text)``: the last ``lines`` lines of the Redis container of the Deployment's first
    pod (``previous``: of its previous container, the one that crashed or was OOMKilled).

    Raises:
        NotFoundError: no pod of the Deployment exists.
    """
    from redisops.errors import NotFoundError

    ns, name = cfg.namespace, cfg.service_name
    dep = kube.get("Deployment", name, ns)
    selector = dict(cfg.labels)
    if dep is not None:
        selector = dict(((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or selector)
    pods = kube.pods(selector, ns)
    if not pods:
        raise NotFoundError(
            f"no pod of Deployment {ns}/{name}",
            hint="redisops status shows the Deployment; deploy it or scale it up first",
            context={"namespace": ns, "deployment": name},
        )
    ready = [p for p in pods if pod_info(p).ready]
    pod = str(((ready or pods)[0].get("metadata") or {}).get("name"))
    text = kube.logs(pod, ns, tail=lines, container=REDIS_CONTAINER, previous=previous)
    return pod, text


# --- the sandbox ----------------------------------------------------------------------------------------


def _uptime(pid: int) -> float | None:
    """Seconds since ``pid`` started (from /proc), None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            start_ticks = int(f.read().rsplit(") ", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            host_up = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return round(max(0.0, host_up - start_ticks / os.sysconf("SC_CLK_TCK")), 1)


def _files_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                continue
    return total


def sandbox_report(state: SandboxState) -> PlatformReport:
    """The sandbox's processes (the target first) and the target's data dir (filesystem usage and the
    size of its files)."""
    order = ["target", "source", "s3", "aws"]
    names = sorted(state.services, key=lambda n: (order.index(n) if n in order else len(order), n))
    processes: list[ProcessInfo] = []
    notes: list[str] = []
    for n in names:
        svc = state.services[n]
        alive = pid_alive(svc.pid)
        ready = alive and port_in_use(svc.port)
        processes.append(ProcessInfo(n, svc.pid, svc.port, alive, ready, _uptime(svc.pid) if alive else None))
        if not ready:
            notes.append(f"{n} (pid {svc.pid}) is not serving on port {svc.port}")
    volume = None
    if "target" in state.services:
        d = state.data_dir
        if d.is_dir():
            du = shutil.disk_usage(d)
            volume = VolumeInfo(
                "dir",
                str(d),
                total_bytes=du.total,
                used_bytes=du.used,
                free_bytes=du.free,
                files_bytes=_files_bytes(d),
                usage_source="shutil.disk_usage of the data dir",
            )
        else:
            volume = VolumeInfo("dir", str(d), exists=False, usage_reason="the data dir does not exist")
            notes.append(f"the data dir {d} does not exist")
    else:
        notes.append("the sandbox has no target service")
    running = any(p.name == "target" and p.ready for p in processes)
    return PlatformReport(
        "sandbox",
        f"the sandbox in {state.state_dir}",
        running,
        processes=tuple(processes),
        volume=volume,
        notes=tuple(notes),
    )


def sandbox_logs(state: SandboxState, *, lines: int = 100) -> tuple[str, str]:
    """``(log file, text)``: the last ``lines`` lines of the target's ``redis.log``.

    Raises:
        NotFoundError: the sandbox has no target, or the target has written no log.
    """
    from redisops.errors import NotFoundError

    svc = state.services.get("target")
    if svc is None:
        raise NotFoundError("the sandbox has no target service", hint="run: redisops sandbox up")
    log = Path(svc.workdir) / "redis.log"
    try:
        text = log.read_text(errors="replace")
    except FileNotFoundError:
        raise NotFoundError(
            f"the target has written no log yet ({log})", hint="redisops sandbox up"
        ) from None
    return str(log), "\n".join(text.splitlines()[-lines:])
