"""The Migration and Runbooks screens on a live sandbox (one sandbox for the module).

Migration: plan, copy through its plan modal, verify with 0 differences; a difference made on the target
shows as an example row; the cutover's plan and typed-name modal (declined: nothing changes); read-only
hides copy and cutover. Runbooks: backup-now runs with its confirmation answered in a modal; a small
runbook asks a confirmation, a typed name for its destructive step, fails, and its undo is offered and
run; the report is shown at the end."""

from __future__ import annotations

import asyncio

import pytest
import redis
from textual.widgets import Button, DataTable, Log, Markdown, Static

from redisops.ops.target import resolve_target
from tui.app import create_app
from tui.data import LiveSource
from tui.modals import ConfirmScreen, PlanScreen, TypedNameScreen
from tui.views.backups import BackupsView
from tui.views.migration import MigrationView
from tui.views.runbooks import RunbooksView

from .helpers import SIZE, wait_for

pytestmark = pytest.mark.slow


def _shown(app, screen, selector) -> bool:
    return isinstance(app.screen, screen) and bool(app.screen.query(selector))


def _target_client():
    ep = resolve_target().redis
    return redis.Redis(host=ep.host, port=ep.port, password=ep.password, decode_responses=True)


async def _run(pilot, app, key: str, op: str, timeout: float = 120):
    before = app.last_action
    await pilot.press(key)
    await wait_for(pilot, lambda: app.last_action is not before, op, timeout=timeout)
    done = app.last_action
    assert done.op == op and done.error is None, done.error
    return done


def test_plan_copy_verify_on_the_sandbox(sandbox_env):
    async def body():
        app = create_app(LiveSource(resolve_target()), read_only=False, record=None, interval=0.5)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            view = app.query_one(MigrationView)
            assert app.active is view
            plan = await _run(pilot, app, "p", "migrate.plan")
            assert plan.result["total_keys"] > 0 and not plan.result["blocked"]
            await wait_for(pilot, lambda: "migrate.plan" in app.state.latest, "the plan snapshot")
            text = str(view.query_one("#migrate-plan", Static).render())
            assert "ok" in text and f"{plan.result['total_keys']} keys" in text

            await pilot.press("c")
            await wait_for(pilot, lambda: _shown(app, PlanScreen, "#plan-run"), "the copy's plan")
            assert "migrate.copy" in str(app.screen.query_one("#plan-body", Static).render())
            before = app.last_action
            await pilot.click("#plan-run")
            await wait_for(pilot, lambda: app.last_action is not before, "migrate.copy", timeout=120)
            copy = app.last_action
            assert copy.op == "migrate.copy" and copy.error is None, copy.error
            assert copy.result["copy"]["copied"] == plan.result["total_keys"]
            progress = app.state.latest["migrate.progress"].data
            assert progress["phase"] == "done" and progress["done"] == plan.result["total_keys"]
            assert "copied" in str(view.query_one("#migrate-copy", Static).render())

            verify = await _run(pilot, app, "v", "migrate.verify")
            assert verify.result["total_differences"] == 0
            await wait_for(pilot, lambda: "migrate.verify" in app.state.latest, "the verify snapshot")
            assert "0 differences" in str(view.query_one("#migrate-verify", Static).render())
            assert view.query_one("#migrate-diffs", DataTable).row_count == 0

            c = _target_client()
            c.set("tui:only-on-target", "x")
            await _run(pilot, app, "v", "migrate.verify")
            await pilot.pause()
            table = view.query_one("#migrate-diffs", DataTable)
            assert table.row_count == 1
            assert [str(x) for x in table.get_row_at(0)][:3] == ["extra", "0", "tui:only-on-target"]
            assert "1 differences" in str(view.query_one("#migrate-verify", Static).render())
            c.delete("tui:only-on-target")

            await pilot.press("u")  # cutover: plan, then the typed name; declined
            await wait_for(pilot, lambda: _shown(app, PlanScreen, "#plan-run"), "the cutover's plan")
            assert "AppConfig" in str(app.screen.query_one("#plan-body", Static).render())
            await pilot.pause()
            app.screen.query_one("#plan-run", Button).press()  # the long plan may push Run below a click
            await wait_for(pilot, lambda: _shown(app, TypedNameScreen, "#typed-cancel"), "the typed name")
            assert "pointed at this target" in str(app.screen.query_one(Static).render())
            before = app.last_action
            await pilot.click("#typed-cancel")
            await pilot.pause(0.3)
            assert app.last_action is before and not app.runner.busy

    asyncio.run(body())


