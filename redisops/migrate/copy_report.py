"""The copy's counters: per database (copied / skipped / expired / vanished / failed with reasons and
examples, bytes, big keys) and the whole report with totals, keys/s and MB/s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redisops.migrate.bigkeys import KeyOutcome

__all__ = ["CopyReport", "DbCopyStats", "MiB"]

MiB = 1 << 20


@dataclass
class DbCopyStats:
    """One database's counters. ``skipped``/``failed`` count per reason; ``examples`` name a few keys."""

    db: int
    scanned: int = 0
    copied: int = 0
    expired: int = 0
    vanished: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    bytes_copied: int = 0
    big_keys: int = 0
    by_type: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    done: bool = False

    def count(self, outcome: KeyOutcome, key: bytes) -> None:
        """Add one key's outcome."""
        if outcome.status == "copied":
            self.copied += 1
            self.bytes_copied += outcome.nbytes
        elif outcome.status == "expired":
            self.expired += 1
        elif outcome.status == "vanished":
            self.vanished += 1
        else:
            book = self.skipped if outcome.status == "skipped" else self.failed
            book[outcome.reason] = book.get(outcome.reason, 0) + 1
            ex = self.examples.setdefault(outcome.reason, [])
            if len(ex) < 5:
                ex.append(key.decode("utf-8", "backslashreplace"))

    def add(self, other: DbCopyStats) -> None:
        """Add ``other``'s counters (a cluster source: every shard's db 0 into one)."""
        for name in ("scanned", "copied", "expired", "vanished", "bytes_copied", "big_keys", "by_type"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in ((self.skipped, other.skipped), (self.failed, other.failed)):
            for reason, n in theirs.items():
                mine[reason] = mine.get(reason, 0) + n
        for reason, keys in other.examples.items():
            ex = self.examples.setdefault(reason, [])
            ex.extend(keys[: max(0, 5 - len(ex))])
        self.done = self.done and other.done

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "db": self.db,
            "scanned": self.scanned,
            "copied": self.copied,
            "expired": self.expired,
            "vanished": self.vanished,
            "skipped": dict(self.skipped),
            "failed": dict(self.failed),
            "bytes": self.bytes_copied,
            "big_keys": self.big_keys,
            "by_type": self.by_type,
            "examples": {k: list(v) for k, v in self.examples.items()},
            "done": self.done,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DbCopyStats:
        """The inverse of :meth:`to_dict` (the counters kept in a checkpoint)."""
        known = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in data.items() if k in known}
        if "bytes" in data:
            fields["bytes_copied"] = data["bytes"]
        return cls(**fields)


@dataclass
class CopyReport:
    """What the copy did, per database, with totals and rates (``seconds`` of this run only)."""

    dbs: dict[int, DbCopyStats]
    seconds: float
    source_ops: int
    throttled_seconds: float
    resumed: bool = False
    checkpoint: str | None = None
    #: a cluster source: ``host:port`` of every primary copied, in order
    shards: list[str] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(int(getattr(s, name)) for s in self.dbs.values())

    @property
    def copied(self) -> int:
        """Keys written to the target."""
        return self._sum("copied")

    @property
    def expired(self) -> int:
        """Keys whose TTL ran out before they were written (not resurrected)."""
        return self._sum("expired")

    @property
    def vanished(self) -> int:
        """Keys deleted or expired on the source between SCAN and their copy."""
        return self._sum("vanished")

    @property
    def skipped(self) -> int:
        """Keys not written on purpose (BUSYKEY without replace)."""
        return sum(sum(s.skipped.values()) for s in self.dbs.values())

    @property
    def failed(self) -> int:
        """Keys the target refused (reasons per database)."""
        return sum(sum(s.failed.values()) for s in self.dbs.values())

    @property
    def bytes_copied(self) -> int:
        """Payload bytes written."""
        return self._sum("bytes_copied")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON with totals, keys/s and MB/s."""
        secs = max(self.seconds, 1e-9)
        return {
            "copied": self.copied,
            "skipped": self.skipped,
            "expired": self.expired,
            "vanished": self.vanished,
            "failed": self.failed,
            "bytes": self.bytes_copied,
            "seconds": round(self.seconds, 3),
            "keys_per_second": round(sum(s.scanned for s in self.dbs.values()) / secs, 1),
            "mb_per_second": round(self.bytes_copied / MiB / secs, 3),
            "source_ops": self.source_ops,
            "throttled_seconds": round(self.throttled_seconds, 3),
            "resumed": self.resumed,
            "checkpoint": self.checkpoint,
            "shards": list(self.shards),
            "dbs": {str(db): s.to_dict() for db, s in sorted(self.dbs.items())},
        }
