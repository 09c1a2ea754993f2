"""``redisops info | slowlog | latency | memory | keys | clients`` (and ``health``): look at a live Redis.

Every command targets ``--url`` or, without it, the sandbox's target Redis (options and the target in
:mod:`redisops.cli._inspect_common`). Passwords come from ``--password-env``, ``--password-file`` or
``--ask-password`` and never appear in output or errors. Every numeric option is bounded, so a bad
value is a usage error (exit 2); Ctrl-C in a ``--watch``/``--follow``/``--rates`` loop exits 130.
``health`` lives in :mod:`redisops.cli.health_cmd`; :func:`register` adds it with the others.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from redisops.cli._inspect_common import (
    CountOpt,
    TargetArgs,
    WatchOpt,
    json_line,
    redis_target,
    seconds_option,
    watch_run,
    with_redis_target,
)
from redisops.cli._render import fmt, human_bytes
from redisops.cli.common import Output, OutputOpt, console, emit, err_console, error_boundary
from redisops.cli.health_cmd import health
from redisops.ops.api_inspect import percent

__all__ = ["register"]

#: the inspection commands' shared options: --target, --url, the password options, --timeout ...
_redis = with_redis_target()

#: the most slow-log entries one read asks for (slowlog-max-len is 128 by default)
MAX_SLOWLOG_ENTRIES = 1_000_000
#: SCAN cursors are unsigned 64-bit integers
MAX_CURSOR = 2**64 - 1


def _share(value: float | None) -> float | None:
    """A typer callback for --sample: a share in (0, 1]."""
    if value is not None and not 0 < value <= 1:
        raise typer.BadParameter(f"must be a share in (0, 1], e.g. 0.1 for 10 %, got {value:g}")
    return value


# --- info ---------------------------------------------------------------------------------------------


def _print_info(info: Any) -> None:
    for name, section in info.sections.items():
        table = Table(title=name or "info", show_header=False)
        table.add_column("field")
        table.add_column("value", overflow="fold")
        for k, v in section.fields.items():
            table.add_row(k, v)
        console.print(table)


def _print_rates(rates: Any, top: int = 10) -> None:
    table = Table(title=f"rates over {rates.elapsed_s:.2f} s", show_header=False)
    table.add_column("rate")
    table.add_column("value")
    if rates.reset:
        table.add_row("reset", rates.reset_reason or "")
    rows = [
        ("ops/s (total_commands_processed)", rates.ops_per_sec),
        ("instantaneous_ops_per_sec", rates.instantaneous_ops_per_sec),
        ("evicted keys/s", rates.evicted_keys_per_sec),
        ("expired keys/s", rates.expired_keys_per_sec),
        ("rejected connections/s", rates.rejected_connections_per_sec),
        ("cpu (cores)", rates.cpu_utilization),
    ]
    for label, value in rows:
        table.add_row(label, fmt(value))
    table.add_row("hit ratio (interval)", percent(rates.hit_ratio_interval))
    table.add_row("hit ratio (since start)", percent(rates.hit_ratio_overall))
    for label, value in (
        ("net in", rates.net_input_bytes_per_sec),
        ("net out", rates.net_output_bytes_per_sec),
    ):
        table.add_row(label, "-" if value is None else f"{human_bytes(value)}/s")
    console.print(table)
    if rates.commands:
        cmds = Table(title="commands")
        for col in ("command", "calls/s", "µs/call", "calls"):
            cmds.add_column(col)
        for name, r in list(rates.commands.items())[:top]:
            cmds.add_row(name, f"{r.calls_per_sec:.1f}", fmt(r.usec_per_call), str(r.calls))
        console.print(cmds)


@_redis
def info(
    sections: Annotated[
        list[str] | None, typer.Argument(help="INFO sections (default: the default set)")
    ] = None,
    rates: Annotated[
        bool, typer.Option("--rates", help="also sample twice --interval apart and show rates")
    ] = False,
    interval: Annotated[float, seconds_option("--interval", help="seconds (> 0) between rate samples")] = 1.0,
    watch: WatchOpt = None,
    count: CountOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """INFO, parsed; --rates adds ops/s, hit ratio, net, evictions and per-command rates."""

    def render(result: Any) -> tuple[Any, Callable[[], None]]:
        def text() -> None:
            _print_info(result.info)
            if result.rates is not None:
                _print_rates(result.rates)

        return result.to_dict(), text

    with error_boundary(output):
        target = redis_target(where)
        params = {"sections": sections or [], "rates": rates, "interval": interval}
        what = "info" + (" --rates" if rates else " --watch")
        watch_run(target, "info.get", params, output, render, watch=watch, count=count, what=what)


# --- slowlog ------------------------------------------------------------------------------------------


def _entry_row(e: Any) -> tuple[str, str, str, str, str]:
    when = datetime.fromtimestamp(e.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    argv = " ".join(e.argv)
    if len(argv) > 80:
        argv = argv[:77] + "..."
    client = e.client_addr + (f" ({e.client_name})" if e.client_name else "")
    return str(e.id), when, f"{e.duration_us / 1000:.2f}", argv, client


def _print_entries(entries: list[Any], title: str) -> None:
    table = Table(title=title)
    for col in ("id", "time (UTC)", "ms", "command", "client"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(*_entry_row(e))
    console.print(table)


def _print_groups(groups: list[Any], title: str, limit: int = 10) -> None:
    if not groups:
        return
    table = Table(title=title)
    for col in ("key", "count", "total ms", "mean ms", "max ms"):
        table.add_column(col)
    for g in groups[:limit]:
        table.add_row(
            g.key or "-",
            str(g.count),
            f"{g.total_us / 1000:.2f}",
            f"{g.mean_us / 1000:.2f}",
            f"{g.max_us / 1000:.2f}",
        )
    console.print(table)


@_redis
def slowlog(
    n: Annotated[
        int, typer.Option("-n", help="how many entries to read", min=1, max=MAX_SLOWLOG_ENTRIES)
    ] = 10,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep polling for new entries")] = False,
    interval: Annotated[
        float, seconds_option("--interval", help="seconds (> 0) between polls with --follow")
    ] = 1.0,
    count: CountOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """The slow log grouped by command shape and by client; --follow polls with an id watermark."""
    from redisops.cli._events import op_events
    from redisops.events import Phase
    from redisops.ops.api_inspect import Item

    with error_boundary(output):
        target = redis_target(where)
        ep = target.redis
        if not follow:
            with op_events(output) as ev:
                res = target.run("slowlog.get", {"count": n}, on_event=ev.sink, cancel=ev.cancel)

            def text() -> None:
                _print_entries(res.entries, f"slow log of {ep.url()} (newest first)")
                _print_groups(res.by_shape, "by command shape")
                _print_groups(res.by_client, "by client")

            emit(output, res, text)
            return
        # --follow: the slowlog.follow operation (an id watermark across polls), rendered as it reports
        err_console.print(
            f"following the slow log of {ep.url()}: new entries every {interval:g} s; Ctrl-C to stop",
            style="dim",
            soft_wrap=True,
        )
        pending: list[Any] = []

        def sink(event: Any) -> None:
            if not isinstance(event, Item):
                if not (isinstance(event, Phase) and event.name == "following"):  # said above
                    ev.sink(event)
            elif event.name == "slowlog.entry":
                pending.append(event.data)
                if output is Output.text:
                    console.print("  ".join(_entry_row(event.data)), soft_wrap=True)
            elif event.name == "slowlog.poll" and output is Output.json:
                data = event.data
                json_line({"entries": pending, "missed": data["missed"], "reset": data["reset"]})
                pending.clear()
            elif event.name == "slowlog.summary" and output is Output.text and event.data:
                _print_groups(event.data, "by command shape (this session)")

        params = {"count": n, "interval": interval, "rounds": count}
        with op_events(output) as ev:
            target.run("slowlog.follow", params, on_event=sink, cancel=ev.cancel)


# --- latency ------------------------------------------------------------------------------------------


@_redis
def latency(
    pings: Annotated[int, typer.Option("--pings", help="PINGs to time", min=1, max=10_000)] = 5,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """PING round trips, LATENCY LATEST and LATENCY DOCTOR."""
    from redisops.cli._events import op_events

    with error_boundary(output):
        target = redis_target(where)
        with op_events(output) as ev:
            res = target.run("latency.report", {"pings": pings}, on_event=ev.sink, cancel=ev.cancel)
        ping, report = res.ping, res.report
        data = res.to_dict()

        def text() -> None:
            console.print(
                f"PING x{ping.n}: min {ping.min_ms:.3f} ms, median {ping.median_ms:.3f} ms, "
                f"max {ping.max_ms:.3f} ms"
            )
            table = Table(title="LATENCY LATEST")
            for col in ("event", "latest (UTC)", "latest ms", "max ms"):
                table.add_column(col)
            for e in report.events:
                when = datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
                table.add_row(e.event, when, str(e.latest_ms), str(e.max_ms))
            console.print(table)
            _print_doctor(report)

        emit(output, data, text)


# --- memory -------------------------------------------------------------------------------------------

_MEMORY_FIELDS = (
    "used_memory",
    "used_memory_rss",
    "used_memory_peak",
    "used_memory_dataset",
    "used_memory_overhead",
    "maxmemory",
    "maxmemory_policy",
    "mem_fragmentation_ratio",
    "mem_fragmentation_bytes",
    "allocator_frag_ratio",
    "mem_clients_normal",
    "mem_replication_backlog",
    "mem_aof_buffer",
    "mem_allocator",
)


def _print_memory(report: Any, url: str) -> None:
    table = Table(title=f"memory of {url}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    if report.info is not None:
        for name in _MEMORY_FIELDS:
            value = getattr(report.info, name)
            shown = human_bytes(value) if isinstance(value, int) and "ratio" not in name else fmt(value)
            table.add_row(name, shown)
    if report.stats is not None:
        st = report.stats
        table.add_row("keys.count", fmt(st.keys_count))
        table.add_row("keys.bytes-per-key", fmt(st.keys_bytes_per_key))
        dataset = st.dataset_percentage
        table.add_row("dataset.percentage", "-" if dataset is None else f"{dataset:.1f} %")
        table.add_row("overhead.total", human_bytes(st.overhead_total))
    console.print(table)
    _print_doctor(report)


def _print_doctor(report: Any) -> None:
    """A report's doctor text and the reasons of what it could not read."""
    if report.doctor:
        console.print(report.doctor, markup=False, highlight=False)
    for part, reason in report.reasons.items():
        console.print(f"[yellow]{part}:[/yellow] {reason}")


