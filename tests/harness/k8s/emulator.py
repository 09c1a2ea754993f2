"""``KubeEmulator``: a Kubernetes API server emulator on a loopback port, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from .controllers import FAILURE_MODES, Controllers, ControllerState, Failure, Timing
from .resources import BY_KIND, RESOURCE_TYPES, ResourceType
from .selectors import labels_match, parse_label_selector
from .server import ApiServer, ExecResult
from .store import ApiError, Event, Obj, Store

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

ExecHandler = Callable[[Obj, str, list[str], bytes], "ExecResult | tuple[Any, Any, int] | None"]

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _resource_type(kind: str) -> ResourceType:
    rt = BY_KIND.get(kind)
    if rt is None:
        for candidate in RESOURCE_TYPES:
            if kind.lower() in (candidate.plural, candidate.singular_name, *candidate.short_names):
                return candidate
        raise KeyError(f"the emulator does not serve kind {kind!r}")
    return rt


class KubeEmulator:
    """A stateful Kubernetes API emulator served over HTTP from a background thread.

    Use it as a context manager; ``url`` is the server address once started.
    """

    def __init__(
        self,
        *,
        ready_delay: float = 0.2,
        job_duration: float | None = None,
        restart_interval: float | None = None,
        pvc_bind_delay: float | None = None,
        namespaces: tuple[str, ...] = DEFAULT_NAMESPACES,
        default_storage_class: str | None = "standard",
        host: str = "127.0.0.1",
    ) -> None:
        self.timing = Timing(
            ready_delay=ready_delay,
            job_duration=ready_delay if job_duration is None else job_duration,
            restart_interval=max(ready_delay, 0.5) if restart_interval is None else restart_interval,
            pvc_bind_delay=ready_delay / 2 if pvc_bind_delay is None else pvc_bind_delay,
        )
        self.store = Store()
        self.host = host
        self.port = 0
        self._seed_namespaces = namespaces
        self._default_storage_class = default_storage_class
        self._state = ControllerState()
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, str, str | None, bool], str] = {}
        self._exec_handlers: list[ExecHandler] = []
        self._port_maps: list[tuple[str, str, int, tuple[str, int]]] = []
        self._clients: list[ApiClient] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._stop_requested: asyncio.Event | None = None
        self.stopping = asyncio.Event()
        self.executor: Executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kube-emulator-exec")
        self.controllers: Controllers | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> KubeEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> KubeEmulator:
        if self._thread is not None:
            raise RuntimeError("the emulator is already started")
        self._thread = threading.Thread(target=self._run, name="kube-emulator", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Kubernetes emulator did not start within 10 s")
        if self._start_error is not None:
            self._thread.join()
            raise RuntimeError("the Kubernetes emulator failed to start") from self._start_error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced by start()
            self._start_error = exc
            self._started.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self.controllers = Controllers(self.store, loop, self.timing, self._state)
        controllers = self.controllers
        self.store.add_listener(lambda event: self._on_event(loop, controllers, event))
        self._seed()
        server = ApiServer(self)
        runner = web.AppRunner(server.app(), access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, 0, reuse_address=True)
            await site.start()
            self.port = runner.addresses[0][1]
            server.address = f"{self.host}:{self.port}"
            self._started.set()
            await self._stop_requested.wait()
        finally:
            self.stopping.set()
            controllers.close()
            self.store.close_watchers()
            await runner.cleanup()

    @staticmethod
    def _on_event(loop: asyncio.AbstractEventLoop, controllers: Controllers, event: Event) -> None:
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            controllers.on_event(event)
        else:
            loop.call_soon_threadsafe(controllers.on_event, event)

    def _seed(self) -> None:
        ns_rt = BY_KIND["Namespace"]
        for name in self._seed_namespaces:
            self.store.create(ns_rt, None, {"metadata": {"name": name}}, manager="emulator")
        node = {
            "metadata": {
                "name": "emulator-node",
                "labels": {"kubernetes.io/hostname": "emulator-node", "kubernetes.io/os": "linux"},
            },
            "spec": {},
        }
        self.store.create(BY_KIND["Node"], None, node, manager="emulator")
        self.store.update(
            BY_KIND["Node"],
            None,
            "emulator-node",
            lambda o: {
                **o,
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                    "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                    "nodeInfo": {
                        "architecture": "amd64",
                        "bootID": "00000000-0000-0000-0000-000000000001",
                        "containerRuntimeVersion": "containerd://1.7.0",
                        "kernelVersion": "6.1.0",
                        "kubeProxyVersion": "v1.32.0",
                        "kubeletVersion": "v1.32.0",
                        "machineID": "emulator",
                        "operatingSystem": "linux",
                        "osImage": "Kubernetes API emulator",
                        "systemUUID": "00000000-0000-0000-0000-000000000002",
                    },
                    "capacity": {"cpu": "2", "memory": "24Gi", "pods": "110"},
                    "allocatable": {"cpu": "2", "memory": "24Gi", "pods": "110"},
                },
            },
            subresource="status",
            manager="kubelet",
        )
        if self._default_storage_class:
            sc = {
                "metadata": {
                    "name": self._default_storage_class,
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "rancher.io/local-path",
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
            }
            self.store.create(BY_KIND["StorageClass"], None, sc, manager="emulator")

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        for api_client in self._clients:
            close_api_client(api_client)
        self._clients.clear()
        if not loop.is_closed() and self._stop_requested is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop_requested.set)
        thread.join(15)
        self.executor.shutdown(wait=True, cancel_futures=True)
        self._thread = None

    # --- clients ------------------------------------------------------------------------------

    def configuration(self) -> Any:
        from kubernetes import client

        config = client.Configuration()
        config.host = self.url
        config.verify_ssl = False
        return config

    def api_client(self) -> ApiClient:
        """A ``kubernetes.client.ApiClient`` for this emulator; closed when the emulator stops."""
        from kubernetes import client

        api = client.ApiClient(self.configuration())
        self._clients.append(api)
        return api

    def kubeconfig(self, *, context: str = "emulator", namespace: str | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = {"cluster": context, "user": context}
        if namespace:
            ctx["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": "emulator-token"}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
            "preferences": {},
        }

    def write_kubeconfig(
        self, path: str | os.PathLike[str], *, context: str = "emulator", namespace: str | None = None
    ) -> Path:
        target = Path(path)
        target.write_text(yaml.safe_dump(self.kubeconfig(context=context, namespace=namespace)))
        return target

    # --- direct state access (tests) ----------------------------------------------------------

    def objects(
        self, kind: str | None = None, namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[Obj]:
        """Copies of stored objects, optionally by kind, namespace and label selector."""
        reqs = parse_label_selector(label_selector)
        kinds = [_resource_type(kind)] if kind else list(RESOURCE_TYPES)
        out: list[Obj] = []
        for rt in kinds:
            out += self.store.list(rt, namespace, lambda o: labels_match(reqs, o["metadata"].get("labels")))[
                0
            ]
        return out

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        return self.store.find(_resource_type(kind), namespace, name)

    def create(self, obj: Obj) -> Obj:
        """Store an object as if a client had POSTed it (controllers react as usual)."""
        rt = _resource_type(obj["kind"])
        return self.store.create(rt, obj.get("metadata", {}).get("namespace"), obj, manager="emulator-test")

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        self.store.delete(_resource_type(kind), namespace, name)

    def patch_status(self, kind: str, name: str, namespace: str | None, status: Obj) -> Obj:
        """Merge ``status`` into an object's status (e.g. to fake a condition)."""
        from .patch import strategic_merge

        def apply(obj: Obj) -> Obj:
            obj["status"] = strategic_merge(obj.get("status") or {}, status)
            return obj

        return self.store.update(
            _resource_type(kind), namespace, name, apply, subresource="status", manager="emulator-test"
        )

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside controllers (should stay empty)."""
        return list(self._state.errors)

    # --- behaviour knobs ----------------------------------------------------------------------

    def _call_in_loop(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or self.controllers is None:
            return
        loop.call_soon_threadsafe(self.controllers._guard, fn, *args)

    def set_failure(
        self,
        namespace: str,
        name: str,
        mode: str | None,
        *,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        """Make the pods of workload ``name`` (Deployment, StatefulSet, Job, ReplicaSet or a Pod) misbehave.

        ``mode``: ``"stuck"`` (Pending, container waiting with ``reason``, default ContainerCreating — try
        ``reason="ImagePullBackOff"``), ``"crash"`` (CrashLoopBackOff, restartCount rising), ``"oomkilled"``
        (lastState.terminated.reason OOMKilled, restartCount rising), ``"fail"`` (a Job fails; other pods
        crash), ``"pending"`` (a PVC of that name stays Pending). ``None`` heals.
        """
        if mode is not None and mode not in FAILURE_MODES:
            raise ValueError(f"unknown failure mode {mode!r}; expected one of {FAILURE_MODES}")
        with self._lock:
            if mode is None:
                self._state.failures.pop((namespace, name), None)
            else:
                self._state.failures[(namespace, name)] = Failure(mode, reason, message)
        if self.controllers is not None:
            self._call_in_loop(self.controllers.poke_workload, namespace, name)

    def set_logs(
        self, namespace: str, name: str, text: str, *, container: str | None = None, previous: bool = False
    ) -> None:
        """Set what ``pods/log`` returns for pod ``name`` or for all pods of workload ``name``."""
        with self._lock:
            self._logs[(namespace, name, container, previous)] = text

    def append_logs(self, namespace: str, name: str, text: str, *, container: str | None = None) -> None:
        with self._lock:
            key = (namespace, name, container, False)
            self._logs[key] = self._logs.get(key, "") + text

    def on_exec(self, handler: ExecHandler) -> ExecHandler:
        """Register an exec handler ``(pod, container, argv, stdin) -> (stdout, stderr, exit_code) | None``.

        Handlers run newest first; returning ``None`` passes to the next one, then to the built-in one
        (``redis-cli`` and ``nc -z``). Usable as a decorator.
        """
        with self._lock:
            self._exec_handlers.insert(0, handler)
        return handler

    def map_port(self, namespace: str, pod: str, port: int, target: tuple[str, int]) -> None:
        """Send port-forward (and built-in ``redis-cli`` exec) for ``port`` of matching pods to ``target``.

        ``pod`` is a pod name, a workload name (its pods match) or a label selector such as ``app=redis``.
        """
        with self._lock:
            self._port_maps.insert(0, (namespace, pod, port, target))

    # --- Backend protocol (called from the server) -------------------------------------------

    def _workload_names(self, pod: Obj) -> list[str]:
        if self.controllers is None:
            return [pod["metadata"]["name"]]
        return self.controllers.workload_names(pod)

    def pod_logs(self, pod: Obj, container: str, previous: bool) -> str:
        ns = pod["metadata"].get("namespace", "")
        with self._lock:
            for name in self._workload_names(pod):
                for key in ((ns, name, container, previous), (ns, name, None, previous)):
                    if key in self._logs:
                        return self._logs[key]
        return ""

    def port_target(self, pod: Obj, port: int) -> tuple[str, int] | None:
        ns = pod["metadata"].get("namespace", "")
        names = self._workload_names(pod)
        labels = pod["metadata"].get("labels", {})
        with self._lock:
            maps = list(self._port_maps)
        for map_ns, selector, map_port, target in maps:
            if map_ns != ns or map_port != port:
                continue
            if selector in names:
                return target
            if "=" in selector or " in " in selector:
                reqs = parse_label_selector(selector)
                if labels_match(reqs, labels):
                    return target
        return None

    def run_exec(self, pod: Obj, container: str, command: list[str], stdin: bytes) -> ExecResult:
        with self._lock:
            handlers = list(self._exec_handlers)
        for handler in handlers:
            result = handler(pod, container, command, stdin)
            if result is None:
                continue
            if isinstance(result, ExecResult):
                return result
            stdout, stderr, code = result
            return ExecResult(stdout, stderr, int(code))
        return self._default_exec(pod, command, stdin)

    def _default_exec(self, pod: Obj, command: list[str], stdin: bytes) -> ExecResult:
        argv = list(command)
        if len(argv) >= 3 and os.path.basename(argv[0]) in ("sh", "bash") and argv[1] == "-c":
            argv = shlex.split(argv[2])
        if not argv:
            return ExecResult("", "no command\n", 126)
        prog = os.path.basename(argv[0])
        if prog == "redis-cli":
            return self._redis_cli(pod, argv, stdin)
        if prog in ("nc", "ncat", "netcat"):
            return _nc(argv)
        if prog in ("true", "false"):
            return ExecResult("", "", 0 if prog == "true" else 1)
        if prog == "echo":
            return ExecResult(" ".join(argv[1:]) + "\n", "", 0)
        return ExecResult(
            "",
            f"exec: {argv[0]!r}: executable file not found in $PATH "
            "(no KubeEmulator.on_exec handler took it)\n",
            127,
        )

    def _redis_cli(self, pod: Obj, argv: list[str], stdin: bytes) -> ExecResult:
        host, port, rest, i = "127.0.0.1", 6379, [], 1
        while i < len(argv):
            arg = argv[i]
            if arg == "-h" and i + 1 < len(argv):
                host, i = argv[i + 1], i + 2
            elif arg == "-p" and i + 1 < len(argv):
                port, i = int(argv[i + 1]), i + 2
            else:
                rest.append(arg)
                i += 1
        local = host in ("127.0.0.1", "localhost", "::1")
        target = self.port_target(pod, port) if local else None
        if target is None:
            words = [a for a in rest if not a.startswith("-")]
            if [w.lower() for w in words[-1:]] == ["ping"] and local:
                return ExecResult("PONG\n", "", 0)
            return ExecResult(f"Could not connect to Redis at {host}:{port}: Connection refused\n", "", 1)
        cmd = ["redis-cli", "-h", target[0], "-p", str(target[1]), *rest]
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=30, check=False)
        return ExecResult(proc.stdout, proc.stderr, proc.returncode)


def close_api_client(api_client: Any) -> None:
    """Close a ``kubernetes.client.ApiClient`` and its pooled sockets.

    ``ApiClient.close()`` only stops its thread pool, and urllib3 2.x ``PoolManager.clear()`` no longer closes
    pooled connections, so the sockets would be left to the garbage collector (a ``ResourceWarning``).
    """
    pool_manager = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
    if pool_manager is not None:
        for key in list(pool_manager.pools.keys()):
            with contextlib.suppress(KeyError):
                pool_manager.pools[key].close()
        pool_manager.clear()
    api_client.close()


def close_websocket(ws_client: Any) -> None:
    """Close a ``kubernetes.stream`` ``WSClient`` for good.

    When the server ends the exec session (as a real API server does), websocket-client marks the socket
    disconnected without closing it, and ``WSClient.close()`` then returns early: the socket would be left
    to the garbage collector (a ``ResourceWarning``).
    """
    ws_client.close()
    sock = getattr(ws_client, "sock", None)
    if sock is not None:
        sock.shutdown()


def _nc(argv: list[str]) -> ExecResult:
    positional = [a for a in argv[1:] if not a.startswith("-")]
    if len(positional) < 2:
        return ExecResult("", "usage: nc [-zv] host port\n", 1)
    host, port = positional[0], positional[1]
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            pass
    except (OSError, ValueError) as exc:
        return ExecResult("", f"nc: connect to {host} port {port} (tcp) failed: {exc}\n", 1)
    return ExecResult("", f"Connection to {host} {port} port [tcp/*] succeeded!\n", 0)


@contextlib.contextmanager
def running_emulator(**kwargs: Any) -> Iterator[KubeEmulator]:
    """``with running_emulator(ready_delay=0.1) as kube: ...`` — the same as ``with KubeEmulator(...)``."""
    emulator = KubeEmulator(**kwargs)
    with emulator:
        yield emulator


__all__ = [
    "ApiError",
    "ExecHandler",
    "ExecResult",
    "KubeEmulator",
    "close_api_client",
    "close_websocket",
    "running_emulator",
]
