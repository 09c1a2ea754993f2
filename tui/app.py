"""The Textual app: a status line, the screens in a switcher, the running action, a prompt, the footer.

Build it with :func:`create_app` from a data source (the CLI and the tests build the same app)::

    from tui.app import create_app
    from tui.data import LiveSource, ReplaySource
    import redisops

    app = create_app(LiveSource(redisops.target()), read_only=False, record=None)
    app.run()

Keys are the same on every screen, k9s-style: ``:`` command mode (a screen's name, ``q``, ``help``,
``refresh``), ``/`` filter, ``?`` help, ``ctrl+p`` the command palette, ``1``..``9`` the screens,
``x`` cancels the running action, ``q`` quits.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, ContentSwitcher, Footer, Input, ProgressBar, Static

from redisops.cancel import CancelToken
from redisops.events import EventSink, Failed, Finished, Log, Phase, Progress, Started, Warn
from tui.actions import ActionDone, ActionEvent, ActionRunner
from tui.data import DataSource
from tui.modals import HelpScreen, PlanScreen, TypedNameScreen
from tui.poller import Poller, ReplayFinished, SnapshotArrived
from tui.snapshot import RecordingWriter, Snapshot
from tui.state import SessionState
from tui.views import VIEWS, KeySpec, View, find_view
from tui.views.base import set_static, utc

__all__ = ["GLOBAL_KEYS", "RedisopsApp", "create_app"]

W = TypeVar("W", bound=Widget)

#: the keys of every screen (with the screens' own KEYS, the table behind help and the command palette)
GLOBAL_KEYS: tuple[KeySpec, ...] = (
    KeySpec(":", "command", "command mode: a screen's name, q, help, refresh"),
    KeySpec("/", "filter", "filter the rows of this screen (esc clears)"),
    KeySpec("?", "help", "this help"),
    KeySpec("ctrl+p", "command_palette", "the command palette"),
    KeySpec("1-9", "view", "go to screen N"),
    KeySpec("ctrl+r", "refresh", "poll every probe now", live=True),
    KeySpec("x", "cancel_action", "cancel the running action", live=True),
    KeySpec("space", "pause_replay", "pause or resume the replay", replay=True),
    KeySpec(".", "step_replay", "play one snapshot of the paused replay", replay=True),
    KeySpec("q", "quit", "quit (also ctrl+c; a running action is cancelled)"),
)


class RedisopsApp(App[None]):
    """Redis, its pod, its backups on one screen; see the module docstring."""

    TITLE = "redisops"
    ENABLE_COMMAND_PALETTE = True
    CSS = """
    #status { height: 1; background: $primary-background; }
    #nav { height: 1; }
    #views { height: 1fr; }
    #activity { height: 1; display: none; }
    #activity.busy, #activity.done { display: block; }
    #activity-text { width: 1fr; }
    #activity-progress { width: 30; }
    #activity-cancel { min-width: 10; height: 1; border: none; }
    #prompt { display: none; height: 1; border: none; padding: 0; }
    #prompt.open { display: block; }
    """
    BINDINGS: ClassVar[list[Any]] = [
        Binding("question_mark", "help", "help"),
        Binding("colon", "command", "cmd"),
        Binding("slash", "filter", "filter"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),  # as every command stops on Ctrl-C
        Binding("escape", "escape", "back", show=False),
        Binding("ctrl+r", "refresh", "refresh", show=False),
        Binding("x", "cancel_action", "cancel", show=False),
        Binding("space", "pause_replay", "pause", show=False),
        Binding("full_stop", "step_replay", "step", show=False),
        *[Binding(str(i), f"view({i})", f"screen {i}", show=False) for i in range(1, 10)],
    ]

    def __init__(
        self,
        source: DataSource,
        *,
        read_only: bool,
        record: Path | None = None,
        interval: float = 1.0,
        replay_speed: float = 0.0,
        migrate_source: Mapping[str, Any] | None = None,
        runbooks: Sequence[Path] = (),
        find_runbooks: bool = True,
    ) -> None:
        super().__init__()
        #: runbook files listed before the ones found by name (./runbooks, the packaged ones)
        self.extra_runbooks: list[Path] = list(runbooks)
        #: list the runbooks found by name too (False: only ``runbooks``; the snapshot tests)
        self.find_runbooks = find_runbooks
        self.source = source
        #: the parameters naming the migration's source (``source_url`` ...), added to every migrate.* op
        self.migrate_source: dict[str, Any] = dict(migrate_source or {})
        self.read_only = read_only or source.read_only or not source.live
        self.interval = interval
        self.state = SessionState()
        self.recording = RecordingWriter(record, target=source.label) if record is not None else None
        self.poller = Poller(
            self, source, interval=interval, record=self.recording, replay_speed=replay_speed
        )
        self.runner = ActionRunner(self, source)
        self.replay_done = False
        self.replayed = 0  # snapshots applied (a replay's position)
        self.prompt_mode = ""
        self.last_action: ActionDone | None = None
        self.views: list[View] = [cls(id=f"view-{cls.NAME}") for cls in VIEWS]

    # --- layout ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="nav")
        with ContentSwitcher(id="views", initial=self.views[0].id):
            yield from self.views
        with Horizontal(id="activity"):
            yield Static(id="activity-text")
            yield ProgressBar(id="activity-progress", show_eta=False)
            yield Button("Cancel", id="activity-cancel", variant="warning")
        yield Input(id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self._status()
        self._nav()
        self.show_view(self.views[0].NAME)
        self.poller.start()

    def on_unmount(self) -> None:
        self.poller.stop()
        self.runner.cancel("the TUI is closing")
        if self.recording is not None:
            self.recording.close()
        self.source.close()

    def _main(self, selector: str, expect: type[W]) -> W:
        """A widget of the main screen (the app's own query would search a modal shown over it).

        Raises:
            NoMatches: the app is closing (messages still arrive while its widgets are removed).
        """
        if not self.screen_stack:
            raise NoMatches(f"{selector}: the app is closing")
        return self.screen_stack[0].query_one(selector, expect)

    @property
    def active(self) -> View:
        """The screen shown."""
        current = self._main("#views", ContentSwitcher).current
        return next(v for v in self.views if v.id == current)

    def show_view(self, name: str) -> None:
        """Switch to the screen ``name`` (refreshed from the state and focused)."""
        view = next(v for v in self.views if name == v.NAME)
        self._main("#views", ContentSwitcher).current = view.id
        view.update_view(self.state)
        target = view.focus_target()
        if target is not None:
            target.focus()
        self._nav()

    def _nav(self) -> None:
        out = Text()
        current = self._main("#views", ContentSwitcher).current
        for i, v in enumerate(self.views, start=1):  # 7 screens fit in 80 columns
            style = "reverse bold" if v.id == current else ""
            out.append(" ")
            out.append(f"{i} {v.TITLE}", style=style)
        if self.active.filter_text:
            out.append(f"  /{self.active.filter_text}", style="bold")
        set_static(self._main("#nav", Static), out)

    def _status(self) -> None:
        s = self.state
        out = Text()
        out.append(f" {self.source.label} ", style="bold reverse")
        if self.source.address:
            out.append(f" {self.source.address}")
        out.append("  LIVE" if self.source.live else "  REPLAY", style="bold")
        if not self.source.live and self.poller.replay_paused and not self.replay_done:
            out.append(f" PAUSED ({self.replayed})", style="bold dark_orange")
        if self.read_only:
            out.append("  READ-ONLY", style="bold dark_orange")
        if self.recording is not None:
            out.append("  REC", style="bold red")
        if s.connected is False:
            retry = f"retrying, attempt {s.failures}" if self.source.live else "recorded"
            out.append(f"  DISCONNECTED: {s.connection_error} ({retry})", style="bold red")
        elif s.connected:
            out.append("  connected", style="green")
        else:
            out.append("  connecting", style="dim")
        info = s.latest.get("info")  # INFO comes every interval: the other probes do not repaint this
        if info is not None:
            out.append(f"  {utc(info.at)} UTC")
        set_static(self._main("#status", Static), out)

    # --- snapshots ---------------------------------------------------------------------------------

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        with contextlib.suppress(NoMatches):  # closing: its widgets are gone
            self._snapshot_arrived(message)

    def _snapshot_arrived(self, message: SnapshotArrived) -> None:
        self.state.apply(message.snap)
        self.replayed += 1
        self._status()
        self.active.snapshot_arrived(self.state, message.snap.probe)

    def on_replay_finished(self, message: ReplayFinished) -> None:
        with contextlib.suppress(NoMatches):  # closing: its widgets are gone
            self._replay_finished(message)

    def _replay_finished(self, message: ReplayFinished) -> None:
        self.replay_done = True
        self._status()

    # --- actions -----------------------------------------------------------------------------------

    def start_action(
        self,
        op: str,
        params: Mapping[str, Any],
        *,
        confirm: bool = False,
        call: Callable[[EventSink, CancelToken], Any] | None = None,
    ) -> bool:
        """Start ``op`` in a worker (events shown in the activity line); False when it cannot start.
        ``call(sink, token)`` runs instead of the catalogue operation when given (a runbook run)."""
        if not self.source.live:
            self.notify("a replay has no target to act on", severity="warning")
            return False
        if self.runner.busy:
            self.notify(
                f"{self.runner.current[1] if self.runner.current else 'an action'} is still running",
                severity="warning",
            )
            return False
        if call is not None:
            self.runner.start_call(op, call)
        else:
            self.runner.start(op, params, confirm=confirm)
        bar = self._main("#activity", Horizontal)
        bar.set_class(True, "busy")
        bar.set_class(False, "done")
        self._main("#activity-cancel", Button).display = True
        self._main("#activity-progress", ProgressBar).update(total=None, progress=0)
        self._main("#activity-text", Static).update(f"{op}: starting")
        return True

    def plan_then_run(
        self,
        op: str,
        params: Mapping[str, Any],
        *,
        destructive: bool = False,
        consequence: str | None = None,
    ) -> None:
        """Show ``op``'s plan; run it when accepted (a destructive one after the typed-name modal)."""
        if self.read_only:
            self.notify(f"{op} changes the target: refused in read-only mode", severity="error")
            return
        if not self.source.live or self.runner.busy:
            self.start_action(op, params)  # says why it cannot
            return

        def work() -> None:
            try:
                plan = self.runner.plan(op, params)
            except Exception as e:
                message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
                self.call_from_thread(self.notify, f"cannot plan {op}: {message}", severity="error")
                return
            self.call_from_thread(self._show_plan, op, params, plan, destructive, consequence)

        self.run_worker(work, thread=True, group="plan", exit_on_error=False)

    def _show_plan(
        self,
        op: str,
        params: Mapping[str, Any],
        plan: Mapping[str, Any],
        destructive: bool,
        consequence: str | None = None,
    ) -> None:
        def accepted(ok: bool | None) -> None:
            if not ok:
                self.notify(f"{op}: not run")
                return
            if destructive:
                what = f"{op} {params.get('backup_id', '')}".strip()
                self.push_screen(TypedNameScreen(what, self.source.label, consequence), confirmed)
            else:
                self.start_action(op, params)

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.start_action(op, params, confirm=True)
            else:
                self.notify(f"{op}: not confirmed, nothing changed")

        self.push_screen(PlanScreen(plan), accepted)

    def on_action_event(self, message: ActionEvent) -> None:
        with contextlib.suppress(NoMatches):  # closing: its widgets are gone
            self._action_event(message)

    def _action_event(self, message: ActionEvent) -> None:
        e = message.event
        text = self._main("#activity-text", Static)
        bar = self._main("#activity-progress", ProgressBar)
        if isinstance(e, Started):
            text.update(f"{e.op}: started")
        elif isinstance(e, Phase):
            text.update(f"{e.op}: {e.name}" + (f" ({e.detail})" if e.detail else ""))
        elif isinstance(e, Progress):
            bar.update(total=e.total, progress=e.done)
            text.update(f"{e.op}: {e.phase} {e.done}/{e.total or '?'} {e.unit}")
        elif isinstance(e, Warn | Log):
            text.update(f"{e.op}: {(e.message.strip().splitlines() or [''])[0].strip()}")
        elif isinstance(e, Finished | Failed):
            pass  # ActionDone follows
        for view in self.views:
            view.action_event(e.op, e)

    def on_action_done(self, message: ActionDone) -> None:
        with contextlib.suppress(NoMatches):  # closing: its widgets are gone
            self._action_done(message)

    def _action_done(self, message: ActionDone) -> None:
        self.last_action = message
        if any(message.op in v.RESULTS for v in self.views):  # kept (and recorded) as a snapshot
            err = message.error or {}
            snap = (
                Snapshot(message.op, time.time(), data=message.result)
                if message.error is None and isinstance(message.result, Mapping)
                else Snapshot(
                    message.op, time.time(), error=str(err.get("message", "failed")), hint=err.get("hint")
                )
            )
            self.poller.deliver(snap)
        for view in self.views:
            view.action_done(message)
        bar = self._main("#activity", Horizontal)
        bar.set_class(False, "busy")
        bar.set_class(True, "done")
        self._main("#activity-cancel", Button).display = False
        text = self._main("#activity-text", Static)
        if message.error is not None:
            msg = str(message.error.get("message", "failed"))
            text.update(Text(f"{message.op} failed: {msg}", style="bold red"))
            self.notify(f"{message.op} failed: {msg}", severity="error", timeout=8)
            return
        summary = _summary(message.op, message.result)
        text.update(Text(f"{message.op} done: {summary}", style="green"))
        self.notify(f"{message.op} done: {summary}")
        if message.op == "keys.analyze" and isinstance(message.result, Mapping):
            self.poller.deliver(Snapshot("keys", time.time(), data=message.result))
        if message.op in ("backup.create", "restore.apply", "backup.verify", "backup.drill"):
            self.poller.poll_now()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "activity-cancel":
            self.action_cancel_action()

    # --- keys --------------------------------------------------------------------------------------

    def action_view(self, n: int) -> None:
        if 1 <= n <= len(self.views):
            self.show_view(self.views[n - 1].NAME)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_rows()))

    def key_rows(self) -> list[tuple[str, str, str]]:
        """(key, where, what) of every available key: global ones, then the current screen's."""
        rows = [(k.key, "everywhere", k.description) for k in GLOBAL_KEYS if self._available(k)]
        view = self.active
        rows += [(k.key, view.TITLE, k.description) for k in view.KEYS if view.check_key(k.action)]
        return rows

    def _available(self, k: KeySpec) -> bool:
        return (
            not (k.live and not self.source.live)
            and not (k.mutating and self.read_only)
            and not (k.replay and self.source.live)
        )

    def _open_prompt(self, mode: str) -> None:
        self.prompt_mode = mode
        prompt = self._main("#prompt", Input)
        prompt.placeholder = "screen name, q, help, refresh" if mode == ":" else "filter rows"
        prompt.value = self.active.filter_text if mode == "/" else ""
        prompt.add_class("open")
        # at once, not at the next idle (Widget.focus): keys typed right after ':' go to the prompt
        self.screen_stack[0].set_focus(prompt)

    def _close_prompt(self) -> None:
        self.prompt_mode = ""
        self._main("#prompt", Input).remove_class("open")
        target = self.active.focus_target()
        if target is not None:
            target.focus()

    def action_command(self) -> None:
        self._open_prompt(":")

    def action_filter(self) -> None:
        self._open_prompt("/")

    def action_escape(self) -> None:
        if self.prompt_mode == "/" or (not self.prompt_mode and self.active.filter_text):
            self.active.set_filter("")
        if self.prompt_mode:
            self._close_prompt()
        self._nav()

    def action_refresh(self) -> None:
        self.poller.poll_now()

    def action_pause_replay(self) -> None:
        if self.source.live or self.replay_done:
            return
        self.poller.pause_replay(not self.poller.replay_paused)
        self._status()

    def action_step_replay(self) -> None:
        if self.source.live or self.replay_done:
            return
        if not self.poller.replay_paused:
            self.poller.pause_replay(True)
        self.poller.step_replay()
        self._status()

    def action_cancel_action(self) -> None:
        if self.runner.cancel():
            self.notify("cancelling: the operation stops at its next check")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "prompt" and self.prompt_mode == "/":
            self.active.set_filter(event.value)
            self._nav()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "prompt":
            return
        mode = self.prompt_mode
        self._close_prompt()
        if mode == ":":
            self.run_command(event.value)
        self._nav()

    def run_command(self, line: str) -> None:
        """One ``:`` command: a screen (name, alias, number), ``q``/``quit``, ``help``, ``refresh``."""
        word = line.strip().lower()
        if word in ("q", "quit", "q!", "exit"):
            self.exit()
        elif word in ("help", "h"):
            self.action_help()
        elif word in ("refresh", "r"):
            self.action_refresh()
        elif word:
            view = find_view(word)
            if view is None:
                names = ", ".join(v.NAME for v in VIEWS)
                self.notify(f"no screen or command {word!r}: try {names}, q, help", severity="warning")
            else:
                self.show_view(view.NAME)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for i, v in enumerate(self.views, start=1):
            yield SystemCommand(
                f"Go to {v.TITLE}", f"screen {i} (:{v.NAME})", lambda n=v.NAME: self.show_view(n)
            )
        view = self.active
        for k in view.KEYS:
            if view.check_key(k.action):
                yield SystemCommand(
                    f"{view.TITLE}: {k.description}", f"key {k.key}", getattr(view, f"action_{k.action}")
                )
        if self.source.live:
            yield SystemCommand("Refresh now", "ctrl+r: poll every probe", self.action_refresh)


