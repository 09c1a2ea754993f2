"""One backup being written: objects streamed to S3, the manifest LAST, the lock released.

Made by :meth:`redisops.backup.store.BackupStore.begin`; see that module for the protocol.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from redisops.adapters.interrupt_shield import shielded
from redisops.adapters.s3 import (
    ProgressCallback,
)
from redisops.backup.layout import (
    check_object_name,
)
from redisops.backup.lock import LockInfo
from redisops.backup.manifest import (
    PURPOSES,
    BackupKind,
    BackupPurpose,
    DbCounts,
    Manifest,
    ObjectEntry,
    SourceInfo,
    redact_address,
)
from redisops.backup.reports import StreamVerifier
from redisops.errors import (
    ConflictError,
    InvalidArgument,
    RedisOpsError,
    VerificationError,
)

if TYPE_CHECKING:
    from redisops.backup.store import BackupStore

__all__ = ["BackupWriter"]

log = logging.getLogger(__name__)


class BackupWriter:
    """One backup being written; made by :meth:`BackupStore.begin`. Use it as a context manager."""

    def __init__(
        self, store: BackupStore, backup_id: str, kind: BackupKind, created_at: datetime, lock: LockInfo
    ):
        self.store = store
        self.backup_id = backup_id
        self.kind: BackupKind = kind
        self.created_at = created_at.astimezone(UTC)
        self.lock = lock
        self.state = "open"  # open | committed | aborted
        #: why aborting left something behind (None: everything written was removed, or not aborted)
        self.cleanup_error: str | None = None
        self._entries: dict[str, ObjectEntry] = {}
        self._details: dict[str, object] = {}

    @property
    def prefix(self) -> str:
        """The backup's folder."""
        return self.store.layout.backup_prefix(self.store.source, self.backup_id)

    @property
    def objects(self) -> builtins.list[ObjectEntry]:
        """The objects written so far."""
        return list(self._entries.values())

    def verification(self, name: str) -> object | None:
        """What the verifier of object ``name`` returned (e.g. an RdbVerification), if one ran."""
        return self._details.get(name)

    def _check_open(self) -> None:
        if self.state != "open":
            raise ConflictError(f"backup {self.backup_id} is already {self.state}")

    def write_object(
        self,
        name: str,
        chunks: Iterable[bytes | bytearray | memoryview],
        *,
        expected_size: int | None = None,
        verifier: StreamVerifier | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ObjectEntry:
        """Upload one object of the backup from ``chunks`` (streamed, bounded memory).

        ``verifier`` sees every chunk and is finished after the upload; its VerificationError propagates
        (abort the backup: the context manager does). ``expected_size``, when given, must match.
        """
        self._check_open()
        check_object_name(name)
        if name in self._entries:
            raise ConflictError(f"object {name!r} was already written to backup {self.backup_id}")
        key = self.store.layout.object_key(self.store.source, self.backup_id, name)

        def feed(src: Iterable[bytes | bytearray | memoryview]) -> Iterator[bytes | bytearray | memoryview]:
            for c in src:
                verifier.feed(c)  # type: ignore[union-attr]
                yield c

        stream = feed(chunks) if verifier is not None else chunks
        result = self.store.s3.upload_stream(
            key, stream, expected_size=expected_size, on_progress=on_progress, if_none_match=True
        )
        if expected_size is not None and result.size != expected_size:
            raise VerificationError(
                f"object {name} of {self.backup_id}: {result.size} bytes arrived, {expected_size} expected",
                hint="the source stream ended early or ran long; take the backup again",
                context={"object": name, "size": result.size, "expected_size": expected_size},
            )
        crc: str | None = None
        verified: bool | None = None
        if verifier is not None:
            detail = verifier.finish()
            verified = True
            self._details[name] = detail
            sha = getattr(detail, "sha256", None)
            if isinstance(sha, str) and sha and sha != result.sha256:
                raise VerificationError(
                    f"object {name}: the verifier hashed different bytes than were uploaded",
                    context={"object": name},
                )
            crc_value = getattr(detail, "crc64", None)
            if isinstance(crc_value, int) and not getattr(detail, "checksum_disabled", False):
                crc = f"{crc_value:016x}"
        entry = ObjectEntry(name=name, size=result.size, sha256=result.sha256, crc64=crc, verified=verified)
        self._entries[name] = entry
        return entry

    def write_bytes(self, name: str, data: bytes, *, verifier: StreamVerifier | None = None) -> ObjectEntry:
        """Upload a small object given whole."""
        return self.write_object(name, [data], expected_size=len(data), verifier=verifier)

    def commit(
        self,
        *,
        source_address: str | None = None,
        redis_version: str | None = None,
        rdb_version: int | None = None,
        key_counts: Mapping[int, Any] | None = None,
        config_fingerprint: str | None = None,
        notes: str = "",
        now: datetime | None = None,
        used_memory_dataset: int | None = None,
        purpose: BackupPurpose = "manual",
    ) -> Manifest:
        """Write manifest.json LAST (the commit marker) and release the lock; returns the manifest.

        ``source_address`` loses any credentials; ``key_counts`` maps db -> DbCounts, a mapping with
        ``keys``/``expires`` or an object with those attributes (e.g. the RDB scanner's DbKeyCounts).
        ``now`` (default: the clock) is the completion time. ``used_memory_dataset`` (INFO memory of
        the source) lets a restore refuse a target whose maxmemory cannot hold the data. ``purpose``
        labels the backup (``safety`` ones are skipped by :meth:`BackupStore.latest`).
        """
        self._check_open()
        if purpose not in PURPOSES:
            raise InvalidArgument(
                f"unknown backup purpose {purpose!r}", hint=f"use one of {', '.join(PURPOSES)}"
            )
        if not self._entries:
            raise VerificationError(f"backup {self.backup_id} has no objects; nothing to commit")
        completed = (now or datetime.now(UTC)).astimezone(UTC)
        manifest = Manifest(
            id=self.backup_id,
            created_at=self.created_at,
            completed_at=max(completed, self.created_at),
            source=SourceInfo(self.store.source, redact_address(source_address) if source_address else None),
            kind=self.kind,
            objects=tuple(self._entries.values()),
            tool_version=self.store.tool_version,
            redis_version=redis_version,
            rdb_version=rdb_version,
            key_counts=None if key_counts is None else {int(db): _counts(c) for db, c in key_counts.items()},
            config_fingerprint=config_fingerprint,
            notes=notes,
            used_memory_dataset=used_memory_dataset,
            purpose=purpose,
        )
        key = self.store.layout.manifest_key(self.store.source, self.backup_id)
        self.store.s3.put_bytes(key, manifest.to_json(), if_none_match=True, content_type="application/json")
        self.state = "committed"
        with shielded(f"releasing the lock of backup {self.backup_id}"):
            try:
                self.store._release(self.lock)
            except RedisOpsError as e:  # committed is committed; the next begin() clears a leftover lock
                log.warning(
                    "backup %s committed but its lock was not released: %s", self.backup_id, e.message
                )
        return manifest

    def abort(self) -> builtins.list[str]:
        """Delete everything written, abort multipart uploads, release the lock; returns the deleted keys.

        A no-op after commit (use :meth:`BackupStore.delete`). The lock is released even when cleaning
        up fails (that error is then raised; ``gc`` removes the leftovers later). A second Ctrl-C while it
        runs waits until it has finished (:func:`~redisops.adapters.interrupt_shield.shielded`).
        """
        if self.state != "open":
            return []
        self.state = "aborted"
        s3 = self.store.s3
        with shielded(f"aborting backup {self.backup_id} (its upload, its objects, the lock)"):
            try:
                for u in s3.list_multipart_uploads(self.prefix):
                    s3.abort_multipart_upload(u.key, u.upload_id)
                keys = s3.list_keys(self.prefix)
                s3.delete_keys(keys)
                return keys
            finally:
                self.store._release(self.lock)

    def __enter__(self) -> BackupWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.state != "open":
            return
        with shielded(f"aborting backup {self.backup_id} (its upload, its objects, the lock)"):
            if exc is None:
                log.warning("backup %s was neither committed nor aborted; aborting it", self.backup_id)
            try:
                self.abort()
            except RedisOpsError as e:
                self.cleanup_error = e.message
                if exc is None:
                    raise
                log.warning("aborting backup %s failed: %s (gc will clean up)", self.backup_id, e.message)


def _counts(value: Any) -> DbCounts:
    if isinstance(value, DbCounts):
        return value
    if isinstance(value, Mapping):
        return DbCounts(keys=int(value["keys"]), expires=int(value.get("expires", 0)))
    return DbCounts(keys=int(value.keys), expires=int(value.expires))
