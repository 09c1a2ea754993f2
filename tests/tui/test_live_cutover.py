"""The Migration screen's changing actions on a live sandbox: copy with follow (the lag shown, stopped
with the cancel key), then the cutover and the rollback, each through its plan and the typed-name modal.

The sandbox's AppConfig read-back names the target after the cutover and the source again after the
rollback (what the clients would receive)."""

from __future__ import annotations

import asyncio

import pytest
import redis
from textual.widgets import Button, Input, Static

from redisops.ops.target import resolve_target
from tests.integration.aws._cli import read_back
from tui.app import create_app
from tui.data import LiveSource
from tui.modals import PlanScreen, TypedNameScreen
from tui.views.migration import MigrationView

from .helpers import SIZE, wait_for

pytestmark = pytest.mark.slow


def _shown(app, screen, selector) -> bool:
    return isinstance(app.screen, screen) and bool(app.screen.query(selector))


async def _accept_plan(pilot, app, key: str, what: str) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: _shown(app, PlanScreen, "#plan-run"), f"the {what}'s plan", timeout=120)
    await pilot.pause()
    app.screen.query_one("#plan-run", Button).press()


async def _type_the_name(pilot, app, what: str) -> None:
    await wait_for(pilot, lambda: _shown(app, TypedNameScreen, "#typed-ok"), f"the {what}'s typed name")
    modal = app.screen
    modal.query_one("#typed-name", Input).value = modal.name_required
    await pilot.pause()
    assert not modal.query_one("#typed-ok", Button).disabled
    modal.query_one("#typed-ok", Button).press()


async def _finished(pilot, app, before, op: str, timeout: float = 180):
    await wait_for(pilot, lambda: app.last_action is not before, op, timeout=timeout)
    done = app.last_action
    assert done.op == op and done.error is None, done.error
    return done


def test_follow_then_cutover_then_rollback(sandbox_env):
    source = sandbox_env["services"]["source"]
    writer = redis.Redis(host="127.0.0.1", port=source["port"], decode_responses=True)
    aws, url = sandbox_env["aws"], sandbox_env["emulator"]["url"]
    original = read_back(aws, url)["redis"]

    async def body():
        app = create_app(LiveSource(resolve_target()), read_only=False, record=None, interval=0.5)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            view = app.query_one(MigrationView)

            # copy, then follow: a write on the source after the bulk pass reaches the target
            before = app.last_action
            await _accept_plan(pilot, app, "f", "copy with follow")
            await wait_for(
                pilot,
                lambda: (
                    app.runner.busy
                    and app.state.latest.get("migrate.progress") is not None
                    and app.state.latest["migrate.progress"].data.get("lag_seconds") is not None
                ),
                "the follow's lag",
                timeout=120,
            )
            writer.set("tui:followed", "yes")
            target = resolve_target().redis
            tc = redis.Redis(
                host=target.host, port=target.port, password=target.password, decode_responses=True
            )
            await wait_for(pilot, lambda: tc.get("tui:followed") == "yes", "the followed write", timeout=60)
            assert "lag" in str(view.query_one("#migrate-copy", Static).render())
            await pilot.press("x")  # the cancel key stops the follow: a normal end with its summary
            await _finished(pilot, app, before, "migrate.copy")

            # the cutover, through its plan and the typed name
            before = app.last_action
            await _accept_plan(pilot, app, "u", "cutover")
            await _type_the_name(pilot, app, "cutover")
            await _finished(pilot, app, before, "migrate.cutover")
            switched = read_back(aws, url)["redis"]
            assert (switched["host"], int(switched["port"])) == (target.host, target.port)

            # and back
            before = app.last_action
            await _accept_plan(pilot, app, "b", "rollback")
            await _type_the_name(pilot, app, "rollback")
            await _finished(pilot, app, before, "migrate.rollback")
            assert read_back(aws, url)["redis"] == original

    try:
        asyncio.run(body())
    finally:
        writer.delete("tui:followed")
