"""migrate plan and verify on the sandbox with no --source-url: the source is the sandbox's
ElastiCache-like source, the target the sandbox target (the installed command, as a user runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from redisops.adapters.redis_conn import connect
from redisops.ops.sandbox import load_state

REDISOPS = str(Path(sys.executable).with_name("redisops"))


def _run(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDISOPS_STATE_DIR": str(state)}
    return subprocess.run([REDISOPS, *args], capture_output=True, text=True, env=env, timeout=180)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "sandbox"
    up = _run(state, "sandbox", "up")
    assert up.returncode == 0, up.stderr
    yield state
    _run(state, "sandbox", "down")


@pytest.mark.slow
def test_plan_and_verify_default_to_the_sandbox_source(sandbox: Path) -> None:
    st = load_state(sandbox)
    assert st is not None and "source" in st.services
    src = connect(st.source)
    try:
        for i in range(50):
            src.set(f"app:{i}", f"value-{i}")
        keyspace = {
            k[2:]: {"keys": v["keys"], "expires": v["expires"]} for k, v in src.info("keyspace").items()
        }
    finally:
        src.close()

    plan = _run(sandbox, "migrate", "plan", "--sample", "10", "-o", "json")
    assert plan.returncode == 0, (plan.stdout, plan.stderr)
    data = json.loads(plan.stdout)
    assert data["source"].endswith(f":{st.source.port}/0") and data["dbs"] == keyspace
    assert data["memory"]["container_limit"] == 512 * 1024 * 1024  # the sandbox rehearses the default config
    # CONFIG is blocked on the source: the value comes from the sandbox group's parameter group (AWS emulator)
    assert st.aws and data["notify_keyspace_events"] is not None
    (notify,) = [f for f in data["findings"] if f["code"].startswith("notify")]
    assert notify["code"] in ("notify.on", "notify.off")

    verify = _run(sandbox, "migrate", "verify", "--round-delay", "0", "-o", "json")
    assert verify.returncode == 22, (verify.stdout, verify.stderr)
    report = json.loads(verify.stdout)
    assert report["differences"]["missing"] >= 50  # the keys written above are on the source only
    assert {str(c["db"]): c["source_keys"] for c in report["counts"] if c["source_keys"]} == {
        db: v["keys"] for db, v in keyspace.items()
    }
