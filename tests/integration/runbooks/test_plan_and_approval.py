"""``runbook plan`` of a runbook whose checks use what a changing step produces (docs/runbooks.md's
``redisops runbook plan backup-now``), plans never pointing at ``runbook resume``, and the message of a
destructive step refused for want of an approval (no terminal to type the target's name at)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import redisops
from redisops.cli.main import app
from redisops.runbooks import Executor, read_runbook
from tests.integration.runbooks.shared import BOOKS, module_sandbox, sb

pytestmark = pytest.mark.slow  # one sandbox for the module (~10 s)

__all__ = ["module_sandbox", "sb"]  # fixtures

F = "```"

# a read step fails for real; a read step whose expect uses a changing step's result, one whose skip_if
# does, and one that uses the failed step's outcome
BOOK = f"""---
title: Plans
target: sandbox
---
{F}sh {{"name":"ping","kind":"read","expect":"stdout contains 'PONG'"}}
redis-cli -p "$REDIS_PORT" ping
{F}

{F}sh {{"name":"broken","kind":"read","expect":"stdout contains 'never-printed'"}}
echo "what the check saw"
{F}

{F}redisops {{"name":"take-backup"}}
op: backup.create
args: {{notes: planned}}
{F}

{F}redisops {{"name":"listed"}}
op: backup.list
args: {{}}
expect: result.backups[0].id == steps.take-backup.result.id
{F}

{F}sh {{"name":"after-broken","kind":"read","skip_if":"steps.broken.exit_code == 0"}}
echo should-not-run-in-a-plan
{F}

{F}sh {{"name":"set-key","skip_if":"steps.take-backup.result.id == null"}}
redis-cli -p "$REDIS_PORT" set plan:key 1
{F}
"""


def _backup_ids() -> list[str]:
    return [b.id for b in redisops.target().backup.list().backups]


def _runs(sb: Any) -> list[Path]:
    runs = Path(sb.state_dir) / "runbook-runs"
    return sorted(runs.iterdir()) if runs.is_dir() else []


def test_plan_backup_now_exits_0_and_takes_no_backup(sb: Any) -> None:
    redisops.target().run("backup.create", {"notes": "an older backup"})  # what verify/listed saw before
    before, runs_before = _backup_ids(), _runs(sb)
    runner = CliRunner()
    planned = runner.invoke(app, ["runbook", "plan", "backup-now", "-o", "json"])
    assert planned.exit_code == 0, planned.output
    out = json.loads(planned.stdout)
    steps = {s["name"]: s for s in out["steps"]}
    assert [(s["name"], s["status"]) for s in out["steps"]] == [
        ("preflight", "ok"), ("backups-before", "ok"), ("take-backup", "would-run"), ("verify", "would-run"),
        ("listed", "would-run"),
    ]  # fmt: skip
    assert steps["backups-before"]["result"]["backups"][0]["id"] == before[0]  # read steps run for real
    assert steps["verify"]["message"].startswith("would run after take-backup (would-run): its expect uses")
    assert steps["verify"]["result"] is None and out["error"] is None and out["run_dir"] is None
    assert (_backup_ids(), _runs(sb)) == (before, runs_before)  # nothing written: no backup, no run
    text = runner.invoke(app, ["runbook", "plan", "backup-now"])
    assert text.exit_code == 0 and "resume" not in text.output
    assert "would run after take-backup" in text.stdout and _backup_ids() == before


def test_a_plan_still_reports_a_read_step_that_fails_for_real(sb: Any, tmp_path: Path) -> None:
    book = tmp_path / "plans.md"
    book.write_text(BOOK)
    before = _backup_ids()
    result = Executor(read_runbook(book)).plan()
    by = {s.name: s for s in result.steps}
    assert [(s.name, s.status) for s in result.steps] == [
        ("ping", "ok"), ("broken", "failed"), ("take-backup", "would-run"), ("listed", "would-run"),
        ("after-broken", "would-run"), ("set-key", "would-run"),
    ]  # fmt: skip
    assert result.exit_code == 31 and "broken" in result.error["message"]  # type: ignore[index]
    assert by["broken"].stdout == "what the check saw\n"  # what it printed, kept for the operator
    assert "resume" not in result.error["hint"] and "plan again" in result.error["hint"]  # type: ignore[index]
    assert "after broken (failed): its skip_if uses" in by["after-broken"].message
    assert "not run or checked" in by["after-broken"].message
    # a changing step whose skip_if uses a would-run step's result: planned, its skip_if not evaluated
    assert "after take-backup (would-run): its skip_if uses" in by["set-key"].message
    assert by["set-key"].message.endswith("skip_if not evaluated here")
    assert _backup_ids() == before and result.run_dir is None
    cli = CliRunner().invoke(app, ["runbook", "plan", str(book)])
    assert cli.exit_code == 31 and "resume" not in cli.output
    assert "hint: compare the step's output with its expect attribute, then plan again" in cli.stderr


def test_a_destructive_step_without_approval_says_how_to_approve_it(sb: Any) -> None:
    redisops.target().run("backup.create", {"notes": "to restore"})
    runner = CliRunner()  # its stdin is no terminal: no one to type the target's name
    refused = runner.invoke(app, ["runbook", "run", "restore-from-backup", "--yes"])
    assert refused.exit_code == 33, refused.output
    assert (
        "step restore is destructive: pass --approve restore (or run it at a terminal and type the "
        "target's name, sandbox)" in " ".join(refused.stderr.split())  # the line as read, unwrapped
    )
    assert "'' is not" not in refused.output
    as_json = runner.invoke(app, ["runbook", "run", "restore-from-backup", "--yes", "-o", "json"])
    out = json.loads(as_json.stdout)
    assert as_json.exit_code == 33 and out["steps"][-1]["status"] == "declined"
    assert "pass --approve restore" in out["error"]["message"]
    # a wrong name typed at the prompt still says what was typed
    typed = Executor(
        read_runbook(BOOKS / "restore-from-backup.md"), yes=True, type_target=lambda step, want: "prod"
    ).run()
    assert typed.exit_code == 33 and "'prod' is not 'sandbox'" in typed.error["message"]  # type: ignore[index]
