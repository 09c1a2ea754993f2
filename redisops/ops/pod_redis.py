"""Redis in a pod, reached through a port-forward: one way for deploy, rollback, restore and backup."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from redisops.adapters.redis_conn import RedisEndpoint

if TYPE_CHECKING:  # the kubernetes client loads only when a pod is reached
    from redisops.adapters.kube import Kube
    from redisops.config import DeploymentConfig

__all__ = ["pod_endpoint"]


@contextmanager
def pod_endpoint(
    kube: Kube,
    cfg: DeploymentConfig,
    pod: str,
    password: str | None,
    *,
    namespace: str | None = None,
    socket_timeout: float = 10.0,
) -> Iterator[RedisEndpoint]:
    """An endpoint for the Redis in ``pod`` (the deployment's port and ACL user), open for the block.

    The port-forward runs in this process (no kubectl); it closes when the block ends.
    """
    with kube.port_forward(namespace or cfg.namespace, pod, cfg.port) as (host, port):
        yield RedisEndpoint(
            host=host,
            port=port,
            username=cfg.auth.username,
            password=password,
            connect_timeout=5.0,
            socket_timeout=socket_timeout,
        )
