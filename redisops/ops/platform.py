"""Where Redis runs: one small interface with the local sandbox and Kubernetes behind it.

Restore, undo and drill, health's pod/PVC view and the migration's cutover need the same few things of
the place a Redis runs, whichever it is:

=================  =======================================  ===============================================
                   :class:`LocalPlatform` (sandbox)          :class:`KubePlatform` (Deployment + PVC)
=================  =======================================  ===============================================
``stop()``         SIGTERM the target process (it saves)     scale to 0, wait until no pod is left
``start()``        start redis-server on the same conf       scale back to the replicas it had, wait rollout
``wait_ready()``   INFO until ``loading:0``                  a ready pod, INFO through a port-forward
data access        ``data_dir``: the engine runs here         Jobs mounting the PVC run the engine
``status()``       the process and its data dir              the pods (phase, ready, node) and the PVC
``report()``       every process, the data dir's usage       + restarts, last exit, PVC usage (df), events
``logs()``         the tail of ``redis.log``                 the tail of the ready pod's log
``staging()``      beside the running server: always          by the PVC's access mode (see below)
=================  =======================================  ===============================================

Staging beside a running Redis (so a restore stops it only for the install and the start) needs the
staging writer to mount the data while Redis has it mounted: a local directory always allows it; on
Kubernetes a ``ReadWriteMany`` PVC does, a ``ReadWriteOnce`` PVC does when the Job runs on the Redis
pod's node (RWO is per node, not per pod: the Job is pinned with ``nodeName``), and ``ReadWriteOncePod``
never does (only one pod may mount it): the Job then stages after the scale to 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from redisops.adapters.local import pid_alive, port_in_use
from redisops.adapters.redis_conn import RedisEndpoint, request_shutdown
from redisops.errors import OperationTimeout
from redisops.inspect import Info
from redisops.ops.loading import wait_loaded

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.config.model import DeploymentConfig
    from redisops.ops.platform_status import PlatformReport
    from redisops.ops.restore_k8s_dance import K8sTarget
    from redisops.ops.sandbox import SandboxState

__all__ = [
    "KubePlatform",
    "LocalPlatform",
    "Platform",
    "PlatformStatus",
    "ProcessPlatform",
    "StagingDecision",
]

Say = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


@dataclass(frozen=True)
class StagingDecision:
    """Whether a restore can download and stage the backup while Redis keeps running.

    Attributes:
        beside_running: True when the staging can run beside the running Redis (it is stopped only for
            the install and the start); False when it must wait for the stop.
        reason: one sentence saying why (the access mode, the node, ...).
        node: the node the staging Job must run on (a ReadWriteOnce PVC), None when any node will do.
        access_mode: the PVC's access mode (None for a local data dir).
    """

    beside_running: bool
    reason: str
    node: str | None = None
    access_mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "beside_running": self.beside_running,
            "reason": self.reason,
            "node": self.node,
            "access_mode": self.access_mode,
        }


@dataclass(frozen=True)
class PlatformStatus:
    """Where Redis runs and how it is doing: its process or pods, its data dir or PVC.

    Attributes:
        platform: ``sandbox`` or ``kubernetes``.
        running: a Redis process / ready pod is serving.
        processes: one entry per process or pod (``name``, ``phase``, ``ready``, ``node`` / ``pid``).
        volume: the data dir (``path``, ``exists``) or the PVC (``name``, ``phase``, ``access_modes``,
            ``capacity``).
        notes: human lines about anything off (no pod, PVC not bound, ...).
    """

    platform: Literal["sandbox", "kubernetes"]
    running: bool
    processes: list[dict[str, Any]] = field(default_factory=list)
    volume: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "platform": self.platform,
            "running": self.running,
            "processes": [dict(p) for p in self.processes],
            "volume": dict(self.volume),
            "notes": list(self.notes),
        }


@runtime_checkable
class Platform(Protocol):
    """What restore, undo, drill, health and the cutover need of the place a Redis runs."""

    @property
    def kind(self) -> Literal["sandbox", "kubernetes"]:
        """``sandbox`` or ``kubernetes``."""
        ...

    def describe(self) -> str:
        """One line naming it (``the sandbox target 127.0.0.1:7001`` / ``Deployment ns/redis``)."""
        ...

    def stop(self) -> None:
        """Stop Redis (it saves on the way down); returns once nothing serves from the data any more."""
        ...

    def start(self) -> None:
        """Start Redis again on its data; returns once it answers (see :meth:`wait_ready`)."""
        ...

    def wait_ready(self, timeout: float = 300.0) -> Info:
        """INFO of the running Redis once it has loaded its data."""
        ...

    def status(self) -> PlatformStatus:
        """The process or pods and the data dir or PVC, read-only."""
        ...

    def logs(self, lines: int = 50) -> str:
        """The tail of Redis's log."""
        ...

    def staging(self) -> StagingDecision:
        """Whether a restore can stage beside the running Redis (see the module docstring)."""
        ...


