"""Catalogue entries of the backup area: ``backup.list | describe | verify`` (read), ``backup.create |
drill | unlock`` (mutate), ``backup.delete | gc | prune | schedule`` (destructive).

Each acts on ``ctx.target``: the Redis to back up is :attr:`Target.redis`, the store is
:meth:`Target.store` (``source`` picks the source name in it), retention defaults come from
:meth:`Target.config`. The plans (:mod:`redisops.ops.entries_backup_plans`) only read; the runs of
every mutating and destructive operation refuse what its plan blocks (the catalogue plans first:
PlanBlocked, exit 15) before changing anything::

    from redisops.ops.catalogue import Catalogue, Kind
    from redisops.ops.entries_backup import register

    cat = Catalogue()
    register(cat)
    assert cat.get("backup.delete").kind is Kind.destructive
    assert cat.get("backup.create").schema()["properties"]["kind"]["enum"] == ["rdb", "aof"]
"""

from __future__ import annotations

import builtins
import dataclasses
import os
import time
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from redisops.errors import (
    ConfigError,
    ConflictError,
    InvalidArgument,
    NotFoundError,
    PlanBlocked,
    VerificationError,
)
from redisops.ops import entries_backup_plans as plans
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation, Plan

if TYPE_CHECKING:
    from redisops.backup import BackupStore, GcReport, LockInfo, Manifest, RetentionPlan
    from redisops.backup.lock import HolderAlive
    from redisops.ops.backup import VerifyResult
    from redisops.ops.restore import DrillResult

__all__ = [
    "BackupList",
    "CreateParams",
    "DeleteParams",
    "DeleteResult",
    "DescribeParams",
    "DrillParams",
    "GcParams",
    "ListParams",
    "PruneParams",
    "ScheduleParams",
    "ScheduleResult",
    "UnlockParams",
    "UnlockResult",
    "VerifyParams",
    "register",
]


def _source_name(value: str | None) -> str | None:
    from redisops.backup.layout import check_source_name

    if value is None:
        return None
    try:
        return check_source_name(value)
    except ConfigError as e:
        raise ValueError(f"{e.message} ({e.hint})") from None


def _backup_ref(value: str) -> str:
    from redisops.backup.layout import is_backup_id

    if value != "latest" and not is_backup_id(value):
        raise ValueError(f"{value!r} is not a backup id (ids look like 20261125T184501Z-3f9a) nor 'latest'")
    return value


def _exact_id(value: str) -> str:
    if value == "latest":
        raise ValueError("name the backup by its id ('latest' is not accepted here)")
    return _backup_ref(value)


Source = Annotated[
    str | None,
    AfterValidator(_source_name),
    Field(description="the source name in the backup store [default: the config's service_name]"),
]
BackupRefField = Annotated[str, AfterValidator(_backup_ref)]
_Model = ConfigDict(extra="forbid")


class ListParams(BaseModel):
    """Parameters of ``backup.list``."""

    model_config = _Model
    source: Source = None


class DescribeParams(BaseModel):
    """Parameters of ``backup.describe``."""

    model_config = _Model
    backup_id: BackupRefField = Field(default="latest", description="the backup: its id, or 'latest'")
    source: Source = None


class VerifyParams(BaseModel):
    """Parameters of ``backup.verify``."""

    model_config = _Model
    backup_id: BackupRefField = Field(default="latest", description="the backup: its id, or 'latest'")
    deep: bool = Field(default=False, description="also load it into a scratch redis-server and count keys")
    source: Source = None


class CreateParams(BaseModel):
    """Parameters of ``backup.create``."""

    model_config = _Model
    kind: Literal["rdb", "aof"] = Field(
        default="rdb", description="rdb (streamed from the server) or aof (copied from a data dir)"
    )
    purpose: Literal["manual", "scheduled"] = Field(
        default="manual", description="label in the manifest: manual, or scheduled (the backup job)"
    )
    notes: str = Field(default="", max_length=4096, description="free text stored in the manifest")
    source: Source = None
    data_dir: Path | None = Field(
        default=None, description="AOF backups: the Redis data dir [default: the sandbox target's]"
    )
    prefer_replica: bool = Field(
        default=True, description="RDB backups: stream from an online, reachable replica when there is one"
    )
    timeout: float = Field(default=120.0, gt=0, le=86_400, description="seconds to wait for the stream")


