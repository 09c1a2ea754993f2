"""``redisops migrate copy`` from the command line: a password-protected ElastiCache-like source, -o json,
--dry-run (exit 15 when the target cannot hold the data), --follow for a while, then ``migrate verify``
finds 0 differences; no password in any output or the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from redisops.cli.main import app
from tests.harness.redis_sources import assert_same_data, fill_dataset

SECRET = "copy-s3cret-token"
runner = CliRunner()


def test_copy_cli_json_dry_run_follow_and_verify(
    source_factory: Any, target_factory: Any, tmp_path: Path, _private_audit_log: Path
) -> None:
    src = source_factory(password=SECRET)
    tgt = target_factory()
    filled = fill_dataset(src.endpoint, keys_per_db=80, big_key_elements=500)
    env = {"REDISOPS_SOURCE_PASSWORD": SECRET}
    args = [
        "--source-url",
        f"redis://127.0.0.1:{src.endpoint.port}",
        "--url",
        f"redis://127.0.0.1:{tgt.endpoint.port}",
    ]

    plan = runner.invoke(app, ["migrate", "copy", *args, "--dry-run", "-o", "json"], env=env)
    assert plan.exit_code == 0, plan.output
    p = json.loads(plan.stdout)
    assert p["op"] == "migrate.copy" and not p["blocked"]
    assert sum(p["details"]["keys"].values()) == filled.total
    assert tgt.client().dbsize() == 0  # the dry run copied nothing

    ckpt = tmp_path / "copy.ckpt"
    r = runner.invoke(
        app,
        ["migrate", "copy", *args, "--big-key-mb", "0.01", "--checkpoint", str(ckpt), "--follow",
         "--follow-seconds", "1", "--no-notifications", "--pass-interval", "0.2", "-o", "json"],
        env=env,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["copy"]["copied"] + out["copy"]["expired"] + out["copy"]["vanished"] == filled.total
    assert out["copy"]["failed"] == 0 and out["copy"]["dbs"]["0"]["big_keys"] == 6
    assert out["follow"]["mode"] == "scan" and out["follow"]["passes"] >= 1
    assert out["follow"]["staleness_bound_seconds"] is not None
    assert_same_data(src.endpoint, tgt.endpoint, (0, 1, 2))

    text = runner.invoke(app, ["migrate", "copy", *args, "--db", "1"], env=env)
    assert text.exit_code == 0, text.output
    assert "skipped 80" in text.stdout and "BUSYKEY" in text.stdout

    verify = runner.invoke(app, ["migrate", "verify", *args, "--round-delay", "0", "-o", "json"], env=env)
    assert verify.exit_code == 0, verify.output

    audit = _private_audit_log.read_text()
    assert '"migrate.copy"' in audit
    for text_out in (plan.output, r.output, text.output, verify.output, audit):
        assert SECRET not in text_out


def test_copy_dry_run_refuses_a_target_that_cannot_hold_the_data(
    source_factory: Any, target_factory: Any
) -> None:
    src = source_factory()
    tgt = target_factory(maxmemory="3mb", policy="allkeys-lru")
    fill_dataset(src.endpoint, keys_per_db=100, dbs=(0,), big_key_types=("string",), big_key_elements=50_000)
    args = [
        "--source-url",
        f"redis://127.0.0.1:{src.endpoint.port}",
        "--url",
        f"redis://127.0.0.1:{tgt.endpoint.port}",
    ]
    r = runner.invoke(app, ["migrate", "copy", *args, "--dry-run"])
    assert r.exit_code == 15, r.output
    assert "BLOCKED" in r.output
    r = runner.invoke(app, ["migrate", "copy", *args, "-o", "json"])
    assert r.exit_code == 15, r.output
    assert tgt.client().dbsize() == 0
