"""Running a catalogue operation from a command: plan, confirm, run with events and Ctrl-C, render.

Every command that changes something is a thin rendering of a catalogue operation; these helpers are
the part they share:

* :func:`plan_or_run` is the one dry-run-or-run path: ``--dry-run`` prints ``target.plan(op, params)``
  (``-o json``: the plan's ``to_dict()`` is the only output) and exits 15
  (:class:`~redisops.errors.PlanBlocked`) when the real run would refuse; otherwise the run (the plan
  shown and confirmed first when the change needs a question) and its result returned;
* :func:`run` (the same function, for commands without ``--dry-run``) runs ``target.run(op, params,
  on_event=..., cancel=..., confirm=...)`` with the event stream rendered on stderr (nothing for JSON)
  and Ctrl-C cancelling the operation's token; given a ``question`` it first shows the plan (unless
  ``--yes``), refuses a blocked plan, and asks;
* :func:`print_plan` is the one plan renderer: the plan's lines (:func:`plan_lines`, or a command's own
  :data:`PlanLines`) wrapped on words at the console's width (the terminal's, ``COLUMNS``, else 80),
  continuation lines hanging under the text of their line (:func:`wrap_line`);
* :func:`print_json` prints one JSON object (the result's ``to_dict()`` / ``jsonable``).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

import typer

from redisops.cli.common import Output, confirm, console, emit, err_console
from redisops.events import jsonable

if TYPE_CHECKING:
    from rich.console import Console

    from redisops.cancel import CancelToken
    from redisops.errors import PlanBlocked
    from redisops.events import EventSink
    from redisops.ops.catalogue import Plan
    from redisops.ops.target import Target

__all__ = [
    "Line",
    "PlanLines",
    "emit_checked",
    "events",
    "plan_lines",
    "plan_or_run",
    "print_json",
    "print_lines",
    "print_plan",
    "run",
    "wrap_line",
]


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


class Line(NamedTuple):
    """One line of a plan for people, and its style (rich style name; "" plain)."""

    text: str
    style: str = ""


#: a plan for people, line by line (the operation's own form, e.g. deploy's diff, backup's numbered steps)
PlanLines = Callable[["Plan"], Sequence[Line | str]]

#: a word and the spaces before it
_WORD = re.compile(r"( *)(\S+)")
#: the least of a cut word that goes on the line it starts on
_MIN_CUT = 8
#: what a continuation line hangs under: a list marker ("1. ", "- "), a label ("note: "), a column
#: ("stage           "): the text after it
_HANG = re.compile(r"(?:\d+\.|[-*+]) +|[A-Za-z][\w ]{0,23}: +(?=\S)|\S+ {2,}(?=\S)")


def _cut(word: str, room: int) -> int:
    """Where to cut a word too long for ``room`` columns: after its last ``/`` in the second half of
    the room (a path breaks between folders), else at the room's end."""
    slash = word.rfind("/", 0, room)
    return slash + 1 if slash >= room // 2 else room


