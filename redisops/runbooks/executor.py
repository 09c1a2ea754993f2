"""The runbook executor: plan, run and resume a runbook, step by step, with the safety of a 3 a.m. run.

::

    from redisops.runbooks.executor import Executor
    from redisops.runbooks.parse import read_runbook

    ex = Executor(read_runbook("runbooks/health-check.md"), yes=True, on_event=print)
    result = ex.run()            # a RunResult: status, exit_code, steps, run dir, journal, report
    result = Executor.resume(result.run_id, yes=True)   # continue a failed or interrupted run

* Read steps run without asking; a mutating step asks (``confirm`` callback) unless ``yes``; a
  destructive step needs its name in ``approve_destructive`` or the target's name typed at the
  ``type_target`` callback — ``yes`` alone never approves it.
* ``expect`` is checked right after each step; ``retries`` repeat a failed attempt after ``backoff``
  seconds (doubling). On failure the run stops and, when ``offer_undo`` says yes, runs the ``undo``
  steps of the completed steps in reverse.
* The position is saved (0600) before every step; :meth:`resume` continues there and refuses when the
  runbook's steps changed. Every record, report, event and state is masked.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from redisops.cancel import CancelToken
from redisops.errors import InvalidArgument
from redisops.events import Event, EventSink, Reporter, jsonable, new_op_id
from redisops.runbooks.cells import prompt_names
from redisops.runbooks.errors import (
    PreconditionFailed,
    RunbookError,
    RunInterrupted,
    StepDeclined,
)
from redisops.runbooks.journal import Journal, render_report, tail
from redisops.runbooks.masking import Masker
from redisops.runbooks.model import Runbook, Step, StepKind, TargetDecl
from redisops.runbooks.parse import read_runbook, substitute
from redisops.runbooks.planning import Planner
from redisops.runbooks.processes import BackgroundCells
from redisops.runbooks.prompts import PromptFn
from redisops.runbooks.state import RunState, load_state, runs_dir, save_state
from redisops.runbooks.steps import (
    ConfirmFn,
    OfferUndoFn,
    RunResult,
    StepResult,
    TypeTargetFn,
    is_secret_name,
)
from redisops.runbooks.targets import TargetBinding

__all__ = ["ConfirmFn", "Executor", "OfferUndoFn", "PromptFn", "RunResult", "StepResult", "TypeTargetFn"]


class Executor(Planner):
    """Runs one runbook (see the module docstring). Construct, then :meth:`run` or :meth:`plan`."""

    def __init__(
        self,
        runbook: Runbook,
        *,
        variables: Mapping[str, Any] | None = None,
        yes: bool = False,
        approve_destructive: Iterable[str] = (),
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        confirm: ConfirmFn | None = None,
        type_target: TypeTargetFn | None = None,
        offer_undo: OfferUndoFn | None = None,
        runs_dir_path: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        run_id: str | None = None,
        prompt: PromptFn | None = None,
        terminal: bool | None = None,
    ) -> None:
        self.runbook = runbook
        self.prompt_fn = prompt
        self.terminal = terminal
        self.background = BackgroundCells()
        self.yes = yes
        self.approved = set(approve_destructive)
        self.cancel = cancel or CancelToken()
        self.confirm_fn = confirm
        self.type_target_fn = type_target
        self.offer_undo_fn = offer_undo
        self.base_env = dict(os.environ if env is None else env)
        self.variables = self._variables(variables or {})
        self.masker = Masker.from_env(runbook.front.secrets, self.base_env)
        self.masker.add(*self._password_files())
        self.binding = TargetBinding(self._target_decl(), self.base_env)
        self.masker.add(*self.binding.secret_values())
        self.run_id = run_id or new_op_id("runbook")
        self.sink = self._masked_sink(on_event)
        self.reporter = Reporter("runbook.run", self.sink, op_id=self.run_id)
        self.exported: dict[str, str] = {}
        self.outcomes: dict[str, dict[str, Any]] = {}
        base = runs_dir(runs_dir_path)
        self.run_dir = base / self.run_id
        self.state = RunState(self.run_id, str(runbook.path or ""), runbook.digest(), started=time.time())
        self._journal: Journal | None = None

    # --- set-up ----------------------------------------------------------------------------------------

    def _variables(self, given: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, raw in given.items():
            var = self.runbook.front.variable(name)
            if var is None and name in prompt_names(self.runbook):
                out[name] = str(raw)  # a cell's ``export NAME="default"`` prompt, answered up front
                continue
            if var is None:
                declared = ", ".join(v.name for v in self.runbook.front.variables) or "none"
                raise InvalidArgument(f"no variable {name} in this runbook", hint=f"variables: {declared}")
            try:
                out[name] = var.convert(raw)
            except ValueError:
                raise InvalidArgument(f"variable {name}: {raw!r} is not a {var.type}") from None
        for var in self.runbook.front.variables:
            if var.name not in out:
                if var.default is None and var.optional:
                    continue  # unset: left out of operation arguments, not in the shell's environment
                if var.default is None:
                    raise PreconditionFailed(
                        f"variable {var.name} has no default and no value",
                        line=var.line,
                        hint=f"pass -v {var.name}=VALUE",
                    )
                out[var.name] = var.default
        return out

    def _password_files(self) -> list[str]:
        """The first lines of the files named by ``*password_file`` variables (an operation reads the
        password from there): masked too, should anything echo them."""
        out = []
        for name, value in self.variables.items():
            if name.lower().endswith("password_file") and isinstance(value, str) and value:
                try:
                    with open(os.path.expanduser(value), encoding="utf-8") as f:
                        out.append(f.readline().strip())
                except (OSError, UnicodeDecodeError):
                    continue  # the operation says what is wrong with the file
        return out

    def _target_decl(self) -> TargetDecl:
        """The frontmatter's target with ``${name}`` variables replaced (``context: "${context}"``: the
        operator names the cluster with ``-v context=NAME``)."""
        decl = self.runbook.front.target
        fields = {f: getattr(decl, f) for f in ("context", "namespace", "kubeconfig")}
        changed = {f: str(substitute(v, self.variables)) for f, v in fields.items() if v and "${" in v}
        return dataclasses.replace(decl, **changed) if changed else decl

    def _masked_sink(self, sink: EventSink | None) -> EventSink | None:
        if sink is None:
            return None
        target = sink

        def send(event: Event) -> None:
            changes: dict[str, Any] = {}
            for f in dataclasses.fields(event):
                value = getattr(event, f.name)
                if isinstance(value, str):
                    changes[f.name] = self.masker.mask(value)
                elif f.name in ("params", "result", "error") and value is not None:
                    changes[f.name] = self.masker.mask_data(jsonable(value))
            target(dataclasses.replace(event, **changes))

        return send

    def _env(self) -> dict[str, str]:
        env = {**self.base_env, **self.binding.env(), **self.exported}
        env.update({k: str(v) for k, v in self.variables.items()})
        for var in self.runbook.front.variables:
            if var.name not in self.variables:  # an optional variable left unset is unset in the shell too
                env.pop(var.name, None)
        env["RUNBOOK_RUN_ID"] = self.run_id
        bindir = Path(sys.executable).parent
        path = env.get("PATH", os.defpath)
        if shutil.which("redisops", path=path) is None and (bindir / "redisops").is_file():
            env["PATH"] = path + os.pathsep + str(bindir)  # `redisops` in a step: this installation's
        if self.runbook.path is not None:
            env["RUNBOOK_DIR"] = str(self.runbook.path.resolve().parent)
        return env

    def _cwd(self) -> str | None:
        cwd = self.runbook.front.cwd
        if not cwd:
            return str(self.runbook.path.resolve().parent) if self.runbook.path else None
        if self.runbook.path is not None and not os.path.isabs(cwd):
            return str((self.runbook.path.resolve().parent / cwd).resolve())
        return cwd

    # --- journal and state ------------------------------------------------------------------------------

    @property
    def journal(self) -> Journal:
        """The run's journal (created with the run dir)."""
        if self._journal is None:
            self._journal = Journal(self.run_dir / "journal.jsonl", self.masker)
        return self._journal

    def _save(self) -> None:
        self.state.updated = time.time()
        self.state.variables = {
            k: v for k, v in self.variables.items() if not is_secret_name(k, self.runbook.front.secrets)
        }
        self.state.env = {
            k: v
            for k, v in self.exported.items()
            if not is_secret_name(k, self.runbook.front.secrets) and self.masker.mask(v) == v
        }
        save_state(self.run_dir / "state.json", self.state)

    def _stop_background(self, *, record: bool = True) -> None:
        """Stop the background cells (the whole process group of each); their output to the journal."""
        for rec in self.background.stop_all():
            how = "stopped" if rec.stopped else f"had exited ({rec.exit_code})"
            self.reporter.log(f"{rec.step}: background cell {how}")
            if record:
                self.journal.write(
                    {
                        "record": "background",
                        "step": rec.step,
                        "pid": rec.pid,
                        "exit_code": rec.exit_code,
                        "stopped": rec.stopped,
                        "stdout": tail(rec.stdout),
                        "stderr": tail(rec.stderr),
                    }
                )

    def _finish(self, results: list[StepResult], error: RunbookError | None, undone: list[str]) -> RunResult:
        self._stop_background()
        status = "ok" if error is None else "interrupted" if isinstance(error, RunInterrupted) else "failed"
        self.state.status = status
        self.state.exit_code = error.exit_code if error else 0
        self.state.error = self.masker.mask(error.message) if error else ""
        if error is None:
            self.state.next_step = None
        self._save()
        err = self.masker.mask_data(error.to_dict()) if error else None
        if err is not None:
            err["hint"] = str(err.get("hint", "")).replace("RUN_ID", self.run_id)
            err["context"]["run_id"] = self.run_id
        self.journal.write(
            {
                "record": "end",
                "status": status,
                "exit_code": self.state.exit_code,
                "error": err["message"] if err else "",
                "undone": undone,
            }
        )
        (self.run_dir / "report.md").write_text(render_report(self.journal.records, self.masker))
        os.chmod(self.run_dir / "report.md", 0o600)
        if error is None:
            self.reporter.finished({"run_id": self.run_id, "status": status})
        else:
            self.reporter.failed(error)
        return RunResult(
            self.run_id, self.state.file, status, self.state.exit_code, results, self.run_dir, err, undone
        )

    # --- runs ---------------------------------------------------------------------------------------

    def _select(self, step: str | None, from_: str | None) -> list[Step]:
        for name in (step, from_):
            if name is not None and self.runbook.step(name) is None:
                listed = ", ".join(s.name for s in self.runbook.steps)
                raise InvalidArgument(f"no step {name!r} in the runbook", hint=f"steps: {listed}")
        if step is not None:
            return [s for s in self.runbook.steps if s.name == step]
        seq = list(self.runbook.sequence())
        if from_ is not None:
            names = [s.name for s in seq]
            if from_ not in names:
                seq = list(self.runbook.steps)
                names = [s.name for s in seq]
            seq = seq[names.index(from_) :]
        return seq

    def run(self, step: str | None = None, from_: str | None = None) -> RunResult:
        """Run the runbook (or one ``step``, or from ``from_`` on); see the module docstring."""
        return self._execute(self._select(step, from_), fresh=True)

    def _execute(self, steps: list[Step], *, fresh: bool) -> RunResult:
        try:
            return self._execute_steps(steps, fresh=fresh)
        finally:
            self._stop_background(record=False)  # an unexpected error: nothing left running

    def _execute_steps(self, steps: list[Step], *, fresh: bool) -> RunResult:
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if fresh:
            self.journal.write(
                {
                    "record": "run",
                    "run_id": self.run_id,
                    "file": self.state.file,
                    "title": self.runbook.title,
                    "target": self.binding.decl.describe(),
                    "variables": {
                        k: v
                        for k, v in self.variables.items()
                        if not is_secret_name(k, self.runbook.front.secrets)
                    },
                    "steps": [s.name for s in steps],
                }
            )
        else:
            self.journal.write({"record": "resume", "run_id": self.run_id, "steps": [s.name for s in steps]})
        self.reporter.started({"runbook": self.state.file, "run_id": self.run_id, "steps": len(steps)})
        missing = [s for s in self.runbook.front.secrets if not self.base_env.get(s)]
        if missing:
            self.reporter.warning("declared secrets not set in the environment: " + ", ".join(missing))
        if fresh:
            self.state.selected = [s.name for s in steps]
        results: list[StepResult] = []
        done: list[Step] = [s for s in self.runbook.steps if s.name in self.state.done]
        total = len(steps)
        for i, step in enumerate(steps, 1):
            self.state.next_step = step.name
            self._save()
            try:
                res = self._run_step(step, i, total)
            except RunbookError as e:
                failed = getattr(self, "_failed_result", None)
                if failed is not None and failed.name == step.name:
                    results.append(failed)
                else:
                    status = (
                        "declined"
                        if isinstance(e, StepDeclined)
                        else ("interrupted" if isinstance(e, RunInterrupted) else "failed")
                    )
                    res = StepResult(step.name, str(step.kind), status, message=self.masker.mask(e.message))
                    results.append(res)
                    self.journal.write(
                        {
                            "record": "step",
                            "step": step.name,
                            "kind": str(step.kind),
                            "line": step.line,
                            "command": self._command(step),
                            "status": status,
                            "message": e.message,
                        }
                    )
                undone = (
                    [] if isinstance(e, StepDeclined | RunInterrupted) else self._offer_undo(done, results)
                )
                return self._finish(results, e, undone)
            results.append(res)
            if res.status == "ok":
                self.state.done.append(step.name)
                done.append(step)
            else:
                self.state.skipped.append(step.name)
        return self._finish(results, None, [])

    def _offer_undo(self, done: list[Step], results: list[StepResult]) -> list[str]:
        undo = [self.runbook.step(s.undo) for s in reversed(done) if s.undo and s.kind is not StepKind.read]
        steps = [s for s in undo if s is not None]
        if not steps or self.offer_undo_fn is None or not self.offer_undo_fn(steps):
            return []
        undone: list[str] = []
        for step in steps:
            try:
                res = self._run_step(step, 0, len(steps), undoing=True)
            except RunbookError as e:
                self.reporter.warning(f"undo step {step.name} failed: {e.message}; stopping the undo")
                results.append(
                    StepResult(step.name, str(step.kind), "failed", message=self.masker.mask(e.message))
                )
                break
            results.append(res)
            undone.append(step.name)
        return undone

    @classmethod
    def resume(cls, run_id: str, *, runs_dir_path: str | Path | None = None, **kwargs: Any) -> RunResult:
        """Continue the run ``run_id`` at its saved position (refuses when the runbook's steps changed)."""
        run_dir = runs_dir(runs_dir_path) / run_id
        state = load_state(run_dir / "state.json")
        if state.status == "ok":
            raise PreconditionFailed(f"run {run_id} already finished", hint="start a new run")
        runbook = read_runbook(state.file)
        if runbook.digest() != state.digest:
            raise PreconditionFailed(
                f"the steps of {state.file} changed since run {run_id} stopped",
                hint="start a new run (redisops runbook run FILE --from STEP)",
            )
        ex = cls(runbook, variables=state.variables, runs_dir_path=runs_dir_path, run_id=run_id, **kwargs)
        ex.state = state
        ex.exported = dict(state.env)
        for name in state.done:
            ex.outcomes[name] = {"status": "ok"}
        chosen = state.selected or [s.name for s in runbook.sequence()]
        seq = [s for name in chosen if (s := runbook.step(name)) is not None]
        names = [s.name for s in seq]
        start = names.index(state.next_step) if state.next_step in names else len(names)
        state.status = "running"
        # the background cells that ran before the stop were stopped with it: start them again first
        again = [s for s in seq[:start] if s.background and s.name in state.done]
        return ex._execute(again + seq[start:], fresh=False)
