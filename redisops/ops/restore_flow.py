"""Restore, undo and drill, written once over the platform seam.

One sequence for every place Redis runs (:mod:`redisops.ops.platform`): the sandbox target, a local
server (tests, benchmarks), a drill's scratch server and the Redis Deployment on Kubernetes. What
differs is only *how the data is reached*, the :class:`DataAccess` of the place:

=================  ===================================  =============================================
                   :class:`~redisops.ops.restore_local.  :class:`~redisops.ops.restore_k8s.KubeAccess`
                   DataDirAccess` (local data dir)
=================  ===================================  =============================================
``stage``          the engine stages into the data dir  the staging Job (``restore-data-dir
                   while the server serves              --stage-only``), on Redis's node for RWO
``install``        the engine installs the staged files  the install Job (``--install-staged``), or
                   (or stages + installs when stopped)   the one restore Job after the scale to 0
``checks``         aof_enabled against the settings      pod ready, PVC bound, endpoints, PING, persistence
``record``         (the engine's record in the data dir)  the ``redisops.io/last-restore`` annotation
=================  ===================================  =============================================

The sequence (:meth:`RestoreFlow.apply`):

1. where the platform allows it (:meth:`~redisops.ops.platform.Platform.staging`), stage: download,
   verify and fsync the backup beside the running Redis. A refusal or a cancellation leaves Redis
   running on its unchanged data;
2. ``platform.stop()`` (the downtime starts); a failed stop starts Redis again;
3. ``access.install``: move the current files aside (the undo point) and install the staged ones (or
   stage and install now when staging beside Redis was not possible). A failed install leaves the
   previous files; Redis is started again on them unless the access says it must not be (a Job that
   may still write);
4. ``platform.start()``, ``access.checks()``, ``platform.wait_ready()`` (the downtime ends), then the
   key counts by the one rule of :mod:`redisops.restore.keycounts`; ``access.record``.

:meth:`RestoreFlow.plan` computes everything the run needs (the backup, the staging decision, the key
count of the target, the blockers) without changing anything; :meth:`RestoreFlow.run` takes that plan
(not computed again), refuses what it blocks, takes the safety backup and applies. Undo
(:meth:`RestoreFlow.undo`) is the same stop / data step / start / verify sequence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.backup import BackupStore, Manifest
from redisops.cancel import CancelToken
from redisops.errors import (
    AbortedError,
    ConflictError,
    Interrupted,
    RedisOpsError,
    VerificationError,
)
from redisops.events import Reporter
from redisops.inspect import Info
from redisops.ops.platform import Platform, StagingDecision
from redisops.restore import ExpectedBackup
from redisops.restore.keycounts import compare_key_counts, counts_of

__all__ = ["DataAccess", "FlowOutcome", "FlowPlan", "RestoreFlow", "UndoOutcome"]

Say = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


class DataAccess(Protocol):
    """How a restore reaches the data where Redis runs (see the module docstring)."""

    #: the command that puts the previous files back (``redisops restore undo`` ...)
    undo_command: str
    #: the command that restores a backup here (named in a safety backup's hint)
    restore_command: str
    #: what the flow says once it started Redis again after a failed install
    restarted_note: str

    def plan_steps(self, plan: FlowPlan) -> list[str]:
        """The plan's lines for this place: where it stages, the stop, the install, start and verify."""
        ...

    def blockers(self, plan: FlowPlan) -> list[RedisOpsError]:
        """What the real run would refuse on the data (the engine's plan, the memory fit, ...)."""
        ...

    def warnings(self, plan: FlowPlan) -> list[str]:
        """What the run would warn about."""
        ...

    def stage(self, plan: FlowPlan, reporter: Reporter | None, cancel: CancelToken | None) -> Any:
        """Download, verify and stage beside the running Redis; a handle for :meth:`install`."""
        ...

    def discard(self, staged: Any) -> None:
        """Remove what :meth:`stage` staged (a cancellation before the stop)."""
        ...

    def install(
        self, plan: FlowPlan, staged: Any, reporter: Reporter | None, cancel: CancelToken | None
    ) -> Any:
        """With Redis stopped: install what was staged (``staged`` None: stage and install now)."""
        ...

    def may_restart(self, error: BaseException) -> bool:
        """Whether Redis may be started again after ``error`` in :meth:`install` (a Job may still be
        writing into the volume: no)."""
        ...

    def undo(self) -> Any:
        """With Redis stopped: put back the files the last restore (or undo) moved aside."""
        ...

    def checks(self) -> list[Any]:
        """Checks of the place once Redis runs again (raise VerificationError on a failed one)."""
        ...

    def verify_loaded(self, info: Info) -> list[str]:
        """Problems of the loaded server beyond the key counts (aof_enabled against the settings)."""
        ...

    def record(self, plan: FlowPlan, installed: Any) -> None:
        """Record the restore where the place keeps it (a Deployment annotation; the data dir's own)."""
        ...

    def undo_point(self, installed: Any) -> dict[str, Any]:
        """Where the previous files are after ``installed`` (``undo_dir``, ``operation_id``)."""
        ...


