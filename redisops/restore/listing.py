"""Reading a data dir: its listing for planning, the restore record, file digests. Reads only."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from redisops.errors import NotFoundError
from redisops.restore.plan import RECORD_NAME, UNDO_DIR_NAME, DataDirListing, EntryInfo
from redisops.restore.record import RestoreRecord

__all__ = ["files_under", "list_data_dir", "read_record", "sha256_file", "tree_digest"]


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


def read_record(data_dir: Path) -> RestoreRecord | None:
    """The record of the last restore or undo on ``data_dir``, None when there is none."""
    path = data_dir / RECORD_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return RestoreRecord.from_json(data, where=str(path))


def sha256_file(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def files_under(root: Path, rel: str) -> Iterator[tuple[Path, str]]:
    """(absolute path, path relative to the data dir) of ``root`` or every file below it."""
    if root.is_dir() and not root.is_symlink():
        for p in sorted(root.rglob("*")):
            if p.is_file():
                yield p, f"{rel}/{p.relative_to(root).as_posix()}"
    elif root.is_file():
        yield root, rel


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
                size, sha = sha256_file(p)
                out[rel] = ("file", size, sha, st.st_mode, st.st_uid, st.st_gid)
    return out
