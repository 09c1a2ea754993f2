"""Restore into a local redis-server (the sandbox, tests, a drill): the data access of the one flow.

The sequence is :class:`redisops.ops.restore_flow.RestoreFlow`'s, the same as on Kubernetes; this module
is how it reaches a local data dir (:class:`DataDirAccess`: the engine of :mod:`redisops.restore`, the
one a Kubernetes Job runs on the PVC, right here), and :func:`restore_local` / :func:`undo_local` run it
for a server given by a stop and a start callable. The order keeps the server down only for the
install and the start:

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
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, RedisOpsError
from redisops.events import Reporter
from redisops.inspect import Info
from redisops.ops.loading import wait_loaded  # re-exported: its home is ops.loading
from redisops.ops.platform import ProcessPlatform
from redisops.restore import (
    ExpectedBackup,
    ProgressCallback,
    RestorePlan,
    RestoreResult,
    StagedRestore,
    TargetSettings,
    UndoResult,
    install_staged,
    plan_restore_in,
    stage_aof_dir,
    stage_rdb,
    undo_restore,
)
from redisops.restore.keycounts import compare_key_counts

if TYPE_CHECKING:
    from redisops.ops.restore_flow import FlowOutcome, FlowPlan

__all__ = [
    "DataDirAccess",
    "LocalRestoreResult",
    "LocalUndoResult",
    "compare_key_counts",
    "restore_local",
    "undo_local",
    "wait_loaded",
]

Source = Iterable[bytes] | Mapping[str, Iterable[bytes]] | Path


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


class DataDirAccess:
    """The data access of a local data dir for :class:`~redisops.ops.restore_flow.RestoreFlow`: the
    engine stages beside the running server, installs once it is stopped, undoes (see the module
    docstring).

    Args:
        source: RDB chunks for an RDB backup; file name -> chunks, or a directory, for an AOF backup.
        ignore_pids: the server processes the run stops first (not blockers of the plan).
        restart_on_failure: start the server again after a failed install (False for a drill's
            scratch server, which never ran).
    """

    restarted_note = "the server was restarted on its previous data"

    def __init__(
        self,
        data_dir: Path,
        settings: TargetSettings,
        source: Source | None,
        now: datetime,
        *,
        on_progress: ProgressCallback | None = None,
        ignore_pids: Collection[int] = (),
        undo_command: str = "redisops restore undo",
        restore_command: str = "redisops restore",
        place: str = "the target",
        restart_on_failure: bool = True,
    ) -> None:
        self.data_dir, self.settings, self.source, self.now = data_dir, settings, source, now
        self.on_progress, self.ignore_pids = on_progress, tuple(ignore_pids)
        self.undo_command, self.restore_command, self.place = undo_command, restore_command, place
        self.restart_on_failure = restart_on_failure
        self._engine_plan: RestorePlan | None = None

    # -- plan --

    def engine_plan(self, plan: FlowPlan) -> RestorePlan:
        """The engine's plan on the data dir as it is now (read once per flow plan)."""
        if self._engine_plan is None or self._engine_plan.operation_id != plan.operation_id:
            self._engine_plan = plan_restore_in(
                self.data_dir, self.settings, plan.expected, self.now,
                operation_id=plan.operation_id, ignore_pids=self.ignore_pids,
            )  # fmt: skip
        return self._engine_plan

    def blockers(self, plan: FlowPlan) -> list[RedisOpsError]:
        """The engine's refusals (corrupt layout, no space, the dataset over maxmemory, ...)."""
        return list(self.engine_plan(plan)._errors)

    def warnings(self, plan: FlowPlan) -> list[str]:
        """The engine's warnings."""
        return list(self.engine_plan(plan).warnings)

    def plan_steps(self, plan: FlowPlan) -> list[str]:
        """The engine's actions in the order the run takes them: stage while the target serves, then
        stop, install, start and verify (the target is down only from the stop to the verify)."""
        ep = self.engine_plan(plan)
        staging = [a for a in ep.actions if a.kind in ("stage", "write_manifest")]
        install = [a for a in ep.actions if a.kind not in ("stage", "write_manifest")]
        lines = [f"restore {ep.backup_id} as {ep.form} form (operation {ep.operation_id})"]
        if plan.beside:
            lines.append(
                f"1. while {self.place} keeps serving: download, verify and fsync into {ep.staging_dir}"
            )
        else:
            lines.append(f"1. download, verify and fsync into {ep.staging_dir} ({plan.decision.reason})")
        lines += [f"  {a.describe()}" for a in staging]
        lines.append(f"2. stop {self.place} (downtime starts)")
        lines.append("3. install (renames on the same filesystem):")
        lines += [f"  {a.describe()}" for a in install]
        lines.append(
            "4. start the target, wait until loaded (downtime ends), verify aof_enabled and the key "
            f"counts; undo with: {self.undo_command}"
        )
        lines += [f"  BLOCKED: {b}" for b in ep.blockers]
        lines += [f"  warning: {w}" for w in ep.warnings]
        return lines

    # -- run --

    def _stage(
        self, plan: FlowPlan, reporter: Reporter | None, cancel: CancelToken | None, running: bool
    ) -> StagedRestore:
        source, expected = self.source, plan.expected
        args: dict[str, Any] = {
            "on_progress": self.on_progress,
            "operation_id": plan.operation_id,
            "reporter": reporter,
            "cancel": cancel,
            "server_running": running,
        }
        if expected.kind == "rdb":
            if source is None or isinstance(source, Mapping | Path):
                raise TypeError("an RDB backup is restored from an iterable of chunks")
            return stage_rdb(source, self.data_dir, self.settings, expected, self.now, **args)
        if not isinstance(source, Mapping | Path):
            raise TypeError("an AOF backup is restored from a mapping of file chunks or a directory")
        return stage_aof_dir(source, self.data_dir, self.settings, expected, self.now, **args)

    def stage(self, plan: FlowPlan, reporter: Reporter | None, cancel: CancelToken | None) -> StagedRestore:
        """Download, verify and fsync into the staging folder while the server serves; a refusal or a
        cancellation removes it (the server never stopped, its data dir unchanged)."""
        try:
            return self._stage(plan, reporter, cancel, True)
        except Interrupted as e:
            _close(self.source)  # drop the download's connection now rather than when it is collected
            why = str(e.context.get("reason") or "cancelled")
            raise _interrupted_before_install(why, self.data_dir) from None
        except RedisOpsError as e:
            e.context["server_stopped"] = False
            e.hint = (e.hint + "; " if e.hint else "") + "the server kept running on its previous data"
            raise
        except KeyboardInterrupt:
            raise _interrupted_before_install("interrupted", self.data_dir) from None

    def discard(self, staged: StagedRestore) -> None:
        """Remove the staging folder."""
        staged.discard()
        if self.source is not None:
            _close(self.source)

    def install(
        self,
        plan: FlowPlan,
        staged: StagedRestore | None,
        reporter: Reporter | None,
        cancel: CancelToken | None,
    ) -> RestoreResult:
        """Move the current files aside and rename the staged ones into place (staging first when the
        server did not serve meanwhile)."""
        if staged is None:
            staged = self._stage(plan, reporter, cancel, False)
        return install_staged(staged, reporter=reporter)

    def may_restart(self, error: BaseException) -> bool:
        """The install refused or rolled back: the data dir holds its previous files."""
        return self.restart_on_failure

    def undo(self) -> UndoResult:
        """The engine's undo on the data dir."""
        return undo_restore(self.data_dir, self.now)

    def checks(self) -> list[Any]:
        """Nothing beyond the loaded server's INFO."""
        return []

    def verify_loaded(self, info: Info) -> list[str]:
        """aof_enabled must match the target's appendonly."""
        aof_enabled = bool(info.persistence.aof_enabled)
        if aof_enabled != self.settings.appendonly:
            return [
                f"aof_enabled is {int(aof_enabled)}, the target settings say appendonly "
                f"{self.settings.appendonly}"
            ]
        return []

    def record(self, plan: FlowPlan, installed: RestoreResult) -> None:
        """The engine recorded the restore in the data dir already."""

    def undo_point(self, installed: RestoreResult) -> dict[str, Any]:
        """The undo folder in the data dir."""
        return {
            "undo_dir": str(installed.undo_dir),
            "operation_id": installed.operation_id,
            "data_dir": str(installed.data_dir),
        }


