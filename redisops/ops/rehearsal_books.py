"""The runbooks the rehearsal runs on the sandbox, and one line per runbook step for its report.

The rehearsal (:mod:`redisops.ops.rehearsal`) is an operation, and the runbook executor sits one layer
above the operations (it calls them): the executor is loaded by name at run time
(:func:`importlib.import_module`), so this module adds no import edge from ``ops`` up to ``runbooks``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redisops.errors import NotFoundError
from redisops.events import Event, Phase
from redisops.health.display import human_bytes

#: the functions below are the rehearsal's machinery (``rehearsal.run`` is the operation), not in __all__
__all__ = ["BOOKS", "BookRun", "BookSpec"]


@dataclass(frozen=True)
class BookSpec:
    """A runbook the rehearsal runs: its name, the variables it gets and the destructive steps approved
    by name (the rehearsal's sandbox is throwaway; a person's run approves them one by one)."""

    name: str
    title: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    approve: frozenset[str] = frozenset()


#: in order: the migration (plan, copy, follow, verify, cutover, verify), then the checks the rehearsal
#: has always made as steps of the runbooks that own them (backup + deep verify, health, restore), and
#: the rollback, which also leaves the sandbox's AppConfig as it found it for the next rehearsal
BOOKS: tuple[BookSpec, ...] = (
    BookSpec(
        "migrate-elasticache-to-k8s",
        "migration",
        {"follow_seconds": 2.0, "poll_interval": 0.2},
    ),
    BookSpec("backup-now", "backup", {"notes": "rehearsal"}),
    BookSpec("health-check", "health"),
    BookSpec("restore-from-backup", "restore", approve=frozenset({"restore"})),
    BookSpec("rollback-to-elasticache", "rollback", {"poll_interval": 0.2}),
)


@dataclass
class BookRun:
    """One runbook's run: its outcome and files, and its steps (name, status, line, seconds)."""

    name: str
    run_id: str
    status: str
    exit_code: int
    report: str | None
    journal: str | None
    error: str | None
    steps: list[tuple[str, str, str, float]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)  # operation steps' results, by step name

    @property
    def ok(self) -> bool:
        """Every step ran ok (or was skipped by its ``skip_if``)."""
        return self.exit_code == 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (the steps are in the rehearsal's own step list)."""
        return {
            "name": self.name,
            "run_id": self.run_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "report": self.report,
            "journal": self.journal,
            "error": self.error,
        }


def find_book(name: str) -> Path | None:
    """The runbook ``name`` (./runbooks, the package's, the checkout's), or None when it is not there."""
    api = importlib.import_module("redisops.runbooks.api")
    try:
        return Path(api.find_runbook(name))
    except NotFoundError:  # the runbook is not shipped (yet)
        return None


def run_book(
    spec: BookSpec, path: Path, env: Mapping[str, str], say: Callable[[str], None] | None = None
) -> BookRun:
    """Run one runbook to its end (``--yes``, the spec's approvals; the undo of completed steps runs on
    a failure, so a failed rehearsal leaves the sandbox as the runbook's undo steps put it). ``say``
    gets a line as each step starts."""
    runbooks = importlib.import_module("redisops.runbooks")

    def on_event(ev: Event) -> None:
        if say is not None and isinstance(ev, Phase) and ev.op == "runbook.run":
            where = ev.detail.split(":", 1)[0]  # "step 4/13 (read)"; the description is in the report
            say(f"{spec.name}: {ev.name}" + (f" - {where}" if where else ""))

    executor = runbooks.Executor(
        runbooks.read_runbook(path),
        variables=dict(spec.variables),
        yes=True,
        approve_destructive=set(spec.approve),
        offer_undo=lambda _steps: True,
        env=dict(env),
        on_event=on_event,
    )
    result = executor.run()
    error = (result.error or {}).get("message") if result.error else None
    run = BookRun(
        name=spec.name,
        run_id=result.run_id,
        status=result.status,
        exit_code=result.exit_code,
        report=str(result.report) if result.report else None,
        journal=str(result.journal) if result.journal else None,
        error=str(error) if error else None,
    )
    for s in result.steps:
        run.steps.append((s.name, s.status, summarize_step(s), float(s.seconds)))
        if s.status == "ok" and isinstance(s.result, Mapping):
            run.results[s.name] = s.result
    return run


@contextmanager
def sandbox_env(state_dir: str) -> Iterator[dict[str, str]]:
    """The environment the runbooks run in: this process's, with the sandbox's state dir and the
    interpreter's bin directory (the ``redisops`` command) first on PATH. The operation steps resolve
    the sandbox from ``REDISOPS_STATE_DIR`` of this process, so it is set here for the run's duration
    and put back afterwards."""
    env = dict(os.environ)
    env["REDISOPS_STATE_DIR"] = state_dir
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    before = os.environ.get("REDISOPS_STATE_DIR")
    os.environ["REDISOPS_STATE_DIR"] = state_dir
    try:
        yield env
    finally:
        if before is None:
            os.environ.pop("REDISOPS_STATE_DIR", None)
        else:
            os.environ["REDISOPS_STATE_DIR"] = before


def _per_db(counts: Mapping[str, Any]) -> str:
    return ", ".join(f"db{db} {n}" for db, n in sorted(counts.items(), key=lambda kv: int(kv[0]))) or "none"


def _plan(r: Mapping[str, Any]) -> str:
    est = (r.get("estimate") or {}).get("seconds")
    mem = r.get("memory") or {}
    dbs = _per_db({k: v.get("keys", 0) for k, v in (r.get("dbs") or {}).items()})
    fit = f"{human_bytes(mem.get('projected', 0))} of {human_bytes(mem.get('target_maxmemory', 0))}"
    return (
        f"{r.get('total_keys', 0)} keys ({dbs})"
        f", copy by {r.get('copy_method')}, {fit} after the copy, {len(r.get('blockers') or [])} blockers"
        + (f", estimated {est}s" if est is not None else "")
    )


def _copy(r: Mapping[str, Any]) -> str:
    c = r.get("copy") or {}
    line = (
        f"copied {c.get('copied', 0)}, skipped {c.get('skipped', 0)} (already there), expired "
        f"{c.get('expired', 0)}, failed {c.get('failed', 0)} at {c.get('keys_per_second', 0)} keys/s"
    )
    f = r.get("follow")
    if isinstance(f, Mapping):
        said = ", ".join(
            f"{k} {v}" for k, v in f.items() if isinstance(v, int | float) and not isinstance(v, bool)
        )
        line += (
            f"; then followed the source's writes ({said})" if said else "; then followed the source's writes"
        )
    return line


def _verify(r: Mapping[str, Any]) -> str:
    diffs = sum((r.get("differences") or {}).values())
    return (
        f"{r.get('compared', 0)} source keys and {r.get('checked_on_target', 0)} target keys compared "
        f"({r.get('mode')}, {r.get('rounds')} rounds): {diffs} differences, "
        f"{r.get('in_flight_count', 0)} in flight"
    )


def _cutover(r: Mapping[str, Any]) -> str:
    return (
        f"AppConfig now names {r.get('new_endpoint')} (was {r.get('previous_endpoint')}, version "
        f"{r.get('previous_version')}); undo point {r.get('record_id')}"
    )


def _rollback(r: Mapping[str, Any]) -> str:
    checks = ", ".join(
        f"{c.get('check')} {'ok' if c.get('ok') else 'FAILED'}" for c in r.get("clients") or []
    )
    return f"AppConfig names {r.get('endpoint')} again (version {r.get('version')}); {checks}"


def _backup(r: Mapping[str, Any]) -> str:
    objs = r.get("objects") or [{}]
    size = sum(int(o.get("size") or 0) for o in objs)
    keys = {db: c.get("keys", 0) for db, c in (r.get("key_counts") or {}).items()}
    return (
        f"backup {r.get('id')}: {human_bytes(size)}, verified {objs[0].get('verified')}, keys {_per_db(keys)}"
    )


def _backup_verify(r: Mapping[str, Any]) -> str:
    return (
        f"backup {r.get('backup_id')} ok={r.get('ok')}: {'; '.join(r.get('checks') or [])}; "
        f"loaded keys {_per_db(r.get('loaded_key_counts') or {})}"
    )


def _health(r: Mapping[str, Any]) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in (r.get("counts") or {}).items() if n)
    return f"overall {r.get('overall')}: {counts}"


