"""What the inspection commands (``health``, ``info``, ``slowlog`` ...) share: the connection options
(with their bounds), the target (``--url`` or the sandbox's Redis), the watch loop and its Ctrl-C exit.

Passwords come from ``--password-env`` (default ``REDIS_PASSWORD`` when ``--url`` is given),
``--password-file`` or ``--ask-password`` (prompted, never echoed) and never appear in output or errors.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from redisops.cli.common import to_jsonable

if TYPE_CHECKING:
    from redisops.adapters.redis_conn import RedisEndpoint

__all__ = [
    "AskPasswordOpt",
    "CountOpt",
    "InsecureOpt",
    "PasswordEnvOpt",
    "PasswordFileOpt",
    "Target",
    "TimeoutOpt",
    "TlsCaOpt",
    "UrlOpt",
    "UserOpt",
    "WatchOpt",
    "json_line",
    "positive",
    "repeat",
    "resolve_target",
]

#: the longest --timeout/--watch/--interval accepted (a day): anything longer is a typo
MAX_SECONDS = 86_400.0


def positive(value: float | None) -> float | None:
    """A typer callback: seconds must be > 0 (typer's ``min=`` cannot say "greater than")."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be greater than 0 seconds, got {value:g}")
    return value


UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        "-u",
        help="redis://[user@]host[:port][/db] or rediss:// (TLS) [default: the sandbox target]",
        show_default=False,
    ),
]
PasswordFileOpt = Annotated[
    Path | None, typer.Option("--password-file", help="file whose first line is the password")
]
PasswordEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--password-env",
        help="env var holding the password [default: REDIS_PASSWORD when --url is given]",
        show_default=False,
    ),
]
AskPasswordOpt = Annotated[bool, typer.Option("--ask-password", help="prompt for the password (not echoed)")]
UserOpt = Annotated[str | None, typer.Option("--user", help="ACL user name")]
TlsCaOpt = Annotated[Path | None, typer.Option("--tls-ca", help="CA bundle for rediss:// (TLS)")]
InsecureOpt = Annotated[bool, typer.Option("--tls-insecure", help="do not verify the TLS certificate")]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout", help="connect and command timeout in seconds (> 0)", max=MAX_SECONDS, callback=positive
    ),
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


@dataclasses.dataclass(frozen=True)
class Target:
    """The Redis to inspect and, for the sandbox, its config file."""

    endpoint: RedisEndpoint
    sandbox_config: str | None = None


def resolve_target(
    url: str | None,
    password_file: Path | None,
    password_env: str | None,
    ask_password: bool,
    user: str | None,
    tls_ca: Path | None,
    tls_insecure: bool,
    timeout: float,
) -> Target:
    """The endpoint from the options, or the sandbox target when no --url is given."""
    from redisops.adapters.redis_conn import RedisEndpoint, read_password
    from redisops.errors import NotFoundError

    sandbox_config: str | None = None
    if url is not None:
        ep = RedisEndpoint.from_url(
            url,
            password_env=password_env or "REDIS_PASSWORD",
            password_file=password_file,
            connect_timeout=timeout,
            socket_timeout=timeout,
        )
    else:
        from redisops.ops.sandbox import load_state

        st = load_state()
        if st is None or "target" not in st.services:
            raise NotFoundError(
                "no Redis to inspect: no --url given and the sandbox is not running",
                hint="start the sandbox (redisops sandbox up) or pass --url redis://host:port",
            )
        ep = dataclasses.replace(st.target, connect_timeout=timeout, socket_timeout=timeout)
        password = read_password(password_env, password_file)
        if password:
            ep = dataclasses.replace(ep, password=password)
        sandbox_config = st.config_file
    if ask_password:
        ep = dataclasses.replace(ep, password=typer.prompt("Redis password", hide_input=True) or None)
    if user:
        ep = dataclasses.replace(ep, username=user)
    if tls_ca is not None:
        ep = dataclasses.replace(ep, tls_ca_file=str(tls_ca))
    if tls_insecure:
        ep = dataclasses.replace(ep, tls_verify=False)
    return Target(ep, sandbox_config)


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
