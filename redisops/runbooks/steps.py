"""Running one step of a runbook: preconditions, approval, skip_if, the attempt, expectations, retries.

:class:`StepRunner` is the part of the :class:`~redisops.runbooks.executor.Executor` that handles a
single step; the executor adds the run around it (order, state, journal, undo, resume, plan).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redisops.cancel import CancelToken
from redisops.errors import Interrupted, RedisOpsError
from redisops.events import EventSink, Reporter, jsonable
from redisops.runbooks.cells import ShellCells
from redisops.runbooks.conditions import Condition, ConditionSyntaxError
from redisops.runbooks.errors import (
    ExpectationFailed,
    PreconditionFailed,
    RunInterrupted,
    StepDeclined,
    StepFailed,
    StepTimeout,
)
from redisops.runbooks.journal import Journal, tail
from redisops.runbooks.masking import KNOWN_SECRET_ENV, Masker
from redisops.runbooks.model import Runbook, Step, StepKind
from redisops.runbooks.parse import UNSET, substitute, variable_refs
from redisops.runbooks.shell import run_shell
from redisops.runbooks.targets import TargetBinding

__all__ = [
    "ConfirmFn",
    "OfferUndoFn",
    "RunResult",
    "StepResult",
    "StepRunner",
    "TypeTargetFn",
    "is_secret_name",
]

ConfirmFn = Callable[[Step, str], bool]
TypeTargetFn = Callable[[Step, str], str]
OfferUndoFn = Callable[[list[Step]], bool]
_SHELL_NOISE = frozenset({"PWD", "OLDPWD", "SHLVL", "_"})
_SECRETISH = ("PASSWORD", "SECRET", "TOKEN", "PASSWD", "CREDENTIAL", "AUTH")
#: the last lines of a shell step's output shown as it ends (all of the tail is in the journal and report)
OUTPUT_LINES = 15


@dataclasses.dataclass
class StepResult:
    """One step of a run or plan: status (ok, failed, skipped, declined, timeout, interrupted, would-run,
    undone), exit code, masked output tails, the operation's result or plan, seconds and attempts."""

    name: str
    kind: str
    status: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    result: Any = None
    seconds: float = 0.0
    attempts: int = 0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return jsonable(dataclasses.asdict(self))  # type: ignore[no-any-return]


