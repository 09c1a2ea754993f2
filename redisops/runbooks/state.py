"""Where runs are kept, and the resume state of a run (file mode 0600, never a secret in it).

Layout: ``<runs dir>/<run id>/`` holds ``state.json`` (the position: the next step, the steps done,
the variables and exported environment minus secrets, the runbook's digest), ``journal.jsonl`` and
``report.md``. The runs dir is ``$REDISOPS_RUNS_DIR``, else ``runbook-runs`` in the sandbox state dir
(``$REDISOPS_STATE_DIR``, else the user's data dir).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from redisops.runbooks.errors import RunbookError

__all__ = ["RunState", "list_runs", "load_state", "runs_dir", "save_state"]


def runs_dir(override: str | Path | None = None) -> Path:
    """Where runs live (see the module docstring)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("REDISOPS_RUNS_DIR")
    if env:
        return Path(env).expanduser()
    from redisops.ops.sandbox import default_state_dir

    return default_state_dir() / "runbook-runs"


@dataclasses.dataclass
class RunState:
    """The position of a run, saved before every step and at its end."""

    run_id: str
    file: str
    digest: str
    status: str = "running"  # running | ok | failed | interrupted
    next_step: str | None = None
    done: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    variables: dict[str, Any] = dataclasses.field(default_factory=dict)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    exit_code: int = 0
    error: str = ""
    started: float = 0.0
    updated: float = 0.0
    selected: list[str] = dataclasses.field(default_factory=list)  # the steps this run runs, in order

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dataclasses.asdict(self)


def save_state(path: Path, state: RunState) -> None:
    """Write ``state`` to ``path`` atomically with mode 0600 (the dir 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state.to_dict(), f, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_state(path: Path) -> RunState:
    """Read a saved state (RunbookError when missing or damaged)."""
    try:
        data = json.loads(path.read_text())
        fields = {f.name for f in dataclasses.fields(RunState)}
        return RunState(**{k: v for k, v in data.items() if k in fields})
    except FileNotFoundError:
        raise RunbookError(
            f"no run {path.parent.name}", hint="list the runs with: redisops runbook runs"
        ) from None
    except (ValueError, TypeError) as e:
        raise RunbookError(f"the state of run {path.parent.name} is damaged: {e}") from None


def list_runs(base: Path) -> list[RunState]:
    """Every run under ``base``, newest first."""
    out: list[RunState] = []
    if not base.is_dir():
        return out
    for d in base.iterdir():
        if (d / "state.json").is_file():
            try:
                out.append(load_state(d / "state.json"))
            except RunbookError:
                continue
    return sorted(out, key=lambda s: s.started, reverse=True)
