"""Architecture rules that hold for every module, including ones added later.

import-linter (run by scripts/test) checks the declared layers; this test walks the source so a new
package cannot slip past a contract that forgot to list it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "redisops"
#: the test harness (the Kubernetes API emulator, fixtures) is code we maintain too: same size rule
HARNESS = ROOT / "tests" / "harness"
#: the terminal UI, a top-level front end: same size rule
TUI = ROOT / "tui"
#: the project rule is "no module near 1,000 lines"; past this, split it by responsibility
MAX_MODULE_LINES = 800
FRONT_END_LIBS = {"textual", "typer", "rich"}
IO_LIBS = {
    "redis", "boto3", "botocore", "kubernetes", "socket", "subprocess", "urllib", "requests", "aiohttp",
    "shutil", "os", "time",
}  # fmt: skip
PURE_PACKAGES = ("config", "inspect", "rdb", "health", "k8s", "lint")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules(exclude: tuple[str, ...] = ()) -> list[Path]:
    return [p for p in PKG.rglob("*.py") if not any(part in exclude for part in p.relative_to(PKG).parts)]


def test_front_end_libraries_only_in_front_ends():
    offenders = {
        str(p.relative_to(PKG)): sorted(_imports(p) & FRONT_END_LIBS)
        for p in _modules(exclude=("cli",))
        if _imports(p) & FRONT_END_LIBS
    }
    assert offenders == {}


def test_pure_packages_do_no_io():
    offenders = {}
    for pkg in PURE_PACKAGES:
        for p in (PKG / pkg).rglob("*.py"):
            bad = _imports(p) & IO_LIBS
            if bad:
                offenders[str(p.relative_to(PKG))] = sorted(bad)
    assert offenders == {}


def test_library_never_prints():
    offenders = []
    for p in _modules(exclude=("cli",)):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{p.relative_to(PKG)}:{node.lineno}")
    assert offenders == []


def test_modules_stay_small():
    files = [*PKG.rglob("*.py"), *HARNESS.rglob("*.py"), *TUI.rglob("*.py")]
    assert any(p.is_relative_to(HARNESS) for p in files)  # the harness is really walked
    assert any(p.is_relative_to(TUI) for p in files)
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in files}
    assert {k: v for k, v in sizes.items() if v > MAX_MODULE_LINES} == {}
