"""The import contracts of pyproject.toml hold on the tree and catch what they are meant to catch.

``lint-imports`` runs on the real package (every contract kept), then on a scratch copy of ``redisops/``
(with the pyproject) where one offending change was made: a front end importing a library package
directly (not through the operations API), a front end importing an adapter, a new package placed in no
layer. Each scratch run must fail, and name the contract it broke.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    c["name"]: c
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
}
FRONT_ENDS = next(n for n in CONTRACTS if n.startswith("Front ends reach the library only through"))
NO_ADAPTERS = next(n for n in CONTRACTS if n.startswith("Front ends reach Redis, S3 and Kubernetes"))
LAYERS = next(n for n in CONTRACTS if n.startswith("Layers:"))


def _lint(root: Path) -> tuple[int, str]:
    """``lint-imports`` on the package under ``root`` (its pyproject); exit code and the report with
    its line wrapping undone."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "300"}
    p = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return p.returncode, " ".join((p.stdout + p.stderr).split())


def _scratch(tmp_path: Path) -> Path:
    """A copy of ``redisops/`` and the pyproject in ``tmp_path``."""
    shutil.copytree(ROOT / "redisops", tmp_path / "redisops", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_tree_keeps_every_contract() -> None:
    code, report = _lint(ROOT)
    assert code == 0, report
    for name in (FRONT_ENDS, NO_ADAPTERS, LAYERS):
        assert f"{' '.join(name.split())} KEPT" in report
    # the runbook executor is a library the front ends render: not forbidden to them
    assert "redisops.runbooks" not in CONTRACTS[FRONT_ENDS]["forbidden_modules"]


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        (("cli/options.py", "from redisops.backup import BackupStore  # noqa: E402"), FRONT_ENDS),
        (("cli/options.py", "from redisops.health.display import human_bytes  # noqa: E402"), FRONT_ENDS),
        (("cli/options.py", "import redisops.adapters.redis_conn  # noqa: E402"), NO_ADAPTERS),
        (("newpackage/__init__.py", '"""A package given no layer."""'), LAYERS),
    ],
    ids=["cli-imports-backup", "cli-imports-health", "cli-imports-an-adapter", "package-in-no-layer"],
)
def test_a_scratch_change_breaks_its_contract(tmp_path: Path, change: tuple[str, str], broken: str) -> None:
    root = _scratch(tmp_path)
    module, line = change
    path = root / "redisops" / module
    path.parent.mkdir(exist_ok=True)
    if path.exists():
        _append(path, line)
    else:
        path.write_text(line + "\n")
    code, report = _lint(root)
    assert code != 0, report
    assert f"{' '.join(broken.split())} BROKEN" in report, report
    assert "1 broken" in report, report
