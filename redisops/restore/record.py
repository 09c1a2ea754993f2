"""The restore record: what the last restore (or undo) did to a data dir, as JSON.

``<data_dir>/.redisops-restore.json`` describes the LAST operation on the data dir; a copy is kept in
that operation's undo folder as ``record.json`` (the history). Both a restore and an undo have the
same shape, which is what makes an undo itself undoable::

    {
      "format": 1,
      "operation": "restore",            # or "undo"
      "operation_id": "1a2b3c4d",
      "backup_id": "2025-01-01T00-00-00Z-abcd",
      "time": "2025-01-01T12:00:00+00:00",
      "status": "complete",              # "installing" while the renames run
      "form": "aof",                     # what was installed: "aof" (AOF dir) or "rdb" (dump.rdb)
      "managed": ["dump.rdb", "appendonlydir"],
      "undo_dir": ".redisops-undo/20250101T120000Z-1a2b3c4d",
      "moved_aside": [{"name": "dump.rdb", "to": ".redisops-undo/.../dump.rdb", "kind": "file"}],
      "installed": [{"path": "appendonlydir/appendonly.aof.1.base.rdb", "size": 123, "sha256": "..."}],
      "undoes": null                     # for an undo: the operation id it reverted
    }

Paths are relative to the data dir, so the record stays valid when the volume is mounted elsewhere
(a restore Job and the Redis pod mount the same PVC at different paths).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from redisops.errors import ParseError

__all__ = ["RECORD_FORMAT", "InstalledFile", "MovedEntry", "RestoreRecord"]

RECORD_FORMAT = 1


@dataclass(frozen=True)
class MovedEntry:
    """An entry moved out of the way: its name in the data dir, where it went, file or dir."""

    name: str
    to: str
    kind: Literal["file", "dir"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "to": self.to, "kind": self.kind}


@dataclass(frozen=True)
class InstalledFile:
    """A file put in place: path relative to the data dir, size and SHA-256 at install time."""

    path: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class RestoreRecord:
    """One restore or undo on a data dir (see the module docstring for the JSON form)."""

    operation: Literal["restore", "undo"]
    operation_id: str
    backup_id: str | None
    time: datetime
    status: Literal["installing", "complete"]
    form: Literal["aof", "rdb"] | None
    managed: tuple[str, ...]
    undo_dir: str
    moved_aside: tuple[MovedEntry, ...] = ()
    installed: tuple[InstalledFile, ...] = ()
    undoes: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "format": RECORD_FORMAT,
            "operation": self.operation,
            "operation_id": self.operation_id,
            "backup_id": self.backup_id,
            "time": self.time.isoformat(),
            "status": self.status,
            "form": self.form,
            "managed": list(self.managed),
            "undo_dir": self.undo_dir,
            "moved_aside": [m.to_dict() for m in self.moved_aside],
            "installed": [i.to_dict() for i in self.installed],
            "undoes": self.undoes,
            "extra": dict(self.extra),
        }

    def to_json(self) -> bytes:
        """Indented UTF-8 JSON with a trailing newline."""
        return (json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n").encode()

    def with_status(self, status: Literal["installing", "complete"]) -> RestoreRecord:
        """A copy with another status."""
        return RestoreRecord(**{**self.__dict__, "status": status})

    def with_installed(self, installed: tuple[InstalledFile, ...]) -> RestoreRecord:
        """A copy with the installed files filled in."""
        return RestoreRecord(**{**self.__dict__, "installed": installed})

    @classmethod
    def from_json(cls, data: bytes | str, *, where: str = ".redisops-restore.json") -> RestoreRecord:
        """Parse a record.

        Raises:
            ParseError: not JSON, an unknown format, or a field of the wrong kind.
        """
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise ParseError(f"{where} is not valid JSON: {e}", context={"where": where}) from e
        if not isinstance(doc, dict):
            raise ParseError(f"{where} is not a JSON object", context={"where": where})
        return cls.from_dict(doc, where=where)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, where: str = ".redisops-restore.json") -> RestoreRecord:
        """Build from the dict form (see :meth:`to_dict`)."""

        def bad(msg: str) -> ParseError:
            return ParseError(
                f"{where}: {msg}", hint="the restore record is damaged", context={"where": where}
            )

        if doc.get("format") != RECORD_FORMAT:
            raise bad(f"unknown format {doc.get('format')!r} (expected {RECORD_FORMAT})")
        try:
            operation = doc["operation"]
            status = doc["status"]
            form = doc.get("form")
            if operation not in ("restore", "undo") or status not in ("installing", "complete"):
                raise bad("operation or status has an unknown value")
            if form not in ("aof", "rdb", None):
                raise bad(f"form {form!r} is unknown")
            moved = tuple(
                MovedEntry(name=str(m["name"]), to=str(m["to"]), kind=_kind(m["kind"], bad))
                for m in doc.get("moved_aside", [])
            )
            installed = tuple(
                InstalledFile(path=str(i["path"]), size=int(i["size"]), sha256=str(i["sha256"]))
                for i in doc.get("installed", [])
            )
            managed = tuple(str(n) for n in doc["managed"])
            for name in [*managed, *(m.name for m in moved)]:
                _check_relative(name, bad)
            for path in [str(doc["undo_dir"]), *(m.to for m in moved), *(i.path for i in installed)]:
                _check_relative(path, bad, nested=True)
            return cls(
                operation=operation,
                operation_id=str(doc["operation_id"]),
                backup_id=None if doc.get("backup_id") is None else str(doc["backup_id"]),
                time=datetime.fromisoformat(str(doc["time"])),
                status=status,
                form=form,
                managed=managed,
                undo_dir=str(doc["undo_dir"]),
                moved_aside=moved,
                installed=installed,
                undoes=None if doc.get("undoes") is None else str(doc["undoes"]),
                extra=dict(doc.get("extra") or {}),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise bad(f"missing or invalid field: {e}") from e


def _kind(value: object, bad: Any) -> Literal["file", "dir"]:
    if value == "file":
        return "file"
    if value == "dir":
        return "dir"
    raise bad(f"entry kind {value!r} is unknown")


def _check_relative(path: str, bad: Any, *, nested: bool = False) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or (not nested and len(parts) != 1):
        raise bad(f"path {path!r} is not a plain relative path inside the data dir")
