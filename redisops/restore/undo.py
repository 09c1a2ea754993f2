"""Undo: put back the files the last restore (or undo) moved aside; and its plan (``--dry-run``).

An undo moves the entries the last operation manages (``dump.rdb``, ``appendonlydir``) into a new
``.redisops-undo/<timestamp>-<id>/`` folder, then renames the previous entries back, and writes a record
of the same shape as a restore's: an undo is itself undoable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from redisops.errors import ConflictError, RedisOpsError
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

__all__ = ["UndoPlan", "UndoResult", "plan_undo", "undo_restore"]


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

    def summary(self) -> list[str]:
        """What the undo did, as human lines."""
        return [
            f"undid operation {self.undone_operation_id} in {self.data_dir}: put back "
            f"{', '.join(self.put_back) or 'nothing'}",
            f"the replaced entries ({', '.join(self.moved_aside) or 'none'}) are in {self.undo_dir}; "
            "undo again to go back to them",
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "operation_id": self.operation_id,
            "undid": self.undone_operation_id,
            "data_dir": str(self.data_dir),
            "undo_dir": str(self.undo_dir),
            "record_path": str(self.record_path),
            "put_back": list(self.put_back),
            "moved_aside": list(self.moved_aside),
        }


@dataclass(frozen=True)
class UndoPlan:
    """What an undo would do, decided without changing anything (the ``--dry-run`` answer).

    Attributes:
        undoes: the operation id of the restore (or undo) it reverts; None when there is none.
        backup_id: the backup that operation installed.
        undo_dir: where the current entries would go (relative to the data dir).
        move_aside: current entries that would be moved into ``undo_dir``.
        put_back: name -> the moved-aside path (relative) that would be renamed back.
        blockers: reasons the undo would be refused; empty when it can run.
    """

    data_dir: str
    operation_id: str
    undoes: str | None
    backup_id: str | None
    undo_dir: str
    move_aside: tuple[str, ...] = ()
    put_back: Mapping[str, str] = field(default_factory=dict)
    blockers: tuple[str, ...] = ()
    _errors: tuple[RedisOpsError, ...] = field(default=(), repr=False, compare=False)

    @property
    def blocked(self) -> bool:
        """True when the real undo would refuse."""
        return bool(self.blockers)

    def describe(self) -> list[str]:
        """The plan as lines (for ``--dry-run``)."""
        if self.undoes is None:
            return [f"BLOCKED: {b}" for b in self.blockers]
        lines = [f"undo operation {self.undoes} (backup {self.backup_id}) in {self.data_dir}"]
        lines += [f"  move_aside      {n} -> {self.undo_dir}/{n}" for n in self.move_aside]
        lines += [f"  put_back        {src} -> {n}" for n, src in self.put_back.items()]
        lines.append(f"  write_record    {RECORD_NAME}  (operation undo {self.operation_id})")
        lines += [f"  BLOCKED: {b}" for b in self.blockers]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dry_run": True,
            "data_dir": self.data_dir,
            "operation_id": self.operation_id,
            "undoes": self.undoes,
            "backup_id": self.backup_id,
            "undo_dir": self.undo_dir,
            "move_aside": list(self.move_aside),
            "put_back": dict(self.put_back),
            "blocked": self.blocked,
            "blockers": list(self.blockers),
            "plan": self.describe(),
        }

    def raise_if_blocked(self) -> None:
        """Raise the first blocker's error (ConflictError)."""
        if self._errors:
            raise self._errors[0]


