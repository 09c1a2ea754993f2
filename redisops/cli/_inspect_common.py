"""What the inspection commands (``health``, ``info``, ``slowlog`` ...) share: the target (the
options of :mod:`redisops.cli.options`: ``--target``, ``--url``, the password options ...), the watch
loop and its Ctrl-C exit.

Passwords follow one precedence for every command (docs/targets.md) and never appear in output or
errors.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from redisops.cli.common import to_jsonable
from redisops.cli.options import (
    MAX_SECONDS,
    AskPasswordOpt,
    InsecureOpt,
    PasswordEnvOpt,
    PasswordFileOpt,
    TargetOpt,
    TimeoutOpt,
    TlsCaOpt,
    UrlOpt,
    UserOpt,
    build_target,
    positive,
)

if TYPE_CHECKING:
    from redisops.ops.target import Target

__all__ = [
    "MAX_SECONDS",
    "AskPasswordOpt",
    "CountOpt",
    "InsecureOpt",
    "PasswordEnvOpt",
    "PasswordFileOpt",
    "TargetOpt",
    "TimeoutOpt",
    "TlsCaOpt",
    "UrlOpt",
    "UserOpt",
    "WatchOpt",
    "json_line",
    "positive",
    "redis_target",
    "repeat",
]

WatchOpt = Annotated[
    float | None,
    typer.Option(
        "--watch",
        "-w",
        help="repeat every SECONDS (> 0) until Ctrl-C (or --count)",
        max=MAX_SECONDS,
        callback=positive,
    ),
]
CountOpt = Annotated[
    int | None, typer.Option("--count", help="stop after N rounds of --watch/--follow", min=1)
]


def redis_target(
    target_name: str | None,
    url: str | None,
    password_file: Path | None,
    password_env: str | None,
    ask_password: bool,
    user: str | None,
    tls_ca: Path | None,
    tls_insecure: bool,
    timeout: float,
) -> Target:
    """The target of an inspection command (:func:`redisops.cli.options.build_target`), its Redis
    endpoint resolved now so a missing sandbox or an unreadable password file is reported first."""
    target = build_target(
        target=target_name,
        url=url,
        user=user,
        password_file=password_file,
        password_env=password_env,
        ask_password=ask_password,
        tls_ca=tls_ca,
        tls_insecure=tls_insecure,
        timeout=timeout,
    )
    _ = target.redis
    return target


def repeat(
    watch: float | None,
    count: int | None,
    once: Callable[[int], None],
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``once(i)``; with ``watch``, again every ``watch`` seconds, ``count`` times in all.

    Returns the number of rounds run. Ctrl-C raises :class:`~redisops.errors.Interrupted` naming
    ``what`` was stopped and how many rounds ran (the CLI exits 130 with that one line).
    """
    from redisops.errors import Interrupted

    i = 0
    try:
        while True:
            once(i)
            i += 1
            if watch is None or (count is not None and i >= count):
                return i
            sleep(watch)
    except KeyboardInterrupt:
        rounds = f"{i} round{'s' if i != 1 else ''}"
        raise Interrupted(f"interrupted; {what} stopped after {rounds}, nothing was changed") from None


def json_line(data: Any) -> None:
    """One compact JSON document on its own line (for --watch/--follow with ``-o json``)."""
    sys.stdout.write(json.dumps(to_jsonable(data)) + "\n")
    sys.stdout.flush()
