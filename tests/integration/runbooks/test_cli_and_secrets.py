"""``redisops runbook ...`` end to end, and secrets: a Redis password, AWS keys and declared secrets set
in the environment never appear in the terminal output, the journal, the report or the resume state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisops.cli.main import app
from redisops.ops.sandbox import sandbox_down, sandbox_up

pytestmark = pytest.mark.slow

F = "```"
PASSWORD = "pw-Runbook-Secret-7731"
AWS_SECRET = "aws/Secret+Key+0123456789abcdef"
AWS_TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN42"
DECLARED = "declared-token-value-99"
GENERATED = "generated-in-a-cell-5521"

SECRET_BOOK = f"""---
title: Secrets stay secret
target: sandbox
secrets: [MY_TOKEN]
---
{F}sh {{"name":"echo-secrets","kind":"read"}}
echo "password=$REDIS_PASSWORD auth=$REDISCLI_AUTH aws=$AWS_SECRET_ACCESS_KEY token=$AWS_SESSION_TOKEN"
echo "declared=$MY_TOKEN" >&2
redis-cli -p "$REDIS_PORT" ping
{F}

{F}sh {{"name":"make-token"}}
export API_TOKEN=generated-in-a-cell-$((5500 + 21))
echo "made $API_TOKEN"
{F}

{F}redisops {{"name":"backup"}}
op: backup.create
args: {{notes: "plain note"}}
{F}

