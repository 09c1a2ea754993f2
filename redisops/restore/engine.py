"""The restore engine: file operations on a Redis data dir, nothing else (no Redis, no S3).

It runs wherever the data dir is mounted: the sandbox's directory, or a Kubernetes Job that mounts
the PVC while the Redis Deployment is scaled to 0. The order is what makes it safe:

1. **stage first**: the incoming bytes go to ``<data_dir>/.redisops-staging-<id>/`` (same filesystem,
   so installing is a rename) while SHA-256, size, the RDB structure and CRC64 and the RDB version are
   checked. Any mismatch removes the staging dir and raises :class:`VerificationError`; the data dir
   is then exactly as before.
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
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from redisops.errors import ConflictError, NotFoundError, PlatformError, RedisOpsError, VerificationError
from redisops.rdb import RdbStreamVerifier, RdbVerification, check_rdb_loadable
from redisops.restore.durable import DIR_MODE, Checker, fsync_dir, stage_file, write_atomic
from redisops.restore.plan import (
    RECORD_NAME,
    UNDO_DIR_NAME,
    DataDirListing,
    EntryInfo,
    ExpectedBackup,
    ExpectedFile,
    RestorePlan,
    TargetSettings,
    aof_manifest_line,
    new_operation_id,
    operation_folder_name,
    plan_restore,
    running_signs,
)
from redisops.restore.record import InstalledFile, MovedEntry, RestoreRecord

__all__ = [
    "ProgressCallback",
    "RestoreResult",
    "UndoResult",
    "list_data_dir",
    "parse_aof_manifest",
    "plan_restore_in",
    "read_record",
    "restore_aof_dir",
    "restore_rdb",
    "tree_digest",
    "undo_restore",
]

ProgressCallback = Callable[[str, int, int | None], None]
"""Called with (phase, bytes done, bytes total or None); phases: ``stage``."""

_BACKUP_HINT = "the backup is corrupt or incomplete; pick another backup or take a new one"


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


@dataclass(frozen=True)
class UndoResult:
    """What an undo did: which operation it reverted, what it put back, where the replaced files went."""

    operation_id: str
    undone_operation_id: str
    data_dir: Path
    undo_dir: Path
    record_path: Path
    put_back: tuple[str, ...]
    moved_aside: tuple[str, ...]


# -- listing -----------------------------------------------------------------------------------


def list_data_dir(data_dir: Path, appenddirname: str = "appendonlydir") -> DataDirListing:
    """List the data dir for planning: top-level entries, children of directories, free space,
    redis-server processes whose working directory is the data dir.

    Raises:
        NotFoundError: the data dir does not exist.
    """
    if not data_dir.is_dir():
        raise NotFoundError(f"data dir {data_dir} does not exist or is not a directory")
    entries: dict[str, EntryInfo] = {}
    with os.scandir(data_dir) as it:
        for e in it:
            if e.is_symlink():
                entries[e.name] = EntryInfo("other")
            elif e.is_dir():
                children = (
                    tuple(sorted(os.listdir(e.path))) if e.name in (appenddirname, UNDO_DIR_NAME) else ()
                )
                entries[e.name] = EntryInfo("dir", children=children)
            elif e.is_file():
                entries[e.name] = EntryInfo("file", size=e.stat().st_size)
            else:
                entries[e.name] = EntryInfo("other")
    try:
        st = os.statvfs(data_dir)
        free: int | None = st.f_bavail * st.f_frsize
    except OSError:
        free = None
    return DataDirListing(str(data_dir), entries, free, tuple(_redis_processes_in(data_dir)))


def _redis_processes_in(data_dir: Path) -> list[int]:
    """Pids of redis-server processes (visible to us) whose cwd is ``data_dir`` (Redis chdirs to ``dir``)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    real = os.path.realpath(data_dir)
    found: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if not (entry / "comm").read_text().startswith("redis"):
                continue
            if os.path.realpath(os.readlink(entry / "cwd")) == real:
                found.append(int(entry.name))
        except OSError:
            continue
    return sorted(found)


