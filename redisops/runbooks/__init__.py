"""Executable Markdown runbooks: Runme-compatible cells plus steps that call catalogue operations.

The format is in docs/runbooks.md. Parse with :func:`read_runbook` / :func:`parse_runbook`, check with
:func:`lint_runbook`, run with :func:`run` / :func:`plan` / :func:`resume` (or :class:`Executor`).
Every problem is a :class:`RunbookError` (exit codes 30-35) carrying the line it is about.
"""

from __future__ import annotations

from redisops.runbooks.api import RunbookEntry, find_runbook, list_runbooks, load, plan, resume, run, runs
from redisops.runbooks.errors import (
    ExpectationFailed,
    PreconditionFailed,
    RunbookError,
    RunInterrupted,
    StepDeclined,
    StepFailed,
    StepTimeout,
)
from redisops.runbooks.executor import Executor, RunResult, StepResult
from redisops.runbooks.lint import LintFinding, lint_file, lint_runbook, lint_text
from redisops.runbooks.model import Cell, Runbook, Step, StepKind
from redisops.runbooks.parse import parse_runbook, read_runbook

__all__ = [
    "Cell",
    "Executor",
    "ExpectationFailed",
    "LintFinding",
    "PreconditionFailed",
    "RunInterrupted",
    "RunResult",
    "Runbook",
    "RunbookEntry",
    "RunbookError",
    "Step",
    "StepDeclined",
    "StepFailed",
    "StepKind",
    "StepResult",
    "StepTimeout",
    "find_runbook",
    "lint_file",
    "lint_runbook",
    "lint_text",
    "list_runbooks",
    "load",
    "parse_runbook",
    "plan",
    "read_runbook",
    "resume",
    "run",
    "runs",
]
