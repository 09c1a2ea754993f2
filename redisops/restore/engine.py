"""The restore engine: file operations on a Redis data dir, nothing else (no Redis, no S3).

It runs wherever the data dir is mounted: the sandbox's directory, or a Kubernetes Job that mounts
the PVC while the Redis Deployment is scaled to 0. The order is what makes it safe:

1. **stage first** (:mod:`redisops.restore.staging`): the incoming bytes go to
   ``<data_dir>/.redisops-staging-<id>/`` (same filesystem, so installing is a rename) while SHA-256,
   size, the RDB structure and CRC64 and the RDB version are checked. Any mismatch removes the staging
   dir and raises :class:`VerificationError`; the data dir is then exactly as before. Staging touches
   nothing else, so it may run beside a running Redis (``server_running=True``); only the steps below
   (:func:`install_staged`) need it stopped.
2. **move aside**: the current ``dump.rdb`` and ``appendonlydir/`` are renamed into
   ``.redisops-undo/<timestamp>-<id>/`` (never deleted): that rename is the rollback point.
3. **install** in the form the target loads (see :mod:`redisops.restore.plan`), fsync, chown.
4. **record** what was done in ``.redisops-restore.json`` so :func:`undo_restore` can put the previous
   files back (moving the restored ones into another undo folder: an undo is itself undoable).

Example::

    settings = TargetSettings(appendonly=True, redis_version="7.0.15", uid=999, gid=999)
    expected = ExpectedBackup.for_rdb("bk-1", sha256=manifest_sha, size=manifest_size)
    result = restore_rdb(download_chunks, Path("/data"), settings, expected, now=datetime.now(UTC))
    ...
    undo_restore(Path("/data"), now=datetime.now(UTC))
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from redisops.cancel import CancelToken
from redisops.errors import ConflictError, RedisOpsError
from redisops.events import Reporter
from redisops.rdb import RdbVerification
from redisops.restore.checks import parse_aof_manifest
from redisops.restore.durable import DIR_MODE, fsync_dir, synced_seconds, write_atomic
from redisops.restore.listing import list_data_dir, read_record, tree_digest
from redisops.restore.plan import (
    RECORD_NAME,
    UNDO_DIR_NAME,
    ExpectedBackup,
    RestorePlan,
    TargetSettings,
    plan_restore,
)
from redisops.restore.record import InstalledFile, MovedEntry, RestoreRecord
from redisops.restore.staging import ProgressCallback, StagedRestore, stage_aof_dir, stage_rdb
from redisops.restore.undo import UndoResult, undo_restore

__all__ = [
    "ProgressCallback",
    "RestoreResult",
    "StagedRestore",
    "UndoResult",
    "install_staged",
    "list_data_dir",
    "parse_aof_manifest",
    "plan_restore_in",
    "read_record",
    "restore_aof_dir",
    "restore_rdb",
    "stage_aof_dir",
    "stage_rdb",
    "tree_digest",
    "undo_restore",
]


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did.

    Attributes:
        operation_id: this restore's id; ``undo_dir`` holds the files it moved aside.
        form: ``aof`` or ``rdb`` (what was installed).
        installed: the installed files with size and SHA-256.
        moved_aside: names of the entries moved into ``undo_dir``.
        verification: the RDB facts (the RDB, or the AOF's RDB base), None for a pure-AOF base.
        bytes_staged: bytes written to staging.
        stage_seconds: download + verify + write to staging (the source iterable is consumed here).
        install_seconds: move aside, rename into place, fsync, chown, record.
        fsync_seconds: of the stage and the install, the time spent waiting for fsyncs of the staged
            files, the folders and the record (the durability work a plain copy skips).
    """

    operation_id: str
    backup_id: str
    form: Literal["aof", "rdb"]
    data_dir: Path
    undo_dir: Path
    record_path: Path
    installed: tuple[InstalledFile, ...]
    moved_aside: tuple[str, ...]
    verification: RdbVerification | None
    bytes_staged: int
    stage_seconds: float
    install_seconds: float
    plan: RestorePlan
    fsync_seconds: float = 0.0

    def summary(self) -> list[str]:
        """What the restore did, as a few human lines."""
        files = ", ".join(f"{f.path} ({f.size} bytes)" for f in self.installed)
        return [
            f"installed backup {self.backup_id} into {self.data_dir} as {self.form} form: {files}",
            f"timings: download + verify {self.stage_seconds:.2f}s, install {self.install_seconds:.2f}s",
            f"the previous files ({', '.join(self.moved_aside) or 'none'}) are in {self.undo_dir}; "
            "undo with: redisops restore-data-dir --undo",
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what was done; the plan's internals are left out)."""
        return {
            "operation_id": self.operation_id,
            "backup_id": self.backup_id,
            "form": self.form,
            "data_dir": str(self.data_dir),
            "undo_dir": str(self.undo_dir),
            "record_path": str(self.record_path),
            "installed": [f.to_dict() for f in self.installed],
            "moved_aside": list(self.moved_aside),
            "bytes_staged": self.bytes_staged,
            "stage_seconds": round(self.stage_seconds, 3),
            "install_seconds": round(self.install_seconds, 3),
            "fsync_seconds": round(self.fsync_seconds, 3),
            "warnings": list(self.plan.warnings),
        }


def plan_restore_in(
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    *,
    operation_id: str | None = None,
    ignore_pids: Collection[int] = (),
) -> RestorePlan:
    """:func:`plan_restore` on the data dir as it is now (reads the listing; changes nothing).

    ``ignore_pids``: redis-server processes on the data dir that the caller stops before the real run
    (the sandbox target), so they are a step of the plan, not a blocker.
    """
    listing = list_data_dir(data_dir, settings.appenddirname)
    if ignore_pids:
        listing = replace(listing, processes=tuple(p for p in listing.processes if p not in ignore_pids))
    return plan_restore(listing, settings, expected, now, operation_id or secrets.token_hex(4))


# -- low-level file helpers --------------------------------------------------------------------


def _chown_tree(root: Path, uid: int | None, gid: int | None) -> None:
    if uid is None and gid is None:
        return
    u, g = (-1 if uid is None else uid), (-1 if gid is None else gid)
    os.chown(root, u, g, follow_symlinks=False)
    if root.is_dir() and not root.is_symlink():
        for p in root.rglob("*"):
            os.chown(p, u, g, follow_symlinks=False)


# -- the restore -------------------------------------------------------------------------------


def restore_rdb(
    chunks: Iterable[bytes],
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    *,
    on_progress: ProgressCallback | None = None,
    operation_id: str | None = None,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> RestoreResult:
    """Restore an RDB backup into ``data_dir`` in the form the target loads (AOF base or ``dump.rdb``).

    :func:`~redisops.restore.staging.stage_rdb` then :func:`install_staged`, with Redis stopped for
    both (to stage beside a running Redis, call them yourself: ``stage_rdb(..., server_running=True)``).

    Args:
        chunks: the RDB bytes (e.g. the backup store's download iterator); consumed once.
        data_dir: the target's ``dir``; Redis must not be running on it.
        settings: the target's persistence settings, Redis version and owner.
        expected: the backup's recorded facts (``ExpectedBackup.for_rdb``).
        now: the time of the restore (names the undo folder, stamps the record).
        on_progress: called with ("stage", bytes done, total) while staging.
        operation_id: override the random id (tests, resumable Jobs).
        reporter: gets the phases ``downloading`` (with byte progress of the backup's size from the
            first event) and ``installing``.
        cancel: checked after every chunk and once more just before the install (the point of no
            return); a cancellation removes the staging dir and raises
            :class:`~redisops.errors.Interrupted`: the data dir is then exactly as before.

    Raises:
        VerificationError: wrong size / sha256 / key counts, a corrupt or truncated RDB, or an RDB
            too new for ``settings.redis_version``; the data dir is left unchanged.
        ConflictError: Redis appears to be running on the data dir, or a folder name is taken.
        PlatformError: not enough free space.
    """
    staged = stage_rdb(
        chunks,
        data_dir,
        settings,
        expected,
        now,
        on_progress=on_progress,
        operation_id=operation_id,
        reporter=reporter,
        cancel=cancel,
    )
    return install_staged(staged, reporter=reporter)


def restore_aof_dir(
    files: Mapping[str, Iterable[bytes]] | Path,
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    *,
    on_progress: ProgressCallback | None = None,
    operation_id: str | None = None,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> RestoreResult:
    """Restore an AOF backup (a multi-part ``appendonlydir``: manifest, base, incr files) as the
    target's ``appenddirname``: :func:`~redisops.restore.staging.stage_aof_dir` then
    :func:`install_staged`, with Redis stopped for both.

    Args:
        files: file name -> chunks (the download of each object), or a directory to copy from.
        expected: ``ExpectedBackup.for_aof`` with the size and sha256 of every file by name.
        (others, ``reporter`` and ``cancel`` included, as for :func:`restore_rdb`)

    Checks, before anything in the data dir changes: every file's size and sha256; the manifest
    parses and names exactly the base/incr files given (history files may be absent); the base is a
    valid RDB (CRC64, loadable by the target's version) or complete AOF; incr files are complete
    RESP commands.

    Raises:
        VerificationError, ConflictError, PlatformError: as for :func:`restore_rdb`.
        ConfigError: the target runs ``appendonly no``, or the manifest name does not match the
            target's ``appendfilename``.
    """
    staged = stage_aof_dir(
        files,
        data_dir,
        settings,
        expected,
        now,
        on_progress=on_progress,
        operation_id=operation_id,
        reporter=reporter,
        cancel=cancel,
    )
    return install_staged(staged, reporter=reporter)


def install_staged(staged: StagedRestore, *, reporter: Reporter | None = None) -> RestoreResult:
    """The second half of a restore, with Redis stopped: move the current files aside (the undo
    point), rename the staged ones into place, chown, record; undo the moves on a failure.

    The install is planned again on the data dir as it is now (the server's shutdown save may have
    written files since the staging); a blocked plan (Redis still running, ...) removes the staging
    folder and raises, the data dir unchanged.
    """
    data_dir, settings, expected, now = staged.data_dir, staged.settings, staged.expected, staged.now
    t1 = time.monotonic()
    synced_at_start = synced_seconds()
    listing = list_data_dir(data_dir, settings.appenddirname)
    plan = plan_restore(
        listing,
        settings,
        expected,
        now,
        staged.plan.operation_id,
        aof_file_names=staged.aof_file_names,
        staged=True,
    )
    try:
        plan.raise_if_blocked()
    except RedisOpsError:
        staged.discard()
        raise
    staging = data_dir / plan.staging_dir
    if reporter is not None:
        reporter.phase(
            "installing", f"moving the current files aside and installing backup {expected.backup_id}"
        )

    undo_root = data_dir / UNDO_DIR_NAME
    undo = data_dir / plan.undo_dir
    top = plan.installed[0]
    previous_record = _read_optional(data_dir / RECORD_NAME)
    created_undo_root = not undo_root.exists()
    record = RestoreRecord(
        operation="restore",
        operation_id=plan.operation_id,
        backup_id=expected.backup_id,
        time=now,
        status="installing",
        form=plan.form,
        managed=settings.managed_names,
        undo_dir=plan.undo_dir,
        moved_aside=tuple(
            MovedEntry(n, f"{plan.undo_dir}/{n}", "dir" if (data_dir / n).is_dir() else "file")
            for n in plan.moved_aside
        ),
        installed=staged.files,
        extra={"target": _settings_dict(settings)},
    )
    moved: list[str] = []
    installed = False
    try:
        undo_root.mkdir(mode=DIR_MODE, exist_ok=True)
        undo.mkdir(mode=DIR_MODE)
        if previous_record is not None:
            write_atomic(undo / "previous-record.json", previous_record)
        fsync_dir(undo_root)
        write_atomic(data_dir / RECORD_NAME, record.to_json())
        for name in plan.moved_aside:
            os.rename(data_dir / name, undo / name)
            moved.append(name)
        fsync_dir(undo)
        os.rename(staging / top, data_dir / top)
        installed = True
        fsync_dir(data_dir)
        _chown_tree(data_dir / top, settings.uid, settings.gid)
        for p in (undo_root, undo, undo / "previous-record.json", data_dir / RECORD_NAME):
            _chown_path(p, settings)
        done_record = record.with_status("complete")
        write_atomic(data_dir / RECORD_NAME, done_record.to_json())
        write_atomic(undo / "record.json", done_record.to_json())
        for p in (data_dir / RECORD_NAME, undo / "record.json"):
            _chown_path(p, settings)
    except BaseException as e:
        _rollback(data_dir, staging, undo, top, moved, installed, previous_record, created_undo_root)
        if isinstance(e, RedisOpsError):
            raise
        if isinstance(e, OSError):
            raise ConflictError(
                f"restore failed while installing files in {data_dir}: {e}; the previous files were put back",
                context={"data_dir": str(data_dir)},
            ) from e
        raise
    shutil.rmtree(staging, ignore_errors=True)
    fsync_dir(data_dir)
    t2 = time.monotonic()
    return RestoreResult(
        operation_id=plan.operation_id,
        backup_id=expected.backup_id,
        form=plan.form,
        data_dir=data_dir,
        undo_dir=undo,
        record_path=data_dir / RECORD_NAME,
        installed=staged.files,
        moved_aside=tuple(moved),
        verification=staged.verification,
        bytes_staged=staged.bytes_staged,
        stage_seconds=staged.stage_seconds,
        install_seconds=t2 - t1,
        plan=plan,
        fsync_seconds=staged.fsync_seconds + synced_seconds() - synced_at_start,
    )


def _chown_path(path: Path, settings: TargetSettings) -> None:
    """chown one path we created (not what it contains: moved-aside files keep their owner)."""
    if (settings.uid is not None or settings.gid is not None) and path.exists():
        u = -1 if settings.uid is None else settings.uid
        g = -1 if settings.gid is None else settings.gid
        os.chown(path, u, g, follow_symlinks=False)


def _settings_dict(settings: TargetSettings) -> dict[str, object]:
    return {
        "appendonly": settings.appendonly,
        "appenddirname": settings.appenddirname,
        "appendfilename": settings.appendfilename,
        "dbfilename": settings.dbfilename,
        "redis_version": settings.redis_version,
        "uid": settings.uid,
        "gid": settings.gid,
    }


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _rollback(
    data_dir: Path,
    staging: Path,
    undo: Path,
    top: str,
    moved: list[str],
    installed: bool,
    previous_record: bytes | None,
    created_undo_root: bool,
) -> None:
    """Best effort: put the data dir back as it was before the failed install."""
    with contextlib.suppress(OSError):
        if installed:
            os.rename(data_dir / top, staging / top)
        for name in reversed(moved):
            os.rename(undo / name, data_dir / name)
        if previous_record is None:
            (data_dir / RECORD_NAME).unlink(missing_ok=True)
        else:
            write_atomic(data_dir / RECORD_NAME, previous_record)
        (undo / "previous-record.json").unlink(missing_ok=True)
        undo.rmdir()
        if created_undo_root:
            undo.parent.rmdir()
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        fsync_dir(data_dir)
