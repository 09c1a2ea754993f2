"""docs/runbooks.md: every runbook example in it lints clean and runs against the sandbox with the exit
code the doc says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from redisops.runbooks import Executor, lint_text, parse_runbook

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[3] / "docs" / "runbooks.md"


def _examples() -> list[tuple[str, int, str]]:
    out = []
    for tok in MarkdownIt("commonmark").parse(DOC.read_text()):
        words = tok.info.split()
        if tok.type == "fence" and words[:1] == ["markdown"] and any(w.startswith("runbook=") for w in words):
            opts = dict(w.split("=", 1) for w in words[1:])
            out.append((opts["runbook"], int(opts["exit"]), tok.content))
    return out


def test_the_doc_has_examples() -> None:
    assert [name for name, _, _ in _examples()] == ["first", "runme", "undo"]


@pytest.mark.parametrize(("name", "exit_code", "text"), _examples(), ids=[e[0] for e in _examples()])
def test_doc_example_runs(
    name: str, exit_code: int, text: str, sandbox: Any, redis: Any, tmp_path: Path
) -> None:
    assert lint_text(text) == []
    path = tmp_path / f"{name}.md"
    path.write_text(text)
    result = Executor(parse_runbook(text, path=path), yes=True, offer_undo=lambda steps: True).run()
    assert result.exit_code == exit_code, result.error
    if name == "first":
        assert redis.get("docs:first") == "hello"
        assert result.steps[-1].result["notes"] == "written by docs:first"
    if name == "runme":
        assert redis.get("docs:runme") == "from-runme"  # the prompt's default: --yes asks nothing
        records = [json.loads(line) for line in result.journal.read_text().splitlines()]
        [watch] = [r for r in records if r["record"] == "background"]
        assert (watch["step"], watch["stopped"]) == ("watch", True)  # stopped when the run ended
    if name == "undo":
        assert result.undone == ["unmark"] and redis.get("docs:mark") is None
