"""A sandbox per test (its own state dir), and a helper that writes runbooks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.redis_conn import connect
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up


@pytest.fixture
def sandbox(tmp_state: Path) -> Iterator[SandboxState]:
    """The local sandbox, up in this test's REDISOPS_STATE_DIR."""
    state = sandbox_up(tmp_state)
    yield state
    sandbox_down(tmp_state, discard_backups=True)


@pytest.fixture
def redis(sandbox: SandboxState) -> Iterator[Any]:
    """A client of the sandbox's target Redis."""
    c = connect(sandbox.target, decode_responses=True)
    yield c
    c.close()


@pytest.fixture
def write(tmp_path: Path) -> Any:
    """``write(text, name="rb.md")`` -> the path of a runbook file in the test's tmp dir."""

    def _write(text: str, name: str = "rb.md") -> Path:
        p = tmp_path / "books" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    return _write
