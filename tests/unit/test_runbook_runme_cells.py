"""Runme's cell attributes honoured by the executor: ``background`` (started without waiting, its whole
process group stopped when the run ends, fails or is interrupted, its output in the journal),
``interactive`` (a precondition failure without a terminal), ``ignore``, ``cwd`` and ``interpreter``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from redisops.cancel import CancelToken
from redisops.events import Event, Phase
from redisops.runbooks import Executor, lint_text, parse_runbook, resume

F = "```"
ENV = {"PATH": os.environ["PATH"]}

# the background cell waits for `go` (written by the next step), says so, then keeps running with a
# child of its own: the run must neither wait for it (then `use` fails: nobody saw `go`) nor leave it
# (or its child) behind
BG = f"""{F}sh {{"name":"forward","kind":"read","background":"true"}}
sleep 600 &
echo $! > child.pid
echo $$ > leader.pid
for i in $(seq 400); do [ -f go ] && break; sleep 0.05; done
[ -f go ]
echo saw-go
touch seen
wait
{F}

{F}sh {{"name":"use","kind":"read"}}
touch go
for i in $(seq 400); do [ -f seen ] && break; sleep 0.05; done
[ -f seen ]
echo used
{F}
"""


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pids(d: Path) -> list[int]:
    return [int((d / f).read_text()) for f in ("leader.pid", "child.pid")]


def execute(tmp_path: Path, text: str, **kw: Any) -> Any:
    path = tmp_path / "rb.md"
    path.write_text(text)
    return Executor(parse_runbook(text, path=path), runs_dir_path=tmp_path / "runs", env=ENV, **kw).run()


def journal(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.journal.read_text().splitlines()]


def test_a_background_cell_runs_alongside_and_is_stopped_with_its_group(tmp_path: Path) -> None:
    result = execute(tmp_path, BG)
    assert result.exit_code == 0, result.error
    assert [(s.name, s.status) for s in result.steps] == [("forward", "ok"), ("use", "ok")]
    assert "background" in result.steps[0].message and result.steps[1].stdout == "used\n"
    assert not any(alive(p) for p in pids(tmp_path))
    [bg] = [r for r in journal(result) if r["record"] == "background"]
    assert (bg["step"], bg["stopped"], bg["stdout"]) == ("forward", True, "saw-go\n")
    records = [r["record"] for r in journal(result)]
    assert records.index("background") < records.index("end")
    assert "saw-go" in result.report.read_text()


def test_a_failure_after_a_background_cell_stops_it(tmp_path: Path) -> None:
    text = BG + f'\n{F}sh {{"name":"boom","kind":"read"}}\nexit 3\n{F}\n'
    result = execute(tmp_path, text)
    assert (result.exit_code, result.steps[-1].status) == (30, "failed")
    assert not any(alive(p) for p in pids(tmp_path))
    assert [r["step"] for r in journal(result) if r["record"] == "background"] == ["forward"]


def test_an_interrupt_stops_the_background_cell(tmp_path: Path) -> None:
    token = CancelToken()

    def on_event(event: Event) -> None:
        if isinstance(event, Phase) and event.name == "after":
            token.cancel("Ctrl-C")

    text = BG + f'\n{F}sh {{"name":"after","kind":"read"}}\nsleep 600\n{F}\n'
    result = execute(tmp_path, text, cancel=token, on_event=on_event)
    assert result.exit_code == 35
    assert not any(alive(p) for p in pids(tmp_path))


def test_resume_starts_the_background_cells_again(tmp_path: Path) -> None:
    text = BG + f'\n{F}sh {{"name":"once","kind":"read"}}\n[ -f fixed ] && echo fixed\n{F}\n'
    first = execute(tmp_path, text)
    assert first.exit_code == 30
    for f in ("go", "seen"):
        (tmp_path / f).unlink()
    (tmp_path / "fixed").write_text("")
    again = resume(first.run_id, runs_dir_path=tmp_path / "runs", env=ENV)
    assert again.exit_code == 0, again.error
    assert [s.name for s in again.steps] == ["forward", "once"]
    assert [r["step"] for r in journal(again) if r["record"] == "background"] == ["forward", "forward"]
    assert not any(alive(p) for p in pids(tmp_path))


def test_lint_warns_about_an_expect_on_a_background_cell() -> None:
    text = f'{F}sh {{"name":"pf","background":"true","expect":"stdout contains \'x\'"}}\nsleep 1\n{F}\n'
    [finding] = lint_text(text)
    assert (finding.severity, finding.step) == ("warning", "pf") and "background" in finding.message
    assert lint_text(BG) == []


def test_an_interactive_cell_without_a_terminal_is_a_precondition_failure(tmp_path: Path) -> None:
    text = f'{F}sh {{"name":"first","kind":"read"}}\necho 1\n{F}\n\n'
    text += f"{F}sh {{ name=ask interactive=true }}\nread x\n{F}\n"
    result = execute(tmp_path, text, yes=True, terminal=False)
    assert result.exit_code == 32
    assert "step ask is interactive" in result.error["message"]
    assert [(s.name, s.status) for s in result.steps] == [("first", "ok"), ("ask", "failed")]


def test_ignore_cwd_and_interpreter(tmp_path: Path) -> None:
    (tmp_path / "base" / "inner").mkdir(parents=True)
    text = f"""---
cwd: base
---
{F}sh {{"name":"skipped","ignore":"true"}}
exit 1
{F}

{F}sh {{ name=ignored ignore=True }}
exit 1
{F}

{F}sh {{"name":"here","kind":"read"}}
pwd
{F}

{F}sh {{"name":"inner","kind":"read","cwd":"inner"}}
pwd
{F}

{F}sh {{"name":"absolute","kind":"read","cwd":"{tmp_path}"}}
pwd
{F}

{F}sh {{"name":"with-sh","kind":"read","interpreter":"sh"}}
echo "$0"
{F}

{F}sh {{"name":"with-python","kind":"read","interpreter":"python3 -I"}}
import sys
print(6 * 7, sys.flags.isolated)
{F}
"""
    result = execute(tmp_path, text)
    assert result.exit_code == 0, result.error
    base = tmp_path.resolve() / "base"
    assert [(s.name, s.stdout) for s in result.steps] == [
        ("here", f"{base}\n"),
        ("inner", f"{base / 'inner'}\n"),
        ("absolute", f"{tmp_path}\n"),
        ("with-sh", "sh\n"),
        ("with-python", "42 1\n"),
    ]


def test_a_step_finds_this_redisops_when_none_is_on_path(tmp_path: Path) -> None:
    import sys

    text = f'{F}sh {{"name":"which","kind":"read","requires":"bin:redisops"}}\ncommand -v redisops\n{F}\n'
    result = execute(tmp_path, text)  # PATH without the venv
    assert result.exit_code == 0, result.error
    assert result.steps[0].stdout == str(Path(sys.executable).parent / "redisops") + "\n"
