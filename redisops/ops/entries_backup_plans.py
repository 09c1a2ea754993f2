"""The plans of the mutating and destructive backup operations: what each would do, and what blocks it.

Every function here only reads (the lock object, manifests, object listings, INFO and CONFIG GET of
the source Redis); no lock is taken and nothing is written. The store given is the operation's store;
the reads go through a fail-fast copy of it (:func:`redisops.ops.health_probes.fail_fast`), so an
unreachable store is one blocker after a few seconds rather than a minute of retries.

:func:`assess_lock` mirrors the decision :meth:`BackupStore.begin` makes when the lock is taken:
free, a leftover of a committed backup (released), a holder provably dead (broken), alive, or unknown.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from redisops.errors import AuthError, NotFoundError, RedisOpsError
from redisops.ops.catalogue import Plan

if TYPE_CHECKING:
    from redisops.adapters.redis_conn import RedisEndpoint
    from redisops.backup import BackupStore, LockInfo, Manifest, RetentionRules
    from redisops.backup.lock import HolderAlive

__all__ = [
    "LockView",
    "assess_lock",
    "create_plan",
    "delete_plan",
    "drill_plan",
    "gc_plan",
    "newest_verified",
    "prune_plan",
    "unlock_plan",
]

Verdict = Literal["free", "leftover", "dead", "alive", "unknown"]


@dataclasses.dataclass(frozen=True)
class LockView:
    """The source's lock as a backup would find it: ``verdict`` and a sentence for people."""

    holder: LockInfo | None
    verdict: Verdict
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (the holder in words, never more than the lock object holds)."""
        h = self.holder
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "backup_id": h.backup_id if h else None,
            "holder": h.holder() if h else None,
            "since": h.started_at.isoformat().replace("+00:00", "Z") if h else None,
        }


def _reader(store: BackupStore) -> BackupStore:
    from redisops.ops.health_probes import fail_fast

    return fail_fast(store)


def _where(store: BackupStore) -> str:
    return f"s3://{store.s3.settings.bucket}/{store.layout.root} (source {store.source})"


def _unreachable(store: BackupStore, e: RedisOpsError) -> str:
    return f"the backup store {_where(store)} cannot be read: {e.one_line()}"


def assess_lock(store: BackupStore, holder_alive: HolderAlive | None = None) -> LockView:
    """Who holds the lock of ``store``'s source and what taking it would do (reads only)."""
    from redisops.adapters.local import pid_alive
    from redisops.backup.layout import is_backup_id
    from redisops.backup.lock import fmt_age

    holder = store.lock_info()
    if holder is None:
        return LockView(None, "free", f"no backup of {store.source} holds the lock")
    age = fmt_age(datetime.now(UTC) - holder.started_at)
    who = f"backup {holder.backup_id} held by {holder.holder()} for {age}"
    if is_backup_id(holder.backup_id) and store.s3.exists(
        store.layout.manifest_key(store.source, holder.backup_id)
    ):
        return LockView(holder, "leftover", f"{who}: that backup is complete; the lock is a leftover")
    if holder.host == store.host:
        if pid_alive(holder.pid):
            return LockView(holder, "alive", f"{who}: its process runs on this host")
        return LockView(holder, "dead", f"{who}: its process on this host is gone")
    if holder.pod is not None and holder_alive is not None:
        try:
            alive = holder_alive(holder)
        except RedisOpsError:
            alive = None
        if alive is False:
            return LockView(holder, "dead", f"{who}: its pod no longer exists (or has terminated)")
        if alive is True:
            return LockView(holder, "alive", f"{who}: its pod {holder.pod} is running")
    return LockView(holder, "unknown", f"{who}: whether it still runs cannot be checked from here")


def newest_verified(items: list[Manifest]) -> Manifest | None:
    """The newest write-time verified backup that is not a safety backup (what retention always keeps)."""
    return next((m for m in items if m.verified and not m.is_safety), None)


def _lock_effects(
    view: LockView, blockers: list[str], warnings: list[str], store: BackupStore | None = None
) -> None:
    if view.verdict in ("alive", "unknown"):
        if store is not None and view.holder is not None:
            # the words the store itself refuses with: who holds it, since when, what to check
            err = store._held_error(
                view.holder, datetime.now(UTC), pod_alive=True if view.verdict == "alive" else None
            )
            blockers.append(f"{err.message} ({err.hint})")
            return
        blockers.append(f"a backup is already running: {view.reason}")
    elif view.verdict == "leftover":
        warnings.append(f"the lock will be released first ({view.reason})")
    elif view.verdict == "dead":
        warnings.append(f"the lock will be broken first ({view.reason})")


