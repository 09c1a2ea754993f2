"""A deploy or rollback cancelled while it waits for the rollout has applied its manifests: it records them
as a ``cancelled`` revision, so ``history`` shows what runs and ``rollback`` goes back past it to the last
deployed revision. The Kubernetes API emulator (pods that never pull their image: the rollout never ends).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from redisops.adapters.kube import Kube
from redisops.cancel import CancelToken
from redisops.config import DeploymentConfig
from redisops.errors import ExitCode, Interrupted
from redisops.k8s import render_manifests
from redisops.ops.deploy import deploy, history, rollback

pytestmark = [pytest.mark.k8s, pytest.mark.slow]

NS = "llm-judge"
V1 = DeploymentConfig.model_validate({"image": "redis:7.0.15-alpine"})
V2 = DeploymentConfig.model_validate({"image": "redis:7.0.15-alpine", "config": {"maxmemory": "300mb"}})


def _cancel_once_waiting(token: CancelToken) -> Any:
    """A progress callback that cancels ``token`` from another thread once the rollout wait is under way."""

    def say(message: str) -> None:
        if message.startswith("waiting for the rollout"):
            threading.Timer(0.3, token.cancel, args=("interrupted",)).start()

    return say


def _deployment_manifest(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return next(m for m in manifests if m["kind"] == "Deployment")


def test_a_cancelled_rollout_wait_is_recorded_and_rollback_goes_past_it(kube: Any) -> None:
    with Kube.from_kubeconfig(kube.kubeconfig_path) as k:
        first = deploy(k, V1, render_manifests(V1), timeout=30, verify=False, check_version=False)
        assert first.revision == 1

        kube.set_failure(NS, "redis", "stuck", reason="ImagePullBackOff")  # the next rollout never ends
        token = CancelToken()
        with pytest.raises(Interrupted) as err:
            deploy(
                k, V2, render_manifests(V2), timeout=3600, verify=False, check_version=False,
                progress=_cancel_once_waiting(token), cancel=token,
            )  # fmt: skip
        e = err.value
        assert e.exit_code == ExitCode.INTERRUPTED
        assert e.message.startswith("interrupted while waiting for the rollout of Deployment llm-judge/redis")
        assert e.message.endswith("; the applied manifests are recorded as revision 2 (cancelled)")
        assert e.context["revision"] == 2 and e.context["status"] == "cancelled"
        assert "redisops rollback" in e.hint
        revs = history(k, V1)
        assert [(r.number, r.status) for r in revs] == [(1, "deployed"), (2, "cancelled")]
        # the record holds what was applied: the new config's Deployment (its checksum), not the old one
        assert revs[1].config_checksum != revs[0].config_checksum
        applied = k.get("Deployment", "redis", NS)
        assert applied is not None
        assert (
            revs[1].config_checksum
            == applied["spec"]["template"]["metadata"]["annotations"]["redisops.io/config-checksum"]
        )
        assert (
            _deployment_manifest(revs[1].manifests)["spec"]["template"]
            == _deployment_manifest(render_manifests(V2))["spec"]["template"]
        )

        # a rollback cancelled the same way is recorded too ("rollback to 1", cancelled)
        token = CancelToken()
        with pytest.raises(Interrupted) as err:
            rollback(k, V1, timeout=3600, verify=False, progress=_cancel_once_waiting(token), cancel=token)
        assert err.value.context["revision"] == 3
        assert [(r.number, r.what, r.status) for r in history(k, V1)][2] == (3, "rollback to 1", "cancelled")

        # healed: rollback (no --to) targets the last deployed revision before the cancelled ones
        kube.set_failure(NS, "redis", None)
        back = rollback(k, V1, timeout=30, verify=False)
        assert back.revision == 4 and back.what == "rollback to 1"
        assert [(r.number, r.status) for r in history(k, V1)][-1] == (4, "deployed")
    assert kube.errors == []
