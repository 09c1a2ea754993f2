"""The rehearsal: the main job on the embedded default (the local sandbox).

It starts (or reuses) the sandbox and walks the toolkit end to end, step by step, so an operator sees
every piece working before touching production. Each step returns facts; a failed step stops the run
(later steps depend on earlier ones) and the report says which and why.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command, redis_errors
from redisops.config import DeploymentConfig
from redisops.errors import PlatformError, RedisOpsError
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.inspect import fetch_info
from redisops.ops.sandbox import SandboxState, sandbox_up

__all__ = ["RehearsalReport", "RehearsalStep", "rehearse"]

Progress = Callable[[str], None]


@dataclass
class RehearsalStep:
    """One step of the rehearsal: what it checked, whether it passed, the facts it found."""

    name: str
    ok: bool
    detail: str
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class RehearsalReport:
    """All steps in order; ``ok`` when every step passed."""

    steps: list[RehearsalStep] = field(default_factory=list)
    sandbox: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every step passed."""
        return all(s.ok for s in self.steps)


def rehearse(
    state_dir: Path | None = None,
    *,
    config: DeploymentConfig | None = None,
    progress: Progress | None = None,
) -> RehearsalReport:
    """Start the sandbox and run the rehearsal steps against it; never raises for a failed step."""
    say = progress or (lambda _msg: None)
    cfg = config or DeploymentConfig()
    report = RehearsalReport()
    state = _credentialed(sandbox_up(state_dir, config=cfg, progress=say))
    report.sandbox = state.to_dict()
    steps: list[tuple[str, Callable[[SandboxState, DeploymentConfig], tuple[str, dict[str, Any]]]]] = [
        ("target runs the deployment config", _step_target_config),
        ("source behaves like ElastiCache", _step_source_blocked),
        ("application writes to the target", _step_app_writes),
        ("backup streamed to the local S3", _step_backup),
        ("backups listed and verified (deep)", _step_list_and_verify),
        ("health of the target", _step_health),
        ("restore of the newest backup into the target", _step_restore),
        ("lint of the deployment config", _step_lint),
    ]
    for name, fn in steps:
        say(f"step: {name}")
        t0 = time.monotonic()
        try:
            detail, facts = fn(state, cfg)
            report.steps.append(RehearsalStep(name, True, detail, time.monotonic() - t0, facts))
        except RedisOpsError as e:
            report.steps.append(RehearsalStep(name, False, e.one_line(), time.monotonic() - t0))
            break
    return report


class _CredentialedState(SandboxState):
    """The sandbox state whose ``target`` is the resolved target's endpoint (with its password)."""

    _endpoint: RedisEndpoint

    @property
    def target(self) -> RedisEndpoint:
        return self._endpoint


def _credentialed(state: SandboxState) -> SandboxState:
    """``state`` whose target Redis carries the credentials the sandbox target resolves with (its
    state's password file, ``REDISCLI_AUTH``, ``REDIS_PASSWORD``: :func:`redisops.ops.target.resolve_target`),
    so every step (writes, backup, health, restore) logs in to a target started with ``--password-file``."""
    from redisops.ops.target import resolve_target

    endpoint = resolve_target(state_dir=state.state_dir).redis
    fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    out = _CredentialedState(**fields)
    out._endpoint = endpoint
    return out


def _step_target_config(state: SandboxState, cfg: DeploymentConfig) -> tuple[str, dict[str, Any]]:
    ep = state.target
    info = fetch_info(ep)
    aof = bool(info.persistence.aof_enabled)
    if aof != cfg.config.appendonly:
        raise PlatformError(
            f"target runs appendonly={'yes' if aof else 'no'}, the config says "
            f"{'yes' if cfg.config.appendonly else 'no'}",
            hint="restart the sandbox: redisops sandbox down && redisops sandbox up",
        )
    version = info.server.redis_version or "?"
    facts = {"redis_version": version, "aof_enabled": aof, "keys": info.total_keys}
    return f"Redis {version}, appendonly {'yes' if aof else 'no'}, {info.total_keys} keys", facts


def _step_source_blocked(state: SandboxState, cfg: DeploymentConfig) -> tuple[str, dict[str, Any]]:
    ep = state.source
    client = connect(ep)
    try:
        try:
            raw_command(client, "CONFIG", "GET", "save")
        except PlatformError:
            blocked = True
        else:
            blocked = False
    finally:
        client.close()
    keys = 0
    for db in (0, 1):
        db_client = connect(ep.with_db(db))
        try:
            with redis_errors(ep):
                keys += int(db_client.dbsize())
        finally:
            db_client.close()
    if not blocked:
        raise PlatformError("the sandbox source accepts CONFIG; it should refuse it like ElastiCache")
    return f"CONFIG refused as on ElastiCache; {keys} sample keys in db0-1", {"keys": keys}


