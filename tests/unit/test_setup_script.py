"""scripts/setup.sh stays quiet unless something fails (issue 12 item 26).

The script runs for real (bash, the real python3 version check, the real redis-server check) against a
throwaway venv whose ``bin/python`` is a stand-in for pip: it prints what setuptools prints for an
editable install (the banner) and succeeds, or prints an error and fails. No network, under a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BANNER = """\
/var/cache/pip-build-env-k2/overlay/lib/python3.11/site-packages/setuptools/command/editable_wheel.py:349:
  !!

          ********************************************************************************
          An editable installation was performed via `setuptools.build_meta:build_editable`.
          Please consider using a `pyproject.toml`-based build and a PEP 660 capable backend.

          See https://setuptools.pypa.io/en/latest/userguide/development_mode.html for details.
          ********************************************************************************

  !!
  warnings.warn(msg, BuildBackendWarning)
"""

FAKE_PYTHON = """#!/bin/sh
# stands in for the venv's python: only `-m pip install ...` is called on it
case "$*" in *"--upgrade pip"*) exit 0 ;; esac
echo "$*" >> "$(dirname "$0")/../pip-calls"
if [ -n "$FAKE_PIP_FAIL" ]; then
  echo "Looking in indexes: https://pypi.org/simple"
  echo "ERROR: Could not find a version that satisfies the requirement boto3>=1.34" >&2
  exit 1
fi
cat >&2 <<'BANNER'
{banner}BANNER
echo "Successfully installed redisops-0.1.0"
"""


def run_setup(tmp_path: Path, *, fail: bool) -> subprocess.CompletedProcess[str]:
    if shutil.which("redis-server") is None or shutil.which("redis-check-rdb") is None:
        pytest.fail("redis-server and redis-tools are needed (scripts/setup.sh checks them)")
    venv = tmp_path / "venv"
    fake = venv / "bin" / "python"
    if not fake.exists():
        fake.parent.mkdir(parents=True)
        fake.write_text(FAKE_PYTHON.format(banner=BANNER))
        fake.chmod(0o755)
    env = {**os.environ, "REDISOPS_VENV": str(venv), "PYTHON": sys.executable}
    env.pop("FAKE_PIP_FAIL", None)
    if fail:
        env["FAKE_PIP_FAIL"] = "1"
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh")], capture_output=True, text=True, env=env, timeout=60
    )


def test_a_successful_install_prints_one_line_and_keeps_pips_output_in_a_log(tmp_path):
    proc = run_setup(tmp_path, fail=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "installing redisops" in lines[0], proc.stderr
    assert "editable installation" not in proc.stderr and "BuildBackendWarning" not in proc.stderr
    log = (tmp_path / "venv" / ".redisops-pip.log").read_text()
    assert "An editable installation was performed" in log and "Successfully installed" in log
    assert "-e" in (tmp_path / "venv" / "pip-calls").read_text()
    assert (tmp_path / "venv" / ".redisops-installed").exists()
    # the stamp matches: a second run installs nothing and prints nothing
    again = run_setup(tmp_path, fail=True)  # would fail if it ran pip again
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_a_failed_install_shows_pips_output_and_where_the_log_is(tmp_path):
    proc = run_setup(tmp_path, fail=True)
    assert proc.returncode == 1
    assert "ERROR: Could not find a version that satisfies the requirement boto3" in proc.stderr
    assert str(tmp_path / "venv" / ".redisops-pip.log") in proc.stderr
    assert "pip install failed" in proc.stderr
    assert not (tmp_path / "venv" / ".redisops-installed").exists()
