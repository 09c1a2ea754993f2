"""Runbooks written as Runme's docs write them run here: prompts stripped, exported variables persist
from one cell to the next, `set -e -o pipefail`, cells in lists and quotes, key=value attributes."""

from __future__ import annotations

from pathlib import Path

from redisops.runbooks import Executor, parse_runbook

F = "```"

RUNME_STYLE = f"""---
runme:
  id: 01HF7BT3HCDS1X1WJJHQFDR04W
  version: v3
shell: bash
skipPrompts: true
---

# Runme style

Set the environment:

{F}sh {{"id":"01HF7BT3HBDTRGQAQMHNSXB9K2","name":"set-env"}}
$ export ENV="staging"
$ echo "ENV=$ENV"
{F}

1. Use it in a list item:

   {F}bash {{ name=use-env interactive=false }}
   echo "deploying to $ENV" > "$RUNBOOK_DIR/out.txt"
   {F}

> A quoted cell runs too:
>
> {F}sh
> cat "$RUNBOOK_DIR/out.txt"
> {F}

{F}js
console.log("documentation only")
{F}
"""


def test_runme_style_document_runs(tmp_path: Path) -> None:
    path = tmp_path / "runme.md"
    path.write_text(RUNME_STYLE)
    rb = parse_runbook(RUNME_STYLE, path=path)
    assert [s.name for s in rb.steps] == ["set-env", "use-env", "cat-runbookdirouttxt"]
    result = Executor(rb, yes=True, runs_dir_path=tmp_path / "runs").run()
    assert result.exit_code == 0, result.error
    assert [s.stdout for s in result.steps] == ["ENV=staging\n", "", "deploying to staging\n"]


def test_a_failing_pipeline_fails_the_cell(tmp_path: Path) -> None:
    doc = f'{F}sh {{"name":"pipe","kind":"read"}}\nfalse | cat\necho after\n{F}\n'
    result = Executor(parse_runbook(doc), runs_dir_path=tmp_path).run()
    assert (result.exit_code, result.steps[0].stdout) == (30, "")
    assert "resume " + result.run_id in result.error["hint"]  # type: ignore[index]


def test_resume_of_a_single_step_run_continues_that_step(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    doc = (
        f'{F}sh {{"name":"a","kind":"read"}}\necho a\n{F}\n\n'
        f'{F}sh {{"name":"b","kind":"read"}}\ntest -f {flag}\n{F}\n'
    )
    path = tmp_path / "rb.md"
    path.write_text(doc)
    from redisops.runbooks import read_runbook, resume

    first = Executor(read_runbook(path), runs_dir_path=tmp_path / "runs").run(step="b")
    assert first.exit_code == 30
    flag.write_text("")
    again = resume(first.run_id, runs_dir_path=tmp_path / "runs")
    assert (again.exit_code, [s.name for s in again.steps]) == (0, ["b"])  # not "a": it was not selected
