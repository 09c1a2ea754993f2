"""The restore engine: install a verified backup into a Redis data dir, in the form the target loads.

File-level only (no Redis, no S3): it runs on the sandbox's data dir or in a Kubernetes Job that mounts
the PVC while Redis is stopped. See docs/restore.md for why (the ``appendonly yes`` trap) and how.

Example::

    from redisops.restore import ExpectedBackup, TargetSettings, restore_rdb, undo_restore

    settings = TargetSettings(appendonly=True, redis_version="7.0.15", uid=999, gid=999)
    expected = ExpectedBackup.for_rdb("bk-1", sha256=sha, size=size, key_counts=counts)
    result = restore_rdb(chunks, Path("/data"), settings, expected, now=datetime.now(UTC))
    result.undo_dir, result.installed, result.stage_seconds

    # the same in two halves, the first beside a running Redis (it touches only its staging folder)
    staged = stage_rdb(chunks, Path("/data"), settings, expected, now, server_running=True)
    ...stop Redis...
    result = install_staged(staged)
    undo_restore(Path("/data"), now=datetime.now(UTC))      # puts the previous files back

    plan = plan_restore_in(Path("/data"), settings, expected, now)   # --dry-run
    print("\\n".join(plan.describe()))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redisops._lazy import lazy_getattr

#: public name -> module that defines it; loaded on first use (PEP 562), so a command that needs one
#: piece (the key-count rule, the record) does not load the whole engine
_EXPORTS: dict[str, str] = {
    "RECORD_NAME": "redisops.restore.plan",
    "STAGING_PREFIX": "redisops.restore.plan",
    "UNDO_DIR_NAME": "redisops.restore.plan",
    "Action": "redisops.restore.plan",
    "DataDirListing": "redisops.restore.plan",
    "EntryInfo": "redisops.restore.plan",
    "ExpectedBackup": "redisops.restore.plan",
    "ExpectedFile": "redisops.restore.plan",
    "InstalledFile": "redisops.restore.record",
    "MovedEntry": "redisops.restore.record",
    "ProgressCallback": "redisops.restore.engine",
    "RestorePlan": "redisops.restore.plan",
    "RestoreRecord": "redisops.restore.record",
    "RestoreResult": "redisops.restore.engine",
    "StagedRestore": "redisops.restore.staging",
    "TargetSettings": "redisops.restore.plan",
    "UndoPlan": "redisops.restore.undo",
    "UndoResult": "redisops.restore.engine",
    "list_data_dir": "redisops.restore.engine",
    "memory_fit": "redisops.restore.plan",
    "plan_restore": "redisops.restore.plan",
    "plan_restore_in": "redisops.restore.engine",
    "plan_undo": "redisops.restore.undo",
    "read_record": "redisops.restore.engine",
    "restore_aof_dir": "redisops.restore.engine",
    "restore_rdb": "redisops.restore.engine",
    "install_staged": "redisops.restore.engine",
    "load_staged": "redisops.restore.staging",
    "stage_aof_dir": "redisops.restore.staging",
    "stage_rdb": "redisops.restore.staging",
    "running_signs": "redisops.restore.plan",
    "tree_digest": "redisops.restore.engine",
    "undo_restore": "redisops.restore.engine",
}

__all__ = [
    "RECORD_NAME",
    "STAGING_PREFIX",
    "UNDO_DIR_NAME",
    "Action",
    "DataDirListing",
    "EntryInfo",
    "ExpectedBackup",
    "ExpectedFile",
    "InstalledFile",
    "MovedEntry",
    "ProgressCallback",
    "RestorePlan",
    "RestoreRecord",
    "RestoreResult",
    "StagedRestore",
    "TargetSettings",
    "UndoPlan",
    "UndoResult",
    "install_staged",
    "list_data_dir",
    "load_staged",
    "memory_fit",
    "plan_restore",
    "plan_restore_in",
    "plan_undo",
    "read_record",
    "restore_aof_dir",
    "restore_rdb",
    "running_signs",
    "stage_aof_dir",
    "stage_rdb",
    "tree_digest",
    "undo_restore",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from redisops.restore.engine import (
        ProgressCallback,
        RestoreResult,
        UndoResult,
        install_staged,
        list_data_dir,
        plan_restore_in,
        read_record,
        restore_aof_dir,
        restore_rdb,
        tree_digest,
        undo_restore,
    )
    from redisops.restore.plan import (
        RECORD_NAME,
        STAGING_PREFIX,
        UNDO_DIR_NAME,
        Action,
        DataDirListing,
        EntryInfo,
        ExpectedBackup,
        ExpectedFile,
        RestorePlan,
        TargetSettings,
        memory_fit,
        plan_restore,
        running_signs,
    )
    from redisops.restore.record import InstalledFile, MovedEntry, RestoreRecord
    from redisops.restore.staging import StagedRestore, load_staged, stage_aof_dir, stage_rdb
    from redisops.restore.undo import UndoPlan, plan_undo