def create_plan(
    op: str,
    store: BackupStore,
    ep: RedisEndpoint,
    *,
    kind: str,
    data_dir: Path | None,
    prefer_replica: bool,
    holder_alive: HolderAlive | None,
    lock_when_taken: bool = False,
    seen: dict[str, Any] | None = None,
) -> Plan:
    """``backup.create``: the source Redis answers (and has AOF on for ``aof``), the lock is free.

    ``lock_when_taken`` (an RDB backup whose run follows at once): the lock is not read here; taking it
    is the run's first write, and a held lock blocks the run there with the same words (PlanBlocked),
    so the store is not touched before the snapshot transfer starts. ``seen`` receives what the plan
    read for the run to reuse (``info``: the INFO of ``ep``).
    """
    from redisops.ops.backup import INFO_SECTIONS
    from redisops.ops.inspect import fetch_config, fetch_info

    blockers: list[str] = []
    warnings: list[str] = []
    details: dict[str, Any] = {"kind": kind, "source": store.source, "store": _where(store),
                               "redis": ep.url()}  # fmt: skip
    steps = [f"read INFO and the persistence settings of {ep.address}",
             f"take the backup lock of {store.source} in {_where(store)}"]  # fmt: skip
    try:
        info = fetch_info(ep, INFO_SECTIONS)
        if seen is not None:
            seen["info"] = info
        details["estimated_bytes"] = info.memory.used_memory_dataset
        details["redis_version"] = info.server.redis_version
    except AuthError:
        raise  # a wrong password is the caller's error (exit 5), not a finding of the plan
    except RedisOpsError as e:
        blockers.append(f"the source Redis {ep.address} cannot be read: {e.one_line()}")
    if kind == "rdb":
        replica = " (an online replica when there is one)" if prefer_replica else ""
        steps += [
            f"stream an RDB snapshot from {ep.address}{replica}",
            "check the RDB header, CRC64 trailer, SHA-256 and key counts while uploading dump.rdb",
        ]
    else:
        if data_dir is None:
            blockers.append("an AOF backup needs the data dir (data_dir) where the Redis files are")
        elif not data_dir.is_dir():
            blockers.append(f"the data dir {data_dir} does not exist here")
        if not blockers:
            conf, why = fetch_config(ep, "append*")
            if conf is None:
                blockers.append(f"the AOF settings cannot be read: {why}")
            elif conf.get("appendonly") != "yes":
                blockers.append("the server runs appendonly no: there is no AOF to back up (use kind rdb)")
        steps += ["pause automatic AOF rewrites (auto-aof-rewrite-percentage 0) until the copy is done",
                  f"copy the AOF files the manifest names from {data_dir}"]  # fmt: skip
    steps.append("write the manifest last (only then is the backup listed) and release the lock")
    if lock_when_taken and kind == "rdb":
        details["lock"] = {"verdict": "when-taken", "reason": "checked when the run takes it (a held lock "
                           "stops the run before anything is written)"}  # fmt: skip
        return Plan(op, tuple(steps), tuple(blockers), tuple(warnings), details)
    try:
        # through the backup's own store (not a fail-fast copy): the run that follows the plan uses the
        # same store, so `backup create` opens one S3 client (an unreachable store is as slow either way)
        view = assess_lock(store, holder_alive)
        details["lock"] = view.to_dict()
        _lock_effects(view, blockers, warnings, store)
    except RedisOpsError as e:
        blockers.append(_unreachable(store, e))
    return Plan(op, tuple(steps), tuple(blockers), tuple(warnings), details)


def delete_plan(op: str, store: BackupStore, backup_id: str, *, force: bool) -> Plan:
    """``backup.delete``: the backup exists; the newest verified backup goes only with ``force``."""
    reader = _reader(store)
    blockers: list[str] = []
    warnings: list[str] = []
    try:
        m = reader.get(backup_id)
        items = reader.list()
        prefix = reader.layout.backup_prefix(reader.source, backup_id)
        keys = reader.s3.list_keys(prefix)
    except NotFoundError as e:
        return Plan(op, (), (e.message,), (), {"backup_id": backup_id, "source": store.source})
    except RedisOpsError as e:
        return Plan(op, (), (_unreachable(store, e),), (), {"backup_id": backup_id})
    newest = newest_verified(items)
    if newest is not None and newest.id == backup_id:
        others = sum(1 for x in items if x.id != backup_id)
        what = (
            f"backup {backup_id} is the newest verified backup of {store.source} "
            f"({others} other backup{'s' if others != 1 else ''} left, none newer and verified)"
        )
        if force:
            warnings.append(what + "; deleting it anyway (force)")
        else:
            blockers.append(what + "; force it (--force, force=True) to delete it anyway")
    steps = (f"delete the manifest of {backup_id} first (it is no longer listed from then on)",
             f"delete its {len(keys) - 1} other object{'s' if len(keys) != 2 else ''} ({m.size} bytes)",
             "abort any unfinished upload in its folder")  # fmt: skip
    details = {"backup_id": backup_id, "source": store.source, "objects": keys, "size": m.size}
    return Plan(op, steps, tuple(blockers), tuple(warnings), details)