# --- the sandbox -------------------------------------------------------------------------------------


class LocalPlatform:
    """The sandbox's target: a local redis-server process and its data dir (the PVC stand-in).

    The engine runs directly on :attr:`data_dir`. ``stop``/``start`` are the sandbox's own
    (:func:`redisops.ops.sandbox.target_controls`): SIGTERM (Redis saves), then the same redis.conf on
    the same port and data dir, recording the new pid.
    """

    def __init__(self, state: SandboxState, *, endpoint: RedisEndpoint | None = None) -> None:
        from redisops.ops.sandbox import target_controls

        self.state = state
        self.endpoint = endpoint or state.target
        self._stop, self._start = target_controls(state)

    @property
    def kind(self) -> Literal["sandbox", "kubernetes"]:
        """``sandbox``."""
        return "sandbox"

    @property
    def data_dir(self) -> Path:
        """The target's data dir: the engine runs here."""
        return self.state.data_dir

    @property
    def pid(self) -> int | None:
        """The target process's pid as recorded (None when the sandbox has none)."""
        svc = self.state.services.get("target")
        return svc.pid if svc is not None else None

    def describe(self) -> str:
        """``the sandbox target 127.0.0.1:<port>``."""
        return f"the sandbox target {self.endpoint.address}"

    def stop(self) -> None:
        """SHUTDOWN (else SIGTERM) the target, which saves first; returns once the process has exited."""
        request_shutdown(self.endpoint)
        self._stop()

    def start(self) -> None:
        """Start the target on its redis.conf; returns once it answers PING (or LOADING)."""
        self._start()

    def wait_ready(self, timeout: float = 300.0) -> Info:
        """INFO once ``loading:0``."""
        return wait_loaded(self.endpoint, timeout=timeout)

    def status(self) -> PlatformStatus:
        """The target process (pid, alive, port answering) and its data dir."""
        svc = self.state.services.get("target")
        processes: list[dict[str, Any]] = []
        notes: list[str] = []
        running = False
        if svc is None:
            notes.append("the sandbox has no target service")
        else:
            alive = pid_alive(svc.pid)
            answering = alive and port_in_use(svc.port)
            running = bool(answering)
            processes.append(
                {"name": "target", "pid": svc.pid, "port": svc.port, "alive": alive, "ready": running}
            )
            if not running:
                notes.append(f"the target (pid {svc.pid}) is not serving on port {svc.port}")
        d = self.data_dir
        volume: dict[str, Any] = {"path": str(d), "exists": d.is_dir()}
        if d.is_dir():
            import shutil

            volume["free_bytes"] = shutil.disk_usage(d).free
        else:
            notes.append(f"the data dir {d} does not exist")
        return PlatformStatus("sandbox", running, processes, volume, notes)

    def report(self) -> PlatformReport:
        """The full status (``platform.status``): every sandbox process and the data dir's usage."""
        from redisops.ops.platform_status import sandbox_report

        return sandbox_report(self.state)

    def logs(self, lines: int = 50) -> str:
        """The last ``lines`` lines of the target's ``redis.log``."""
        svc = self.state.services.get("target")
        if svc is None:
            return ""
        log = Path(svc.workdir) / "redis.log"
        try:
            text = log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def staging(self) -> StagingDecision:
        """Always beside the running server: the staging folder is a directory of its own."""
        return StagingDecision(
            True,
            "the data dir is a local directory: the backup is downloaded and verified into its own "
            "staging folder while the target keeps serving",
        )


