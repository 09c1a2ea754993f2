"""Fixtures of the TUI tests: a private sandbox, one shared by a module's tests (`sandbox_env`), and the CLI
as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REDISOPS = str(Path(sys.executable).with_name("redisops"))


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``redisops ARGS`` with this test's environment (its private state dir and audit log)."""
    env = dict(os.environ)
    return subprocess.run([REDISOPS, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def sandbox(tmp_state):
    """A private sandbox (target Redis, source Redis, S3) for the test; stopped afterwards (test_tmux)."""
    up = cli("sandbox", "up", "-o", "json")
    assert up.returncode == 0, up.stderr
    yield json.loads(up.stdout)
    cli("sandbox", "down")


@pytest.fixture(scope="module")
def shared_state(tmp_path_factory):
    """One sandbox for the module's tests (its state dir; stopped at the end)."""
    state = tmp_path_factory.mktemp("tui-sandbox")
    env = {**os.environ, "REDISOPS_STATE_DIR": str(state), "REDISOPS_AUDIT_LOG": str(state / "audit.jsonl")}
    up = subprocess.run([REDISOPS, "sandbox", "up", "-o", "json"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    yield state, json.loads(up.stdout)
    subprocess.run([REDISOPS, "sandbox", "down"], env=env, capture_output=True, text=True)


@pytest.fixture
def sandbox_env(shared_state, monkeypatch):
    state, info = shared_state
    monkeypatch.setenv("REDISOPS_STATE_DIR", str(state))
    monkeypatch.setenv("REDISOPS_AUDIT_LOG", str(state / "audit.jsonl"))
    return info
