"""``redisops runbook list | show | lint | plan | run | resume | runs``: executable Markdown runbooks.

A runbook is a Markdown file (docs/runbooks.md) whose shell and ``redisops`` cells are its steps. FILE is
a path or a name looked up in ``./runbooks/`` and then in the runbooks shipped with redisops.

Exit codes (docs/errors.md): 0 ok; 30 a step failed; 31 an expectation failed; 32 a precondition failed
(also: the runbook does not parse, or changed since the run being resumed); 33 a confirmation was
declined or not given; 34 a step timed out; 35 interrupted (``resume RUN_ID`` continues); ``lint``: 21
for an error, 20 for a warning with ``--strict``; 2 a bad option or ``-v`` value; 6 no such runbook.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from redisops.cli._events import TextEvents, interrupt_cancels
from redisops.cli.common import Output, OutputOpt, console, emit, err_console, error_boundary
from redisops.errors import InvalidArgument

__all__ = ["app", "register"]

app = typer.Typer(
    help="Executable Markdown runbooks: list, show, lint, plan, run, resume.", no_args_is_help=True
)

FileArg = Annotated[
    str, typer.Argument(help="a runbook: a path, or a name in ./runbooks or the shipped ones")
]
VarsOpt = Annotated[
    list[str] | None, typer.Option("--var", "-v", help="set a variable: -v NAME=VALUE (repeatable)")
]
RunsDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", help="where runs are kept [default: $REDISOPS_RUNS_DIR or STATE_DIR/runbook-runs]"
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="approve mutating steps (never destructive ones)")]
ApproveOpt = Annotated[
    list[str] | None, typer.Option("--approve", help="approve this destructive step by name (repeatable)")
]
UndoOpt = Annotated[
    bool, typer.Option("--undo-on-failure", help="on failure, run the undo steps without asking")
]

_STATUS_STYLE = {
    "ok": "green",
    "undone": "cyan",
    "skipped": "dim",
    "would-run": "yellow",
    "would-skip": "dim",
}


def register(root: typer.Typer) -> None:
    """Add the ``runbook`` group to the root app."""
    root.add_typer(app, name="runbook")


def _vars(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidArgument(f"-v {pair!r} is not NAME=VALUE", hint="e.g. -v source=redis-service")
        out[name.strip()] = value
    return out


def _interactive() -> bool:
    return sys.stdin.isatty()


def _callbacks(output: Output, undo_on_failure: bool) -> dict[str, Any]:
    def confirm(step: Any, question: str) -> bool:
        return _interactive() and output is Output.text and typer.confirm(question, default=False, err=True)

    def type_target(step: Any, name: str) -> str:
        if not _interactive() or output is not Output.text:
            return ""
        return str(
            typer.prompt(f"step {step.name} is destructive; type {name!r} to run it", default="", err=True)
        )

    def offer_undo(steps: list[Any]) -> bool:
        if undo_on_failure:
            return True
        names = ", ".join(s.name for s in steps)
        return (
            _interactive()
            and output is Output.text
            and typer.confirm(f"the run failed; run the undo steps ({names})?", default=False, err=True)
        )

    def prompt(step: str, name: str, default: str, secret: bool) -> str | None:
        """Runme's ``export X="default"`` prompt (None: no one to ask, the executor decides)."""
        if not _interactive() or output is not Output.text:
            return None
        return str(
            typer.prompt(
                f"step {step}: {name}", default=default, hide_input=secret, show_default=not secret, err=True
            )
        )

    return {"confirm": confirm, "type_target": type_target, "offer_undo": offer_undo, "prompt": prompt}


def _render_steps(result: Any) -> None:
    for s in result.steps:
        style = _STATUS_STYLE.get(s.status, "red")
        extra = f" exit {s.exit_code}" if s.exit_code not in (None, 0) else ""
        console.print(f"[{style}]{s.status:<11}[/{style}] {escape(s.name)} ({s.kind}){extra}")
        if s.message and s.status != "ok":
            for line in s.message.splitlines():
                console.print(f"            {escape(line)}", markup=True)


def _finish(output: Output, result: Any) -> None:
    def text() -> None:
        _render_steps(result)
        if result.run_dir is not None:
            console.print(f"run {result.run_id}: [bold]{result.status}[/bold] — report {result.report}")
        if result.error:
            err_console.print(f"error: {escape(result.error['message'])}")
            if result.error.get("hint"):
                err_console.print(f"hint: {escape(result.error['hint'].replace('RUN_ID', result.run_id))}")

    emit(output, result.to_dict(), text)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@app.command("list")
def list_cmd(output: OutputOpt = Output.text) -> None:
    """The runbooks found in ./runbooks and shipped with redisops."""
    with error_boundary(output):
        from redisops.runbooks import list_runbooks

        entries = list_runbooks()

        def text() -> None:
            for e in entries:
                console.print(f"{escape(e.name):<28} {escape(e.title)}  [dim]({e.source})[/dim]")
            if not entries:
                console.print("no runbooks found")

        emit(output, {"runbooks": [e.to_dict() for e in entries]}, text)


