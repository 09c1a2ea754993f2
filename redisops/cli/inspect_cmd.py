"""``redisops health | info | slowlog | latency | memory | keys | clients``: look at a live Redis.

Every command targets ``--url`` or, without it, the sandbox's target Redis. Passwords come from
``--password-env`` (default ``REDIS_PASSWORD`` when ``--url`` is given), ``--password-file`` or
``--ask-password`` (prompted, never echoed) and never appear in output or errors.
``health`` exits 0 (ok), 1 (warn) or 2 (crit) so cron and CI can use it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from redisops.cli.common import ConfigOpt, Output, OutputOpt, console, emit, error_boundary, to_jsonable

if TYPE_CHECKING:
    from redisops.adapters.redis_conn import RedisEndpoint
    from redisops.config.model import DeploymentConfig
    from redisops.health.model import HealthReport, Thresholds
    from redisops.health.platform import PlatformProbe

__all__ = ["register"]

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        "-u",
        help="redis://[user@]host[:port][/db] or rediss:// (TLS) [default: the sandbox target]",
        show_default=False,
    ),
]
PasswordFileOpt = Annotated[
    Path | None, typer.Option("--password-file", help="file whose first line is the password")
]
PasswordEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--password-env",
        help="env var holding the password [default: REDIS_PASSWORD when --url is given]",
        show_default=False,
    ),
]
AskPasswordOpt = Annotated[bool, typer.Option("--ask-password", help="prompt for the password (not echoed)")]
UserOpt = Annotated[str | None, typer.Option("--user", help="ACL user name")]
TlsCaOpt = Annotated[Path | None, typer.Option("--tls-ca", help="CA bundle for rediss:// (TLS)")]
InsecureOpt = Annotated[bool, typer.Option("--tls-insecure", help="do not verify the TLS certificate")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="connect and command timeout in seconds")]
WatchOpt = Annotated[
    float | None, typer.Option("--watch", "-w", help="repeat every SECONDS until Ctrl-C (or --count)")
]
CountOpt = Annotated[int | None, typer.Option("--count", help="stop after N rounds of --watch/--follow")]

_STATUS_STYLE = {"ok": "green", "warn": "yellow", "crit": "bold red", "unknown": "dim"}


@dataclasses.dataclass(frozen=True)
class _Target:
    endpoint: RedisEndpoint
    sandbox_config: str | None = None


def _target(
    url: str | None,
    password_file: Path | None,
    password_env: str | None,
    ask_password: bool,
    user: str | None,
    tls_ca: Path | None,
    tls_insecure: bool,
    timeout: float,
) -> _Target:
    """The endpoint from the options, or the sandbox target when no --url is given."""
    from redisops.adapters.redis_conn import RedisEndpoint, read_password
    from redisops.errors import NotFoundError

    sandbox_config: str | None = None
    if url is not None:
        ep = RedisEndpoint.from_url(
            url,
            password_env=password_env or "REDIS_PASSWORD",
            password_file=password_file,
            connect_timeout=timeout,
            socket_timeout=timeout,
        )
    else:
        from redisops.ops.sandbox import load_state

        st = load_state()
        if st is None or "target" not in st.services:
            raise NotFoundError(
                "no Redis to inspect: no --url given and the sandbox is not running",
                hint="start the sandbox (redisops sandbox up) or pass --url redis://host:port",
            )
        ep = dataclasses.replace(st.target, connect_timeout=timeout, socket_timeout=timeout)
        password = read_password(password_env, password_file)
        if password:
            ep = dataclasses.replace(ep, password=password)
        sandbox_config = st.config_file
    if ask_password:
        ep = dataclasses.replace(ep, password=typer.prompt("Redis password", hide_input=True) or None)
    if user:
        ep = dataclasses.replace(ep, username=user)
    if tls_ca is not None:
        ep = dataclasses.replace(ep, tls_ca_file=str(tls_ca))
    if tls_insecure:
        ep = dataclasses.replace(ep, tls_verify=False)
    return _Target(ep, sandbox_config)


def _repeat(watch: float | None, count: int | None, once: Callable[[int], None]) -> None:
    """Run ``once(i)``; with ``watch``, again every ``watch`` seconds, ``count`` times in all."""
    i = 0
    try:
        while True:
            once(i)
            i += 1
            if watch is None or (count is not None and i >= count):
                return
            time.sleep(watch)
    except KeyboardInterrupt:
        return


def _json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(data)) + "\n")
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    return str(value)


def _human_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


# --- health -------------------------------------------------------------------------------------------


def _load_thresholds(path: Path | None) -> Thresholds:
    from redisops.errors import ConfigError
    from redisops.health import Thresholds

    if path is None:
        return Thresholds()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the thresholds file {path}: {type(e).__name__}") from None
    return Thresholds.from_yaml(text)


def _deployment(config: Path | None, target: _Target) -> DeploymentConfig | None:
    from redisops.config import load_config

    if config is not None:
        return load_config(config)
    if target.sandbox_config is not None:
        return load_config(target.sandbox_config)
    return None


def _backup_probe(
    backups: bool | None, cfg: DeploymentConfig | None, limits: Thresholds
) -> PlatformProbe | None:
    """A :class:`StoreProbe` on the deployment's backup store, or None (backup checks ``unknown``).

    ``backups`` None = on when a store can be resolved: the sandbox's S3 is running or the backup
    target (config file, ``REDISOPS_S3_*`` env) names an endpoint. True = always (e.g. AWS S3 with
    the default credential chain/IRSA); False = never.
    """
    import os

    from redisops.config import DeploymentConfig, apply_env
    from redisops.errors import RedisOpsError
    from redisops.ops.backup import store_for
    from redisops.ops.health_probes import StoreProbe, StoreUnavailable, fail_fast
    from redisops.ops.sandbox import sandbox_status

    if backups is False:
        return None
    base = apply_env(cfg or DeploymentConfig(), os.environ)
    state = sandbox_status()
    s3 = state.services.get("s3") if state is not None else None
    if s3 is None or s3.status != "running":
        state = None
    if backups is None and state is None and base.backup.endpoint_url is None:
        return None
    try:
        store = store_for(base.backup, sandbox=state, source_name=base.service_name)
    except RedisOpsError as e:
        return StoreUnavailable(f"backup store not usable: {e.one_line()}")
    return StoreProbe(fail_fast(store), thresholds=limits)


def _print_report(report: HealthReport, strict: bool) -> None:
    table = Table(title=f"health of {report.target}")
    for col in ("status", "check", "value", "threshold", "hint / reason"):
        table.add_column(col, overflow="fold")
    for c in report.checks:
        style = _STATUS_STYLE[c.status.value]
        note = c.hint if c.status.value != "unknown" else (c.reason or "")
        if c.reason and c.status.value != "unknown" and c.hint:
            note = f"{c.hint} ({c.reason})"
        table.add_row(Text(c.status.value, style=style), c.name, _fmt(c.value), c.threshold or "-", note)
    console.print(table)
    overall = report.overall.value
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
    console.print(
        Text.assemble(
            "overall: ", (overall, _STATUS_STYLE[overall]), f"  ({counts}; exit {report.exit_code(strict)})"
        )
    )


def health(
    url: UrlOpt = None,
    password_file: PasswordFileOpt = None,
    password_env: PasswordEnvOpt = None,
    ask_password: AskPasswordOpt = False,
    user: UserOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_insecure: InsecureOpt = False,
    timeout: TimeoutOpt = 5.0,
    config: ConfigOpt = None,
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="YAML mapping of threshold overrides")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="count unknown checks as warn")] = False,
    backups: Annotated[
        bool | None,
        typer.Option(
            "--backups/--no-backups",
            help="check backup age and the last restore drill in the backup store "
            "[default: on when the sandbox S3 runs or the config names an S3 endpoint]",
            show_default=False,
        ),
    ] = None,
    watch: WatchOpt = None,
    count: CountOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Health checks with status, value, threshold and its source; exit 0 ok, 1 warn, 2 crit."""
    from redisops.ops.health import HealthPoller

    code = 0
    with error_boundary(output):
        target = _target(url, password_file, password_env, ask_password, user, tls_ca, tls_insecure, timeout)
        cfg = _deployment(config, target)
        limits = _load_thresholds(thresholds)
        probe = _backup_probe(backups, cfg, limits)
        with HealthPoller(target.endpoint, cfg, limits, probe) as poller:

            def once(i: int) -> None:
                nonlocal code
                report = poller.poll()
                code = report.exit_code(strict)
                if watch is not None and output is Output.json:
                    _json_line(report.to_dict(strict))
                else:
                    emit(output, report.to_dict(strict), lambda: _print_report(report, strict))

            _repeat(watch, count, once)
    raise typer.Exit(code)


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
        ("hit ratio (interval)", rates.hit_ratio_interval),
        ("hit ratio (since start)", rates.hit_ratio_overall),
        ("net in B/s", rates.net_input_bytes_per_sec),
        ("net out B/s", rates.net_output_bytes_per_sec),
        ("evicted keys/s", rates.evicted_keys_per_sec),
        ("expired keys/s", rates.expired_keys_per_sec),
        ("rejected connections/s", rates.rejected_connections_per_sec),
        ("cpu (cores)", rates.cpu_utilization),
    ]
    for label, value in rows:
        table.add_row(label, _fmt(value))
    console.print(table)
    if rates.commands:
        cmds = Table(title="commands")
        for col in ("command", "calls/s", "µs/call", "calls"):
            cmds.add_column(col)
        for name, r in list(rates.commands.items())[:top]:
            cmds.add_row(name, f"{r.calls_per_sec:.1f}", _fmt(r.usec_per_call), str(r.calls))
        console.print(cmds)