@dataclass
class FlowPlan:
    """A restore planned: everything the run needs, computed without changing anything.

    Attributes:
        expected: what the engine must find; ``manifest`` the backup's (``latest`` resolved), None for a
            restore of bare chunks (:func:`~redisops.ops.restore_local.restore_local`).
        operation_id: names the staging and undo folders; the plan and the run share it.
        decision: the platform's staging decision; ``beside`` whether this run stages beside Redis
            (the decision, unless staging beside Redis was not asked for).
        target_keys: keys the target holds (None when it could not be asked: no ready pod).
        errors: what the real run refuses, in order (the key-count refusal first).
        steps: the plan as lines (without the BLOCKED lines), ``warnings`` beside them.
    """

    expected: ExpectedBackup
    operation_id: str
    decision: StagingDecision
    beside: bool
    target_keys: int | None = 0
    force: bool = True
    safety_backup: bool = False
    manifest: Manifest | None = None
    store: BackupStore | None = None
    errors: list[RedisOpsError] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def blockers(self) -> list[str]:
        """The refusals as sentences."""
        return [e.message for e in self.errors]

    def lines(self) -> list[str]:
        """The steps, then one ``BLOCKED:`` line per refusal."""
        return list(self.steps) + [f"BLOCKED: {b}" for b in self.blockers]


@dataclass
class FlowOutcome:
    """What a restore run did: the data step's result, the loaded server's counts, the timings.

    Timings (seconds): ``stage`` (beside the running Redis; 0 when it staged after the stop), ``stop``,
    ``install`` (the data step after the stop), ``start_to_loaded``, ``total`` and ``downtime`` (from
    the stop until Redis had loaded again: the download is not in it when it staged beside Redis).
    """

    installed: Any
    info: Info
    key_counts: dict[int, tuple[int, int]]
    expired_meanwhile: int
    checks: list[Any]
    notes: list[str]
    timings: dict[str, float]
    safety_backup: str | None = None


@dataclass
class UndoOutcome:
    """What an undo did: the data step's result, the loaded server's counts and the timings."""

    undone: Any
    key_counts: dict[int, tuple[int, int]]
    checks: list[Any]
    timings: dict[str, float]


def _counts(info: Info) -> dict[int, tuple[int, int]]:
    return {db: (k.keys, k.expires) for db, k in info.keyspace.items() if k.keys}


def _add_hint(e: RedisOpsError, hint: str) -> None:
    if hint and hint not in (e.hint or ""):
        e.hint = (e.hint + "; " if e.hint else "") + hint


