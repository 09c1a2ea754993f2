"""The journal of a run (JSON Lines, one record per step attempt) and its Markdown report.

Everything written passes through the run's :class:`~redisops.runbooks.masking.Masker` first.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from redisops.events import jsonable
from redisops.runbooks.masking import Masker

__all__ = ["TAIL_CHARS", "Journal", "render_report", "tail"]

#: how much of a step's output the journal keeps (the end of it)
TAIL_CHARS = 4000


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text`` (with a marker when cut)."""
    return text if len(text) <= limit else "[...]" + text[-limit:]


class Journal:
    """Appends masked records to ``journal.jsonl`` (mode 0600) and keeps them for the report."""

    def __init__(self, path: Path, masker: Masker) -> None:
        self.path = path
        self.masker = masker
        self.records: list[dict[str, Any]] = []
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    self.records.append(json.loads(line))
                except ValueError:
                    continue

    def write(self, record: dict[str, Any]) -> dict[str, Any]:
        """Mask and append one record (``at`` added); returns what was written."""
        rec = self.masker.mask_data(jsonable({"at": round(time.time(), 3), **record}))
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
        self.records.append(rec)
        return dict(rec)


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}\n{text.rstrip()}\n{ticks}"


def render_report(records: list[dict[str, Any]], masker: Masker) -> str:
    """The run as Markdown: a header, a table of steps, then each step's command and output tails."""
    head: dict[str, Any] = next((r for r in records if r.get("record") == "run"), {})
    end: dict[str, Any] = next((r for r in reversed(records) if r.get("record") == "end"), {})
    steps = [r for r in records if r.get("record") == "step"]
    out = [
        f"# Runbook run {head.get('run_id', '?')}",
        "",
        f"- runbook: `{head.get('file', '?')}` ({head.get('title', '')})",
        f"- target: {head.get('target', '?')}",
        f"- outcome: **{end.get('status', 'running')}** (exit {end.get('exit_code', '-')})",
    ]
    if end.get("error"):
        out.append(f"- error: {end['error']}")
    out += ["", "| step | kind | status | exit | seconds | attempt |", "|---|---|---|---|---|---|"]
    for r in steps:
        out.append(
            f"| {r.get('step')} | {r.get('kind')} | {r.get('status')} | {r.get('exit_code', '')} "
            f"| {r.get('seconds', '')} | {r.get('attempt', 1)} |"
        )
    for r in steps:
        out += ["", f"## {r.get('step')} — {r.get('status')}", "", _fence(str(r.get("command", "")))]
        if r.get("message"):
            out += ["", str(r["message"])]
        for stream in ("stdout", "stderr", "result"):
            if r.get(stream):
                out += ["", f"{stream}:", "", _fence(str(r[stream]))]
    for r in records:
        if r.get("record") == "background":
            how = "stopped when the run ended" if r.get("stopped") else f"exited {r.get('exit_code')}"
            out += ["", f"## {r.get('step')} — background, {how}"]
            for stream in ("stdout", "stderr"):
                if r.get(stream):
                    out += ["", f"{stream}:", "", _fence(str(r[stream]))]
    return masker.mask("\n".join(out) + "\n")
