"""The shipped runbooks (top-level runbooks/) lint clean and run end to end against the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from redisops.runbooks import Executor, lint_file, read_runbook

pytestmark = pytest.mark.slow

BOOKS = Path(__file__).resolve().parents[3] / "runbooks"


@pytest.mark.parametrize("path", sorted(BOOKS.glob("*.md")), ids=lambda p: p.name)
def test_every_runbook_lints_clean(path: Path) -> None:
    assert lint_file(path) == []


def test_backup_now_end_to_end(sandbox: Any, redis: Any) -> None:
    redis.set("some:key", "v")
    result = Executor(
        read_runbook(BOOKS / "backup-now.md"), yes=True, variables={"notes": "from the test"}
    ).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    assert list(steps) == ["preflight", "backups-before", "take-backup", "verify", "listed"]
    backup_id = steps["take-backup"].result["id"]
    assert steps["take-backup"].result["notes"] == "from the test"
    assert steps["verify"].result["loaded_key_counts"] is not None  # deep: loaded into a scratch server
    assert steps["listed"].result["backups"][0]["id"] == backup_id
    assert backup_id in result.report.read_text()  # type: ignore[union-attr]


def test_health_check_end_to_end_and_a_tripped_threshold(sandbox: Any, redis: Any) -> None:
    rb = read_runbook(BOOKS / "health-check.md")
    result = Executor(rb).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    assert [s.name for s in result.steps] == [
        "platform", "ping", "persistence", "memory", "clients", "evictions", "health-report", "slowlog"
    ]  # fmt: skip
    assert result.steps[0].result["platform"] == "sandbox" and result.steps[0].result["running"] is True
    assert "status=ok" in result.steps[3].stdout
    # memory pressure on a store that does not evict: used_memory above 90 % of maxmemory
    used = int(redis.info("memory")["used_memory"])
    redis.config_set("maxmemory-policy", "noeviction")
    redis.config_set("maxmemory", str(int(used * 1.02)))
    tripped = Executor(rb).run()
    assert (tripped.exit_code, tripped.steps[-1].name) == (31, "memory")
    assert "status=crit" in tripped.steps[-1].stdout
    relaxed = Executor(rb, variables={"memory_crit": "1.5", "memory_warn": "1.2"}).run(step="memory")
    assert relaxed.exit_code == 0 and "status=ok" in relaxed.steps[0].stdout
