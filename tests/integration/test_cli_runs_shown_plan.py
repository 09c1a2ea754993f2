"""The run does the plan that was shown and confirmed: ``Target.run(plan=)`` hands it to the catalogue,
and an interactive ``redisops restore`` (a terminal answering the question) plans once and restores
under the plan it printed, not a new one.

A restore plan names its operation id (the staging and undo folders); a plan computed again gets a new
one, so the id in the audit line and in the result tells which plan ran. Real redis-server processes (a
private sandbox with its moto S3), the CLI as a subprocess on a pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redisops.errors import InvalidArgument
from redisops.ops.backup import create_rdb_backup
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up
from redisops.ops.target import resolve_target

SPEC = DatasetSpec(keys_per_db=30, dbs=(0,), value_bytes=64, elements=2, ttl_fraction=0)
REDISOPS = str(Path(sys.executable).with_name("redisops"))


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    state = sandbox_up(tmp_path / "sandbox")
    yield state
    sandbox_down(tmp_path / "sandbox", discard_backups=True)


def _audit() -> list[dict[str, Any]]:
    log = Path(os.environ["REDISOPS_AUDIT_LOG"])
    text = log.read_text() if log.exists() else ""
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def test_target_run_does_the_plan_it_is_given(redis_server: Any, sandbox: SandboxState) -> None:
    t = resolve_target(state_dir=sandbox.state_dir, env={})
    populate(redis_server.endpoint, SPEC, seed=41)
    create_rdb_backup(redis_server.endpoint, t.store())
    shown = t.plan("restore.apply", backup_id="latest")
    assert not shown.blocked
    with pytest.raises(InvalidArgument, match=r"plan given is of restore\.apply"):
        t.run("restore.undo", confirm=True, plan=shown)
    res = t.run("restore.apply", backup_id="latest", confirm=True, plan=shown)
    assert res.operation_id == shown.details["operation_id"]
    ran = [x for x in _audit() if x["op"] == "restore.apply"]
    assert len(ran) == 1 and ran[0]["outcome"] == "ok"
    assert ran[0]["plan"] == json.loads(json.dumps(shown.to_dict()))  # the very plan, not a new one


def _interactive(state_dir: Path, *args: str, answer: str) -> subprocess.CompletedProcess[str]:
    """``redisops *args`` with its stdin on a pseudo-terminal that types ``answer``."""
    master, slave = os.openpty()
    try:
        os.write(master, answer.encode())
        env = {**os.environ, "REDISOPS_STATE_DIR": str(state_dir), "REDISOPS_CONFIG": "", "COLUMNS": "200"}
        return subprocess.run(
            [REDISOPS, *args],
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        )
    finally:
        os.close(slave)
        os.close(master)


def test_interactive_restore_runs_the_plan_it_printed(redis_server: Any, sandbox: SandboxState) -> None:
    t = resolve_target(state_dir=sandbox.state_dir, env={})
    populate(redis_server.endpoint, SPEC, seed=42)
    m = create_rdb_backup(redis_server.endpoint, t.store())

    declined = _interactive(sandbox.state_dir, "restore", m.id, answer="n\n")
    assert declined.returncode == 10, declined.stdout + declined.stderr
    assert _audit() == []  # a plan shown and declined runs nothing

    p = _interactive(sandbox.state_dir, "restore", m.id, answer="y\n")
    assert p.returncode == 0, p.stdout + p.stderr
    printed = set(re.findall(r"operation ([0-9a-z]{6,})", p.stdout))
    (line,) = _audit()
    planned = line["plan"]["details"]["operation_id"]
    # the id the printed plan named is the one the run used (a second plan would have drawn a new one)
    assert planned in printed, p.stdout
    assert line["outcome"] == "ok" and line["result"]["operation_id"] == planned
    assert line["plan"]["steps"] and all(step in p.stdout for step in line["plan"]["steps"])
