"""The backup runbooks end to end against one sandbox (and the Kubernetes API emulator for the CronJobs):
restore-from-backup (a good restore, a refused one, and a failed check rolled back through its undo),
restore-drill, setup-automated-backups."""

from __future__ import annotations

import json
from typing import Any

import pytest

import redisops
from redisops.adapters.redis_conn import connect
from redisops.runbooks import Executor, lint_file, read_runbook
from tests.integration.runbooks.shared import BOOKS, NS, book_env, kube_env, module_sandbox, sb

pytestmark = pytest.mark.slow

__all__ = ["module_sandbox", "sb"]  # fixtures


@pytest.fixture
def redis(sb: Any) -> Any:
    c = connect(sb.target, decode_responses=True)
    yield c
    c.close()


def _seed_and_back_up(redis: Any, n: int = 40) -> str:
    """n keys, a backup of them, then one key written after the backup; returns the backup id."""
    redis.flushall()
    for i in range(n):
        redis.set(f"user:{i}", i)
    backup = redisops.target().run("backup.create", {"notes": "before the incident"})
    redis.set("written:after-backup", "1")
    return str(backup.id)


@pytest.mark.parametrize("name", ["restore-from-backup", "restore-drill", "setup-automated-backups"])
def test_the_backup_runbooks_lint_clean(name: str) -> None:
    assert lint_file(BOOKS / f"{name}.md") == []


def test_restore_from_backup_restores_the_chosen_backup(sb: Any, redis: Any) -> None:
    backup_id = _seed_and_back_up(redis)
    rb = read_runbook(BOOKS / "restore-from-backup.md")
    refused = Executor(rb, yes=True, env=book_env(), variables={"backup_id": backup_id}).run()
    last = refused.steps[-1]
    assert (refused.exit_code, last.name, last.status) == (33, "restore", "declined")
    assert redis.get("written:after-backup") == "1"  # --yes alone never approves the restore

    result = Executor(
        rb, yes=True, approve_destructive={"restore"}, env=book_env(), variables={"backup_id": backup_id}
    ).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    assert list(steps) == [
        "preflight", "backups", "describe", "verify", "restore-plan", "restore", "check", "health"
    ]  # fmt: skip
    assert steps["describe"].result["id"] == backup_id and steps["verify"].result["ok"] is True
    assert f"backup {backup_id}" in steps["restore-plan"].stdout  # the plan, printed before the change
    assert steps["restore"].result["backup_id"] == backup_id
    assert "keys after the restore: 40" in steps["check"].stdout
    check = connect(sb.target, decode_responses=True)
    assert check.dbsize() == 40 and check.get("written:after-backup") is None
    # what was replaced is in the safety backup
    safety = redisops.target().run("backup.describe", {"backup_id": steps["restore"].result["safety_backup"]})
    assert safety.to_dict()["key_counts"]["0"]["keys"] == 41
    check.close()


def test_a_failed_check_after_the_restore_is_undone(sb: Any, redis: Any) -> None:
    backup_id = _seed_and_back_up(redis, n=12)
    offered: list[list[str]] = []
    result = Executor(
        read_runbook(BOOKS / "restore-from-backup.md"),
        yes=True,
        approve_destructive={"restore", "undo-restore"},
        env=book_env(),
        variables={"backup_id": backup_id, "must_exist": "written:after-backup"},
        offer_undo=lambda steps: offered.append([s.name for s in steps]) or True,
    ).run()
    # the backup does not hold the key the application needs: the check fails, the undo puts back the data
    assert (result.status, result.exit_code) == ("failed", 30)
    assert "the key written:after-backup is missing after the restore" in result.steps[-2].stdout
    assert offered == [["undo-restore"]] and result.undone == ["undo-restore"]
    assert [(s.name, s.status) for s in result.steps][-3:] == [
        ("restore", "ok"), ("check", "failed"), ("undo-restore", "undone")
    ]  # fmt: skip
    after = connect(sb.target, decode_responses=True)
    assert after.dbsize() == 13 and after.get("written:after-backup") == "1"  # as before the restore
    after.close()


def test_restore_drill_records_a_drill_within_the_objectives(sb: Any, redis: Any) -> None:
    backup_id = _seed_and_back_up(redis, n=25)
    rb = read_runbook(BOOKS / "restore-drill.md")
    result = Executor(rb, yes=True, variables={"backup_id": backup_id}).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    drill = next(s for s in result.steps if s.name == "drill").result
    assert drill["backup_id"] == backup_id and drill["key_counts"] == {"0": 25}
    health = next(s for s in result.steps if s.name == "health").result
    assert [c["status"] for c in health["checks"] if c["name"] == "drill"] == ["ok"]
    # an objective it cannot meet fails the drill step
    strict = Executor(rb, yes=True, variables={"backup_id": backup_id, "max_rpo_seconds": "0"}).run()
    assert (strict.exit_code, strict.steps[-1].name) == (31, "drill")


def test_setup_automated_backups_applies_the_cronjobs_and_runs_the_command_once(
    sb: Any, redis: Any, kube: Any
) -> None:
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    redis.set("scheduled:key", "1")
    rb = read_runbook(BOOKS / "setup-automated-backups.md")
    result = Executor(rb, yes=True, env=kube_env(kube), variables={"context": "emu"}).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    assert list(steps) == ["render", "apply", "stored", "same-schedule", "run-once", "listed"]
    stored = kube.get("CronJob", "redis-backup", NS)
    assert stored["spec"]["schedule"] == "0 */6 * * *" and stored["spec"]["concurrencyPolicy"] == "Forbid"
    command = stored["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:5] == ["redisops", "backup", "create", "--purpose", "scheduled"]
    assert {c["metadata"]["name"] for c in kube.objects("CronJob", NS)} == {"redis-backup", "redis-drill"}
    assert "running: redisops backup create --purpose scheduled --output json" in steps["run-once"].stderr
    made = json.loads(steps["run-once"].stdout)
    assert made["purpose"] == "scheduled" and made["key_counts"]["0"]["keys"] >= 1
    assert steps["listed"].result["backups"][0]["id"] == made["id"]
    # the apply's undo removes the CronJobs again
    undo = Executor(rb, yes=True, env=kube_env(kube), variables={"context": "emu"})
    assert undo.run(step="remove-cronjobs").exit_code == 0
    assert kube.objects("CronJob", NS) == []
