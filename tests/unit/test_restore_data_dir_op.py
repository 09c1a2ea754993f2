"""``restore.data_dir``: the in-cluster restore engine as a catalogue operation (no target). Its plan
changes nothing, its combinations are checked before anything is read, it needs a confirmation, and
a run leaves its audit line; the backup types and id checks the CLI uses come from ``api_backup``.

A real data dir in tmp (no S3 needed: the undo and adopt halves; the backup half runs in
tests/integration/test_restore_ops.py and test_restore_staged_cli.py through the CLI).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from redisops.errors import AbortedError, ConfigError, PlanBlocked
from redisops.ops import api_backup
from redisops.ops.registry import catalogue


def _audit() -> list[dict[str, object]]:
    log = Path(os.environ["REDISOPS_AUDIT_LOG"])
    return [json.loads(x) for x in log.read_text().splitlines() if x.strip()] if log.exists() else []


def test_plan_check_confirm_and_run(tmp_path: Path) -> None:
    cat = catalogue()
    assert cat.get("restore.data_dir").kind == "destructive"
    data = tmp_path / "pvc"
    data.mkdir()
    (data / "keep.txt").write_text("untouched")

    undo = cat.plan("restore.data_dir", {"undo": True, "data_dir": str(data)}, target=None)
    assert undo.blocked and "nothing to undo" in undo.blockers[0]
    with pytest.raises(PlanBlocked, match="nothing to undo"):
        cat.invoke("restore.data_dir", {"undo": True, "data_dir": str(data)}, target=None, confirm=True)

    for bad in ({"undo": True, "adopt": True}, {}, {"adopt": True, "stage_only": True}):
        with pytest.raises(ConfigError):
            cat.plan("restore.data_dir", {"data_dir": str(data), **bad}, target=None)
    both = {"backup": "latest", "stage_only": True, "install_staged": "op1"}
    with pytest.raises(ConfigError, match="not both"):
        cat.plan("restore.data_dir", {"data_dir": str(data), **both}, target=None)

    staged = cat.plan(
        "restore.data_dir", {"backup": "latest", "stage_only": True, "data_dir": str(data)}, target=None
    )
    assert (
        not staged.blocked and "staging folder" in staged.steps[0] and staged.details["backup_id"] == "latest"
    )

    adopt = {"adopt": True, "data_dir": str(data)}
    with pytest.raises(AbortedError, match="confirmation"):
        cat.invoke("restore.data_dir", adopt, target=None)
    done = cat.invoke("restore.data_dir", adopt, target=None, confirm=True)
    assert done.action == "nothing to do"  # no dump.rdb to adopt
    assert sorted(p.name for p in data.iterdir()) == ["keep.txt"]
    lines = [x for x in _audit() if x["op"] == "restore.data_dir"]
    assert [x["outcome"] for x in lines] == ["blocked", "ok"]


def test_api_backup_re_exports_what_the_cli_renders() -> None:
    from redisops.backup import BackupStore, Manifest, RetentionPlan
    from redisops.backup.layout import check_source_name, is_backup_id

    assert api_backup.BackupStore is BackupStore and api_backup.Manifest is Manifest
    assert api_backup.RetentionPlan is RetentionPlan
    assert api_backup.check_source_name is check_source_name and api_backup.is_backup_id is is_backup_id
    assert all(getattr(api_backup, name) is not None for name in api_backup.__all__)
    with pytest.raises(AttributeError):
        _ = api_backup.NoSuchThing
