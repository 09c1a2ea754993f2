"""The README's shell session runs as written, on a private sandbox."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_docs import ROOT, _blocks


def test_readme_shell_session_runs(tmp_path):
    """The README's sandbox session, line by line, on a private sandbox; `# exit N` sets the expected code."""
    import os
    import subprocess
    import sys

    session = next(b for b in _blocks(ROOT / "README.md", "bash") if b.startswith("redisops sandbox up"))
    redisops = str(Path(sys.executable).with_name("redisops"))
    env = {**os.environ, "REDISOPS_STATE_DIR": str(tmp_path / "sandbox")}
    try:
        for line in session.strip().splitlines():
            command, _, comment = line.partition("#")
            expected = int(m.group(1)) if (m := re.search(r"exit (\d+)", comment)) else 0
            argv = command.split()
            assert argv[0] == "redisops"
            proc = subprocess.run(
                [redisops, *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
            )
            assert proc.returncode == expected, (line, proc.stdout[-2000:], proc.stderr[-2000:])
    finally:
        subprocess.run([redisops, "sandbox", "down"], env=env, capture_output=True, timeout=60)
