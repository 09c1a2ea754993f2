"""The migration runbook against a source that is NOT the sandbox's: ``-v source_url=...`` and
``-v source_password_file=...`` reach every ``migrate.*`` cell (optional variables: unset, the
operation's own default - the sandbox's source - applies). Through the CLI, as an operator runs it:
plan, copy and verify (``--step``) move a password-protected ElastiCache-like source's keys to the
sandbox's target, none of the sandbox source's, and the password appears in no output, journal, report
or state. Also: optional variables in a small runbook (left out of an operation's arguments,
unset in a shell step, null in a condition), and an approved mutating operation step run with the
operation's confirmation (``migrate.rollback`` with ``copy_back`` refuses without it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.adapters.redis_conn import connect
from redisops.cli.main import app
from redisops.ops.sandbox import SandboxState
from redisops.runbooks import Executor, lint_text, parse_runbook, read_runbook
from tests.harness.redis_sources import source_factory
from tests.integration.runbooks.shared import BOOKS, book_env, module_sandbox, sb

__all__ = ["module_sandbox", "sb", "source_factory"]  # fixtures

pytestmark = pytest.mark.slow

PASSWORD = "es-Source-Secret-4417-auth"
F = "```"


def _run(*args: str) -> tuple[int, dict[str, Any], str]:
    res = CliRunner().invoke(app, ["runbook", "run", str(BOOKS / "migrate-elasticache-to-k8s.md"), *args])
    text = res.output
    return res.exit_code, json.loads(text) if text.strip().startswith("{") else {}, text


def test_migrate_runbook_plan_copy_verify_from_a_given_source_with_a_password(
    sb: SandboxState, source_factory: Any, tmp_path: Path
) -> None:
    es = source_factory(password=PASSWORD, name="real-es")
    src = es.client()
    for i in range(40):
        src.set(f"real:{i}", i)
    src.hset("real:session", mapping={"a": "1"})
    src.set("real:ttl", "x", ex=3600)
    sandbox_src = connect(sb.source)
    sandbox_src.set("sandbox-only:never-copied", "1")
    target = connect(sb.target, decode_responses=True)
    target.flushall()
    pw_file = tmp_path / "es.pw"
    pw_file.write_text(PASSWORD + "\n")
    pw_file.chmod(0o600)
    given = [
        "-v",
        f"source_url=redis://127.0.0.1:{es.endpoint.port}",
        "-v",
        f"source_password_file={pw_file}",
    ]

    outputs: list[str] = []
    runs: list[dict[str, Any]] = []
    for step, flags in (("plan", []), ("copy", ["--yes"]), ("verify", [])):
        code, out, text = _run("--step", step, *flags, *given, "-o", "json")
        outputs.append(text)
        assert code == 0, text
        assert [(s["name"], s["status"]) for s in out["steps"]] == [(step, "ok")], text
        runs.append(out)
    plan, copy, verify = (r["steps"][0]["result"] for r in runs)
    assert plan["total_keys"] == 42  # the given source's, not the sandbox's
    assert copy["copy"]["failed"] == 0 and verify["ok"] is True
    assert set(target.keys("*")) == {f"real:{i}" for i in range(40)} | {"real:session", "real:ttl"}
    assert target.get("real:7") == "7" and 0 < target.ttl("real:ttl") <= 3600
    assert not target.exists("sandbox-only:never-copied")

    # the password: in no output, journal, report or state (the file's path is fine)
    for run in runs:
        run_dir = Path(run["journal"]).parent
        files = sorted(run_dir.iterdir())
        assert {f.name for f in files} >= {"journal.jsonl", "report.md", "state.json"}
        for f in files:
            assert PASSWORD not in f.read_text(), f
        assert str(pw_file) in (run_dir / "journal.jsonl").read_text()  # the path reached the operation
    assert not any(PASSWORD in text for text in outputs)
    sandbox_src.delete("sandbox-only:never-copied")


def test_without_source_variables_the_sandbox_source_is_used(sb: SandboxState) -> None:
    src = connect(sb.source)
    src.flushall()
    src.set("sandbox:only", "1")
    result = Executor(read_runbook(BOOKS / "migrate-elasticache-to-k8s.md"), env=book_env()).run(step="plan")
    steps = {s.name: s for s in result.steps}
    assert steps["plan"].status == "ok" and steps["plan"].result["total_keys"] == 1
    # the unset optional variables were left out of the arguments (not passed as "${source_url}")
    journal = [json.loads(line) for line in Path(result.journal).read_text().splitlines()]
    assert [r["command"] for r in journal if r.get("step") == "plan"] == ["migrate.plan {}"]


OPTIONAL_BOOK = f"""---
target: sandbox
variables:
  notes: {{type: str, required: false, description: backup notes}}
  label: {{type: str, default: base}}
---
{F}sh {{"name":"env","kind":"read"}}
echo "notes=${{notes-UNSET}} label=$label"
{F}

{F}redisops {{"name":"plan-it","kind":"read","skip_if":"vars.notes != null"}}
op: migrate.plan
args:
  source_url: ${{notes}}
  sample: 0
{F}
"""


def test_an_optional_variable_lints_and_is_left_out_or_set(sb: SandboxState) -> None:
    assert lint_text(OPTIONAL_BOOK) == []
    book = parse_runbook(OPTIONAL_BOOK)
    assert [(v.name, v.required) for v in book.front.variables] == [("notes", False), ("label", False)]
    unset = Executor(book, env=book_env(notes="from-the-environment")).plan()
    by = {s.name: s for s in unset.steps}
    assert "notes=UNSET label=base" in by["env"].stdout  # unset in the shell, even over the environment
    assert by["plan-it"].status == "ok"  # source_url left out: the sandbox's source
    given = Executor(book, variables={"notes": "hello"}, env=book_env()).plan()
    by = {s.name: s for s in given.steps}
    assert "notes=hello label=base" in by["env"].stdout and by["plan-it"].status == "would-skip"


def _copy_back_book(confirm: str) -> str:
    return f"""---
target: sandbox
---
{F}redisops {{"name":"rollback-copy-back","confirm":"{confirm}"}}
op: migrate.rollback
args: {{copy_back: true, poll_interval: 0.05}}
expect: result.ok == true
{F}
"""


def test_an_approved_mutating_operation_step_runs_with_the_operations_confirmation(sb: SandboxState) -> None:
    """migrate.rollback with copy_back (a mutating operation) refuses without confirm=True: a step that
    asked and was approved (--yes) passes it; a confirm=false step does not."""
    src = connect(sb.source)
    src.flushall()
    src.set("back:1", "1")
    migrate = Executor(
        read_runbook(BOOKS / "migrate-elasticache-to-k8s.md"),
        yes=True,
        variables={"follow_seconds": 1.0, "poll_interval": 0.05},
        env=book_env(),
    ).run(from_="plan")
    assert migrate.exit_code == 0, migrate.error
    connect(sb.target).set("back:written-after-the-cutover", "2")

    unconfirmed = Executor(parse_runbook(_copy_back_book("false")), yes=True, env=book_env()).run()
    assert unconfirmed.exit_code == 30 and "explicit confirmation" in str(unconfirmed.error), (
        unconfirmed.error
    )
    assert not src.exists("back:written-after-the-cutover")

    confirmed = Executor(parse_runbook(_copy_back_book("true")), yes=True, env=book_env()).run()
    assert confirmed.exit_code == 0, confirmed.error
    assert src.get("back:written-after-the-cutover") == b"2"
