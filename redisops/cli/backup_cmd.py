"""``redisops backup create | list | describe | verify | delete | gc | prune | schedule | unlock``.

Each command runs its catalogue operation (``backup.create``, ``backup.list`` ...) on the target of the
shared options, with the event stream drawn on stderr (:mod:`redisops.cli._events`; Ctrl-C cancels).
The commands that change the store plan first: ``--dry-run`` prints the plan (exit 15 when it is
blocked) and the confirmations show it before asking. ``-o json`` prints one JSON object.
"""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from redisops.cli._oprun import plan_or_run, run
from redisops.cli.common import Output, OutputOpt, YesOpt, console, emit, error_boundary
from redisops.cli.options import TargetArgs, with_target

if TYPE_CHECKING:
    from redisops.events import Event
    from redisops.ops.api_backup import Manifest, RetentionPlan
    from redisops.ops.catalogue import Plan
    from redisops.ops.target import Target

app = typer.Typer(
    help="Backups to S3: streamed RDB, consistent AOF, verify, retention.", no_args_is_help=True
)


def _check_source(value: str | None) -> str | None:
    from redisops.errors import ConfigError
    from redisops.ops.api_backup import check_source_name

    if value is None:
        return None
    try:
        return check_source_name(value)
    except ConfigError as e:
        raise typer.BadParameter(f"{e.message} ({e.hint})") from None


def _check_backup_id(value: str) -> str:
    from redisops.ops.api_backup import is_backup_id

    if value != "latest" and not is_backup_id(value):
        raise typer.BadParameter(
            f"{value!r} is not a backup id (ids look like 20261125T184501Z-3f9a; see `redisops backup list`)"
        )
    return value


def _check_exact_backup_id(value: str) -> str:
    if value == "latest":
        raise typer.BadParameter("name the backup to delete by its id ('latest' is not accepted here)")
    return _check_backup_id(value)


SourceOpt = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="source name in the store [default: the config's service_name]",
        callback=_check_source,
    ),
]
BackupIdArg = Annotated[str, typer.Argument(help="backup id, or 'latest'", callback=_check_backup_id)]


class Kind(enum.StrEnum):
    """Backup kinds ``backup create`` takes."""

    rdb = "rdb"
    aof = "aof"


class Purpose(enum.StrEnum):
    """Labels ``backup create`` may give (a restore labels its own backups ``safety``)."""

    manual = "manual"
    scheduled = "scheduled"


def _manifest_dict(m: Manifest) -> dict[str, Any]:
    return m.to_dict()


#: below this console width the "created" column is left out (the id starts with the creation time)
_WIDE = 100


def _manifest_table(items: list[Manifest], width: int, source: str = "") -> Table:
    """The ``backup list`` table: every value whole at 80 columns (nothing is cut with an ellipsis)."""
    wide = width >= _WIDE
    title = f"backups of {source} (newest first)" if source else "backups (newest first)"
    table = Table(
        title=title,
        caption=None if wide else "ids start with the creation time (UTC)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        show_edge=False,
        title_justify="left",
        caption_justify="left",
    )
    cols = ["id", "created (UTC)", "kind", "size", "keys", "redis", "verified", "purpose"]
    if not wide:
        cols.remove("created (UTC)")
    for col in cols:
        justify = "right" if col in ("size", "keys") else "left"
        table.add_column(col, no_wrap=True, overflow="fold", justify=justify)  # type: ignore[arg-type]
    for m in items:
        keys = str(m.total_keys) if m.total_keys is not None else "-"
        verified = "yes" if all(o.verified for o in m.objects if o.verified is not None) else "no"
        row = [m.id, m.created_at.strftime("%Y-%m-%d %H:%M:%S"), m.kind, _human(m.size), keys,
               m.redis_version or "?", verified, m.purpose]  # fmt: skip
        if not wide:
            del row[1]
        table.add_row(*row)
    return table


def _print_manifests(items: list[Manifest], source: str = "") -> None:
    if not items:
        console.print(f"no backups of {source} yet (take one: redisops backup create)")
        return
    console.print(_manifest_table(items, console.width, source))


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, soft_wrap=True, markup=False)


