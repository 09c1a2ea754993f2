"""The TUI's idle cost and the dashboard's refresh latency, on a private sandbox.

1. Idle CPU: ``redisops tui --interval 1`` runs in a real terminal (tmux, 80x24) on the dashboard; after
   it has drawn the first health report, the CPU time (user + system, ``/proc/<pid>/stat``) of the TUI
   process over ``--seconds`` (60) is divided by the wall time: a fraction of one core (target < 3 %).
   The probe threads' work (the catalogue's operations) is included: it runs in the same process.
2. Refresh latency: the same app headless (``run_test``, 80x24, 1 s interval) with a subclass that times
   each snapshot's handling: the dashboard's update (handler time) and snapshot taken -> dashboard
   updated (queue + handler), median and p95 over ``--seconds``.

Not a test. Usage::

    .venv/bin/python benchmarks/tui.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# this file is named tui.py: its directory first on sys.path would shadow the tui package
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

REDISOPS = str(Path(sys.executable).with_name("redisops"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def idle_cpu(seconds: float, env: dict[str, str]) -> dict[str, Any]:
    sock = f"tui-bench-{uuid.uuid4().hex[:6]}"

    def tmux(*a: str) -> str:
        return subprocess.run(["tmux", "-L", sock, *a], capture_output=True, text=True, check=True).stdout

    assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    tmux(
        "new-session",
        "-d",
        "-s",
        "b",
        "-x",
        "80",
        "-y",
        "24",
        f"env TERM=xterm-256color {assigns} {REDISOPS} tui --interval 1",
    )
    try:
        end = time.monotonic() + 120
        while "health " not in tmux("capture-pane", "-p", "-t", "b"):
            if time.monotonic() > end:
                raise SystemExit(
                    "the TUI never showed a health report:\n" + tmux("capture-pane", "-p", "-t", "b")
                )
            time.sleep(0.5)
        pid = int(tmux("display", "-p", "-t", "b", "#{pane_pid}").strip())
        time.sleep(3)  # past start-up
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(pid), time.monotonic()
        screen = tmux("capture-pane", "-p", "-t", "b")
        return {
            "cpu_s": round(c1 - c0, 3),
            "wall_s": round(t1 - t0, 1),
            "core_fraction": (c1 - c0) / (t1 - t0),
            "still_connected": "connected" in screen and "DISCONNECTED" not in screen,
        }
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


def refresh_latency(seconds: float) -> dict[str, Any]:
    from redisops.ops.target import resolve_target
    from tui.app import RedisopsApp
    from tui.data import LiveSource
    from tui.poller import SnapshotArrived

    handler: list[float] = []
    end_to_end: list[float] = []

    class Timed(RedisopsApp):
        def _snapshot_arrived(self, message: SnapshotArrived) -> None:
            t0 = time.perf_counter()
            super()._snapshot_arrived(message)
            handler.append(time.perf_counter() - t0)
            end_to_end.append(time.time() - message.snap.at)

    async def run() -> None:
        app = Timed(LiveSource(resolve_target()), read_only=True, interval=1.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(seconds)

    asyncio.run(run())

    def stats(xs: list[float]) -> dict[str, float]:
        xs = sorted(xs)
        return {
            "n": len(xs),
            "median_ms": round(statistics.median(xs) * 1000, 2),
            "p95_ms": round(xs[int(0.95 * (len(xs) - 1))] * 1000, 2),
            "max_ms": round(xs[-1] * 1000, 2),
        }

    return {"dashboard_update": stats(handler), "snapshot_to_screen": stats(end_to_end)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tui-bench-") as tmp:
        env = {
            "REDISOPS_STATE_DIR": str(Path(tmp) / "state"),
            "REDISOPS_AUDIT_LOG": str(Path(tmp) / "audit.jsonl"),
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", tmp),
        }
        os.environ.update(env)
        subprocess.run(
            [REDISOPS, "sandbox", "up"], check=True, capture_output=True, env={**os.environ, **env}
        )
        try:
            out = {"idle_cpu": idle_cpu(args.seconds, env), "refresh_latency": refresh_latency(args.seconds)}
        finally:
            subprocess.run(
                [REDISOPS, "sandbox", "down", "--discard-backups"],
                capture_output=True,
                env={**os.environ, **env},
            )
    frac = out["idle_cpu"]["core_fraction"]
    out["idle_cpu"]["core_fraction"] = round(frac, 4)
    out["idle_cpu"]["target"] = "< 0.03"
    out["idle_cpu"]["meets_target"] = frac < 0.03
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