def wrap_line(text: str, width: int) -> list[str]:
    """``text`` wrapped on words to ``width`` columns: its indent kept, continuation lines hanging under
    the text after a list marker, a label or a first column (else two columns in), the spaces between
    words kept; a word longer than a continuation line (a path) is cut, filling the line it starts on.
    A line that fits is returned whole."""
    if len(text) <= width:
        return [text]
    width = max(width, 20)
    body = text.lstrip(" ")
    indent = len(text) - len(body)
    m = _HANG.match(body)
    hang = indent + (len(m.group(0)) if m and len(m.group(0)) <= width // 2 else 2)
    hang = max(min(hang, width - 20), 0)
    out: list[str] = []
    line, fresh = " " * indent, True  # fresh: nothing on the line but its indent
    for space, word in _WORD.findall(body):
        sep = "" if fresh else space
        if len(line) + len(sep) + len(word) <= width:
            line += sep + word
        else:
            room = width - len(line) - len(sep)
            if fresh or (len(word) > width - hang and room >= _MIN_CUT):  # fits no line: cut it here
                cut = _cut(word, room)
                out.append(line + sep + word[:cut])
                word = word[cut:]
            else:
                out.append(line)
            line = " " * hang
            while len(line) + len(word) > width:
                cut = _cut(word, width - hang)
                out.append(line + word[:cut])
                word = word[cut:]
            line += word
        fresh = False
    out.append(line)
    return out


def print_lines(lines: Sequence[Line | str], con: Console | None = None, style: str = "") -> None:
    """Lines for people, each wrapped to the console's width (:func:`wrap_line`), never read as markup;
    ``style`` for the lines that have none."""
    con = con or console
    width = con.width
    for line in lines:
        text, own = (line, "") if isinstance(line, str) else line
        for part in wrap_line(text, width):
            con.print(part, markup=False, highlight=False, soft_wrap=True, style=own or style or None)


def plan_lines(
    plan: Plan, title: str | None = None, body: Sequence[Line | str] | None = None
) -> list[Line | str]:
    """The usual plan for people: ``title`` (default ``plan (<op>):``) and the steps, or ``body`` in
    their place; then the warnings (``note:``) and the blockers (``BLOCKED:``)."""
    lines: list[Line | str] = []
    if body is not None:
        lines += body
    else:
        lines.append(Line(title or f"plan ({plan.op}):"))
        lines += [Line(f"  {step}") for step in plan.steps]
    lines += [Line(f"  note: {w}", "yellow") for w in plan.warnings]
    lines += [Line(f"  BLOCKED: {b}", "bold red") for b in plan.blockers]
    return lines


def print_plan(plan: Plan, lines: PlanLines | None = None, *, aside: bool = False) -> None:
    """The one plan renderer (text): ``lines(plan)`` (default :func:`plan_lines`) wrapped at the width;
    ``aside``: on stderr and dim (before a question, where stdout keeps only the result)."""
    text = lines(plan) if lines is not None else plan_lines(plan)
    if aside:
        print_lines(text, err_console, style="dim")
    else:
        print_lines(text)


def emit_checked(output: Output, data: Any, text: Callable[[], None], check: Callable[[], None]) -> None:
    """A result that may still fail (a blocked plan, a verify with differences): printed (``-o json``:
    ``data``; else ``text()``), then ``check()``. Its error exits with its code; with ``-o json`` the
    document printed is the only output (the error adds no second JSON object)."""
    from redisops.errors import RedisOpsError

    emit(output, data, text)
    try:
        check()
    except RedisOpsError as e:
        if output is Output.json:
            raise typer.Exit(e.exit_code) from None
        raise


def _refuse_if_blocked(plan: Plan) -> None:
    if plan.blocked:
        raise _blocked(plan)


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


def _lines(title: str | None, lines: PlanLines | None) -> PlanLines | None:
    """A command's plan lines: its own, else the usual ones under ``title``, else the usual ones."""
    if lines is None and title is not None:
        return lambda plan: plan_lines(plan, title)
    return lines


def plan_or_run(
    target: Target,
    op: str,
    params: Mapping[str, Any],
    output: Output,
    *,
    dry_run: bool = False,
    yes: bool = False,
    question: str | Callable[[Plan], str] | None = None,
    title: str | None = None,
    lines: PlanLines | None = None,
    label: str | None = None,
    plan: Plan | None = None,
    aside: bool = False,
    text: Callable[[Any], None] | None = None,
) -> Any:
    """The one dry-run-or-run path of a command: run ``op`` on ``target`` with the event stream
    rendered and Ctrl-C cancelling it, or with ``dry_run`` only show what it would do.

    ``dry_run``: the plan printed (``-o json``: only the plan), PlanBlocked (exit 15) when the real run
    would refuse, and None returned: nothing changed.

    Else, with a ``question`` (a change that needs confirming): without ``yes`` the plan is shown
    first (text), a blocked plan refuses (exit 15) before anything is asked, then the question is
    asked (no terminal: AbortedError, exit 10), and the run does the plan that was confirmed (it is
    planned once); with ``yes`` the catalogue plans just before running (a blocked plan refuses there
    too). ``plan``: one the command already made (and looked at): it is shown (also with ``yes``),
    refused when blocked, and run. The result is returned; the audit line is appended either way.

    ``lines`` (or ``title``) render the plan for people (:func:`print_plan`); ``aside``: before the
    question the plan goes to stderr, dim (stdout keeps the result). ``label`` prefixes the phase
    lines (default: ``op``). ``text``: the result is printed, ``text(result)`` for people, its JSON
    for ``-o json``."""
    if dry_run:
        shown = plan if plan is not None else target.plan(op, params)
        emit_checked(output, shown.to_dict(), lambda: print_plan(shown, _lines(title, lines)),
                     lambda: _refuse_if_blocked(shown))  # fmt: skip
        return None
    if question is not None and plan is None and not yes:
        plan = target.plan(op, params)
    if plan is not None:
        if output is Output.text:
            print_plan(plan, _lines(title, lines), aside=aside)
        if plan.blocked:
            raise _blocked(plan)
    if question is not None and not yes:
        confirm(question(plan) if callable(question) and plan is not None else str(question), yes=False)
    with events(output, op if label is None else label) as (sink, token):
        result = target.run(op, params, on_event=sink, cancel=token, confirm=question is not None, plan=plan)
    if text is not None:
        emit(output, result, lambda: text(result))
    return result


#: a command without --dry-run runs: :func:`plan_or_run` (``dry_run`` False)
run = plan_or_run
