"""How a backup reports and stops: progress records, the event stream, cancellation, what was kept.

Shared by the RDB backup (:mod:`redisops.ops.backup`) and the AOF backup (:mod:`redisops.ops.backup_aof`);
``BackupProgress`` stays importable from :mod:`redisops.ops.backup`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from redisops.backup import BackupStore, BackupWriter
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, RedisOpsError
from redisops.events import Reporter

# no __all__: helpers of the backup operations; BackupProgress and Progress are public in redisops.ops.backup


@dataclass(frozen=True)
class BackupProgress:
    """A progress report: the phase, bytes done, the total when known, and a sentence for people.

    ``message`` is set when there is something to say beyond the numbers, e.g. in the ``waiting``
    phase: "waiting for Redis to start the stream (repl-diskless-sync-delay, up to 5s)".
    """

    phase: str
    done: int = 0
    total: int | None = None
    message: str = ""


Progress = Callable[[BackupProgress], None]


class Say:
    """One place that reports to the old ``progress`` callback, the event stream and checks ``cancel``."""

    def __init__(self, progress: Progress | None, reporter: Reporter | None, cancel: CancelToken | None):
        self._progress = progress
        self.reporter = reporter
        self.cancel = cancel

    def __call__(self, p: BackupProgress) -> None:
        """Hand ``p`` to the old-style ``progress`` callback, if any."""
        if self._progress is not None:
            self._progress(p)

    def phase(self, name: str, detail: str = "") -> None:
        """A phase event on the stream."""
        if self.reporter is not None:
            self.reporter.phase(name, detail)

    def progress(self, done: int, total: int | None, estimate: bool = False) -> None:
        """A progress event in bytes (``estimate``: the total is a guess)."""
        if self.reporter is not None:
            self.reporter.progress(done, total, unit="bytes", estimate=estimate)

    def check(self, doing: str) -> None:
        """Raise :class:`~redisops.errors.Interrupted` when cancelled (``doing`` says where)."""
        if self.cancel is not None:
            self.cancel.check(doing)

    def copied(self, before: int, total: int) -> Callable[[int], None]:
        """Per chunk read of one AOF file (``before`` bytes of earlier files): progress, cancel check."""

        def on_chunk(read: int) -> None:
            self.progress(before + read, total)
            self.check("while copying the AOF files")

        return on_chunk

    def uploaded(self, name: str) -> Callable[[int], None]:
        """The upload's progress hook: a debug log per part S3 acknowledged, and a cancel check."""

        def on_upload(sent: int) -> None:
            if self.reporter is not None:
                self.reporter.log(f"uploaded {sent} bytes of {name}", level="debug")
            self.check("while uploading")

        return on_upload


class Estimate:
    """The stream's total: the ``$<len>`` of a disk-based transfer, else a labelled estimate.

    The estimate is INFO's ``used_memory_dataset``, else the size of the newest backup; it grows when the
    stream outruns it, so a bar does not sit at 100% (it stays marked as an estimate).
    """

    def __init__(self, dataset_bytes: int | None, store: BackupStore) -> None:
        self._guess = dataset_bytes or None
        self._store = store
        self._looked = dataset_bytes is not None and dataset_bytes > 0

    def total(self, done: int, exact: int | None) -> tuple[int | None, bool]:
        """(total, estimate) for ``done`` bytes so far."""
        if exact is not None:
            return exact, False
        if not self._looked:
            self._looked = True
            try:
                newest = self._store.latest(include_safety=True)
            except RedisOpsError:
                newest = None
            self._guess = newest.size if newest is not None and newest.size else None
        if self._guess is None:
            return None, False
        if done >= self._guess:
            self._guess = done + max(done // 20, 1)
        return self._guess, True


@contextmanager
def interruptible(writers: list[BackupWriter]) -> Iterator[None]:
    """Turn Ctrl-C or a cancellation into :class:`Interrupted` saying what was stored.

    The writer has aborted by then (the multipart upload, the objects, the lock).
    """
    try:
        yield
    except (KeyboardInterrupt, Interrupted) as e:
        raise what_was_kept(writers, e) from None


def what_was_kept(writers: list[BackupWriter], e: KeyboardInterrupt | Interrupted) -> Interrupted:
    why = "interrupted" if isinstance(e, KeyboardInterrupt) else str(e.context.get("reason") or "cancelled")
    ctx: dict[str, Any] = {} if isinstance(e, KeyboardInterrupt) else {"reason": why}
    writer = writers[-1] if writers else None
    if writer is None:
        return Interrupted(f"{why} before the backup started; nothing was stored", context=ctx)
    ctx["backup_id"] = writer.backup_id
    if writer.state == "committed":
        return Interrupted(
            f"{why} after backup {writer.backup_id} was stored (it is complete)",
            hint="see it with `redisops backup list`",
            context=ctx,
        )
    if writer.cleanup_error is not None:
        return Interrupted(
            f"{why}; nothing was stored, but the partial upload of {writer.backup_id} could not be "
            f"removed ({writer.cleanup_error})",
            hint="`redisops backup gc` removes it later; `redisops backup unlock` if the lock stayed",
            context=ctx,
        )
    return Interrupted(f"{why}; nothing was stored (the partial upload was aborted)", context=ctx)
