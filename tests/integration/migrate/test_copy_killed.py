"""A copy whose process is killed (SIGKILL: no cleanup runs) resumes from its checkpoint and ends with the
same data as an uninterrupted copy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisops.cli.main import app
from tests.harness.redis_sources import SourceFactory, TargetFactory, assert_same_data, fill_dataset

REDISOPS = str(Path(sys.executable).parent / "redisops")


@pytest.mark.slow
def test_killed_copy_resumes(
    source_factory: SourceFactory, target_factory: TargetFactory, tmp_path: Path
) -> None:
    src, tgt = source_factory(), target_factory()
    filled = fill_dataset(src.endpoint, keys_per_db=600, big_key_elements=1000)
    ckpt = tmp_path / "copy.ckpt"
    args = ["migrate", "copy", "--source-url", f"redis://127.0.0.1:{src.endpoint.port}",
            "--url", f"redis://127.0.0.1:{tgt.endpoint.port}", "--checkpoint", str(ckpt),
            "--batch-size", "100", "--big-key-mb", "0.05"]  # fmt: skip
    # throttled so that it is still running when killed
    quiet = subprocess.DEVNULL
    proc = subprocess.Popen([REDISOPS, *args, "--ops-per-second", "2000", "-o", "json"],
                            stdout=quiet, stderr=quiet, env={**os.environ})  # fmt: skip
    deadline = time.monotonic() + 60
    progressed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt.exists():
            data = json.loads(ckpt.read_text())
            if sum(e["counters"].get("copied", 0) for e in data["dbs"].values()) > 200:
                progressed = True
                break
        time.sleep(0.05)
    assert progressed and proc.poll() is None, "the copy ended or never checkpointed before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    partial = tgt.client().dbsize() + tgt.client(1).dbsize() + tgt.client(2).dbsize()
    assert 0 < partial < filled.total

    r = CliRunner().invoke(app, [*args, "--resume", "-o", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["copy"]["resumed"] and out["copy"]["failed"] == 0
    # counted once over both runs: the keys of the batch in flight at the kill show up as BUSYKEY skips
    total = out["copy"]["copied"] + out["copy"]["expired"] + out["copy"]["vanished"]
    assert filled.total <= total + out["copy"]["skipped"] and total <= filled.total
    assert_same_data(src.endpoint, tgt.endpoint, (0, 1, 2))
    assert not tgt.client().keys("*__redisops_migrate_tmp__*")