class DrillParams(BaseModel):
    """Parameters of ``backup.drill``."""

    model_config = _Model
    backup_id: BackupRefField = Field(default="latest", description="the backup: its id, or 'latest'")
    redis_conf: Path | None = Field(
        default=None,
        description="the redis.conf production loads [default: rendered from the target's config]",
    )
    source: Source = None


class UnlockParams(BaseModel):
    """Parameters of ``backup.unlock``."""

    model_config = _Model
    force: bool = Field(default=False, description="break the lock even when its holder is known to run")
    source: Source = None


class DeleteParams(BaseModel):
    """Parameters of ``backup.delete``."""

    model_config = _Model
    backup_id: Annotated[str, AfterValidator(_exact_id)] = Field(description="the backup's id")
    force: bool = Field(default=False, description="delete it even when it is the newest verified backup")
    source: Source = None


class GcParams(BaseModel):
    """Parameters of ``backup.gc``."""

    model_config = _Model
    grace_hours: float = Field(
        default=24.0, ge=0, le=24 * 365, description="keep leftovers younger than this"
    )
    source: Source = None


class PruneParams(BaseModel):
    """Parameters of ``backup.prune`` (the retention rules)."""

    model_config = _Model
    keep_last: int | None = Field(
        default=None, ge=1, le=100_000, description="keep the N newest [default: the config's keep_last]"
    )
    daily: int = Field(default=0, ge=0, le=36_500, description="keep the newest of each of the last N days")
    weekly: int = Field(default=0, ge=0, le=5_200, description="keep the newest of each of the last N weeks")
    monthly: int = Field(
        default=0, ge=0, le=1_200, description="keep the newest of each of the last N months"
    )
    keep_safety: int = Field(default=3, ge=0, le=1_000, description="keep the N newest safety backups")
    source: Source = None


class ScheduleParams(BaseModel):
    """Parameters of ``backup.schedule``."""

    model_config = _Model
    every: float = Field(default=6 * 3600, ge=0, le=31 * 24 * 3600, description="seconds between backups")
    count: int = Field(default=1, ge=0, le=1_000_000, description="stop after N backups (0: until cancelled)")
    drill: bool = Field(default=False, description="also run a restore drill of each new backup")
    source: Source = None


# --- results -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BackupList:
    """``backup.list``: the complete backups of ``source``, newest first; ``skipped_newer`` manifests a
    newer redisops wrote in a newer format (up to ``newest_format``) are not among them."""

    source: str
    backups: builtins.list[Manifest]
    skipped_newer: int = 0
    newest_format: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"source", "backups": [manifest, ...], "skipped_newer", "newest_format"}``."""
        return {
            "source": self.source,
            "backups": [m.to_dict() for m in self.backups],
            "skipped_newer": self.skipped_newer,
            "newest_format": self.newest_format,
        }


@dataclasses.dataclass(frozen=True)
class DeleteResult:
    """``backup.delete``: the keys removed (the manifest first)."""

    backup_id: str
    source: str
    objects: builtins.list[str]


@dataclasses.dataclass(frozen=True)
class UnlockResult:
    """``backup.unlock``: the backup whose lock was broken (None: no lock was held) and its holder."""

    source: str
    broken: str | None
    holder: str | None = None


@dataclasses.dataclass(frozen=True)
class ScheduleResult:
    """``backup.schedule``: one entry per run (backup id, pruned ids, the drill when asked)."""

    runs: builtins.list[dict[str, Any]]


# --- helpers -------------------------------------------------------------------------------------------


def _holder_alive(target: Any) -> HolderAlive | None:
    """In a Kubernetes pod: ask the API whether a lock's pod still runs (as the CLI does); else None."""
    from redisops.backup.lock import IN_CLUSTER_ENV

    if not os.environ.get(IN_CLUSTER_ENV):
        return None
    from redisops.errors import RedisOpsError
    from redisops.ops.backup import pod_liveness

    def alive(lock: LockInfo) -> bool | None:
        try:
            return pod_liveness(target.kube())(lock)
        except RedisOpsError:
            return None

    return alive


