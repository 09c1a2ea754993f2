"""What a cutover changed, kept so a rollback reverts exactly that, and the verify reports the
decommission's guard rails read.

Files (mode 0600) in the state dir's ``migrate/`` folder (:func:`migrate_dir`):

* ``cutover-<UTC time>.json`` — a :class:`CutoverRecord`: the AppConfig version deployed before (its
  number and SHA-256: versions are immutable, so a rollback deploys that content again), the
  NetworkPolicies before and after, the Deployments restarted, the rollback window. A copy goes beside
  the backups in the store (``<root>/migrate/``) when there is one.
* ``verify-<UTC time>.json`` — a saved ``migrate.verify`` report (:func:`save_verify`), with the
  source and target it compared.

Nothing here holds a secret: AppConfig content is recorded by hash and version number only.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redisops.adapters.local_tls import write_private

__all__ = [
    "CutoverRecord",
    "NetworkChange",
    "SavedVerify",
    "latest_record",
    "latest_verify",
    "migrate_dir",
    "save_record",
    "save_verify",
]


def migrate_dir(state_dir: Path | None) -> Path:
    """``<state dir>/migrate`` (the sandbox's state dir: ``$REDISOPS_STATE_DIR`` or the user's)."""
    if state_dir is None:
        from redisops.ops.sandbox import default_state_dir

        state_dir = default_state_dir()
    return Path(state_dir) / "migrate"


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%S") + f"{int(ts * 1000) % 1000:03d}Z"


@dataclass
class NetworkChange:
    """One NetworkPolicy the cutover created, edited or left (``before``/``after``: the objects without
    server-filled metadata; None: absent)."""

    name: str
    namespace: str
    action: str  # created | edited | unchanged | skipped (owned elsewhere)
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class CutoverRecord:
    """The undo point of one cutover."""

    id: str
    created_ts: float
    mode: str
    application: str
    environment: str
    profile: str
    strategy: str
    previous_version: str | None
    previous_sha256: str | None
    previous_endpoint: str | None
    new_version: str | None = None
    new_sha256: str | None = None
    new_endpoint: str | None = None
    kubernetes: bool = False
    namespace: str | None = None
    network: list[NetworkChange] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    replication_group: str | None = None
    source: str | None = None
    rollback_window_hours: float = 48.0
    verify_report: str | None = None
    rolled_back_ts: float | None = None
    path: str | None = None

    @property
    def created_at(self) -> str:
        """ISO time of the cutover (UTC)."""
        return datetime.fromtimestamp(self.created_ts, UTC).isoformat(timespec="seconds")

    def window_ends(self) -> float:
        """When the rollback window ends (epoch seconds)."""
        return self.created_ts + self.rollback_window_hours * 3600

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["created_at"] = self.created_at
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CutoverRecord:
        """Back from :meth:`to_dict`."""
        d = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        d["network"] = [NetworkChange(**n) for n in d.get("network") or []]
        return cls(**d)

    @classmethod
    def new(cls, **fields: Any) -> CutoverRecord:
        """A record stamped now."""
        ts = time.time()
        return cls(id=f"cutover-{_stamp(ts)}", created_ts=ts, **fields)


def save_record(record: CutoverRecord, state_dir: Path | None, store: Any = None) -> list[str]:
    """Write the record (0600) into the state dir, and beside the backups when ``store`` is given;
    where it went (a failed store copy raises: the caller decides whether that is a warning)."""
    path = migrate_dir(state_dir) / f"{record.id}.json"
    record.path = str(path)
    data = json.dumps(record.to_dict(), indent=1)
    write_private(path, data)
    where = [str(path)]
    if store is not None:
        key = f"{store.layout.root}/migrate/{record.id}.json"
        store.s3.put_bytes(key, data.encode(), content_type="application/json")
        where.append(f"s3://{store.s3.bucket}/{key}")
    return where


def latest_record(state_dir: Path | None) -> CutoverRecord | None:
    """The newest cutover record in the state dir, or None."""
    folder = migrate_dir(state_dir)
    for path in sorted(folder.glob("cutover-*.json"), reverse=True):
        try:
            rec = CutoverRecord.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        rec.path = str(path)
        return rec
    return None


@dataclass(frozen=True)
class SavedVerify:
    """A saved verify report: when, which pair, and its verdict."""

    path: str
    ts: float
    source: str
    target: str
    ok: bool
    differences: int

    @property
    def age_hours(self) -> float:
        """Hours since it was taken."""
        return (time.time() - self.ts) / 3600

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "age_hours": round(self.age_hours, 3)}


def save_verify(report: Any, source: str, target: str, state_dir: Path | None) -> SavedVerify:
    """Save a ``migrate.verify`` report (0600) as ``verify-<time>.json``."""
    ts = time.time()
    path = migrate_dir(state_dir) / f"verify-{_stamp(ts)}.json"
    doc = {
        "ts": ts,
        "time": datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds"),
        "source": source,
        "target": target,
        "ok": bool(report.ok),
        "differences": int(report.total_differences),
        "report": report.to_dict(),
    }
    write_private(path, json.dumps(doc, indent=1, default=str))
    return SavedVerify(str(path), ts, source, target, doc["ok"], doc["differences"])


def latest_verify(state_dir: Path | None, source: str | None = None) -> SavedVerify | None:
    """The newest saved verify report (of ``source`` when given), or None."""
    for path in sorted(migrate_dir(state_dir).glob("verify-*.json"), reverse=True):
        try:
            d = json.loads(path.read_text())
            saved = SavedVerify(
                str(path),
                float(d["ts"]),
                str(d["source"]),
                str(d["target"]),
                bool(d["ok"]),
                int(d["differences"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if source is None or saved.source == source:
            return saved
    return None
