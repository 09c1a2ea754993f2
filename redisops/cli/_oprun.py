"""Running a catalogue operation from a command: plan, confirm, run with events and Ctrl-C, render.

The restore, Kubernetes, manifests/lint and sandbox commands are thin renderings of catalogue
operations; these helpers are the part they share:

* :func:`dry_run` prints ``target.plan(op, params)`` (``-o json``: the plan's ``to_dict()`` is the only
  output) and exits 15 (:class:`~redisops.errors.PlanBlocked`) when the real run would refuse;
* :func:`run` runs ``target.run(op, params, on_event=..., cancel=..., confirm=...)`` with the event
  stream rendered on stderr (nothing for JSON) and Ctrl-C cancelling the operation's token; given a
  ``question`` it first shows the plan (unless ``--yes``), refuses a blocked plan, and asks;
* :func:`print_json` prints one JSON object (the result's ``to_dict()`` / ``jsonable``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from redisops.cli.common import Output, confirm, console
from redisops.events import jsonable

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.errors import PlanBlocked
    from redisops.events import EventSink
    from redisops.ops.catalogue import Plan
    from redisops.ops.target import Target

__all__ = ["PlanText", "dry_run", "events", "print_json", "run", "show_plan"]


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(jsonable(data), indent=2) + "\n")


@contextmanager
def events(output: Output, label: str = "") -> Iterator[tuple[EventSink, CancelToken]]:
    """The sink the operation reports to (rendered on stderr for text, silent for JSON) and the cancel
    token the first Ctrl-C sets (the operation stops cleanly and raises Interrupted, exit 130)."""
    from redisops.cli._events import op_events

    with op_events(output, label) as ev:
        yield ev.sink, ev.cancel


#: renders a plan for people (the operation's own form, e.g. deploy's diff); None: steps and notes
PlanText = Callable[["Plan"], None]


def show_plan(output: Output, plan: Plan, title: str | None = None, text: PlanText | None = None) -> None:
    """The plan: ``-o json`` its ``to_dict()``; text the steps (or ``text(plan)``), warnings and blockers."""
    if output is Output.json:
        print_json(plan.to_dict())
        return
    if text is not None:
        text(plan)
    else:
        console.print(title or f"plan ({plan.op}):", markup=False)
        for step in plan.steps:
            console.print(f"  {step}", markup=False, soft_wrap=True)
    for warning in plan.warnings:
        console.print(f"  note: {warning}", markup=False, soft_wrap=True, style="yellow")
    for blocker in plan.blockers:
        console.print(f"  BLOCKED: {blocker}", markup=False, soft_wrap=True, style="bold red")


def _blocked(plan: Plan) -> PlanBlocked:
    """The refusal of a blocked plan: PlanBlocked (exit 15) naming the first blocker, with the hint of
    the refusal the plan recorded (``details["error"]``) when there is one."""
    from redisops.errors import PlanBlocked

    blockers = list(plan.blockers)
    more = f" (and {len(blockers) - 1} more, listed above)" if len(blockers) > 1 else ""
    error = plan.details.get("error") if isinstance(plan.details, Mapping) else None
    hint = str(error.get("hint") or "") if isinstance(error, Mapping) else ""
    return PlanBlocked(
        f"the real run would refuse: {blockers[0]}{more}; nothing was changed",
        hint=hint or "fix what blocks it, then run again",
        context={"op": plan.op, "blockers": blockers},
    )


def dry_run(
    target: Target,
    op: str,
    params: Mapping[str, Any],
    output: Output,
    title: str | None = None,
    text: PlanText | None = None,
) -> Plan:
    """``--dry-run``: print the plan (changes nothing); a blocked plan exits 15. With ``-o json`` the
    plan (``"blocked": true``) is the only output."""
    plan = target.plan(op, params)
    show_plan(output, plan, title, text)
    if plan.blocked:
        if output is Output.json:
            raise typer.Exit(_blocked(plan).exit_code)
        raise _blocked(plan)
    return plan


def run(
    target: Target,
    op: str,
    params: Mapping[str, Any],
    output: Output,
    *,
    question: str | Callable[[Plan], str] | None = None,
    yes: bool = False,
    title: str | None = None,
    text: PlanText | None = None,
    label: str = "",
) -> Any:
    """Run ``op`` on ``target`` with the event stream rendered and Ctrl-C cancelling it.

    With a ``question`` (a change that needs confirming): without ``yes`` the plan is shown first
    (text), a blocked plan refuses (exit 15) before anything is asked, then the question is asked
    (no terminal: AbortedError, exit 10), and the run does the plan that was confirmed (it is planned
    once); with ``yes`` the catalogue plans just before running (a blocked plan refuses there too).
    Either way the audit line is appended. ``label`` prefixes the phase lines (default: ``op``)."""
    confirmed = False
    shown: Plan | None = None
    if question is not None:
        if not yes:
            shown = target.plan(op, params)
            if output is Output.text:
                show_plan(output, shown, title, text)
            if shown.blocked:
                raise _blocked(shown)
            confirm(question(shown) if callable(question) else question, yes=False)
        confirmed = True
    with events(output, label or op) as (sink, token):
        return target.run(op, params, on_event=sink, cancel=token, confirm=confirmed, plan=shown)
