"""SVG snapshots of every screen (80x24, the committed recordings replayed: no clock, no live data;
``flows.jsonl`` holds the Migration and Runbooks screens' plan, copy, verify and runbook run).

Textual's own ``export_screenshot()`` is compared with ``tests/tui/snapshots/*.svg``; pytest-textual-
snapshot is not used because it pins syrupy 4.8 and so pytest 8.4, while the project pins pytest 9.2.
``REDISOPS_UPDATE_SNAPSHOTS=1`` rewrites the files (review the diff, then commit them).
"""

from __future__ import annotations

import asyncio

import pytest

from tui.app import create_app
from tui.data import ReplaySource

from .helpers import HERE, SIZE, SNAPSHOTS, replay_app, update_snapshots, wait_for

FLOWS = HERE / "data" / "flows.jsonl"
DEMO_RUNBOOK = HERE / "data" / "demo-runbook.md"

#: snapshot name -> keys pressed after the replay
SCREENS = {
    "dashboard": [],
    "slowlog": ["2"],
    "slowlog_grouped": ["2", "g"],
    "info": ["3"],
    "info_changed": ["3", "c"],
    "keys": ["4"],
    "backups": ["5"],
    "help": ["5", "question_mark"],
    "migration": ["6"],
    "runbooks": ["7"],
    "runbooks_report": ["7", "t"],
}
#: the screens shown from flows.jsonl
FLOW_SCREENS = {"migration", "runbooks", "runbooks_report"}


def _screenshot(keys: list[str], flows: bool = False) -> str:
    async def body() -> str:
        app = (
            create_app(
                ReplaySource(FLOWS),
                read_only=True,
                record=None,
                replay_speed=0,
                runbooks=[DEMO_RUNBOOK],
                find_runbooks=False,
            )
            if flows
            else replay_app()
        )
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.replay_done, "the replay")
            await pilot.pause()
            for k in keys:
                await pilot.press(k)
            await pilot.pause()
            await pilot.wait_for_scheduled_animations()
            return app.export_screenshot(title="redisops tui")

    return asyncio.run(body())


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen_matches_its_snapshot(name):
    svg = _screenshot(SCREENS[name], flows=name in FLOW_SCREENS)
    path = SNAPSHOTS / f"{name}.svg"
    if update_snapshots() or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        if not update_snapshots():
            pytest.fail(f"{path} did not exist: written now, review and commit it")
    assert svg == path.read_text(encoding="utf-8"), (
        f"{name} differs from {path}: rerun with REDISOPS_UPDATE_SNAPSHOTS=1 if the change is intended"
    )
