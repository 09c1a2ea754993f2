"""Connection loss and recovery (the redis-server of a harness fixture stopped and started again), and
a slow probe that does not hold up the others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from textual.widgets import Static

from redisops.ops.target import resolve_target
from tui.app import create_app
from tui.data import DataSource, LiveSource
from tui.snapshot import Snapshot

from .helpers import SIZE, wait_for

pytestmark = pytest.mark.slow


def _source(server) -> LiveSource:
    return LiveSource(resolve_target(url=f"redis://127.0.0.1:{server.endpoint.port}/0", timeout=1.0))


def test_a_lost_connection_shows_disconnected_and_recovers(redis_server):
    async def body():
        app = create_app(_source(redis_server), read_only=False, record=None, interval=0.2)
        async with app.run_test(size=SIZE) as pilot:
            status = app.query_one("#status", Static)
            await wait_for(pilot, lambda: app.state.connected is True, "connected")
            redis_server.process.stop()
            await wait_for(pilot, lambda: app.state.connected is False, "the disconnected state")
            await pilot.pause()
            shown = str(status.render())
            assert "DISCONNECTED" in shown and "retrying" in shown
            await wait_for(pilot, lambda: app.state.failures >= 3, "retries with backoff")
            snap = app.state.latest["info"]
            assert snap.disconnected and snap.hint  # the library's error: a message and a hint
            redis_server.restart()
            app.action_refresh()  # ctrl+r: no need to wait out the backoff
            await wait_for(pilot, lambda: app.state.connected is True, "reconnected")
            await pilot.pause()
            assert "DISCONNECTED" not in str(status.render()) and "connected" in str(status.render())

    asyncio.run(body())


class GatedHealth:
    """A data source whose health probe waits for a gate: a probe that hangs (e.g. a slow S3)."""

    def __init__(self, inner: LiveSource, gate: threading.Event) -> None:
        self.inner, self.gate = inner, gate
        self.label, self.address, self.live, self.read_only = inner.label, inner.address, True, False

    def poll(self, probe: str) -> Snapshot:
        if probe == "health":
            self.gate.wait(120)
        return self.inner.poll(probe)

    def recorded(self) -> Sequence[Snapshot]:
        return ()

    def run(self, op: str, params: Mapping[str, Any], **kw: Any) -> Any:
        return self.inner.run(op, params, **kw)

    def plan(self, op: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.inner.plan(op, params)

    def close(self) -> None:
        self.gate.set()
        self.inner.close()


def test_a_slow_probe_does_not_block_the_others(redis_server):
    gate = threading.Event()
    source = GatedHealth(_source(redis_server), gate)
    assert isinstance(source, DataSource)
    infos: list[float] = []

    async def body():
        app = create_app(source, read_only=False, record=None, interval=0.2)
        async with app.run_test(size=SIZE) as pilot:
            summary = app.query_one("#dash-summary", Static)

            def more_info() -> bool:
                snap = app.state.latest.get("info")
                if snap is not None and (not infos or snap.at != infos[-1]):
                    infos.append(snap.at)
                return len(infos) >= 4

            await wait_for(pilot, more_info, "INFO snapshots while health hangs")
            assert "health" not in app.state.latest
            assert "waiting for the first report" in str(summary.render())
            gate.set()
            await wait_for(pilot, lambda: "health" in app.state.latest, "the health report")
            await pilot.pause()
            assert "health " in str(summary.render()) and "waiting" not in str(summary.render())

    try:
        asyncio.run(body())
    finally:
        gate.set()


def test_a_wrong_password_shows_the_auth_error_not_connecting(redis_factory):
    server = redis_factory(password="right-pw-1")
    url = f"redis://:wrong-pw-2@127.0.0.1:{server.endpoint.port}/0"

    async def body():
        app = create_app(LiveSource(resolve_target(url=url, timeout=1.0)), read_only=True, record=None)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.state.connected is False, "the failed state")
            await pilot.pause()
            shown = str(app.query_one("#status", Static).render())
            assert "DISCONNECTED: authentication" in shown and "connecting" not in shown, shown
            assert "wrong-pw-2" not in shown and "right-pw-1" not in shown

    asyncio.run(body())
