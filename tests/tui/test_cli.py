"""``redisops tui`` and ``python -m tui`` refuse what they cannot start, with the documented exit code
and a hint, before any screen is drawn."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import cli
from .helpers import RECORDING

pytestmark = pytest.mark.slow


def test_no_sandbox_running_is_not_found_with_the_hint():
    r = cli("tui")
    assert r.returncode == 6, r.stderr
    assert "sandbox up" in r.stderr and "Traceback" not in r.stderr


def test_a_missing_or_foreign_replay_file_is_a_usage_error(tmp_path):
    r = cli("tui", "--replay", str(tmp_path / "nope.jsonl"))
    assert r.returncode == 2 and "no recording" in r.stderr and "--record" in r.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"x": 1}\n')
    r = cli("tui", "--replay", str(bad))
    assert r.returncode == 2 and "not a redisops tui recording" in r.stderr and "Traceback" not in r.stderr


def test_record_and_replay_together_are_refused(tmp_path):
    r = cli("tui", "--replay", str(RECORDING), "--record", str(tmp_path / "x.jsonl"))
    assert r.returncode == 2 and "--record and --replay" in r.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_python_dash_m_tui_has_the_same_checks(tmp_path):
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "tui", "--replay", str(tmp_path / "nope.jsonl")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2 and "error: no recording" in r.stderr and "hint:" in r.stderr
    r = subprocess.run([sys.executable, "-m", "tui"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 6 and "sandbox up" in r.stderr


def test_a_recording_that_cannot_be_written_is_a_usage_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    r = cli("tui", "--url", "redis://127.0.0.1:1/0", "--record", str(blocker / "x.jsonl"))
    assert r.returncode == 2, r.stderr
    assert "cannot write the recording" in r.stderr and "--record" in r.stderr
    assert "unexpected error" not in r.stderr and "Traceback" not in r.stderr
