"""The base of every screen (a view in the app's switcher) and the formatting helpers they share."""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

if TYPE_CHECKING:
    from redisops.events import Event
    from tui.actions import ActionDone
    from tui.app import RedisopsApp
    from tui.state import SessionState

__all__ = ["STATUS_STYLE", "KeySpec", "View", "age", "human_bytes", "set_static", "status_text", "utc"]

#: status -> style: named ANSI colours, readable on dark and light themes
STATUS_STYLE = {"ok": "bold green", "warn": "bold dark_orange", "crit": "bold red", "unknown": "dim"}


@dataclasses.dataclass(frozen=True)
class KeySpec:
    """One key of a screen: what it does (the help screen and the command palette both list these).

    ``mutating`` keys are hidden in read-only mode; ``live`` keys need a live target (not a replay);
    ``replay`` keys exist in a replay only.
    """

    key: str
    action: str
    description: str
    mutating: bool = False
    live: bool = False
    replay: bool = False


def set_static(widget: Static, content: str | Text) -> None:
    """Update a fixed-size Static only when its content changed (no layout pass, no needless repaint:
    the idle cost of the dashboard is mostly repaints)."""
    if getattr(widget, "_shown_content", None) == content:
        return
    widget._shown_content = content  # type: ignore[attr-defined]
    widget.update(content, layout=False)


def status_text(status: str) -> Text:
    """The status word in its colour."""
    return Text(status.upper(), style=STATUS_STYLE.get(status, ""))


def human_bytes(n: float | None) -> str:
    """``1.5 MiB``; ``-`` for None."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def age(seconds: float | None) -> str:
    """``42s``, ``5m``, ``3h``, ``2d``; ``-`` for None."""
    if seconds is None:
        return "-"
    s = max(0.0, seconds)
    for limit, div, unit in ((120, 1, "s"), (7200, 60, "m"), (172800, 3600, "h")):
        if s < limit:
            return f"{s / div:.0f}{unit}"
    return f"{s / 86400:.0f}d"


def utc(epoch: float) -> str:
    """``04:29:38`` (UTC) of an epoch time."""
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%H:%M:%S")


def parse_iso(text: str | None) -> float | None:
    """Epoch seconds of an ISO time (``2026-12-07T04:29:38.77Z``); None when absent or malformed."""
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class View(Vertical):
    """One screen: a name for ``:`` command mode, a number key, its keys, and a refresh from the state.

    Subclasses set ``NAME``, ``TITLE``, ``ALIASES`` and ``KEYS`` and implement :meth:`update_view`;
    :meth:`set_filter` receives the ``/`` filter text.
    """

    NAME: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    ALIASES: ClassVar[tuple[str, ...]] = ()
    KEYS: ClassVar[tuple[KeySpec, ...]] = ()
    #: the probes whose snapshots change what the view shows (others do not redraw it)
    PROBES: ClassVar[frozenset[str]] = frozenset()
    #: the operations whose results (or errors) the app keeps as snapshots named after the operation
    RESULTS: ClassVar[frozenset[str]] = frozenset()

    filter_text: str = ""

    @property
    def rapp(self) -> RedisopsApp:
        """The app (typed)."""
        from tui.app import RedisopsApp

        assert isinstance(self.app, RedisopsApp)
        return self.app

    def update_view(self, state: SessionState) -> None:
        """Show the state (called when a snapshot arrives while the view is shown, and on switching)."""

    def snapshot_arrived(self, state: SessionState, probe: str) -> None:
        """A snapshot of ``probe`` arrived while the view is shown: redraw what depends on it."""
        if probe in self.PROBES:
            self.update_view(state)

    def action_event(self, op: str, event: Event) -> None:
        """An event of the running action ``op`` (every view hears it, shown or not)."""

    def action_done(self, message: ActionDone) -> None:
        """The running action ended (every view hears it, shown or not)."""

    def set_filter(self, text: str) -> None:
        """Filter the view's rows by ``text`` (case-insensitive substring)."""
        self.filter_text = text.lower()
        self.update_view(self.rapp.state)

    def matches(self, *cells: Any) -> bool:
        """The row of ``cells`` passes the filter."""
        return not self.filter_text or any(self.filter_text in str(c).lower() for c in cells)

    def focus_target(self) -> Widget | None:
        """The widget to focus when the view is shown."""
        return None

    def check_key(self, action: str) -> bool:
        """A key of :attr:`KEYS` is available (read-only hides mutating ones, a replay live ones)."""
        for k in self.KEYS:
            if k.action == action:
                if k.mutating and self.rapp.read_only:
                    return False
                if k.live and not self.rapp.source.live:
                    return False
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.check_key(action)