#: the stores opened for one run (plan and run share one context, so one store and one S3 client)
_opened: weakref.WeakKeyDictionary[Any, dict[str | None, BackupStore]] = weakref.WeakKeyDictionary()


def _store(ctx: OpContext, source: str | None) -> BackupStore:
    """The target's store for ``source``, opened once per run (the plan and the run of one invocation
    share it)."""
    mine = _opened.setdefault(ctx.reporter, {})
    if source not in mine:
        store: BackupStore = ctx.target.store(source)
        store.on_notice = ctx.reporter.warning
        store.holder_alive = _holder_alive(ctx.target)
        mine[source] = store
    return mine[source]


def _resolve(store: BackupStore, backup_id: str) -> Manifest:
    from redisops.ops.restore import resolve_backup

    return resolve_backup(store, backup_id)


def _aof_dir(ctx: OpContext, p: CreateParams) -> Path | None:
    """The data dir of an AOF backup: the one given, else the sandbox target's (sandbox target only)."""
    if p.kind != "aof" or p.data_dir is not None:
        return p.data_dir
    if getattr(ctx.target, "is_sandbox", False):
        from redisops.ops.sandbox import sandbox_status

        state = sandbox_status(ctx.target.state_dir)
        if state is not None:
            return Path(state.data_dir)
    return None


# --- read operations -----------------------------------------------------------------------------------


def backup_list(ctx: OpContext, p: ListParams) -> BackupList:
    """The complete backups (with a manifest), newest first; a warning counts those a newer redisops wrote
    in a format this one cannot read."""
    from redisops.backup.manifest import FORMAT_VERSION

    store = _store(ctx, p.source)
    found = store.listing()
    if found.skipped_newer:
        ctx.reporter.warning(
            f"{found.skipped_newer} backup(s) of {store.source} not listed: written by a newer redisops in "
            f"manifest format_version {found.newest_format} (this one reads {FORMAT_VERSION}); "
            "upgrade redisops to see them"
        )
    return BackupList(store.source, found.manifests, found.skipped_newer, found.newest_format)


def backup_describe(ctx: OpContext, p: DescribeParams) -> Manifest:
    """One backup's manifest."""
    return _resolve(_store(ctx, p.source), p.backup_id)


def backup_verify(ctx: OpContext, p: VerifyParams) -> VerifyResult:
    """Re-read a backup (sizes, SHA-256, RDB trailer; ``deep``: load it and count keys).

    Raises:
        VerificationError: it does not verify (the problems are in the error's context).
    """
    from redisops.ops.backup import verify_backup

    store = _store(ctx, p.source)
    m = _resolve(store, p.backup_id)
    ctx.reporter.phase("verifying", f"backup {m.id}: {len(m.objects)} objects, {m.size} bytes")
    ctx.cancel.check("before verifying")
    res = verify_backup(store, m.id, deep=p.deep)
    if not res.ok:
        raise VerificationError(
            f"backup {m.id} does not verify: " + "; ".join(res.problems),
            hint="do not restore from it; take a new backup and delete this one",
            context={"backup_id": m.id, "problems": res.problems},
        )
    return res


# --- mutating operations -------------------------------------------------------------------------------