def unlock_plan(op: str, store: BackupStore, holder_alive: HolderAlive | None, *, force: bool) -> Plan:
    """``backup.unlock``: a holder known to be running is not unlocked without ``force``."""
    try:
        view = assess_lock(_reader(store), holder_alive)
    except RedisOpsError as e:
        return Plan(op, (), (_unreachable(store, e),), (), {"source": store.source})
    details = {"source": store.source, "lock": view.to_dict()}
    if view.holder is None:
        return Plan(op, (f"nothing to unlock: {view.reason}",), details=details)
    steps = (f"remove the lock of {store.source} ({view.reason}), only if it is still that lock",)
    if view.verdict == "alive":
        if not force:
            blocker = f"the holder is running: {view.reason}; force it (--force, force=True) to break it"
            return Plan(op, steps, (blocker,), (), details)
        return Plan(
            op, steps, (), (f"breaking the lock of a running holder (force): {view.reason}",), details
        )
    warnings = (f"check that it is dead: {view.reason}",) if view.verdict == "unknown" else ()
    return Plan(op, steps, (), warnings, details)


def gc_plan(op: str, store: BackupStore, grace: timedelta) -> Plan:
    """``backup.gc``: what a dry run of the garbage collection finds (every source under the root)."""
    try:
        report = _reader(store).gc(datetime.now(UTC), grace, dry_run=True)
    except RedisOpsError as e:
        return Plan(op, (), (_unreachable(store, e),), (), {})
    steps = [f"abort the unfinished upload {u.key}" for u in report.aborted_uploads]
    steps += [f"delete the incomplete backup {folder}" for folder in report.incomplete_backups]
    if not steps:
        steps = [report.summary()[0]]
    warnings = tuple(f"keys outside the backup layout are left alone: {k}" for k in report.unknown_keys[:5])
    return Plan(op, tuple(steps), (), warnings, {"report": report})


def prune_plan(op: str, store: BackupStore, rules: RetentionRules) -> Plan:
    """``backup.prune``: the retention decision (the newest verified backup is always kept)."""
    try:
        decision = _reader(store).plan_retention(rules)
    except RedisOpsError as e:
        return Plan(op, (), (_unreachable(store, e),), (), {})
    steps = tuple(f"delete backup {b.id}" for b in decision.delete) or (
        f"nothing to delete: every backup of {store.source} is kept",
    )
    return Plan(op, steps, (), (), {"rules": rules, "retention": decision})


def drill_plan(op: str, store: BackupStore, backup_id: str, redis_conf: Path | None) -> Plan:
    """``backup.drill``: the backup exists, redis-server is installed, the redis.conf can be read."""
    from redisops.ops.restore import resolve_backup

    blockers: list[str] = []
    details: dict[str, Any] = {"source": store.source}
    reader = _reader(store)
    label = backup_id
    try:
        m = resolve_backup(reader, backup_id)
        label = f"{m.id} ({m.size} bytes)"
        details["backup_id"] = m.id
    except NotFoundError as e:
        blockers.append(e.message)
    except RedisOpsError as e:
        blockers.append(_unreachable(store, e))
    if shutil.which("redis-server") is None:
        blockers.append("redis-server is not installed here (the drill loads the backup into one)")
    if redis_conf is not None and not redis_conf.is_file():
        blockers.append(f"the redis.conf {redis_conf} cannot be read")
    key = f"{store.layout.root}/drills/{store.source}/last.json"
    steps = (f"download backup {label} into a scratch directory and verify it",
             "start a scratch redis-server with the production config on a free local port",
             "wait for it to load and compare the key counts with the manifest",
             "stop the scratch server and remove its files",
             f"record the result (RTO, RPO, keys) in s3://{store.s3.settings.bucket}/{key}")  # fmt: skip
    return Plan(op, steps, tuple(blockers), (), details)