def info(
    sections: Annotated[
        list[str] | None, typer.Argument(help="INFO sections (default: the default set)")
    ] = None,
    url: UrlOpt = None,
    password_file: PasswordFileOpt = None,
    password_env: PasswordEnvOpt = None,
    ask_password: AskPasswordOpt = False,
    user: UserOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_insecure: InsecureOpt = False,
    timeout: TimeoutOpt = 5.0,
    rates: Annotated[
        bool, typer.Option("--rates", help="also sample twice --interval apart and show rates")
    ] = False,
    interval: Annotated[float, typer.Option("--interval", help="seconds between rate samples")] = 1.0,
    watch: WatchOpt = None,
    count: CountOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """INFO, parsed; --rates adds ops/s, hit ratio, net, evictions and per-command rates."""
    from redisops.inspect import compute_rates
    from redisops.ops.inspect import fetch_info, open_client

    with error_boundary(output):
        target = _target(url, password_file, password_env, ask_password, user, tls_ca, tls_insecure, timeout)
        ep = target.endpoint
        client = open_client(ep)
        state: dict[str, Any] = {}
        try:

            def once(i: int) -> None:
                data: dict[str, Any] = {}
                shown = fetch_info(ep, sections or (), client=client)
                data["info"] = {name: s.as_dict() for name, s in shown.sections.items()}
                rate = None
                if rates:
                    before = state.get("sample") or fetch_info(ep, ("everything",), client=client)
                    t0 = state.get("t") or time.monotonic()
                    if "sample" not in state:
                        time.sleep(interval)
                    after = fetch_info(ep, ("everything",), client=client)
                    now = time.monotonic()
                    rate = compute_rates(before, after, now - t0)
                    state.update(sample=after, t=now)
                    data["rates"] = rate

                def text() -> None:
                    _print_info(shown)
                    if rate is not None:
                        _print_rates(rate)

                if watch is not None and output is Output.json:
                    _json_line(data)
                else:
                    emit(output, data, text)

            _repeat(watch, count, once)
        finally:
            client.close()


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


def slowlog(
    n: Annotated[int, typer.Option("-n", help="how many entries to read")] = 10,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep polling for new entries")] = False,
    interval: Annotated[float, typer.Option("--interval", help="seconds between polls with --follow")] = 1.0,
    count: CountOpt = None,
    url: UrlOpt = None,
    password_file: PasswordFileOpt = None,
    password_env: PasswordEnvOpt = None,
    ask_password: AskPasswordOpt = False,
    user: UserOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_insecure: InsecureOpt = False,
    timeout: TimeoutOpt = 5.0,
    output: OutputOpt = Output.text,
) -> None:
    """The slow log grouped by command shape and by client; --follow polls with an id watermark."""
    from redisops.inspect import group_by_client, group_by_shape
    from redisops.ops.inspect import SlowlogPoller, fetch_slowlog

    with error_boundary(output):
        target = _target(url, password_file, password_env, ask_password, user, tls_ca, tls_insecure, timeout)
        ep = target.endpoint
        if not follow:
            entries = fetch_slowlog(ep, n)
            data = {
                "entries": entries,
                "by_shape": group_by_shape(entries),
                "by_client": group_by_client(entries),
            }

            def text() -> None:
                _print_entries(entries, f"slow log of {ep.url()} (newest first)")
                _print_groups(group_by_shape(entries), "by command shape")
                _print_groups(group_by_client(entries), "by client")

            emit(output, data, text)
            return
        with SlowlogPoller(ep, n=max(n, 128)) as poller:

            def once(i: int) -> None:
                delta = poller.poll()
                entries = list(delta.entries)
                if i == 0:
                    entries = entries[-n:]
                if output is Output.json:
                    _json_line({"entries": entries, "missed": delta.missed, "reset": delta.reset})
                    return
                if delta.missed:
                    console.print(
                        f"[yellow]{delta.missed} entries rotated out before they were read[/yellow]"
                    )
                for e in entries:
                    console.print("  ".join(_entry_row(e)), soft_wrap=True)

            _repeat(interval, count, once)
            if output is Output.text and poller.history:
                _print_groups(group_by_shape(poller.history), "by command shape (this session)")


# --- latency ------------------------------------------------------------------------------------------


def latency(
    url: UrlOpt = None,
    password_file: PasswordFileOpt = None,
    password_env: PasswordEnvOpt = None,
    ask_password: AskPasswordOpt = False,
    user: UserOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_insecure: InsecureOpt = False,
    timeout: TimeoutOpt = 5.0,
    pings: Annotated[int, typer.Option("--pings", help="PINGs to time")] = 5,
    output: OutputOpt = Output.text,
) -> None:
    """PING round trips, LATENCY LATEST and LATENCY DOCTOR."""
    from redisops.ops.inspect import fetch_latency, open_client, ping_latency

    with error_boundary(output):
        target = _target(url, password_file, password_env, ask_password, user, tls_ca, tls_insecure, timeout)
        ep = target.endpoint
        client = open_client(ep)
        try:
            ping = ping_latency(ep, pings, client=client)
            report = fetch_latency(ep, client=client)
        finally:
            client.close()
        data = {"ping": ping, "events": report.events, "doctor": report.doctor, "reasons": report.reasons}

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
            if report.doctor:
                console.print(report.doctor, markup=False, highlight=False)
            for part, reason in report.reasons.items():
                console.print(f"[yellow]{part}:[/yellow] {reason}")

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


def memory(
    url: UrlOpt = None,
    password_file: PasswordFileOpt = None,
    password_env: PasswordEnvOpt = None,
    ask_password: AskPasswordOpt = False,
    user: UserOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_insecure: InsecureOpt = False,
    timeout: TimeoutOpt = 5.0,
    watch: WatchOpt = None,
    count: CountOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """INFO memory, MEMORY STATS and MEMORY DOCTOR."""
    from redisops.ops.inspect import fetch_memory, open_client

    with error_boundary(output):
        target = _target(url, password_file, password_env, ask_password, user, tls_ca, tls_insecure, timeout)
        ep = target.endpoint
        client = open_client(ep)
        try:

            def once(i: int) -> None:
                report = fetch_memory(ep, client=client)
                data = {
                    "info": report.info,
                    "stats": report.stats,
                    "doctor": report.doctor,
                    "reasons": report.reasons,
                }

                def text() -> None:
                    table = Table(title=f"memory of {ep.url()}", show_header=False)
                    table.add_column("field")
                    table.add_column("value")
                    if report.info is not None:
                        for name in _MEMORY_FIELDS:
                            value = getattr(report.info, name)
                            shown = (
                                _human_bytes(value)
                                if isinstance(value, int) and "ratio" not in name
                                else _fmt(value)
                            )
                            table.add_row(name, shown)
                    if report.stats is not None:
                        st = report.stats
                        table.add_row("keys.count", _fmt(st.keys_count))
                        table.add_row("keys.bytes-per-key", _fmt(st.keys_bytes_per_key))
                        table.add_row("dataset.percentage", _fmt(st.dataset_percentage))
                        table.add_row("overhead.total", _human_bytes(st.overhead_total))
                    console.print(table)
                    if report.doctor:
                        console.print(report.doctor, markup=False, highlight=False)
                    for part, reason in report.reasons.items():
                        console.print(f"[yellow]{part}:[/yellow] {reason}")

                if watch is not None and output is Output.json:
                    _json_line(data)
                else:
                    emit(output, data, text)

            _repeat(watch, count, once)
        finally:
            client.close()


# --- keys ---------------------------------------------------------------------------------------------


def keys(
    top: Annotated[int, typer.Option("--top", help="biggest keys to show per type")] = 10,
    prefix_depth: Annotated[int, typer.Option("--prefix-depth", help="':'-parts that make a prefix")] = 1,
    prefixes: Annotated[int, typer.Option("--prefixes", help="prefixes to show")] = 20,
    scan_count: Annotated[int, typer.Option("--scan-count", help="SCAN COUNT hint per batch")] = 1000,
    max_ops: Annotated[
        float, typer.Option("--max-ops", help="cap on commands per second (0 = none)")
    ] = 5000.0,
    sample: Annotated[
        float | None, typer.Option("--sample", help="examine this share of keys (0-1]; default all")
    ] = None,
    cursor: Annotated[int, typer.Option("--cursor", help="resume a previous scan from this cursor")] = 0,
    max_keys: Annotated[
        int | None, typer.Option("--max-keys", help="stop after scanning N keys (prints the cursor)")
    ] = None,
    url: UrlOpt = None,
    password_file: PasswordFileOpt = None,
    password_env: PasswordEnvOpt = None,
    ask_password: AskPasswordOpt = False,
    user: UserOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_insecure: InsecureOpt = False,
    timeout: TimeoutOpt = 5.0,
    output: OutputOpt = Output.text,
) -> None:
    """Biggest keys per type and memory by key prefix (SCAN + MEMORY USAGE, throttled; never KEYS)."""
    from redisops.cli.common import progress_printer
    from redisops.errors import ConfigError
    from redisops.ops.inspect import analyze_keys

    with error_boundary(output):
        if sample is not None and not 0 < sample <= 1:
            raise ConfigError(f"--sample must be in (0, 1], got {sample}")
        target = _target(url, password_file, password_env, ask_password, user, tls_ca, tls_insecure, timeout)
        ep = target.endpoint
        result = analyze_keys(
            ep,
            count=scan_count,
            max_ops_per_sec=max_ops,
            sample=sample,
            cursor=cursor,
            prefix_depth=prefix_depth,
            top=top,
            max_keys=max_keys,
            on_progress=progress_printer(output) if output is Output.text else None,
        )
        data = dataclasses.asdict(result)
        data["prefixes"] = data["prefixes"][:prefixes]
        data["scale"] = result.scale

        def text() -> None:
            scale = result.scale
            est = f" (sample {result.sample:g}: x{scale:g} for estimates)" if result.sample < 1 else ""
            types = Table(
                title=f"db{result.db}: {result.examined} keys examined of {result.scanned} scanned{est}"
            )
            for col in ("type", "keys", "memory", "elements/bytes"):
                types.add_column(col)
            for name, ts in result.types.items():
                types.add_row(name, str(ts.keys), _human_bytes(ts.memory_bytes), str(ts.length))
            console.print(types)
            biggest = Table(title=f"biggest keys per type (top {top})")
            for col in ("type", "key", "memory", "length"):
                biggest.add_column(col, overflow="fold")
            for name, stats in result.top.items():
                for s in stats:
                    biggest.add_row(name, s.key, _human_bytes(s.memory_bytes), _fmt(s.length))
            console.print(biggest)
            pref = Table(title=f"memory by prefix (depth {prefix_depth})")
            for col in ("prefix", "keys", "memory", "share"):
                pref.add_column(col, overflow="fold")
            total = result.total_memory or 1
            for p in result.prefixes[:prefixes]:
                pref.add_row(
                    p.prefix, str(p.keys), _human_bytes(p.memory_bytes), f"{p.memory_bytes / total:.1%}"
                )
            console.print(pref)
            if result.memory_reason:
                console.print(f"[yellow]{result.memory_reason}[/yellow]")
            if not result.done:
                console.print(f"stopped early: resume with --cursor {result.cursor}")

        emit(output, data, text)


# --- clients ------------------------------------------------------------------------------------------


def clients(
    url: UrlOpt = None,
    password_file: PasswordFileOpt = None,
    password_env: PasswordEnvOpt = None,
    ask_password: AskPasswordOpt = False,
    user: UserOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_insecure: InsecureOpt = False,
    timeout: TimeoutOpt = 5.0,
    limit: Annotated[int, typer.Option("--limit", help="rows to show (text output)")] = 50,
    watch: WatchOpt = None,
    count: CountOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """CLIENT LIST: who is connected, idle times, memory, last command."""
    from redisops.ops.inspect import fetch_clients, open_client

    with error_boundary(output):
        target = _target(url, password_file, password_env, ask_password, user, tls_ca, tls_insecure, timeout)
        ep = target.endpoint
        client = open_client(ep)
        try:

            def once(i: int) -> None:
                rows = fetch_clients(ep, client=client)
                data = [{k: v for k, v in dataclasses.asdict(c).items() if k != "raw"} for c in rows]

                def text() -> None:
                    table = Table(title=f"{len(rows)} clients of {ep.url()}")
                    for col in ("id", "addr", "name", "user", "age s", "idle s", "flags", "db", "cmd", "mem"):
                        table.add_column(col, overflow="fold")
                    for c in sorted(rows, key=lambda c: -(c.tot_mem or 0))[:limit]:
                        table.add_row(
                            str(c.id),
                            c.addr,
                            c.name or "-",
                            c.user or "-",
                            _fmt(c.age),
                            _fmt(c.idle),
                            c.flags,
                            _fmt(c.db),
                            c.cmd or "-",
                            _human_bytes(c.tot_mem),
                        )
                    console.print(table)

                if watch is not None and output is Output.json:
                    _json_line(data)
                else:
                    emit(output, data, text)

            _repeat(watch, count, once)
        finally:
            client.close()


def register(app: typer.Typer) -> None:
    """Add ``health``, ``info``, ``slowlog``, ``latency``, ``memory``, ``keys`` and ``clients`` to ``app``."""
    app.command("health")(health)
    app.command("info")(info)
    app.command("slowlog")(slowlog)
    app.command("latency")(latency)
    app.command("memory")(memory)
    app.command("keys")(keys)
    app.command("clients")(clients)
