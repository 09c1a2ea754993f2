"""Fixtures of the TUI tests: a private sandbox and the CLI as a subprocess."""

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
    """A private sandbox (target Redis, source Redis, S3) for the test; stopped afterwards."""
    up = cli("sandbox", "up", "-o", "json")
    assert up.returncode == 0, up.stderr
    yield json.loads(up.stdout)
    cli("sandbox", "down")
