"""``redisops migrate plan | verify`` (and ``copy`` once it is built): move a source Redis (ElastiCache)
into the target.

The target takes the shared target options (:mod:`redisops.cli.options`: the sandbox by default), the
source the ``--source-*`` options (:mod:`redisops.cli.migrate_options`: the sandbox's ElastiCache-like
source by default). Each command runs its catalogue operation (``migrate.plan``, ``migrate.verify``)
with the event stream drawn on stderr; ``-o json`` prints one JSON object.

Exit codes: ``plan`` exits 15 when it found a blocker (the copy would refuse; the plan is printed
first), ``verify`` exits 22 when source and target differ after every re-check round (keys still
changing are named as in flight and do not count).
"""

from __future__ import annotations

import enum
import importlib
from typing import Annotated, Any

import typer

from redisops.cli import _oprun
from redisops.cli.common import Output, OutputOpt, console, error_boundary
from redisops.cli.migrate_options import SourceArgs, with_source
from redisops.cli.options import TargetArgs, with_target

__all__ = ["app", "register"]

app = typer.Typer(
    help="Move data from ElastiCache (or any Redis) into the target: plan, verify.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Mode(enum.StrEnum):
    """What ``migrate verify`` compares."""

    full = "full"
    sample = "sample"


MaxOpsOpt = Annotated[
    float,
    typer.Option("--max-ops", min=0, help="cap on commands per second on the source (0: none)"),
]


def _lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)


@app.command("plan")
@with_target(timeout=10.0, state_dir=True)
@with_source()
def plan(
    notify_keyspace_events: Annotated[
        str | None,
        typer.Option(
            "--notify-keyspace-events",
            metavar="FLAGS",
            help="the source parameter group's notify-keyspace-events value, e.g. KEA or '' "
            "(CONFIG is blocked on ElastiCache) [default: read where the source allows CONFIG]",
            show_default=False,
        ),
    ] = None,
    replication_group: Annotated[
        str | None,
        typer.Option(
            "--replication-group",
            help="the source's ElastiCache replication group: notify-keyspace-events is read from its "
            "parameter group [default: the sandbox's, for the sandbox's source]",
            show_default=False,
        ),
    ] = None,
    sample: Annotated[
        int, typer.Option("--sample", min=0, max=100_000, help="keys timed for the estimate (0: none)")
    ] = 500,
    big_key_mb: Annotated[
        float, typer.Option("--big-key-mb", min=0.001, max=1_000_000, help="MEMORY USAGE (MB) of a big key")
    ] = 4.0,
    big_key_scan_limit: Annotated[
        int,
        typer.Option("--big-key-scan-limit", min=0, max=100_000_000, help="keys sized at most (0: no scan)"),
    ] = 200_000,
    max_ops: MaxOpsOpt = 0.0,
    *,
    where: TargetArgs,
    source: SourceArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Plan a migration into the target: versions, dbs, memory fit, big keys, keyspace notifications,
    estimated copy time. Writes nothing; exits 15 when the copy would refuse (a blocker)."""
    with error_boundary(output):
        params: dict[str, Any] = {
            **source.params(),
            "notify_keyspace_events": notify_keyspace_events,
            "replication_group": replication_group,
            "sample": sample,
            "big_key_bytes": max(1, int(big_key_mb * (1 << 20))),
            "big_key_scan_limit": big_key_scan_limit,
            "max_ops": max_ops,
        }
        with where.build() as t:
            result = _oprun.run(t, "migrate.plan", params, output, label="migrate plan")
        # a plan: wrapped at the width like every plan; exit 15 when blocked
        _oprun.emit_checked(output, result.to_dict(), lambda: _oprun.print_lines(result.summary()),
                            result.raise_if_blocked)  # fmt: skip


@app.command("verify")
@with_target(timeout=10.0, state_dir=True)
@with_source()
def verify(
    mode: Annotated[
        Mode,
        typer.Option("--mode", help="full: every key both ways; sample: --sample-size random keys per db"),
    ] = Mode.full,
    sample_size: Annotated[
        int, typer.Option("--sample-size", min=1, max=10_000_000, help="sample mode: keys per db and side")
    ] = 1000,
    db: Annotated[
        list[int] | None,
        typer.Option("--db", min=0, help="a db to compare (repeat) [default: every db in use]"),
    ] = None,
    ttl_tolerance_ms: Annotated[
        int, typer.Option("--ttl-tolerance-ms", min=0, max=86_400_000, help="TTLs this far apart still match")
    ] = 2000,
    rounds: Annotated[
        int,
        typer.Option("--rounds", min=1, max=20, help="rounds: differing keys are read again rounds-1 times"),
    ] = 3,
    round_delay: Annotated[
        float, typer.Option("--round-delay", min=0, max=3600, help="seconds between two rounds")
    ] = 1.0,
    max_ops: MaxOpsOpt = 0.0,
    *,
    where: TargetArgs,
    source: SourceArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Compare the source with the target: per-db counts, then type, value and TTL of every key (or a
    sample) both ways, re-checked in rounds. Exits 22 on stable differences; keys still changing are
    named as in flight."""
    with error_boundary(output):
        params: dict[str, Any] = {
            **source.params(),
            "mode": mode.value,
            "sample_size": sample_size,
            "dbs": sorted(set(db)) if db else None,
            "ttl_tolerance_ms": ttl_tolerance_ms,
            "rounds": rounds,
            "round_delay": round_delay,
            "max_ops": max_ops,
        }
        with where.build() as t:
            report = _oprun.run(t, "migrate.verify", params, output, label="migrate verify")
        _oprun.emit_checked(
            output, report.to_dict(), lambda: _lines(report.summary()), report.raise_if_different
        )


def register(root: typer.Typer) -> None:
    """Add the ``migrate`` group to ``root`` (with ``copy`` when :mod:`redisops.cli.migrate_copy_cmd`
    exists: its ``register(app)`` adds it to the group)."""
    if not _copy_added:
        _add_copy()
    root.add_typer(app, name="migrate")


_copy_added: list[bool] = []


def _add_copy() -> None:
    _copy_added.append(True)
    try:
        copy_cmd = importlib.import_module("redisops.cli.migrate_copy_cmd")
    except ModuleNotFoundError as e:
        if e.name != "redisops.cli.migrate_copy_cmd":
            raise
    else:
        copy_cmd.register(app)
    importlib.import_module("redisops.cli.migrate_cutover_cmd").register(app)
