"""Every screen and key, driven by Pilot on the committed recording (replayed: no server needed)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Input, Static

from tui.app import create_app
from tui.data import ReplaySource
from tui.modals import HelpScreen, PlanScreen
from tui.views.backups import BackupsView
from tui.views.slowlog import SlowlogView

from .helpers import RECORDING, SIZE, replay_app, wait_for


def _table(app, selector):
    return app.query_one(selector, DataTable)


def _text(app, selector) -> str:
    return str(app.query_one(selector, Static).render())


def _cells(table, col):
    return [table.get_row_at(i)[col] for i in range(table.row_count)]


async def _replayed(pilot):
    await wait_for(pilot, lambda: pilot.app.replay_done, "the replay")
    await pilot.pause()


@pytest.mark.slow
def test_every_screen_shows_the_recording():
    async def body():
        app = replay_app()
        async with app.run_test(size=SIZE) as pilot:
            await _replayed(pilot)
            status = _text(app, "#status")
            assert "sandbox (replay)" in status and "REPLAY" in status and "READ-ONLY" in status
            health = _table(app, "#health")
            names = [str(c) for c in _cells(health, 0)]
            assert {"ping", "memory", "hit_ratio", "backup_age"} <= set(names)
            assert "newest backup:" in _text(app, "#dash-bottom")
            assert "persistence: last save" in _text(app, "#dash-bottom")
            assert len(app.state.series["ops_per_sec"]) >= 5  # plotted from the recorded INFO snapshots

            await pilot.press("2")
            assert app.active.NAME == "slowlog"
            slow = _table(app, "#slow-table")
            assert slow.row_count == len(app.state.slowlog) > 128  # beyond the server's ring
            await pilot.press("3")
            assert app.active.NAME == "info" and _table(app, "#info-table").row_count > 100
            await pilot.press("4")
            assert app.active.NAME == "keys"
            keys = [str(k) for k in _cells(_table(app, "#keys-top"), 0)]
            assert keys[0] == "big:blob"  # the biggest key first
            assert "user:*" in [str(p) for p in _cells(_table(app, "#keys-prefixes"), 0)]
            await pilot.press("5")
            assert app.active.NAME == "backups" and _table(app, "#backups-table").row_count >= 1
            await pilot.press("1")
            assert app.active.NAME == "dashboard"

    asyncio.run(body())


@pytest.mark.slow
def test_command_mode_filter_and_help():
    async def body():
        app = replay_app()
        async with app.run_test(size=SIZE) as pilot:
            await _replayed(pilot)
            await pilot.press("colon")
            assert isinstance(app.focused, Input)
            await pilot.press(*"slow", "enter")
            assert app.active.NAME == "slowlog" and not app.prompt_mode
            await pilot.press("colon", *"nope", "enter")
            assert app.active.NAME == "slowlog"  # unknown: a notice, nothing else
            await pilot.press("colon", *"back", "enter")
            assert app.active.NAME == "backups"
            await pilot.press("colon", *"info", "enter")
            total = _table(app, "#info-table").row_count
            await pilot.press("slash", *"used_memory_peak")
            rows = _cells(_table(app, "#info-table"), 1)
            assert 0 < len(rows) < total and all("used_memory_peak" in str(r) for r in rows)
            assert "/used_memory_peak" in _text(app, "#nav")
            await pilot.press("enter")  # the filter stays
            assert _table(app, "#info-table").row_count == len(rows)
            await pilot.press("escape")  # and esc clears it
            assert _table(app, "#info-table").row_count == total
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            what = [str(c) for c in _cells(app.screen.query_one("#help-table", DataTable), 2)]
            assert any("command mode" in w for w in what) and any("changed" in w for w in what)
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
            await pilot.press("colon", *"q", "enter")
        assert app.return_code == 0

    asyncio.run(body())


def test_slowlog_grouping_and_sorting():
    async def body():
        app = replay_app()
        async with app.run_test(size=SIZE) as pilot:
            await _replayed(pilot)
            await pilot.press("2")
            view = app.query_one(SlowlogView)
            await pilot.press("s")  # newest -> slowest
            ms = [float(str(c)) for c in _cells(_table(app, "#slow-table"), 2)]
            assert view.sort == "slowest" and ms == sorted(ms, reverse=True)
            await pilot.press("g")
            grouped = _table(app, "#slow-table")
            shapes = [str(c) for c in _cells(grouped, 0)]
            assert "INFO" in shapes and len(shapes) == len(set(shapes))
            counts = sum(int(str(c)) for c in _cells(grouped, 1))
            assert counts == len(app.state.slowlog)
            await pilot.press("slash", *"sort", "enter")
            assert [str(c) for c in _cells(_table(app, "#slow-table"), 0)] == ["SORT"]

    asyncio.run(body())


def test_info_baseline_and_changed_fields():
    async def body():
        app = replay_app()
        async with app.run_test(size=SIZE) as pilot:
            await _replayed(pilot)
            await pilot.press("3", "c")  # changed since the first snapshot of the session
            changed = _table(app, "#info-table")
            fields = [str(c) for c in _cells(changed, 1)]
            assert "total_commands_processed" in fields and "redis_version" not in fields
            assert all(str(c) for c in _cells(changed, 3))  # the baseline's value shown beside each
            await pilot.press("b")  # the current INFO becomes the baseline: nothing changed since
            assert _table(app, "#info-table").row_count == 0

    asyncio.run(body())


def test_a_replay_hides_mutating_and_live_actions():
    async def body():
        app = replay_app()
        async with app.run_test(size=SIZE) as pilot:
            await _replayed(pilot)
            await pilot.press("5")
            view = app.query_one(BackupsView)
            assert not any(view.check_key(a) for a in ("create", "restore", "verify"))
            await pilot.press("n", "r")
            await pilot.pause()
            assert not isinstance(app.screen, PlanScreen) and not app.runner.busy
            keys = {k for k, _, _ in app.key_rows()}
            assert not {"n", "r", "x", "ctrl+r"} & keys
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Go to Backups" in titles and not any("new backup" in t for t in titles)

    asyncio.run(body())


@pytest.mark.slow
def test_the_command_palette_switches_screens():
    async def body():
        app = replay_app()
        async with app.run_test(size=SIZE) as pilot:
            await _replayed(pilot)
            await pilot.press("ctrl+p")
            await pilot.press(*"Go to Keys")
            await pilot.pause(0.5)  # the palette searches in the background
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.active.NAME == "keys", "the Keys screen", timeout=10)

    asyncio.run(body())


def test_a_replay_pauses_and_steps():
    async def body():
        app = create_app(ReplaySource(RECORDING), read_only=True, record=None, replay_speed=4)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("space")
            await pilot.pause(0.5)
            held = app.replayed
            assert app.poller.replay_paused and not app.replay_done
            assert "PAUSED" in str(app.query_one("#status", Static).render())
            await pilot.pause(1.0)
            assert app.replayed == held  # nothing plays while paused
            await pilot.press("full_stop")
            await wait_for(pilot, lambda: app.replayed == held + 1, "one step")
            await pilot.pause(0.5)
            assert app.replayed == held + 1
            assert ("space", "everywhere", "pause or resume the replay") in app.key_rows()
            await pilot.press("space")
            await wait_for(pilot, lambda: app.replay_done, "the rest of the replay")
            assert app.replayed == 25

    asyncio.run(body())
