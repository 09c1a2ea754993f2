"""The runbook commands the docs show name runbooks and steps that exist (a new user runs them as
written): ``redisops runbook run|plan|show|lint NAME`` finds NAME among the shipped runbooks, and every
``--step``/``--from``/``--approve STEP`` is a step of it."""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import pytest

from redisops.runbooks import find_runbook, read_runbook

ROOT = Path(__file__).resolve().parents[2]
COMMAND = re.compile(r"redisops runbook (?:run|plan|show|lint) [^`\n]*")


def _commands() -> list[tuple[str, str]]:
    found = []
    for doc in sorted((ROOT / "docs").glob("*.md")):
        text = re.sub(r"\\\n\s*", " ", doc.read_text())  # shell line continuations joined
        for m in COMMAND.finditer(text):
            line = m.group(0).split("#", 1)[0]
            found.append((doc.name, line.strip()))
    return found


def test_the_docs_show_runbook_commands():
    assert len(_commands()) >= 5


@pytest.mark.parametrize(("doc", "command"), _commands(), ids=[c for _, c in _commands()])
def test_a_documented_runbook_command_names_what_exists(doc: str, command: str):
    words = shlex.split(command)[3:]
    name = words[0]
    if name.upper() in ("FILE", "NAME") or name.endswith(".md"):
        return  # a placeholder, or a file the doc's own tutorial writes
    runbook = read_runbook(find_runbook(name))  # NotFoundError when the doc names no shipped runbook
    steps = {s.name for s in runbook.steps}
    for flag, value in itertools.pairwise(words):
        if flag in ("--step", "--from", "--approve"):
            assert value in steps, f"{doc}: `{command}`: {value!r} is not a step of {name} ({sorted(steps)})"
