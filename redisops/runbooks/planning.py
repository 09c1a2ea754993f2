"""Planning a runbook: what a run would do, changing nothing.

:class:`Planner` is the part of the :class:`~redisops.runbooks.executor.Executor` behind ``runbook plan``.
Read steps and preconditions run for real; a changing step says what it would do (an operation step
asks the operation's own plan). A step that uses the outcome of a step the plan did not run (its
``expect``, ``skip_if`` or ``requires`` names a would-run, blocked or failed step) is not run either:
it is reported as would-run, saying which outcome it waits for, so that a read step checking the
backup a previous step takes does not fail against the backup that is there now. A plan writes no run
directory and no state: its hints never say ``runbook resume``.
"""

from __future__ import annotations

import dataclasses
import re

from redisops.errors import RedisOpsError
from redisops.runbooks.conditions import Condition, ConditionSyntaxError
from redisops.runbooks.errors import RunbookError, RunInterrupted, StepFailed
from redisops.runbooks.model import Step, StepKind
from redisops.runbooks.steps import RunResult, StepResult, StepRunner

__all__ = ["Planner", "plan_hint"]

#: "..., then: redisops runbook resume RUN_ID" / "..., then resume the run" / "..., then resume"
_RESUME = re.compile(r"[;,]?\s*then:?\s*(?:redisops runbook resume RUN_ID|resume the run|resume\b)")


def plan_hint(error: RunbookError) -> str:
    """The error's hint for a plan: a plan keeps no state, so "then resume" becomes "then plan again"."""
    if isinstance(error, RunInterrupted):
        return "the plan was stopped; plan again (a plan changes nothing and keeps no state)"
    hint = error.hint.replace("in the run's journal", "(runbook plan -o json has it)")
    hint = _RESUME.sub(", then plan again", hint)
    return hint if "RUN_ID" not in hint else "fix what the error says, then plan again"


def _condition_steps(text: str) -> set[str]:
    """The steps a ``skip_if`` condition uses (none for a shell command)."""
    try:
        cond = Condition.parse(text)
    except ConditionSyntaxError:
        return set()
    return cond.steps() if cond.roots() <= {"vars", "env", "steps"} else set()


def uses(step: Step) -> dict[str, set[str]]:
    """What of ``step`` uses other steps' outcomes: ``{"expect": {...}, "skip_if": {...}, "requires":
    {...}}`` (only the non-empty ones)."""
    out = {
        "expect": step.expect.condition.steps() if step.expect.condition is not None else set(),
        "skip_if": _condition_steps(step.skip_if) if step.skip_if else set(),
        "requires": {r.removeprefix("step:") for r in step.requires if ":" not in r or r.startswith("step:")},
    }
    return {k: v for k, v in out.items() if v}


class Planner(StepRunner):
    """``plan()``: see the module docstring (the executor sets the attributes)."""

    run_id: str

    def _stop_background(self, *, record: bool = True) -> None:
        raise NotImplementedError

    def plan(self) -> RunResult:
        """Run read steps and preconditions for real; say what each changing step would do."""
        try:
            return self._plan()
        finally:
            self._stop_background(record=False)

    def _plan(self) -> RunResult:
        results: list[StepResult] = []
        first_error: RunbookError | None = None
        unknown: dict[str, str] = {}  # steps without a real outcome in this plan -> their plan status
        for step in self.runbook.sequence():
            self._last = StepResult(step.name, str(step.kind), "failed")
            try:
                self._preconditions(step, planning=True)
                res = self._plan_step(step, unknown)
            except RunbookError as e:
                first_error = first_error or e
                # what the step printed before its expectation failed is kept (plan -o json shows it)
                res = dataclasses.replace(self._last, status="failed", message=self.masker.mask(e.message))
            results.append(res)
            if res.status not in ("ok", "would-skip"):
                unknown[step.name] = res.status
        err = self.masker.mask_data(first_error.to_dict()) if first_error else None
        if err is not None and first_error is not None:
            err["hint"] = self.masker.mask(plan_hint(first_error))
        return RunResult(
            self.run_id,
            str(self.runbook.path or ""),
            "failed" if first_error else "ok",
            first_error.exit_code if first_error else 0,
            results,
            None,
            err,
        )

    def _plan_step(self, step: Step, unknown: dict[str, str]) -> StepResult:
        waiting = {what: names & unknown.keys() for what, names in uses(step).items()}
        waiting = {what: names for what, names in waiting.items() if names}
        if not waiting.get("skip_if"):
            reason = self._should_skip(step)
            if reason:
                return StepResult(step.name, str(step.kind), "would-skip", message=reason)
        if step.kind is StepKind.read and waiting:
            self.outcomes[step.name] = {"status": "ok"}
            return StepResult(step.name, str(step.kind), "would-run", message=self._waiting(waiting, unknown))
        if step.kind is StepKind.read:
            res = self._attempt(step)
            self.outcomes[step.name] = {
                "status": "ok",
                "exit_code": res.exit_code,
                "stdout": res.stdout,
                "stderr": res.stderr,
                "result": res.result,
            }
            return res
        res = self._plan_change(step)
        self.outcomes[step.name] = {"status": "ok"}
        if waiting.get("skip_if"):
            res.message += "\n" + self._waiting({"skip_if": waiting["skip_if"]}, unknown, planned=True)
        return res

    def _waiting(
        self, waiting: dict[str, set[str]], unknown: dict[str, str], *, planned: bool = False
    ) -> str:
        """``would run after take-backup (would-run): its expect uses that step's outcome, which a plan
        does not have; not run or checked here`` (``planned``: the step's own plan is shown, only its
        ``skip_if`` is not evaluated)."""
        names = sorted(set().union(*waiting.values()))
        after = ", ".join(f"{n} ({unknown[n]})" for n in names)
        parts = " and ".join(f"its {what}" for what in ("expect", "skip_if", "requires") if what in waiting)
        that = "that step's outcome" if len(names) == 1 else "those steps' outcomes"
        left = "skip_if not evaluated here" if planned else "not run or checked here"
        return f"would run after {after}: {parts} uses {that}, which a plan does not have; {left}"

    def _plan_change(self, step: Step) -> StepResult:
        approval = ""
        if step.kind is StepKind.destructive:
            approval = f" (destructive: needs --approve {step.name})"
        if step.is_shell:
            return StepResult(
                step.name,
                str(step.kind),
                "would-run",
                message=self.masker.mask(f"would run{approval}:\n{step.cell.body}"),
            )
        try:
            plan = self.binding.target().plan(step.op or "", self._args(step))
        except RedisOpsError as e:
            raise StepFailed(
                f"step {step.name}: planning {step.op} failed: {e.message}",
                line=step.line,
                step=step.name,
                hint=e.hint,
            ) from e
        status = "blocked" if plan.blocked else "would-run"
        return StepResult(
            step.name,
            str(step.kind),
            status,
            result=self.masker.mask_data(plan.to_dict()),
            message=f"{step.op}{approval}: " + "; ".join(plan.blockers or plan.steps),
        )
