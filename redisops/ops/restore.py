"""Restore from the backup store: into the sandbox, into a data dir (the in-cluster Job), and drills.

All three use one engine (:mod:`redisops.restore`): download with verification into a staging dir,
refuse before touching anything when a hash, the RDB trailer or the RDB version does not fit, move the
current files aside (the undo point), install the form the target config loads, verify after start.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redisops.adapters.local import ManagedProcess, free_port, start_redis
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.backup import BackupStore, Manifest
from redisops.cancel import CancelToken
from redisops.config import DeploymentConfig, override_redis_conf, render_redis_conf
from redisops.errors import Interrupted, NotFoundError, RedisOpsError
from redisops.events import Reporter
from redisops.ops.inspect import fetch_info
from redisops.ops.platform import LocalPlatform, ProcessPlatform
from redisops.ops.restore_flow import FlowPlan, RestoreFlow
from redisops.ops.restore_local import DataDirAccess, LocalRestoreResult, LocalUndoResult, local_result
from redisops.ops.sandbox import SandboxState
from redisops.restore import (
    ExpectedBackup,
    ExpectedFile,
    RestoreResult,
    StagedRestore,
    TargetSettings,
    UndoPlan,
    plan_undo,
    restore_aof_dir,
    restore_rdb,
)

__all__ = [
    "DrillResult",
    "SandboxRestore",
    "expected_from_manifest",
    "last_drill",
    "name_safety_backup",
    "plan_sandbox_undo",
    "resolve_backup",
    "restore_into_data_dir",
    "restore_sandbox",
    "run_drill",
    "safety_note",
    "undo_sandbox_restore",
]

Progress = Callable[[str, int, int | None], None]


def resolve_backup(store: BackupStore, backup_id: str, *, include_safety: bool = False) -> Manifest:
    """The manifest of ``backup_id``; for ``latest`` the newest backup that is not a restore's safety
    backup (unless ``include_safety``): after a refused restore, "latest" is still the operator's."""
    if backup_id == "latest":
        m = store.latest(include_safety=include_safety)
        if m is None:
            raise NotFoundError(
                f"there are no backups of {store.source} yet"
                + ("" if include_safety else " (safety backups aside: --include-safety)"),
                hint="redisops backup create",
            )
        return m
    return store.get(backup_id)


def safety_note(safety_id: str, restore_command: str = "redisops restore") -> str:
    """The sentence every message of a run that took a safety backup carries."""
    return (
        f"the safety backup {safety_id} holds the data the target had before "
        f"(to put it back: {restore_command} {safety_id} --force)"
    )


def name_safety_backup(e: RedisOpsError, safety_id: str, restore_command: str = "redisops restore") -> None:
    """Add the safety backup a run took to an error raised after it was taken (message, hint, context)."""
    if safety_id in e.message:
        return
    e.message = f"{e.message} [safety backup {safety_id} was taken first]"
    e.args = (e.message,)
    e.hint = (e.hint + "; " if e.hint else "") + safety_note(safety_id, restore_command)
    e.context["safety_backup"] = safety_id


def expected_from_manifest(m: Manifest) -> ExpectedBackup:
    """What the restore must find, taken from the manifest (hashes, sizes, RDB version, key counts)."""
    if m.kind == "rdb":
        entry = next((o for o in m.objects if o.name == "dump.rdb"), None)
        if entry is None:
            raise NotFoundError(f"backup {m.id} has no dump.rdb object")
        return ExpectedBackup.for_rdb(
            m.id,
            sha256=entry.sha256,
            size=entry.size,
            rdb_version=m.rdb_version,
            key_counts=m.key_counts,
            dataset_bytes=m.used_memory_dataset,
            content_verified=entry.verified is True and m.key_counts is not None,
        )
    files = {
        o.name.removeprefix("aof/"): ExpectedFile(o.size, o.sha256)
        for o in m.objects
        if o.name.startswith("aof/")
    }
    return ExpectedBackup.for_aof(m.id, files, key_counts=m.key_counts, dataset_bytes=m.used_memory_dataset)


def _source(store: BackupStore, m: Manifest) -> Iterable[bytes] | Mapping[str, Iterable[bytes]]:
    # the engine hashes every file against the manifest itself: the store need not hash it again
    if m.kind == "rdb":
        return store.open_object(m.id, "dump.rdb", hash_check=False)
    return {
        o.name.removeprefix("aof/"): store.open_object(m.id, o.name, hash_check=False)
        for o in m.objects
        if o.name.startswith("aof/")
    }


