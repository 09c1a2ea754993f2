"""The runbook executor against the real sandbox: expectations, undo on failure, interrupt and resume,
destructive approval, plans that change nothing, timeouts that kill the process group."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from redisops.cancel import CancelToken
from redisops.events import Log, Phase, Recorder
from redisops.runbooks import Executor, read_runbook, resume

pytestmark = pytest.mark.slow  # each test starts a sandbox (~10 s)

F = "```"

BOOK = f"""---
title: Keys and a backup
target: sandbox
variables:
  key: {{type: str, default: rb:key, description: the key to set}}
  note: {{default: from a runbook}}
---
# Keys and a backup

Redis answers.

{F}sh {{"name":"ping","kind":"read","expect":"stdout contains 'PONG'"}}
$ redis-cli -p "$REDIS_PORT" ping
{F}

{F}sh {{"name":"set-key","undo":"del-key"}}
redis-cli -p "$REDIS_PORT" set "$key" 1
export SET_BY_RUNBOOK=yes
{F}

{F}sh {{"name":"del-key","excludeFromRunAll":"true"}}
redis-cli -p "$REDIS_PORT" del "$key"
{F}

{F}redisops {{"name":"take-backup"}}
op: backup.create
args: {{notes: "${{note}}"}}
expect: result.objects[0].verified == true and result.key_counts.0.keys >= 1
{F}

{F}sh {{"name":"check","kind":"read","expect":"stdout contains 'yes'"}}
echo "exported: $SET_BY_RUNBOOK"
{F}
"""


def test_a_run_checks_expectations_and_writes_journal_report_and_state(
    sandbox: Any, redis: Any, write: Any, tmp_state: Path
) -> None:
    events = Recorder()
    ex = Executor(read_runbook(write(BOOK)), yes=True, on_event=events)
    result = ex.run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    assert [(s.name, s.status) for s in result.steps] == [
        ("ping", "ok"), ("set-key", "ok"), ("take-backup", "ok"), ("check", "ok")
    ]  # fmt: skip
    assert redis.get("rb:key") == "1"
    assert result.steps[2].result["notes"] == "from a runbook"
    assert result.run_dir is not None and result.run_dir.parent == tmp_state / "runbook-runs"
    records = [json.loads(line) for line in result.journal.read_text().splitlines()]  # type: ignore[union-attr]
    steps = [r for r in records if r["record"] == "step"]
    assert [r["step"] for r in steps] == ["ping", "set-key", "take-backup", "check"]
    assert steps[0]["command"] == 'redis-cli -p "$REDIS_PORT" ping' and steps[0]["stdout"] == "PONG\n"
    assert steps[2]["command"].startswith("backup.create ") and records[-1]["status"] == "ok"
    assert all(r["seconds"] >= 0 and r["exit_code"] == 0 for r in steps)
    report = result.report.read_text()  # type: ignore[union-attr]
    assert "outcome: **ok**" in report and "| take-backup | mutate | ok | 0 |" in report
    state_file = result.run_dir / "state.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert json.loads(state_file.read_text())["status"] == "ok"
    phases = [e.name for e in events.of(Phase) if e.op == "runbook.run"]  # type: ignore[attr-defined]
    assert phases == ["ping", "set-key", "take-backup", "check"]
    assert any(isinstance(e, Log) and e.message.startswith("check: ok") for e in events)
    assert events.kinds()[-1] == "finished"


def test_a_failed_expectation_stops_and_undo_runs_in_reverse(sandbox: Any, redis: Any, write: Any) -> None:
    book = BOOK.replace("result.key_counts.0.keys >= 1", "result.key_counts.0.keys >= 1000")
    offered: list[list[str]] = []
    ex = Executor(
        read_runbook(write(book)), yes=True, offer_undo=lambda s: offered.append([x.name for x in s]) or True
    )
    result = ex.run()
    assert (result.status, result.exit_code) == ("failed", 31)
    assert result.error is not None and "line 25" in result.error["message"]  # the take-backup fence
    assert offered == [["del-key"]] and result.undone == ["del-key"]
    assert [(s.name, s.status) for s in result.steps][-2:] == [
        ("take-backup", "failed"),
        ("del-key", "undone"),
    ]
    assert redis.get("rb:key") is None  # rolled back
    assert "check" not in [s.name for s in result.steps]  # stopped at the failure


def test_declining_the_undo_leaves_the_change(sandbox: Any, redis: Any, write: Any) -> None:
    book = BOOK.replace("stdout contains 'yes'", "stdout contains 'no such thing'")
    result = Executor(read_runbook(write(book)), yes=True, offer_undo=lambda s: False).run()
    assert (result.exit_code, result.undone) == (31, [])
    assert redis.get("rb:key") == "1"


SLOW = f"""---
target: sandbox
---
{F}sh {{"name":"first"}}
redis-cli -p "$REDIS_PORT" incr rb:count
{F}

