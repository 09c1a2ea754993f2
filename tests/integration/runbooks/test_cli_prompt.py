"""``redisops runbook run`` at a terminal asks Runme's ``export X="default"`` prompt and the cell gets the
answer; without a terminal (or with ``-o json``) it asks nothing and the default is used (promptEnv auto).
The CLI as a subprocess, its stdin a pseudo-terminal that types the answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REDISOPS = str(Path(sys.executable).with_name("redisops"))
F = "```"
BOOK = (
    f'---\ntarget: none\n---\n\n{F}sh {{"name":"region","kind":"read"}}\n'
    f'export REGION="eu-west-1"\necho "region=$REGION"\n{F}\n'
)


def _run(tmp_path: Path, *args: str, answer: str | None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "ask.md"
    path.write_text(BOOK)
    env = {
        **os.environ,
        "REDISOPS_STATE_DIR": str(tmp_path / "state"),
        "REDISOPS_RUNS_DIR": str(tmp_path / "runs"),
    }
    if answer is None:
        return subprocess.run(
            [REDISOPS, "runbook", "run", str(path), *args],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
    master, slave = os.openpty()
    try:
        os.write(master, answer.encode())
        return subprocess.run(
            [REDISOPS, "runbook", "run", str(path), *args],
            stdin=slave, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
    finally:
        os.close(slave)
        os.close(master)


def test_a_terminal_is_asked_and_the_cell_gets_the_answer(tmp_path: Path) -> None:
    p = _run(tmp_path, answer="us-east-2\n")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "step region: REGION" in p.stderr
    assert "region=us-east-2" in p.stdout + p.stderr


def test_without_a_terminal_the_default_is_used(tmp_path: Path) -> None:
    p = _run(tmp_path, answer=None)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "step region: REGION" not in p.stderr
    assert "region=eu-west-1" in p.stdout + p.stderr
