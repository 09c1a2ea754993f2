"""The two health checks that need more than a command to provoke, against real redis-server processes.

``aof``: the server's data dir is a 2 MiB tmpfs; writes fill it until the AOF cannot grow (ENOSPC),
Redis sets ``aof_last_write_status:err`` and refuses writes with MISCONF, and the check is crit.
Mounting needs root (CAP_SYS_ADMIN); without it the test is skipped with the mount error.

``fork_cost``: a real BGSAVE of a real dataset gives a real ``latest_fork_usec``; thresholds set
around the measured speed grade it warn, then crit, and the defaults grade the same fork ok.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from redisops.health import CHECKS, Status, Thresholds
from redisops.ops.health import run_health

NO_RESTART = Thresholds(restart_warn_s=0)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted under tmp_path (lazily unmounted at teardown); skips when mount is refused."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root (CAP_SYS_ADMIN); tests run as a user")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (mount exit {done.returncode}): {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


def test_aof_write_error_on_a_full_disk_is_crit(small_tmpfs: Path, redis_factory: Any) -> None:
    # production persistence (appendonly yes, appendfsync everysec, save points) with dir on the tmpfs
    inst = redis_factory(extra={"dir": str(small_tmpfs)}, name="aof-full")
    c = inst.client()
    assert inst.client(decode=True).config_get("dir") == {"dir": str(small_tmpfs)}
    before = run_health(inst.endpoint, inst.config, NO_RESTART)
    assert before.get("aof").status is Status.OK
    assert before.get("aof").value["aof_last_write_status"] == "ok"

    refused: str | None = None
    for i in range(2000):  # 2000 x 10 kB = 20 MB, ten times the tmpfs
        try:
            c.set(f"fill:{i}", b"x" * 10_000)
        except redis.ResponseError as e:
            refused = str(e)
            break
    assert refused is not None and refused.startswith("MISCONF"), refused
    assert "No space left on device" in refused
    assert c.info("persistence")["aof_last_write_status"] == "err"

    report = run_health(inst.endpoint, inst.config, NO_RESTART)
    aof = report.get("aof")
    assert aof.status is Status.CRIT
    assert aof.value["aof_last_write_status"] == "err" and aof.value["aof_enabled"] in (1, True)
    assert "aof_last_write_status" in aof.hint
    # every other check still ran on the same server
    assert {spec.name for spec in CHECKS} <= {ch.name for ch in report.checks}
    redis_checks = [ch for ch in report.checks if ch.category in ("redis", "config")]
    assert all(ch.status is not Status.UNKNOWN for ch in redis_checks if ch.name != "aof"), [
        (ch.name, ch.reason) for ch in redis_checks if ch.status is Status.UNKNOWN
    ]
    # Redis refuses PING too while it cannot persist (so probes notice): the ping check says why
    ping = report.get("ping")
    assert ping.status is Status.CRIT and ping.reason is not None and "MISCONF" in ping.reason
    assert report.get("memory").status is Status.OK and report.get("rdb_save").status is Status.OK
    assert report.exit_code() == 21
    # the full disk also blocks the shutdown save: stop without one (else SIGTERM waits for SIGKILL)
    with contextlib.suppress(redis.ConnectionError):
        c.shutdown(nosave=True)


def _bgsave(c: Any) -> dict[str, Any]:
    """BGSAVE and wait until it finished; the INFO after it."""
    before = c.info("persistence")["rdb_last_save_time"]
    c.bgsave()
    deadline = time.monotonic() + 30
    while True:
        info = c.info()
        done = not info["rdb_bgsave_in_progress"] and info["rdb_last_save_time"] >= before
        if done and info["latest_fork_usec"] > 0 and info["rdb_last_bgsave_status"] == "ok":
            return dict(info)
        assert time.monotonic() < deadline, "BGSAVE did not finish in 30 s"
        time.sleep(0.05)


def test_fork_cost_grades_a_real_fork(redis_factory: Any) -> None:
    inst = redis_factory(extra={"enable-debug-command": "yes"}, name="fork")
    c = inst.client()
    c.execute_command("DEBUG", "POPULATE", 300_000, "fork", 64)  # ~ 40 MB of real keys
    info = _bgsave(c)
    usec, used = int(info["latest_fork_usec"]), int(info["used_memory"])
    assert used > 20 * 1024 * 1024
    gbps = used * 1_000_000 / usec / 1024**3  # LATENCY DOCTOR's fork rate

    ok = run_health(inst.endpoint, inst.config, NO_RESTART).get("fork_cost")
    assert ok.status is Status.OK, (ok.value, ok.hint)  # a fast fork of a small dataset
    assert ok.value["latest_fork_usec"] == usec  # the real measurement, no fork since

    judged = dataclasses.replace(NO_RESTART, fork_min_usec=0)  # judge forks of any duration
    warn = run_health(
        inst.endpoint,
        inst.config,
        dataclasses.replace(judged, fork_poor_gbps=gbps * 2, fork_terrible_gbps=gbps / 2),
    ).get("fork_cost")
    assert warn.status is Status.WARN, (gbps, warn.value)
    assert warn.value["latest_fork_usec"] == usec
    assert warn.value["gb_per_sec"] == pytest.approx(gbps, rel=0.2)
    assert "poor" in warn.hint

    crit = run_health(
        inst.endpoint,
        inst.config,
        dataclasses.replace(judged, fork_poor_gbps=gbps * 4, fork_terrible_gbps=gbps * 2),
    ).get("fork_cost")
    assert crit.status is Status.CRIT and "terrible" in crit.hint

    # the minimum duration is judged on the real value too: a fork shorter than it is not graded
    short = dataclasses.replace(
        NO_RESTART, fork_min_usec=usec + 1, fork_poor_gbps=gbps * 4, fork_terrible_gbps=gbps * 2
    )
    gated = run_health(inst.endpoint, inst.config, short).get("fork_cost")
    assert gated.status is Status.OK and "last fork took" in gated.hint
