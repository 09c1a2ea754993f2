"""Setting up "Redis deployed on the Kubernetes emulator" for a test: the Redis pods' port served by a
real redis-server, and the client Deployments that restarts, egress policies and cutovers act on.

    server = serve_redis_pods(kube, redis_factory(DeploymentConfig(image=IMAGE)), "llm-judge")
    kube.create(client_deployment("judge-api", "llm-judge"))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["client_deployment", "serve_redis_pods"]


def serve_redis_pods(kube: Any, server: Any, namespace: str, port: int = 6379) -> Any:
    """Map ``port`` of the emulator's Redis pods (``app=redis`` in ``namespace``) to the real
    ``server`` (a ``redis_factory`` server), and keep it as ``kube.redis``; returns ``server``."""
    kube.map_port(namespace, "app=redis", port, ("127.0.0.1", server.endpoint.port))
    kube.redis = server
    return server


def client_deployment(
    name: str, namespace: str, *, image: str | None = None, pod_labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A one-replica client Deployment labelled ``app=<name>`` (its pods also ``pod_labels``), running
    ``image`` (default ``example/<name>:1``)."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, **(pod_labels or {})}},
                "spec": {"containers": [{"name": "app", "image": image or f"example/{name}:1"}]},
            },
        },
    }