@app.command("show")
def show_cmd(file: FileArg, output: OutputOpt = Output.text) -> None:
    """The runbook's target, variables and steps (kind, what it runs, expectations, undo)."""
    with error_boundary(output):
        from redisops.runbooks import load

        rb = load(file)
        data = rb.to_dict()

        def text() -> None:
            console.print(
                f"[bold]{escape(rb.title)}[/bold]  ({escape(str(rb.path))}, target {data['target']})"
            )
            for v in data["variables"]:
                if v["default"] is not None:
                    value = f"= {v['default']!r}"
                else:
                    value = "(required: -v NAME=VALUE)" if v.get("required") else "(optional)"
                console.print(f"  variable {v['name']} ({v['type']}) {value}  {escape(v['description'])}")
            for s in data["steps"]:
                flags = [f"undo: {s['undo']}"] if s["undo"] else []
                flags += ["undo only"] if s["undo_only"] else []
                flags += [f"expect: {s['expect']}"] if s["expect"] != "exit 0" else []
                console.print(
                    f"  {s['line']:>4}  {escape(s['name'])} [{s['kind']}] {escape(', '.join(flags))}"
                )
                what = f"{s['op']} {json.dumps(s['args'])}" if s["op"] else s["body"]
                for line in what.splitlines()[:6]:
                    console.print(f"        [dim]{escape(line)}[/dim]")

        emit(output, data, text)


@app.command("lint")
def lint_cmd(
    file: FileArg,
    strict: Annotated[bool, typer.Option("--strict", help="exit 20 on warnings too")] = False,
    output: OutputOpt = Output.text,
) -> None:
    """Check a runbook: it parses, names are unique, undo/requires exist, variables are declared,
    destructive steps can be approved, operations and their arguments are valid."""
    with error_boundary(output):
        from redisops.runbooks import find_runbook, lint_file

        path = find_runbook(file)
        findings = lint_file(path)

        def text() -> None:
            for f in findings:
                style = "red" if f.severity == "error" else "yellow"
                console.print(f"{path}:{f.line}: [{style}]{f.severity}[/{style}] {escape(f.message)}")
            if not findings:
                console.print(f"{path}: ok")

        emit(output, {"file": str(path), "findings": [f.to_dict() for f in findings]}, text)
        if any(f.severity == "error" for f in findings):
            raise typer.Exit(21)
        if strict and findings:
            raise typer.Exit(20)


def _drive(
    output: Output,
    call: Callable[..., Any],
    *,
    yes: bool,
    approve: list[str] | None,
    undo_on_failure: bool,
    runs_dir: Path | None,
) -> None:
    """Run or resume: ``call`` gets the options both share and the live keywords (the event view, a
    CancelToken that Ctrl-C trips, the confirmation callbacks); its result is printed."""
    from redisops.cancel import CancelToken

    view = TextEvents("runbook") if output is Output.text else None
    shared = {"yes": yes, "approve_destructive": set(approve or []), "runs_dir_path": runs_dir}
    with interrupt_cancels(CancelToken()) as token:
        result = call(**shared, on_event=view, cancel=token, **_callbacks(output, undo_on_failure))
    if view is not None:
        view.close()
    _finish(output, result)


@app.command("plan")
def plan_cmd(
    file: FileArg, var: VarsOpt = None, runs_dir: RunsDirOpt = None, output: OutputOpt = Output.text
) -> None:
    """Run the read-only steps and preconditions for real; print what each changing step would do."""
    with error_boundary(output):
        from redisops.runbooks import plan

        view = TextEvents("runbook") if output is Output.text else None
        result = plan(file, variables=_vars(var), on_event=view, runs_dir_path=runs_dir)
        if view is not None:
            view.close()
        _finish(output, result)


@app.command("run")
def run_cmd(
    file: FileArg,
    step: Annotated[str | None, typer.Option("--step", help="run only this step")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="start at this step")] = None,
    yes: YesOpt = False,
    approve: ApproveOpt = None,
    var: VarsOpt = None,
    undo_on_failure: UndoOpt = False,
    runs_dir: RunsDirOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Run a runbook step by step; stops at the first failure (the position is saved for resume)."""
    with error_boundary(output):
        from redisops.runbooks import run

        call = functools.partial(run, file, step=step, from_=from_, variables=_vars(var))
        _drive(output, call, yes=yes, approve=approve, undo_on_failure=undo_on_failure, runs_dir=runs_dir)


@app.command("resume")
def resume_cmd(
    run_id: Annotated[str, typer.Argument(help="the run to continue (redisops runbook runs)")],
    yes: YesOpt = False,
    approve: ApproveOpt = None,
    undo_on_failure: UndoOpt = False,
    runs_dir: RunsDirOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Continue a failed or interrupted run at the step it stopped (refused if the runbook changed)."""
    with error_boundary(output):
        from redisops.runbooks import resume

        call = functools.partial(resume, run_id)
        _drive(output, call, yes=yes, approve=approve, undo_on_failure=undo_on_failure, runs_dir=runs_dir)


@app.command("runs")
def runs_cmd(runs_dir: RunsDirOpt = None, output: OutputOpt = Output.text) -> None:
    """The runs kept (newest first): id, runbook, status, where it stopped."""
    with error_boundary(output):
        from redisops.runbooks import runs

        states = runs(runs_dir)

        def text() -> None:
            for s in states:
                where = f" at {s.next_step}" if s.next_step and s.status != "ok" else ""
                console.print(f"{s.run_id}  {s.status:<11} {escape(s.file)}{escape(where)}")
            if not states:
                console.print("no runs yet")

        emit(output, {"runs": [s.to_dict() for s in states]}, text)
