"""Migration: plan (``migrate.plan``), copy with a progress bar and, with follow, the lag
(``migrate.copy``), verify results (``migrate.verify``: missing / extra / different with examples, keys in
flight), cutover and rollback behind their plan and a typed-name confirmation (mutating: hidden in
read-only mode).

The source is the app's ``migrate_source`` parameters (``--source-url`` etc.), else the sandbox's
ElastiCache-like source. Every result, and the copy's progress (throttled), is a snapshot (probes
``migrate.plan``, ``migrate.copy``, ``migrate.verify``, ``migrate.progress``), so a recording replays it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, ProgressBar, Static

from redisops.events import Event, Failed, Finished, Log, Phase, Progress, Started, Warn
from tui.snapshot import Snapshot
from tui.state import SessionState
from tui.views.base import KeySpec, View, human_bytes, utc

__all__ = ["MigrationView", "lag_of", "progress_data"]

_LAG = re.compile(r"\blag ([0-9.]+) s\b|reaches the target within ([0-9.]+) s")


def lag_of(message: str) -> float | None:
    """The follow's lag in seconds from one of its log lines (``lag 0.4 s; ...`` in notification mode,
    ``a change reaches the target within 5.1 s`` in SCAN mode); None for other lines."""
    m = _LAG.search(message)
    if not m:
        return None
    return float(m.group(1) or m.group(2))


def progress_data(prev: Mapping[str, Any], event: Event) -> dict[str, Any]:
    """The copy's progress after ``event`` (pure): phase, keys done/total, changes applied, lag, last line."""
    out = dict(prev)
    if isinstance(event, Started):
        out = {"phase": "starting", "done": 0, "total": None, "changes": 0, "lag_seconds": None, "line": ""}
    elif isinstance(event, Phase):
        out["phase"] = event.name
        out["line"] = event.detail or ""
    elif isinstance(event, Progress):
        if event.unit == "changes":
            out["changes"] = event.done
        else:
            out["done"], out["total"] = event.done, event.total
    elif isinstance(event, Log | Warn):
        lag = lag_of(event.message)
        if lag is not None:
            out["lag_seconds"] = lag
        out["line"] = event.message
    elif isinstance(event, Finished):
        out["phase"] = "done"
    elif isinstance(event, Failed):
        out["phase"] = "failed"
        out["line"] = str(event.error.get("message", "failed"))
    return out