def _summary(op: str, result: Any) -> str:
    if not isinstance(result, Mapping):
        return "ok"
    if op == "backup.create":
        return f"backup {result.get('id')}"
    if op == "keys.analyze":
        return f"{result.get('scanned', 0)} keys scanned"
    which = f" of {result['backup_id']}" if result.get("backup_id") else ""  # which backup it was
    if op == "backup.verify":
        if result.get("ok", True):
            return f"backup{which.replace(' of', '')} verified"
        problems = "; ".join(str(p) for p in result.get("problems") or ()) or "-"
        return f"verification{which} failed: {problems}"
    if op == "backup.drill":
        state = "ok" if result.get("ok") else f"FAILED ({result.get('problem')})"
        return f"drill{which} {state}, RTO {float(result.get('rto_seconds') or 0):.1f} s"
    if op == "restore.apply":
        return _restore_summary(result)
    return "ok"


def _restore_summary(result: Mapping[str, Any]) -> str:
    """What a restore did, as the CLI says it: the backup, the downtime, the safety backup it took of the
    replaced data (and how to restore it) and how to undo."""
    parts = [f"restored {result.get('backup_id', '')}".strip()]
    downtime = result.get("downtime_seconds")
    if isinstance(downtime, int | float):
        parts.append(f"downtime {downtime:.2f} s")
    safety = result.get("safety_backup")
    if safety:
        again = f"redisops restore {safety} --force"
        parts.append(f"safety backup of the previous data: {safety} (restore it with: {again})")
    undo = result.get("undo_command")
    if undo:
        parts.append(f"undo with: {undo}")
    return "; ".join(parts)


def create_app(
    source: DataSource,
    *,
    read_only: bool,
    record: Path | None,
    interval: float = 1.0,
    replay_speed: float = 0.0,
    migrate_source: Mapping[str, Any] | None = None,
    runbooks: Sequence[Path] = (),
    find_runbooks: bool = True,
) -> RedisopsApp:
    """The app on ``source``: ``read_only`` hides mutating actions (always for a replay or a production
    target), ``record`` writes every snapshot to that JSON Lines file, ``interval`` is the refresh
    period in seconds, ``replay_speed`` how fast a recording plays (0: at once), ``migrate_source`` the
    parameters naming the migration's source (``source_url``, ``source_password_file`` ...; default: the
    sandbox's ElastiCache-like source), ``runbooks`` runbook files listed first on the Runbooks screen
    (only those when not ``find_runbooks``)."""
    return RedisopsApp(
        source,
        read_only=read_only,
        record=record,
        interval=interval,
        replay_speed=replay_speed,
        migrate_source=migrate_source,
        runbooks=runbooks,
        find_runbooks=find_runbooks,
    )