def _describe_lines(m: Manifest) -> list[str]:
    """A manifest for people: one fact per line."""
    done = m.completed_at - m.created_at
    keys = "unknown"
    if m.key_counts is not None:
        per_db = ", ".join(f"db{db} {c.keys} ({c.expires} with TTL)" for db, c in m.key_counts.items())
        keys = f"{m.total_keys} ({per_db})" if per_db else "0"
    lines = [
        f"backup {m.id} of {m.source.name} ({m.purpose}, {m.kind})",
        f"  created    {m.created_at:%Y-%m-%d %H:%M:%S} UTC, took {done.total_seconds():.1f}s",
        f"  size       {_human(m.size)} in {len(m.objects)} object{'s' if len(m.objects) != 1 else ''}",
        f"  keys       {keys}",
        f"  redis      {m.redis_version or 'unknown'} (RDB version {m.rdb_version or 'unknown'})",
        f"  verified   {'yes (while written)' if m.verified else 'no'}",
    ]
    if m.source.address:
        lines.append(f"  source     {m.source.address}")
    if m.used_memory_dataset is not None:
        lines.append(f"  dataset    {_human(m.used_memory_dataset)} in memory")
    if m.notes:
        lines.append(f"  notes      {m.notes}")
    for o in m.objects:
        check = "verified" if o.verified else "not verified"
        lines.append(f"  object     {o.name}  {_human(o.size)}  sha256 {o.sha256[:16]}…  {check}")
    if m.extra:
        lines.append(f"  also       {', '.join(sorted(m.extra))} (written by redisops {m.tool_version})")
    return lines


