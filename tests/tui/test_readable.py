"""What a new user reads on the TUI (found by trying it as one, /work/notes/p7-findings.md): check values
with units and without Python reprs, plans numbered once, a restore's result naming its safety backup and
undo, runbook names whole, the memory plot's maxmemory shown, Ctrl-C quits."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, Static

from tui.app import RedisopsApp, _summary, create_app
from tui.data import ReplaySource
from tui.modals import step_lines
from tui.views.dashboard import check_value
from tui.views.runbooks import list_width

from .helpers import HERE, SIZE, replay_app, wait_for

FLOWS = HERE / "data" / "flows.jsonl"
DEMO_RUNBOOK = HERE / "data" / "demo-runbook.md"


def test_check_values_have_units_and_no_python_reprs():
    assert check_value({"name": "ping", "status": "ok", "value": 0.718}) == "0.72 ms"
    assert check_value({"name": "uptime", "status": "warn", "value": 7}) == "7 s"
    assert check_value({"name": "maxmemory", "status": "ok", "value": 268435456}) == "256.0 MiB"
    assert check_value({"name": "memory", "status": "ok", "value": 0.0037}) == "0.4 % of maxmemory"
    aof = {"aof_enabled": True, "aof_last_write_status": "ok", "aof_last_bgrewrite_status": "ok"}
    assert check_value({"name": "aof", "status": "ok", "value": aof}) == "on, ok"
    proc = {"pid": 2371, "port": 52015, "alive": True, "uptime_s": 6.9}
    text = check_value({"name": "process:target", "status": "ok", "value": proc})
    assert "True" not in text and "=" not in text and "yes" in text
    assert check_value({"name": "fork_cost", "status": "ok", "value": None}) == "-"
    assert check_value({"name": "odd", "status": "nonsense", "value": False}) == "no"


def test_the_dashboard_shows_the_values_as_the_cli_does():
    async def body() -> None:
        app = replay_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.replay_done, "the replay")
            await pilot.pause()
            table = app.query_one("#health", DataTable)
            rows = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[2]) for i in range(table.row_count)}
            assert rows["ping"].endswith(" ms")
            assert rows["maxmemory"].endswith("MiB")
            assert not [v for v in rows.values() if "True" in v or "False" in v or "=" in v], rows
            detail = str(app.query_one("#health-detail", Static).render())
            assert detail.startswith(f"{table.get_row_at(table.cursor_row)[0]} "), detail
            assert (
                rows[str(table.get_row_at(table.cursor_row)[0])] in detail
            )  # whole, where the table cuts it
            widget = app.query_one("#label-used_memory", Static)
            assert widget.size.height == 2  # both lines on screen
            label = str(widget.render())
            first, _, second = label.partition("\n")
            assert first.startswith("memory used ") and second.startswith("max 256.0 MiB"), label
            assert max(len(first), len(second)) <= 32  # the plots column: nothing cut off

    asyncio.run(body())


def test_plan_steps_are_numbered_once():
    assert step_lines(["read INFO", "take the lock"]) == ["1. read INFO", "2. take the lock"]
    restore = [
        "backup X (rdb)",
        "1. while the target keeps serving: download into staging",
        "  stage           staging/dump.rdb",
        "2. stop the target",
    ]
    assert step_lines(restore) == restore


def test_a_restore_result_names_the_safety_backup_and_the_undo():
    result = {
        "backup_id": "20261207T081307Z-ef1a",
        "safety_backup": "20261207T081328Z-15b4",
        "downtime_seconds": 0.43,
        "undo_dir": "/data/.redisops-undo/x",
        "undo_command": "redisops restore undo",
    }
    text = _summary("restore.apply", result)
    assert text.startswith("restored 20261207T081307Z-ef1a")
    assert "safety backup of the previous data: 20261207T081328Z-15b4" in text
    assert "redisops restore 20261207T081328Z-15b4 --force" in text
    assert "undo with: redisops restore undo" in text
    assert "downtime 0.43 s" in text
    assert _summary("restore.apply", {"backup_id": "b", "safety_backup": None}) == "restored b"


def test_runbook_names_are_shown_whole():
    from redisops.runbooks import list_runbooks

    names = [e.name for e in list_runbooks()]
    assert "incident-persistence-failing" in names
    assert list_width(names) >= max(len(n) for n in names) + 4
    assert list_width([]) == 16 and list_width(["x" * 60]) == 34

    async def body() -> None:
        app = create_app(ReplaySource(FLOWS), read_only=True, record=None, runbooks=[DEMO_RUNBOOK])
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda: app.replay_done, "the replay")
            await pilot.press("7")
            await pilot.pause()
            table = app.query_one("#runbooks-table", DataTable)
            assert table.size.width >= len("incident-persistence-failing") + 4
            shown = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
            assert "incident-persistence-failing" in shown

    asyncio.run(body())


def test_ctrl_c_quits():
    async def body() -> RedisopsApp:
        app = replay_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.replay_done, "the replay")
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert not app.is_running
        return app

    app = asyncio.run(body())
    assert app.return_code == 0


def test_no_progress_bar_before_a_copy():
    from textual.widgets import ProgressBar

    async def body() -> None:
        app = replay_app()  # a session without a migration
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.replay_done, "the replay")
            await pilot.press("6")
            await pilot.pause()
            assert not app.query_one("#migrate-progress", ProgressBar).display
        flows = create_app(ReplaySource(FLOWS), read_only=True, record=None, find_runbooks=False)
        async with flows.run_test(size=SIZE) as pilot:  # a recorded copy: its bar
            await wait_for(pilot, lambda: flows.replay_done, "the replay")
            await pilot.press("6")
            await pilot.pause()
            assert flows.query_one("#migrate-progress", ProgressBar).display

    asyncio.run(body())


def test_the_health_counts_keep_their_order_in_a_replay():
    async def body() -> None:
        app = replay_app()  # the recording stores JSON with sorted keys: crit, ok, unknown, warn
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.replay_done, "the replay")
            await pilot.pause()
            summary = str(app.query_one("#dash-summary", Static).render())
            words = summary.split()
            assert [w for w in words if w in ("ok", "unknown", "warn", "crit")] == [
                "ok",
                "unknown",
                "warn",
                "crit",
            ]

    asyncio.run(body())


def test_verify_and_drill_results_name_the_backup():
    ok = {"backup_id": "20261207T083405Z-d6df", "ok": True, "problems": []}
    assert _summary("backup.verify", ok) == "backup 20261207T083405Z-d6df verified"
    bad = {"backup_id": "20261207T083405Z-d6df", "ok": False, "problems": ["sha256 differs"]}
    assert _summary("backup.verify", bad) == "verification of 20261207T083405Z-d6df failed: sha256 differs"
    drill = {"backup_id": "20261207T083405Z-d6df", "ok": True, "rto_seconds": 0.31}
    assert _summary("backup.drill", drill) == "drill of 20261207T083405Z-d6df ok, RTO 0.3 s"
