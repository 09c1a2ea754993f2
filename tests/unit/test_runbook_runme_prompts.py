"""Runme's ``export X="default"`` prompts and ``promptEnv``: asked (with the default) when the run can
ask, the default (auto) or a precondition failure naming ``-v X=...`` (always) when it cannot; ``-v``
and the environment answer up front; secrets asked without echo and masked everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redisops.errors import InvalidArgument
from redisops.runbooks import Executor, parse_runbook
from redisops.runbooks.prompts import find_prompts, prompt_mode, rewrite

F = "```"


def book(attrs: str = "", front: str = "") -> str:
    extra = f",{attrs}" if attrs else ""
    head = f"---\n{front}---\n" if front else ""
    return (
        f'{head}{F}sh {{"name":"region","kind":"read"{extra}}}\n'
        'export REGION="eu-west-1"\necho "region=$REGION"\n'
        f'{F}\n\n{F}sh {{"name":"later","kind":"read"}}\necho "later=$REGION"\n{F}\n'
    )


class Asker:
    """A prompt callback that answers ``answer`` (None: nobody there) and records the questions."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str, bool]] = []

    def __call__(self, step: str, name: str, default: str, secret: bool) -> str | None:
        self.asked.append((step, name, default, secret))
        return self.answer


def run(tmp_path: Path, text: str, **kw: Any) -> Any:
    path = tmp_path / "rb.md"
    path.write_text(text)
    kw.setdefault("env", {"PATH": "/usr/bin:/bin"})
    return Executor(parse_runbook(text, path=path), runs_dir_path=tmp_path / "runs", **kw).run()


def test_prompt_lines_are_literal_exports_only() -> None:
    body = 'export A="x y"\nexport B=plain words\nexport C="$HOME"\nexport D=$(date)\n  export E=\'q\'\nF=1'
    assert [(p.name, p.default) for p in find_prompts(body)] == [
        ("A", "x y"),
        ("B", "plain words"),
        ("E", "q"),
    ]
    assert rewrite(body, {"A", "E"}).split("\n") == [
        "export A",
        "export B=plain words",
        'export C="$HOME"',
        "export D=$(date)",
        "  export E",
        "F=1",
    ]
    assert [prompt_mode(v) for v in ("auto", "yes", "always", "true", "no", "never", "0", None, "bogus")] == [
        "auto",
        "always",
        "always",
        "always",
        "never",
        "never",
        "never",
        "auto",
        "auto",
    ]
    assert prompt_mode(None, skip_prompts=True) == "never"


def test_auto_asks_with_the_default_and_the_answer_persists(tmp_path: Path) -> None:
    ask = Asker("us-east-2")
    result = run(tmp_path, book(), prompt=ask)
    assert result.exit_code == 0, result.error
    assert ask.asked == [("region", "REGION", "eu-west-1", False)]
    assert [s.stdout for s in result.steps] == ["region=us-east-2\n", "later=us-east-2\n"]


def test_nobody_to_ask_or_yes_uses_the_default(tmp_path: Path) -> None:
    ask = Asker("us-east-2")
    result = run(tmp_path, book(), prompt=ask, yes=True)
    assert (result.exit_code, result.steps[0].stdout, ask.asked) == (0, "region=eu-west-1\n", [])
    nobody = Asker(None)
    result = run(tmp_path, book(), prompt=nobody)
    assert (result.exit_code, result.steps[0].stdout, len(nobody.asked)) == (0, "region=eu-west-1\n", 1)


def test_v_and_the_environment_answer_up_front(tmp_path: Path) -> None:
    ask = Asker("never-used")
    result = run(tmp_path, book(), prompt=ask, variables={"REGION": "ap-south-1"})
    assert (result.steps[0].stdout, ask.asked) == ("region=ap-south-1\n", [])
    result = run(tmp_path, book(), prompt=ask, env={"PATH": "/usr/bin:/bin", "REGION": "sa-east-1"})
    assert (result.steps[0].stdout, ask.asked) == ("region=sa-east-1\n", [])
    with pytest.raises(InvalidArgument, match="no variable NOT_PROMPTED"):
        run(tmp_path, book(), variables={"NOT_PROMPTED": "x"})


def test_never_runs_the_cell_as_written(tmp_path: Path) -> None:
    ask = Asker("us-east-2")
    for text in (book('"promptEnv":"no"'), book(front="skipPrompts: true\n")):
        result = run(tmp_path, text, prompt=ask, env={"PATH": "/usr/bin:/bin", "REGION": "sa-east-1"})
        assert (result.exit_code, result.steps[0].stdout) == (0, "region=eu-west-1\n")
    assert ask.asked == []


def test_always_asks_even_when_set_and_fails_clearly_without_anyone(tmp_path: Path) -> None:
    ask = Asker("")
    env = {"PATH": "/usr/bin:/bin", "REGION": "sa-east-1"}
    result = run(tmp_path, book('"promptEnv":"yes"'), prompt=ask, env=env)
    assert ask.asked == [("region", "REGION", "sa-east-1", False)]
    assert result.steps[0].stdout == "region=\n"  # the operator's (empty) answer
    for kw in ({"prompt": Asker(None)}, {"prompt": Asker("x"), "yes": True}, {}):
        result = run(tmp_path, book('"promptEnv":"always"'), **kw)
        assert result.exit_code == 32, result.error
        assert "REGION" in result.error["message"] and "-v REGION=..." in result.error["hint"]
        assert result.steps[0].status == "failed"
    result = run(tmp_path, book('"promptEnv":"always"'), yes=True, variables={"REGION": "given"})
    assert (result.exit_code, result.steps[0].stdout) == (0, "region=given\n")


def test_a_secret_is_asked_without_echo_and_masked(tmp_path: Path) -> None:
    secret = "s3cr3t-value-42"
    text = (
        f'{F}sh {{"name":"login","kind":"read"}}\n'
        'export DB_PASSWORD="changeme"\necho "pw=$DB_PASSWORD"\n'
        f'{F}\n\n{F}sh {{"name":"use","kind":"read"}}\n'
        f'test "$DB_PASSWORD" = {secret} && echo same "$DB_PASSWORD"\n{F}\n'
    )
    ask = Asker(secret)
    result = run(tmp_path, text, prompt=ask)
    assert result.exit_code == 0, result.error
    assert ask.asked == [("login", "DB_PASSWORD", "changeme", True)]
    assert [s.stdout for s in result.steps] == ["pw=***\n", "same ***\n"]
    for f in ("journal.jsonl", "report.md", "state.json"):
        assert secret not in (result.run_dir / f).read_text()
    assert "DB_PASSWORD" not in json.loads((result.run_dir / "state.json").read_text())["env"]