def _restore(r: Mapping[str, Any]) -> str:
    return f"backup {r.get('backup_id')} restored; safety backup {r.get('safety_backup')}"


def _backup_list(r: Mapping[str, Any]) -> str:
    backups = r.get("backups") or []
    newest = backups[0].get("id") if backups else "none"
    return f"{len(backups)} backups listed, newest {newest}"


def _lint(r: Mapping[str, Any]) -> str:
    findings = r.get("findings") or []
    by: dict[str, int] = {}
    for f in findings:
        by[str(f.get("severity"))] = by.get(str(f.get("severity")), 0) + 1
    ids = sorted({str(f.get("rule_id")) for f in findings if f.get("severity") != "info"})
    said = ", ".join(f"{n} {sev}" for sev, n in by.items()) or "no findings"
    return f"{said}: {', '.join(ids) or 'clean'} (details: redisops lint)"


#: the first key of an operation's result that tells which summary fits it
_SUMMARIES: tuple[tuple[str, Callable[[Mapping[str, Any]], str]], ...] = (
    ("copy_method", _plan),
    ("copy", _copy),
    ("in_flight_count", _verify),
    ("new_endpoint", _cutover),
    ("clients", _rollback),
    ("loaded_key_counts", _backup_verify),
    ("safety_backup", _restore),
    ("objects", _backup),
    ("overall", _health),
    ("backups", _backup_list),
    ("findings", _lint),
)


def summarize_step(step: Any) -> str:
    """One sentence for a runbook step (people read this; the journal keeps the whole result)."""
    if step.status == "skipped":
        return f"skipped: {step.message}" if step.message else "skipped"
    if step.status not in ("ok",):
        return str(step.message or step.status)
    result = step.result
    if isinstance(result, Mapping):
        for key, fn in _SUMMARIES:
            if key in result:
                try:
                    return fn(result)
                except (AttributeError, TypeError, ValueError):
                    break
        return "ok"
    lines = [ln.strip() for ln in (step.stdout or "").splitlines() if ln.strip()]
    return lines[-1] if lines else "ok"
