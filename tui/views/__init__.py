"""The screens, in the order of their number keys. The registry is open: the Migration and Runbooks
screens add themselves with :func:`register_view` (a :class:`~tui.views.base.View` subclass)."""

from __future__ import annotations

from tui.views.backups import BackupsView
from tui.views.base import KeySpec, View
from tui.views.dashboard import DashboardView
from tui.views.info import InfoView
from tui.views.keys import KeysView
from tui.views.migration import MigrationView
from tui.views.runbooks import RunbooksView
from tui.views.slowlog import SlowlogView

__all__ = ["VIEWS", "KeySpec", "View", "find_view", "register_view"]

#: every screen, in number-key order (1 = the first)
VIEWS: list[type[View]] = [
    DashboardView,
    SlowlogView,
    InfoView,
    KeysView,
    BackupsView,
    MigrationView,
    RunbooksView,
]


def register_view(cls: type[View]) -> type[View]:
    """Add a screen (usable as a class decorator); its number key is its place in :data:`VIEWS`."""
    if any(v.NAME == cls.NAME for v in VIEWS):
        raise ValueError(f"a view named {cls.NAME!r} is already registered")
    VIEWS.append(cls)
    return cls


def find_view(word: str) -> type[View] | None:
    """The view a ``:`` command names (its name, an alias, a unique prefix of its name, or its number)."""
    w = word.strip().lower()
    if w.isdigit() and 1 <= int(w) <= len(VIEWS):
        return VIEWS[int(w) - 1]
    for v in VIEWS:
        if w == v.NAME or w in v.ALIASES:
            return v
    matches = [v for v in VIEWS if v.NAME.startswith(w)] if w else []
    return matches[0] if len(matches) == 1 else None