@dataclasses.dataclass
class RunResult:
    """A run (or plan): its id, outcome and exit code, the steps, and where its files are."""

    run_id: str
    file: str
    status: str
    exit_code: int
    steps: list[StepResult]
    run_dir: Path | None = None
    error: dict[str, Any] | None = None
    undone: list[str] = dataclasses.field(default_factory=list)

    @property
    def journal(self) -> Path | None:
        """The JSON Lines journal."""
        return self.run_dir / "journal.jsonl" if self.run_dir else None

    @property
    def report(self) -> Path | None:
        """The Markdown report."""
        return self.run_dir / "report.md" if self.run_dir else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``runbook run -o json``)."""
        return {
            "run_id": self.run_id,
            "file": self.file,
            "status": self.status,
            "exit_code": self.exit_code,
            "error": self.error,
            "undone": self.undone,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "journal": str(self.journal) if self.journal else None,
            "report": str(self.report) if self.report else None,
            "steps": [s.to_dict() for s in self.steps],
        }


def is_secret_name(name: str, declared: tuple[str, ...] | list[str]) -> bool:
    """A variable whose value must never be kept: declared secret, known credential, or named like one."""
    upper = name.upper()
    return name in declared or name in KNOWN_SECRET_ENV or any(s in upper for s in _SECRETISH)


class StepRunner(ShellCells):
    """One step at a time (see the module docstring); the executor sets these attributes."""

    runbook: Runbook
    binding: TargetBinding
    masker: Masker
    reporter: Reporter
    sink: EventSink | None
    cancel: CancelToken
    yes: bool
    approved: set[str]
    confirm_fn: ConfirmFn | None
    type_target_fn: TypeTargetFn | None
    variables: dict[str, Any]
    exported: dict[str, str]
    outcomes: dict[str, dict[str, Any]]
    _last: StepResult
    _failed_result: StepResult | None = None

    @property
    def journal(self) -> Journal:
        """The run's journal."""
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        raise NotImplementedError

    def _cwd(self) -> str | None:
        raise NotImplementedError

    def _secret(self, name: str) -> bool:
        return is_secret_name(name, self.runbook.front.secrets)

    def _namespace(self, **extra: Any) -> dict[str, Any]:
        return {"vars": self.variables, "env": self._env(), "steps": self.outcomes, **extra}

    # --- checks -----------------------------------------------------------------------------------------

    def _preconditions(self, step: Step, *, planning: bool = False) -> None:
        self._cell_preconditions(step)
        problem = self.binding.check()
        if problem:
            raise PreconditionFailed(
                f"step {step.name}: {problem}",
                line=step.line,
                step=step.name,
                hint="select the runbook's target (kube context, sandbox up), then resume",
            )
        env = self._env()
        for req in step.requires:
            kind, _, what = req.partition(":") if ":" in req else ("step", "", req)
            if kind == "bin" and shutil.which(what, path=env.get("PATH")) is None:
                raise PreconditionFailed(
                    f"step {step.name} requires the program {what}",
                    line=step.line,
                    step=step.name,
                    hint=f"install {what} or put it on PATH",
                )
            if kind == "env" and not env.get(what):
                raise PreconditionFailed(
                    f"step {step.name} requires ${what} to be set",
                    line=step.line,
                    step=step.name,
                    hint=f"export {what}=... and run again",
                )
            if kind == "step" and not planning and self.outcomes.get(what, {}).get("status") != "ok":
                raise PreconditionFailed(
                    f"step {step.name} requires step {what} to have run first",
                    line=step.line,
                    step=step.name,
                    hint=f"run --step {what} first",
                )

    def _should_skip(self, step: Step) -> str | None:
        if not step.skip_if:
            return None
        try:
            cond = Condition.parse(step.skip_if)
            if cond.roots() <= {"vars", "env", "steps"}:
                return f"skip_if {step.skip_if}" if cond.evaluate(self._namespace()) else None
        except ConditionSyntaxError:
            pass
        out = run_shell(
            step.skip_if,
            env=self._env(),
            cwd=self._cwd(),
            shell=self.runbook.front.shell,
            timeout=step.timeout or 60.0,
            cancel=self.cancel,
        )
        return f"skip_if: {step.skip_if} (exit 0)" if out.exit_code == 0 else None

    @staticmethod
    def _asks(step: Step) -> bool:
        """The step needs a confirmation: destructive, ``confirm: true`` or a question, or a mutating
        step without ``confirm: false``. Once approved (by name, the prompt or ``yes``), an operation
        step runs with the operation's confirmation (the CLI's ``--yes``)."""
        if step.kind is StepKind.destructive or step.confirm is True or isinstance(step.confirm, str):
            return True
        return step.confirm is None and step.kind is StepKind.mutate

    def _approve(self, step: Step) -> None:
        if step.kind is StepKind.destructive:
            if step.name in self.approved:
                return
            want = self.binding.decl.confirm_name
            # no answer (no terminal, -o json: the callback gives ""): say how to approve, not what was typed
            typed = self.type_target_fn(step, want).strip() if self.type_target_fn is not None else ""
            if typed == want:
                return
            if typed:
                raise StepDeclined(
                    f"step {step.name} is destructive; {typed!r} is not {want!r}",
                    line=step.line,
                    step=step.name,
                    hint=f"type the target's name, {want}, exactly (or pass --approve {step.name})",
                )
            raise StepDeclined(
                f"step {step.name} is destructive: pass --approve {step.name} (or run it at a terminal and "
                f"type the target's name, {want})",
                line=step.line,
                step=step.name,
                hint=f"--yes alone never approves a destructive step: add --approve {step.name}",
            )
        if not self._asks(step) or self.yes:
            return
        question = step.confirm if isinstance(step.confirm, str) else f"run step {step.name} ({step.kind})?"
        if self.confirm_fn is not None and self.confirm_fn(step, question):
            return
        raise StepDeclined(
            f"step {step.name} needs a confirmation: {question}",
            line=step.line,
            step=step.name,
            hint="answer yes at the prompt, or pass --yes",
        )

    # --- one step ---------------------------------------------------------------------------------------

    def _command(self, step: Step) -> str:
        if step.is_shell:
            return step.cell.body
        return f"{step.op} {json.dumps(jsonable(self._args(step)), sort_keys=True)}"

    def _args(self, step: Step) -> dict[str, Any]:
        # optional variables left unset: an argument that is only ``${name}`` is left out
        unset = {v.name: UNSET for v in self.runbook.front.variables if v.name not in self.variables}
        args = substitute(dict(step.args), {**unset, **self.variables})
        left = variable_refs(args)
        if left:
            raise PreconditionFailed(
                f"step {step.name}: undeclared variables {', '.join(sorted(left))}",
                line=step.line,
                step=step.name,
            )
        return args  # type: ignore[no-any-return]

    def _attempt(self, step: Step) -> StepResult:
        """One attempt: run, then check the expectation. Raises the step's RunbookError on failure."""
        if step.is_shell:
            out = self._run_cell(step)
            if isinstance(out, int):  # a background cell, started: checked when the run stops it
                res = StepResult(
                    step.name, str(step.kind), "ok", message=f"started in the background (pid {out})"
                )
                self._last = res
                return res
            if out.env is not None:
                before = self._env()
                for k, v in out.env.items():
                    if k not in _SHELL_NOISE and before.get(k) != v:
                        self.exported[k] = v
                        if is_secret_name(k, self.runbook.front.secrets):
                            self.masker.add(v)
            res = StepResult(
                step.name,
                str(step.kind),
                "ok",
                out.exit_code,
                self.masker.mask(tail(out.stdout)),
                self.masker.mask(tail(out.stderr)),
                seconds=out.seconds,
            )
            self._last = res
            if out.timed_out:
                raise StepTimeout(
                    f"step {step.name} ran past its timeout of {step.timeout:g} s; its process "
                    "group was killed",
                    line=step.line,
                    step=step.name,
                )
            if out.cancelled:
                raise RunInterrupted(
                    f"step {step.name} was interrupted ({self.cancel.reason})", line=step.line, step=step.name
                )
            ns = {"exit_code": out.exit_code, "stdout": out.stdout, "stderr": out.stderr, "result": None}
        else:
            res, ns = self._run_op(step)
        self._last = res
        self._check_expect(step, res, ns)
        return res

    def _run_op(self, step: Step) -> tuple[StepResult, dict[str, Any]]:
        args = self._args(step)
        target = self.binding.target()
        token = CancelToken()
        unhook = self.cancel.on_cancel(lambda: token.cancel(self.cancel.reason or "interrupted"))
        timer = None
        if step.timeout:
            timer = threading.Timer(step.timeout, lambda: token.cancel(f"timeout after {step.timeout:g} s"))
            timer.daemon = True
            timer.start()
        started = time.monotonic()
        try:
            result = target.run(
                step.op or "",
                args,
                on_event=self.sink,
                cancel=token,
                confirm=self._asks(step),  # _approve let it run: approved
            )
        except Interrupted as e:
            if timer is not None and not self.cancel.cancelled:
                raise StepTimeout(
                    f"step {step.name} ran past its timeout of {step.timeout:g} s",
                    line=step.line,
                    step=step.name,
                ) from e
            raise RunInterrupted(f"step {step.name} was interrupted", line=step.line, step=step.name) from e
        except RedisOpsError as e:
            self._last = StepResult(step.name, str(step.kind), "failed", e.exit_code, message=e.one_line())
            raise StepFailed(
                f"step {step.name}: {step.op} failed: {e.message}",
                line=step.line,
                step=step.name,
                hint=e.hint,
                context={"op_exit_code": e.exit_code},
            ) from e
        finally:
            unhook()
            if timer is not None:
                timer.cancel()
        data = jsonable(result)
        res = StepResult(
            step.name,
            str(step.kind),
            "ok",
            0,
            result=self.masker.mask_data(data),
            seconds=round(time.monotonic() - started, 3),
        )
        return res, {"exit_code": 0, "stdout": "", "stderr": "", "result": data}

    def _check_expect(self, step: Step, res: StepResult, ns: dict[str, Any]) -> None:
        exp = step.expect
        if exp.exit_code is not None and res.exit_code != exp.exit_code:
            if step.is_shell and exp.exit_code == 0 and exp.condition is None:
                raise StepFailed(f"step {step.name} exited {res.exit_code}", line=step.line, step=step.name)
            raise ExpectationFailed(
                f"step {step.name}: expected exit {exp.exit_code}, got {res.exit_code}",
                line=step.line,
                step=step.name,
            )
        if exp.condition is not None and not exp.condition.evaluate(self._namespace(**ns)):
            raise ExpectationFailed(
                f"step {step.name}: expectation {exp.condition.text!r} did not hold",
                line=step.line,
                step=step.name,
            )

    def _run_step(self, step: Step, index: int, total: int, *, undoing: bool = False) -> StepResult:
        label = "undo" if undoing else f"step {index}/{total}"
        first = (self._command(step).splitlines() or [""])[0]
        self.reporter.phase(
            step.name, self.masker.mask(f"{label} ({step.kind}): {step.cell.description or first}")
        )
        if self.cancel.cancelled:
            raise RunInterrupted(f"interrupted before step {step.name}", line=step.line, step=step.name)
        self._preconditions(step)
        # "already done" (or "not the cause") is decided before asking: a skipped step needs no approval
        reason = self._should_skip(step)
        if not reason:
            self._approve(step)
        if reason:
            res = StepResult(step.name, str(step.kind), "skipped", message=reason)
            self._record(step, res, 1)
            self.reporter.log(f"{step.name}: skipped ({reason})")
            return res
        delay = step.backoff
        for attempt in range(1, step.retries + 2):
            self._last = StepResult(step.name, str(step.kind), "failed")
            try:
                res = self._attempt(step)
            except (StepFailed, ExpectationFailed, StepTimeout) as e:
                failed = dataclasses.replace(
                    self._last,
                    status="timeout" if isinstance(e, StepTimeout) else "failed",
                    message=self.masker.mask(e.message),
                    attempts=attempt,
                )
                self._record(step, failed, attempt)
                if attempt > step.retries:
                    self._failed_result = failed
                    self._log_output(step, failed)
                    raise
                self.reporter.warning(
                    f"{step.name}: attempt {attempt} failed ({e.message}); retrying in {delay:g} s"
                )
                try:
                    self.cancel.sleep(delay, f"before retrying {step.name}")
                except Interrupted:
                    raise RunInterrupted(
                        f"interrupted while waiting to retry {step.name}", line=step.line, step=step.name
                    ) from None
                delay *= 2
                continue
            res.attempts = attempt
            if undoing:
                res.status = "undone"
            self._record(step, res, attempt)
            self.reporter.log(
                f"{step.name}: {res.message or f'ok (exit {res.exit_code}, {res.seconds:g} s)'}"
            )
            self._log_output(step, res)
            return res
        raise AssertionError("unreachable")  # pragma: no cover

    def _log_output(self, step: Step, res: StepResult) -> None:
        """A shell step's output (the last lines, masked) as a log event: what the operator reads (a
        diagnosis's ``cause=`` line) is shown as the run goes, not only in the report."""
        if not step.is_shell:
            return
        for text in (res.stdout, res.stderr if res.status != "ok" else ""):
            lines = [line for line in text.rstrip("\n").split("\n") if line.strip()][-OUTPUT_LINES:]
            if lines:
                self.reporter.log("\n".join(f"  {line}" for line in lines))

    def _record(self, step: Step, res: StepResult, attempt: int) -> None:
        self.outcomes[step.name] = {
            "status": res.status,
            "exit_code": res.exit_code,
            "stdout": res.stdout,
            "stderr": res.stderr,
            "result": res.result,
        }
        self.journal.write(
            {
                "record": "step",
                "step": step.name,
                "kind": str(step.kind),
                "line": step.line,
                "command": self._command(step),
                "status": res.status,
                "exit_code": res.exit_code,
                "seconds": res.seconds,
                "attempt": attempt,
                "stdout": res.stdout,
                "stderr": res.stderr,
                "result": None if res.result is None else tail(json.dumps(res.result, sort_keys=True)),
                "message": res.message,
            }
        )
