"""``redisops backup create | list | describe | verify | delete | gc | prune | schedule | unlock``."""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from redisops.cli.common import (
    Output,
    OutputOpt,
    YesOpt,
    confirm,
    console,
    emit,
    err_console,
    error_boundary,
)
from redisops.cli.options import TargetArgs, with_target

if TYPE_CHECKING:
    from redisops.backup import BackupPurpose, BackupStore, LockInfo, Manifest, RetentionPlan
    from redisops.config import DeploymentConfig
    from redisops.ops.backup import BackupProgress
    from redisops.ops.sandbox import SandboxState
    from redisops.ops.target import Target

app = typer.Typer(
    help="Backups to S3: streamed RDB, consistent AOF, verify, retention.", no_args_is_help=True
)


def _check_source(value: str | None) -> str | None:
    from redisops.backup.layout import check_source_name
    from redisops.errors import ConfigError

    if value is None:
        return None
    try:
        return check_source_name(value)
    except ConfigError as e:
        raise typer.BadParameter(f"{e.message} ({e.hint})") from None


def _check_backup_id(value: str) -> str:
    from redisops.backup.layout import is_backup_id

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


def _config(t: Target) -> DeploymentConfig:
    """The target's deployment config with ``REDISOPS_S3_*`` applied (as the store sees it)."""
    from redisops.config import apply_env

    return apply_env(t.config(), os.environ)


def _sandbox(t: Target) -> SandboxState | None:
    """The running sandbox when the target is the sandbox (its data dir, its S3), else None."""
    from redisops.ops.sandbox import sandbox_status

    if not t.is_sandbox:
        return None
    state = sandbox_status(t.state_dir)
    if state is not None and any(s.status != "running" for s in state.services.values()):
        return None
    return state


def _store(t: Target, source: str | None, *, use_sandbox: bool | None = None) -> BackupStore:
    """The target's backup store, saying its notices on stderr, with the in-cluster lock liveness."""
    return watched(t.store(source, use_sandbox=use_sandbox))


def watched(store: BackupStore) -> BackupStore:
    """``store`` printing its notices on stderr and, in a pod, asking whether a lock's pod lives."""
    store.on_notice = lambda msg: err_console.print(f"note: {msg}", soft_wrap=True)
    store.holder_alive = _pod_liveness()
    return store


def _pod_liveness() -> Callable[[LockInfo], bool | None] | None:
    """In a Kubernetes pod: ask the API whether a lock's pod still runs; elsewhere None (not asked)."""
    from redisops.backup.lock import IN_CLUSTER_ENV

    if not os.environ.get(IN_CLUSTER_ENV):
        return None
    from redisops.adapters.kube import Kube
    from redisops.errors import RedisOpsError
    from redisops.ops.backup import pod_liveness

    kube: list[Kube] = []

    def alive(lock: LockInfo) -> bool | None:
        if not kube:
            try:
                kube.append(Kube.in_cluster())
            except RedisOpsError:
                return None  # no service account token mounted: cannot know
        return pod_liveness(kube[0])(lock)

    return alive


