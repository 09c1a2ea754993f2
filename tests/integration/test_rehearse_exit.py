"""What ``redisops rehearse`` exits with when a step fails (its ``--help`` says so): 1, whichever step
failed; the failing runbook's own exit code (30-35) is in its row of ``-o json``'s ``runbooks``.

Real parts: the sandbox in this test's state dir; the failing runbook is a ``./runbooks`` file that
shadows the shipped migration runbook (``./runbooks`` is searched first), whose read step exits 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisops.cli.main import app
from redisops.ops.sandbox import sandbox_down

FAILING = """---
title: A migration that fails at once
target: sandbox
variables:
  follow_seconds: {type: float, default: 1.0}
  poll_interval: {type: float, default: 0.2}
---
```sh {"name":"broken","kind":"read"}
exit 3
```
"""


@pytest.mark.slow
def test_rehearse_exits_1_when_a_runbook_step_fails(
    tmp_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = tmp_path / "cwd" / "runbooks"
    books.mkdir(parents=True)
    (books / "migrate-elasticache-to-k8s.md").write_text(FAILING)
    monkeypatch.chdir(books.parent)
    try:
        out = CliRunner().invoke(app, ["rehearse", "-o", "json"])
        assert out.exit_code == 1, out.output
        report = json.loads(out.stdout)
        assert report["ok"] is False
        assert [(b["name"], b["exit_code"]) for b in report["runbooks"]] == [
            ("migrate-elasticache-to-k8s", 30)
        ]
        failed = [s["name"] for s in report["steps"] if not s["ok"]]
        assert failed == ["migrate-elasticache-to-k8s: broken"]
        help_text = " ".join(CliRunner().invoke(app, ["rehearse", "--help"]).stdout.split())
        assert "exit 1 when any step fails" in help_text and "30-35" in help_text
    finally:
        sandbox_down(tmp_state, discard_backups=True)
