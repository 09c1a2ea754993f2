"""``redisops migrate verify`` and ``migrate plan`` from the command line: a password-protected
ElastiCache-like source given by --source-url and $REDISOPS_SOURCE_PASSWORD (or a password file, or
the URL), exit 0 on equal data and 22 on stable differences, 15 for a blocked plan, -o json as one
object, and no password in any output or the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from redisops.cli.main import app
from tests.harness.redis_sources import fill_dataset

SECRET = "src-s3cret-token"
runner = CliRunner()


def _pair(source_factory: Any, target_factory: Any, **target: Any) -> tuple[Any, Any, list[str]]:
    source = source_factory(password=SECRET)
    dst = target_factory(**target)
    src_ep = source.endpoint
    fill_dataset(src_ep, keys_per_db=60, dbs=(0, 1), big_key_elements=1200)
    args = [
        "--source-url",
        f"redis://127.0.0.1:{src_ep.port}",
        "--url",
        f"redis://127.0.0.1:{dst.endpoint.port}",
    ]
    return source, dst, args


def _copy_by_dump(source: Any, target: Any) -> None:
    """The source's keys into the target with DUMP/RESTORE (the copy engine is tested elsewhere)."""
    for db in (0, 1):
        s, t = source.client(db), target.client(db)
        try:
            for key in s.scan_iter(count=1000):
                ttl = max(0, s.pttl(key))
                t.restore(key, ttl, s.dump(key), replace=True)
        finally:
            s.close()
            t.close()


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text


def test_verify_exit_codes_json_and_no_password_anywhere(
    source_factory: Any, target_factory: Any, _private_audit_log: Path
) -> None:
    source, target, args = _pair(source_factory, target_factory)
    _copy_by_dump(source, target)
    env = {"REDISOPS_SOURCE_PASSWORD": SECRET}

    ok = runner.invoke(app, ["migrate", "verify", *args, "--round-delay", "0", "-o", "json"], env=env)
    assert ok.exit_code == 0, (ok.stdout, ok.stderr)
    report = json.loads(ok.stdout)
    assert report["ok"] is True and report["total_differences"] == 0
    assert [c["db"] for c in report["counts"]] == [0, 1] and report["counts_match"] is True

    t = target.client(0)
    t.set("mig:extra-on-target", "x")
    t.close()
    bad = runner.invoke(app, ["migrate", "verify", *args, "--round-delay", "0", "-o", "json"], env=env)
    assert bad.exit_code == 22, (bad.stdout, bad.stderr)
    data = json.loads(bad.stdout)
    assert data["differences"]["extra"] == 1 and data["examples"][0]["key"] == "mig:extra-on-target"

    text = runner.invoke(app, ["migrate", "verify", *args, "--round-delay", "0", "--rounds", "2"], env=env)
    assert text.exit_code == 22
    assert "extra   db0 mig:extra-on-target" in text.stdout
    assert "error: 1 key differ" in text.stderr and "hint:" in text.stderr and "Traceback" not in text.stderr
    _no_secret(ok.stdout, ok.stderr, bad.stdout, bad.stderr, text.stdout, text.stderr)
    if _private_audit_log.exists():
        _no_secret(_private_audit_log.read_text())


def test_source_credentials_from_a_file_or_the_url_and_a_wrong_one(
    source_factory: Any, target_factory: Any, tmp_path: Path
) -> None:
    source, target, args = _pair(source_factory, target_factory)
    _copy_by_dump(source, target)
    pw = tmp_path / "source.pw"
    pw.write_text(SECRET + "\n")
    by_file = runner.invoke(
        app, ["migrate", "verify", *args, "--source-password-file", str(pw), "--rounds", "1", "-o", "json"]
    )
    assert by_file.exit_code == 0, (by_file.stdout, by_file.stderr)
    in_url = [args[0], args[1].replace("redis://", f"redis://:{SECRET}@"), *args[2:]]
    by_url = runner.invoke(app, ["migrate", "verify", *in_url, "--rounds", "1", "-o", "json"])
    assert by_url.exit_code == 0, (by_url.stdout, by_url.stderr)
    wrong = runner.invoke(
        app, ["migrate", "verify", *args, "--rounds", "1"], env={"REDISOPS_SOURCE_PASSWORD": "nope"}
    )
    assert wrong.exit_code == 5 and "REDISOPS_SOURCE_PASSWORD" in wrong.stderr
    none = runner.invoke(app, ["migrate", "verify", *args, "--rounds", "1"])
    assert none.exit_code == 5
    _no_secret(by_file.stdout, by_file.stderr, by_url.stdout, by_url.stderr, wrong.stderr)


def test_without_a_source_url_or_a_sandbox_source_it_asks_for_one(target_factory: Any) -> None:
    target = target_factory()
    out = runner.invoke(app, ["migrate", "verify", "--url", f"redis://127.0.0.1:{target.endpoint.port}"])
    assert out.exit_code == 6, (out.stdout, out.stderr)
    assert "no migration source" in out.stderr and "--source-url" in out.stderr


def test_plan_cli_exits_15_naming_the_shortfall(source_factory: Any, target_factory: Any) -> None:
    _, target, args = _pair(source_factory, target_factory, maxmemory="2mb", policy="allkeys-lru")
    env = {"REDISOPS_SOURCE_PASSWORD": SECRET}
    out = runner.invoke(app, ["migrate", "plan", *args, "--sample", "20", "-o", "json"], env=env)
    assert out.exit_code == 15, (out.stdout, out.stderr)
    plan = json.loads(out.stdout)
    assert plan["blocked"] is True and plan["blockers"][0]["code"] == "memory.evict"
    assert plan["versions"]["gap"] is False and plan["total_keys"] == 2 * 60 + 6
    text = runner.invoke(
        app, ["migrate", "plan", *args, "--sample", "0", "--notify-keyspace-events", ""], env=env
    )
    assert text.exit_code == 15
    assert "copying would silently evict keys" in text.stderr and "short by" in text.stderr
    assert "BLOCKER: copying would silently evict keys" in text.stdout
    assert "WARNING: keyspace notifications are off" in text.stdout and "KEA" in text.stdout
    _no_secret(out.stdout, out.stderr, text.stdout, text.stderr)
    t = target.client(0)
    try:
        assert t.dbsize() == 0  # the plan wrote nothing
    finally:
        t.close()
