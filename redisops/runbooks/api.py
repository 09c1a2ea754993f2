"""The runbook library's front door: find, list, lint, plan, run and resume runbooks by name or path.

A runbook name resolves from (a) a path, (b) ``./runbooks/NAME[.md]``, (c) the runbooks shipped with
the package (``redisops/data/runbooks``, or the checkout's top-level ``runbooks/`` in a development
install)::

    import redisops.runbooks as rb

    result = rb.run("health-check", yes=True)      # RunResult: status, exit_code, steps, report path
    print(result.report.read_text())
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from redisops.errors import NotFoundError
from redisops.runbooks.executor import Executor, RunResult
from redisops.runbooks.model import Runbook
from redisops.runbooks.parse import read_runbook
from redisops.runbooks.state import RunState, list_runs, runs_dir

__all__ = [
    "RunbookEntry",
    "find_runbook",
    "list_runbooks",
    "load",
    "plan",
    "resume",
    "run",
    "runs",
    "search_dirs",
]


def search_dirs() -> list[tuple[str, Path]]:
    """Where runbooks are looked up by name, in order: ``./runbooks``, then the packaged copy."""
    dirs: list[tuple[str, Path]] = [("cwd", Path.cwd() / "runbooks")]
    try:
        packaged = Path(str(resources.files("redisops") / "data" / "runbooks"))
        dirs.append(("package", packaged))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - a zipped install
        pass
    checkout = Path(__file__).resolve().parents[2] / "runbooks"
    dirs.append(("checkout", checkout))
    return [(label, d) for label, d in dirs if d.is_dir()]


def find_runbook(name: str | Path) -> Path:
    """The file ``name`` stands for (see the module docstring); NotFoundError listing what exists."""
    p = Path(name).expanduser()
    if p.is_file():
        return p
    stem = p.name if p.suffix == ".md" else p.name + ".md"
    for _label, d in search_dirs():
        if (d / stem).is_file():
            return d / stem
    known = ", ".join(sorted({e.name for e in list_runbooks()})) or "none"
    raise NotFoundError(f"no runbook {str(name)!r}", hint=f"runbooks: {known} (or give a path)")


@dataclasses.dataclass(frozen=True)
class RunbookEntry:
    """A runbook found by :func:`list_runbooks`."""

    name: str
    path: Path
    source: str
    title: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"name": self.name, "path": str(self.path), "source": self.source, "title": self.title}


def list_runbooks() -> list[RunbookEntry]:
    """Every runbook by name (the first directory that has a name wins)."""
    seen: dict[str, RunbookEntry] = {}
    for label, d in search_dirs():
        for f in sorted(d.glob("*.md")):
            if f.stem in seen or f.name.lower() == "readme.md":
                continue
            title = f.stem
            for line in f.read_text(errors="replace").splitlines():
                if line.startswith("title:"):
                    title = line.split(":", 1)[1].strip().strip("'\"")
                    break
                if line.startswith("# "):
                    title = line[2:].strip()
                    break
            seen[f.stem] = RunbookEntry(f.stem, f, label, title)
    return sorted(seen.values(), key=lambda e: e.name)


def load(name: str | Path) -> Runbook:
    """Find and parse a runbook."""
    return read_runbook(find_runbook(name))


def run(
    file: str | Path,
    step: str | None = None,
    from_: str | None = None,
    yes: bool = False,
    approve_destructive: Iterable[str] = (),
    variables: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> RunResult:
    """Run a runbook (keyword arguments go to :class:`Executor`: on_event, cancel, confirm, ...)."""
    ex = Executor(load(file), variables=variables, yes=yes, approve_destructive=approve_destructive, **kwargs)
    return ex.run(step=step, from_=from_)


def plan(file: str | Path, variables: Mapping[str, Any] | None = None, **kwargs: Any) -> RunResult:
    """Plan a runbook: read steps and preconditions for real, what each change would do."""
    return Executor(load(file), variables=variables, **kwargs).plan()


def resume(run_id: str, **kwargs: Any) -> RunResult:
    """Continue a failed or interrupted run where it stopped."""
    return Executor.resume(run_id, **kwargs)


def runs(runs_dir_path: str | Path | None = None) -> list[RunState]:
    """The runs kept, newest first."""
    return list_runs(runs_dir(runs_dir_path))
