"""Shared CLI pieces: output format, JSON/rich rendering, the error boundary, confirmations."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer._click.exceptions import UsageError
from typer.core import TyperArgument, TyperOption
from typer.exceptions import TyperException

from redisops.errors import AbortedError, Interrupted, InvalidArgument, RedisOpsError
from redisops.events import jsonable

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class Output(enum.StrEnum):
    """Output formats every command accepts."""

    text = "text"
    json = "json"


OutputOpt = Annotated[
    Output, typer.Option("--output", "-o", help="text for people, json for scripts", case_sensitive=False)
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="deployment config (.yaml or the write-up's configuration.hcl)"),
]
StateDirOpt = Annotated[
    Path | None,
    typer.Option("--state-dir", help="sandbox state dir [env: REDISOPS_STATE_DIR]", show_default=False),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="confirm destructive steps non-interactively")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="show the plan; change nothing")]


class _State:
    debug = False
    #: the command line asked for ``-o json``: click's usage errors are printed as JSON too
    json_errors = False


state = _State()


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, pydantic models, paths and enums to plain JSON values (the library's one rule)."""
    return jsonable(obj)


def emit(output: Output, data: Any, text: Callable[[], None]) -> None:
    """Print ``data`` as JSON for ``--output json``, else call ``text`` to render for people."""
    if output is Output.json:
        sys.stdout.write(json.dumps(to_jsonable(data), indent=2, sort_keys=False) + "\n")
    else:
        text()


def progress_printer(output: Output) -> Callable[[str], None]:
    """A progress callback: dim lines on stderr for text output, silent for JSON."""
    if output is Output.json:
        return lambda _msg: None
    return lambda msg: err_console.print(f"[dim]{msg}[/dim]")


def confirm(question: str, *, yes: bool) -> None:
    """Ask before a destructive step; AbortedError when declined or when no terminal can answer."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise AbortedError(f"confirmation required: {question}", hint="pass --yes to confirm")
    if not typer.confirm(question, default=False):
        raise AbortedError("declined; nothing was changed", hint="")


def _print_error(output: Output, err: RedisOpsError) -> None:
    if output is Output.json:
        sys.stdout.write(json.dumps(err.to_dict(), indent=2) + "\n")
        return
    err_console.print(Text.assemble(("error: ", "bold red"), err.message), soft_wrap=True)
    if err.hint:
        err_console.print(Text.assemble(("hint: ", "yellow"), err.hint), soft_wrap=True)


def print_error(err: RedisOpsError) -> None:
    """The ``error:`` and ``hint:`` lines of ``err`` on stderr, for a command that goes on (or exits with a
    code of its own) instead of raising it."""
    _print_error(Output.text, err)


def _traceback() -> None:
    """With ``--debug``: the traceback on stderr (the exit code stays the error's own)."""
    import traceback

    sys.stderr.write(traceback.format_exc())


@contextmanager
def error_boundary(output: Output = Output.text) -> Iterator[None]:
    """Turn errors into one line (or a JSON object) and their documented exit code; no traceback.

    * a :class:`RedisOpsError` exits with its class's code (docs/errors.md);
    * Ctrl-C exits 130 with one line; an operation that knows what it kept raises
      :class:`~redisops.errors.Interrupted` with that in its message;
    * anything else is a bug: one line, exit 1.

    ``--debug`` adds the traceback and changes nothing else: the same error has the same exit code.
    """
    try:
        yield
    except RedisOpsError as e:
        if state.debug:
            _traceback()
        _print_error(output, e)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        if state.debug:
            _traceback()
        _print_error(output, Interrupted("interrupted"))
        raise typer.Exit(Interrupted.exit_code) from None
    except (typer.Exit, typer.Abort, TyperException):
        raise  # usage errors keep click's exit code 2
    except Exception as e:  # a bug: still one line, never a traceback unless --debug
        if state.debug:
            _traceback()
        msg = f"unexpected error: {type(e).__name__}: {e}"
        if output is Output.json:
            sys.stdout.write(json.dumps({"error": "InternalError", "message": msg, "exit_code": 1}) + "\n")
        else:
            err_console.print(Text.assemble(("error: ", "bold red"), msg), soft_wrap=True)
            err_console.print(Text.assemble(("hint: ", "yellow"), "rerun with --debug and report it"))
        raise typer.Exit(1) from None


# --- help metavars and usage errors: two hooks into typer/click, installed when this module loads ---


def range_metavar(help_text: str | None, number_type: type, names: Iterable[str] = ()) -> str:
    """The help metavar of a number option with bounds: what the value is, not typer's ``<int range>``.

    ``N`` for a whole number; ``SECONDS`` / ``HOURS`` when the help or the option's ``names`` say the
    value is one (a rate "per second" is not), else ``NUMBER``. The bounds are in the help (``[x>=1]``).
    """
    words = " ".join([help_text or "", *names]).lower().replace("per second", "")
    if number_type is int:
        return "N"
    if "second" in words:
        return "SECONDS"
    if "hour" in words:
        return "HOURS"
    return "NUMBER"


def _display_type(self: TyperOption | TyperArgument, ctx: Any) -> str:
    desc = self.type_descriptor
    if desc.is_ranged and isinstance(desc.annotation, type):
        return range_metavar(getattr(self, "help", None), desc.annotation, self.opts)
    return _typer_display_type(self, ctx)


_typer_display_type = TyperOption.display_type
TyperOption.display_type = _display_type  # type: ignore[method-assign,assignment]
TyperArgument.display_type = _display_type  # type: ignore[method-assign,assignment]


def wants_json(args: list[str]) -> bool:
    """Whether a command line asks for ``-o json`` / ``--output json`` (any spelling click accepts),
    looking only before a ``--``."""
    args = args[: args.index("--")] if "--" in args else args
    for i, arg in enumerate(args):
        if arg in ("-o", "--output"):
            value = args[i + 1] if i + 1 < len(args) else ""
        elif arg.startswith("--output="):
            value = arg.removeprefix("--output=")
        elif arg.startswith("-o") and not arg.startswith("--"):
            value = arg[2:].removeprefix("=")
        else:
            continue
        if value.lower() == Output.json.value:
            return True
    return False


def usage_error_dict(err: UsageError) -> dict[str, Any]:
    """A usage error (unknown option, bad value, missing argument) as the JSON object every other error
    prints with ``-o json`` (docs/errors.md): an :class:`InvalidArgument`, exit code 2."""
    hint = "see --help for the options and their values"
    if err.ctx is not None:
        hint = f"see '{err.ctx.command_path} --help' for the options and their values"
    return InvalidArgument(err.format_message(), hint=hint).to_dict()


def _show_usage_error(self: UsageError, file: IO[Any] | None = None) -> None:
    """Click shows a usage error as text on stderr; a command line with ``-o json`` gets the JSON
    object on stdout instead (the exit code stays click's 2)."""
    if type(self).__name__ != "NoArgsIsHelpError" and state.json_errors:
        sys.stdout.write(json.dumps(usage_error_dict(self), indent=2) + "\n")
        return
    _click_show_usage_error(self, file)


_click_show_usage_error = UsageError.show
UsageError.show = _show_usage_error  # type: ignore[method-assign]
