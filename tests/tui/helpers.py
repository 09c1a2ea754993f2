"""Shared by the TUI tests: the replayed recording, an app on it, and waiting for a condition."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tui.app import RedisopsApp, create_app
from tui.data import ReplaySource

HERE = Path(__file__).parent
RECORDING = HERE / "data" / "session.jsonl"
SNAPSHOTS = HERE / "snapshots"
SIZE = (80, 24)


def replay_app(path: Path = RECORDING) -> RedisopsApp:
    """The app on the committed recording, played at once."""
    return create_app(ReplaySource(path), read_only=True, record=None, replay_speed=0)


async def wait_for(pilot: Pilot[Any], cond: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    """Pause until ``cond()`` is true (an upper bound so a broken app fails instead of hanging)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def update_snapshots() -> bool:
    """REDISOPS_UPDATE_SNAPSHOTS=1 rewrites the committed SVGs instead of comparing."""
    return os.environ.get("REDISOPS_UPDATE_SNAPSHOTS") == "1"
