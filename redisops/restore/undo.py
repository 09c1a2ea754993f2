"""Undo: put back the files the last restore (or undo) moved aside; and its plan (``--dry-run``).

An undo moves the entries the last operation manages (``dump.rdb``, ``appendonlydir``) into a new
``.redisops-undo/<timestamp>-<id>/`` folder, then renames the previous entries back, and writes a record
of the same shape as a restore's: an undo is itself undoable.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from redisops.errors import ConflictError
from redisops.restore.durable import DIR_MODE, fsync_dir, write_atomic
from redisops.restore.listing import files_under, list_data_dir, read_record, sha256_file
from redisops.restore.plan import (
    RECORD_NAME,
    UNDO_DIR_NAME,
    new_operation_id,
    operation_folder_name,
    running_signs,
)
from redisops.restore.record import InstalledFile, MovedEntry, RestoreRecord

__all__ = ["UndoResult", "undo_restore"]


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
        InstalledFile(rel, *sha256_file(p))
        for name in put_back
        for p, rel in files_under(data_dir / name, name)
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
