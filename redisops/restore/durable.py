"""Durable file writes for the restore engine: staged downloads, atomic small files, directory syncs.

A restore is only worth something if it survives a power cut between "restore finished" and Redis's
next start, so every file it installs is fsync'ed, and so is every directory whose entries it changed.
Syncing a 1 GiB file at the end costs about as long as writing it; :func:`stage_file` therefore syncs
in the background while the download goes on (what Redis itself does with
``rdb-save-incremental-fsync``), which leaves only the last few MiB for the final fsync.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from redisops.errors import VerificationError
from redisops.rdb import RdbVerification
from redisops.restore.plan import ExpectedFile

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "BackgroundSync",
    "Checker",
    "fsync_dir",
    "stage_file",
    "synced_seconds",
    "write_atomic",
]

_blocked = threading.local()


def synced_seconds() -> float:
    """Seconds this thread has spent so far waiting for fsyncs of the restore's files and folders (the
    durability work a plain copy skips; background syncs overlapping the download are not in it).
    Callers take the difference around a step."""
    return float(getattr(_blocked, "seconds", 0.0))


def _fsync(fd: int) -> None:
    t = time.monotonic()
    try:
        os.fsync(fd)
    finally:
        _blocked.seconds = synced_seconds() + time.monotonic() - t


FILE_MODE = 0o644
DIR_MODE = 0o755
#: bytes written between two background syncs of a staged file
SYNC_EVERY = 32 * 1024 * 1024
_MISMATCH_HINT = (
    "use another backup (redisops backup list); `redisops backup verify ID` checks every object of a "
    "backup against its manifest"
)


class Checker(Protocol):
    """Content checks fed with the bytes of a staged file (e.g. the RDB structure and CRC64)."""

    def feed(self, chunk: bytes) -> None: ...

    def finish(self) -> RdbVerification | None: ...


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, fsync of the directory."""
    tmp = path.with_name(f"{path.name}.tmp-{secrets.token_hex(3)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.write(fd, data)
        _fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


class BackgroundSync:
    """fdatasync an open file on a thread whenever ``every`` more bytes were written to it.

    :meth:`wrote` never blocks; at most one sync runs at a time (requests arriving meanwhile merge into
    the next one). :meth:`close` stops the thread and re-raises a sync error (e.g. EIO), so a failing
    disk fails the restore instead of being found at Redis's next start.
    """

    def __init__(self, fd: int, *, every: int = SYNC_EVERY) -> None:
        self._fd = fd
        self._every = every
        self._unsynced = 0
        self._wake = threading.Condition()
        self._pending = False
        self._closed = False
        self._error: OSError | None = None
        self.syncs = 0
        self._thread = threading.Thread(target=self._run, name="restore-sync", daemon=True)
        self._thread.start()

    def wrote(self, n: int) -> None:
        """Account ``n`` bytes just written; request a sync once ``every`` bytes are unsynced."""
        self._unsynced += n
        if self._unsynced >= self._every:
            self._unsynced = 0
            with self._wake:
                self._pending = True
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                self._pending = False
            try:
                os.fdatasync(self._fd)
                self.syncs += 1
            except OSError as e:
                self._error = e
                return

    def close(self) -> None:
        """Stop the thread after the syncs already requested; raise the first sync error, if any."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error


class _ThreadedSha256:
    """SHA-256 on a thread of its own, beside the download and the other checks (hashlib releases the
    GIL on large buffers): the chunks are hashed in order through a bounded queue."""

    def __init__(self, depth: int = 16) -> None:
        import queue

        self._sha = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="restore-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._sha.update(chunk)

    def update(self, chunk: bytes) -> None:
        """Queue ``chunk`` (blocks only when the hasher is ``depth`` chunks behind)."""
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        """Wait for the queued chunks; the digest."""
        self.close()
        return self._sha.hexdigest()

    def close(self) -> None:
        """Stop the thread (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def _preallocate(fd: int, size: int) -> None:
    """Reserve ``size`` bytes up front (faster writes, ENOSPC before the download); best effort."""
    if size <= 0 or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise
        # EOPNOTSUPP/EINVAL on filesystems without fallocate: plain writes work there


def stage_file(
    chunks: Iterable[bytes],
    path: Path,
    want: ExpectedFile,
    checker: Checker,
    name: str,
    progress: Callable[[int], None],
) -> RdbVerification | None:
    """Write ``chunks`` to the new file ``path`` while hashing and checking; durable when it returns.

    Raises VerificationError on more or fewer bytes than ``want.size``, another SHA-256, or a failed
    content check. ``path`` is left behind on failure: it lives in a staging directory that the caller
    removes.
    """
    sha = _ThreadedSha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    sync: BackgroundSync | None = None
    try:
        _preallocate(fd, want.size)
        sync = BackgroundSync(fd)
        for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > want.size:
                raise VerificationError(
                    f"{name} does not match the backup's manifest: more bytes than the recorded size "
                    f"{want.size} (replaced or corrupt after the backup was taken)",
                    hint=_MISMATCH_HINT,
                    context={"file": name, "expected_size": want.size},
                )
            data = bytes(chunk)
            sha.update(data)
            checker.feed(data)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            sync.wrote(len(data))
            progress(len(data))
        if size != want.size:
            raise VerificationError(
                f"{name} does not match the backup's manifest: {size} bytes, the recorded size is "
                f"{want.size} (replaced, truncated or corrupt after the backup was taken)",
                hint=_MISMATCH_HINT,
                context={"file": name, "size": size, "expected_size": want.size},
            )
        digest = sha.hexdigest()
        if digest != want.sha256:
            raise VerificationError(
                f"{name} does not match the backup's manifest: sha256 {digest} differs from the recorded "
                f"{want.sha256} (replaced or corrupt after the backup was taken)",
                hint=_MISMATCH_HINT,
                context={"file": name, "sha256": digest, "expected_sha256": want.sha256},
            )
        result = checker.finish()
        pending, sync = sync, None
        t = time.monotonic()
        pending.close()  # waits for the background sync running now
        _blocked.seconds = synced_seconds() + time.monotonic() - t
        _fsync(fd)
    finally:
        sha.close()
        if sync is not None:
            with contextlib.suppress(OSError):  # the error that brought us here matters more
                sync.close()
        os.close(fd)
    return result