def test_read_only_hides_the_migration_changes(sandbox_env):
    async def body():
        app = create_app(LiveSource(resolve_target()), read_only=True, record=None, interval=0.5)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            view = app.query_one(MigrationView)
            for key in ("copy", "follow", "cutover", "rollback"):
                assert not view.check_key(key)
            assert view.check_key("plan") and view.check_key("verify")
            await pilot.press("c", "u")
            await pilot.pause(0.3)
            assert not isinstance(app.screen, PlanScreen) and not app.runner.busy
            rows = [r[0] for r in app.key_rows()]
            assert "p" in rows and "c" not in rows and "u" not in rows
            await pilot.press("1")  # the dashboard shows platform.status (the sandbox's processes)
            await wait_for(pilot, lambda: "platform" in app.state.latest, "platform.status")
            await pilot.pause()
            assert "sandbox: redis-server pid" in str(app.query_one("#dash-bottom", Static).render())

    asyncio.run(body())


F = "```"
BOOK = f"""---
title: TUI test
target: sandbox
---
# TUI test

{F}sh {{"name":"set-key","undo":"del-key"}}
redis-cli -p "$REDIS_PORT" set tui:rb 1
{F}

{F}sh {{"name":"del-key","excludeFromRunAll":"true"}}
redis-cli -p "$REDIS_PORT" del tui:rb
{F}

{F}sh {{"name":"wipe","kind":"destructive"}}
redis-cli -p "$REDIS_PORT" set tui:wiped 1
{F}

{F}sh {{"name":"check","kind":"read","expect":"stdout contains 'never'"}}
echo "this step fails"
{F}
"""


def _runbooks_app(*books):
    app = create_app(LiveSource(resolve_target()), read_only=False, record=None, interval=0.5, runbooks=books)
    return app


async def _select(pilot, app, name):
    await pilot.press("7")
    view = app.query_one(RunbooksView)
    assert app.active is view
    names = [e.name for e in view._visible()]
    view.query_one("#runbooks-table", DataTable).move_cursor(row=names.index(name))
    await pilot.pause()
    return view


def test_backup_now_runs_with_its_confirmation_in_a_modal(sandbox_env):
    c = _target_client()
    c.set("tui:rb-backup", "1")

    async def body():
        app = _runbooks_app()
        async with app.run_test(size=SIZE) as pilot:
            view = await _select(pilot, app, "backup-now")
            assert "Back up now" in view.query_one("#runbooks-doc", Markdown).source
            await pilot.press("r")
            asked = []
            while True:
                await wait_for(
                    pilot,
                    lambda: isinstance(app.screen, ConfirmScreen) or app.last_action is not None,
                    "a confirmation or the end",
                    timeout=180,
                )
                if app.last_action is not None:
                    break
                asked.append(str(app.screen.query_one("#confirm-text", Static).render()))
                await pilot.click("#confirm-yes")
                await pilot.pause()
            done = app.last_action
            assert done.op == "runbook.run" and done.error is None, done.error
            assert done.result["status"] == "ok", done.result
            assert any("take-backup" in q for q in asked), asked
            steps = {s["name"]: s["status"] for s in done.result["steps"]}
            assert steps["take-backup"] == "ok" and steps["verify"] == "ok"
            log = "\n".join(view.query_one("#runbooks-log", Log).lines)
            assert "> take-backup" in log and "ok (exit 0)" in log
            await wait_for(
                pilot,
                lambda: "outcome: **ok**" in view.query_one("#runbooks-doc", Markdown).source,
                "the report",
            )
            assert "ok (exit 0)" in str(view.query_one("#runbooks-head", Static).render())

    asyncio.run(body())
    listed = resolve_target().run("backup.list", {})
    assert any("backup-now" in str(b.notes) for b in listed.backups)