@_redis
def memory(
    watch: WatchOpt = None,
    count: CountOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """INFO memory, MEMORY STATS and MEMORY DOCTOR."""
    with error_boundary(output):
        target = redis_target(where)
        url = target.redis.url()

        def render(report: Any) -> tuple[Any, Callable[[], None]]:
            data = {
                "info": report.info,
                "stats": report.stats,
                "doctor": report.doctor,
                "reasons": report.reasons,
            }
            return data, lambda: _print_memory(report, url)

        watch_run(
            target, "memory.report", {}, output, render, watch=watch, count=count, what="memory --watch"
        )


# --- keys ---------------------------------------------------------------------------------------------


@_redis
def keys(
    top: Annotated[int, typer.Option("--top", help="biggest keys to show per type", min=1, max=10_000)] = 10,
    prefix_depth: Annotated[
        int,
        typer.Option(
            "--prefix-depth", help="':'-parts that make a prefix (0: the whole key's pattern)", min=0, max=64
        ),
    ] = 1,
    prefixes: Annotated[int, typer.Option("--prefixes", help="prefixes to show", min=1, max=100_000)] = 20,
    scan_count: Annotated[
        int, typer.Option("--scan-count", help="SCAN COUNT hint per batch", min=1, max=1_000_000)
    ] = 1000,
    max_ops: Annotated[
        float, typer.Option("--max-ops", help="cap on commands per second (0 = none)", min=0)
    ] = 5000.0,
    sample: Annotated[
        float | None,
        typer.Option("--sample", help="examine this share of keys (0-1]; default all", callback=_share),
    ] = None,
    cursor: Annotated[
        int, typer.Option("--cursor", help="resume a previous scan from this cursor", min=0, max=MAX_CURSOR)
    ] = 0,
    max_keys: Annotated[
        int | None,
        typer.Option("--max-keys", help="stop after scanning N keys (prints the cursor)", min=1),
    ] = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Biggest keys per type and memory by key prefix (SCAN + MEMORY USAGE, throttled; never KEYS)."""
    from redisops.cli._events import op_events

    with error_boundary(output):
        target = redis_target(where)
        params = {"top": top, "prefix_depth": prefix_depth, "prefixes": prefixes, "scan_count": scan_count,
                  "max_ops": max_ops, "sample": sample, "cursor": cursor, "max_keys": max_keys}  # fmt: skip
        with op_events(output, "keys") as ev:
            result = target.run("keys.analyze", params, on_event=ev.sink, cancel=ev.cancel)
        data = result.to_dict()

        def text() -> None:
            scale = result.scale
            est = f" (sample {result.sample:g}: x{scale:g} for estimates)" if result.sample < 1 else ""
            types = Table(
                title=f"db{result.db}: {result.examined} keys examined of {result.scanned} scanned{est}"
            )
            for col in ("type", "keys", "memory", "elements/bytes"):
                types.add_column(col)
            for name, ts in result.types.items():
                types.add_row(name, str(ts.keys), human_bytes(ts.memory_bytes), str(ts.length))
            console.print(types)
            biggest = Table(title=f"biggest keys per type (top {top})")
            for col in ("type", "key", "memory", "length"):
                biggest.add_column(col, overflow="fold")
            for name, stats in result.top.items():
                for s in stats:
                    biggest.add_row(name, s.key, human_bytes(s.memory_bytes), fmt(s.length))
            console.print(biggest)
            pref = Table(title=f"memory by prefix (depth {prefix_depth})")
            for col in ("prefix", "keys", "memory", "share"):
                pref.add_column(col, overflow="fold")
            total = result.total_memory or 1
            for p in result.prefixes[:prefixes]:
                pref.add_row(
                    p.prefix, str(p.keys), human_bytes(p.memory_bytes), f"{p.memory_bytes / total:.1%}"
                )
            console.print(pref)
            if result.memory_reason:
                console.print(f"[yellow]{result.memory_reason}[/yellow]")
            if not result.done:
                console.print(f"stopped early: resume with --cursor {result.cursor}")

        emit(output, data, text)


# --- clients ------------------------------------------------------------------------------------------


@_redis
def clients(
    limit: Annotated[
        int, typer.Option("--limit", help="clients to show, those using the most memory first", min=1)
    ] = 50,
    watch: WatchOpt = None,
    count: CountOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """CLIENT LIST: who is connected, idle times, memory, last command."""
    with error_boundary(output):
        target = redis_target(where)
        url = target.redis.url()
        params = {"limit": limit}

        def render(res: Any) -> tuple[Any, Callable[[], None]]:
            return res.to_dict(), lambda: _print_clients(res, url)

        watch_run(
            target, "clients.list", params, output, render, watch=watch, count=count, what="clients --watch"
        )


def _print_clients(res: Any, url: str) -> None:
    rows = res.clients
    shown = f"{len(rows)} of {res.total}" if len(rows) < res.total else f"{res.total}"
    table = Table(title=f"{shown} clients of {url}")
    for col in ("id", "addr", "name", "user", "age s", "idle s", "flags", "db", "cmd", "mem"):
        table.add_column(col, overflow="fold")
    for c in rows:
        table.add_row(str(c.id), c.addr, c.name or "-", c.user or "-", fmt(c.age), fmt(c.idle), c.flags,
                      fmt(c.db), c.cmd or "-", human_bytes(c.tot_mem))  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``health``, ``info``, ``slowlog``, ``latency``, ``memory``, ``keys`` and ``clients`` to ``app``."""
    app.command("health")(health)
    app.command("info")(info)
    app.command("slowlog")(slowlog)
    app.command("latency")(latency)
    app.command("memory")(memory)
    app.command("keys")(keys)
    app.command("clients")(clients)
