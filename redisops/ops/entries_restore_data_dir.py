"""Catalogue entry of the restore engine alone on a mounted data dir: ``restore.data_dir``.

What the in-cluster Jobs run (``redisops restore-data-dir``): no target, no Redis connection; the store
is the config's backup target (``REDISOPS_S3_*`` from the environment applied), the settings of the Redis
that will load the files come from its redis.conf (the Jobs mount its ConfigMap) or the config. One of

* ``backup``: download, verify and install a backup (Redis stopped); split in two, ``stage_only`` stages
  it beside the running Redis and ``install_staged`` installs what was staged once Redis is stopped;
* ``undo``: put back the files the last restore moved aside;
* ``adopt``: install a lone ``dump.rdb`` Redis would ignore (``appendonly yes`` without a valid AOF) as
  the AOF base (the Velero init restore hook); nothing when there is nothing to adopt.

It is ``destructive`` (it replaces a data dir's files): the plan says what it will do; the engine's own
checks (the backup fits maxmemory, nothing staged under that id ...) refuse in the run before anything
changes, with their own errors.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from redisops.errors import ConfigError
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation, Plan
from redisops.ops.entries_util import phase_progress

if TYPE_CHECKING:
    from redisops.backup import BackupStore
    from redisops.config.model import DeploymentConfig

__all__ = ["DataDirParams", "register"]

_OP = "restore.data_dir"


class DataDirParams(BaseModel):
    """Parameters of ``restore.data_dir`` (exactly one of ``backup``, ``undo``, ``adopt``)."""

    model_config = ConfigDict(extra="forbid")

    backup: str | None = Field(None, description="backup id or 'latest' to install (not with undo/adopt)")
    undo: bool = Field(False, description="put back the files the last restore moved aside")
    adopt: bool = Field(
        False, description="install a lone dump.rdb as the AOF base (after a Velero restore); else nothing"
    )
    data_dir: str = Field("/data", description="the mounted data dir (Redis must be stopped)")
    redis_version: str = Field("7.0.15", description="version of the Redis that will load the files")
    uid: int | None = Field(None, ge=0, description="owner of the installed files [default: unchanged]")
    gid: int | None = Field(None, ge=0, description="group of the installed files [default: unchanged]")
    redis_conf: str | None = Field(
        None,
        description="the redis.conf the target loads (the Jobs mount its ConfigMap): appendonly, file names "
        "and maxmemory come from it instead of the redisops config",
    )
    stage_only: bool = Field(
        False,
        description="with backup: only download, verify and fsync it into the staging folder of "
        "operation_id (Redis may keep running on the data dir); install_staged installs it",
    )
    install_staged: str | None = Field(
        None,
        description="with backup: install what stage_only staged under this operation id (Redis must be "
        "stopped; no download)",
    )
    operation_id: str | None = Field(
        None, description="names the staging and undo folders [default: a random id]"
    )
    source: str | None = Field(
        None, description="the source name in the backup store [default: the config's service_name]"
    )
    config: str | None = Field(
        None, description="the redisops config file [default: the write-up's defaults]; REDISOPS_S3_* apply"
    )


def _check(p: DataDirParams) -> None:
    """ConfigError (exit 3) for a combination the engine cannot run."""
    if sum((p.backup is not None, p.undo, p.adopt)) != 1:
        raise ConfigError("pass exactly one of --backup ID, --undo or --adopt")
    if (p.stage_only or p.install_staged is not None) and p.backup is None:
        raise ConfigError("--stage-only and --install-staged go with --backup ID")
    if p.stage_only and p.install_staged is not None:
        raise ConfigError(
            "pass --stage-only or --install-staged, not both",
            hint="stage first (Redis may run), then install with Redis stopped",
        )


def _config(p: DataDirParams) -> DeploymentConfig:
    from redisops.config import apply_env, load_config

    return apply_env(load_config(p.config), os.environ)


def _redis_conf(p: DataDirParams) -> str | None:
    from redisops.config.loaders import read_redis_conf

    return read_redis_conf(Path(p.redis_conf) if p.redis_conf is not None else None)


def _store(cfg: DeploymentConfig, source: str | None, ctx: OpContext) -> BackupStore:
    """The Job's store: the config's backup target, never a sandbox's S3; its notices are warnings and,
    in a pod, a lock's holder is asked whether it lives."""
    from redisops.ops.backup import in_cluster_liveness, store_for

    store = store_for(cfg.backup, sandbox=None, source_name=source or cfg.service_name)
    store.on_notice = ctx.reporter.warning
    store.holder_alive = in_cluster_liveness()
    return store


def data_dir_plan(ctx: OpContext, p: DataDirParams) -> Plan:
    """What ``restore.data_dir`` will do; reads only (an undo reads the restore record)."""
    _check(p)
    where = p.data_dir
    details: dict[str, Any] = {"data_dir": where}
    if p.undo:
        from redisops.restore.undo import plan_undo

        undo = plan_undo(Path(where), datetime.now(UTC), operation_id=p.operation_id)
        lines = tuple(line.strip() for line in undo.describe() if "BLOCKED" not in line)
        return Plan(_OP, steps=lines, blockers=undo.blockers, details=details | {"undoes": undo.undoes})
    if p.adopt:
        step = f"install a lone dump.rdb in {where} as the AOF base when Redis would ignore it (else nothing)"
        return Plan(_OP, steps=(step,), details=details)
    details["backup_id"] = p.backup
    if p.install_staged is not None:
        steps: tuple[str, ...] = (
            f"install what operation {p.install_staged} staged in {where} "
            "(Redis must be stopped; no download)",
        )
    elif p.stage_only:
        steps = (
            f"download, verify and fsync backup {p.backup} into a staging folder in {where} (Redis may run)",
        )
    else:
        steps = (
            f"download and verify backup {p.backup} into a staging folder in {where}",
            f"install it in {where} (Redis must be stopped); the files it replaces go into .redisops-undo/",
        )
    return Plan(_OP, steps=steps, details=details)


def data_dir_run(ctx: OpContext, p: DataDirParams) -> Any:
    """Run the engine on the data dir (see the module docstring); returns the engine's result."""
    _check(p)
    ctx.cancel.check()
    now = datetime.now(UTC)
    data_dir = Path(p.data_dir)
    if p.undo:
        from redisops.restore import undo_restore

        return undo_restore(data_dir, now)
    cfg = _config(p)
    conf_text = _redis_conf(p)
    if p.adopt:
        from redisops.ops.restore import target_settings
        from redisops.restore.adopt import adopt_data_dir

        settings = target_settings(cfg, p.redis_version, uid=p.uid, gid=p.gid, redis_conf=conf_text)
        return adopt_data_dir(data_dir, settings, now)
    from redisops.ops.restore import restore_into_data_dir

    assert p.backup is not None  # _check
    return restore_into_data_dir(
        _store(cfg, p.source, ctx),
        p.backup,
        data_dir,
        cfg,
        redis_version=p.redis_version,
        uid=p.uid,
        gid=p.gid,
        now=now,
        progress=phase_progress(ctx.reporter),
        redis_conf=conf_text,
        stage_only=p.stage_only,
        install_staged=p.install_staged,
        operation_id=p.operation_id,
    )


def register(cat: Catalogue) -> None:
    """Add ``restore.data_dir``."""
    cat.register(
        Operation(
            _OP,
            "The restore engine alone on a mounted data dir (what the in-cluster Jobs run): install, "
            "stage, undo or adopt.",
            Kind.destructive,
            DataDirParams,
            data_dir_run,
            plan=data_dir_plan,
        )
    )