{F}sh {{"name":"leak-in-expect","expect":"stdout contains '{DECLARED}-never'"}}
echo "token=$MY_TOKEN, again $API_TOKEN"
{F}
"""


def _scan(text: str) -> list[str]:
    return [s for s in (PASSWORD, AWS_SECRET, AWS_TOKEN, DECLARED, GENERATED) if s in text]


def test_secrets_never_appear_in_output_journal_report_or_state(tmp_state: Path, tmp_path: Path) -> None:
    pw = tmp_path / "secrets" / "redis.pw"
    pw.parent.mkdir()
    pw.write_text(PASSWORD + "\n")
    sandbox_up(tmp_state, password_file=pw)
    try:
        book = tmp_path / "secrets.md"
        book.write_text(SECRET_BOOK)
        env = {
            **os.environ, "REDIS_PASSWORD": PASSWORD, "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_SESSION_TOKEN": AWS_TOKEN, "MY_TOKEN": DECLARED,
        }  # fmt: skip
        exe = [sys.executable, "-m", "redisops.cli.main"]
        text = subprocess.run([*exe, "runbook", "run", str(book), "--yes"], env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert text.returncode == 31, text.stderr  # the last step's expectation names the secret: it fails
        as_json = subprocess.run([*exe, "runbook", "run", str(book), "--yes", "-o", "json"], env=env,
                                 capture_output=True, text=True, timeout=300)  # fmt: skip
        data = json.loads(as_json.stdout)
        assert data["steps"][0]["stdout"].startswith("password=*** auth=*** aws=*** token=***")
        assert data["steps"][0]["stderr"] == "declared=***\n"
        assert "PONG" in data["steps"][0]["stdout"]  # redis-cli authenticated with the masked REDISCLI_AUTH
        assert data["steps"][3]["stdout"] == "token=***, again ***\n"
        resumed = subprocess.run([*exe, "runbook", "resume", data["run_id"], "--yes"], env=env,
                                 capture_output=True, text=True, timeout=300)  # fmt: skip
        assert resumed.returncode == 31
        outputs = (
            text.stdout + text.stderr + as_json.stdout + as_json.stderr + resumed.stdout + resumed.stderr
        )
        assert _scan(outputs) == []
        files = [p for p in (tmp_state / "runbook-runs").rglob("*") if p.is_file()]
        assert {p.name for p in files} >= {"journal.jsonl", "report.md", "state.json"}
        for p in files:
            assert _scan(p.read_text()) == [], p
        state = json.loads((tmp_state / "runbook-runs" / data["run_id"] / "state.json").read_text())
        assert "API_TOKEN" not in state["env"] and "MY_TOKEN" not in json.dumps(state)
        assert _scan(Path(os.environ["REDISOPS_AUDIT_LOG"]).read_text()) == []
    finally:
        sandbox_down(tmp_state, discard_backups=True)


def test_cli_commands(tmp_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    listed = runner.invoke(app, ["runbook", "list", "-o", "json"])
    names = {r["name"] for r in json.loads(listed.stdout)["runbooks"]}
    assert {"backup-now", "health-check"} <= names  # found from any directory
    shown = json.loads(runner.invoke(app, ["runbook", "show", "backup-now", "-o", "json"]).stdout)
    assert shown["target"] == "sandbox" and shown["steps"]
    assert runner.invoke(app, ["runbook", "lint", "health-check"]).exit_code == 0
    bad = tmp_path / "runbooks" / "bad.md"
    bad.parent.mkdir()
    bad.write_text(
        f'# Bad\n\n{F}sh {{"name":"a","undo":"nope"}}\ntrue\n{F}\n\n{F}sh {{"kind":"destructive"}}\nx\n{F}\n'
    )
    linted = runner.invoke(app, ["runbook", "lint", "bad", "-o", "json"])  # ./runbooks/bad.md by name
    assert linted.exit_code == 21
    messages = [(f["line"], f["severity"]) for f in json.loads(linted.stdout)["findings"]]
    assert messages == [(3, "error"), (7, "error")]
    unparsable = tmp_path / "broken.md"
    unparsable.write_text(f"# B\n\n{F}redisops\nop: no.such\n{F}\n")
    shown_bad = runner.invoke(app, ["runbook", "show", str(unparsable)])
    assert shown_bad.exit_code == 32 and "line 3" in shown_bad.stderr
    assert runner.invoke(app, ["runbook", "show", "no-such-book"]).exit_code == 6
    book = tmp_path / "d.md"
    book.write_text(f'{F}sh {{"name":"boom","kind":"destructive"}}\necho boom\n{F}\n')
    planned = runner.invoke(app, ["runbook", "plan", str(book), "-o", "json"])
    assert planned.exit_code == 0
    step = json.loads(planned.stdout)["steps"][0]
    assert step["status"] == "would-run" and "needs --approve boom" in step["message"]
    refused = runner.invoke(app, ["runbook", "run", str(book), "--yes", "-o", "json"])
    assert refused.exit_code == 33 and json.loads(refused.stdout)["steps"][0]["status"] == "declined"
    approved = runner.invoke(app, ["runbook", "run", str(book), "--approve", "boom", "-o", "json"])
    assert approved.exit_code == 0 and json.loads(approved.stdout)["steps"][0]["stdout"] == "boom\n"
    assert runner.invoke(app, ["runbook", "run", str(book), "-v", "x=1"]).exit_code == 2
    runs = json.loads(runner.invoke(app, ["runbook", "runs", "-o", "json"]).stdout)["runs"]
    assert [r["status"] for r in runs] == ["ok", "failed"]
    again = runner.invoke(app, ["runbook", "resume", runs[1]["run_id"], "--approve", "boom", "-o", "json"])
    assert again.exit_code == 0
    assert runner.invoke(app, ["runbook", "resume", runs[0]["run_id"]]).exit_code == 32  # finished


def test_ctrl_c_kills_the_step_and_the_run_resumes(tmp_state: Path, tmp_path: Path) -> None:
    import signal
    import time

    book = tmp_path / "slow.md"
    book.write_text(
        f'{F}sh {{"name":"first","kind":"read"}}\necho one\n{F}\n\n'
        f'{F}sh {{"name":"wait","kind":"read"}}\n'
        'if [ ! -f "$RUNBOOK_DIR/go" ]; then sleep 60 & echo $! > "$RUNBOOK_DIR/child"; wait; fi\necho two\n'
        f"{F}\n"
    )
    exe = [sys.executable, "-m", "redisops.cli.main", "runbook"]
    proc = subprocess.Popen(
        [*exe, "run", str(book), "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    child = tmp_path / "child"
    deadline = time.monotonic() + 60
    while not child.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the pid is written: the step waits on its child
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 35, err
    data = json.loads(out)
    assert [s["status"] for s in data["steps"]] == ["ok", "interrupted"]
    pid = int(child.read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    (tmp_path / "go").write_text("")
    again = subprocess.run(
        [*exe, "resume", data["run_id"], "-o", "json"], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stderr
    assert [(s["name"], s["stdout"]) for s in json.loads(again.stdout)["steps"]] == [("wait", "two\n")]
