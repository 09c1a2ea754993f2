"""The copy's checkpoint: where each database's SCAN stopped, so a killed copy resumes there.

One JSON file, replaced atomically (written to a temporary file in the same directory, fsynced, then
renamed over the old one), so a crash leaves either the previous or the new checkpoint, never half of
one. A cursor is saved only after every key of the batches before it was written to the target; resuming
from it may copy a few keys twice (RESTORE ... REPLACE or BUSYKEY skips), never miss one that existed
for the whole copy (SCAN's guarantee). The file names the source and target (host:port, never a
password) so a checkpoint of another migration is refused.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redisops.errors import InvalidArgument

__all__ = ["Checkpoint", "DbCheckpoint", "load_checkpoint", "save_checkpoint"]

_VERSION = 1


@dataclass
class DbCheckpoint:
    """One database: the cursor to resume from, whether its walk is finished, and its counters so far."""

    cursor: int = 0
    done: bool = False
    counters: dict[str, Any] = field(default_factory=dict)


@dataclass
class Checkpoint:
    """The whole copy: which source/target it belongs to and each database's progress."""

    source: str
    target: str
    dbs: dict[int, DbCheckpoint] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    def db(self, db: int) -> DbCheckpoint:
        """The entry of ``db`` (created at cursor 0)."""
        return self.dbs.setdefault(db, DbCheckpoint())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "version": _VERSION,
            "source": self.source,
            "target": self.target,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "dbs": {
                str(db): {"cursor": e.cursor, "done": e.done, "counters": e.counters}
                for db, e in sorted(self.dbs.items())
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        """The inverse of :meth:`to_dict`."""
        return cls(
            source=str(data["source"]),
            target=str(data["target"]),
            started_at=float(data.get("started_at", 0.0)),
            updated_at=float(data.get("updated_at", 0.0)),
            dbs={
                int(db): DbCheckpoint(
                    cursor=int(e["cursor"]), done=bool(e["done"]), counters=dict(e.get("counters", {}))
                )
                for db, e in data.get("dbs", {}).items()
            },
        )


def save_checkpoint(path: Path, cp: Checkpoint) -> None:
    """Write ``cp`` to ``path`` atomically (temporary file + fsync + rename)."""
    cp.updated_at = time.time()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(cp.to_dict(), f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, *, source: str, target: str) -> Checkpoint | None:
    """The checkpoint at ``path`` (None when there is none).

    Raises:
        InvalidArgument: the file is unreadable, or belongs to another source or target.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InvalidArgument(f"cannot read the checkpoint {path}: {e.strerror}") from None
    try:
        data = json.loads(text)
        if data.get("version") != _VERSION:
            raise ValueError(f"version {data.get('version')!r}")
        cp = Checkpoint.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise InvalidArgument(
            f"the checkpoint {path} is not a copy checkpoint ({e})",
            hint="remove it to start the copy from the beginning, or give another --checkpoint path",
        ) from None
    if (cp.source, cp.target) != (source, target):
        raise InvalidArgument(
            f"the checkpoint {path} belongs to the copy {cp.source} -> {cp.target}, not {source} -> {target}",
            hint="give the checkpoint of this copy, or remove it to start from the beginning",
            context={"checkpoint": str(path)},
        )
    return cp