def plan_undo(
    data_dir: Path, now: datetime, *, operation_id: str | None = None, ignore_pids: Collection[int] = ()
) -> UndoPlan:
    """What :func:`undo_restore` would do on ``data_dir`` now; reads only.

    ``ignore_pids``: redis-server processes on the data dir that are not blockers because the caller
    stops them first (the sandbox undo stops its target); temp files of a save in progress still are.

    Raises:
        ParseError: the record is damaged.
    """
    op = new_operation_id(operation_id or secrets.token_hex(4))
    rel_undo = f"{UNDO_DIR_NAME}/{operation_folder_name(now, op)}"
    record = read_record(data_dir)
    if record is None:
        err = ConflictError(
            f"nothing to undo in {data_dir}: no restore record ({RECORD_NAME})",
            hint="undo works only after a restore made by redisops on this data dir",
            context={"data_dir": str(data_dir)},
        )
        return UndoPlan(str(data_dir), op, None, None, rel_undo, blockers=(err.message,), _errors=(err,))
    errors: list[RedisOpsError] = []
    managed = record.managed
    aof_dir = managed[1] if len(managed) > 1 else "appendonlydir"
    listing = list_data_dir(data_dir, aof_dir)
    if ignore_pids:
        listing = replace(listing, processes=tuple(p for p in listing.processes if p not in ignore_pids))
    signs = running_signs(listing, aof_dir)
    if signs:
        errors.append(
            ConflictError(
                f"Redis appears to be running on {data_dir}: " + "; ".join(signs),
                hint="stop the redis-server that uses this data dir, then undo",
                context={"data_dir": str(data_dir), "signs": signs},
            )
        )
    moved_names = {m.name: m for m in record.moved_aside}
    back = {n: m.to for n, m in moved_names.items() if (data_dir / m.to).exists()}
    if record.status == "complete" and len(back) != len(moved_names):
        missing = sorted(set(moved_names) - set(back))
        errors.append(
            ConflictError(
                f"the undo folder {record.undo_dir} no longer holds {missing}",
                hint="the previous files were removed by hand; undo is not possible",
                context={"undo_dir": str(data_dir / record.undo_dir), "missing": missing},
            )
        )
    if (data_dir / rel_undo).exists():
        errors.append(ConflictError(f"undo folder {rel_undo} already exists", hint="use a new operation id"))
    aside = []
    for name in managed:
        current = data_dir / name
        present = current.exists() or current.is_symlink()
        # move the current entry away when something goes back in its place, or it was installed
        if present and (name in back or name not in moved_names):
            aside.append(name)
    return UndoPlan(
        str(data_dir),
        op,
        record.operation_id,
        record.backup_id,
        rel_undo,
        move_aside=tuple(aside),
        put_back={n: back[n] for n in managed if n in back},
        blockers=tuple(e.message for e in errors),
        _errors=tuple(errors),
    )


def undo_restore(data_dir: Path, now: datetime, *, operation_id: str | None = None) -> UndoResult:
    """Put back the files the last restore (or undo) moved aside; move the current ones into a new
    undo folder, so an undo can itself be undone.

    The entries managed by the last operation (``dump.rdb``, ``appendonlydir``) are moved into
    ``.redisops-undo/<timestamp>-<id>/`` whatever they hold now (the restored data plus what Redis
    wrote since), then the previous entries are renamed back. Ownership is kept as it was. It does
    exactly what :func:`plan_undo` describes.

    Raises:
        ConflictError: no restore record, Redis appears to be running, or the undo folder is incomplete.
        ParseError: the record is damaged.
    """
    plan = plan_undo(data_dir, now, operation_id=operation_id)
    plan.raise_if_blocked()
    record = read_record(data_dir)
    assert record is not None
    managed = record.managed
    op = plan.operation_id
    rel_undo = plan.undo_dir
    old_undo = data_dir / record.undo_dir
    back = {n: data_dir / rel for n, rel in plan.put_back.items()}
    undo = data_dir / rel_undo
    (data_dir / UNDO_DIR_NAME).mkdir(mode=DIR_MODE, exist_ok=True)
    undo.mkdir(mode=DIR_MODE)
    previous_record = (data_dir / RECORD_NAME).read_bytes()
    write_atomic(undo / "previous-record.json", previous_record)
    aside: list[MovedEntry] = []
    for name in plan.move_aside:
        current = data_dir / name
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
