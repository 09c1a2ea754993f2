"""Backup freshness and restore drills in the health report: StoreProbe on a real store (moto S3 over
HTTP), backups streamed from real redis-server processes, drills restored into real scratch servers.

Defined behaviour: a readable store without a verified backup makes ``backup_age`` **warn** (there is
nothing to restore; "unknown" would hide that); a store that cannot be read makes ``backup_age`` and
``drill`` **unknown** with the reason. No drill recorded = warn; a failed drill = crit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.local import free_port
from redisops.adapters.s3 import AwsCredentials
from redisops.config import BackupTarget, DeploymentConfig
from redisops.health import HealthReport, Status, Thresholds
from redisops.ops.backup import create_rdb_backup, open_store
from redisops.ops.health import run_health
from redisops.ops.health_probes import StoreProbe, fail_fast
from redisops.ops.restore import last_drill, run_drill

NO_RESTART = Thresholds(restart_warn_s=0)
REDISOPS = str(Path(sys.executable).parent / "redisops")


@pytest.fixture
def store(s3_bucket: str, s3_endpoint: Any) -> Any:
    return open_store(
        BackupTarget(bucket=s3_bucket),
        "redis",
        endpoint_url=s3_endpoint.url,
        credentials=AwsCredentials("testing", "testing"),
    )


def health(inst: Any, probe: StoreProbe) -> HealthReport:
    return run_health(inst.endpoint, inst.config, NO_RESTART, probe)


def seed(inst: Any, n: int = 200) -> None:
    c = inst.client()
    c.mset({f"k:{i}": f"v{i}" for i in range(n)})
    c.close()


def test_empty_store_warns_for_backup_and_drill(redis_server: Any, store: Any) -> None:
    report = health(redis_server, StoreProbe(store))
    age = report.get("backup_age")
    assert age.status is Status.WARN and age.value is None and age.category == "backup"
    assert age.reason is not None and "no backup in" in age.reason and "(source redis)" in age.reason
    assert "redisops backup create" in age.hint
    drill = report.get("drill")
    assert drill.status is Status.WARN and "redisops backup drill" in drill.hint
    assert drill.source == "team policy (issue 5): drills on a schedule"
    # the Kubernetes checks stay unknown (no adapter here)
    assert report.get("pod").status is Status.UNKNOWN
    assert report.exit_code() == 20


def test_backup_age_ok_then_warn_after_24h_and_crit_after_48h(redis_server: Any, store: Any) -> None:
    seed(redis_server)
    m = create_rdb_backup(redis_server.endpoint, store)
    assert m.verified
    fresh = health(redis_server, StoreProbe(store)).get("backup_age")
    assert fresh.status is Status.OK and 0 <= fresh.value < 60
    assert fresh.reason == f"newest verified backup: {m.id}"

    day = health(redis_server, StoreProbe(store, now=m.created_at + timedelta(hours=25))).get("backup_age")
    assert day.status is Status.WARN and day.value == 25 * 3600
    two = health(redis_server, StoreProbe(store, now=m.created_at + timedelta(hours=49))).get("backup_age")
    assert two.status is Status.CRIT and two.value == 49 * 3600
    assert two.source.startswith("awesome-prometheus-alerts")


def test_unreachable_store_is_unknown_with_reason_and_fast(redis_server: Any) -> None:
    dead = fail_fast(
        open_store(
            BackupTarget(bucket="redisops-nowhere"),
            "redis",
            endpoint_url=f"http://127.0.0.1:{free_port()}",
            credentials=AwsCredentials("testing", "testing"),
        )
    )
    t0 = time.monotonic()
    report = health(redis_server, StoreProbe(dead))
    assert time.monotonic() - t0 < 20
    for name in ("backup_age", "drill"):
        check = report.get(name)
        assert check.status is Status.UNKNOWN, name
        assert check.reason is not None and check.reason.startswith("backup store not readable"), check.reason
    assert report.get("ping").status is Status.OK  # the Redis checks are unaffected


def test_drill_none_then_ok_then_old_then_failed(redis_server: Any, store: Any) -> None:
    seed(redis_server)
    m = create_rdb_backup(redis_server.endpoint, store)
    assert health(redis_server, StoreProbe(store)).get("drill").status is Status.WARN

    d = run_drill(store, "latest", cfg=DeploymentConfig())
    assert d.ok, d.problem
    drill = health(redis_server, StoreProbe(store)).get("drill")
    assert drill.status is Status.OK, drill.hint
    assert drill.value["backup_id"] == m.id and drill.value["ok"] is True
    assert drill.value["rto_seconds"] == pytest.approx(d.rto_seconds, abs=0.01)

    later = StoreProbe(store, now=d.at + timedelta(days=8))
    old = health(redis_server, later).get("drill")
    assert old.status is Status.WARN and "days old" in old.hint
    assert old.threshold is not None and "older than 7 d" in old.threshold
    relaxed = StoreProbe(store, now=d.at + timedelta(days=8), thresholds=Thresholds(drill_warn_days=10))
    assert health(redis_server, relaxed).get("drill").status is Status.OK

    # a real failing drill: the backup's RDB object rots in the bucket, the drill's restore refuses it
    (obj,) = m.objects
    key = store.layout.object_key(store.source, m.id, obj.name)
    store.s3.put_bytes(key, b"\0" * obj.size)
    failed = run_drill(store, m.id, cfg=DeploymentConfig())
    assert not failed.ok and failed.problem
    record = last_drill(store)
    assert record is not None and record["ok"] is False
    crit = health(redis_server, StoreProbe(store)).get("drill")
    assert crit.status is Status.CRIT and "failed" in crit.hint
    assert crit.value["ok"] is False


def test_cli_health_json_shows_backup_checks(
    redis_server: Any, s3_bucket: str, s3_endpoint: Any, tmp_state: Path, tmp_path: Path
) -> None:
    seed(redis_server)
    config = tmp_path / "deploy.yaml"
    config.write_text(
        f"backup:\n  bucket: {s3_bucket}\n  endpoint_url: {s3_endpoint.url}\n  force_path_style: true\n"
    )
    limits = tmp_path / "thresholds.yaml"
    limits.write_text("restart_warn_s: 0\n")
    store = open_store(
        BackupTarget(bucket=s3_bucket),
        "redis",
        endpoint_url=s3_endpoint.url,
        credentials=AwsCredentials("testing", "testing"),
    )
    create_rdb_backup(redis_server.endpoint, store)
    env = {
        **os.environ,
        "REDISOPS_STATE_DIR": str(tmp_state),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    base = [REDISOPS, "health", "--url", f"redis://127.0.0.1:{redis_server.endpoint.port}"]
    base += ["--config", str(config), "--thresholds", str(limits)]

    done = subprocess.run([*base, "-o", "json"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 20, done.stderr  # the drill warns: none recorded yet
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["backup_age"]["status"] == "ok" and checks["backup_age"]["category"] == "backup"
    assert checks["backup_age"]["reason"].startswith("newest verified backup: ")
    assert checks["drill"]["status"] == "warn" and "redisops backup drill" in checks["drill"]["hint"]
    assert checks["pod"]["status"] == "unknown"

    table = subprocess.run(base, capture_output=True, text=True, timeout=60, env=env)
    assert table.returncode == 20 and "backup_age" in table.stdout and "drill" in table.stdout

    off = subprocess.run(
        [*base, "--no-backups", "-o", "json"], capture_output=True, text=True, timeout=60, env=env
    )
    assert off.returncode == 0, off.stderr
    checks = {c["name"]: c for c in json.loads(off.stdout)["checks"]}
    assert checks["backup_age"]["status"] == checks["drill"]["status"] == "unknown"
    assert checks["drill"]["reason"] == "no backup store configured"


def test_cli_default_is_off_without_a_store(redis_server: Any, tmp_state: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDISOPS_S3_")}
    env["REDISOPS_STATE_DIR"] = str(tmp_state)
    done = subprocess.run(
        [REDISOPS, "health", "--url", f"redis://127.0.0.1:{redis_server.endpoint.port}", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["backup_age"]["reason"] == "no backup store configured"
    assert checks["drill"]["status"] == "unknown"


def test_drill_record_times_are_timezone_aware(store: Any, redis_server: Any) -> None:
    """The probe judges a drill's ``at`` (ISO with Z) against an aware ``now`` without raising."""
    seed(redis_server, 10)
    create_rdb_backup(redis_server.endpoint, store)
    run_drill(store, "latest", cfg=DeploymentConfig())
    (check,) = StoreProbe(store, now=lambda: datetime.now(UTC)).drill_checks()
    assert check.status is Status.OK and check.value["age_s"] < 120
