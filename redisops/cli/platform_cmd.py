"""``redisops status`` and ``redisops logs``: where Redis runs and its state, and its log.

Both are renderings of catalogue operations (``platform.status``, ``platform.logs``) with the shared
target options: the sandbox by default; Kubernetes with ``--kubeconfig`` / ``--context`` (or a named
target that has them), ``--platform`` to force one.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from redisops.cli._render import human_bytes
from redisops.cli.common import Output, OutputOpt, console, emit, error_boundary
from redisops.cli.options import TargetArgs, with_target

__all__ = ["register"]


class Where(enum.StrEnum):
    """``--platform`` choices."""

    auto = "auto"
    sandbox = "sandbox"
    kubernetes = "kubernetes"


PlatformOpt = Annotated[
    Where,
    typer.Option(
        "--platform",
        help="where Redis runs: auto (Kubernetes with --kubeconfig/--context, else the sandbox), "
        "sandbox or kubernetes",
    ),
]

_target = with_target(config=True, kube=True, state_dir=True)


def _bytes(value: Any) -> str:
    return "-" if value is None else human_bytes(value)


def _age(seconds: Any) -> str:
    if seconds is None:
        return "-"
    s = float(seconds)
    return f"{s:.0f}s" if s < 120 else f"{s / 60:.0f}m" if s < 7200 else f"{s / 3600:.1f}h"


def _print_status(data: dict[str, Any]) -> None:
    state = "running" if data["running"] else "NOT RUNNING"
    console.print(f"{data['where']} ({data['platform']}): {state}", markup=False, soft_wrap=True)
    w = data.get("workload")
    if w:
        console.print(f"  replicas: {w['ready']}/{w['desired']} ready", markup=False, soft_wrap=True)
    if data["pods"]:
        t = Table(title="pods")
        for col in ("pod", "phase", "ready", "restarts", "waiting", "last termination", "node"):
            t.add_column(col, overflow="fold")
        for p in data["pods"]:
            last = p["last_terminated_reason"] or "-"
            if p["last_terminated_at"]:
                last += f" at {p['last_terminated_at']}"
            t.add_row(
                p["name"],
                str(p["phase"]),
                "yes" if p["ready"] else "no",
                str(p["restarts"]),
                p["waiting_reason"] or "-",
                last,
                p["node"] or "-",
            )
        console.print(t)
    if data["processes"]:
        t = Table(title="processes")
        for col in ("name", "pid", "port", "alive", "answering", "uptime"):
            t.add_column(col)
        for p in data["processes"]:
            t.add_row(
                p["name"],
                str(p["pid"]),
                str(p["port"]),
                "yes" if p["alive"] else "no",
                "yes" if p["ready"] else "no",
                _age(p["uptime_s"]),
            )
        console.print(t)
    v = data.get("volume")
    if v:
        used = v.get("used_ratio")
        usage = (
            f"{_bytes(v['free_bytes'])} available of {_bytes(v['total_bytes'])} ({used:.0%} not available; "
            f"{_bytes(v['used_bytes'])} used)"
            if used is not None
            else f"usage unknown: {v.get('usage_reason')}"
        )
        if v["kind"] == "pvc":
            modes = ",".join(v["access_modes"]) or "-"
            head = f"PVC {v['name']}: {v['phase']}, {v['capacity']}, {modes}, class {v['storage_class']}"
        else:
            head = f"data dir {v['name']}" + (
                f" (files {_bytes(v['files_bytes'])})" if v["files_bytes"] else ""
            )
        console.print(f"  {head}", markup=False, soft_wrap=True)
        console.print(f"    {usage}", markup=False, soft_wrap=True)
    s = data.get("service")
    if s:
        console.print(
            f"  Service {s['name']} ({s['type']}): {s['ready_endpoints']} ready endpoint(s), "
            f"{s['not_ready_endpoints']} not ready",
            markup=False,
            soft_wrap=True,
        )
    for e in data["events"]:
        console.print(
            f"  event {e['last_seen']} {e['reason']} x{e['count']} ({e['involved']}): {e['message']}",
            markup=False,
            soft_wrap=True,
            style="yellow",
        )
    for note in data["notes"]:
        console.print(f"  note: {note}", markup=False, soft_wrap=True, style="yellow")


@_target
def status(
    platform: PlatformOpt = Where.auto,
    no_usage: Annotated[
        bool, typer.Option("--no-usage", help="do not run df in the Redis pod to measure the PVC's usage")
    ] = False,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Where Redis runs and its state: Deployment, pods (restarts, OOMKilled), PVC usage, Service, events;
    on the sandbox its processes and data dir."""
    from redisops.cli._events import op_events

    with error_boundary(output):
        target = where.build()
        with op_events(output) as ev:
            report = target.run(
                "platform.status",
                {"platform": platform.value, "usage": not no_usage},
                on_event=ev.sink,
                cancel=ev.cancel,
            )
        data = report.to_dict()
        data["observed_at_iso"] = datetime.fromtimestamp(report.observed_at, UTC).isoformat()
        emit(output, data, lambda: _print_status(data))


@_target
def logs(
    previous: Annotated[
        bool, typer.Option("--previous", "-p", help="the previous container's log (after a crash or OOMKill)")
    ] = False,
    lines: Annotated[
        int,
        typer.Option(
            "--lines",
            "--tail",
            help="the last N lines (-n is the namespace, as everywhere)",
            min=1,
            max=100_000,
        ),
    ] = 100,
    platform: PlatformOpt = Where.auto,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """The last lines of Redis's log: the Redis container's (--previous: the one before), or the sandbox
    target's log file."""
    from redisops.cli._events import op_events

    with error_boundary(output):
        target = where.build()
        with op_events(output) as ev:
            result = target.run(
                "platform.logs",
                {"platform": platform.value, "lines": lines, "previous": previous},
                on_event=ev.sink,
                cancel=ev.cancel,
            )

        def text() -> None:
            from redisops.cli.common import err_console

            err_console.print(
                f"# {result.source}" + (" (previous container)" if previous else ""), style="dim"
            )
            for line in result.lines:
                console.print(line, markup=False, highlight=False, soft_wrap=True)

        emit(output, result.to_dict(), text)


def register(app: typer.Typer) -> None:
    """Add ``status`` and ``logs`` to ``app``."""
    app.command("status")(status)
    app.command("logs")(logs)
