"""The migration's large scenario (issue 14, first "Done when"), at a size set by REDISOPS_MIGRATE_SCALE:
every core type with TTLs in 3 dbs plus one big key of every type, while a writer keeps writing and
deleting, ``redisops migrate copy --follow`` (a separate process) is killed with SIGKILL during its bulk
pass, resumed from its checkpoint with --follow, stopped with Ctrl-C (SIGINT) after the writer stops;
then verify reports 0 mismatches and names every in-flight key. The copy's peak RSS (VmHWM) is printed.

Default (scale 1): 3,000 keys and 0.15 MB big keys (runs in the suite, slow). The issue's size:
``REDISOPS_MIGRATE_SCALE=334 pytest -m slow -s tests/integration/migrate/test_large_scenario.py``
(1,002,000 keys, six big keys of 50 MB each).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from redisops.migrate.verify import VerifyOptions, run_verify
from tests.harness.redis_sources import SourceFactory, TargetFactory, fill_dataset

SCALE = int(os.environ.get("REDISOPS_MIGRATE_SCALE", "1"))
KEYS_PER_DB = 1000 * SCALE
BIG_VALUE_BYTES = 100
#: elements of each big key: 0.15 MB per scale step, at most 50 MB (500,000 x 100 bytes)
BIG_ELEMENTS = min(500_000, 1500 * SCALE)
REDISOPS = str(Path(sys.executable).parent / "redisops")


class Writer(threading.Thread):
    """Sets, deletes (also keys of the dataset), expires and grows the big keys in dbs 0-2 until stopped."""

    def __init__(self, source: Any) -> None:
        super().__init__(daemon=True)
        self.clients = [source.client(db) for db in (0, 1, 2)]
        self.halt = threading.Event()
        self.ops = 0

    def run(self) -> None:
        rng = random.Random(11)
        while not self.halt.is_set():
            db = rng.randrange(3)
            c = self.clients[db]
            i = rng.randrange(KEYS_PER_DB)
            roll = rng.random()
            if roll < 0.35:
                c.set(f"w:{i}", rng.randbytes(32))
            elif roll < 0.5:
                c.hset(f"wh:{i % 50}", f"f{i}", i)
            elif roll < 0.65:
                c.delete(f"w:{i}", f"mig:string:{db}:{i - i % 6:08d}", f"mig:hash:{db}:{i - i % 6 + 1:08d}")
            elif roll < 0.75:
                c.set(f"w:{i}", "short", px=rng.randrange(50, 500))
            elif roll < 0.85:
                self.clients[0].rpush("big:list", i)
            else:
                self.clients[0].zadd("big:zset", {f"w{i}": i})
            self.ops += 1
            time.sleep(0.001)


def _copied(ckpt: Path) -> int:
    try:
        data = json.loads(ckpt.read_text())
    except (OSError, ValueError):
        return 0
    return sum(e["counters"].get("copied", 0) for e in data["dbs"].values())


def _bulk_done(ckpt: Path, dbs: int) -> bool:
    try:
        data = json.loads(ckpt.read_text())
    except (OSError, ValueError):
        return False
    return len(data["dbs"]) >= dbs and all(e.get("done") for e in data["dbs"].values())


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@pytest.mark.slow
@pytest.mark.timeout(max(300, 30 * SCALE))
def test_large_scenario_killed_copy_resumes_follows_and_verifies(
    source_factory: SourceFactory, target_factory: TargetFactory, tmp_path: Path
) -> None:
    t0 = time.monotonic()
    # the rendered production config caps memory at 256mb with allkeys-lru: both sides get room instead
    src = source_factory(notify="KEA", maxmemory="0")
    tgt = target_factory(maxmemory="6gb")
    filled = fill_dataset(
        src.endpoint, keys_per_db=KEYS_PER_DB, big_key_elements=BIG_ELEMENTS, big_value_bytes=BIG_VALUE_BYTES
    )
    big_mb = {k.decode(): src.client().memory_usage(k) / 1e6 for k in src.client().keys("big:*")}
    print(f"\nfilled {filled.total} keys in {time.monotonic() - t0:.0f} s; big keys (MB): {big_mb}")
    assert len(big_mb) == 6 and min(big_mb.values()) >= min(50.0, 0.1 * SCALE), big_mb
    writer = Writer(src)
    writer.start()
    ckpt = tmp_path / "copy.ckpt"
    args = [REDISOPS, "migrate", "copy", "--source-url", f"redis://127.0.0.1:{src.endpoint.port}",
            "--url", f"redis://127.0.0.1:{tgt.endpoint.port}", "--checkpoint", str(ckpt),
            "--follow", "--notifications"]  # fmt: skip
    quiet = subprocess.DEVNULL
    first = subprocess.Popen([*args, "--ops-per-second", "3000", "-o", "json"], stdout=quiet, stderr=quiet)
    deadline = time.monotonic() + 600
    kill_at = min(1500, filled.total // 3)
    while time.monotonic() < deadline and first.poll() is None and _copied(ckpt) < kill_at:
        time.sleep(0.05)
    assert first.poll() is None and _copied(ckpt) > 0, "the copy ended or never checkpointed before the kill"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = _copied(ckpt)
    time.sleep(1)  # the writer goes on while no copy runs

    # resumed in text mode: the phase lines on stderr say when the follow runs
    t1 = time.monotonic()
    out_file, err_file = tmp_path / "resumed.out", tmp_path / "resumed.err"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        second = subprocess.Popen([*args, "--resume"], stdout=out, stderr=err)
        peak_kib = 0
        deadline = time.monotonic() + 7200
        bulk_seconds = 0.0
        while time.monotonic() < deadline and second.poll() is None:
            peak_kib = max(peak_kib, _hwm_kib(second.pid))
            if not bulk_seconds and _bulk_done(ckpt, 3):
                bulk_seconds = time.monotonic() - t1
            if "migrate copy: following" in err_file.read_text():  # after the resumed copy's SCAN pass
                break
            time.sleep(0.5)
        assert second.poll() is None, err_file.read_text()[-2000:]
        resync_seconds = time.monotonic() - t1 - bulk_seconds
        time.sleep(3)  # following while the writer writes
        writer.halt.set()
        writer.join()
        time.sleep(1)
        peak_kib = max(peak_kib, _hwm_kib(second.pid))
        second.send_signal(signal.SIGINT)  # Ctrl-C: the follow drains what is pending and reports
        second.wait(timeout=600)
    summary = out_file.read_text()
    assert second.returncode == 0, err_file.read_text()[-2000:]
    assert ", failed 0" in summary and "followed (notifications)" in summary, summary
    assert "resyncing" in err_file.read_text()  # the resumed copy's SCAN pass ran
    assert writer.ops > 100

    t2 = time.monotonic()
    report = run_verify(src.endpoint, tgt.endpoint, VerifyOptions(round_delay=0.5, in_flight_limit=1_000_000))
    print(
        f"killed after {killed_at} keys; resumed bulk {bulk_seconds:.0f} s, resync {resync_seconds:.0f} s; "
        f"writer ops {writer.ops}; peak RSS of the copy {peak_kib / 1024:.0f} MiB; verify "
        f"{time.monotonic() - t2:.0f} s: {report.summary()[:4]}\n{summary}"
    )
    assert report.ok, report.summary()
    # every in-flight key is named (none are expected once the writer stopped)
    assert report.in_flight_count == len(report.in_flight)
    assert not tgt.client().keys("*__redisops_migrate_tmp__*")
