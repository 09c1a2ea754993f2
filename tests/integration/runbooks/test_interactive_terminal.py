"""An ``interactive: true`` cell at a real terminal (tmux): it is the terminal's foreground process group,
reads what the operator types, and what it exports reaches the next cell; the CLI gets the terminal back."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REDISOPS = str(Path(sys.executable).with_name("redisops"))
F = "```"

BOOK = f"""---
title: Ask the operator
---
{F}sh {{"name":"ask","kind":"read","interactive":"true"}}
touch waiting
read -r answer
echo "got:$answer" > answer.txt
export ANSWER="$answer"
{F}

{F}sh {{"name":"next","kind":"read"}}
echo "next:$ANSWER" > next.txt
{F}
"""


def wait_for(path: Path, bound: float = 60.0) -> None:
    end = time.monotonic() + bound
    while not path.exists():
        assert time.monotonic() < end, f"{path.name} never appeared"
        time.sleep(0.1)


def start(tmp_path: Path, tmp_state: Path) -> str:
    """``redisops runbook run ask.md --yes`` in a tmux session of its own; the tmux socket's name."""
    (tmp_path / "ask.md").write_text(BOOK)
    sock = f"redisops-rb-{tmp_path.name}"
    inner = (
        f"cd {shlex.quote(str(tmp_path))} && REDISOPS_STATE_DIR={shlex.quote(str(tmp_state))} "
        f"{shlex.quote(REDISOPS)} runbook run ask.md --yes --runs-dir runs; echo rc=$? > rc.txt; sleep 60"
    )
    subprocess.run(
        ["tmux", "-L", sock, "new-session", "-d", "-s", "rb", "-x", "150", "-y", "40", "bash", "-c", inner],
        check=True,
    )
    return sock


def test_an_interactive_cell_reads_the_terminal(tmp_path: Path, tmp_state: Path) -> None:
    sock = start(tmp_path, tmp_state)
    try:
        wait_for(tmp_path / "waiting")
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "rb", "hello there", "Enter"], check=True)
        wait_for(tmp_path / "rc.txt")
        screen = subprocess.run(
            ["tmux", "-L", sock, "capture-pane", "-p", "-t", "rb"], capture_output=True, text=True
        ).stdout
        assert (tmp_path / "rc.txt").read_text().strip() == "rc=0", screen
        assert (tmp_path / "answer.txt").read_text() == "got:hello there\n"
        assert (tmp_path / "next.txt").read_text() == "next:hello there\n"
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


def test_ctrl_c_in_an_interactive_cell_interrupts_the_run(tmp_path: Path, tmp_state: Path) -> None:
    sock = start(tmp_path, tmp_state)
    try:
        wait_for(tmp_path / "waiting")
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "rb", "C-c"], check=True)
        wait_for(tmp_path / "rc.txt")
        assert (tmp_path / "rc.txt").read_text().strip() == "rc=35"  # interrupted: resume RUN_ID continues
        assert not (tmp_path / "answer.txt").exists() and not (tmp_path / "next.txt").exists()
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
