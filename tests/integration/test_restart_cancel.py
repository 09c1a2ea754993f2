"""``deploy.restart`` cancelled while it waits for a rollout stops at once (not after the per-service
timeout), says which Deployments were restarted and which were not, and restarts nothing more. The
Kubernetes API emulator: one service's pods never pull their image, so its rollout never ends."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from redisops.adapters.kube import Kube
from redisops.cancel import CancelToken
from redisops.errors import Interrupted
from redisops.ops.target import resolve_target
from tests.harness import kube_deploy

pytestmark = pytest.mark.k8s

NS = "llm-judge"


def test_a_cancelled_restart_stops_waiting_and_names_what_it_restarted(kube: Any) -> None:
    names = ["gateway-service", "inference-service", "judge-service"]
    with Kube.from_kubeconfig(kube.kubeconfig_path) as k:
        k.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        for name in names:
            k.apply([kube_deploy.client_deployment(name, NS, pod_labels={"redis-client": "true"})])
            k.wait_rollout(name, NS, timeout=10)
        kube.set_failure(NS, "inference-service", "stuck", reason="ImagePullBackOff")
        before = {n: k.get("Deployment", n, NS)["metadata"].get("generation") for n in names}

    token = CancelToken()

    def on_event(event: Any) -> None:
        if getattr(event, "name", "") == "restart" and "inference-service" in getattr(event, "detail", ""):
            threading.Timer(0.5, token.cancel, args=("interrupted",)).start()

    with resolve_target(kubeconfig=str(kube.kubeconfig_path), namespace=NS) as t:
        started = time.monotonic()
        with pytest.raises(Interrupted) as err:
            t.run("deploy.restart", {"deployments": names, "timeout": 600}, on_event=on_event, cancel=token)
        waited = time.monotonic() - started
    e = err.value
    assert waited < 60, waited  # not the 600 s per-service timeout
    assert "restarted before it: gateway-service" in e.message
    assert "not restarted: judge-service" in e.message
    assert e.context["waiting_for"] == "inference-service"
    assert e.context["not_restarted"] == ["judge-service"]
    with Kube.from_kubeconfig(kube.kubeconfig_path) as k:
        after = {n: k.get("Deployment", n, NS)["metadata"].get("generation") for n in names}
    assert after["judge-service"] == before["judge-service"]  # never restarted
    assert after["gateway-service"] != before["gateway-service"]