class RestoreFlow:
    """Restore, undo and drill over one platform and its data access (see the module docstring).

    Args:
        platform: where Redis runs (stop/start-or-scale, wait_ready, staging decision).
        access: how the data is reached there.
        live_keys: the number of keys the running target holds, None when it cannot be asked.
        redis_endpoint: a context manager giving an endpoint of the running target (the safety backup).
        load_timeout: seconds to wait for the restarted Redis to load.
        say: progress lines (the Kubernetes front ends print them).
        target_name: the target in refusals (``the sandbox target``); default the platform's description.
        clock: the monotonic clock of the timings.
    """

    def __init__(
        self,
        platform: Platform,
        access: DataAccess,
        *,
        live_keys: Callable[[], int | None] = lambda: 0,
        redis_endpoint: Callable[[], AbstractContextManager[RedisEndpoint]] | None = None,
        load_timeout: float = 300.0,
        say: Say | None = None,
        clock: Callable[[], float] = time.monotonic,
        target_name: str | None = None,
    ) -> None:
        self.platform, self.access = platform, access
        self.target_name = target_name or platform.describe()
        self.live_keys, self.redis_endpoint = live_keys, redis_endpoint
        self.load_timeout = load_timeout
        self.say = say or _quiet
        self.clock = clock

    # --- plan -------------------------------------------------------------------------------------

    def plan(
        self,
        manifest: Manifest,
        expected: ExpectedBackup,
        operation_id: str,
        *,
        force: bool,
        safety_backup: bool,
        stage_beside: bool = True,
        unknown_keys_refusal: ConflictError | None = None,
        store: BackupStore | None = None,
    ) -> FlowPlan:
        """Everything the run needs, read-only: the staging decision, the key count, the refusals."""
        decision = self.platform.staging()
        keys = self.live_keys()
        p = FlowPlan(
            expected, operation_id, decision, decision.beside_running and stage_beside,
            keys, force, safety_backup, manifest, store,
        )  # fmt: skip
        if keys is None and not force and unknown_keys_refusal is not None:
            p.errors.append(unknown_keys_refusal)
        if keys and not force:
            p.errors.append(
                ConflictError(
                    f"{self.target_name} holds {keys} key{'s' if keys != 1 else ''}; a restore replaces "
                    f"{'them' if keys != 1 else 'it'}",
                    hint="pass --force to replace them (a safety backup is taken first unless "
                    "--no-safety-backup)",
                    context={"keys": keys},
                )
            )
        p.errors += self.access.blockers(p)
        p.warnings = self.access.warnings(p)
        taken = manifest.created_at.isoformat()
        p.steps = [f"backup {manifest.id} ({manifest.kind}, {manifest.size} bytes, taken {taken})"]
        if keys and force and safety_backup:
            p.steps.append(f"take a safety backup of the target's {keys} keys")
        p.steps += self.access.plan_steps(p)
        return p

    # --- run --------------------------------------------------------------------------------------

    def run(
        self,
        plan: FlowPlan,
        *,
        confirmed: bool,
        what: str,
        reporter: Reporter | None = None,
        cancel: CancelToken | None = None,
        safety_notes: str = "",
    ) -> FlowOutcome:
        """Refuse what ``plan`` blocks, ask for confirmation, take the safety backup, apply.

        Every error raised after the safety backup was taken names it (message, hint, context)."""
        if plan.errors:
            raise plan.errors[0]  # refuse before the safety backup and before stopping anything
        if not confirmed:
            raise AbortedError(f"{what} needs confirmation")
        safety = self._safety_backup(plan, reporter, cancel, safety_notes)
        try:
            out = self.apply(plan, reporter=reporter, cancel=cancel)
        except RedisOpsError as e:
            if safety:
                from redisops.ops.restore import name_safety_backup

                name_safety_backup(e, safety, self.access.restore_command)
            raise
        out.safety_backup = safety
        return out

    def _safety_backup(
        self, plan: FlowPlan, reporter: Reporter | None, cancel: CancelToken | None, notes: str
    ) -> str | None:
        keys = plan.target_keys
        if not (plan.safety_backup and keys) or self.redis_endpoint is None:
            return None
        from redisops.ops.backup import create_rdb_backup

        store = plan.store
        assert store is not None, "a plan with a safety backup names its store"
        if reporter is not None:
            reporter.phase("safety backup", f"backing up the target's {keys} keys before replacing them")
        self.say(f"taking a safety backup of the {keys} keys")
        try:
            with self.redis_endpoint() as ep:
                safety = create_rdb_backup(
                    ep,
                    store,
                    notes=notes or f"safety backup before restoring {plan.expected.backup_id}",
                    purpose="safety",
                    prefer_replica=False,
                    reporter=reporter,
                    cancel=cancel,
                ).id
        except KeyboardInterrupt:
            raise Interrupted(
                "interrupted while taking the safety backup; the restore had not started: the target is "
                "unchanged"
            ) from None
        except Interrupted as e:
            e.message += "; the restore had not started: the target is unchanged"
            e.args = (e.message,)
            raise
        self.say(f"safety backup {safety}")
        return safety

    def apply(
        self, plan: FlowPlan, *, reporter: Reporter | None = None, cancel: CancelToken | None = None
    ) -> FlowOutcome:
        """The restore itself: stage (beside Redis where it can), stop, install, start, verify."""
        clock = self.clock
        if cancel is not None:
            cancel.check("before the restore started; nothing was changed")
        t0 = clock()
        staged: Any = None
        if plan.beside:
            staged = self.access.stage(plan, reporter, cancel)
            if cancel is not None:
                try:
                    cancel.check("before the install")  # the last moment before Redis stops
                except Interrupted as e:
                    self.access.discard(staged)
                    why = str(e.context.get("reason") or "cancelled")
                    raise Interrupted(
                        f"{why} before the install; {self.platform.describe()} is unchanged and the "
                        "server kept running",
                        context={"installed": False, "server_stopped": False},
                    ) from None
        t_staged = clock()
        if reporter is not None:
            reporter.phase("stopping", f"stopping {self.platform.describe()}")
        self._stop(staged)
        t_stopped = clock()
        try:
            installed = self.access.install(plan, staged, reporter, None if plan.beside else cancel)
        except (RedisOpsError, KeyboardInterrupt) as e:
            self._restart_after(e)
            raise
        t_start = clock()
        undo_point = self.access.undo_point(installed)
        undo_dir = undo_point.get("undo_dir", "the undo folder")
        undo_hint = f"the previous files are in {undo_dir}; undo with: {self.access.undo_command}"
        try:
            if reporter is not None:
                reporter.phase("starting", f"starting {self.platform.describe()} on the restored files")
            self.platform.start()
            checks = self.access.checks()
            info = self.platform.wait_ready(self.load_timeout)
            if reporter is not None:
                reporter.phase("verifying", "checking the loaded server and the key counts")
        except RedisOpsError as e:
            e.context.update(undo_point)
            _add_hint(e, undo_hint)
            raise
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted after the install: backup {plan.expected.backup_id} is in place on "
                f"{self.platform.describe()} but was not verified; the previous files are in {undo_dir}; "
                f"undo with: {self.access.undo_command}",
                context={"installed": True, **undo_point},
            ) from None
        t_loaded = clock()
        counts, expired, notes = self._verify(plan, info, undo_point, undo_hint)
        self.access.record(plan, installed)
        timings = {  # seconds, unrounded (the results round them for JSON)
            "stage": t_staged - t0 if plan.beside else 0.0,
            "stop": t_stopped - t_staged,
            "install": t_start - t_stopped,
            "start_to_loaded": t_loaded - t_start,
            "downtime": t_loaded - t_staged,
            "total": t_loaded - t0,
        }
        return FlowOutcome(installed, info, counts, expired, checks, notes, timings)

    def _stop(self, staged: Any) -> None:
        try:
            self.platform.stop()
        except (RedisOpsError, KeyboardInterrupt) as e:
            if staged is not None:
                self.access.discard(staged)
            self._restart_after(e, stopping=True)
            raise

    def _restart_after(self, e: BaseException, *, stopping: bool = False) -> None:
        """Start Redis again on its previous data after a failed stop or install, where that is safe."""
        if not stopping and not self.access.may_restart(e):
            return
        try:
            self.platform.start()
        except RedisOpsError as start_error:
            if isinstance(e, RedisOpsError):
                e.context["server_restarted"] = False
                e.context["restart_error"] = start_error.message
                _add_hint(e, f"starting it again failed too: {start_error.message}")
            return
        if isinstance(e, RedisOpsError):
            e.context["server_restarted"] = True
            _add_hint(e, self.access.restarted_note)

    def _verify(
        self, plan: FlowPlan, info: Info, undo_point: dict[str, Any], undo_hint: str
    ) -> tuple[dict[int, tuple[int, int]], int, list[str]]:
        live = _counts(info)
        problems = self.access.verify_loaded(info)
        expired = 0
        notes: list[str] = []
        expected = plan.expected.key_counts
        if expected is None:
            notes.append("the backup recorded no key counts: only loading and persistence were checked")
        else:
            count_problems, expired = compare_key_counts(counts_of(expected), live)
            problems += count_problems
            if expired:
                notes.append(f"{expired} keys with a TTL expired between the backup and the load")
        if problems:
            raise VerificationError(
                "the restored server does not hold the backup's dataset: " + "; ".join(problems),
                hint=undo_hint,
                context={"problems": problems, **undo_point},
            )
        return live, expired, notes

    # --- undo -------------------------------------------------------------------------------------

    def undo(self) -> UndoOutcome:
        """Stop, put back the files the last restore moved aside, start, check, wait until loaded."""
        clock = self.clock
        t0 = clock()
        self._stop(None)
        try:
            undone = self.access.undo()
        except (RedisOpsError, KeyboardInterrupt) as e:
            self._restart_after(e)
            raise
        t1 = clock()
        self.platform.start()
        checks = self.access.checks()
        info = self.platform.wait_ready(self.load_timeout)
        t2 = clock()
        timings = {"undo": t1 - t0, "start_to_loaded": t2 - t1, "downtime": t2 - t0, "total": t2 - t0}
        return UndoOutcome(undone, _counts(info), checks, timings)
