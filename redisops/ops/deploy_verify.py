"""Verification of a running Redis deployment: pod ready, PVC bound, Service endpoints, then PING and
``INFO persistence`` (plus ``CONFIG GET appendfsync/save`` when allowed) through a port-forward.

Used by :func:`redisops.ops.deploy.deploy` after each rollout, and on its own by ``verify_deployment``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redisops.adapters.redis_conn import connect, raw_command, read_password, redis_errors
from redisops.config.model import DeploymentConfig
from redisops.errors import RedisOpsError
from redisops.inspect import parse_info
from redisops.ops.pod_redis import pod_endpoint

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube

__all__ = ["VerifyCheck", "verify_deployment"]


@dataclass(frozen=True)
class VerifyCheck:
    """One post-deploy check."""

    name: str
    ok: bool
    detail: str


def _conf_directives(manifests: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The persistence directives of the redis.conf in the manifests' ConfigMap."""
    for m in manifests:
        if m.get("kind") == "ConfigMap" and "redis.conf" in (m.get("data") or {}):
            out: dict[str, str] = {}
            for line in str(m["data"]["redis.conf"]).splitlines():
                parts = line.strip().split(None, 1)
                if len(parts) == 2 and parts[0].lower() in ("appendonly", "appendfsync", "save"):
                    value = parts[1].strip()
                    out[parts[0].lower()] = "" if value in ('""', "''") else value
            return out
    return {}


def _expected(cfg: DeploymentConfig, manifests: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    r = cfg.config
    expected = {
        "appendonly": "yes" if r.appendonly else "no",
        "appendfsync": r.appendfsync,
        "save": " ".join(f"{p.seconds} {p.changes}" for p in r.save),
    }
    expected.update(_conf_directives(manifests))
    return expected


def _deployment_of(cfg: DeploymentConfig, manifests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    for m in manifests:
        if m.get("kind") == "Deployment":
            return dict(m)
    return {
        "metadata": {"name": cfg.service_name},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(cfg.labels)}},
    }


def _k8s_checks(
    kube: Kube, cfg: DeploymentConfig, manifests: Sequence[Mapping[str, Any]]
) -> tuple[list[VerifyCheck], str | None]:
    from redisops.adapters.kube import is_pod_ready

    ns = cfg.namespace
    dep = _deployment_of(cfg, manifests)
    selector = dep["spec"]["selector"]["matchLabels"]
    want = int(dep["spec"].get("replicas", 1))
    pods = kube.pods(selector, ns)
    ready = [p["metadata"]["name"] for p in pods if is_pod_ready(p)]
    checks = [
        VerifyCheck(
            "pod-ready",
            len(ready) >= want and len(pods) == len(ready),
            f"{len(ready)}/{want} ready: {', '.join(ready) or 'none'}"
            + (f" ({len(pods) - len(ready)} not ready)" if len(pods) > len(ready) else ""),
        )
    ]
    pvcs = [str(m["metadata"]["name"]) for m in manifests if m.get("kind") == "PersistentVolumeClaim"]
    if not manifests and cfg.persistence.enabled:
        pvcs = [f"{cfg.service_name}-data"]
    for name in pvcs:
        pvc = kube.get("PersistentVolumeClaim", name, ns)
        phase = ((pvc or {}).get("status") or {}).get("phase", "missing")
        checks.append(VerifyCheck(f"pvc-bound:{name}", phase == "Bound", f"PVC {name} is {phase}"))
    services = [str(m["metadata"]["name"]) for m in manifests if m.get("kind") == "Service"]
    for name in services or [cfg.service_name]:
        ep = kube.get("Endpoints", name, ns) or {}
        addrs = [a.get("ip", "?") for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
        detail = (
            f"Service {name} endpoints: {', '.join(addrs)}" if addrs else f"Service {name} has no endpoints"
        )
        checks.append(VerifyCheck(f"service-endpoints:{name}", bool(addrs), detail))
    return checks, (ready[0] if ready else None)


def _redis_checks(
    kube: Kube,
    cfg: DeploymentConfig,
    pod: str,
    expected: Mapping[str, str],
    password: str | None,
) -> list[VerifyCheck]:
    with pod_endpoint(kube, cfg, pod, password) as ep:
        client = connect(ep, check=False)
        try:
            with redis_errors(ep):
                client.ping()
            checks = [VerifyCheck("redis-ping", True, f"PONG from pod {pod} through a port-forward")]
            info = parse_info(raw_command(client, "INFO", "persistence"))
            problems: list[str] = []
            aof = info.persistence.aof_enabled
            want_aof = expected.get("appendonly", "yes") == "yes"
            if aof is not None and aof != want_aof:
                problems.append(
                    f"aof_enabled is {int(aof)}, the config says appendonly {expected['appendonly']}"
                )
            notes = [f"aof_enabled:{int(bool(aof))}"]
            try:
                live = _config_get(client, ("appendfsync", "save"))
            except RedisOpsError as e:
                notes.append(f"CONFIG GET not allowed ({e.message}); save points not checked")
                live = {}
            for name in ("appendfsync", "save"):
                if name in live and name in expected and live[name] != expected[name]:
                    problems.append(f"{name} is {live[name]!r}, the config says {expected[name]!r}")
                elif name in live:
                    notes.append(f"{name}={live[name]!r}")
            detail = "; ".join(problems) if problems else ", ".join(notes)
            checks.append(VerifyCheck("persistence", not problems, detail))
            return checks
        finally:
            client.close()


def _config_get(client: Any, names: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        reply = raw_command(client, "CONFIG", "GET", name)
        items = [x.decode() if isinstance(x, bytes) else str(x) for x in reply or []]
        out.update(dict(zip(items[::2], items[1::2], strict=True)))
    return out


def verify_deployment(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]] = (),
    *,
    password: str | None = None,
    settle_timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[VerifyCheck]:
    """Check the running deployment: pod ready, PVC bound, Service endpoints, PING and ``INFO
    persistence`` (plus ``CONFIG GET appendfsync/save`` when allowed) through a port-forward.

    Expected persistence settings come from the redis.conf in ``manifests`` (else from ``cfg``).
    Failing checks are retried until ``settle_timeout`` (endpoints and PVCs can lag the rollout).
    """
    if password is None and cfg.auth.enabled:
        password = read_password(cfg.auth.password_env, cfg.auth.password_file)
    expected = _expected(cfg, manifests)
    deadline = clock() + settle_timeout
    while True:
        checks, pod = _k8s_checks(kube, cfg, manifests)
        if pod is None:
            checks.append(VerifyCheck("redis-ping", False, "no ready Redis pod to forward to"))
        else:
            try:
                checks += _redis_checks(kube, cfg, pod, expected, password)
            except RedisOpsError as e:
                checks.append(
                    VerifyCheck("redis-ping", False, f"through a port-forward to {pod}: {e.message}")
                )
        if all(c.ok for c in checks) or clock() >= deadline:
            return checks
        sleep(0.5)
