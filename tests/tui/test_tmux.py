"""``redisops tui`` in a real terminal (tmux, 80x24) against the sandbox: every screen, then quit."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
import uuid

import pytest

from .conftest import REDISOPS

pytestmark = pytest.mark.slow


class Tmux:
    """One tmux server of our own (its socket name is unique), driven as a person would."""

    def __init__(self) -> None:
        self.socket = f"redisops-tui-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "tui").stdout

    def alive(self) -> bool:
        return self.run("has-session", "-t", "tui", check=False).returncode == 0

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "tui", *keys)

    def kill(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def test_every_screen_in_a_real_80x24_terminal(sandbox, tmux, tmp_path):
    env = {k: os.environ[k] for k in ("REDISOPS_STATE_DIR", "REDISOPS_AUDIT_LOG", "PATH", "HOME")}
    rec = tmp_path / "rec.jsonl"
    assigns = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
    tui = [REDISOPS, "tui", "--interval", "1", "--record", str(rec)]
    cmd = " ".join(["env", "TERM=xterm-256color", *assigns, *tui])
    tmux.run("new-session", "-d", "-s", "tui", "-x", "80", "-y", "24", cmd)
    first = tmux.wait_for("connected")
    assert "sandbox" in first and "1 Dashboard" in first
    tmux.wait_for("health ")  # the first health report
    for key, text in [
        ("2", "entries this session"),
        ("3", "sections"),
        ("4", "no key analysis yet"),
        ("5", "backups (source"),
        ("6", "no plan yet"),
        ("7", "backup-now"),
        ("1", "persistence:"),
    ]:
        tmux.keys(key)
        shown = tmux.wait_for(text)
        assert len(shown.splitlines()) <= 24 and all(len(line) <= 80 for line in shown.splitlines())
    tmux.keys(":")
    tmux.wait_for("screen name, q, help, refresh")  # the prompt is open (keys queued before go to the table)
    tmux.keys("-l", "slow")
    tmux.keys("Enter")
    tmux.wait_for("entries this session")
    tmux.keys("?")
    tmux.wait_for("Keys (esc closes)")
    tmux.keys("Escape")  # alone: ESC then q at once reads as alt+q
    end = time.monotonic() + 30
    while "Keys (esc closes)" in tmux.screen() and time.monotonic() < end:
        time.sleep(0.2)
    tmux.keys("q")
    end = time.monotonic() + 30
    while tmux.alive() and time.monotonic() < end:
        time.sleep(0.2)
    assert not tmux.alive(), tmux.screen()
    assert rec.read_text().count("\n") > 3  # the session was recorded
