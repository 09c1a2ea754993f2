"""The rehearsal: the main job on the embedded default (the local sandbox).

It starts (or reuses) the sandbox, checks that its source behaves like ElastiCache, has the application
write a dataset of every type to the source, and then runs the shipped runbooks against it, in order
(:data:`redisops.ops.rehearsal_books.BOOKS`): ``migrate-elasticache-to-k8s`` (the target's persistence
settings, lint, plan, copy, follow, verify, cutover, verify again, health), ``backup-now`` (a backup,
re-read and loaded into a scratch server, listed newest; then its per-db key counts are compared with
the live keyspace), ``health-check``, ``restore-from-backup``
(the newest backup restored, key counts checked) and ``rollback-to-elasticache``, which points AppConfig
back at the source, so the next rehearsal finds the sandbox as this one did. Every runbook step is a
step of the report; a failed step stops the run (later steps depend on earlier ones; the failed
runbook's undo steps run) and the report says which and why. Each runbook run keeps its journal and
Markdown report (``redisops runbook runs``).
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
from redisops.health.display import human_bytes
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.inspect import fetch_info
from redisops.ops.rehearsal_books import BOOKS, BookRun, find_book, run_book, sandbox_env
from redisops.ops.sandbox import SandboxState, sandbox_up

__all__ = ["RehearsalReport", "RehearsalStep", "rehearse"]

Progress = Callable[[str], None]


@dataclass
class RehearsalStep:
    """One step of the rehearsal: what it checked, whether it passed, the facts it found (``runbook``:
    the runbook it is a step of, empty for the rehearsal's own checks)."""

    name: str
    ok: bool
    detail: str
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)
    runbook: str = ""


@dataclass
class RehearsalReport:
    """All steps in order, the runbooks run (id, outcome, report and journal files); ``ok`` when every
    step passed and every runbook ran to its end."""

    steps: list[RehearsalStep] = field(default_factory=list)
    sandbox: dict[str, Any] = field(default_factory=dict)
    runbooks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every step passed and every runbook ended with exit code 0."""
        return all(s.ok for s in self.steps) and all(b.get("exit_code") == 0 for b in self.runbooks)


def rehearse(
    state_dir: Path | None = None,
    *,
    config: DeploymentConfig | None = None,
    progress: Progress | None = None,
) -> RehearsalReport:
    """Start the sandbox and run the rehearsal (its own checks, then the runbooks) against it; never
    raises for a failed step."""
    say = progress or (lambda _msg: None)
    cfg = config or DeploymentConfig()
    report = RehearsalReport()
    state = _credentialed(sandbox_up(state_dir, config=cfg, progress=say))
    report.sandbox = state.to_dict()
    own: list[tuple[str, Callable[[SandboxState, BookRun | None], tuple[str, dict[str, Any]]]]] = [
        ("source behaves like ElastiCache", _step_source_blocked),
        ("application writes to the source", _step_app_writes),
    ]
    for name, fn in own:
        if not _own_step(report, say, name, fn, state, None):
            return report
    config_file = _config_file(state, cfg)
    with sandbox_env(state.state_dir) as env:
        for spec in BOOKS:
            path = find_book(spec.name)
            if path is None:
                report.steps.append(
                    RehearsalStep(
                        f"{spec.name}.md", False, "the runbook is not installed", 0.0, {}, spec.name
                    )
                )
                return report
            say(f"runbook: {spec.name}")
            book_spec = spec
            if "config" in _declared(path):
                book_spec = dataclasses.replace(
                    spec, variables={**spec.variables, "config": str(config_file)}
                )
            ran = run_book(book_spec, path, env, say)
            _add_book(report, ran, say)
            if not ran.ok:
                return report
            if spec.name == "backup-now" and not _own_step(
                report, say, BACKUP_COUNTS, _backup_counts, state, ran
            ):
                return report
    return report


#: the rehearsal's own check after ``backup-now`` (the runbook verifies the backup itself, not against
#: the live keyspace)
BACKUP_COUNTS = "backup-now: key counts match the live keyspace"


def _own_step(
    report: RehearsalReport,
    say: Progress,
    name: str,
    fn: Callable[[SandboxState, BookRun | None], tuple[str, dict[str, Any]]],
    state: SandboxState,
    ran: BookRun | None,
) -> bool:
    """Run one of the rehearsal's own checks into the report; False when it failed."""
    say(f"step: {name}")
    t0 = time.monotonic()
    try:
        detail, facts = fn(state, ran)
    except RedisOpsError as e:
        report.steps.append(RehearsalStep(name, False, e.one_line(), time.monotonic() - t0))
        return False
    report.steps.append(RehearsalStep(name, True, detail, time.monotonic() - t0, facts))
    return True


