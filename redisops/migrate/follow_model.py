"""The follow's options and report, and the check of a source's ``notify-keyspace-events`` flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from redisops.migrate.copy import CopyOptions

__all__ = ["NEEDED_CLASSES", "FollowOptions", "FollowReport", "notification_flags_ok"]

#: the keyspace-notification classes a complete follow needs (A = g$lshzxetd)
NEEDED_CLASSES = "g$lshzxet"


class FollowOptions(BaseModel):
    """How to follow the source."""

    model_config = ConfigDict(extra="forbid")

    dbs: list[int] | None = Field(
        default=None,
        description="databases to follow; default: those holding keys on the source at the start",
    )
    apply_interval: float = Field(
        default=0.2, gt=0, le=60, description="seconds between applying the changes seen (notification mode)"
    )
    pass_interval: float = Field(
        default=5.0, ge=0, le=3600, description="seconds between SCAN passes (scan mode)"
    )
    ttl_tolerance_ms: int = Field(
        default=2000, ge=0, description="TTL difference ignored by the scan mode's comparison (milliseconds)"
    )
    ops_per_second: float = Field(default=0.0, ge=0, description="cap on source commands per second; 0: none")
    big_key_bytes: int = Field(
        default=4 << 20, ge=1, description="keys above this MEMORY USAGE are copied type by type in chunks"
    )
    chunk_size: int = Field(default=1000, ge=1, le=100_000, description="elements per chunk of a big key")
    by_type: bool = Field(default=False, description="copy type by type instead of DUMP/RESTORE")
    duration_seconds: float | None = Field(
        default=None, gt=0, description="stop after this many seconds (default: until cancelled)"
    )
    drain_seconds: float = Field(
        default=30.0, ge=0, description="after a stop, seconds allowed to apply the changes still pending"
    )
    flush_check_seconds: float = Field(
        default=1.0,
        gt=0,
        description="seconds between INFO keyspace checks for FLUSHDB/FLUSHALL on the source",
    )
    report_seconds: float = Field(default=1.0, gt=0, description="seconds between lag events")

    def copy_options(self) -> CopyOptions:
        """The copy settings of a re-copy: always REPLACE (the target holds an older value)."""
        return CopyOptions(
            replace=True,
            ops_per_second=self.ops_per_second,
            big_key_bytes=self.big_key_bytes,
            chunk_size=self.chunk_size,
            by_type=self.by_type,
        )


@dataclass
class FollowReport:
    """What the follow did until it stopped."""

    mode: str
    seconds: float = 0.0
    changes_seen: int = 0
    applied: int = 0
    deleted: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    passes: int = 0
    max_lag_seconds: float = 0.0
    last_lag_seconds: float = 0.0
    staleness_bound_seconds: float | None = None
    flushes: list[str] = field(default_factory=list)
    resyncs: int = 0
    unapplied: int = 0
    #: every change made before the stop reached the target (False: the drain ran out of time)
    complete: bool = True
    stopped: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "mode": self.mode,
            "seconds": round(self.seconds, 3),
            "changes_seen": self.changes_seen,
            "applied": self.applied,
            "deleted": self.deleted,
            "failed": dict(self.failed),
            "passes": self.passes,
            "max_lag_seconds": round(self.max_lag_seconds, 3),
            "last_lag_seconds": round(self.last_lag_seconds, 3),
            "staleness_bound_seconds": (
                None if self.staleness_bound_seconds is None else round(self.staleness_bound_seconds, 3)
            ),
            "flushes": list(self.flushes),
            "resyncs": self.resyncs,
            "unapplied": self.unapplied,
            "complete": self.complete,
            "stopped": self.stopped,
            "notes": list(self.notes),
        }


def notification_flags_ok(flags: str) -> tuple[bool, str]:
    """Whether ``notify-keyspace-events`` = ``flags`` lets the follow see every change, and why not."""
    if "K" not in flags and "E" not in flags:
        return False, f"notify-keyspace-events is {flags or 'empty'!r}: neither keyspace (K) nor keyevent (E)"
    classes = set(flags.replace("A", "g$lshzxetd"))
    missing = [c for c in NEEDED_CLASSES if c not in classes]
    if missing:
        return False, f"notify-keyspace-events {flags!r} lacks the classes {''.join(missing)} (use KEA)"
    return True, f"notify-keyspace-events is {flags!r}"
