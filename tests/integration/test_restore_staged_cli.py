"""``restore-data-dir --stage-only`` / ``--install-staged``: the two Jobs of a Kubernetes restore that
stages beside the running Redis, run for real as two separate processes on a real data dir.

The staging process runs while a real redis-server serves from the data dir (it writes only its staging
folder, the server keeps its data and its pid); the install process, with the server stopped, installs
what the staging left without downloading again; the restarted server holds the backup's keys. An
install under an id nothing was staged under, or of another backup, is refused with the data dir
unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.restore_local import wait_loaded
from redisops.restore import RECORD_NAME, STAGING_PREFIX
from tests.harness.snapshots import dir_state
from tests.integration.test_restore_ops import _backup_via_cli, _cli, _job_env

SPEC = DatasetSpec(keys_per_db=80, dbs=(0, 3), value_bytes=128, elements=3, ttl_fraction=0)
BEFORE = DatasetSpec(keys_per_db=12, dbs=(0,), prefix="before", ttl_fraction=0)


def _dbsizes(ep: Any) -> dict[int, int]:
    return {db: ks.keys for db, ks in wait_loaded(ep).keyspace.items() if ks.keys}


def _settled(target: Any) -> dict[str, str]:
    """The data dir's files once the server has written its AOF buffer."""
    import time

    c = target.client()
    try:
        deadline = time.monotonic() + 30
        while int(c.info("persistence").get("aof_buffer_length", 0)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        c.close()
    return {k: v for k, v in dir_state(target.data_dir).items() if not k.startswith(STAGING_PREFIX)}


def test_stage_only_beside_the_running_server_then_install_staged(
    redis_server: Any, redis_factory: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path
) -> None:
    populate(redis_server.endpoint, SPEC, seed=21)
    env = _job_env(s3_endpoint, s3_bucket, tmp_path)
    made = _backup_via_cli(redis_server, env)
    target = redis_factory({"config": {"save": ""}}, name="pvc")  # AOF only: files change only by us
    populate(target.endpoint, BEFORE, seed=22)
    pid = target.process.pid
    before = _settled(target)
    data = str(target.data_dir)

    staged = _cli(
        env, "restore-data-dir", "--backup", made["id"], "--data-dir", data,
        "--stage-only", "--operation-id", "op1stage", "-o", "json",
    )  # fmt: skip
    assert staged.returncode == 0, staged.stdout + staged.stderr
    doc = json.loads(staged.stdout)
    assert doc["operation_id"] == "op1stage" and doc["backup_id"] == made["id"]
    assert doc["bytes_staged"] == sum(o["size"] for o in made["objects"])
    # beside the running server: the same process serves the same keys; only the staging folder is new
    assert target.process.pid == pid and _dbsizes(target.endpoint) == {0: 12}
    assert _settled(target) == before
    assert (target.data_dir / f"{STAGING_PREFIX}op1stage" / "staged.json").is_file()
    assert not (target.data_dir / RECORD_NAME).exists()

    # an id nothing was staged under, and a backup other than the staged one: refused, nothing changes
    target.process.stop()
    stopped = dir_state(target.data_dir)
    wrong = _cli(env, "restore-data-dir", "--backup", made["id"], "--data-dir", data,
                 "--install-staged", "nothere", "-o", "json")  # fmt: skip
    assert wrong.returncode == 7 and "nothing staged" in json.loads(wrong.stdout)["message"]
    both = _cli(env, "restore-data-dir", "--backup", made["id"], "--data-dir", data,
                "--install-staged", "op1stage", "--stage-only", "-o", "json")  # fmt: skip
    assert both.returncode == 3, both.stdout
    assert dir_state(target.data_dir) == stopped

    # with the server stopped: install what was staged (no download), start, the backup's keys
    installed = _cli(env, "restore-data-dir", "--backup", made["id"], "--data-dir", data,
                     "--install-staged", "op1stage", "-o", "json")  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    res = json.loads(installed.stdout)
    assert res["operation_id"] == "op1stage" and res["moved_aside"]
    assert not list(target.data_dir.glob(f"{STAGING_PREFIX}*"))
    target.restart()
    assert _dbsizes(target.endpoint) == {0: 80, 3: 80}