def test_a_failed_run_offers_its_undo_and_a_destructive_step_needs_the_name(sandbox_env, tmp_path):
    book = tmp_path / "tui-test.md"
    book.write_text(BOOK)
    c = _target_client()
    c.delete("tui:rb", "tui:wiped")

    async def body():
        app = _runbooks_app(book)
        async with app.run_test(size=SIZE) as pilot:
            view = await _select(pilot, app, "tui-test")
            await pilot.press("r")
            await wait_for(
                pilot, lambda: _shown(app, ConfirmScreen, "#confirm-yes"), "set-key's confirmation"
            )
            assert "set-key" in str(app.screen.query_one("#confirm-text", Static).render())
            await pilot.click("#confirm-yes")
            await wait_for(pilot, lambda: _shown(app, TypedNameScreen, "#typed-ok"), "wipe's typed name")
            name = app.screen.name_required
            await pilot.press(*name[:-1])
            assert app.screen.query_one("#typed-ok").disabled
            await pilot.press(name[-1], "enter")
            await wait_for(pilot, lambda: _shown(app, ConfirmScreen, "#confirm-yes"), "the offer to undo")
            assert "del-key" in str(app.screen.query_one("#confirm-text", Static).render())
            await pilot.click("#confirm-yes")
            # the undo step is a change too: its own confirmation
            await wait_for(
                pilot, lambda: _shown(app, ConfirmScreen, "#confirm-yes"), "del-key's confirmation"
            )
            assert "del-key" in str(app.screen.query_one("#confirm-text", Static).render())
            await pilot.click("#confirm-yes")
            await wait_for(pilot, lambda: app.last_action is not None, "the run's end", timeout=120)
            r = app.last_action.result
            assert app.last_action.error is None and r["status"] == "failed", (app.last_action.error, r)
            assert r["undone"] == ["del-key"] and r["exit_code"] != 0
            steps = [(s["name"], s["status"]) for s in r["steps"]]
            assert ("wipe", "ok") in steps and ("check", "failed") in steps
            await wait_for(
                pilot, lambda: "check" in view.query_one("#runbooks-doc", Markdown).source, "the report"
            )

    asyncio.run(body())
    assert c.get("tui:rb") is None and c.get("tui:wiped") == "1"


def test_a_backup_drill_from_the_backups_screen(sandbox_env):
    backup = resolve_target().run("backup.create", {})

    async def body():
        app = create_app(LiveSource(resolve_target()), read_only=False, record=None, interval=0.5)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "backups" in app.state.latest, "the backup list")
            await pilot.press("5")
            view = app.query_one(BackupsView)
            await wait_for(pilot, lambda: backup.id in getattr(view, "_ids", []), "the backup listed")
            view.query_one("#backups-table", DataTable).move_cursor(row=view._ids.index(backup.id))
            await pilot.press("d")
            await wait_for(pilot, lambda: _shown(app, PlanScreen, "#plan-run"), "the drill's plan")
            assert "backup.drill" in str(app.screen.query_one("#plan-body", Static).render())
            await pilot.click("#plan-run")
            await wait_for(pilot, lambda: app.last_action is not None, "backup.drill", timeout=120)
            done = app.last_action
            assert done.op == "backup.drill" and done.error is None, done.error
            assert done.result["ok"] and done.result["backup_id"] == backup.id
            assert f"drill of {backup.id} ok" in str(app.query_one("#activity-text", Static).render())

    asyncio.run(body())
