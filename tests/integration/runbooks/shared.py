"""Fixtures for the shipped runbooks' tests: one sandbox per test module (starting one takes ~10 s), the
environment a runbook's shell steps need (the venv's ``redisops`` on PATH), and the Redis deployment
the incident runbooks look at on the Kubernetes API emulator.

A module opts in with ``from tests.integration.runbooks.shared import module_sandbox, sb`` (pytest finds
fixtures imported into a test module).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up

BOOKS = Path(__file__).resolve().parents[3] / "runbooks"
NS = "llm-judge"
VENV_BIN = str(Path(sys.executable).parent)


@pytest.fixture(scope="module")
def module_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """The local sandbox, up for the whole module in its own state dir."""
    state_dir = tmp_path_factory.mktemp("sandbox") / "state"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDISOPS_STATE_DIR", str(state_dir))
        mp.setenv("REDISOPS_AUDIT_LOG", str(state_dir.parent / "audit.jsonl"))
        state = sandbox_up(state_dir)
        try:
            yield state
        finally:
            sandbox_down(state_dir, discard_backups=True)


@pytest.fixture
def sb(module_sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch) -> SandboxState:
    """The module's sandbox as this test's default target (REDISOPS_STATE_DIR points at it)."""
    monkeypatch.setenv("REDISOPS_STATE_DIR", module_sandbox.state_dir)
    return module_sandbox


def book_env(**extra: str) -> dict[str, str]:
    """The environment for a runbook's steps: this process's, with the venv's bin first on PATH."""
    env = dict(os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def kube_env(kube: Any, **extra: str) -> dict[str, str]:
    """:func:`book_env` with KUBECONFIG pointing at the emulator (context ``emu``)."""
    return book_env(KUBECONFIG=str(kube.kubeconfig_path), **extra)


def deploy_redis(kube: Any, **config: Any) -> list[dict[str, Any]]:
    """Create the rendered namespace, PVC, ConfigMap, Deployment and Service on the emulator (what
    ``redisops deploy`` would have applied) and return the rendered objects."""
    from redisops.config import DeploymentConfig
    from redisops.k8s import render_manifests

    objs = render_manifests(DeploymentConfig(image="redis:7.0.15-alpine", **config))
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for obj in objs:
        if obj["kind"] in ("PersistentVolumeClaim", "ConfigMap", "Deployment", "Service"):
            kube.create(obj)
    return objs