class MigrationView(View):
    """The migration from the source (ElastiCache) into the target, step by step."""

    NAME = "migration"
    TITLE = "Migration"
    ALIASES: ClassVar[tuple[str, ...]] = ("m", "migrate")
    PROBES: ClassVar[frozenset[str]] = frozenset(
        {"migrate.plan", "migrate.copy", "migrate.verify", "migrate.progress", "migrate.cutover"}
    )
    #: the operations whose results are kept as snapshots (probe = the operation's name)
    RESULTS: ClassVar[frozenset[str]] = frozenset(
        {"migrate.plan", "migrate.copy", "migrate.verify", "migrate.cutover", "migrate.rollback"}
    )
    KEYS: ClassVar[tuple[KeySpec, ...]] = (
        KeySpec("p", "plan", "plan the migration (read-only)", live=True),
        KeySpec("c", "copy", "copy the source into the target (planned first)", mutating=True, live=True),
        KeySpec("f", "follow", "copy, then follow the source's changes until x", mutating=True, live=True),
        KeySpec("v", "verify", "compare the source with the target (read-only)", live=True),
        KeySpec(
            "u", "cutover", "cut over to the target (plan, then type its name)", mutating=True, live=True
        ),
        KeySpec(
            "b", "rollback", "roll the last cutover back (plan, then type its name)", mutating=True, live=True
        ),
    )
    BINDINGS: ClassVar[list[Any]] = [(k.key, k.action, k.action) for k in KEYS]

    DEFAULT_CSS = """
    MigrationView #migrate-top { height: auto; max-height: 9; }
    MigrationView #migrate-plan { width: 1fr; height: auto; }
    MigrationView #migrate-copy-box { width: 1fr; height: auto; }
    MigrationView #migrate-copy { height: auto; }
    MigrationView #migrate-progress { height: 1; }
    MigrationView #migrate-verify { height: auto; max-height: 3; }
    MigrationView #migrate-diffs { height: 1fr; }
    """

    _progress: dict[str, Any]
    _sent_at: float = 0.0

    def compose(self) -> ComposeResult:
        with Horizontal(id="migrate-top"):
            yield Static(id="migrate-plan")
            with Vertical(id="migrate-copy-box"):
                yield Static(id="migrate-copy")
                yield ProgressBar(id="migrate-progress", show_eta=False)
        yield Static(id="migrate-verify")
        table: DataTable[Any] = DataTable(id="migrate-diffs", cursor_type="row")
        table.add_columns("kind", "db", "key", "detail")
        yield table

    def focus_target(self) -> Widget | None:
        return self.query_one("#migrate-diffs", DataTable)

    # --- actions -------------------------------------------------------------------------------------

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {**self.rapp.migrate_source, **extra}

    def action_plan(self) -> None:
        self.rapp.start_action("migrate.plan", self._params(sample=200))

    def action_copy(self) -> None:
        self.rapp.plan_then_run("migrate.copy", self._params())

    def action_follow(self) -> None:
        self.rapp.plan_then_run("migrate.copy", self._params(follow=True))

    def action_verify(self) -> None:
        self.rapp.start_action("migrate.verify", self._params())

    def action_cutover(self) -> None:
        self.rapp.plan_then_run(
            "migrate.cutover",
            self._params(),
            destructive=True,
            consequence="The clients are pointed at this target. ",
        )

    def action_rollback(self) -> None:
        self.rapp.plan_then_run(
            "migrate.rollback",
            self._params(),
            destructive=True,
            consequence="The clients are pointed back at the source. ",
        )

    def action_event(self, op: str, event: Event) -> None:
        """The copy's events become ``migrate.progress`` snapshots (at most two a second, and every phase
        change, lag change and the end), so the progress bar and the lag replay too."""
        if op != "migrate.copy":
            return
        prev = getattr(self, "_progress", {})
        new = progress_data(prev, event)
        self._progress = new
        now = time.time()
        important = (
            new.get("phase") != prev.get("phase")
            or new.get("lag_seconds") != prev.get("lag_seconds")
            or isinstance(event, Finished | Failed)
        )
        if important or now - self._sent_at >= 0.5:
            self._sent_at = now
            self.rapp.poller.deliver(Snapshot("migrate.progress", now, data=new))

    # --- drawing -------------------------------------------------------------------------------------

    def update_view(self, state: SessionState) -> None:
        self._plan(state.latest.get("migrate.plan"))
        self._copy(state.latest.get("migrate.progress"), state.latest.get("migrate.copy"))
        self._verify(state.latest.get("migrate.verify"))

    def _plan(self, snap: Snapshot | None) -> None:
        out = Text()
        if snap is None:
            out.append("no plan yet: ", style="bold")
            out.append("p plans the migration" if self.rapp.source.live else "none recorded")
        elif not snap.ok:
            out.append(f"plan failed: {snap.error}\n", style="bold red")
            out.append(snap.hint or "")
        else:
            d = snap.data
            mem = d.get("memory", {})
            est = d.get("estimate", {})
            blocked = bool(d.get("blockers"))
            out.append(f"plan {utc(snap.at)}: ", style="bold")
            out.append("BLOCKED\n" if blocked else "ok\n", style="bold red" if blocked else "bold green")
            out.append(f"{d.get('source', '?')} -> {d.get('target', '?')}\n")
            v = d.get("versions", {})
            out.append(
                f"{v.get('source_version')} -> {v.get('target_version')}, {d.get('copy_method')}; "
                f"{d.get('total_keys', 0)} keys\n"
            )
            out.append(
                f"memory {human_bytes(mem.get('projected'))} of {human_bytes(mem.get('target_maxmemory'))}"
                f" (short {human_bytes(mem.get('shortfall'))}); est. {est.get('seconds', '?')} s\n"
            )
            for f in d.get("blockers", ()):
                out.append(f"blocked: {f.get('message')}\n", style="bold red")
            for f in d.get("warnings", ()):
                out.append(f"warning: {f.get('code')}\n", style="bold dark_orange")
        self.query_one("#migrate-plan", Static).update(out)

    def _copy(self, prog: Snapshot | None, result: Snapshot | None) -> None:
        out = Text()
        bar = self.query_one("#migrate-progress", ProgressBar)
        newest = max((s for s in (prog, result) if s is not None), key=lambda s: s.at, default=None)
        bar.display = newest is not None  # an idle bar would animate as if a copy were running
        if newest is None:
            out.append("no copy yet: ", style="bold")
            out.append("c copies, f copies and follows" if self.rapp.source.live else "none recorded")
            bar.update(total=None, progress=0)
        elif newest is result and result is not None:
            if not result.ok:
                out.append(f"copy failed: {result.error}", style="bold red")
            else:
                c = result.data.get("copy", {})
                out.append(f"copy {utc(result.at)}: ", style="bold")
                out.append(
                    f"{c.get('copied', 0)} copied, {c.get('skipped', 0)} skipped, "
                    f"{c.get('failed', 0)} failed\n"
                    f"{human_bytes(c.get('bytes'))} in {c.get('seconds', 0)} s "
                    f"({c.get('keys_per_second', 0)} keys/s)\n"
                )
                f = result.data.get("follow") or {}
                if f:
                    out.append(
                        f"followed: {f.get('applied', 0)} applied, {f.get('deleted', 0)} deleted, "
                        f"max lag {f.get('max_lag_seconds', 0):.1f} s\n"
                    )
                n = int(c.get("copied", 0)) + int(c.get("skipped", 0)) + int(c.get("failed", 0))
                bar.update(total=max(n, 1), progress=max(n, 1))
        elif prog is not None:
            p = prog.data
            out.append(f"copy: {p.get('phase')}", style="bold")
            total = p.get("total")
            out.append(f"  {p.get('done', 0)}/{total if total is not None else '?'} keys\n")
            if p.get("phase") in ("following", "draining", "resyncing") or p.get("lag_seconds") is not None:
                lag = p.get("lag_seconds")
                out.append(f"lag {'-' if lag is None else f'{lag:.1f} s'}", style="bold")
                out.append(f", {p.get('changes', 0)} changes applied (x stops)\n")
            out.append(str(p.get("line", ""))[:120])
            bar.update(total=total, progress=p.get("done", 0))
        self.query_one("#migrate-copy", Static).update(out)

    def _verify(self, snap: Snapshot | None) -> None:
        table = self.query_one("#migrate-diffs", DataTable)
        table.clear()
        head = Text()
        if snap is None:
            head.append("no verification yet: ", style="bold")
            head.append("v compares source and target" if self.rapp.source.live else "none recorded")
        elif not snap.ok:
            head.append(f"verify failed: {snap.error}\n", style="bold red")
            head.append(snap.hint or "")
        else:
            d = snap.data
            n = int(d.get("total_differences", 0))
            diffs = d.get("differences", {})
            head.append(f"verify {utc(snap.at)}: ", style="bold")
            head.append(
                f"{n} differences" if n else "0 differences",
                style="bold red" if n else "bold green",
            )
            head.append(
                f" ({', '.join(f'{k} {v}' for k, v in diffs.items())}); "
                f"{d.get('compared', 0)} keys compared, "
                f"{d.get('in_flight_count', 0)} in flight, {d.get('rounds', 0)} rounds"
            )
            for e in d.get("examples", ()):
                if self.matches(e.get("kind"), e.get("key"), e.get("detail")):
                    kind = str(e.get("kind"))
                    table.add_row(
                        Text(kind, style="bold red"), e.get("db"), str(e.get("key"))[:40], e.get("detail")
                    )
            for e in d.get("in_flight", ()):
                row = e if isinstance(e, Mapping) else {"key": e}
                if self.matches(row.get("key"), "in flight"):
                    table.add_row(
                        Text("in flight", style="bold dark_orange"),
                        row.get("db", ""),
                        str(row.get("key"))[:40],
                        row.get("detail", "changing during the comparison"),
                    )
        self.query_one("#migrate-verify", Static).update(head)
