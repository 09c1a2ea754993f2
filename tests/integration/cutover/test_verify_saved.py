"""``migrate verify`` on its own (no cutover) saves its report where ``elasticache decommission``'s
verify rail looks: a clean verify passes the rail, a verify with differences does not (the rail names
how many), and before any verify the rail refuses for want of a report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.aws._cli import cli, cli_json

pytestmark = pytest.mark.slow


def _dry_run(state: Path) -> dict[str, Any]:
    """``elasticache decommission --dry-run -o json`` (blocked here by the other rails: exit 15)."""
    args = ("elasticache", "decommission", "--dry-run", "--rollback-window-hours", "0", "-o", "json")
    proc = cli(state, *args, check=False)
    assert proc.returncode == 15, proc.stdout + proc.stderr
    return dict(json.loads(proc.stdout))


def _verify_blockers(plan: dict[str, Any]) -> list[str]:
    return [b for b in plan["blockers"] if b.startswith("[verify]")]


def test_migrate_verify_alone_feeds_the_decommission_verify_rail(state: Path) -> None:
    up = cli_json(state, "sandbox", "up")
    source_port = up["services"]["source"]["port"]
    cli_json(state, "migrate", "copy")
    before = _dry_run(state)
    assert [b.startswith("[verify] no saved verify report") for b in _verify_blockers(before)] == [True]

    report = cli_json(state, "migrate", "verify", "--rounds", "1")
    assert sum(report["differences"].values()) == 0
    saved = sorted((state / "migrate").glob("verify-*.json"))
    assert len(saved) == 1 and oct(saved[0].stat().st_mode & 0o777) == "0o600"
    doc = json.loads(saved[0].read_text())
    assert doc["ok"] and doc["differences"] == 0 and doc["source"] == f"127.0.0.1:{source_port}"
    clean = _dry_run(state)
    assert _verify_blockers(clean) == []
    assert clean["details"]["rails"]["verify"].startswith(f"ok: {saved[0]}, 0 differences")

    # a key only on the source: the verify exits 22, its report is saved, and the rail refuses
    redis.Redis(port=source_port).set("only-on-the-source", "x")
    proc = cli(state, "migrate", "verify", "--rounds", "1", "-o", "json", check=False)
    assert proc.returncode == 22, proc.stdout + proc.stderr
    assert len(list((state / "migrate").glob("verify-*.json"))) == 2
    dirty = _verify_blockers(_dry_run(state))
    assert len(dirty) == 1 and "found 1 difference(s)" in dirty[0], dirty