@contextmanager
def _bar(output: Output, label: str) -> Iterator[Any]:
    """A rich progress bar with bytes, rate and ETA (silent for --output json)."""
    if output is Output.json:
        yield lambda _p: None
        return
    from rich.progress import (  # text output only: a JSON run does not load it
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(p: BackupProgress) -> None:
            if p.message:  # a sentence stays on screen above the (transient) bar
                bar.console.print(Text(p.message, style="dim"))
            bar.update(task, description=f"{label}: {p.phase}", completed=p.done, total=p.total)

        yield update


class _PhaseClock:
    """Wraps a progress callback; records when each phase started (``timings`` in the JSON output)."""

    def __init__(self, inner: Callable[[BackupProgress], None]) -> None:
        self._inner = inner
        self._t0 = time.monotonic()
        self._first: dict[str, float] = {}
        self._last_stream = 0.0

    def __call__(self, p: BackupProgress) -> None:
        now = time.monotonic()
        self._first.setdefault(p.phase, now)
        if p.phase in ("streaming", "copying"):
            self._last_stream = now
        self._inner(p)

    def timings(self) -> dict[str, float]:
        """Seconds: connect (lock, INFO, handshake), stream (bytes flowing), finish_upload (the last parts
        and the multipart completion), commit (manifest, lock release), total."""
        f, end = self._first, time.monotonic()
        start = f.get("streaming", f.get("copying"))
        out = {"total": end - self._t0}
        if start is not None:
            committing = f.get("committing", end)
            out |= {
                "connect": start - self._t0,
                "stream": self._last_stream - start,
                "finish_upload": committing - self._last_stream,
                "commit": f.get("done", end) - committing,
            }
        return {k: round(v, 3) for k, v in out.items()}


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


#: every backup command takes the shared target options (and --state-dir); --timeout is the
#: connect and command timeout (the replication stream has its own)
_shared = with_target(timeout=10.0, state_dir=True)
#: ... and those that change the store, --read-write (a production target is read-only without it)
_changes = with_target(timeout=10.0, state_dir=True, read_write=True)


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
    """Take a backup now; it is listed only once complete and verified."""
    from redisops.errors import InvalidArgument
    from redisops.ops.backup import create_aof_backup, create_rdb_backup

    with error_boundary(output):
        t = where.build(writing="take a backup")
        ep = t.redis
        store = _store(t, source)
        label: BackupPurpose = "scheduled" if purpose is Purpose.scheduled else "manual"
        with _bar(output, f"backup {kind.value}") as bar:
            progress = _PhaseClock(bar)
            if kind is Kind.rdb:
                m = create_rdb_backup(ep, store, notes=notes, progress=progress, purpose=label)
            else:
                state = _sandbox(t)
                d = data_dir or (state.data_dir if state is not None else None)
                if d is None:
                    raise InvalidArgument(
                        "an AOF backup needs --data-dir (where the Redis data dir is mounted)",
                        hint="pass --data-dir DIR, or use --kind rdb (streamed, needs no data dir)",
                    )
                m = create_aof_backup(ep, d, store, notes=notes, progress=progress, purpose=label)
        emit(
            output,
            {**_manifest_dict(m), "timings": progress.timings()},
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
    """List complete backups (those with a manifest), newest first."""
    with error_boundary(output):
        store = _store(where.build(), source)
        items = store.list()
        emit(output, [_manifest_dict(m) for m in items], lambda: _print_manifests(items, store.source))


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
        store = _store(where.build(), source)
        m = _resolve(store, backup_id)
        emit(output, _manifest_dict(m), lambda: _print_lines(_describe_lines(m)))


def _resolve(store: BackupStore, backup_id: str) -> Manifest:
    from redisops.errors import NotFoundError

    if backup_id == "latest":
        m = store.latest()
        if m is None:
            raise NotFoundError("there are no backups yet", hint="take one: redisops backup create")
        return m
    return store.get(backup_id)


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
    from redisops.errors import VerificationError
    from redisops.ops.backup import verify_backup

    with error_boundary(output):
        store = _store(where.build(), source)
        m = _resolve(store, backup_id)
        res = verify_backup(store, m.id, deep=deep)
        if not res.ok:
            raise VerificationError(
                f"backup {m.id} does not verify: " + "; ".join(res.problems),
                hint="do not restore from it; take a new backup and delete this one",
                context={"problems": res.problems},
            )
        emit(output, res, lambda: console.print(f"backup {m.id} verified: " + ", ".join(res.checks)))


@app.command()
@_changes
def delete(
    backup_id: Annotated[str, typer.Argument(help="backup id", callback=_check_exact_backup_id)],
    yes: YesOpt = False,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Delete one backup (its manifest first, so it is never listed half-deleted)."""
    with error_boundary(output):
        t = where.build(writing="delete a backup")
        store = _store(t, source)
        store.get(backup_id)
        confirm(f"delete backup {backup_id} of {store.source}?", yes=yes)
        keys = store.delete(backup_id)
        emit(
            output,
            {"deleted": backup_id, "objects": keys},
            lambda: console.print(f"deleted backup {backup_id} of {store.source} ({len(keys)} objects)"),
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
        rep = _store(t, source).gc(datetime.now(UTC), timedelta(hours=grace_hours), dry_run=dry_run)
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
    from redisops.backup import RetentionRules

    with error_boundary(output):
        t = where.build(writing=None if dry_run else "prune backups")
        cfg = _config(t)
        store = _store(t, source)
        rules = RetentionRules(
            keep_last=keep_last if keep_last is not None else cfg.backup.keep_last,
            keep_daily=daily,
            keep_weekly=weekly,
            keep_monthly=monthly,
        )
        plan = store.plan_retention(rules)
        if plan.delete and not dry_run:
            confirm(f"delete {len(plan.delete)} backup(s) of {store.source}?", yes=yes)
            plan = store.prune(rules)
        emit(output, plan, lambda: _print_lines(_prune_lines(plan, dry_run=dry_run)))


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
    (+ with --drill a restore drill of each new backup, recorded for `health`)."""
    from redisops.backup import RetentionRules
    from redisops.ops.backup import create_rdb_backup

    with error_boundary(output):
        t = where.build(writing="take scheduled backups")
        cfg = _config(t)
        ep = t.redis
        store = _store(t, source)
        taken = []
        n = 0
        while count == 0 or n < count:
            started = time.monotonic()
            m = create_rdb_backup(ep, store, purpose="scheduled")
            pruned = store.prune(RetentionRules(keep_last=cfg.backup.keep_last))
            entry: dict[str, Any] = {"id": m.id, "pruned": [p.id for p in pruned.delete]}
            if drill:
                from redisops.ops.restore import run_drill

                entry["drill"] = run_drill(store, m.id, cfg=cfg).to_dict()
            taken.append(entry)
            if output is Output.text:
                drilled = f"; drill {'ok' if entry['drill']['ok'] else 'FAILED'}" if drill else ""
                console.print(f"backup {m.id} taken; pruned {len(pruned.delete)}{drilled}")
            n += 1
            if count == 0 or n < count:
                time.sleep(max(0.0, every - (time.monotonic() - started)))
        if output is Output.json:
            emit(output, taken, lambda: None)


@app.command()
@_changes
def unlock(
    yes: YesOpt = False,
    source: SourceOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Break a backup lock left by a dead backup (only after checking that it is dead).

    Idempotent: with no lock held it says so and exits 0."""
    with error_boundary(output):
        t = where.build(writing="break a backup lock")
        store = _store(t, source)
        holder = store.lock_info()
        if holder is None:
            emit(
                output,
                {"broken": None, "source": store.source},
                lambda: console.print(f"nothing to unlock: no backup lock is held for {store.source}"),
            )
            return
        confirm(f"break the lock of backup {holder.backup_id} held by {holder.holder()}?", yes=yes)
        store.break_lock(datetime.now(UTC), force=True, backup_id=holder.backup_id)
        emit(
            output,
            {"broken": holder.backup_id, "source": store.source, "holder": holder.holder()},
            lambda: console.print(f"broke the lock of backup {holder.backup_id} (held by {holder.holder()})"),
        )
