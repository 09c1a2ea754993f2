"""Dashboard: health checks with status colours and hints, the session's plots, persistence, the pod,
PVC and Service (when the target has a Kubernetes context) and the newest backup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from redisops.ops.api_inspect import CheckResult, Status, value_text
from tui.state import SERIES, SessionState
from tui.views.base import KeySpec, View, age, human_bytes, parse_iso, set_static, status_text

__all__ = ["DashboardView", "check_value", "platform_text", "spark_text"]


def _fmt_series(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name == "used_memory":
        return human_bytes(value)
    if name == "hit_ratio":
        return f"{value:.1%}"
    if name in ("ops_per_sec", "evicted_per_sec"):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


_BARS = "▁▂▃▄▅▆▇█"
#: the health summary's counts, least severe first (as the CLI prints them)
_SEVERITY = ("ok", "unknown", "warn", "crit")


def spark_text(values: list[float], width: int) -> str:
    """``values`` as a one-line sparkline of at most ``width`` bars (more values than bars: the largest of
    each bucket), min..max over eight bar heights; a text line, so an unchanged plot costs no repaint."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        cuts = [int(i * step) for i in range(width + 1)]
        values = [max(values[cuts[i] : max(cuts[i] + 1, cuts[i + 1])]) for i in range(width)]
    lo, hi = min(values), max(values)
    if hi <= lo:
        return _BARS[0] * len(values)
    return "".join(_BARS[min(7, int((v - lo) / (hi - lo) * 8))] for v in values)


def check_value(check: Mapping[str, Any]) -> str:
    """A check's value (its JSON form) in a few words with units, as the CLI's ``health`` says it
    (``2.57 ms``, ``9 s``, ``0.4 % of maxmemory``, ``on, ok``): never a raw number or a Python repr."""
    try:
        status = Status(str(check.get("status", "unknown")))
    except ValueError:
        status = Status.UNKNOWN
    result = CheckResult(name=str(check.get("name", "?")), status=status, value=check.get("value"))
    return value_text(result)


def platform_text(data: Mapping[str, Any]) -> Text:
    """One line of ``platform.status``: the pods (phase, ready, restarts, OOMKilled), the PVC (phase, size,
    usage) and the Service's endpoints on Kubernetes; the processes and the data dir's disk in the sandbox."""
    out = Text()
    vol = data.get("volume") or {}
    if data.get("platform") == "kubernetes":
        pods = data.get("pods", ())
        if not pods:
            out.append("pod: none ", style="bold red")
        for p in pods:
            ok = p.get("phase") == "Running" and p.get("ready")
            out.append(f"pod {p.get('name')} ")
            out.append(
                f"{p.get('phase') or '?'}{'' if p.get('ready') else ' not ready'}",
                style="green" if ok else "bold red",
            )
            restarts = int(p.get("restarts") or 0)
            out.append(f" restarts {restarts}", style="bold dark_orange" if restarts else "")
            if p.get("last_terminated_reason") == "OOMKilled" or p.get("waiting_reason") == "OOMKilled":
                out.append(" OOMKilled", style="bold red")
            out.append("  ")
        if vol:
            out.append(f"PVC {vol.get('name')} {vol.get('phase') or '?'} {vol.get('capacity') or ''}")
    else:
        procs = data.get("processes", ())
        target = next((p for p in procs if p.get("name") == "target"), None)
        out.append("sandbox: ")
        if target is None:
            out.append("no target process", style="bold red")
        else:
            alive = target.get("alive") and target.get("ready")
            out.append(f"redis-server pid {target.get('pid')} ")
            out.append("up" if alive else "down", style="green" if alive else "bold red")
        if vol:
            out.append(f"  data dir {human_bytes(vol.get('files_bytes'))}")
    ratio = vol.get("used_ratio")
    if isinstance(ratio, int | float):
        out.append(f" disk {ratio:.0%} used", style="bold red" if ratio >= 0.9 else "")
    svc = data.get("service")
    if svc:
        ready = svc.get("ready_endpoints")
        out.append(f"  svc {svc.get('name')} {ready if ready is not None else '?'} endpoint(s)")
    return out