class ProcessPlatform:
    """A local redis-server reached through a stop and a start callable (``ManagedProcess.stop`` /
    ``start_redis``): a test's or a benchmark's server, or a drill's scratch server (``running=False``:
    nothing serves the data dir yet, so the restore stages and installs before the first start).
    """

    def __init__(
        self,
        stop: Callable[[], None],
        start: Callable[[], None],
        endpoint: RedisEndpoint,
        data_dir: Path,
        *,
        name: str = "the server",
        running: bool = True,
    ) -> None:
        self._stop, self._start = stop, start
        self.endpoint, self.data_dir, self.name, self.running = endpoint, data_dir, name, running

    @property
    def kind(self) -> Literal["sandbox", "kubernetes"]:
        """``sandbox`` (a local process)."""
        return "sandbox"

    def describe(self) -> str:
        """``the server on 127.0.0.1:<port>``."""
        return f"{self.name} on {self.endpoint.address}"

    def stop(self) -> None:
        """SHUTDOWN asked of the server, then the stop callable (which waits for the exit, and signals
        the process when SHUTDOWN was refused); nothing when no server runs yet."""
        if self.running:
            request_shutdown(self.endpoint)
            self._stop()
        self.running = False

    def start(self) -> None:
        """The start callable."""
        self._start()
        self.running = True

    def wait_ready(self, timeout: float = 300.0) -> Info:
        """INFO once ``loading:0``."""
        return wait_loaded(self.endpoint, timeout=timeout)

    def status(self) -> PlatformStatus:
        """Whether the port answers, and the data dir."""
        up = port_in_use(self.endpoint.port)
        d = self.data_dir
        return PlatformStatus(
            "sandbox",
            up,
            [{"name": self.name, "port": self.endpoint.port, "ready": up}],
            {"path": str(d), "exists": d.is_dir()},
            [] if up else [f"nothing serves on port {self.endpoint.port}"],
        )

    def logs(self, lines: int = 50) -> str:
        """No log is kept for a bare process."""
        return ""

    def staging(self) -> StagingDecision:
        """Beside the running server; a server not running yet has nothing to keep serving."""
        if not self.running:
            return StagingDecision(False, "no server runs on the data dir yet: stage and install, then start")
        return StagingDecision(
            True,
            "the data dir is a local directory: the backup is downloaded and verified into its own "
            "staging folder while the server keeps serving",
        )


# --- Kubernetes --------------------------------------------------------------------------------------


