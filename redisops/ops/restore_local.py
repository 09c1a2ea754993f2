"""Restore into a local redis-server (the sandbox, tests): stage, stop, install, start, verify.

The file work is :mod:`redisops.restore` (the same engine a Kubernetes Job runs on the PVC); this module
adds what only makes sense where the server process is at hand, in an order that keeps the server down
only for the install and the start:

1. stage: download, verify (SHA-256, RDB structure, CRC64, version) and fsync the backup into the data
   dir's staging folder while the server keeps serving (same filesystem: the install is a rename). A
   refusal (corrupt backup, RDB too new) or a cancellation removes the staging folder; the server
   never stopped and its data dir is unchanged.
2. ``stop()``: the caller's stop (``ManagedProcess.stop``: SIGTERM, or a
   :class:`~redisops.ops.platform.Platform`'s). Redis then does its shutdown save, so the files moved
   aside hold the dataset as it was at the last moment: undo gives back exactly that.
3. install: the engine plans again on the stopped data dir (the shutdown save may have written a
   file), moves the current files aside and renames the staged ones into place.
4. ``start()``, then poll ``INFO`` until ``loading:0``; check ``aof_enabled`` matches the target's
   ``appendonly``; compare per-db key counts with the backup's by the one rule of
   :mod:`redisops.restore.keycounts` (keys with a TTL may expire between backup and load).

A failure after the install leaves everything in place (the restored files, the undo folder) and says
how to go back: stop the server, :func:`undo_local` (or :func:`redisops.restore.undo_restore`), start.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.cancel import CancelToken
from redisops.errors import (
    Interrupted,
    RedisOpsError,
    VerificationError,
)
from redisops.events import Reporter
from redisops.inspect import Info
from redisops.ops.loading import wait_loaded  # re-exported: its home is ops.loading
from redisops.restore import (
    ExpectedBackup,
    ProgressCallback,
    RestoreResult,
    StagedRestore,
    TargetSettings,
    UndoResult,
    install_staged,
    stage_aof_dir,
    stage_rdb,
    undo_restore,
)
from redisops.restore.keycounts import compare_key_counts, counts_of

__all__ = [
    "LocalRestoreResult",
    "LocalUndoResult",
    "compare_key_counts",
    "restore_local",
    "undo_local",
    "wait_loaded",
]


@dataclass(frozen=True)
class LocalRestoreResult:
    """A local restore: the engine's result, the loaded server's counts and the RTO timings (seconds).

    Attributes:
        key_counts: db -> (keys, expires) on the server after loading.
        expired_meanwhile: keys with a TTL in the backup that the server did not load (expired).
        stop_seconds, stage_seconds, install_seconds, start_to_loaded_seconds, total_seconds: timings;
            ``stage`` includes consuming the source (the download), while the server still serves.
        downtime_seconds: from the stop until the restarted server had loaded (the stop, the
            install and the start: the download is not in it).
    """

    engine: RestoreResult
    key_counts: dict[int, tuple[int, int]]
    expired_meanwhile: int
    aof_enabled: bool
    stop_seconds: float
    stage_seconds: float
    install_seconds: float
    start_to_loaded_seconds: float
    total_seconds: float
    notes: list[str] = field(default_factory=list)
    downtime_seconds: float = 0.0


@dataclass(frozen=True)
class LocalUndoResult:
    """A local undo: the engine's result and the loaded server's key counts."""

    engine: UndoResult
    key_counts: dict[int, tuple[int, int]]
    start_to_loaded_seconds: float

    def summary(self) -> list[str]:
        """What the undo did, as a few human lines."""
        e = self.engine
        counts = ", ".join(f"db{db} {k}" for db, (k, _x) in sorted(self.key_counts.items())) or "no keys"
        return [
            f"undid restore {e.undone_operation_id}: put back {', '.join(e.put_back) or 'nothing'} "
            f"in {e.data_dir}",
            f"keys loaded: {counts} (start to loaded {self.start_to_loaded_seconds:.2f}s)",
            f"the replaced files are in {e.undo_dir}; to go back to them: redisops restore undo",
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        e = self.engine
        return {
            "dry_run": False,
            "operation_id": e.operation_id,
            "undid": e.undone_operation_id,
            "data_dir": str(e.data_dir),
            "put_back": list(e.put_back),
            "moved_aside": list(e.moved_aside),
            "undo_dir": str(e.undo_dir),
            "key_counts": {
                str(db): {"keys": k, "expires": x} for db, (k, x) in sorted(self.key_counts.items())
            },
            "start_to_loaded_seconds": round(self.start_to_loaded_seconds, 3),
        }


def _counts(info: Info) -> dict[int, tuple[int, int]]:
    return {db: (k.keys, k.expires) for db, k in info.keyspace.items() if k.keys}


def _undo_hint(result: RestoreResult) -> str:
    return (
        f"the previous files are in {result.undo_dir}; to go back: stop the server, then run "
        f"redisops.restore.undo_restore({str(result.data_dir)!r}, now) (or redisops.ops.restore_local."
        "undo_local), then start it"
    )


def _interrupted_after_install(result: RestoreResult) -> Interrupted:
    return Interrupted(
        f"interrupted after the install: backup {result.backup_id} is in place in {result.data_dir} but "
        f"was not verified; the previous files are in {result.undo_dir}; undo with: redisops restore undo",
        context={
            "data_dir": str(result.data_dir),
            "installed": True,
            "undo_dir": str(result.undo_dir),
            "operation_id": result.operation_id,
        },
    )


def _close(source: object) -> None:
    """Close the source's iterators (generators holding an S3 body); best effort."""
    for it in source.values() if isinstance(source, Mapping) else (source,):
        close = getattr(it, "close", None)
        if callable(close) and not isinstance(it, Path):
            with contextlib.suppress(Exception):
                close()


