"""redisops tui: Redis, its pod, its backups on one terminal screen (Textual).

Start it with ``redisops tui`` (or ``python -m tui``); build it in code with :func:`tui.app.create_app`
on a :class:`tui.data.LiveSource` or :class:`tui.data.ReplaySource`. Widgets never talk to Redis, S3 or
Kubernetes: the poller (:mod:`tui.poller`) runs the catalogue's read operations and posts immutable
snapshots (:mod:`tui.snapshot`).
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``python -m tui``: see :func:`tui.cli.main`."""
    from tui.cli import main as _main

    return _main(argv)