def plan_restore_in(
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    *,
    operation_id: str | None = None,
) -> RestorePlan:
    """:func:`plan_restore` on the data dir as it is now (reads the listing; changes nothing)."""
    listing = list_data_dir(data_dir, settings.appenddirname)
    return plan_restore(listing, settings, expected, now, operation_id or secrets.token_hex(4))


def read_record(data_dir: Path) -> RestoreRecord | None:
    """The record of the last restore or undo on ``data_dir``, None when there is none."""
    path = data_dir / RECORD_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return RestoreRecord.from_json(data, where=str(path))


# -- low-level file helpers --------------------------------------------------------------------


def _sha256_file(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def _files_under(root: Path, rel: str) -> Iterator[tuple[Path, str]]:
    """(absolute path, path relative to the data dir) of ``root`` or every file below it."""
    if root.is_dir() and not root.is_symlink():
        for p in sorted(root.rglob("*")):
            if p.is_file():
                yield p, f"{rel}/{p.relative_to(root).as_posix()}"
    elif root.is_file():
        yield root, rel


def _chown_tree(root: Path, uid: int | None, gid: int | None) -> None:
    if uid is None and gid is None:
        return
    u, g = (-1 if uid is None else uid), (-1 if gid is None else gid)
    os.chown(root, u, g, follow_symlinks=False)
    if root.is_dir() and not root.is_symlink():
        for p in root.rglob("*"):
            os.chown(p, u, g, follow_symlinks=False)


def tree_digest(root: Path, *, exclude: Iterable[str] = ()) -> dict[str, tuple[str, int, str, int, int, int]]:
    """Every entry below ``root`` -> (kind, size, sha256, mode, uid, gid); top-level names in ``exclude``
    are skipped. Two equal digests mean byte-for-byte equal trees (names, contents, modes, owners)."""
    skip = set(exclude)
    out: dict[str, tuple[str, int, str, int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in skip]
            filenames = [f for f in filenames if f not in skip]
        for name in sorted(dirnames) + sorted(filenames):
            p = Path(dirpath) / name
            st = p.lstat()
            rel = (rel_dir / name).as_posix()
            if p.is_symlink():
                out[rel] = ("link", 0, os.readlink(p), st.st_mode, st.st_uid, st.st_gid)
            elif p.is_dir():
                out[rel] = ("dir", 0, "", st.st_mode, st.st_uid, st.st_gid)
            else:
                size, sha = _sha256_file(p)
                out[rel] = ("file", size, sha, st.st_mode, st.st_uid, st.st_gid)
    return out


# -- staging -----------------------------------------------------------------------------------


class _RdbChecker:
    """RDB structure, CRC64, version (checked as soon as the header arrives) and key counts."""

    def __init__(self, settings: TargetSettings, expected: ExpectedBackup | None, name: str) -> None:
        # stage_file hashes the same bytes; keys are counted unless the backup's own verifier already
        # counted these exact bytes (ExpectedBackup.content_verified)
        walk = not (expected is not None and expected.content_verified)
        self._v = RdbStreamVerifier(sha256=False, count_keys=walk)
        self._settings = settings
        self._expected = expected
        self._name = name
        self._version_checked = False

    def feed(self, chunk: bytes) -> None:
        self._v.feed(chunk)
        if not self._version_checked and self._v.rdb_version is not None:
            self._version_checked = True
            version = self._v.rdb_version
            want = self._expected.rdb_version if self._expected else None
            if want is not None and version != want:
                raise VerificationError(
                    f"{self._name}: RDB version {version} differs from the backup's recorded {want}",
                    hint=_BACKUP_HINT,
                    context={"rdb_version": version, "expected": want},
                )
            check_rdb_loadable(version, self._settings.redis_version)

    def finish(self) -> RdbVerification:
        result = self._v.finish()
        counts = self._expected.key_counts if self._expected else None
        if counts is not None and result.db_key_counts is not None:
            got = {db: (c.keys, c.expires) for db, c in result.db_key_counts.items() if c.keys}
            want = {db: (c.keys, c.expires) for db, c in counts.items() if c.keys}
            if got != want:
                raise VerificationError(
                    f"{self._name}: key counts per db {got} differ from the backup's recorded {want}",
                    hint=_BACKUP_HINT,
                    context={"counts": {str(k): v for k, v in got.items()}},
                )
        return result


class _AofChecker:
    """Checks that an AOF file is a sequence of complete RESP commands (``*N`` of ``$len`` bulks),
    allowing ``#`` annotation lines; a truncated last command is refused."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._line = bytearray()
        self._skip = 0  # bulk payload bytes still to skip
        self._crlf = 2  # bytes of the CRLF after a bulk payload already matched (2: none pending)
        self._bulks_left = 0  # bulks remaining in the current command
        self._offset = 0
        self._commands = 0

    def _fail(self, what: str) -> VerificationError:
        return VerificationError(
            f"{self._name}: not a valid AOF at offset {self._offset}: {what}",
            hint=_BACKUP_HINT,
            context={"file": self._name, "offset": self._offset, "commands": self._commands},
        )

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            if self._skip:
                n = min(self._skip, len(view))
                self._skip -= n
                self._offset += n
                view = view[n:]
            elif self._crlf < 2:
                if view[0] != b"\r\n"[self._crlf]:
                    raise self._fail("a bulk string does not end with CRLF")
                self._crlf += 1
                self._offset += 1
                view = view[1:]
            else:
                idx = bytes(view[:4096]).find(b"\n")
                take = idx + 1 if idx >= 0 else min(len(view), 4096)
                self._line += view[:take]
                self._offset += take
                view = view[take:]
                if len(self._line) > 4096:
                    raise self._fail("over-long line")
                if idx >= 0:
                    line, self._line = bytes(self._line), bytearray()
                    self._parse_line(line)

    def _parse_line(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise self._fail("a line does not end with CRLF")
        body = line[:-2]
        if self._bulks_left == 0:
            if body.startswith(b"#"):
                return  # annotation (aof-timestamp-enabled)
            if not body.startswith(b"*") or not body[1:].isdigit() or int(body[1:]) < 1:
                raise self._fail(f"expected a command (*N), got {body[:20]!r}")
            self._bulks_left = int(body[1:])
            return
        if not body.startswith(b"$") or not body[1:].isdigit():
            raise self._fail(f"expected a bulk length ($N), got {body[:20]!r}")
        self._skip = int(body[1:])
        self._crlf = 0
        self._bulks_left -= 1
        if self._bulks_left == 0:
            self._commands += 1

    def finish(self) -> None:
        if self._skip or self._crlf < 2 or self._line or self._bulks_left:
            raise self._fail("the file ends in the middle of a command (truncated)")


class _BaseChecker:
    """An AOF base file: RDB (``aof-use-rdb-preamble yes``, starts with ``REDIS``) or plain AOF."""

    def __init__(self, settings: TargetSettings, name: str) -> None:
        self._settings = settings
        self._name = name
        self._head = b""
        self._inner: _RdbChecker | _AofChecker | None = None

    def feed(self, chunk: bytes) -> None:
        if self._inner is None:
            self._head += chunk
            if len(self._head) < 5:
                return
            self._start()
            data, self._head = self._head, b""
            assert self._inner is not None
            self._inner.feed(data)
            return
        self._inner.feed(chunk)

    def _start(self) -> None:
        if self._head[:5] == b"REDIS":
            self._inner = _RdbChecker(self._settings, None, self._name)
        else:
            self._inner = _AofChecker(self._name)

    def finish(self) -> RdbVerification | None:
        if self._inner is None:
            self._start()
            assert self._inner is not None
            if self._head:
                self._inner.feed(self._head)
        return self._inner.finish()


# -- the restore -------------------------------------------------------------------------------


@dataclass
class _Staged:
    files: list[InstalledFile]
    verification: RdbVerification | None
    bytes: int


def restore_rdb(
    chunks: Iterable[bytes],
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    *,
    on_progress: ProgressCallback | None = None,
    operation_id: str | None = None,
) -> RestoreResult:
    """Restore an RDB backup into ``data_dir`` in the form the target loads (AOF base or ``dump.rdb``).

    Args:
        chunks: the RDB bytes (e.g. the backup store's download iterator); consumed once.
        data_dir: the target's ``dir``; Redis must not be running on it.
        settings: the target's persistence settings, Redis version and owner.
        expected: the backup's recorded facts (``ExpectedBackup.for_rdb``).
        now: the time of the restore (names the undo folder, stamps the record).
        on_progress: called with ("stage", bytes done, total) while staging.
        operation_id: override the random id (tests, resumable Jobs).

    Raises:
        VerificationError: wrong size / sha256 / key counts, a corrupt or truncated RDB, or an RDB
            too new for ``settings.redis_version``; the data dir is left unchanged.
        ConflictError: Redis appears to be running on the data dir, or a folder name is taken.
        PlatformError: not enough free space.
    """
    if expected.kind != "rdb":
        raise ConflictError(f"backup {expected.backup_id} is an AOF backup; use restore_aof_dir")
    assert expected.sha256 is not None and expected.size is not None
    want = ExpectedFile(expected.size, expected.sha256)
    plan = plan_restore_in(data_dir, settings, expected, now, operation_id=operation_id)
    plan.raise_if_blocked()

    def stage(staging: Path, progress: Callable[[int], None]) -> _Staged:
        top = staging / plan.installed[0]
        stage_action = next(a for a in plan.actions if a.kind == "stage")
        target = data_dir / stage_action.target
        target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        checker = _RdbChecker(settings, expected, f"backup {expected.backup_id}")
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

    return _run(plan, data_dir, settings, expected, now, stage, on_progress)


def restore_aof_dir(
    files: Mapping[str, Iterable[bytes]] | Path,
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    *,
    on_progress: ProgressCallback | None = None,
    operation_id: str | None = None,
) -> RestoreResult:
    """Restore an AOF backup (a multi-part ``appendonlydir``: manifest, base, incr files) as the
    target's ``appenddirname``.

    Args:
        files: file name -> chunks (the download of each object), or a directory to copy from.
        expected: ``ExpectedBackup.for_aof`` with the size and sha256 of every file by name.
        (others as for :func:`restore_rdb`)

    Checks, before anything in the data dir changes: every file's size and sha256; the manifest
    parses and names exactly the base/incr files given (history files may be absent); the base is a
    valid RDB (CRC64, loadable by the target's version) or complete AOF; incr files are complete
    RESP commands.

    Raises:
        VerificationError, ConflictError, PlatformError: as for :func:`restore_rdb`.
        ConfigError: the target runs ``appendonly no``, or the manifest name does not match the
            target's ``appendfilename``.
    """
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
            hint=_BACKUP_HINT,
            context={"missing": missing, "unexpected": extra},
        )
    names = tuple(sorted(sources))
    listing = list_data_dir(data_dir, settings.appenddirname)
    plan = plan_restore(
        listing, settings, expected, now, operation_id or secrets.token_hex(4), aof_file_names=names
    )
    plan.raise_if_blocked()
    manifest_name = next(n for n in names if n.endswith(".manifest"))

    def stage(staging: Path, progress: Callable[[int], None]) -> _Staged:
        top = staging / plan.installed[0]
        top.mkdir(mode=DIR_MODE, parents=True)
        # the manifest first: it says which file is the base and which are incr files
        mf = expected.files[manifest_name]  # type: ignore[index]
        stage_file(sources[manifest_name], top / manifest_name, mf, _NullChecker(), manifest_name, progress)
        kinds = parse_aof_manifest((top / manifest_name).read_bytes(), manifest_name)
        listed = {n for n, k in kinds.items() if k in ("b", "i")}
        given = set(names) - {manifest_name}
        if listed - given or given - set(kinds):
            raise VerificationError(
                f"the AOF manifest lists {sorted(listed)} but the backup holds {sorted(given)}",
                hint=_BACKUP_HINT,
                context={"listed": sorted(kinds), "given": sorted(given)},
            )
        verification: RdbVerification | None = None
        staged = [
            InstalledFile(f"{plan.installed[0]}/{manifest_name}", mf.size, mf.sha256),
        ]
        total = mf.size
        for name in sorted(given):
            want = expected.files[name]  # type: ignore[index]
            checker: Checker = _BaseChecker(settings, name) if kinds.get(name) == "b" else _AofChecker(name)
            if kinds.get(name) == "h":
                checker = _NullChecker()
            result = stage_file(sources[name], top / name, want, checker, name, progress)
            if kinds.get(name) == "b":
                verification = result
            staged.append(InstalledFile(f"{plan.installed[0]}/{name}", want.size, want.sha256))
            total += want.size
        fsync_dir(top)
        return _Staged(staged, verification, total)

    return _run(plan, data_dir, settings, expected, now, stage, on_progress)


class _NullChecker:
    def feed(self, chunk: bytes) -> None:
        pass

    def finish(self) -> None:
        return None


def _read_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(size):
            yield block


def parse_aof_manifest(data: bytes, name: str) -> dict[str, str]:
    """file name -> type (b/h/i) from a Redis 7 AOF manifest (``file X seq N type T`` lines)."""
    kinds: dict[str, str] = {}
    try:
        text = data.decode()
    except UnicodeDecodeError as e:
        raise VerificationError(f"{name} is not a text AOF manifest", hint=_BACKUP_HINT) from e
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        fields = dict(zip(parts[::2], parts[1::2], strict=False))
        if len(parts) % 2 or "file" not in fields or fields.get("type") not in ("b", "h", "i"):
            raise VerificationError(
                f"{name} line {lineno} is not 'file <name> seq <n> type <b|h|i>'", hint=_BACKUP_HINT
            )
        fname = fields["file"]
        if "/" in fname or fname.startswith('"'):
            raise VerificationError(
                f"{name} line {lineno}: unsupported file name {fname!r}", hint=_BACKUP_HINT
            )
        kinds[fname] = fields["type"]
    if sum(1 for k in kinds.values() if k == "b") > 1:
        raise VerificationError(f"{name} lists more than one base file", hint=_BACKUP_HINT)
    if not any(k in ("b", "i") for k in kinds.values()):
        raise VerificationError(f"{name} lists no base or incr file", hint=_BACKUP_HINT)
    return kinds


def _run(
    plan: RestorePlan,
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    stage: Callable[[Path, Callable[[int], None]], _Staged],
    on_progress: ProgressCallback | None,
) -> RestoreResult:
    """Stage (verify), then move aside, install, chown and record; undo the moves on a failure."""
    staging = data_dir / plan.staging_dir
    total = expected.total_size
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress("stage", done, total)

    t0 = time.monotonic()
    staging.mkdir(mode=DIR_MODE)
    try:
        staged = stage(staging, progress)
        fsync_dir(staging)
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, OSError):
            raise PlatformError(
                f"restore failed while staging the backup in {data_dir}: {e}; nothing was changed",
                hint="check the data dir's filesystem (free space, permissions, disk errors), then retry",
                context={"data_dir": str(data_dir)},
            ) from e
        raise
    t1 = time.monotonic()

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
        installed=tuple(staged.files),
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
        installed=tuple(staged.files),
        moved_aside=tuple(moved),
        verification=staged.verification,
        bytes_staged=staged.bytes,
        stage_seconds=t1 - t0,
        install_seconds=t2 - t1,
        plan=plan,
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


# -- undo --------------------------------------------------------------------------------------


def undo_restore(data_dir: Path, now: datetime, *, operation_id: str | None = None) -> UndoResult:
    """Put back the files the last restore (or undo) moved aside; move the current ones into a new
    undo folder, so an undo can itself be undone.

    The entries managed by the last operation (``dump.rdb``, ``appendonlydir``) are moved into
    ``.redisops-undo/<timestamp>-<id>/`` whatever they hold now (the restored data plus what Redis
    wrote since), then the previous entries are renamed back. Ownership is kept as it was.

    Raises:
        ConflictError: no restore record, Redis appears to be running, or the undo folder is incomplete.
        ParseError: the record is damaged.
    """
    record = read_record(data_dir)
    if record is None:
        raise ConflictError(
            f"nothing to undo in {data_dir}: no restore record ({RECORD_NAME})",
            hint="undo works only after a restore made by redisops on this data dir",
            context={"data_dir": str(data_dir)},
        )
    managed = record.managed
    aof_dir = managed[1] if len(managed) > 1 else "appendonlydir"
    listing = list_data_dir(data_dir, aof_dir)
    signs = running_signs(listing, aof_dir)
    if signs:
        raise ConflictError(
            f"Redis appears to be running on {data_dir}: " + "; ".join(signs),
            hint="stop the redis-server that uses this data dir, then undo",
            context={"data_dir": str(data_dir), "signs": signs},
        )
    old_undo = data_dir / record.undo_dir
    moved_names = {m.name: m for m in record.moved_aside}
    back = {n: data_dir / m.to for n, m in moved_names.items() if (data_dir / m.to).exists()}
    if record.status == "complete" and len(back) != len(moved_names):
        missing = sorted(set(moved_names) - set(back))
        raise ConflictError(
            f"the undo folder {record.undo_dir} no longer holds {missing}",
            hint="the previous files were removed by hand; undo is not possible",
            context={"undo_dir": str(old_undo), "missing": missing},
        )
    op = new_operation_id(operation_id or secrets.token_hex(4))
    rel_undo = f"{UNDO_DIR_NAME}/{operation_folder_name(now, op)}"
    undo = data_dir / rel_undo
    if undo.exists():
        raise ConflictError(f"undo folder {rel_undo} already exists", hint="use a new operation id")
    (data_dir / UNDO_DIR_NAME).mkdir(mode=DIR_MODE, exist_ok=True)
    undo.mkdir(mode=DIR_MODE)
    previous_record = (data_dir / RECORD_NAME).read_bytes()
    write_atomic(undo / "previous-record.json", previous_record)
    aside: list[MovedEntry] = []
    for name in managed:
        current = data_dir / name
        present = current.exists() or current.is_symlink()
        # move the current entry away when something goes back in its place, or it was installed
        if present and (name in back or name not in moved_names):
            kind: Literal["file", "dir"] = "dir" if current.is_dir() else "file"
            os.rename(current, undo / name)
            aside.append(MovedEntry(name, f"{rel_undo}/{name}", kind))
    fsync_dir(undo)
    put_back: list[str] = []
    for name in managed:
        if name in back:
            os.rename(back[name], data_dir / name)
            put_back.append(name)
    fsync_dir(data_dir)
    fsync_dir(old_undo)
    installed = tuple(
        InstalledFile(rel, *_sha256_file(p))
        for name in put_back
        for p, rel in _files_under(data_dir / name, name)
    )
    new = RestoreRecord(
        operation="undo",
        operation_id=op,
        backup_id=record.backup_id,
        time=now,
        status="complete",
        form=None,
        managed=managed,
        undo_dir=rel_undo,
        moved_aside=tuple(aside),
        installed=installed,
        undoes=record.operation_id,
        extra=dict(record.extra),
    )
    write_atomic(data_dir / RECORD_NAME, new.to_json())
    write_atomic(undo / "record.json", new.to_json())
    target = record.extra.get("target")
    if isinstance(target, dict):
        uid, gid = target.get("uid"), target.get("gid")
        if isinstance(uid, int) or isinstance(gid, int):
            u = uid if isinstance(uid, int) else -1
            g = gid if isinstance(gid, int) else -1
            for p in (data_dir / RECORD_NAME, undo, undo / "record.json", undo / "previous-record.json"):
                os.chown(p, u, g, follow_symlinks=False)
    return UndoResult(
        operation_id=op,
        undone_operation_id=record.operation_id,
        data_dir=data_dir,
        undo_dir=undo,
        record_path=data_dir / RECORD_NAME,
        put_back=tuple(put_back),
        moved_aside=tuple(m.name for m in aside),
    )
