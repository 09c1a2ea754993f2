"""What the inspection commands (``health``, ``info``, ``slowlog`` ...) share: the target (the
options of :mod:`redisops.cli.options`: ``--target``, ``--url``, the password options ...), the watch
loop and its Ctrl-C exit. Each command runs its catalogue operation (``target.run("info.get", ...)``)
inside :func:`redisops.cli._events.op_events`, whose token the first Ctrl-C cancels.

Passwords follow one precedence for every command (docs/targets.md) and never appear in output or
errors.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from redisops.cli.common import Output, emit, to_jsonable
from redisops.cli.options import MAX_SECONDS, TargetArgs, positive, seconds_option, with_target

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.ops.target import Target

__all__ = [
    "MAX_SECONDS",
    "CountOpt",
    "TargetArgs",
    "WatchOpt",
    "json_line",
    "positive",
    "redis_target",
    "repeat",
    "seconds_option",
    "watch_run",
    "with_redis_target",
]

F = TypeVar("F", bound=Callable[..., Any])

WatchOpt = Annotated[
    float | None, seconds_option("--watch", "-w", help="repeat every SECONDS (> 0) until Ctrl-C (or --count)")
]
CountOpt = Annotated[
    int | None, typer.Option("--count", help="stop after N rounds of --watch/--follow", min=1)
]


def with_redis_target(*, config: bool = False, kube: bool = False) -> Callable[[F], F]:
    """The inspection commands' shared options (:func:`redisops.cli.options.with_target`): the target,
    the Redis options and ``--timeout`` (5 s); ``--config`` when ``config``; the Kubernetes options
    (``--kubeconfig/--context/-n``) when ``kube``."""
    return with_target(timeout=5.0, config=config, kube=kube)


def redis_target(where: TargetArgs) -> Target:
    """The target of an inspection command, its Redis endpoint resolved now so a missing sandbox or
    an unreadable password file is reported first."""
    target = where.build()
    _ = target.redis
    return target


def repeat(
    watch: float | None,
    count: int | None,
    once: Callable[[int], None],
    *,
    what: str,
    cancel: CancelToken | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``once(i)``; with ``watch``, again every ``watch`` seconds, ``count`` times in all.

    Returns the number of rounds run. The pauses wait on ``cancel`` when given (the first Ctrl-C of
    :func:`~redisops.cli._events.op_events` cancels it). Ctrl-C, or the cancelled token, raises
    :class:`~redisops.errors.Interrupted` naming ``what`` was stopped and how many rounds ran (the CLI
    exits 130 with that one line).
    """
    from redisops.errors import Interrupted

    pause = cancel.sleep if cancel is not None else sleep
    i = 0
    try:
        while True:
            once(i)
            i += 1
            if watch is None or (count is not None and i >= count):
                return i
            pause(watch)
    except (KeyboardInterrupt, Interrupted):
        rounds = f"{i} round{'s' if i != 1 else ''}"
        raise Interrupted(f"interrupted; {what} stopped after {rounds}, nothing was changed") from None


def json_line(data: Any) -> None:
    """One compact JSON document on its own line (for --watch/--follow with ``-o json``)."""
    sys.stdout.write(json.dumps(to_jsonable(data)) + "\n")
    sys.stdout.flush()


#: a result for JSON (its data) and for people (a function printing it)
Rendered = tuple[Any, Callable[[], None]]


def watch_run(
    target: Target,
    op: str,
    params: dict[str, Any],
    output: Output,
    render: Callable[[Any], Rendered],
    *,
    watch: float | None,
    count: int | None,
    what: str,
) -> None:
    """Run ``op`` once, or with ``watch`` every ``watch`` seconds (``count`` rounds in all, Ctrl-C
    exits 130 naming ``what``): each result shown as ``render(result)`` gives it, JSON (one line a
    round when watching) or text."""
    from redisops.cli._events import op_events

    with op_events(output) as ev:

        def once(_i: int) -> None:
            data, text = render(target.run(op, params, on_event=ev.sink, cancel=ev.cancel))
            if watch is not None and output is Output.json:
                json_line(data)
            else:
                emit(output, data, text)

        repeat(watch, count, once, what=what, cancel=ev.cancel)