def backup_create(ctx: OpContext, p: CreateParams) -> Manifest:
    """Take a backup now; it is listed only once complete and verified.

    Raises:
        PlanBlocked: the plan left the lock to the run (see :func:`plan_create`) and another backup holds
            it (the words the plan gives for a held lock).
    """
    from redisops.ops.backup import create_aof_backup, create_rdb_backup

    ep = ctx.target.redis
    store = _store(ctx, p.source)
    if p.kind == "rdb":
        seen = _from_plan(ctx)
        try:
            return create_rdb_backup(
                ep, store, notes=p.notes, timeout=p.timeout, prefer_replica=p.prefer_replica,
                purpose=p.purpose, reporter=ctx.reporter, cancel=ctx.cancel, info=seen.get("info"),
                transfer_first=bool(seen.get("lock_when_taken")),
            )  # fmt: skip
        except ConflictError as e:
            if seen.get("lock_when_taken") and "holder" in e.context:
                raise PlanBlocked(f"{e.message} ({e.hint})", context=e.context) from None
            raise
        except NotFoundError as e:
            # the plan left the store to the run: a missing bucket is the refusal the plan would have
            # found (nothing can have been stored in it), with the same words and code (15)
            from redisops.adapters.s3_errors import is_missing_bucket

            if seen.get("lock_when_taken") and is_missing_bucket(e):
                raise PlanBlocked(f"{e.message} ({e.hint})", context=e.context) from None
            raise
    data_dir = _aof_dir(ctx, p)
    if data_dir is None:
        raise InvalidArgument(
            "data_dir: an AOF backup needs the Redis data dir (where it is mounted here)",
            hint="pass data_dir (CLI: --data-dir DIR), or use kind rdb (streamed, needs no data dir)",
        )
    return create_aof_backup(ep, data_dir, store, notes=p.notes, purpose=p.purpose, reporter=ctx.reporter,
                             cancel=ctx.cancel)  # fmt: skip


def plan_create(ctx: OpContext, p: CreateParams) -> Plan:
    """What ``backup.create`` would do; reads only.

    The INFO it reads is kept for the run of the same invocation. When the context says the run follows
    at once (``then_runs``), an RDB backup's lock is left to the run: the store is not read first, and
    the run starts the snapshot transfer before it takes the lock (a held lock blocks it there).
    """
    store = _store(ctx, p.source)
    when_taken = bool(getattr(ctx, "then_runs", False))
    seen: dict[str, Any] = {"lock_when_taken": when_taken, "at": time.monotonic()}
    plan = plans.create_plan("backup.create", store, ctx.target.redis, kind=p.kind, data_dir=_aof_dir(ctx, p),
                             prefer_replica=p.prefer_replica, holder_alive=store.holder_alive,
                             lock_when_taken=when_taken, seen=seen)  # fmt: skip
    return dataclasses.replace(plan, state=seen)


#: a plan's INFO older than this is read again by the run (a plan shown to a person, confirmed later)
_FRESH_PLAN_S = 10.0


def _from_plan(ctx: OpContext) -> dict[str, Any]:
    """What ``backup.create``'s plan read for this run (``ctx.plan.state``): ``info`` when fresh, and
    whether the lock was left to the run."""
    plan = getattr(ctx, "plan", None)
    state = getattr(plan, "state", None)
    if not isinstance(state, dict):
        return {}
    seen = dict(state)
    if time.monotonic() - float(seen.get("at", 0.0)) > _FRESH_PLAN_S:
        seen.pop("info", None)
    return seen


def backup_drill(ctx: OpContext, p: DrillParams) -> DrillResult:
    """Restore a backup into a scratch redis-server, verify, record RTO/RPO in the store.

    Raises:
        VerificationError: the drill failed (recorded as such; the result is in the error's context).
    """
    from redisops.ops.restore import run_drill

    store = _store(ctx, p.source)
    from redisops.config.loaders import read_redis_conf

    conf = read_redis_conf(p.redis_conf)
    ctx.reporter.phase("drilling", f"backup {p.backup_id} into a scratch redis-server")
    ctx.cancel.check("before the drill")
    res = run_drill(store, p.backup_id, cfg=ctx.target.config(), redis_conf=conf)
    if not res.ok:
        raise VerificationError(
            f"the restore drill failed: {res.problem}",
            hint="the backup cannot be trusted",
            context={"drill": res.to_dict()},
        )
    return res


