"""The services that use Redis: restart them (write-up step 6) and check they reach Redis.

``restart_services`` rolls each Deployment (``kubectl rollout restart``'s annotation) and waits for
it, one after the other, reporting per service and carrying on after a failure.
``verify_clients`` runs the write-up's ``nc -zv <service_dns> <port>`` in one ready pod of each
client Deployment and scans the recent logs of its pods for Redis connection errors.

Example::

    with Kube.connect(context="prod") as kube:
        for r in restart_services(kube, "llm-judge", cfg.clients.services, timeout=300):
            print(r.name, "ok" if r.ok else r.reason)
        for c in verify_clients(kube, cfg):
            print(c.service, c.reachable, c.log_errors)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from redisops.config.model import DeploymentConfig
from redisops.errors import Interrupted, RedisOpsError

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.cancel import CancelToken

__all__ = [
    "REDIS_ERROR_PATTERNS",
    "ClientCheck",
    "ServiceRestart",
    "restart_services",
    "scan_log",
    "verify_clients",
]

#: log lines that mean a client could not use Redis (redis-py, ioredis, Jedis/Lettuce, go-redis)
REDIS_ERROR_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx, re.IGNORECASE if name != "READONLY" else 0))
    for name, rx in (
        ("redis ConnectionError", r"redis\.exceptions\.(ConnectionError|TimeoutError)"),
        ("Jedis/Lettuce connection", r"(JedisConnectionException|RedisConnectionException)"),
        ("ECONNREFUSED", r"ECONNREFUSED"),
        ("READONLY", r"\bREADONLY\b"),
        ("NOAUTH", r"\bNOAUTH\b|WRONGPASS"),
        ("LOADING", r"\bLOADING\b.*(dataset|memory)"),
        ("MISCONF", r"\bMISCONF\b"),
        ("OOM command not allowed", r"OOM command not allowed"),
        ("connection reset", r"(ECONNRESET|connection reset by peer)"),
        ("connection refused", r"connection refused"),
        (
            "host not found",
            r"(ENOTFOUND|Name or service not known|no such host).*redis|redis.*(ENOTFOUND|no such host)",
        ),
    )
)

Progress = Callable[[str], None]


def _noop(_msg: str) -> None:
    pass


@dataclass(frozen=True)
class ServiceRestart:
    """The outcome of restarting one Deployment."""

    name: str
    ok: bool
    reason: str = ""
    elapsed_s: float = 0.0
    pods: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ClientCheck:
    """Whether one client Deployment reaches Redis, and what its logs say."""

    service: str
    pod: str | None
    reachable: bool | None
    connect_output: str
    log_errors: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def ok(self) -> bool:
        """Reachable and no Redis errors in the logs."""
        return bool(self.reachable) and not self.log_errors and not self.problem


def restart_services(
    kube: Kube,
    namespace: str,
    names: Sequence[str],
    *,
    timeout: float = 300.0,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    cancel: CancelToken | None = None,
) -> list[ServiceRestart]:
    """Restart each Deployment and wait for its rollout (``timeout`` per service); a failure is
    reported for that service (not found, rollout timeout with the pods' reasons) and the next
    service is restarted anyway. ``cancel`` stops the wait at once (Interrupted: the rollout that was
    started goes on in the cluster)."""
    say = progress or _noop
    out: list[ServiceRestart] = []
    for name in names:
        start = clock()
        try:
            say(f"restarting Deployment {namespace}/{name}")
            kube.rollout_restart(name, namespace)
            st = kube.wait_rollout(name, namespace, timeout, clock=clock, sleep=sleep, cancel=cancel)
        except Interrupted:
            raise
        except RedisOpsError as e:
            say(f"{name}: failed: {e.message}")
            out.append(ServiceRestart(name, False, e.message, round(clock() - start, 3)))
            continue
        say(f"{name}: rolled out in {clock() - start:.1f}s")
        out.append(ServiceRestart(name, True, "", round(clock() - start, 3), st.pods))
    return out


def scan_log(text: str, *, limit: int = 5) -> list[str]:
    """Lines of ``text`` that match a Redis connection error pattern (at most ``limit``), each
    prefixed with the pattern's name."""
    hits: list[str] = []
    for line in text.splitlines():
        for name, rx in REDIS_ERROR_PATTERNS:
            if rx.search(line):
                hits.append(f"{name}: {line.strip()[:200]}")
                break
        if len(hits) >= limit:
            break
    return hits


def verify_clients(
    kube: Kube,
    cfg: DeploymentConfig,
    names: Sequence[str] | None = None,
    *,
    namespace: str | None = None,
    tail: int = 200,
    timeout: float = 15.0,
    progress: Progress | None = None,
) -> list[ClientCheck]:
    """For each client Deployment (default: ``cfg.clients.services``): ``nc -zv <service_dns>
    <port>`` in one ready pod (falling back to python3 when the image has no nc), and the last
    ``tail`` log lines of its pods scanned for Redis connection errors."""
    from redisops.adapters.kube import is_pod_ready

    say = progress or _noop
    ns = namespace or cfg.namespace
    out: list[ClientCheck] = []
    for name in names if names is not None else cfg.clients.services:
        say(f"checking {ns}/{name}")
        try:
            dep = kube.get("Deployment", name, ns)
            if dep is None:
                out.append(ClientCheck(name, None, None, "", problem="Deployment not found"))
                continue
            selector = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            pods = kube.pods(selector, ns) if selector else []
            ready = [p for p in pods if is_pod_ready(p)]
            errors: list[str] = []
            for pod in pods:
                pod_name = pod["metadata"]["name"]
                errors += [f"{pod_name}: {hit}" for hit in scan_log(kube.logs(pod_name, ns, tail=tail))]
            if not ready:
                out.append(ClientCheck(name, None, None, "", errors, problem="no ready pod"))
                continue
            pod_name = ready[0]["metadata"]["name"]
            reachable, output = _probe(kube, pod_name, ns, cfg.service_dns, cfg.port, timeout)
            out.append(ClientCheck(name, pod_name, reachable, output, errors))
        except RedisOpsError as e:
            out.append(ClientCheck(name, None, None, "", problem=e.message))
    return out


def _probe(kube: Kube, pod: str, ns: str, host: str, port: int, timeout: float) -> tuple[bool | None, str]:
    code, stdout, stderr = kube.exec(pod, ["nc", "-zv", host, str(port)], ns, timeout=timeout)
    text = (stdout + stderr).strip()
    if code not in (126, 127):
        return code == 0, text
    script = f"import socket; socket.create_connection(({host!r}, {port}), 5).close(); print('connected')"
    code, stdout, stderr = kube.exec(pod, ["python3", "-c", script], ns, timeout=timeout)
    if code in (126, 127):
        return None, "neither nc nor python3 is available in the client image"
    return code == 0, (stdout + stderr).strip()[-300:]