def local_result(out: FlowOutcome) -> LocalRestoreResult:
    """The flow's outcome as a :class:`LocalRestoreResult`."""
    t = out.timings
    return LocalRestoreResult(
        engine=out.installed,
        key_counts=out.key_counts,
        expired_meanwhile=out.expired_meanwhile,
        aof_enabled=bool(out.info.persistence.aof_enabled),
        stop_seconds=t["stop"],
        stage_seconds=out.installed.stage_seconds,
        install_seconds=out.installed.install_seconds,
        start_to_loaded_seconds=t["start_to_loaded"],
        total_seconds=t["total"],
        notes=out.notes,
        downtime_seconds=t["downtime"],
    )


def _local_plan(expected: ExpectedBackup, operation_id: str | None) -> FlowPlan:
    """A flow plan for :func:`restore_local` (its caller did the checks)."""
    from redisops.ops.platform import StagingDecision
    from redisops.ops.restore_flow import FlowPlan

    decision = StagingDecision(True, "a local data dir: staged while the server serves")
    return FlowPlan(expected, operation_id or secrets.token_hex(4), decision, True)


def restore_local(
    *,
    stop: Callable[[], None],
    start: Callable[[], None],
    data_dir: Path,
    settings: TargetSettings,
    source: Source,
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
    the install and the start (:meth:`redisops.ops.restore_flow.RestoreFlow.apply` over a
    :class:`~redisops.ops.platform.ProcessPlatform` and :class:`DataDirAccess`).

    The order: download, verify and fsync into the data dir's staging folder while the server keeps
    serving; then stop, move the current files aside, rename the staged ones into place, start, wait
    until loaded, verify. The server is down from the stop until it has loaded (``downtime_seconds``),
    not for the download.

    Args:
        stop, start: stop the server (SIGTERM, it saves first) and start it again (returns once it
            answers; ``ManagedProcess.stop`` / ``start_redis``).
        source: RDB chunks for an RDB backup; file name -> chunks, or a directory, for an AOF backup.
        verify_endpoint: where the restarted server answers.
        reporter: the phases ``downloading`` (byte progress of the backup's size), ``stopping``,
            ``installing``, ``starting`` and ``verifying``.
        cancel: checked through the download and once more before the stop; a cancellation then
            removes the staging folder and raises :class:`~redisops.errors.Interrupted`: the data dir
            is unchanged and the server never stopped. After the stop it is not checked: the restore
            completes (install, start, verify) rather than leave the server down or unverified.

    Raises:
        VerificationError: the backup did not verify (the server was never stopped), or the loaded
            server's key counts / AOF state differ (the restored files stay; the hint says how to undo).
        ConflictError, PlatformError, OperationTimeout: from the engine or the start.
    """
    from redisops.ops.restore_flow import RestoreFlow

    platform = ProcessPlatform(stop, start, verify_endpoint, data_dir)
    access = DataDirAccess(data_dir, settings, source, now, on_progress=on_progress, place="the server")
    flow = RestoreFlow(platform, access, load_timeout=load_timeout)
    return local_result(flow.apply(_local_plan(expected, operation_id), reporter=reporter, cancel=cancel))


def undo_local(
    *,
    stop: Callable[[], None],
    start: Callable[[], None],
    data_dir: Path,
    now: datetime,
    verify_endpoint: RedisEndpoint,
    load_timeout: float = 300.0,
) -> LocalUndoResult:
    """Stop the local server, undo the last restore (or undo) on ``data_dir``, start, wait until loaded
    (:meth:`redisops.ops.restore_flow.RestoreFlow.undo`).

    Raises:
        ConflictError: nothing to undo (no record) or the undo folder is incomplete; the server is
            started again unchanged.
    """
    from redisops.ops.restore_flow import RestoreFlow

    platform = ProcessPlatform(stop, start, verify_endpoint, data_dir)
    access = DataDirAccess(data_dir, TargetSettings(appendonly=True, redis_version="7.0.0"), None, now)
    out = RestoreFlow(platform, access, load_timeout=load_timeout).undo()
    return LocalUndoResult(
        engine=out.undone, key_counts=out.key_counts, start_to_loaded_seconds=out.timings["start_to_loaded"]
    )