def plan_drill(ctx: OpContext, p: DrillParams) -> Plan:
    """What ``backup.drill`` would do; reads only."""
    return plans.drill_plan("backup.drill", _store(ctx, p.source), p.backup_id, p.redis_conf)


def backup_unlock(ctx: OpContext, p: UnlockParams) -> UnlockResult:
    """Break the source's backup lock (a holder known to run only with ``force``); idempotent."""
    store = _store(ctx, p.source)  # the catalogue ran plan_unlock first: a blocked plan refused
    holder = store.lock_info()
    if holder is None:
        return UnlockResult(store.source, None)
    store.break_lock(datetime.now(UTC), force=True, backup_id=holder.backup_id)
    return UnlockResult(store.source, holder.backup_id, holder.holder())


def plan_unlock(ctx: OpContext, p: UnlockParams) -> Plan:
    """What ``backup.unlock`` would do; reads only."""
    store = _store(ctx, p.source)
    return plans.unlock_plan("backup.unlock", store, store.holder_alive, force=p.force)


# --- destructive operations ----------------------------------------------------------------------------


def backup_delete(ctx: OpContext, p: DeleteParams) -> DeleteResult:
    """Delete one backup, manifest first (refused for the newest verified one without ``force``)."""
    store = _store(ctx, p.source)  # the catalogue ran plan_delete first: a blocked plan refused
    keys = store.delete(p.backup_id)
    return DeleteResult(p.backup_id, store.source, keys)


def plan_delete(ctx: OpContext, p: DeleteParams) -> Plan:
    """What ``backup.delete`` would do; reads only."""
    return plans.delete_plan("backup.delete", _store(ctx, p.source), p.backup_id, force=p.force)


def backup_gc(ctx: OpContext, p: GcParams) -> GcReport:
    """Remove leftovers of failed backups older than the grace period."""
    return _store(ctx, p.source).gc(datetime.now(UTC), timedelta(hours=p.grace_hours))


def plan_gc(ctx: OpContext, p: GcParams) -> Plan:
    """What ``backup.gc`` would remove; reads only."""
    return plans.gc_plan("backup.gc", _store(ctx, p.source), timedelta(hours=p.grace_hours))


def _rules(ctx: OpContext, p: PruneParams) -> Any:
    from redisops.backup import RetentionRules

    keep_last = p.keep_last if p.keep_last is not None else ctx.target.config().backup.keep_last
    return RetentionRules(keep_last=keep_last, keep_daily=p.daily, keep_weekly=p.weekly,
                          keep_monthly=p.monthly, keep_safety=p.keep_safety)  # fmt: skip


def backup_prune(ctx: OpContext, p: PruneParams) -> RetentionPlan:
    """Apply retention; never deletes the newest verified backup."""
    return _store(ctx, p.source).prune(_rules(ctx, p))


def plan_prune(ctx: OpContext, p: PruneParams) -> Plan:
    """What ``backup.prune`` would delete; reads only."""
    return plans.prune_plan("backup.prune", _store(ctx, p.source), _rules(ctx, p))


