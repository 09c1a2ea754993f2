"""The TUI on a live sandbox: the dashboard fills, a session is recorded and replays, a backup is created
and restored (plan first, then the typed name), an action is cancelled, read-only hides changes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import redis
from textual.widgets import Button, DataTable, Static

from redisops.ops.target import resolve_target
from tui.app import create_app
from tui.data import LiveSource, ReplaySource
from tui.modals import PlanScreen, TypedNameScreen
from tui.views.backups import BackupsView

from .helpers import SIZE, wait_for

pytestmark = pytest.mark.slow


def _client():
    ep = resolve_target().redis
    return redis.Redis(host=ep.host, port=ep.port, password=ep.password, decode_responses=True)


def _shown(app, screen, selector) -> bool:
    return isinstance(app.screen, screen) and bool(app.screen.query(selector))


def _live(read_only: bool = False, record: Path | None = None):
    return create_app(LiveSource(resolve_target()), read_only=read_only, record=record, interval=0.3)


def test_the_dashboard_fills_and_the_recorded_session_replays(sandbox_env, tmp_path):
    rec = tmp_path / "session.jsonl"

    async def live():
        app = _live(record=rec)
        async with app.run_test(size=SIZE) as pilot:
            probes = {"health", "info", "slowlog", "backups"}
            await wait_for(pilot, lambda: probes <= set(app.state.latest), "every probe")
            await wait_for(pilot, lambda: len(app.state.series["ops_per_sec"]) >= 2, "two INFO samples")
            assert app.state.connected is True
            assert "sandbox" in str(app.query_one("#status", Static).render())
            assert app.query_one("#health", DataTable).row_count > 10
            return app.state.latest["health"].data["overall"]

    overall = asyncio.run(live())
    lines = rec.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "redisops-tui-recording" and len(lines) > 5

    async def replay():
        app = create_app(ReplaySource(rec), read_only=False, record=None, replay_speed=0)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.replay_done, "the replay")
            assert app.read_only  # a replay never acts
            assert app.state.latest["health"].data["overall"] == overall
            assert app.query_one("#health", DataTable).row_count > 10

    asyncio.run(replay())


def test_backup_create_and_restore_from_the_backups_screen(sandbox_env):
    c = _client()
    c.set("tui:marker", "before")

    async def body():
        app = _live()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "backups" in app.state.latest, "the backup list")
            await pilot.press("5", "n")
            await wait_for(pilot, lambda: _shown(app, PlanScreen, "#plan-cancel"), "the plan")
            await pilot.click("#plan-cancel")  # declined: nothing runs
            await pilot.pause()
            assert not app.runner.busy and app.last_action is None
            await pilot.press("n")
            await wait_for(pilot, lambda: _shown(app, PlanScreen, "#plan-run"), "the plan")
            assert "backup.create" in str(app.screen.query_one("#plan-body", Static).render())
            await pilot.click("#plan-run")
            await wait_for(pilot, lambda: app.last_action is not None, "backup.create")
            done = app.last_action
            assert done.op == "backup.create" and done.error is None, done.error
            new_id = done.result["id"]
            view = app.query_one(BackupsView)
            await wait_for(pilot, lambda: new_id in getattr(view, "_ids", []), "the new backup listed")
            c.set("tui:marker", "after")

            view.query_one("#backups-table", DataTable).move_cursor(row=view._ids.index(new_id))
            await pilot.press("v")  # verify: a read, no plan
            await wait_for(pilot, lambda: app.last_action is not done, "backup.verify")
            verified = app.last_action
            assert verified.op == "backup.verify" and verified.error is None, verified.error
            done = verified

            view.query_one("#backups-table", DataTable).move_cursor(row=view._ids.index(new_id))
            await pilot.press("r")
            await wait_for(pilot, lambda: _shown(app, PlanScreen, "#plan-run"), "the restore plan")
            await pilot.click("#plan-run")
            await wait_for(pilot, lambda: _shown(app, TypedNameScreen, "#typed-ok"), "the typed-name modal")
            ok = app.screen.query_one("#typed-ok", Button)
            await pilot.press(*"sandbo")
            assert ok.disabled  # not the name yet
            await pilot.press("x", "enter")
            await wait_for(pilot, lambda: app.last_action is not done, "restore.apply", timeout=180)
            restored = app.last_action
            assert restored.op == "restore.apply" and restored.error is None, restored.error

    asyncio.run(body())
    assert _client().get("tui:marker") == "before"


def test_the_cancel_button_stops_a_key_analysis(sandbox_env):
    c = _client()
    pipe = c.pipeline()
    for i in range(3000):
        pipe.set(f"k:{i}", i)
    pipe.execute()

    async def body():
        app = _live()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            assert app.start_action("keys.analyze", {"max_ops": 20, "scan_count": 10})
            cancel = app.query_one("#activity-cancel", Button)
            await wait_for(pilot, lambda: cancel.display, "the cancel button")
            await pilot.pause(0.5)
            await pilot.click("#activity-cancel")
            await wait_for(pilot, lambda: app.last_action is not None, "the cancelled analysis")
            err = app.last_action.error
            assert err is not None and err["exit_code"] == 130, err
            assert "failed" in str(app.query_one("#activity-text", Static).render())

    asyncio.run(body())


def test_read_only_hides_changes_but_allows_reads(sandbox_env):
    async def body():
        app = _live(read_only=True)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "backups" in app.state.latest, "the backup list")
            await pilot.press("5", "n", "r")
            await pilot.pause(0.3)
            assert not isinstance(app.screen, PlanScreen) and not app.runner.busy
            view = app.query_one(BackupsView)
            assert not view.check_key("create") and view.check_key("verify")
            assert "READ-ONLY" in str(app.query_one("#status", Static).render())
            await pilot.press("4", "a")  # a key analysis reads: allowed
            await wait_for(pilot, lambda: app.last_action is not None, "the key analysis")
            assert app.last_action.error is None and "keys" in app.state.latest

    asyncio.run(body())
