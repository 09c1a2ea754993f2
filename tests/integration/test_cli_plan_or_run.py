"""The CLI's one dry-run-or-run path, ``redisops.cli._oprun.plan_or_run``, on a real target: a backup
store in a real moto S3 bucket, the catalogue's ``backup.delete`` (destructive) planned and run.

A dry run prints the plan (``-o json``: only the plan) and changes nothing; a blocked plan exits 15
before anything is asked; without ``--yes`` and no terminal the plan is shown and the run refused
(exit 10); with the question answered the run does the plan that was shown (the audit line holds it).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer

from redisops.adapters.s3 import AwsCredentials, S3Adapter, S3Settings
from redisops.backup import BackupStore, Layout
from redisops.cli._oprun import Line, plan_or_run
from redisops.cli.common import Output
from redisops.errors import AbortedError, PlanBlocked
from redisops.ops.target import resolve_target
from tests.harness.plugin import S3Endpoint

T0 = datetime(2026, 11, 25, 15, 53, 21, tzinfo=UTC)
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _store(ep: S3Endpoint, bucket: str) -> BackupStore:
    settings = S3Settings(bucket=bucket, endpoint_url=ep.url, force_path_style=True,
                          credentials=AwsCredentials("testing", "testing"), max_attempts=2)  # fmt: skip
    return BackupStore(Layout(), S3Adapter(settings), "redis", host="test-host")


def _put(store: BackupStore, at: datetime) -> str:
    with store.begin("rdb", at) as w:
        w.write_bytes("dump.rdb", b"x")
        return w.commit(now=at + timedelta(seconds=1), key_counts={0: {"keys": 3}}).id


@pytest.fixture
def setup(tmp_path: Path, s3_endpoint: S3Endpoint, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    config = tmp_path / "deploy.yaml"
    config.write_text(
        f"service_name: redis\nbackup:\n  bucket: {s3_bucket}\n  endpoint_url: {s3_endpoint.url}\n"
        "  force_path_style: true\n"
    )
    store = _store(s3_endpoint, s3_bucket)
    old, new = _put(store, T0), _put(store, T0 + timedelta(hours=1))
    t = resolve_target(url="redis://127.0.0.1:1", config=config, state_dir=tmp_path / "none", env=ENV)
    return t, store, old, new


def _audit() -> list[dict[str, Any]]:
    path = Path(os.environ["REDISOPS_AUDIT_LOG"])
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _ids(store: BackupStore) -> list[str]:
    return [m.id for m in store.list()]


def test_a_dry_run_prints_the_plan_and_changes_nothing(
    setup: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    t, store, old, new = setup
    params = {"backup_id": old}
    assert plan_or_run(t, "backup.delete", params, Output.text, dry_run=True, question="q?") is None
    out = capsys.readouterr().out
    assert out.startswith("plan (backup.delete):\n") and old in out
    assert all(len(line) <= 80 for line in out.splitlines())  # not a terminal: 80 columns
    assert plan_or_run(t, "backup.delete", params, Output.json, dry_run=True, title="ignored") is None
    plan = json.loads(capsys.readouterr().out)  # one JSON object: the plan
    assert plan["op"] == "backup.delete" and plan["blocked"] is False
    # the text wrapped the long step on words (JSON keeps it whole): the same words, in order
    step = plan["steps"][0]
    assert len("  " + step) > 80 and step not in out and " ".join(step.split()) in " ".join(out.split())
    # a command's own lines and title
    plan_or_run(t, "backup.delete", params, Output.text, dry_run=True, lines=lambda p: [Line(f"mine {p.op}")])
    assert capsys.readouterr().out == "mine backup.delete\n"
    plan_or_run(t, "backup.delete", params, Output.text, dry_run=True, title="delete it:")
    assert capsys.readouterr().out.startswith("delete it:\n  ")
    assert _ids(store) == [new, old] and _audit() == []


def test_a_blocked_plan_exits_15_before_anything_is_asked(
    setup: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    t, store, old, new = setup
    params = {"backup_id": "20261125T000000Z-0000"}  # no such backup: the real run would refuse
    with pytest.raises(typer.Exit) as exit_:
        plan_or_run(t, "backup.delete", params, Output.json, dry_run=True)
    assert exit_.value.exit_code == 15
    assert json.loads(capsys.readouterr().out)["blocked"] is True  # the plan is the only output
    with pytest.raises(PlanBlocked, match="the real run would refuse"):
        plan_or_run(t, "backup.delete", params, Output.text, dry_run=True)
    assert "BLOCKED: " in capsys.readouterr().out
    with pytest.raises(PlanBlocked):  # a real run: refused before the question (no terminal: not exit 10)
        plan_or_run(t, "backup.delete", params, Output.text, dry_run=False, question="delete it?")
    assert _ids(store) == [new, old] and _audit() == []


def test_the_run_asks_and_does_the_plan_it_showed(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    t, store, old, new = setup
    params = {"backup_id": old}
    asked: list[str] = []

    def question(plan: Any) -> str:
        asked.append(plan.op)
        return f"delete {plan.details.get('backup_id', old)}?"

    # no --yes and no terminal to answer: the plan is shown, then AbortedError (exit 10), nothing deleted
    with pytest.raises(AbortedError, match=f"confirmation required: delete {old}"):
        plan_or_run(t, "backup.delete", params, Output.text, dry_run=False, question=question)
    assert asked == ["backup.delete"] and "plan (backup.delete):" in capsys.readouterr().out
    assert _ids(store) == [new, old] and _audit() == []

    # the plan the command made is shown (stderr: aside), and the run does it
    shown = t.plan("backup.delete", params)
    res = plan_or_run(t, "backup.delete", params, Output.text, dry_run=False, yes=True, question=question,
                      plan=shown, aside=True, label="")  # fmt: skip
    captured = capsys.readouterr()
    assert res.backup_id == old and _ids(store) == [new]
    assert "plan (backup.delete):" in captured.err and "plan (backup.delete)" not in captured.out
    (line,) = _audit()
    assert line["op"] == "backup.delete" and line["plan"] == json.loads(json.dumps(shown.to_dict()))


def test_yes_without_a_plan_runs_planned_by_the_catalogue(
    setup: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    t, store, old, new = setup
    res = plan_or_run(t, "backup.delete", {"backup_id": old}, Output.json, dry_run=False, yes=True,
                      question=lambda plan: "never asked")  # fmt: skip
    assert res.backup_id == old and _ids(store) == [new]
    assert capsys.readouterr().out == ""  # JSON: the command prints the result, the helper nothing
    assert [x["outcome"] for x in _audit()] == ["ok"]
