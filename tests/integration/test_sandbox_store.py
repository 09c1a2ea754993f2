"""The sandbox target's backup store is the sandbox's own S3 whenever that runs — also while the
target Redis is stopped (a restore is for that case) — and never the config's default store (a real AWS
bucket named ``redisops-backups``) when it does not: then every store command fails with "the sandbox
is not running" / "the sandbox's S3 is not running" (exit 6) before any AWS call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.local import stop_pid
from redisops.ops.backup import create_rdb_backup
from redisops.ops.sandbox import sandbox_down, sandbox_status, sandbox_up
from redisops.ops.target import resolve_target

REDISOPS = str(Path(sys.executable).with_name("redisops"))


def _cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDISOPS_STATE_DIR": str(state_dir), "REDISOPS_CONFIG": ""}
    # credentials in the shell, as on an operator's laptop: a fall-back to AWS would try to use them
    env |= {"AWS_ACCESS_KEY_ID": "testing-not-a-key", "AWS_SECRET_ACCESS_KEY": "testing-not-a-secret"}
    return subprocess.run([REDISOPS, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    state = sandbox_up(tmp_path / "sandbox")
    yield state
    sandbox_down(tmp_path / "sandbox", discard_backups=True)


def test_the_store_stays_the_sandboxs_s3_while_the_target_is_stopped(sandbox: Any, tmp_path: Path) -> None:
    state_dir = tmp_path / "sandbox"
    t = resolve_target(state_dir=state_dir, env={})
    m = create_rdb_backup(t.redis, t.store())
    stop_pid(sandbox.services["target"].pid, timeout=30)
    assert sandbox_status(state_dir).services["target"].status != "running"  # type: ignore[union-attr]

    p = _cli(state_dir, "backup", "list", "-o", "json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert [b["id"] for b in json.loads(p.stdout)["backups"]] == [m.id]
    assert t.store().s3.settings.endpoint_url == sandbox.s3_url
    # a restore names what is stopped and how to start it again (not "the sandbox is not running")
    p = _cli(state_dir, "restore", "latest", "--dry-run", "-o", "json")
    assert p.returncode == 6, p.stdout + p.stderr
    err = json.loads(p.stdout)
    assert err["message"] == "the sandbox's target is not running" and "sandbox up" in err["hint"], err

    stop_pid(sandbox.services["s3"].pid, timeout=30)
    for args in (("backup", "list"), ("backup", "prune", "--keep-last", "1", "--dry-run")):
        p = _cli(state_dir, *args, "-o", "json")
        assert p.returncode == 6, p.stdout + p.stderr
        err = json.loads(p.stdout)
        assert err["message"] == "the sandbox's S3 is not running", err
        assert "sandbox up" in err["hint"]
        assert "redisops-backups" not in p.stdout + p.stderr and "AWS" not in p.stdout + p.stderr


def test_no_sandbox_at_all_is_not_found_not_aws(tmp_path: Path) -> None:
    p = _cli(tmp_path / "none", "backup", "list")
    assert p.returncode == 6, p.stdout + p.stderr
    assert "the sandbox is not running" in p.stderr
    assert "redisops-backups" not in p.stdout + p.stderr


def test_a_state_dir_that_cannot_be_created_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    p = _cli(blocker / "state", "sandbox", "up", "-o", "json")
    assert p.returncode == 2, p.stdout + p.stderr
    err = json.loads(p.stdout)
    assert err["message"].startswith("cannot create the sandbox's state dir") and "--state-dir" in err["hint"]
    assert "Traceback" not in p.stderr and "unexpected error" not in p.stdout + p.stderr
