"""``redisops migrate copy [--follow] [--replace] [--resume] [--ops-per-second N] ...``: the online copy of
the source (ElastiCache) into the target, the catalogue operation ``migrate.copy``.

:func:`register` adds the command to the ``migrate`` group (:mod:`redisops.cli.migrate_cmd` calls it).
``--dry-run`` prints the plan (exit 15 when blocked: e.g. the target's maxmemory cannot hold the data).
Ctrl-C stops the copy cleanly (exit 130) with the checkpoint saved when ``--checkpoint`` is given; with
``--follow`` Ctrl-C ends the follow, which applies what is pending and prints its summary (exit 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from redisops.cli import _oprun
from redisops.cli._events import op_events
from redisops.cli.common import Output, OutputOpt, console, error_boundary
from redisops.cli.migrate_options import SourceArgs, with_source
from redisops.cli.options import TargetArgs, with_target
from redisops.errors import Interrupted

__all__ = ["register"]


def _summary(result: Any) -> list[str]:
    lines: list[str] = []
    copy = result.copy
    if copy is not None:
        d = copy.to_dict()
        lines.append(
            f"copied {d['copied']} keys ({d['bytes'] / (1 << 20):.1f} MiB) in {d['seconds']:.1f} s: "
            f"{d['keys_per_second']:.0f} keys/s, {d['mb_per_second']:.2f} MB/s"
        )
        lines.append(
            f"skipped {d['skipped']}, expired {d['expired']}, vanished (deleted or expired mid-copy) "
            f"{d['vanished']}, failed {d['failed']}"
        )
        for db, s in d["dbs"].items():
            for kind in ("skipped", "failed"):
                for reason, n in s[kind].items():
                    examples = ", ".join(s["examples"].get(reason, [])[:3])
                    lines.append(
                        f"  db {db} {kind} {n}: {reason}" + (f" (e.g. {examples})" if examples else "")
                    )
        if d["checkpoint"]:
            lines.append(f"checkpoint: {d['checkpoint']}")
    follow = result.follow
    if follow is not None:
        f = follow.to_dict()
        bound = f["staleness_bound_seconds"]
        lines.append(
            f"followed ({f['mode']}) for {f['seconds']:.1f} s: {f['applied']} keys applied, {f['deleted']} "
            f"deleted, max lag {f['max_lag_seconds']:.1f} s"
            + (f", staleness bound {bound:.1f} s" if bound is not None else "")
            + f"; {f['stopped']}"
        )
        lines += [f"  note: {n}" for n in f["notes"] + f["flushes"]]
    return lines


def copy(
    follow: Annotated[
        bool, typer.Option("--follow", help="after the copy, apply the source's changes until Ctrl-C")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="overwrite keys that exist on the target (else skipped)")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="continue from --checkpoint")] = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="file recording each db's SCAN cursor, to resume a killed copy"),
    ] = None,
    ops_per_second: Annotated[
        float,
        typer.Option("--ops-per-second", min=0, help="cap on commands per second on the source (0: none)"),
    ] = 0.0,
    db: Annotated[
        list[int] | None, typer.Option("--db", min=0, help="a db to copy (repeat) [default: every db in use]")
    ] = None,
    match: Annotated[str | None, typer.Option("--match", help="copy only keys matching this pattern")] = None,
    big_key_mb: Annotated[
        float, typer.Option("--big-key-mb", min=0.001, max=1_000_000, help="keys above this go in chunks")
    ] = 4.0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="SCAN COUNT")] = 1000,
    by_type: Annotated[
        bool, typer.Option("--by-type", help="copy type by type, not DUMP/RESTORE (an older target)")
    ] = False,
    notifications: Annotated[
        bool | None,
        typer.Option(
            "--notifications/--no-notifications",
            help="--follow: the source's parameter group enables keyspace notifications (KEA) "
            "[default: read CONFIG where allowed, else SCAN passes]",
            show_default=False,
        ),
    ] = None,
    follow_seconds: Annotated[
        float | None, typer.Option("--follow-seconds", min=0.001, help="stop following after this long")
    ] = None,
    pass_interval: Annotated[
        float,
        typer.Option("--pass-interval", min=0, max=3600, help="--follow by SCAN: seconds between passes"),
    ] = 5.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the plan; copy nothing")] = False,
    *,
    where: TargetArgs,
    source: SourceArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Copy the source into the target (SCAN + DUMP/RESTORE with TTLs, big keys in chunks), throttled and
    resumable; with --follow keep applying the source's changes until Ctrl-C."""
    with error_boundary(output):
        params: dict[str, Any] = {
            **source.params(),
            "follow": follow,
            "replace": replace,
            "resume": resume,
            "checkpoint_path": str(checkpoint) if checkpoint is not None else None,
            "ops_per_second": ops_per_second,
            "dbs": sorted(set(db)) if db else None,
            "match": match,
            "big_key_bytes": max(1, int(big_key_mb * (1 << 20))),
            "batch_size": batch_size,
            "by_type": by_type,
            "notifications": notifications,
            "follow_seconds": follow_seconds,
            "pass_interval": pass_interval,
        }
        with where.build(writing=None if dry_run else "copy keys into it") as t:
            if dry_run or not follow:
                result = _oprun.plan_or_run(t, "migrate.copy", params, output, dry_run=dry_run,
                                            label="migrate copy")  # fmt: skip
            else:
                result = _follow(t, params, output)
            if result is None:
                return
        if output is Output.json:
            _oprun.print_json(result.to_dict())
            return
        for line in _summary(result):
            console.print(line, markup=False, soft_wrap=True)


def _follow(t: Any, params: dict[str, Any], output: Output) -> Any:
    """Run ``migrate.copy --follow``: Ctrl-C is the normal stop: the follow drains and returns its
    report, printed with exit 0 (a Ctrl-C during the bulk pass still exits 130)."""
    result: Any = None
    try:
        with op_events(output, "migrate copy") as ev:
            result = t.run("migrate.copy", params, on_event=ev.sink, cancel=ev.cancel, confirm=False)
    except Interrupted:
        if result is None or getattr(result, "follow", None) is None:
            raise
    return result


def register(migrate_app: typer.Typer) -> None:
    """Add ``copy`` to the ``migrate`` group."""
    command = with_target(timeout=10.0, state_dir=True)(with_source()(copy))
    migrate_app.command("copy")(command)
