"""How a shell cell runs, with Runme's attributes: ``promptEnv`` prompts, ``background``, ``interactive``,
``cwd`` and ``interpreter`` (``ignore`` is handled by the parser: such a cell is documentation).

:class:`ShellCells` is a part of the step runner; the executor sets the attributes it reads.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

from redisops.cancel import CancelToken
from redisops.runbooks.errors import PreconditionFailed
from redisops.runbooks.masking import Masker
from redisops.runbooks.model import Runbook, Step
from redisops.runbooks.processes import BackgroundCells, has_terminal, run_attached
from redisops.runbooks.prompts import PromptFn, find_prompts, resolve, rewrite
from redisops.runbooks.shell import ShellOutcome, read_env, run_shell, shell_argv

__all__ = ["ShellCells", "prompt_names"]


def prompt_names(runbook: Runbook) -> set[str]:
    """The names the runbook's shell cells prompt for (``-v NAME=VALUE`` may give them)."""
    return {
        p.name
        for s in runbook.steps
        if s.is_shell and s.prompt_env != "never"
        for p in find_prompts(s.cell.body)
    }


class ShellCells:
    """Runs one shell cell (see the module docstring)."""

    runbook: Runbook
    masker: Masker
    cancel: CancelToken
    yes: bool
    variables: dict[str, Any]
    prompt_fn: PromptFn | None
    terminal: bool | None
    background: BackgroundCells

    def _env(self) -> dict[str, str]:
        raise NotImplementedError

    def _cwd(self) -> str | None:
        raise NotImplementedError

    def _secret(self, name: str) -> bool:
        raise NotImplementedError

    def _has_terminal(self) -> bool:
        return has_terminal() if self.terminal is None else self.terminal

    def _cell_preconditions(self, step: Step) -> None:
        """An ``interactive`` cell needs a terminal."""
        if step.is_shell and step.interactive and not step.background and not self._has_terminal():
            raise PreconditionFailed(
                f"step {step.name} is interactive (it needs a terminal) and this run has none",
                line=step.line,
                step=step.name,
                hint=f"run it from a terminal: redisops runbook run FILE --from {step.name}",
            )

    def _step_cwd(self, step: Step) -> str | None:
        """The cell's ``cwd`` joined with the runbook's (the frontmatter's ``cwd``, or its directory)."""
        base = self._cwd()
        if not step.cwd:
            return base
        path = Path(os.path.expanduser(step.cwd))
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        return str(path)

    def _prepared(self, step: Step) -> tuple[str, dict[str, str]]:
        """The body and environment after the cell's ``export NAME="default"`` prompts resolved."""
        env = self._env()
        prompts = find_prompts(step.cell.body)
        if not prompts:
            return step.cell.body, env
        names = {p.name for p in prompts}
        given = {k: str(v) for k, v in self.variables.items() if k in names}
        ask = None
        if self.prompt_fn is not None and not self.yes:
            ask = self.prompt_fn
        res = resolve(
            step.name, prompts, step.prompt_env, given=given, env=env, ask=ask, is_secret=self._secret
        )
        for name in res.secret:
            self.masker.add(res.values[name])
        if res.missing:
            flags = " ".join(f"-v {n}=..." for n in res.missing)
            raise PreconditionFailed(
                f"step {step.name} prompts for {', '.join(res.missing)} (promptEnv {step.prompt_env}) "
                "and there is no one to ask (--yes, or no terminal)",
                line=step.line,
                step=step.name,
                hint=f"pass {flags}, or run at a terminal without --yes",
            )
        return rewrite(step.cell.body, res.values), {**env, **res.values}

    def _shell(self, step: Step) -> str:
        return step.interpreter or self.runbook.front.shell

    def _run_cell(self, step: Step) -> ShellOutcome | int:
        """Run a shell cell: its outcome, or the pid of a background cell that was started."""
        body, env = self._prepared(step)
        cwd = self._step_cwd(step)
        if step.background:
            return self.background.start(step.name, shell_argv(body, self._shell(step)), env=env, cwd=cwd)
        if step.interactive:
            return self._run_interactive(step, body, env, cwd)
        return run_shell(
            body, env=env, cwd=cwd, shell=self._shell(step), timeout=step.timeout, cancel=self.cancel
        )

    def _run_interactive(self, step: Step, body: str, env: dict[str, str], cwd: str | None) -> ShellOutcome:
        fd, env_out = tempfile.mkstemp(prefix="runbook-env-")
        os.close(fd)
        try:
            rc, timed_out = run_attached(
                shell_argv(body, self._shell(step), env_out=True),
                env={**env, "__RUNBOOK_ENV_OUT": env_out},
                cwd=cwd,
                timeout=step.timeout,
                cancel=self.cancel,
            )
            end = read_env(env_out) if rc == 0 else None
            if rc in (-signal.SIGINT, 128 + signal.SIGINT) and not timed_out:
                # Ctrl-C went to the cell (the terminal's foreground group): it stops the run, as anywhere
                self.cancel.cancel(f"Ctrl-C in the interactive step {step.name}")
        finally:
            with contextlib.suppress(OSError):
                os.unlink(env_out)
        return ShellOutcome(
            rc,
            "",
            "",
            0.0,
            timed_out=timed_out,
            cancelled=self.cancel.cancelled and not timed_out,
            env=end,
        )