def _step_app_writes(state: SandboxState, cfg: DeploymentConfig) -> tuple[str, dict[str, Any]]:
    # a prefix of its own per run: the sandbox keeps its data across runs (and `sandbox down`), and the
    # dataset's streams use fixed entry ids, which a second run's XADD would be refused
    run = secrets.token_hex(3)
    spec = DatasetSpec(keys_per_db=120, dbs=(0, 2), value_bytes=256, prefix=f"rehearsal-{run}")
    res = populate(state.target, spec, seed=int(time.time()))
    total = sum(res.keys.values())
    return f"{total} keys of every type written (db0, db2; {res.value_bytes // 1024} KiB of values)", {
        "keys": res.keys,
        "expires": res.expires,
    }


def _step_backup(state: SandboxState, cfg: DeploymentConfig) -> tuple[str, dict[str, Any]]:
    from redisops.ops.backup import create_rdb_backup, store_for

    store = store_for(cfg.backup, sandbox=state, source_name=cfg.service_name)
    m = create_rdb_backup(state.target, store, notes="rehearsal")
    counts = {db: c.keys for db, c in (m.key_counts or {}).items()}
    info = fetch_info(state.target, ("keyspace",))
    live = {db: ks.keys for db, ks in info.keyspace.items()}
    if counts != live:
        raise PlatformError(
            f"backup key counts ({_per_db(counts)}) differ from the live keyspace ({_per_db(live)})"
        )
    size = sum(o.size for o in m.objects)
    return (
        f"backup {m.id}: RDB v{m.rdb_version}, {size} bytes streamed (no disk), CRC64 + SHA-256 ok, "
        f"keys {_per_db(counts)}",
        {"id": m.id, "size": size, "keys": counts, "bucket": state.bucket},
    )


def _step_list_and_verify(state: SandboxState, cfg: DeploymentConfig) -> tuple[str, dict[str, Any]]:
    from redisops.ops.backup import store_for, verify_backup

    store = store_for(cfg.backup, sandbox=state, source_name=cfg.service_name)
    backups = store.list()
    if not backups:
        raise PlatformError("the backup just taken is not listed")
    newest = backups[0]
    res = verify_backup(store, newest.id, deep=True)
    if not res.ok:
        raise PlatformError(f"backup {newest.id} does not verify: {'; '.join(res.problems)}")
    return (
        f"{len(backups)} backup(s) listed; newest {newest.id} re-read and loaded into a scratch "
        f"redis-server: keys {_per_db(res.loaded_key_counts or {})}",
        {"backups": [b.id for b in backups], "loaded_key_counts": res.loaded_key_counts},
    )


def _step_health(state: SandboxState, cfg: DeploymentConfig) -> tuple[str, dict[str, Any]]:
    from redisops.ops.health import run_health

    report = run_health(state.target, cfg)
    counts = {k: v for k, v in report.counts().items() if v}
    crit = [c.name for c in report.checks if c.status.value == "crit"]
    if crit:
        raise PlatformError(f"critical health checks on the target: {', '.join(crit)}")
    worst = [f"{c.name}={c.status.value}" for c in report.checks if c.status.value == "warn"]
    detail = (
        f"overall {report.overall.value}: "
        + ", ".join(f"{n} {k}" for k, n in counts.items())
        + (f"; warnings: {', '.join(worst)}" if worst else "")
    )
    return detail, {"overall": report.overall.value, "counts": counts}


def _step_restore(state: SandboxState, cfg: DeploymentConfig) -> tuple[str, dict[str, Any]]:
    from redisops.ops.backup import store_for
    from redisops.ops.restore import restore_sandbox

    store = store_for(cfg.backup, sandbox=state, source_name=cfg.service_name)
    res = restore_sandbox(state, cfg, store, "latest", force=True, safety_backup=False, confirmed=True)
    took = f"{res.result.total_seconds:.2f}s" if res.result is not None else "-"
    return (
        f"backup {res.backup_id} restored in {took}: verified download, old files moved aside "
        "(redisops restore undo), AOF base + manifest installed, key counts verified after start",
        {"backup_id": res.backup_id},
    )


def _step_lint(state: SandboxState, cfg: DeploymentConfig) -> tuple[str, dict[str, Any]]:
    from redisops.lint import lint_config, summarize

    findings = lint_config(cfg)
    summary = summarize(findings)
    ids = sorted({f.rule_id for f in findings if f.severity != "info"})
    said = ", ".join(f"{n} {sev}" for sev, n in summary.items() if n) or "no findings"
    return f"{said}: {', '.join(ids) or 'clean'} (details: redisops lint)", {
        "summary": summary,
        "rules": ids,
    }


def _per_db(counts: Mapping[int, int]) -> str:
    """``db0 120, db2 120`` (people read this; the facts keep the mapping)."""
    return ", ".join(f"db{db} {n}" for db, n in sorted(counts.items())) or "none"
