"""What the backup store reports (verify, gc) and the content-verifier protocol. Pure: no I/O."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from redisops.adapters.s3 import (
    MultipartUpload,
)
from redisops.backup.lock import fmt_age
from redisops.backup.manifest import (
    ObjectEntry,
)
from redisops.errors import (
    VerificationError,
)

__all__ = ["GcReport", "ObjectCheck", "StreamVerifier", "VerifierFactory", "VerifyReport"]


class StreamVerifier(Protocol):
    """Checks an object's content as it streams by (e.g. :class:`redisops.rdb.RdbStreamVerifier`).

    ``finish`` raises VerificationError when the content is bad; whatever it returns is kept as detail.
    A returned object with an ``int`` attribute ``crc64`` fills the manifest's crc64; one with a ``str``
    attribute ``sha256`` is cross-checked against the uploaded bytes.
    """

    def feed(self, chunk: bytes | bytearray | memoryview, /) -> None:
        """Consume the next chunk."""

    def finish(self) -> object:
        """Check the end of the content; raise VerificationError when it is bad."""


#: builds a verifier for an object of a manifest (None = no content check for that object)
VerifierFactory = Callable[[ObjectEntry], StreamVerifier | None]


# --- reports -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectCheck:
    """The result of re-reading one object of a backup."""

    name: str
    expected_size: int
    expected_sha256: str
    actual_size: int | None
    actual_sha256: str | None
    problem: str | None = None
    detail: object | None = None

    @property
    def ok(self) -> bool:
        """True when size, hash and the extra check (if any) all passed."""
        return self.problem is None


@dataclass(frozen=True)
class VerifyReport:
    """The result of :meth:`BackupStore.verify`."""

    backup_id: str
    source: str
    checks: tuple[ObjectCheck, ...]

    @property
    def ok(self) -> bool:
        """True when every object verified."""
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[str]:
        """One line per failed object."""
        return [f"{c.name}: {c.problem}" for c in self.checks if c.problem]

    def raise_if_failed(self) -> None:
        """Raise VerificationError listing the problems, if any."""
        if not self.ok:
            raise VerificationError(
                f"backup {self.backup_id} of {self.source} does not verify: " + "; ".join(self.problems),
                hint="do not restore from this backup; take a new one",
                context={"backup_id": self.backup_id, "source": self.source, "problems": self.problems},
            )


@dataclass(frozen=True)
class GcReport:
    """What :meth:`BackupStore.gc` removed (or would remove, with ``dry_run``)."""

    dry_run: bool
    aborted_uploads: tuple[MultipartUpload, ...] = ()
    deleted_keys: tuple[str, ...] = ()
    incomplete_backups: tuple[str, ...] = ()  # backup folder prefixes removed
    kept: tuple[tuple[str, str], ...] = ()  # (folder or upload key, why it was kept)
    unknown_keys: tuple[str, ...] = ()  # keys under <root>/backups/ outside the layout (left alone)
    grace: timedelta | None = None

    @property
    def removed_anything(self) -> bool:
        """True when something was (or, with ``dry_run``, would be) removed."""
        return bool(self.aborted_uploads or self.deleted_keys)

    def summary(self) -> builtins.list[str]:
        """Short lines for people: what was removed (or would be), what was kept and why."""
        verb = "would remove" if self.dry_run else "removed"
        older = f" older than {fmt_age(self.grace)}" if self.grace is not None else ""
        if not self.removed_anything:
            lines = [f"nothing to remove: no incomplete backups or unfinished uploads{older}"]
        else:
            parts = []
            if self.incomplete_backups:
                n, objs = len(self.incomplete_backups), len(self.deleted_keys)
                parts.append(f"{n} incomplete backup{'s' if n != 1 else ''} ({objs} objects)")
            elif self.deleted_keys:
                parts.append(f"{len(self.deleted_keys)} objects")
            if self.aborted_uploads:
                n = len(self.aborted_uploads)
                parts.append(f"{n} unfinished upload{'s' if n != 1 else ''}")
            lines = [f"{verb} {' and '.join(parts)}"]
            lines += [f"  {folder}" for folder in self.incomplete_backups]
            lines += [f"  upload {u.key}" for u in self.aborted_uploads]
        for what, why in self.kept:
            lines.append(f"kept {what}: {why}")
        if self.unknown_keys:
            lines.append(f"left alone {len(self.unknown_keys)} keys outside the backup layout")
        return lines
