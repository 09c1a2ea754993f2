"""The backup store: backups of one Redis source in S3, composed from the layout, the manifest and S3 I/O.

A backup is committed by its manifest, written LAST; everything else in a backup folder without a
manifest is incomplete and never listed (``gc`` removes it after a grace period). One writer per source
at a time: ``begin`` takes ``<root>/locks/<source>.lock`` with a conditional write (If-None-Match: *).

Usage::

    store = BackupStore(target, S3Adapter(S3Settings.from_target(target)), "redis")
    with store.begin("rdb", now=datetime.now(UTC)) as w:      # aborts (deletes, unlocks) on exception
        w.write_object("dump.rdb", chunks, expected_size=None, verifier=RdbStreamVerifier())
        manifest = w.commit(redis_version="7.0.15", rdb_version=11)
    for m in store.list():                                    # newest first, committed backups only
        print(m.id, m.size)
    store.verify(manifest.id).raise_if_failed()
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from redisops._version import __version__
from redisops.adapters.s3 import (
    ListedObject,
    MultipartUpload,
    S3Adapter,
    S3Settings,
    is_missing_bucket,
)
from redisops.backup.layout import (
    MANIFEST_NAME,
    Layout,
    backup_id_time,
    check_source_name,
    is_backup_id,
    new_backup_id,
)
from redisops.backup.lock import (
    HolderAlive,
    LockInfo,
    PodRef,
    fmt_age,
    holder_process_alive,
    this_pod,
    this_process,
)
from redisops.backup.manifest import (
    FORMAT_VERSION,
    BackupKind,
    Manifest,
    ObjectEntry,
)
from redisops.backup.reports import (
    GcReport,
    ObjectCheck,
    StreamVerifier,
    VerifierFactory,
    VerifyReport,
)
from redisops.backup.retention import BackupRef, RetentionPlan, RetentionRules, plan_retention
from redisops.backup.writer import BackupWriter
from redisops.config.model import BackupTarget
from redisops.errors import (
    ConflictError,
    InvalidArgument,
    NotFoundError,
    ParseError,
    RedisOpsError,
    VerificationError,
)

__all__ = [
    "BackupStore",
    "BackupWriter",
    "GcReport",
    "Listing",
    "LockInfo",
    "ObjectCheck",
    "StreamVerifier",
    "VerifierFactory",
    "VerifyReport",
]

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = timedelta(hours=6)
DEFAULT_GC_GRACE = timedelta(hours=24)
_CHUNK = 1024 * 1024
#: chunks read ahead of the consumer on a thread (network wait overlaps hashing and writing)
_READ_AHEAD = 4


@dataclass(frozen=True)
class Listing:
    """:meth:`BackupStore.listing`: the committed backups, newest first, and the manifests skipped because
    a newer redisops wrote them (``skipped_newer``; ``newest_format``: the highest ``format_version``
    among them, None when none was skipped)."""

    manifests: builtins.list[Manifest]
    skipped_newer: int = 0
    newest_format: int | None = None


# --- the store -----------------------------------------------------------------------------------------
class BackupStore:
    """Backups of one source (``source_name``) under a layout root in one bucket.

    Args:
        target: a :class:`~redisops.config.model.BackupTarget` (root = its ``prefix``) or a :class:`Layout`
            (e.g. from :meth:`redisops.backup.velero.VeleroLocation.layout`).
        s3: the S3 adapter for the bucket.
        source_name: which Redis the backups are of (a DNS-like label).
        host: recorded in the lock (default: this host's name).
        stale_after: a lock older than this is reported as stale and may be broken with ``break_lock``.
        tool_version: recorded in manifests.
        pod: the pod this process runs in, recorded in the lock (default: :func:`this_pod` when ``host``
            is not given, else none).
        holder_alive: asked whether the pod holding the lock (from another host) still runs: False breaks
            the lock (a dead CronJob pod no longer stops every later backup), None or True refuse.
        on_notice: told, in one sentence, what the store did on its own (a lock it broke); also logged.
    """

    def __init__(
        self,
        target: BackupTarget | Layout,
        s3: S3Adapter,
        source_name: str,
        *,
        host: str | None = None,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        tool_version: str = __version__,
        pod: PodRef | None = None,
        holder_alive: HolderAlive | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.layout = target if isinstance(target, Layout) else Layout(root=target.prefix)
        self.s3 = s3
        self.source = check_source_name(source_name)
        self.pod = pod if pod is not None or host is not None else this_pod()
        self.host = host or socket.gethostname()
        self.stale_after = stale_after
        self.tool_version = tool_version
        self.holder_alive = holder_alive
        self.on_notice = on_notice

    @classmethod
    def from_target(cls, target: BackupTarget, source_name: str, **s3_overrides: Any) -> BackupStore:
        """A store with an S3 adapter built from ``target`` (``s3_overrides`` set other S3Settings fields)."""
        return cls(target, S3Adapter(S3Settings.from_target(target, **s3_overrides)), source_name)

    # --- writing -------------------------------------------------------------------------------------------
    def begin(self, kind: BackupKind, now: datetime, *, backup_id: str | None = None) -> BackupWriter:
        """Take the source's lock and start a backup (use the writer as a context manager).

        Raises:
            ConflictError: another backup of this source holds the lock (names the holder, since when,
                and whether it is stale).
        """
        if kind not in ("rdb", "aof"):
            raise InvalidArgument(f"unknown backup kind {kind!r}", hint="use 'rdb' or 'aof'")
        bid = backup_id or new_backup_id(now)
        if not is_backup_id(bid):
            raise InvalidArgument(f"not a backup id: {bid!r}", hint="ids look like 20261125T184501Z-3f9a")
        lock = self._acquire(bid, now)
        return BackupWriter(self, bid, kind, now, lock)

    def _acquire(self, backup_id: str, now: datetime) -> LockInfo:
        key = self.layout.lock_key(self.source)
        mine = LockInfo(
            self.source,
            backup_id,
            self.host,
            os.getpid(),
            now.astimezone(UTC),
            self.tool_version,
            pod=self.pod,
            process=this_process(),
        )
        for _ in range(3):
            try:
                etag = self.s3.put_bytes(
                    key, mine.to_json(), if_none_match=True, content_type="application/json"
                )
                return replace(mine, etag=etag)
            except ConflictError:
                holder = self.lock_info()
            if holder is None:
                continue  # released in between: try again
            if self._has_manifest(holder.backup_id):
                # the holder committed but could not release: the lock protects nothing any more
                log.warning("releasing the leftover lock of committed backup %s", holder.backup_id)
                self._release(holder)
                continue
            if holder.host == self.host and holder_process_alive(holder) is False:
                # the holder ran on this machine and its process is gone (killed, crashed): provably dead
                log.warning(
                    "breaking the lock of backup %s: its process %d on %s is gone",
                    holder.backup_id,
                    holder.pid,
                    holder.host,
                )
                self._release(holder)
                continue
            alive = self._pod_alive(holder)
            if alive is False:
                self._notice(
                    f"broke the lock of backup {holder.backup_id}: its pod {holder.pod} no longer exists "
                    "(or has terminated)"
                )
                self._release(holder)  # conditional (If-Match): a lock retaken in between stays
                continue
            raise self._held_error(holder, now, pod_alive=alive)
        raise ConflictError(
            f"could not take the backup lock of {self.source}: it keeps changing",
            hint="another backup is starting at the same time; try again",
            context={"source": self.source},
        )

    def _pod_alive(self, holder: LockInfo) -> bool | None:
        """Whether the holder's pod (on another host) still runs; None when unknown or not a pod."""
        same_host_known = holder.host == self.host and holder_process_alive(holder) is not None
        if holder.pod is None or same_host_known or self.holder_alive is None:
            return None
        try:
            return self.holder_alive(holder)
        except RedisOpsError as e:
            log.warning("could not tell whether pod %s still runs: %s", holder.pod, e.message)
            return None

    def _notice(self, message: str) -> None:
        log.warning("%s", message)
        if self.on_notice is not None:
            self.on_notice(message)

    def _held_error(self, holder: LockInfo, now: datetime, *, pod_alive: bool | None = None) -> ConflictError:
        age = holder.age(now)
        stale = age > self.stale_after
        since = holder.started_at.isoformat().replace("+00:00", "Z")
        where = f"pod {holder.pod} on {holder.host}" if holder.pod else holder.host
        msg = (
            f"a backup of {self.source} is already running: lock held by {where} "
            f"(pid {holder.pid}, backup {holder.backup_id}) since {since} ({fmt_age(age)} ago)"
        )
        if stale:
            msg += f"; the lock is stale (older than {fmt_age(self.stale_after)})"
        unlock = "`redisops backup unlock`"
        look = f"kubectl -n {holder.pod.namespace} get pod {holder.pod.name}" if holder.pod else ""
        if holder.pod is not None and pod_alive is True:
            msg += f"; its pod {holder.pod} is still running"
            hint = f"wait for it to finish, or look at it: {look}"
        elif holder.pod is not None:
            msg += f"; whether its pod {holder.pod} still runs could not be checked"
            hint = (
                f"check it: {look}; if it is gone, run "
                f"{unlock} (running in the cluster, redisops checks by itself when its ServiceAccount may "
                "get pods)"
            )
        elif stale:
            hint = f"if that backup is dead, break the lock explicitly (break_lock / {unlock})"
        else:
            hint = "wait for it to finish, or check that host"
        return ConflictError(
            msg,
            hint=hint,
            context={
                "source": self.source,
                "holder": holder.host,
                "pid": holder.pid,
                "backup_id": holder.backup_id,
                "since": since,
                "age_seconds": int(age.total_seconds()),
                "stale": stale,
                "pod": str(holder.pod) if holder.pod else None,
                "pod_alive": pod_alive,
            },
        )

    def lock_info(self) -> LockInfo | None:
        """The current holder of the source's lock, or None when it is free."""
        key = self.layout.lock_key(self.source)
        try:
            data, etag = self.s3.get_bytes(key)
        except NotFoundError as e:
            if is_missing_bucket(e):
                raise
            return None
        try:
            return LockInfo.from_json(data, etag)
        except ParseError:
            head_time = self.s3.head(key).last_modified or datetime.now(UTC)
            return LockInfo(self.source, "unknown", "unknown", 0, head_time, "", etag)

    def break_lock(
        self, now: datetime, *, force: bool = False, backup_id: str | None = None
    ) -> LockInfo | None:
        """Remove the source's lock when it is stale (or with ``force``); returns what was removed.

        ``backup_id`` breaks it only if that backup holds it. The removal is conditional on the lock not
        having changed since it was read (If-Match), so a lock taken in between is never broken.
        """
        holder = self.lock_info()
        if holder is None:
            return None
        if backup_id is not None and holder.backup_id != backup_id:
            raise ConflictError(
                f"the lock of {self.source} is held by backup {holder.backup_id}, not {backup_id}",
                context={"source": self.source, "backup_id": holder.backup_id},
            )
        if not force and holder.age(now) <= self.stale_after:
            err = self._held_error(holder, now)
            limit = fmt_age(self.stale_after)
            err.hint = f"the lock is younger than {limit}; force only if the holder is dead"
            raise err
        self.s3.delete(self.layout.lock_key(self.source), if_match=holder.etag or None)
        log.warning(
            "broke the backup lock of %s held by %s since %s (backup %s)",
            self.source,
            holder.host,
            holder.started_at.isoformat(),
            holder.backup_id,
        )
        return holder

    def _release(self, lock: LockInfo) -> None:
        try:
            self.s3.delete(self.layout.lock_key(self.source), if_match=lock.etag or None)
        except ConflictError:
            log.warning("the backup lock of %s changed hands; left it alone", self.source)
        except NotFoundError:
            pass

    def _has_manifest(self, backup_id: str) -> bool:
        if not is_backup_id(backup_id):
            return False
        return self.s3.exists(self.layout.manifest_key(self.source, backup_id))

    # --- reading -------------------------------------------------------------------------------------------
    def list(self) -> builtins.list[Manifest]:
        """Committed backups of the source (a valid manifest), newest first; invalid manifests are skipped
        (:meth:`listing` also counts those of a newer format)."""
        return self.listing().manifests

    def listing(self) -> Listing:
        """Committed backups of the source, newest first, and how many manifests were skipped because a
        newer redisops wrote them in a newer format (each skipped manifest is also logged)."""
        out: list[Manifest] = []
        newer: list[int] = []
        for obj in self.s3.list_objects(self.layout.source_prefix(self.source)):
            info = self.layout.parse_key(obj.key)
            if info is None or not info.is_manifest or info.source != self.source:
                continue
            try:
                out.append(self.get(info.backup_id))
            except (ParseError, VerificationError) as e:
                version = e.context.get("format_version")
                if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
                    newer.append(version)
                log.warning("skipping backup %s: %s", info.backup_id, e.message)
            except NotFoundError:
                continue  # deleted in between
        out.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        return Listing(out, len(newer), max(newer, default=None))

    def get(self, backup_id: str) -> Manifest:
        """The manifest of a committed backup (NotFoundError when absent or incomplete)."""
        key = self.layout.manifest_key(self.source, backup_id)
        try:
            data, _ = self.s3.get_bytes(key)
        except NotFoundError as e:
            if is_missing_bucket(e):
                raise
            raise NotFoundError(
                f"backup {backup_id} of {self.source} does not exist (or is incomplete: it has no manifest)",
                hint="list the backups with `redisops backup list`",
                context={"source": self.source, "backup_id": backup_id},
            ) from None
        m = Manifest.from_json(data, where=f"manifest of backup {backup_id}")
        if m.id != backup_id or m.source.name != self.source:
            raise VerificationError(
                f"the manifest in the folder of {backup_id} describes backup {m.id} of {m.source.name}",
                hint="the manifest was copied or altered; do not restore from this backup",
                context={"backup_id": backup_id, "manifest_id": m.id},
            )
        return m

    def latest(self, *, verified_only: bool = False, include_safety: bool = False) -> Manifest | None:
        """The newest committed backup, or None.

        Safety backups (``purpose`` "safety": what a restore took of the data it was about to replace)
        are skipped unless ``include_safety``: after a refused restore, "latest" still means the backup
        the operator meant. ``verified_only`` considers only write-time verified backups.
        """
        for m in self.list():
            if m.is_safety and not include_safety:
                continue
            if m.verified or not verified_only:
                return m
        return None

    def open_object(
        self, backup_id: str, name: str, *, chunk_size: int = _CHUNK, hash_check: bool = True
    ) -> Iterator[bytes]:
        """Stream object ``name`` of a backup; the size and SHA-256 are checked at the end.

        The manifest is read now (NotFoundError for an unknown backup or object); the download starts on
        the first ``next()``. Raises VerificationError (after the last chunk, or as soon as the object
        is longer than recorded) when the content does not match the manifest. ``hash_check=False``
        skips only the SHA-256 (the size is still checked), for a consumer that hashes the bytes
        against the manifest itself (the restore engine does).
        """
        m = self.get(backup_id)
        try:
            entry = m.object(name)
        except KeyError:
            raise NotFoundError(
                f"backup {backup_id} of {self.source} has no object {name!r}",
                context={"backup_id": backup_id, "objects": [o.name for o in m.objects]},
            ) from None
        return self._verified_stream(backup_id, entry, chunk_size, hash_check)

    def _verified_stream(
        self, backup_id: str, entry: ObjectEntry, chunk_size: int, hash_check: bool = True
    ) -> Iterator[bytes]:
        key = self.layout.object_key(self.source, backup_id, entry.name)
        sha = hashlib.sha256() if hash_check else None
        size = 0
        for chunk in self.s3.iter_chunks(key, chunk_size=chunk_size, read_ahead=_READ_AHEAD):
            size += len(chunk)
            if size > entry.size:
                raise self._mismatch(
                    backup_id, entry, f"the stored object is longer than the {entry.size} bytes recorded"
                )
            if sha is not None:
                sha.update(chunk)
            yield chunk
        # a connection cut raises ConnectionFailed: a complete read of another size is another object
        if size != entry.size:
            raise self._mismatch(
                backup_id, entry, f"the stored object is {size} bytes, the manifest records {entry.size}"
            )
        if sha is not None and sha.hexdigest() != entry.sha256:
            raise self._mismatch(backup_id, entry, "its SHA-256 differs from the manifest's")

    def _mismatch(self, backup_id: str, entry: ObjectEntry, what: str) -> VerificationError:
        return VerificationError(
            f"object {entry.name} of backup {backup_id} ({self.source}) does not match its manifest: "
            f"{what} (it was replaced, truncated or corrupt after the backup was taken)",
            hint=f"use another backup (redisops backup list); `redisops backup verify {backup_id}` "
            "checks every object of a backup against its manifest",
            context={"backup_id": backup_id, "source": self.source, "object": entry.name},
        )

    def verify(self, backup_id: str, *, verifier_factory: VerifierFactory | None = None) -> VerifyReport:
        """Re-read every object and check its size and SHA-256 against the manifest.

        ``verifier_factory(entry)`` may return a :class:`StreamVerifier` for an object (e.g. the RDB
        trailer check for ``dump.rdb``); its ``finish()`` raising VerificationError fails that object and
        its result becomes ``ObjectCheck.detail``. A missing object fails it too. Connection errors are
        raised (not knowing is not a failed verification).
        """
        m = self.get(backup_id)
        checks = []
        for entry in m.objects:
            key = self.layout.object_key(self.source, backup_id, entry.name)
            verifier = verifier_factory(entry) if verifier_factory is not None else None
            sha = hashlib.sha256()
            size = 0
            try:
                for chunk in self.s3.iter_chunks(key, read_ahead=_READ_AHEAD):
                    sha.update(chunk)
                    size += len(chunk)
                    if verifier is not None:
                        verifier.feed(chunk)
            except NotFoundError:
                checks.append(ObjectCheck(entry.name, entry.size, entry.sha256, None, None, "missing"))
                continue
            except VerificationError as e:  # the verifier refused the content early
                checks.append(ObjectCheck(entry.name, entry.size, entry.sha256, size, None, e.message))
                continue
            actual = sha.hexdigest()
            problems = []
            if size != entry.size:
                problems.append(f"size {size}, manifest records {entry.size}")
            if actual != entry.sha256:
                problems.append("SHA-256 differs from the manifest")
            detail: object | None = None
            if verifier is not None:
                try:
                    detail = verifier.finish()
                except VerificationError as e:
                    problems.append(e.message)
            checks.append(
                ObjectCheck(
                    entry.name, entry.size, entry.sha256, size, actual, "; ".join(problems) or None, detail
                )
            )
        return VerifyReport(backup_id, self.source, tuple(checks))

    # --- deleting ------------------------------------------------------------------------------------------
    def delete(self, backup_id: str) -> builtins.list[str]:
        """Delete a backup: the manifest FIRST (so it is never listed half-deleted), then its objects.

        Also aborts multipart uploads in its folder. Returns the deleted keys. NotFoundError when the folder
        is empty; ConflictError for the backup being written right now (it holds the lock).
        """
        prefix = self.layout.backup_prefix(self.source, backup_id)
        manifest_key = prefix + MANIFEST_NAME
        has_manifest = self.s3.exists(manifest_key)
        if not has_manifest:
            holder = self.lock_info()
            if holder is not None and holder.backup_id == backup_id:
                raise ConflictError(
                    f"backup {backup_id} of {self.source} is being written (it holds the lock)",
                    hint="wait for it to finish, or abort it",
                    context={"backup_id": backup_id, "holder": holder.host},
                )
        deleted: list[str] = []
        if has_manifest:
            self.s3.delete(manifest_key)
            deleted.append(manifest_key)
        for u in self.s3.list_multipart_uploads(prefix):
            self.s3.abort_multipart_upload(u.key, u.upload_id)
        rest = [k for k in self.s3.list_keys(prefix) if k != manifest_key]
        self.s3.delete_keys(rest)
        deleted.extend(rest)
        if not deleted:
            raise NotFoundError(
                f"backup {backup_id} of {self.source} does not exist",
                context={"source": self.source, "backup_id": backup_id},
            )
        return deleted

    def plan_retention(self, rules: RetentionRules) -> RetentionPlan:
        """Which committed backups the rules keep and delete (``verified`` = verified while written)."""
        refs = [BackupRef(m.id, m.created_at, m.verified, m.purpose) for m in self.list()]
        return plan_retention(refs, rules)

    def prune(self, rules: RetentionRules, *, dry_run: bool = False) -> RetentionPlan:
        """Apply :meth:`plan_retention`: delete what it does not keep (nothing with ``dry_run``)."""
        plan = self.plan_retention(rules)
        if not dry_run:
            for b in plan.delete:
                self.delete(b.id)
        return plan

    def gc(self, now: datetime, grace: timedelta = DEFAULT_GC_GRACE, *, dry_run: bool = False) -> GcReport:
        """Remove leftovers of failed backups under the root (all sources), older than ``grace``.

        * unfinished multipart uploads under ``<root>/``;
        * objects in backup folders without a manifest.

        Something is young if its backup id's time or its newest LastModified/Initiated is within
        ``grace`` of ``now``; young things and backups holding a lock are kept. Committed backups and
        keys outside the layout are never touched. With ``dry_run`` nothing is removed.
        """
        if grace < timedelta(0):
            raise InvalidArgument(
                f"the gc grace period must not be negative ({grace})",
                hint="give 0 or more hours: leftovers younger than this are kept",
            )
        active = self._active_backups()
        kept: list[tuple[str, str]] = []

        def young(backup_id: str | None, times: Iterable[datetime | None]) -> bool:
            stamps = [t for t in times if t is not None]
            if backup_id is not None:
                stamps.append(backup_id_time(backup_id))
            return any(now - t <= grace for t in stamps)

        aborted: list[MultipartUpload] = []
        for u in self.s3.list_multipart_uploads(self.layout.prefix):
            info = self.layout.parse_key(u.key)
            bid = info.backup_id if info else None
            if info is not None and (info.source, info.backup_id) in active:
                kept.append((u.key, "upload of a running backup"))
            elif young(bid, [u.initiated]):
                kept.append((u.key, "upload younger than the grace period"))
            else:
                aborted.append(u)

        folders: dict[tuple[str, str], list[ListedObject]] = {}
        unknown: list[str] = []
        for obj in self.s3.list_objects(self.layout.backups_prefix):
            info = self.layout.parse_key(obj.key)
            if info is None:
                unknown.append(obj.key)
                continue
            folders.setdefault((info.source, info.backup_id), []).append(obj)
        deleted: list[str] = []
        incomplete: list[str] = []
        for (src, bid), objs in sorted(folders.items()):
            if any(o.key == self.layout.manifest_key(src, bid) for o in objs):
                continue  # committed
            folder = self.layout.backup_prefix(src, bid)
            if (src, bid) in active:
                kept.append((folder, "backup is running (holds the lock)"))
            elif young(bid, [o.last_modified for o in objs]):
                kept.append((folder, "incomplete backup younger than the grace period"))
            else:
                incomplete.append(folder)
                deleted.extend(o.key for o in objs)

        if not dry_run:
            for u in aborted:
                self.s3.abort_multipart_upload(u.key, u.upload_id)
            self.s3.delete_keys(deleted)
        if unknown:
            log.warning(
                "gc: %d keys under %s are not part of the layout; left alone",
                len(unknown),
                self.layout.backups_prefix,
            )
        return GcReport(
            dry_run=dry_run,
            aborted_uploads=tuple(aborted),
            deleted_keys=tuple(deleted),
            incomplete_backups=tuple(incomplete),
            kept=tuple(kept),
            unknown_keys=tuple(unknown),
            grace=grace,
        )

    def _active_backups(self) -> set[tuple[str, str]]:
        """(source, backup id) of every lock under the root (any source)."""
        out: set[tuple[str, str]] = set()
        for key in self.s3.list_keys(self.layout.locks_prefix):
            try:
                data, etag = self.s3.get_bytes(key)
                lock = LockInfo.from_json(data, etag)
            except (NotFoundError, ParseError):
                continue
            out.add((lock.source, lock.backup_id))
        return out