{F}sh {{"name":"slow"}}
if [ ! -f "$RUNBOOK_DIR/go" ]; then
  sleep 60 & echo $! > "$RUNBOOK_DIR/child"; wait
fi
redis-cli -p "$REDIS_PORT" incr rb:count
{F}

{F}sh {{"name":"last","expect":"stdout contains '2'"}}
redis-cli -p "$REDIS_PORT" get rb:count
{F}
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _cancel_when_waiting(book: Path, token: CancelToken) -> Any:
    def sink(event: Any) -> None:
        if isinstance(event, Phase) and event.name == "slow":

            def later() -> None:
                deadline = time.monotonic() + 20
                while not (book.parent / "child").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                token.cancel("interrupted")

            threading.Thread(target=later, daemon=True).start()

    return sink


def test_an_interrupted_run_is_resumed_where_it_stopped(sandbox: Any, redis: Any, write: Any) -> None:
    book = write(SLOW)
    token = CancelToken()
    result = Executor(
        read_runbook(book), yes=True, cancel=token, on_event=_cancel_when_waiting(book, token)
    ).run()
    assert (result.status, result.exit_code) == ("interrupted", 35)
    child = int((book.parent / "child").read_text())
    assert not _alive(child)  # the step's process group was killed with it
    state = json.loads((result.run_dir / "state.json").read_text())  # type: ignore[operator]
    assert (state["next_step"], state["done"]) == ("slow", ["first"])
    assert redis.get("rb:count") == "1"
    (book.parent / "go").write_text("")
    again = resume(result.run_id, yes=True)
    assert (again.status, again.exit_code) == ("ok", 0), again.error
    assert [s.name for s in again.steps] == ["slow", "last"]  # "first" is not run twice
    assert redis.get("rb:count") == "2"
    assert json.loads((result.run_dir / "state.json").read_text())["done"] == ["first", "slow", "last"]  # type: ignore[operator]


def test_resume_refuses_when_the_steps_changed(sandbox: Any, write: Any) -> None:
    book = write(SLOW.replace("get rb:count", "get rb:nothing"))
    result = Executor(read_runbook(book), yes=True).run(step="last")
    assert result.exit_code == 31
    book.write_text(SLOW)
    from redisops.runbooks import PreconditionFailed

    with pytest.raises(PreconditionFailed, match="changed since run"):
        resume(result.run_id, yes=True)


def test_a_step_timeout_kills_its_process_group(write: Any) -> None:
    book = write(
        f'{F}sh {{"name":"hang","timeout":"1s","kind":"read"}}\n'
        'sleep 120 & echo $! > "$RUNBOOK_DIR/child"\n'
        "sh -c 'sleep 120' & echo $! > \"$RUNBOOK_DIR/grandchild\"\nwait\n"
        f"{F}\n"
    )
    result = Executor(read_runbook(book)).run()
    assert (result.status, result.exit_code) == ("failed", 34)
    assert result.steps[0].status == "timeout" and "timeout of 1 s" in result.steps[0].message
    for name in ("child", "grandchild"):
        assert not _alive(int((book.parent / name).read_text()))


DESTRUCTIVE = f"""---
target: sandbox
---
{F}sh {{"name":"seed"}}
redis-cli -p "$REDIS_PORT" set rb:keep 1
{F}

{F}sh {{"name":"flush","kind":"destructive"}}
redis-cli -p "$REDIS_PORT" flushall
{F}
"""