def backup_schedule(ctx: OpContext, p: ScheduleParams) -> ScheduleResult:
    """The backup job on a timer: backup, prune to the config's keep_last (and drill), ``count`` times."""
    from redisops.backup import RetentionRules
    from redisops.ops.backup import create_rdb_backup
    from redisops.ops.restore import run_drill

    ep = ctx.target.redis
    store = _store(ctx, p.source)
    cfg = ctx.target.config()
    runs: list[dict[str, Any]] = []
    while p.count == 0 or len(runs) < p.count:
        started = time.monotonic()
        m = create_rdb_backup(ep, store, purpose="scheduled", reporter=ctx.reporter, cancel=ctx.cancel)
        pruned = store.prune(RetentionRules(keep_last=cfg.backup.keep_last))
        entry: dict[str, Any] = {"id": m.id, "pruned": [b.id for b in pruned.delete]}
        if p.drill:
            ctx.reporter.phase("drilling", f"backup {m.id}")
            entry["drill"] = run_drill(store, m.id, cfg=cfg).to_dict()
        runs.append(entry)
        ctx.reporter.log(f"backup {m.id} taken; pruned {len(pruned.delete)}")
        if p.count == 0 or len(runs) < p.count:
            ctx.reporter.phase("waiting", f"next backup in {p.every:g} s")
            ctx.cancel.sleep(max(0.0, p.every - (time.monotonic() - started)), "between scheduled backups")
    return ScheduleResult(runs)


def plan_schedule(ctx: OpContext, p: ScheduleParams) -> Plan:
    """What ``backup.schedule`` would do first: a backup (as ``backup.create`` plans it), then prune."""
    store = _store(ctx, p.source)
    first = plans.create_plan("backup.schedule", store, ctx.target.redis, kind="rdb", data_dir=None,
                              prefer_replica=True, holder_alive=store.holder_alive)  # fmt: skip
    keep = ctx.target.config().backup.keep_last
    times = "until cancelled" if p.count == 0 else f"{p.count} time{'s' if p.count != 1 else ''}"
    steps = (*first.steps, f"prune to the newest {keep} backups (the config's keep_last)")
    if p.drill:
        steps += ("run a restore drill of the new backup and record it",)
    steps += (f"repeat every {p.every:g} s, {times}",)
    return dataclasses.replace(first, steps=steps)


def register(cat: Catalogue) -> None:
    """Add the backup operations to ``cat``.

    The results defined beside the store are not named here (``backup.describe``/``create``:
    :class:`~redisops.backup.Manifest`, ``verify``: ``redisops.ops.backup.VerifyResult``, ``gc``:
    ``GcReport``, ``prune``: ``RetentionPlan``, ``drill``: ``redisops.ops.restore.DrillResult``):
    importing them would load the backup store (S3) and the restore engine for every command that builds
    the catalogue; the runs import them.
    """
    read, mutate, destroy = Kind.read, Kind.mutate, Kind.destructive
    for op in (
        Operation("backup.list", "List complete backups (with a manifest), newest first.", read,
                  ListParams, backup_list, result=BackupList),
        Operation("backup.describe", "One backup's manifest.", read, DescribeParams, backup_describe),
        Operation("backup.verify", "Re-read a backup: sizes, SHA-256, RDB trailer (deep: load and count).",
                  read, VerifyParams, backup_verify),
        Operation("backup.create", "Take a backup now; listed only once complete and verified.", mutate,
                  CreateParams, backup_create, plan_create),
        Operation("backup.drill", "Restore a backup into a scratch redis-server, verify, record RTO/RPO.",
                  mutate, DrillParams, backup_drill, plan_drill),
        Operation("backup.unlock", "Break a backup lock left by a dead backup.", mutate, UnlockParams,
                  backup_unlock, plan_unlock, result=UnlockResult),
        Operation("backup.delete", "Delete one backup (its manifest first).", destroy, DeleteParams,
                  backup_delete, plan_delete, result=DeleteResult),
        Operation("backup.gc", "Remove leftovers: unfinished uploads, folders without a manifest.", destroy,
                  GcParams, backup_gc, plan_gc),
        Operation("backup.prune", "Apply retention (keep-last plus daily/weekly/monthly).", destroy,
                  PruneParams, backup_prune, plan_prune),
        Operation("backup.schedule", "The backup job on a timer: backup, prune (and drill) every interval.",
                  destroy, ScheduleParams, backup_schedule, plan_schedule, result=ScheduleResult),
    ):  # fmt: skip
        cat.register(op)