def _redis_version(ep: RedisEndpoint) -> str:
    return fetch_info(ep, ("server",)).server.redis_version or "7.0.0"


UNDO_COMMAND = "redisops restore undo"


def _fmt_counts(counts: Mapping[int, tuple[int, int]]) -> str:
    if not counts:
        return "no keys"
    return ", ".join(
        f"db{db} {keys}" + (f" ({exp} with TTL)" if exp else "") for db, (keys, exp) in sorted(counts.items())
    )


@dataclass
class SandboxRestore:
    """The outcome of a sandbox restore: the plan (dry run) or the run's result, and the safety backup.

    Attributes:
        operation_id: the restore's id (names its undo folder); the plan and the run share it.
        plan: the steps (dry run), as lines.
        blockers: what the real run would refuse (dry run); empty when it would go ahead.
        safety_backup: id of the backup taken of the target's previous data, None when none was taken.
        result: the run's result (None for a dry run).
    """

    backup_id: str
    dry_run: bool
    operation_id: str = ""
    data_dir: str = ""
    target: str = ""
    plan: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    safety_backup: str | None = None
    result: LocalRestoreResult | None = None
    prepared: FlowPlan | None = field(default=None, repr=False, compare=False)

    @property
    def blocked(self) -> bool:
        """True when the plan found what the real run would refuse."""
        return bool(self.blockers)

    @property
    def undo_dir(self) -> str | None:
        """The folder holding the previous files (after a run)."""
        return str(self.result.engine.undo_dir) if self.result is not None else None

    def summary(self) -> list[str]:
        """What the run did, as a few human lines (the plan's lines for a dry run)."""
        if self.dry_run or self.result is None:
            return list(self.plan)
        r = self.result
        lines = [
            f"restored backup {self.backup_id} into the sandbox target {self.target} "
            f"(data dir {self.data_dir})",
            f"keys loaded: {_fmt_counts(r.key_counts)}",
            f"timings: download + verify {r.stage_seconds:.2f}s (the target kept serving), stop "
            f"{r.stop_seconds:.2f}s, install {r.install_seconds:.2f}s, start to loaded "
            f"{r.start_to_loaded_seconds:.2f}s; downtime {r.downtime_seconds:.2f}s of "
            f"{r.total_seconds:.2f}s total",
        ]
        lines += r.notes
        if self.safety_backup:
            lines.append(
                f"safety backup of the previous data: {self.safety_backup} "
                f"(restore it with: redisops restore {self.safety_backup} --force)"
            )
        lines.append(f"the previous files are in {r.engine.undo_dir}; undo with: {UNDO_COMMAND}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the plan for a dry run, the run's summary otherwise (no internals)."""
        doc: dict[str, Any] = {
            "backup_id": self.backup_id,
            "dry_run": self.dry_run,
            "operation_id": self.operation_id,
            "target": self.target,
            "data_dir": self.data_dir,
            "safety_backup": self.safety_backup,
        }
        if self.dry_run or self.result is None:
            doc.update(plan=self.plan, blocked=self.blocked, blockers=self.blockers)
            return doc
        r = self.result
        doc.update(
            form=r.engine.form,
            key_counts={str(db): {"keys": k, "expires": e} for db, (k, e) in sorted(r.key_counts.items())},
            expired_meanwhile=r.expired_meanwhile,
            aof_enabled=r.aof_enabled,
            timings={
                "stop": round(r.stop_seconds, 3),
                "stage": round(r.stage_seconds, 3),
                "install": round(r.install_seconds, 3),
                "start_to_loaded": round(r.start_to_loaded_seconds, 3),
                "total": round(r.total_seconds, 3),
                "downtime": round(r.downtime_seconds, 3),
            },
            downtime_seconds=round(r.downtime_seconds, 3),
            undo_dir=str(r.engine.undo_dir),
            undo_command=UNDO_COMMAND,
            notes=list(r.notes),
        )
        return doc


def _target_pid(state: SandboxState) -> int | None:
    svc = state.services.get("target")
    return svc.pid if svc is not None else None


def sandbox_flow(
    state: SandboxState,
    cfg: DeploymentConfig,
    store: BackupStore,
    m: Manifest,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[RestoreFlow, DataDirAccess, TargetSettings]:
    """The one restore flow over the sandbox target: :class:`LocalPlatform` and its data dir."""
    from contextlib import nullcontext

    ep = state.target
    settings = TargetSettings.from_config(cfg, _redis_version(ep))
    pid = _target_pid(state)
    access = DataDirAccess(
        state.data_dir, settings, _source(store, m), now, on_progress=progress,
        ignore_pids=() if pid is None else (pid,), place=f"the sandbox target {ep.address}"
        + (f" (pid {pid})" if pid else ""),
    )  # fmt: skip
    flow = RestoreFlow(
        LocalPlatform(state),
        access,
        live_keys=lambda: _total_keys(ep),
        redis_endpoint=lambda: nullcontext(ep),
        target_name="the sandbox target",
    )
    return flow, access, settings


def restore_sandbox(
    state: SandboxState,
    cfg: DeploymentConfig,
    store: BackupStore,
    backup_id: str = "latest",
    *,
    dry_run: bool = False,
    force: bool = False,
    safety_backup: bool = True,
    confirmed: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    include_safety: bool = False,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
    prepared: FlowPlan | None = None,
) -> SandboxRestore:
    """Restore a backup into the sandbox target (:class:`~redisops.ops.restore_flow.RestoreFlow` over
    :class:`~redisops.ops.platform.LocalPlatform`: stage, stop, install, start, verify key counts).

    Refuses a non-empty target unless ``force``; takes a safety backup of it first unless told not to;
    needs ``confirmed`` (the front end asks) unless ``dry_run``. A dry run changes nothing and returns
    the plan with ``blockers``: what the real run would refuse (the running target is not one: the run
    stops it first). The run checks the same plan before it takes the safety backup or stops anything;
    ``prepared`` (the plan of a dry run, :attr:`SandboxRestore.prepared`) is used as it is rather than
    computed again.

    The safety backup is labelled ``safety`` (``latest`` skips it unless ``include_safety``); an error
    raised after it was taken names it (message, hint, context ``safety_backup``).

    The target keeps serving while the backup is downloaded, verified and staged beside its files; it
    is stopped only for the install and the start (``result.downtime_seconds``).

    ``reporter`` gets the phases ``safety backup`` (then the backup's own: connecting, streaming,
    committing), ``downloading`` (byte progress of the backup's size), ``stopping``, ``installing``,
    ``starting`` and ``verifying``. ``cancel`` stops it up to the stop: a cancelled safety backup
    leaves nothing stored and the target untouched; a cancelled download removes the staging folder,
    and the target, never stopped, serves its unchanged data dir (:class:`~redisops.errors.Interrupted`
    says which).
    """
    when = now or datetime.now(UTC)
    m = prepared.manifest if prepared is not None and prepared.manifest is not None else None
    m = m or resolve_backup(store, backup_id, include_safety=include_safety)
    flow, _access, _settings = sandbox_flow(state, cfg, store, m, now=when, progress=progress)
    if prepared is not None:
        prepared = dataclasses.replace(prepared, store=store)
    plan = prepared or flow.plan(
        m, expected_from_manifest(m), secrets.token_hex(4),
        force=force, safety_backup=safety_backup, store=store,
    )  # fmt: skip
    ep = state.target
    out = SandboxRestore(
        backup_id=m.id, dry_run=dry_run, operation_id=plan.operation_id, data_dir=str(state.data_dir),
        target=ep.address, prepared=plan,
    )  # fmt: skip
    if dry_run:
        out.plan, out.blockers = plan.lines(), plan.blockers
        return out
    res = flow.run(
        plan, confirmed=confirmed, what=f"restoring {m.id} into the sandbox target {ep.address}",
        reporter=reporter, cancel=cancel,
    )  # fmt: skip
    out.safety_backup = res.safety_backup
    out.result = local_result(res)
    return out


def plan_sandbox_undo(state: SandboxState, *, now: datetime | None = None) -> UndoPlan:
    """What :func:`undo_sandbox_restore` would do (``--dry-run``): reads the data dir, changes nothing.
    The running target is not a blocker (the undo stops it first)."""
    pid = _target_pid(state)
    return plan_undo(state.data_dir, now or datetime.now(UTC), ignore_pids=() if pid is None else (pid,))


def undo_sandbox_restore(state: SandboxState, *, now: datetime | None = None) -> LocalUndoResult:
    """Put back the files the last sandbox restore moved aside (the one flow's undo over
    :class:`~redisops.ops.platform.LocalPlatform`: stop, swap, start, verify it answers).

    Refuses (ConflictError) before stopping the target when there is nothing to undo."""
    when = now or datetime.now(UTC)
    plan_sandbox_undo(state, now=when).raise_if_blocked()
    access = DataDirAccess(state.data_dir, TargetSettings(appendonly=True, redis_version="7.0.0"), None, when)
    out = RestoreFlow(LocalPlatform(state), access).undo()
    return LocalUndoResult(
        engine=out.undone, key_counts=out.key_counts, start_to_loaded_seconds=out.timings["start_to_loaded"]
    )


def target_settings(
    cfg: DeploymentConfig,
    redis_version: str,
    *,
    uid: int | None = None,
    gid: int | None = None,
    redis_conf: str | None = None,
) -> TargetSettings:
    """The settings of the Redis that will load a data dir: from ``redis_conf`` (the text of the
    redis.conf it loads, e.g. its ConfigMap mounted in a Job) when given, else from ``cfg``."""
    if redis_conf is not None:
        return TargetSettings.from_redis_conf(redis_conf, redis_version, uid=uid, gid=gid)
    return TargetSettings.from_config(cfg, redis_version, uid=uid, gid=gid)


def restore_into_data_dir(
    store: BackupStore,
    backup_id: str,
    data_dir: Path,
    cfg: DeploymentConfig,
    *,
    redis_version: str,
    uid: int | None = None,
    gid: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    redis_conf: str | None = None,
    stage_only: bool = False,
    install_staged: str | None = None,
    operation_id: str | None = None,
) -> RestoreResult | StagedRestore:
    """The engine alone on a mounted data dir (what the restore Jobs run).

    The target's settings (appendonly, file names, maxmemory) come from ``redis_conf`` (the text of the
    redis.conf it will load, e.g. its ConfigMap mounted in the Job) when given, else from ``cfg``.

    By default it stages and installs (Redis must be stopped). The two halves of a restore that stages
    beside the running Redis: ``stage_only`` downloads, verifies and fsyncs the backup into the staging
    folder of ``operation_id`` while Redis may serve from the data dir (it writes nothing else) and
    returns the :class:`~redisops.restore.StagedRestore`; ``install_staged`` (the same operation id),
    with Redis stopped, installs what that staging left (no download).
    """
    m = resolve_backup(store, backup_id)
    settings = target_settings(cfg, redis_version, uid=uid, gid=gid, redis_conf=redis_conf)
    expected = expected_from_manifest(m)
    when = now or datetime.now(UTC)
    if install_staged is not None:
        from redisops.restore import install_staged as install
        from redisops.restore import load_staged

        return install(load_staged(data_dir, install_staged, settings, expected))
    if stage_only:
        from redisops.restore import stage_aof_dir, stage_rdb

        source = _source(store, m)
        args: dict[str, Any] = {"on_progress": progress, "operation_id": operation_id, "server_running": True}
        if m.kind == "rdb":
            assert not isinstance(source, Mapping)
            return stage_rdb(source, data_dir, settings, expected, when, **args)
        assert isinstance(source, Mapping)
        return stage_aof_dir(source, data_dir, settings, expected, when, **args)
    source = _source(store, m)
    if m.kind == "rdb":
        assert not isinstance(source, Mapping)
        return restore_rdb(
            source, data_dir, settings, expected, when, on_progress=progress, operation_id=operation_id
        )
    assert isinstance(source, Mapping)
    return restore_aof_dir(
        source, data_dir, settings, expected, when, on_progress=progress, operation_id=operation_id
    )


def _total_keys(ep: RedisEndpoint) -> int:
    return fetch_info(ep, ("keyspace",)).total_keys


@dataclass
class DrillResult:
    """A restore drill: RTO (restore wall time), RPO (backup age), verified key counts, when."""

    backup_id: str
    ok: bool
    rto_seconds: float
    rpo_seconds: float
    at: datetime
    key_counts: dict[int, int] = field(default_factory=dict)
    problem: str | None = None

    def summary(self) -> list[str]:
        """The drill as human lines."""
        keys = ", ".join(f"db{db} {n}" for db, n in sorted(self.key_counts.items())) or "no keys"
        lines = [
            f"drill of backup {self.backup_id}: {'ok' if self.ok else 'FAILED'}; "
            f"RTO {self.rto_seconds:.2f}s, RPO {self.rpo_seconds:.0f}s",
            f"keys loaded: {keys}",
        ]
        if self.problem:
            lines.append(f"problem: {self.problem}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also the record kept in the store)."""
        return {
            "backup_id": self.backup_id,
            "ok": self.ok,
            "rto_seconds": round(self.rto_seconds, 3),
            "rpo_seconds": round(self.rpo_seconds, 3),
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "key_counts": {str(k): v for k, v in self.key_counts.items()},
            "problem": self.problem,
        }


def _drill_key(store: BackupStore) -> str:
    return f"{store.layout.root}/drills/{store.source}/last.json"


def run_drill(
    store: BackupStore,
    backup_id: str = "latest",
    *,
    cfg: DeploymentConfig | None = None,
    workdir: Path | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    load_timeout: float = 300.0,
    redis_conf: str | None = None,
) -> DrillResult:
    """Restore a backup into a scratch redis-server running the production config, verify, record.

    The production config is ``redis_conf`` (the text of the redis.conf production loads, e.g. the
    ConfigMap the drill CronJob mounts) when given, else the one rendered from ``cfg``; the scratch
    server overrides only where it listens and its data dir. RTO is the wall time from the start of
    the download to a verified, loaded server; RPO is the age of the backup at that moment. The
    result is kept in the store (``drills/<source>/last.json``) so health can report the last
    successful drill.
    """
    cfg = cfg or DeploymentConfig()
    m = resolve_backup(store, backup_id)
    tmp = Path(tempfile.mkdtemp(prefix="redisops-drill-", dir=workdir))
    t0 = time.monotonic()
    procs: list[ManagedProcess] = []
    counts: dict[int, int] = {}
    problem = None
    interrupted = False
    try:
        data = tmp / "data"
        data.mkdir()
        port = free_port()
        overrides = {
            "bind": "127.0.0.1",
            "port": str(port),
            "dir": str(data),
            "protected-mode": "no",
            "logfile": '""',
        }
        if redis_conf is not None:
            conf = override_redis_conf(redis_conf, overrides)
        else:
            conf = render_redis_conf(cfg, overrides)
        settings = target_settings(cfg, _server_version(), redis_conf=redis_conf)

        def start() -> None:
            procs.append(start_redis(conf, tmp, port=port, name="drill", timeout=load_timeout))

        # the one restore flow over a scratch server that does not run yet: nothing to stage beside,
        # so it stages and installs, then starts and verifies the key counts like any restore
        scratch = ProcessPlatform(lambda: None, start, RedisEndpoint(port=port), data, running=False)
        access = DataDirAccess(data, settings, _source(store, m), now(), restart_on_failure=False)
        flow = RestoreFlow(
            scratch, access, load_timeout=load_timeout, target_name="the drill's scratch server"
        )
        plan = FlowPlan(expected_from_manifest(m), secrets.token_hex(4), scratch.staging(), False, manifest=m)
        plan.errors += access.blockers(plan)
        if plan.errors:
            raise plan.errors[0]
        out = flow.apply(plan)
        counts = {db: keys for db, (keys, _x) in out.key_counts.items()}
    except RedisOpsError as e:
        problem = e.one_line()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for proc in procs:
            proc.stop(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    if interrupted:
        raise Interrupted(
            "interrupted; the drill's scratch server was stopped and its files removed; "
            "no drill result was recorded"
        )
    at = now()
    result = DrillResult(
        backup_id=m.id,
        ok=problem is None,
        rto_seconds=time.monotonic() - t0,
        rpo_seconds=(at - m.created_at).total_seconds(),
        at=at,
        key_counts=counts,
        problem=problem,
    )
    store.s3.put_bytes(
        _drill_key(store), json.dumps(result.to_dict()).encode(), content_type="application/json"
    )
    return result


def last_drill(store: BackupStore) -> dict[str, Any] | None:
    """The record of the last drill, or None when no drill ran yet."""
    try:
        data, _etag = store.s3.get_bytes(_drill_key(store))
    except NotFoundError:
        return None
    record: dict[str, Any] = json.loads(data)
    return record


def _server_version() -> str:
    """Version of the local redis-server binary (the drill's scratch server)."""
    import subprocess

    from redisops.adapters.local import require_program

    out = subprocess.run(
        [require_program("redis-server"), "--version"], capture_output=True, text=True, timeout=30
    )
    for part in out.stdout.split():
        if part.startswith("v="):
            return part[2:]
    return "7.0.0"