def test_a_destructive_step_is_never_approved_by_yes_alone(sandbox: Any, redis: Any, write: Any) -> None:
    book = write(DESTRUCTIVE)
    refused = Executor(read_runbook(book), yes=True).run()
    assert (refused.exit_code, refused.steps[-1].status) == (33, "declined")
    assert "--approve flush" in refused.error["hint"]  # type: ignore[index]
    assert redis.get("rb:keep") == "1"
    typed_wrong = Executor(read_runbook(book), yes=True, type_target=lambda s, want: "prod").run()
    assert typed_wrong.exit_code == 33 and redis.get("rb:keep") == "1"
    asked: list[str] = []
    typed = Executor(
        read_runbook(book), yes=True, type_target=lambda s, want: asked.append(want) or want
    ).run()
    assert (typed.exit_code, asked) == (0, ["sandbox"]) and redis.get("rb:keep") is None
    by_name = Executor(read_runbook(book), yes=True, approve_destructive={"flush"}).run()
    assert by_name.exit_code == 0


def test_a_mutating_step_needs_yes_or_a_confirmation(sandbox: Any, redis: Any, write: Any) -> None:
    book = write(DESTRUCTIVE)
    assert Executor(read_runbook(book)).run(step="seed").exit_code == 33
    questions: list[str] = []
    ok = Executor(read_runbook(book), confirm=lambda s, q: questions.append(q) or True).run(step="seed")
    assert (ok.exit_code, questions) == (0, ["run step seed (mutate)?"])


def test_plan_runs_reads_for_real_and_changes_nothing(sandbox: Any, redis: Any, write: Any) -> None:
    result = Executor(read_runbook(write(BOOK))).plan()
    assert [(s.name, s.status) for s in result.steps] == [
        ("ping", "ok"), ("set-key", "would-run"), ("take-backup", "would-run"), ("check", "failed")
    ]  # fmt: skip
    # read steps run for real: "check" reads what set-key would export, which a plan does not run
    assert result.exit_code == 31 and "check" in result.error["message"]  # type: ignore[index]
    assert result.steps[0].stdout == "PONG\n"
    assert result.steps[2].result["op"] == "backup.create" and not result.steps[2].result["blocked"]
    assert redis.get("rb:key") is None and result.run_dir is None


def test_preconditions_requires_skip_if_and_retries(sandbox: Any, redis: Any, write: Any) -> None:
    book = write(
        f"""---
target: sandbox
variables:
  mode: {{default: fast}}
---
{F}sh {{"name":"needs-tool","requires":"bin:no-such-program-here"}}
true
{F}

{F}sh {{"name":"skipped","skip_if":"vars.mode == 'fast'"}}
redis-cli -p "$REDIS_PORT" set rb:skipped 1
{F}

{F}sh {{"name":"already","skip_if":"redis-cli -p $REDIS_PORT exists rb:flag | grep -q 1"}}
redis-cli -p "$REDIS_PORT" set rb:flag 1
{F}

{F}sh {{"name":"flaky","retries":"3","backoff":"10ms"}}
n=$(redis-cli -p "$REDIS_PORT" incr rb:tries); [ "$n" -ge 3 ]
{F}
"""
    )
    rb = read_runbook(book)
    failed = Executor(rb, yes=True).run()
    assert (failed.exit_code, failed.steps[0].status) == (32, "failed")
    assert "requires the program no-such-program-here" in failed.error["message"]  # type: ignore[index]
    result = Executor(rb, yes=True).run(from_="skipped")
    assert [(s.name, s.status) for s in result.steps] == [
        ("skipped", "skipped"), ("already", "ok"), ("flaky", "ok")
    ]  # fmt: skip
    assert result.steps[-1].attempts == 3 and redis.get("rb:skipped") is None
    again = Executor(rb, yes=True).run(step="already")
    assert again.steps[0].status == "skipped"  # skip_if (a shell command) found it done


def test_the_target_is_checked_before_every_step(tmp_state: Path, write: Any) -> None:
    result = Executor(
        read_runbook(write(f'---\ntarget: sandbox\n---\n{F}sh {{"kind":"read"}}\ntrue\n{F}\n'))
    ).run()
    assert result.exit_code == 32 and "the sandbox is not up" in result.error["message"]  # type: ignore[index]