def _backup_counts(state: SandboxState, ran: BookRun | None) -> tuple[str, dict[str, Any]]:
    """The backup ``backup-now`` took holds, per db, the keys the target holds (nothing wrote since)."""
    backup = (ran.results if ran is not None else {}).get("take-backup") or {}
    counts = {int(db): int(c.get("keys", 0)) for db, c in (backup.get("key_counts") or {}).items()}
    info = fetch_info(state.target, ("keyspace",))
    live = {db: ks.keys for db, ks in info.keyspace.items()}
    if counts != live:
        raise PlatformError(
            f"backup key counts ({_per_db(counts)}) differ from the live keyspace ({_per_db(live)})",
            hint="the backup missed keys: look at `redisops backup describe latest` and the target's INFO",
        )
    return f"backup {backup.get('id')}: keys {_per_db(counts)}, as on the target", {"keys": counts}


def _per_db(counts: Mapping[int, int]) -> str:
    """``db0 120, db2 120`` (people read this; the facts keep the mapping)."""
    return ", ".join(f"db{db} {n}" for db, n in sorted(counts.items())) or "none"


def _declared(path: Path) -> set[str]:
    """The variables the runbook's frontmatter declares (the config file goes to those that take it)."""
    import importlib

    runbooks = importlib.import_module("redisops.runbooks")
    return {v.name for v in runbooks.read_runbook(path).front.variables}


def _config_file(state: SandboxState, cfg: DeploymentConfig) -> Path:
    """The deployment config the sandbox was started with, as a YAML file the runbooks' shell steps
    read (``redisops config show -c``): the settings the target must run."""
    import yaml

    path = Path(state.state_dir) / "rehearsal-config.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    return path


def _add_book(report: RehearsalReport, ran: BookRun, say: Progress) -> None:
    """The runbook's steps as report steps, and the run itself (the failing step names the error)."""
    report.runbooks.append(ran.to_dict())
    for name, status, detail, seconds in ran.steps:
        ok = status in ("ok", "skipped")
        if not ok and ran.error and ran.error not in detail:
            detail = f"{detail}: {ran.error}" if detail != ran.error else detail
        step = RehearsalStep(f"{ran.name}: {name}", ok, detail, seconds, {"status": status}, ran.name)
        report.steps.append(step)
    if not ran.ok and all(s[1] in ("ok", "skipped") for s in ran.steps):
        report.steps.append(RehearsalStep(f"{ran.name}", False, ran.error or ran.status, 0.0, {}, ran.name))


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


def _step_source_blocked(state: SandboxState, _ran: BookRun | None) -> tuple[str, dict[str, Any]]:
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


def _step_app_writes(state: SandboxState, _ran: BookRun | None) -> tuple[str, dict[str, Any]]:
    # the application still writes to ElastiCache (the source): the migration moves these keys
    # a prefix of its own per run: the sandbox keeps its data across runs (and `sandbox down`), and the
    # dataset's streams use fixed entry ids, which a second run's XADD would be refused
    run = secrets.token_hex(3)
    spec = DatasetSpec(keys_per_db=120, dbs=(0, 2), value_bytes=256, prefix=f"rehearsal-{run}")
    res = populate(state.source, spec, seed=int(time.time()))
    total = sum(res.keys.values())
    values = human_bytes(res.value_bytes)
    return f"{total} keys of every type written to the source (db0, db2; {values} of values)", {
        "keys": res.keys,
        "expires": res.expires,
    }
