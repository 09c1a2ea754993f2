"""Adopt a data dir restored by someone else (Velero): make Redis load the ``dump.rdb`` it holds.

A PVC restored by Velero (or copied by hand) can hold a ``dump.rdb`` but no valid AOF: with the
production ``appendonly yes``, Redis 7 loads only the AOF named by its manifest and never reads
``dump.rdb``, so it starts empty and its next save overwrites the restored snapshot (the
``appendonly yes`` trap, docs/restore.md). :func:`adopt_data_dir` runs the restore engine on the
data dir itself: the ``dump.rdb`` is staged and verified (RDB structure, CRC64, version), the current
``dump.rdb`` and ``appendonlydir/`` are moved aside into the undo folder, and the snapshot is installed
as the AOF base plus manifest, recorded, undo-able with :func:`redisops.restore.undo_restore`.

A data dir whose AOF manifest is valid (it parses and every base/incr file it lists is there) is left
alone: Redis loads that AOF. So is a target with ``appendonly no`` (Redis reads ``dump.rdb`` itself)
and a data dir without ``dump.rdb`` (nothing to adopt). This is what the Velero init restore hook
(``redisops restore-data-dir --adopt``) runs before Redis starts.

Example::

    settings = TargetSettings.from_config(cfg, "7.0.15", uid=999, gid=999)
    result = adopt_data_dir(Path("/data"), settings, datetime.now(UTC))
    result.action, result.reason   # "adopted" / "nothing to do", and why
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from redisops.errors import VerificationError
from redisops.restore.engine import RestoreResult, parse_aof_manifest, restore_rdb
from redisops.restore.plan import ExpectedBackup, TargetSettings, aof_manifest_name

__all__ = ["ADOPT_BACKUP_ID", "AdoptResult", "adopt_data_dir", "aof_manifest_problem"]

#: the "backup id" recorded for an adopted dump.rdb (the record and undo folder name it)
ADOPT_BACKUP_ID = "adopted-dump.rdb"


@dataclass(frozen=True)
class AdoptResult:
    """What :func:`adopt_data_dir` did: ``adopted`` (with the engine's result) or ``nothing to do``."""

    action: Literal["adopted", "nothing to do"]
    reason: str
    data_dir: Path
    engine: RestoreResult | None = None


def aof_manifest_problem(data_dir: Path, settings: TargetSettings) -> str | None:
    """Why the data dir holds no AOF Redis would load (None: the manifest is valid and complete)."""
    aof_dir = data_dir / settings.appenddirname
    manifest = aof_dir / aof_manifest_name(settings.appendfilename)
    if not manifest.is_file():
        return f"no AOF manifest {settings.appenddirname}/{manifest.name}"
    try:
        kinds = parse_aof_manifest(manifest.read_bytes(), manifest.name)
    except VerificationError as e:
        return e.message
    missing = sorted(n for n, k in kinds.items() if k in ("b", "i") and not (aof_dir / n).is_file())
    if missing:
        return f"the AOF manifest lists missing files {missing}"
    return None


def _chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(size):
            yield block


def adopt_data_dir(
    data_dir: Path, settings: TargetSettings, now: datetime, *, operation_id: str | None = None
) -> AdoptResult:
    """Install the data dir's ``dump.rdb`` as the AOF base + manifest when Redis would ignore it.

    Nothing is done (``nothing to do``) when the data dir does not exist, the target runs
    ``appendonly no``, the AOF manifest is valid, or there is no ``dump.rdb``. Otherwise the
    engine's rules apply (see the module docstring).

    Raises:
        VerificationError: the ``dump.rdb`` is corrupt or too new for ``settings.redis_version``
            (the data dir is left unchanged).
        ConflictError, PlatformError: as for :func:`redisops.restore.restore_rdb` (Redis running,
            not enough free space).
    """
    rdb = data_dir / settings.dbfilename
    if not data_dir.is_dir():
        # e.g. Velero's annotation init hook, which mounts no volume: never block the pod's start
        return AdoptResult(
            "nothing to do", f"{data_dir} does not exist (the volume is not mounted)", data_dir
        )
    if not settings.appendonly:
        return AdoptResult("nothing to do", f"appendonly no: Redis loads {settings.dbfilename}", data_dir)
    problem = aof_manifest_problem(data_dir, settings)
    if problem is None:
        return AdoptResult("nothing to do", "the AOF manifest is valid: Redis loads the AOF", data_dir)
    if not rdb.is_file():
        why = f"{problem} and no {settings.dbfilename}: nothing to adopt"
        return AdoptResult("nothing to do", why, data_dir)
    h = hashlib.sha256()
    size = 0
    for block in _chunks(rdb):
        h.update(block)
        size += len(block)
    expected = ExpectedBackup.for_rdb(ADOPT_BACKUP_ID, sha256=h.hexdigest(), size=size)
    result = restore_rdb(_chunks(rdb), data_dir, settings, expected, now, operation_id=operation_id)
    why = f"{problem}: {settings.dbfilename} installed as the AOF base"
    return AdoptResult("adopted", why, data_dir, result)
