"""The first half of a restore: download, verify and stage a backup beside the live files.

Staging writes only into ``<data_dir>/.redisops-staging-<id>/`` (same filesystem as the data dir, so the
install is a rename), so it can run while Redis still serves from the data dir: a restore then stops
Redis only for the install and the start (:func:`redisops.restore.engine.install_staged`). A refusal or
a cancellation removes the staging folder: the data dir is exactly as before.

Example::

    staged = stage_rdb(chunks, data_dir, settings, expected, now, server_running=True)
    stop_redis()
    result = install_staged(staged)          # move aside, rename into place, record
    start_redis()
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from redisops.cancel import CancelToken
from redisops.errors import ConflictError, NotFoundError, PlatformError, VerificationError
from redisops.events import Reporter
from redisops.rdb import RdbVerification
from redisops.restore.checks import (
    BACKUP_HINT,
    AofChecker,
    BaseChecker,
    NullChecker,
    RdbChecker,
    parse_aof_manifest,
)
from redisops.restore.durable import DIR_MODE, Checker, fsync_dir, stage_file, synced_seconds, write_atomic
from redisops.restore.listing import list_data_dir
from redisops.restore.plan import (
    STAGING_PREFIX,
    ExpectedBackup,
    ExpectedFile,
    RestorePlan,
    TargetSettings,
    aof_manifest_line,
    plan_restore,
)
from redisops.restore.record import InstalledFile

__all__ = ["STAGED_RECORD", "ProgressCallback", "StagedRestore", "load_staged", "stage_aof_dir", "stage_rdb"]

#: the record a staging leaves in its folder, so another process (the install Job) can install it
STAGED_RECORD = "staged.json"

ProgressCallback = Callable[[str, int, int | None], None]
"""Called with (phase, bytes done, bytes total or None); phases: ``stage``."""


@dataclass(frozen=True)
class StagedRestore:
    """A backup downloaded, verified and fsynced into the staging folder, not installed yet.

    Attributes:
        plan: the staging-time plan (the install plans again once Redis is stopped).
        files: the staged files (paths relative to the data dir after the install), size, SHA-256.
        verification: the RDB facts (the RDB, or the AOF's RDB base), None for a pure-AOF base.
        aof_file_names: the AOF backup's file names (empty for an RDB backup).
    """

    plan: RestorePlan
    data_dir: Path
    settings: TargetSettings
    expected: ExpectedBackup
    now: datetime
    files: tuple[InstalledFile, ...]
    verification: RdbVerification | None
    bytes_staged: int
    stage_seconds: float
    aof_file_names: tuple[str, ...] = ()
    fsync_seconds: float = 0.0

    @property
    def staging_path(self) -> Path:
        """The staging folder in the data dir."""
        return self.data_dir / self.plan.staging_dir

    def discard(self) -> None:
        """Remove the staging folder (a cancelled or refused restore): the data dir is as before."""
        shutil.rmtree(self.staging_path, ignore_errors=True)
        fsync_dir(self.data_dir)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``restore-data-dir --stage-only`` prints it; :data:`STAGED_RECORD` holds it)."""
        return {
            "operation_id": self.plan.operation_id,
            "backup_id": self.expected.backup_id,
            "form": self.plan.form,
            "data_dir": str(self.data_dir),
            "staging_dir": str(self.staging_path),
            "now": self.now.isoformat(),
            "files": [f.to_dict() for f in self.files],
            "aof_file_names": list(self.aof_file_names),
            "bytes_staged": self.bytes_staged,
            "stage_seconds": round(self.stage_seconds, 3),
            "fsync_seconds": round(self.fsync_seconds, 3),
        }

    def summary(self) -> list[str]:
        """What was staged, as human lines."""
        files = ", ".join(f"{f.path} ({f.size} bytes)" for f in self.files)
        return [
            f"staged backup {self.expected.backup_id} in {self.staging_path} (operation "
            f"{self.plan.operation_id}): {files}; download + verify {self.stage_seconds:.2f}s",
            f"install it with Redis stopped: redisops restore-data-dir --backup {self.expected.backup_id} "
            f"--install-staged {self.plan.operation_id}",
        ]


def load_staged(
    data_dir: Path, operation_id: str, settings: TargetSettings, expected: ExpectedBackup
) -> StagedRestore:
    """The staging of operation ``operation_id`` left in ``data_dir`` by another process (the staging
    Job), ready for :func:`redisops.restore.engine.install_staged`.

    Its :data:`STAGED_RECORD` is written last, after every staged file was verified and fsynced: a
    staging without it (interrupted) is refused. The backup must be the one staged, and every staged
    file must be there with its recorded size (the hashes were checked while staging).

    Raises:
        ConflictError: nothing staged under that id, another backup staged, or a file missing or resized.
    """
    staging = data_dir / f"{STAGING_PREFIX}{operation_id}"
    try:
        doc = json.loads((staging / STAGED_RECORD).read_text())
    except (OSError, ValueError) as e:
        raise ConflictError(
            f"nothing staged to install in {staging} ({type(e).__name__}): the staging did not complete",
            hint="run the staging again (restore-data-dir --stage-only), or the whole restore",
            context={"staging_dir": str(staging)},
        ) from None
    if doc.get("backup_id") != expected.backup_id:
        raise ConflictError(
            f"{staging} holds backup {doc.get('backup_id')}, not {expected.backup_id}",
            hint="install the backup that was staged, or stage this one",
        )
    files = tuple(InstalledFile(f["path"], int(f["size"]), f["sha256"]) for f in doc["files"])
    for f in files:
        path = staging / f.path
        size = path.stat().st_size if path.is_file() else None
        if size != f.size:
            raise ConflictError(
                f"staged file {path} is {'missing' if size is None else f'{size} bytes'}, "
                f"staged as {f.size} bytes: the staging folder was changed",
                hint="remove the staging folder and restore again",
                context={"path": str(path)},
            )
    now = datetime.fromisoformat(doc["now"])
    names = tuple(doc.get("aof_file_names") or ())
    listing = list_data_dir(data_dir, settings.appenddirname)
    plan = plan_restore(listing, settings, expected, now, operation_id, aof_file_names=names, staged=True)
    return StagedRestore(
        plan=plan,
        data_dir=data_dir,
        settings=settings,
        expected=expected,
        now=now,
        files=files,
        verification=None,
        bytes_staged=int(doc["bytes_staged"]),
        stage_seconds=float(doc["stage_seconds"]),
        aof_file_names=names,
    )


@dataclass
class _Staged:
    files: list[InstalledFile]
    verification: RdbVerification | None
    bytes: int


def _plan(
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    operation_id: str | None,
    server_running: bool,
    names: tuple[str, ...] = (),
) -> RestorePlan:
    listing = list_data_dir(data_dir, settings.appenddirname)
    plan = plan_restore(
        listing,
        settings,
        expected,
        now,
        operation_id or secrets.token_hex(4),
        aof_file_names=names,
        server_running=server_running,
    )
    plan.raise_if_blocked()
    return plan


def stage_rdb(
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
    server_running: bool = False,
) -> StagedRestore:
    """Download, verify and stage an RDB backup in the form the target loads (AOF base or ``dump.rdb``).

    ``server_running``: Redis may keep running on the data dir meanwhile (its signs are not
    blockers; staging touches only its own folder). Reporting, cancellation and refusals as for
    :func:`redisops.restore.engine.restore_rdb`; nothing outside the staging folder changes.
    """
    if expected.kind != "rdb":
        raise ConflictError(f"backup {expected.backup_id} is an AOF backup; use restore_aof_dir")
    assert expected.sha256 is not None and expected.size is not None
    want = ExpectedFile(expected.size, expected.sha256)
    plan = _plan(data_dir, settings, expected, now, operation_id, server_running)

    def stage(staging: Path, progress: Callable[[int], None]) -> _Staged:
        top = staging / plan.installed[0]
        stage_action = next(a for a in plan.actions if a.kind == "stage")
        target = data_dir / stage_action.target
        target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        checker = RdbChecker(settings, expected, f"backup {expected.backup_id}")
        verification = stage_file(chunks, target, want, checker, f"backup {expected.backup_id}", progress)
        files = [InstalledFile(stage_action.target.split("/", 1)[1], want.size, want.sha256)]
        if plan.form == "aof":
            manifest = aof_manifest_line(settings.appendfilename).encode()
            m_action = next(a for a in plan.actions if a.kind == "write_manifest")
            write_atomic(data_dir / m_action.target, manifest)
            files.append(
                InstalledFile(
                    m_action.target.split("/", 1)[1], len(manifest), hashlib.sha256(manifest).hexdigest()
                )
            )
            fsync_dir(top)
        return _Staged(files, verification, want.size)

    return _stage(plan, data_dir, settings, expected, now, stage, on_progress, reporter, cancel)


def stage_aof_dir(
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
    server_running: bool = False,
) -> StagedRestore:
    """Download, verify and stage an AOF backup (see :func:`redisops.restore.engine.restore_aof_dir`
    for the checks; ``server_running`` as for :func:`stage_rdb`)."""
    if expected.kind != "aof" or expected.files is None:
        raise ConflictError(f"backup {expected.backup_id} is an RDB backup; use restore_rdb")
    sources: Mapping[str, Iterable[bytes]]
    if isinstance(files, Path):
        if not files.is_dir():
            raise NotFoundError(f"AOF source directory {files} does not exist")
        sources = {p.name: _read_chunks(p) for p in sorted(files.iterdir()) if p.is_file()}
    else:
        sources = files
    extra = sorted(set(sources) - set(expected.files))
    missing = sorted(set(expected.files) - set(sources))
    if extra or missing:
        raise VerificationError(
            "the AOF files given do not match the backup's file list "
            f"(missing {missing}, unexpected {extra})",
            hint=BACKUP_HINT,
            context={"missing": missing, "unexpected": extra},
        )
    names = tuple(sorted(sources))
    plan = _plan(data_dir, settings, expected, now, operation_id, server_running, names)
    manifest_name = next(n for n in names if n.endswith(".manifest"))
    expected_files = expected.files

    def stage(staging: Path, progress: Callable[[int], None]) -> _Staged:
        top = staging / plan.installed[0]
        top.mkdir(mode=DIR_MODE, parents=True)
        # the manifest first: it says which file is the base and which are incr files
        mf = expected_files[manifest_name]
        stage_file(sources[manifest_name], top / manifest_name, mf, NullChecker(), manifest_name, progress)
        kinds = parse_aof_manifest((top / manifest_name).read_bytes(), manifest_name)
        listed = {n for n, k in kinds.items() if k in ("b", "i")}
        given = set(names) - {manifest_name}
        if listed - given or given - set(kinds):
            raise VerificationError(
                f"the AOF manifest lists {sorted(listed)} but the backup holds {sorted(given)}",
                hint=BACKUP_HINT,
                context={"listed": sorted(kinds), "given": sorted(given)},
            )
        verification: RdbVerification | None = None
        staged = [InstalledFile(f"{plan.installed[0]}/{manifest_name}", mf.size, mf.sha256)]
        total = mf.size
        for name in sorted(given):
            want = expected_files[name]
            checker: Checker = BaseChecker(settings, name) if kinds.get(name) == "b" else AofChecker(name)
            if kinds.get(name) == "h":
                checker = NullChecker()
            result = stage_file(sources[name], top / name, want, checker, name, progress)
            if kinds.get(name) == "b":
                verification = result
            staged.append(InstalledFile(f"{plan.installed[0]}/{name}", want.size, want.sha256))
            total += want.size
        fsync_dir(top)
        return _Staged(staged, verification, total)

    return _stage(plan, data_dir, settings, expected, now, stage, on_progress, reporter, cancel, names)


def _read_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(size):
            yield block


def _stage(
    plan: RestorePlan,
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    stage: Callable[[Path, Callable[[int], None]], _Staged],
    on_progress: ProgressCallback | None,
    reporter: Reporter | None,
    cancel: CancelToken | None,
    names: tuple[str, ...] = (),
) -> StagedRestore:
    """Run ``stage`` into the staging folder with progress and cancel checks; remove it on any failure."""
    staging = data_dir / plan.staging_dir
    total = expected.total_size
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress("stage", done, total)
        if reporter is not None:
            reporter.progress(done, total, unit="bytes")
        if cancel is not None:
            cancel.check("while downloading the backup")

    t0 = time.monotonic()
    if cancel is not None:
        cancel.check("before the download")
    if reporter is not None:
        reporter.phase(
            "downloading",
            f"downloading and verifying backup {expected.backup_id} ({total} bytes) into staging",
        )
        reporter.progress(0, total, unit="bytes")
    staging.mkdir(mode=DIR_MODE)
    synced_at_start = synced_seconds()
    try:
        staged = stage(staging, progress)
        result = StagedRestore(
            plan=plan,
            data_dir=data_dir,
            settings=settings,
            expected=expected,
            now=now,
            files=tuple(staged.files),
            verification=staged.verification,
            bytes_staged=staged.bytes,
            stage_seconds=time.monotonic() - t0,
            aof_file_names=names,
        )
        # last: its presence says every staged file is verified and durable (another process installs)
        write_atomic(staging / STAGED_RECORD, json.dumps(result.to_dict()).encode())
        result = dataclasses.replace(result, fsync_seconds=synced_seconds() - synced_at_start)
        if cancel is not None:
            cancel.check("before the install")  # the last moment at which nothing has changed
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, OSError):
            raise PlatformError(
                f"restore failed while staging the backup in {data_dir}: {e}; nothing was changed",
                hint="check the data dir's filesystem (free space, permissions, disk errors), then retry",
                context={"data_dir": str(data_dir)},
            ) from e
        raise
    return result