class DashboardView(View):
    """Health, plots, persistence, Kubernetes, newest backup."""

    NAME = "dashboard"
    TITLE = "Dashboard"
    ALIASES: ClassVar[tuple[str, ...]] = ("dash", "d", "health")
    KEYS: ClassVar[tuple[KeySpec, ...]] = ()
    PROBES: ClassVar[frozenset[str]] = frozenset({"health", "info", "backups", "platform"})

    DEFAULT_CSS = """
    DashboardView #dash-top { height: 1fr; }
    DashboardView #health { width: 1fr; }
    DashboardView #plots { width: 34; padding: 0 1; }
    DashboardView .plot-label { height: 1; }
    DashboardView #label-used_memory { height: 2; }
    DashboardView .spark { height: 1; margin-bottom: 1; color: $accent; }
    DashboardView #dash-summary { height: 1; }
    DashboardView #dash-bottom { height: 3; }
    DashboardView #health-detail { height: 2; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="dash-summary")
        with Horizontal(id="dash-top"):
            table: DataTable[Any] = DataTable(id="health", cursor_type="row", zebra_stripes=False)
            table.add_columns("check", "status", "value", "hint")
            yield table
            with Vertical(id="plots"):
                for name in SERIES:
                    yield Static(classes="plot-label", id=f"label-{name}")
                    yield Static(id=f"spark-{name}", classes="spark")
        yield Static(id="health-detail")
        yield Static(id="dash-bottom")

    def focus_target(self) -> Widget | None:
        return self.query_one("#health", DataTable)

    def update_view(self, state: SessionState) -> None:
        self._summary(state)
        self._health(state)
        self._plots(state)
        set_static(self.query_one("#dash-bottom", Static), self._bottom(state))

    def snapshot_arrived(self, state: SessionState, probe: str) -> None:
        """Only the parts that show ``probe`` (INFO every second must not rebuild the health table)."""
        if probe == "health":
            self._summary(state)
            self._health(state)
        elif probe == "info":
            self._plots(state)
        if probe in self.PROBES:
            set_static(self.query_one("#dash-bottom", Static), self._bottom(state))

    def _summary(self, state: SessionState) -> None:
        snap = state.latest.get("health")
        out = Text()
        if snap is None:
            out.append("health: waiting for the first report", style="dim")
        elif not snap.ok:
            out.append(f"health: {snap.error}", style="bold red")
        else:
            overall = str(snap.data.get("overall", "unknown"))
            out.append("health ")
            out.append_text(status_text(overall))
            counts = snap.data.get("counts", {})
            order = [k for k in _SEVERITY if k in counts] + [k for k in counts if k not in _SEVERITY]
            out.append("  " + "  ".join(f"{k} {counts[k]}" for k in order))  # a recording sorts its keys
        set_static(self.query_one("#dash-summary", Static), out)

    def _health(self, state: SessionState) -> None:
        table = self.query_one("#health", DataTable)
        snap = state.latest.get("health")
        rows: list[tuple[Any, ...]] = []
        self._checks: list[Any] = []
        if snap is not None and snap.ok:
            for c in snap.data.get("checks", ()):
                if c.get("category") == "kubernetes" and c.get("status") == "unknown":
                    continue  # shown below as "no Kubernetes context"
                hint = c.get("hint") or c.get("reason") or ""
                if not self.matches(c.get("name"), c.get("status"), hint):
                    continue
                rows.append((c.get("name", "?"), status_text(str(c.get("status"))), check_value(c), hint))
                self._checks.append(c)
        table.clear()
        for row in rows:
            table.add_row(*row)
        self._detail()

    def _detail(self) -> None:
        table = self.query_one("#health", DataTable)
        text = ""
        if self._checks and 0 <= table.cursor_row < len(self._checks):
            c = self._checks[table.cursor_row]
            # the value whole (the table cuts it at 80 columns), then what it means
            text = f"{c.get('name')} {check_value(c)}: {c.get('hint') or c.get('reason') or ''}"
            if c.get("threshold"):
                text += f"\nthreshold {c.get('threshold')} ({c.get('source') or 'redisops defaults'})"
        set_static(self.query_one("#health-detail", Static), text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _plots(self, state: SessionState) -> None:
        for name, label in SERIES.items():
            data = list(state.series[name])
            last = data[-1] if data else None
            extra = ""
            if name == "used_memory":
                extra = self._memory_extra(state)
            text = f"{label} {_fmt_series(name, last)}" + (f"\n{extra}" if extra else "")
            set_static(self.query_one(f"#label-{name}", Static), text)
            set_static(self.query_one(f"#spark-{name}", Static), spark_text(data, 32))

    @staticmethod
    def _memory_extra(state: SessionState) -> str:
        snap = state.latest.get("info")
        if snap is None or not snap.ok:
            return ""
        mem = snap.data.get("info", {}).get("memory", {})
        maxmem = mem.get("maxmemory")
        limit = snap.data.get("limits", {}).get("container_memory")
        parts = [f"max {human_bytes(maxmem) if maxmem else 'none'}"]
        if limit:
            parts.append(f"limit {human_bytes(limit)}")
        return " / ".join(parts)  # a line of its own under the label: the column is 32 wide

    @staticmethod
    def _bottom(state: SessionState) -> Text:
        out = Text()
        info = state.latest.get("info")
        if info is not None and info.ok:
            p = info.data.get("info", {}).get("persistence", {})
            last = p.get("rdb_last_save_time")
            ago = age(info.at - float(last)) if isinstance(last, int | float) else "-"
            aof = "on" if p.get("aof_enabled") else "off"
            out.append(
                f"persistence: last save {ago} ago ({p.get('rdb_last_bgsave_status', '-')}), "
                f"{p.get('rdb_changes_since_last_save', '-')} changes pending, AOF {aof}"
                + (f" ({p.get('aof_last_write_status')})" if p.get("aof_enabled") else "")
                + "\n"
            )
        platform = state.latest.get("platform")
        if platform is not None:
            if platform.ok:
                out.append_text(platform_text(platform.data))
            else:
                out.append(f"platform: {platform.error}", style="dim")
            out.append("\n")
            out.append_text(DashboardView._backup_line(state))
            return out
        health = state.latest.get("health")
        kube = [
            c
            for c in (health.data.get("checks", ()) if health and health.ok else ())
            if c.get("category") == "kubernetes"
        ]
        known = [c for c in kube if c.get("status") != "unknown"]
        if known:
            out.append("kubernetes: ")
            for c in known:
                out.append(f"{c.get('name')} ")
                out.append_text(status_text(str(c.get("status"))))
                out.append(f" {c.get('hint') or ''}  ")
            out.append("\n")
        elif kube:
            out.append("kubernetes: no context (pod, PVC, Service not checked)\n", style="dim")
        out.append_text(DashboardView._backup_line(state))
        return out

    @staticmethod
    def _backup_line(state: SessionState) -> Text:
        snap = state.latest.get("backups")
        if snap is None:
            return Text("newest backup: not listed yet", style="dim")
        if not snap.ok:
            return Text(f"newest backup: {snap.error}", style="dim")
        backups = snap.data.get("backups", ())
        if not backups:
            return Text("newest backup: none", style="bold dark_orange")
        b = backups[0]
        created = parse_iso(b.get("created_at"))
        size = sum(int(o.get("size", 0)) for o in b.get("objects", ()))
        when = age(snap.at - created) if created is not None else "-"
        return Text(f"newest backup: {b.get('id')} ({b.get('kind')}, {human_bytes(size)}, {when} old)")