def _interrupted_before_install(why: str, data_dir: Path) -> Interrupted:
    """The Interrupted of a restore cancelled while staging: the server never stopped."""
    context: dict[str, Any] = {"data_dir": str(data_dir), "installed": False, "server_stopped": False}
    if why != "interrupted":
        context["reason"] = why
    return Interrupted(
        f"{why} before the install; the data dir {data_dir} is unchanged and the server kept running",
        context=context,
    )


def _stage(
    source: Iterable[bytes] | Mapping[str, Iterable[bytes]] | Path,
    data_dir: Path,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    engine_args: dict[str, Any],
) -> StagedRestore:
    if expected.kind == "rdb":
        if isinstance(source, Mapping | Path):
            raise TypeError("an RDB backup is restored from an iterable of chunks")
        return stage_rdb(source, data_dir, settings, expected, now, server_running=True, **engine_args)
    if not isinstance(source, Mapping | Path):
        raise TypeError("an AOF backup is restored from a mapping of file chunks or a directory")
    return stage_aof_dir(source, data_dir, settings, expected, now, server_running=True, **engine_args)


def restore_local(
    *,
    stop: Callable[[], None],
    start: Callable[[], None],
    data_dir: Path,
    settings: TargetSettings,
    source: Iterable[bytes] | Mapping[str, Iterable[bytes]] | Path,
    expected: ExpectedBackup,
    now: datetime,
    verify_endpoint: RedisEndpoint,
    load_timeout: float = 300.0,
    on_progress: ProgressCallback | None = None,
    operation_id: str | None = None,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> LocalRestoreResult:
    """Restore ``expected`` from ``source`` into ``data_dir`` of a local server, stopping it only for
    the install and the start.

    The order: download, verify and fsync into the data dir's staging folder while the server keeps
    serving (:func:`redisops.restore.stage_rdb` with ``server_running``); then stop, move the current
    files aside, rename the staged ones into place (:func:`redisops.restore.install_staged`), start,
    wait until loaded, verify. The server is down from the stop until it has loaded
    (``downtime_seconds``), not for the download.

    Args:
        stop, start: stop the server (SIGTERM, it saves first) and start it again (returns once it
            answers; ``ManagedProcess.stop`` / ``start_redis``, or a
            :class:`~redisops.ops.platform.Platform`'s).
        source: RDB chunks for an RDB backup; file name -> chunks, or a directory, for an AOF backup.
        verify_endpoint: where the restarted server answers.
        reporter: the phases ``downloading`` (byte progress of the backup's size), ``stopping``,
            ``installing``, ``starting`` and ``verifying``.
        cancel: checked through the download and once more before the stop; a cancellation then
            removes the staging folder and raises :class:`~redisops.errors.Interrupted`: the data dir
            is unchanged and the server never stopped. After the stop it is not checked: the restore
            completes (install, start, verify) rather than leave the server down or unverified.
        (the others as for :func:`redisops.restore.restore_rdb`)

    Raises:
        VerificationError: the backup did not verify (the server was never stopped), or the loaded
            server's key counts / AOF state differ (the restored files stay; the hint says how to undo).
        ConflictError, PlatformError, OperationTimeout: from the engine or the start.
    """
    if cancel is not None:
        cancel.check("before the restore started; nothing was changed")
    t0 = time.monotonic()
    engine_args: dict[str, Any] = {
        "on_progress": on_progress,
        "operation_id": operation_id,
        "reporter": reporter,
        "cancel": cancel,
    }
    try:
        staged = _stage(source, data_dir, settings, expected, now, engine_args)
        if cancel is not None:
            try:
                cancel.check("before the install")  # the last moment before the server stops
            except Interrupted:
                staged.discard()
                raise
    except Interrupted as e:
        # cancelled while staging: the staging folder is gone, the server never stopped
        _close(source)  # drop the download's connection now rather than when it is collected
        raise _interrupted_before_install(str(e.context.get("reason") or "cancelled"), data_dir) from None
    except RedisOpsError as e:
        e.context["server_stopped"] = False
        e.hint = (e.hint + "; " if e.hint else "") + "the server kept running on its previous data"
        raise
    except KeyboardInterrupt:
        # the engine removed its staging dir: nothing changed
        raise _interrupted_before_install("interrupted", data_dir) from None
    t_staged = time.monotonic()
    if reporter is not None:
        reporter.phase("stopping", f"stopping the server on {data_dir}")
    stop()
    t_stopped = time.monotonic()
    try:
        result = install_staged(staged, reporter=reporter)
    except RedisOpsError as e:
        # the install refused or rolled back: the data dir holds its previous files
        try:
            start()
            e.context["server_restarted"] = True
            e.hint = (e.hint + "; " if e.hint else "") + "the server was restarted on its previous data"
        except RedisOpsError as start_error:
            e.context["server_restarted"] = False
            e.context["restart_error"] = start_error.message
        raise
    t_start = time.monotonic()
    try:
        if reporter is not None:
            reporter.phase("starting", "starting the server on the restored files")
        start()
        info = wait_loaded(verify_endpoint, timeout=load_timeout)
        if reporter is not None:
            reporter.phase("verifying", "checking aof_enabled and the key counts")
    except RedisOpsError as e:
        e.context.update(undo_dir=str(result.undo_dir), operation_id=result.operation_id)
        e.hint = (e.hint + "; " if e.hint else "") + _undo_hint(result)
        raise
    except KeyboardInterrupt:
        raise _interrupted_after_install(result) from None
    t_loaded = time.monotonic()
    return _verified(result, info, settings, expected, timings=(t0, t_staged, t_stopped, t_start, t_loaded))


def _verified(
    result: RestoreResult,
    info: Info,
    settings: TargetSettings,
    expected: ExpectedBackup,
    *,
    timings: tuple[float, float, float, float, float],
) -> LocalRestoreResult:
    """Check the loaded server against the backup; the result with its timings."""
    t0, t_staged, t_stopped, t_start, t_loaded = timings
    live = _counts(info)
    aof_enabled = bool(info.persistence.aof_enabled)
    problems: list[str] = []
    if aof_enabled != settings.appendonly:
        problems.append(
            f"aof_enabled is {int(aof_enabled)}, the target settings say appendonly {settings.appendonly}"
        )
    expired = 0
    notes: list[str] = []
    if expected.key_counts is None:
        notes.append("the backup recorded no key counts: only loading and aof_enabled were checked")
    else:
        count_problems, expired = compare_key_counts(counts_of(expected.key_counts), live)
        problems += count_problems
        if expired:
            notes.append(f"{expired} keys with a TTL expired between the backup and the load")
    if problems:
        raise VerificationError(
            "the restored server does not hold the backup's dataset: " + "; ".join(problems),
            hint=_undo_hint(result),
            context={
                "problems": problems,
                "undo_dir": str(result.undo_dir),
                "operation_id": result.operation_id,
            },
        )
    return LocalRestoreResult(
        engine=result,
        key_counts=live,
        expired_meanwhile=expired,
        aof_enabled=aof_enabled,
        stop_seconds=t_stopped - t_staged,
        stage_seconds=result.stage_seconds,
        install_seconds=result.install_seconds,
        start_to_loaded_seconds=t_loaded - t_start,
        total_seconds=t_loaded - t0,
        notes=notes,
        downtime_seconds=t_loaded - t_staged,
    )


def undo_local(
    *,
    stop: Callable[[], None],
    start: Callable[[], None],
    data_dir: Path,
    now: datetime,
    verify_endpoint: RedisEndpoint,
    load_timeout: float = 300.0,
) -> LocalUndoResult:
    """Stop the local server, undo the last restore (or undo) on ``data_dir``, start, wait until loaded.

    Raises:
        ConflictError: nothing to undo (no record) or the undo folder is incomplete; the server is
            started again unchanged.
    """
    stop()
    try:
        result = undo_restore(data_dir, now)
    except RedisOpsError:
        with contextlib.suppress(RedisOpsError):
            start()
        raise
    t = time.monotonic()
    start()
    info = wait_loaded(verify_endpoint, timeout=load_timeout)
    return LocalUndoResult(
        engine=result, key_counts=_counts(info), start_to_loaded_seconds=time.monotonic() - t
    )
