"""``redisops rehearse``'s one-line step summaries say sizes in human units (MiB), as the rest of the CLI,
not raw byte counts."""

from __future__ import annotations

from redisops.ops.rehearsal_books import summarize_step
from redisops.runbooks.steps import StepResult


def _ok(result: dict[str, object]) -> StepResult:
    return StepResult("s", "read", "ok", 0, result=result)


def test_the_migration_plan_summary_says_mib() -> None:
    plan = {
        "total_keys": 240,
        "dbs": {"0": {"keys": 120}, "2": {"keys": 120}},
        "copy_method": "dump-restore",
        "memory": {"projected": 3823808, "target_maxmemory": 268435456},
        "blockers": [],
    }
    text = summarize_step(_ok(plan))
    assert text == (
        "240 keys (db0 120, db2 120), copy by dump-restore, 3.6 MiB of 256.0 MiB after the copy, 0 blockers"
    )


def test_the_backup_summary_says_its_size_in_human_units() -> None:
    backup = {"id": "b1", "objects": [{"size": 52_224, "verified": True}], "key_counts": {"0": {"keys": 7}}}
    assert summarize_step(_ok(backup)) == "backup b1: 51.0 KiB, verified True, keys db0 7"
