"""Issue 13: ``redisops rehearse`` against a sandbox started with a password (``sandbox up
--password-file F``): every step (its own, and every step of the runbooks it runs) logs in with the
resolved target's credentials (the state's password file), the rehearsal passes, and the password
shows in no output, the audit log or the state dir (the runbooks' journals, reports and state too).
The main job's steps are checked here as well (every check of the rehearsal, readable details, the
runbooks' reports); the rehearsal on a sandbox without auth runs in test_cli_json.py.

Real processes: the installed ``redisops`` command against a sandbox in a private state dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REDISOPS = str(Path(sys.executable).with_name("redisops"))
SECRET = 'Rehearse-S3cret "q" 99'


@pytest.mark.slow
def test_rehearse_on_a_password_protected_sandbox(tmp_path: Path) -> None:
    state, audit, pw = tmp_path / "state", tmp_path / "audit.jsonl", tmp_path / "redis.pw"
    pw.write_text(SECRET + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDISCLI_AUTH", "REDIS_PASSWORD")}
    env |= {"REDISOPS_STATE_DIR": str(state), "REDISOPS_AUDIT_LOG": str(audit)}
    seen: list[str] = []

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([REDISOPS, *args], capture_output=True, text=True, env=env, timeout=300)
        seen.extend((proc.stdout, proc.stderr))
        return proc

    try:
        up = run("sandbox", "up", "--password-file", str(pw), "-o", "json")
        assert up.returncode == 0, up.stderr
        text = run("rehearse")
        assert text.returncode == 0, text.stdout + text.stderr
        assert "rehearsal passed" in text.stdout
        # a second run over the same sandbox: the first left it ready (its rollback runbook pointed
        # AppConfig back at the source; the copy skips the keys already there)
        out = run("rehearse", "-o", "json")
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["ok"] is True and all(s["ok"] for s in report["steps"])
        assert [(b["name"], b["exit_code"]) for b in report["runbooks"]] == [
            ("migrate-elasticache-to-k8s", 0), ("backup-now", 0), ("health-check", 0),
            ("restore-from-backup", 0), ("rollback-to-elasticache", 0),
        ]  # fmt: skip
        steps = {s["name"]: s for s in report["steps"]}
        # nothing the rehearsal checked before the runbooks is lost: each check is a step of a runbook now
        for name in (
            "source behaves like ElastiCache",  # the rehearsal's own check
            "migrate-elasticache-to-k8s: target-config",  # the target runs the config's persistence settings
            "migrate-elasticache-to-k8s: lint",
            "migrate-elasticache-to-k8s: plan",
            "migrate-elasticache-to-k8s: copy",
            "migrate-elasticache-to-k8s: verify",
            "migrate-elasticache-to-k8s: cutover",
            "migrate-elasticache-to-k8s: verify-after",
            "backup-now: take-backup",  # the backup streamed to the local S3
            "backup-now: verify",  # re-read and loaded into a scratch server (deep)
            "backup-now: listed",
            "backup-now: key counts match the live keyspace",  # the rehearsal's own check after the runbook
            "health-check: health-report",
            "restore-from-backup: restore",
            "restore-from-backup: check",
            "rollback-to-elasticache: rollback",
        ):
            assert name in steps, name
        assert all(Path(b["report"]).read_text().strip() for b in report["runbooks"])
        # the step details are sentences for people, not Python reprs of dicts
        assert not [s["detail"] for s in report["steps"] if "{" in s["detail"] or "':" in s["detail"]]
        assert "0 differences" in steps["migrate-elasticache-to-k8s: verify-after"]["detail"]
        assert "restored" in steps["restore-from-backup: restore"]["detail"]
        # the runbooks' journals and reports are in the state dir: scanned below like every file there
        assert all(Path(b["journal"]).is_relative_to(state) for b in report["runbooks"])
    finally:
        run("sandbox", "down", "--discard-backups")
    for text_seen in seen:
        assert SECRET not in text_seen
    for path in [audit, *(p for p in state.rglob("*") if p.is_file())]:
        assert SECRET.encode() not in path.read_bytes(), path
