"""Runbook errors: every problem a runbook has carries the line of the document it comes from.

The runbook exit codes (docs/errors.md, reserved 30-35 in :class:`redisops.errors.ExitCode`):

====  ============================  =================================================================
code  class                         meaning
====  ============================  =================================================================
30    StepFailed                    a step failed (shell exit code != 0, an operation raised)
31    ExpectationFailed             a step ran but its ``expect`` did not hold
32    PreconditionFailed            a precondition did not hold (``requires``, the target check, a
                                    runbook that does not parse or lint, a resume of a changed runbook)
33    StepDeclined                  a confirmation was declined or not given (``--yes``, ``--approve``)
34    StepTimeout                   a step ran past its ``timeout`` (its process group was killed)
35    RunInterrupted                the run was interrupted (Ctrl-C); ``resume RUN_ID`` continues it
====  ============================  =================================================================

:class:`RunbookError` itself (a document that does not parse) exits 32: the runbook is not runnable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redisops.errors import ExitCode, RedisOpsError

__all__ = [
    "ExpectationFailed",
    "PreconditionFailed",
    "RunInterrupted",
    "RunbookError",
    "StepDeclined",
    "StepFailed",
    "StepTimeout",
]


class RunbookError(RedisOpsError):
    """A runbook problem, with the 1-based ``line`` of the document it is about (0: the whole file)."""

    exit_code = int(ExitCode.RUNBOOK_PRECONDITION_FAILED)
    default_hint = "fix the runbook at the line given (redisops runbook lint FILE lists every problem)"

    def __init__(
        self,
        message: str,
        *,
        line: int = 0,
        step: str | None = None,
        hint: str | None = None,
        context: Mapping[str, Any] | None = None,
        retryable: bool | None = None,
    ) -> None:
        ctx = {"line": line, **({"step": step} if step else {}), **dict(context or {})}
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{message}", hint=hint, context=ctx, retryable=retryable)
        self.line = line
        self.step = step


class StepFailed(RunbookError):
    """A step failed: a shell command exited non-zero or an operation raised."""

    exit_code = int(ExitCode.RUNBOOK_STEP_FAILED)
    default_hint = (
        "read the step's output in the run's journal; fix the cause, then: redisops runbook resume RUN_ID"
    )


class ExpectationFailed(RunbookError):
    """A step ran but what it was expected to produce did not hold."""

    exit_code = int(ExitCode.RUNBOOK_EXPECTATION_FAILED)
    default_hint = "compare the step's output with its expect attribute; then: redisops runbook resume RUN_ID"


class PreconditionFailed(RunbookError):
    """Something a step requires does not hold (or the runbook cannot be run as it is)."""

    exit_code = int(ExitCode.RUNBOOK_PRECONDITION_FAILED)
    default_hint = "make the precondition hold (or fix the runbook), then run again"


class StepDeclined(RunbookError):
    """A confirmation was declined, or was required and not given."""

    exit_code = int(ExitCode.RUNBOOK_DECLINED)
    default_hint = (
        "mutating steps need --yes; a destructive step needs --approve STEP (or typing the target's name)"
    )


class StepTimeout(RunbookError):
    """A step ran past its timeout; its process group was killed (or its operation cancelled)."""

    exit_code = int(ExitCode.RUNBOOK_TIMEOUT)
    default_hint = "raise the step's timeout attribute if it is slow for a reason, then resume the run"


class RunInterrupted(RunbookError):
    """The run was interrupted (Ctrl-C or a cancel); the position is saved."""

    exit_code = int(ExitCode.RUNBOOK_INTERRUPTED)
    default_hint = "continue with: redisops runbook resume RUN_ID"