def _prune_lines(plan: RetentionPlan, *, dry_run: bool) -> list[str]:
    verb = "would delete" if dry_run else "deleted"
    n = len(plan.delete)
    lines = [f"{verb} {n} backup{'s' if n != 1 else ''}; kept {len(plan.keep)}"]
    lines += [f"  {verb} {b.id}" for b in plan.delete]
    return lines


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class _PhaseClock:
    """A sink recording when each phase of a backup began (``timings`` in ``backup create -o json``)."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._first: dict[str, float] = {}
        self._last_stream: float | None = None

    def __call__(self, event: Event) -> None:
        from redisops.events import Phase, Progress

        now = time.monotonic()
        if isinstance(event, Phase):
            self._first.setdefault(event.name, now)
        elif isinstance(event, Progress) and event.phase in ("streaming", "copying"):
            self._last_stream = now

    def timings(self) -> dict[str, float]:
        """Seconds: connect (lock, INFO, handshake), stream (bytes flowing), finish_upload (the last parts
        and the multipart completion), commit (manifest, lock release), total."""
        f, end = self._first, time.monotonic()
        start = f.get("streaming", f.get("copying"))
        out = {"total": end - self._t0}
        if start is not None:
            last = max(self._last_stream or start, start)
            committing = f.get("committing", end)
            out |= {
                "connect": start - self._t0,
                "stream": last - start,
                "finish_upload": max(committing - last, 0.0),
                "commit": end - committing,
            }
        return {k: round(v, 3) for k, v in out.items()}


def _plan_lines(plan: Plan) -> list[str]:
    lines = [f"plan of {plan.op}" + (" (BLOCKED)" if plan.blocked else "") + ":"]
    lines += [f"  {i}. {step}" for i, step in enumerate(plan.steps, 1)]
    lines += [f"  warning: {w}" for w in plan.warnings]
    lines += [f"  blocked: {b}" for b in plan.blockers]
    return lines


def _gc_lines(plan: Plan) -> list[str]:
    """``gc --dry-run``: what would be removed (the report's summary)."""
    report = plan.details.get("report")
    return report.summary() if report is not None else _plan_lines(plan)


def _prune_dry_lines(plan: Plan) -> list[str]:
    """``prune --dry-run``: what would be deleted and kept."""
    decision: RetentionPlan | None = plan.details.get("retention")
    return _prune_lines(decision, dry_run=True) if decision is not None else _plan_lines(plan)


def _change(t: Target, op: str, params: dict[str, Any], output: Output, question: Any, **kw: Any) -> Any:
    """A command that changes the store: :func:`redisops.cli._oprun.plan_or_run` with this group's plan
    text (before a question the plan goes to stderr: stdout keeps the result)."""
    kw.setdefault("lines", _plan_lines)
    kw.setdefault("label", "")
    return plan_or_run(t, op, params, output, question=question, aside=True, **kw)


#: every backup command takes the shared target options (and --state-dir); --timeout is the
#: connect and command timeout (the replication stream has its own)
_shared = with_target(timeout=10.0, state_dir=True)
#: ... and those that change the store, --read-write (a production target is read-only without it)
_changes = with_target(timeout=10.0, state_dir=True, read_write=True)
ForceOpt = Annotated[
    bool, typer.Option("--force", help="go ahead where the plan would refuse (see the help)")
]


@app.command()
@_changes
def create(
    kind: Annotated[
        Kind,
        typer.Option(
            "--kind", help="rdb (streamed from the server) or aof (from a data dir)", case_sensitive=False
        ),
    ] = Kind.rdb,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Redis data dir (AOF backups)")] = None,
    notes: Annotated[str, typer.Option("--notes", help="free text stored in the manifest")] = "",
    purpose: Annotated[
        Purpose,
        typer.Option(
            "--purpose",
            help="label in the manifest: manual, or scheduled (the backup CronJob passes it)",
            case_sensitive=False,
        ),
    ] = Purpose.manual,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Take a backup now; it is listed only once complete and verified (refused, exit 15, while another
    backup holds the lock)."""
    from redisops.cli._events import op_events
    from redisops.events import fanout

    with error_boundary(output):
        t = where.build(writing="take a backup")
        _ = t.redis  # a missing sandbox or password file is reported first
        params = {"kind": kind.value, "data_dir": data_dir, "notes": notes, "purpose": purpose.value,
                  "source": source}  # fmt: skip
        clock = _PhaseClock()
        with op_events(output, f"backup {kind.value}") as ev:
            m: Manifest = t.run("backup.create", params, on_event=fanout(clock, ev.sink), cancel=ev.cancel)
        emit(
            output,
            {**_manifest_dict(m), "timings": clock.timings()},
            lambda: console.print(f"backup {m.id} ({m.purpose}) complete ({_human(m.size)})"),
        )


@app.command(name="list")
@_shared
def list_(
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """List complete backups (those with a manifest), newest first (``-o json``: {source, backups})."""
    with error_boundary(output):
        res = run(where.build(), "backup.list", {"source": source}, output, label="")
        emit(output, res.to_dict(), lambda: _print_manifests(res.backups, res.source))


@app.command()
@_shared
def describe(
    backup_id: BackupIdArg,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Show one backup's manifest (``-o json``: the manifest itself)."""
    with error_boundary(output):
        m = run(
            where.build(), "backup.describe", {"backup_id": backup_id, "source": source}, output, label=""
        )
        emit(output, _manifest_dict(m), lambda: _print_lines(_describe_lines(m)))


@app.command()
@_shared
def verify(
    backup_id: BackupIdArg,
    deep: Annotated[
        bool, typer.Option("--deep", help="also load it into a scratch redis-server and count keys")
    ] = False,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Re-read a backup and check sizes, SHA-256 and the RDB trailer (exit 8 when it does not verify)."""
    with error_boundary(output):
        params = {"backup_id": backup_id, "deep": deep, "source": source}
        res = run(where.build(), "backup.verify", params, output, label="verify")
        emit(output, res, lambda: console.print(f"backup {res.backup_id} verified: " + ", ".join(res.checks)))


@app.command()
@_changes
def delete(
    backup_id: Annotated[str, typer.Argument(help="backup id", callback=_check_exact_backup_id)],
    force: Annotated[
        bool, typer.Option("--force", help="delete it even when it is the newest verified backup")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the plan; delete nothing")] = False,
    yes: YesOpt = False,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Delete one backup (its manifest first, so it is never listed half-deleted); the newest verified
    backup only with --force (exit 15 otherwise)."""
    with error_boundary(output):
        t = where.build(writing=None if dry_run else "delete a backup")
        params = {"backup_id": backup_id, "force": force, "source": source}

        def question(plan: Plan) -> str:
            return f"delete backup {backup_id} of {plan.details.get('source', '')}?"

        plan = t.plan("backup.delete", params)
        res = _change(
            t, "backup.delete", params, output, question, dry_run=dry_run, yes=yes, plan=plan, label=""
        )
        if res is None:
            return
        emit(
            output,
            {"deleted": res.backup_id, "source": res.source, "objects": res.objects},
            lambda: console.print(
                f"deleted backup {res.backup_id} of {res.source} ({len(res.objects)} objects)"
            ),
        )


@app.command()
@_changes
def gc(
    grace_hours: Annotated[
        float, typer.Option("--grace-hours", help="keep orphans younger than this", min=0, max=24 * 365)
    ] = 24.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be removed")] = False,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Remove orphans: incomplete multipart uploads and objects without a manifest older than the grace."""
    with error_boundary(output):
        t = where.build(writing=None if dry_run else "remove orphans from the backup store")
        params = {"grace_hours": grace_hours, "source": source}
        # the command is the confirmation (as before the catalogue): yes
        rep = _change(t, "backup.gc", params, output, "remove the orphans?", dry_run=dry_run, yes=True,
                      lines=_gc_lines, label="gc")  # fmt: skip
        if rep is None:
            return
        emit(output, rep, lambda: _print_lines(rep.summary()))


@app.command()
@_changes
def prune(
    keep_last: Annotated[
        int | None,
        typer.Option("--keep-last", help="keep the N newest [default: config]", min=1, max=100_000),
    ] = None,
    daily: Annotated[
        int, typer.Option("--daily", help="keep the newest of each of the last N days", min=0, max=36_500)
    ] = 0,
    weekly: Annotated[
        int, typer.Option("--weekly", help="keep the newest of each of the last N weeks", min=0, max=5_200)
    ] = 0,
    monthly: Annotated[
        int, typer.Option("--monthly", help="keep the newest of each of the last N months", min=0, max=1_200)
    ] = 0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would go")] = False,
    yes: YesOpt = False,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Apply retention (keep-last-N plus daily/weekly/monthly); never deletes the newest verified backup."""
    with error_boundary(output):
        t = where.build(writing=None if dry_run else "prune backups")
        params = {"keep_last": keep_last, "daily": daily, "weekly": weekly, "monthly": monthly,
                  "source": source}  # fmt: skip
        plan = t.plan("backup.prune", params)
        decision: RetentionPlan | None = plan.details.get("retention")
        if not dry_run and not plan.blocked and decision is not None and not decision.delete:
            emit(output, decision, lambda: _print_lines(_prune_lines(decision, dry_run=False)))
            return
        n = len(decision.delete) if decision is not None else 0
        question = f"delete {n} backup(s) of {plan.details.get('source', 'this source')}?"
        lines = _prune_dry_lines if dry_run else _plan_lines
        done: RetentionPlan | None = _change(
            t, "backup.prune", params, output, question, dry_run=dry_run, yes=yes, plan=plan, lines=lines,
            label="prune",
        )  # fmt: skip
        if done is None:
            return
        emit(output, done, lambda: _print_lines(_prune_lines(done, dry_run=False)))


@app.command()
@_changes
def schedule(
    every: Annotated[
        float, typer.Option("--every", help="seconds between backups", min=0, max=31 * 24 * 3600)
    ] = 6 * 3600,
    count: Annotated[
        int,
        typer.Option("--count", help="stop after N backups (0: until interrupted)", min=0, max=1_000_000),
    ] = 0,
    drill: Annotated[
        bool, typer.Option("--drill", help="also run a restore drill of each new backup")
    ] = False,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Run the automated backup job on a timer (the sandbox's stand-in for the CronJob): backup + prune
    (+ with --drill a restore drill of each new backup, recorded for `health`). ``-o json``: {runs}."""
    with error_boundary(output):
        t = where.build(writing="take scheduled backups")
        _ = t.redis
        params = {"every": every, "count": count, "drill": drill, "source": source}
        # the command is the confirmation (as before): yes
        res = run(t, "backup.schedule", params, output, question="take backups?", yes=True, label="schedule")

        def text() -> None:
            for entry in res.runs:
                drilled = f"; drill {'ok' if entry['drill']['ok'] else 'FAILED'}" if "drill" in entry else ""
                console.print(f"backup {entry['id']} taken; pruned {len(entry['pruned'])}{drilled}")

        emit(output, res, text)


@app.command()
@_changes
def unlock(
    force: Annotated[
        bool, typer.Option("--force", help="break the lock even when its holder is known to run")
    ] = False,
    yes: YesOpt = False,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Break a backup lock left by a dead backup (only after checking that it is dead; a holder known to
    run is refused, exit 15, unless --force).

    Idempotent: with no lock held it says so and exits 0."""
    with error_boundary(output):
        t = where.build(writing="break a backup lock")
        params = {"force": force, "source": source}
        plan = t.plan("backup.unlock", params)
        lock = plan.details.get("lock") or {}
        src = plan.details.get("source", "")
        if not plan.blocked and lock.get("holder") is None:
            emit(
                output,
                {"broken": None, "source": src},
                lambda: console.print(f"nothing to unlock: no backup lock is held for {src}"),
            )
            return
        question = f"break the lock of backup {lock.get('backup_id')} held by {lock.get('holder')}?"
        res = _change(
            t, "backup.unlock", params, output, question, dry_run=False, yes=yes, plan=plan, label=""
        )
        emit(
            output,
            {"broken": res.broken, "source": res.source, "holder": res.holder},
            lambda: console.print(f"broke the lock of backup {res.broken} (held by {res.holder})"),
        )
