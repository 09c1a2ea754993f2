"""Streams into pods over WebSockets: exec and an in-process port-forward (part of :class:`Kube`).

:class:`KubeStreams` is a mixin of :class:`redisops.adapters.kube.Kube`; it needs the Kube's own
WebSocket client and lock (``kubernetes.stream`` swaps ``ApiClient.request`` while it opens a
WebSocket, so those calls must not share or race with the client of ordinary calls).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from redisops.adapters.kube_errors import api_call as _api_call
from redisops.errors import OperationTimeout, PlatformError, RedisOpsError

__all__ = ["KubeStreams"]


class KubeStreams:
    """``exec`` and ``port_forward`` of :class:`redisops.adapters.kube.Kube`."""

    namespace: str
    api_client: Any
    _ws_api_client: Any
    _ws_lock: threading.Lock

    @property
    def _ws_client(self) -> Any:
        """The websocket client (own ApiClient on the same configuration), built on first use.

        Call with ``_ws_lock`` held.
        """
        if self._ws_api_client is None:
            from kubernetes import client as k8s_client

            self._ws_api_client = k8s_client.ApiClient(self.api_client.configuration)
        return self._ws_api_client

    def exec(
        self,
        pod: str,
        argv: Sequence[str],
        namespace: str | None = None,
        *,
        container: str | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, str, str]:
        """Run ``argv`` in a pod's container; ``(exit_code, stdout, stderr)``."""
        from kubernetes import client as k8s_client
        from kubernetes.stream import stream

        ns = namespace or self.namespace
        kwargs: dict[str, Any] = {
            "command": list(argv),
            "stderr": True,
            "stdin": False,
            "stdout": True,
            "tty": False,
            "_preload_content": False,
        }
        if container:
            kwargs["container"] = container
        with _api_call(f"exec in pod {ns}/{pod}"), self._ws_lock:
            core = k8s_client.CoreV1Api(self._ws_client)
            ws = stream(core.connect_get_namespaced_pod_exec, pod, ns, **kwargs)
        try:
            ws.run_forever(timeout=timeout)
            if ws.is_open():
                raise OperationTimeout(
                    f"exec of {argv[0]!r} in pod {ns}/{pod} did not finish in {timeout:g}s",
                    context={"pod": pod, "namespace": ns},
                )
            stdout = str(ws.read_channel(1, timeout=0) or "")
            stderr = str(ws.read_channel(2, timeout=0) or "")
            code = _exec_code(str(ws.read_channel(3, timeout=0) or ""), pod, ns)
        finally:
            ws.close()
            sock = getattr(ws, "sock", None)
            if sock is not None:
                with contextlib.suppress(Exception):
                    sock.shutdown()
        return code, stdout, stderr

    @contextlib.contextmanager
    def port_forward(self, namespace: str | None, pod: str, port: int) -> Iterator[tuple[str, int]]:
        """Forward a local port on 127.0.0.1 to ``port`` of ``pod`` while the block runs.

        Yields ``(host, local_port)``. Each accepted connection gets its own port-forward stream, so
        connection pools (redis-py) work. Everything (listener, streams, relay threads) is closed on
        exit.
        """
        forwarder = _PortForwarder(self, namespace or self.namespace, pod, port)
        forwarder.start()
        try:
            yield forwarder.address
        finally:
            forwarder.stop()

    def _open_forward(self, ns: str, pod: str, port: int) -> tuple[Any, Any, threading.Thread | None]:
        """(PortForward, its socket, its proxy thread) — one stream to ``pod:port``."""
        from kubernetes import client as k8s_client
        from kubernetes.stream import portforward

        with _api_call(f"port-forward to pod {ns}/{pod}"), self._ws_lock:
            before = {t.ident for t in threading.enumerate()}
            core = k8s_client.CoreV1Api(self._ws_client)
            pf = portforward(core.connect_get_namespaced_pod_portforward, pod, ns, ports=str(port))
            proxy = next(
                (
                    t
                    for t in threading.enumerate()
                    if t.ident not in before and t.name.startswith("Kubernetes port forward proxy")
                ),
                None,
            )
        return pf, pf.socket(port), proxy


def _exec_code(error_channel: str, pod: str, ns: str) -> int:
    if not error_channel.strip():
        return 0
    try:
        doc = json.loads(error_channel)
    except ValueError:
        import yaml

        doc = yaml.safe_load(error_channel)
    if not isinstance(doc, dict) or doc.get("status") == "Success":
        return 0
    details = doc.get("details") or {}
    for cause in details.get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message", 1))
    raise PlatformError(f"exec in pod {ns}/{pod} failed: {doc.get('message', error_channel)[:300]}")


class _PortForwarder:
    """A local TCP listener relaying each connection over its own port-forward stream."""

    def __init__(self, kube: KubeStreams, ns: str, pod: str, port: int) -> None:
        self.kube, self.ns, self.pod, self.port = kube, ns, pod, port
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.address: tuple[str, int] = ("127.0.0.1", int(self._listener.getsockname()[1]))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.errors: list[str] = []

    def start(self) -> None:
        t = threading.Thread(
            target=self._accept_loop, name=f"redisops-pf-{self.pod}:{self.port}", daemon=True
        )
        self._threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._listener], [], [], 0.1)
            if not ready:
                continue
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._relay, args=(conn,), name="redisops-pf-relay", daemon=True)
            with self._lock:
                self._threads.append(t)
            t.start()

    def _relay(self, conn: socket.socket) -> None:
        pf = remote = proxy = None
        try:
            try:
                pf, remote, proxy = self.kube._open_forward(self.ns, self.pod, self.port)
            except RedisOpsError as e:
                self.errors.append(e.message)
                return
            except Exception as e:  # never let a relay thread die with a traceback
                self.errors.append(f"{type(e).__name__}: {e}")
                return
            pairs = {conn.fileno(): (conn, remote), remote.fileno(): (remote, conn)}
            while not self._stop.is_set():
                ready, _, _ = select.select(list(pairs), [], [], 0.1)
                done = False
                for fd in ready:
                    src, dst = pairs[fd]
                    try:
                        data = src.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        done = True
                        break
                    try:
                        dst.sendall(data)
                    except OSError:
                        done = True
                        break
                if done:
                    break
        finally:
            conn.close()
            if remote is not None:
                remote.close()
            if proxy is not None:
                proxy.join(timeout=5)
            if pf is not None:
                err = pf.error(self.port)
                if err:
                    self.errors.append(str(err).strip())
                ws = getattr(pf, "websocket", None)
                if ws is not None:
                    with contextlib.suppress(Exception):
                        ws.shutdown()

    def stop(self) -> None:
        self._stop.set()
        try:
            self._join()
        finally:
            self._listener.close()

    def _join(self) -> None:
        while True:
            with self._lock:
                pending = [t for t in self._threads if t.is_alive()]
            if not pending:
                break
            for t in pending:
                t.join(timeout=10)
            if any(t.is_alive() for t in pending):
                break
