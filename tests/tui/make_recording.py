"""Write tests/tui/data/session.jsonl: a short recorded session of the sandbox (the replay fixture of
the screen and snapshot tests). Run it by hand when the snapshot format changes::

    REDISOPS_STATE_DIR=/tmp/rec .venv/bin/redisops sandbox up
    REDISOPS_STATE_DIR=/tmp/rec .venv/bin/python tests/tui/make_recording.py

It writes keys and traffic into the sandbox, takes a backup, records ~12 s at a 1 s interval with a key
analysis, then stores the recording (times rounded to milliseconds, the target named sandbox).

``--flows`` writes tests/tui/data/flows.jsonl instead: the Migration screen's plan, copy and verify of the
sandbox's source, and a run of tests/tui/data/demo-runbook.md (the Migration and Runbooks snapshots).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

from redisops.ops.target import resolve_target
from tui.app import create_app
from tui.data import LiveSource

OUT = Path(__file__).parent / "data" / "session.jsonl"
FLOWS = Path(__file__).parent / "data" / "flows.jsonl"
DEMO_RUNBOOK = Path(__file__).parent / "data" / "demo-runbook.md"


def traffic(stop: threading.Event) -> None:
    import redis

    t = resolve_target()
    ep = t.redis
    c = redis.Redis(host=ep.host, port=ep.port, password=ep.password)
    c.config_set("slowlog-log-slower-than", 50)
    for i in range(300):
        c.set(f"user:{i}", "x" * (i % 97))
        c.hset(f"session:{i % 40}", f"f{i}", i)
        c.rpush(f"queue:{i % 5}", i)
    c.set("big:blob", "y" * 50_000)
    t.run("backup.create", {})
    n = 0
    while not stop.is_set():
        c.get(f"user:{n % 400}")  # some misses
        c.sort(f"queue:{n % 5}")
        n += 1
        time.sleep(0.002)


async def record(path: Path) -> None:
    stop = threading.Event()
    th = threading.Thread(target=traffic, args=(stop,), daemon=True)
    th.start()
    time.sleep(3)
    app = create_app(LiveSource(resolve_target()), read_only=False, record=path, interval=1.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(8)
        app.start_action("keys.analyze", {"top": 20})
        while app.last_action is None:
            await pilot.pause(0.2)
        await pilot.pause(4)
    stop.set()


async def record_flows(path: Path) -> None:
    app = create_app(
        LiveSource(resolve_target()),
        read_only=False,
        record=path,
        interval=1.0,
        runbooks=[DEMO_RUNBOOK],
        find_runbooks=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(2)
        await pilot.press("6")
        for op, params in (("migrate.plan", {"sample": 200}), ("migrate.copy", {}), ("migrate.verify", {})):
            before = app.last_action
            app.start_action(op, params)
            while app.last_action is before:
                await pilot.pause(0.2)
        before = app.last_action
        await pilot.press("7", "r")
        while app.last_action is before:
            await pilot.pause(0.2)
        await pilot.pause(1)


def main() -> None:
    import sys

    flows = "--flows" in sys.argv[1:]
    out = FLOWS if flows else OUT
    raw = out.with_suffix(".raw")
    asyncio.run(record_flows(raw) if flows else record(raw))
    lines = raw.read_text().splitlines()
    header, snaps = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    header["target"] = "sandbox"
    with out.open("w") as fh:
        fh.write(json.dumps(header, sort_keys=True) + "\n")
        for s in snaps:
            s["at"] = round(s["at"], 3)
            fh.write(json.dumps(s, sort_keys=True, separators=(",", ":")) + "\n")
    raw.unlink()
    print(f"{out}: {len(snaps)} snapshots")


if __name__ == "__main__":
    main()