class KubePlatform:
    """The Redis Deployment of a config, its PVC and pods.

    ``stop`` scales to 0 and waits until no pod is left (remembering the replica count, at least 1);
    ``start`` scales back and waits for the rollout. Data is reached by running an engine step in a
    Job that mounts the PVC (:class:`~redisops.ops.restore_k8s_access.KubeAccess`).
    """

    def __init__(
        self,
        kube: Kube,
        cfg: DeploymentConfig,
        *,
        password: str | None = None,
        timeout: float = 600.0,
        say: Say | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from redisops.ops.restore_k8s_dance import K8sTarget, find_target

        self.kube, self.cfg, self.password, self.timeout = kube, cfg, password, timeout
        self.say = say or _quiet
        self.clock, self.sleep = clock, sleep
        t = find_target(kube, cfg)
        self.target: K8sTarget = K8sTarget(t.namespace, t.deployment, t.pvc, t.selector, max(1, t.replicas))
        self.timings: dict[str, float] = {}

    @property
    def kind(self) -> Literal["sandbox", "kubernetes"]:
        """``kubernetes``."""
        return "kubernetes"

    def describe(self) -> str:
        """``Deployment <ns>/<name> (PVC <pvc>)``."""
        t = self.target
        return f"Deployment {t.namespace}/{t.deployment} (PVC {t.pvc})"

    def stop(self) -> None:
        """Scale the Deployment to 0 and wait until no pod matches its selector (OperationTimeout)."""
        from redisops.ops.restore_k8s_dance import scale_down

        scale_down(self.kube, self.target, self.timeout, self.clock, self.sleep, self.say, self.timings)

    def start(self) -> None:
        """Scale back to the replica count it had (at least 1) and wait for the rollout."""
        from redisops.ops.restore_k8s_dance import scale_up

        scale_up(self.kube, self.target, self.timeout, self.clock, self.sleep, self.say, self.timings)

    def ready_pod(self) -> dict[str, Any] | None:
        """The first ready Redis pod, None when there is none."""
        from redisops.adapters.kube import is_pod_ready

        t = self.target
        for pod in self.kube.pods(t.selector, t.namespace):
            if is_pod_ready(pod):
                return pod
        return None

    def wait_ready(self, timeout: float = 300.0) -> Info:
        """INFO of a ready pod's Redis once loaded (through a port-forward); OperationTimeout when no
        pod becomes ready within ``timeout``."""
        from redisops.ops.restore_k8s_dance import loaded_info, redis_password

        start = self.clock()
        while (pod := self.ready_pod()) is None:
            if self.clock() - start >= timeout:
                t = self.target
                raise OperationTimeout(
                    f"no ready Redis pod in {t.namespace} after {timeout:g}s",
                    hint=f"kubectl -n {t.namespace} describe deployment {t.deployment}",
                )
            self.sleep(0.2)
        pw = redis_password(self.cfg, self.password)
        return loaded_info(self.kube, self.cfg, str(pod["metadata"]["name"]), pw, timeout)

    def pvc(self) -> dict[str, Any] | None:
        """The PVC object, None when it does not exist."""
        return self.kube.get("PersistentVolumeClaim", self.target.pvc, self.target.namespace)

    def access_mode(self) -> str:
        """The PVC's access mode (its spec when it exists, else the config's)."""
        pvc = self.pvc()
        modes = list(((pvc or {}).get("spec") or {}).get("accessModes") or [])
        for preferred in ("ReadWriteOncePod", "ReadWriteOnce", "ReadWriteMany"):
            if preferred in modes:
                return preferred  # the most restrictive mode the PVC has decides
        return modes[0] if modes else self.cfg.persistence.access_mode

    def status(self) -> PlatformStatus:
        """The Deployment's pods (phase, ready, node) and its PVC (phase, access modes, capacity)."""
        from redisops.adapters.kube import is_pod_ready

        t = self.target
        processes = [
            {
                "name": p["metadata"]["name"],
                "phase": (p.get("status") or {}).get("phase"),
                "ready": is_pod_ready(p),
                "node": (p.get("spec") or {}).get("nodeName"),
            }
            for p in self.kube.pods(t.selector, t.namespace)
        ]
        notes: list[str] = []
        running = any(p["ready"] for p in processes)
        if not processes:
            notes.append(f"no pod of Deployment {t.namespace}/{t.deployment}")
        pvc = self.pvc()
        volume: dict[str, Any] = {"name": t.pvc}
        if pvc is None:
            notes.append(f"PVC {t.namespace}/{t.pvc} does not exist")
        else:
            spec, st = pvc.get("spec") or {}, pvc.get("status") or {}
            volume.update(
                phase=st.get("phase"),
                access_modes=list(spec.get("accessModes") or []),
                capacity=(st.get("capacity") or {}).get("storage"),
                storage_class=spec.get("storageClassName"),
            )
            if st.get("phase") != "Bound":
                notes.append(f"PVC {t.pvc} is {st.get('phase') or 'not bound'}")
        return PlatformStatus("kubernetes", running, processes, volume, notes)

    def report(self) -> PlatformReport:
        """The full status (``platform.status``): Deployment, pods (restarts, last termination), the
        PVC with its usage (``df`` in the pod), Service and warning events."""
        from redisops.ops.platform_status import kube_report

        return kube_report(self.kube, self.cfg)

    def logs(self, lines: int = 50) -> str:
        """The tail of the first Redis pod's log (empty when there is no pod)."""
        t = self.target
        pods = self.kube.pods(t.selector, t.namespace)
        if not pods:
            return ""
        return self.kube.logs(pods[0]["metadata"]["name"], t.namespace, tail=lines)

    def staging(self) -> StagingDecision:
        """By the PVC's access mode, with Redis's pod as it is now."""
        mode = self.access_mode()
        pod = self.ready_pod()
        if pod is None:
            return StagingDecision(
                False,
                "no Redis pod is running: the Job stages and installs on the idle PVC",
                access_mode=mode,
            )
        node = (pod.get("spec") or {}).get("nodeName")
        if mode == "ReadWriteMany":
            return StagingDecision(
                True,
                "the PVC is ReadWriteMany: the Job stages the backup while Redis keeps serving",
                access_mode=mode,
            )
        if mode == "ReadWriteOnce" and node:
            return StagingDecision(
                True,
                f"the PVC is ReadWriteOnce: the Job runs on Redis's node {node} (nodeName) and stages "
                "the backup while Redis keeps serving",
                node=str(node),
                access_mode=mode,
            )
        if mode == "ReadWriteOnce":
            return StagingDecision(
                False,
                "the PVC is ReadWriteOnce but the Redis pod has no node yet: the Job stages after the "
                "scale to 0 (Redis is down for the download too)",
                access_mode=mode,
            )
        return StagingDecision(
            False,
            f"the PVC is {mode}: only one pod may mount it, so the Job cannot stage beside the running "
            "Redis; it stages after the scale to 0 (Redis is down for the download too)",
            access_mode=mode,
        )
