"""The ``redisops`` entry point. Heavy libraries (kubernetes, boto3, textual) load lazily per command."""

from __future__ import annotations

import atexit
import enum
import gc
import importlib
import os
import platform
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from redisops._version import __version__
from redisops.cli.common import Output, OutputOpt, console, emit, error_boundary, state, wants_json


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """Plain flags (``--debug``, ``--yes``) show no ``<bool>`` type in help: they take no value."""
    if self.is_flag and not self.count:
        return None
    return _typed_display(self, ctx)


_typed_display = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


class _RootGroup(TyperGroup):
    """The root command group: ``--debug`` is accepted anywhere on the line, not only first.

    ``redisops backup create --debug`` means what ``redisops --debug backup create`` does; everything
    after ``--`` is left alone.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        cut = args.index("--") if "--" in args else len(args)
        state.debug = "--debug" in args[:cut]  # each invocation decides afresh
        state.json_errors = wants_json(args)
        args = [a for a in args[:cut] if a != "--debug"] + args[cut:]
        return super().parse_args(ctx, args)


def _new_app() -> typer.Typer:
    """The root ``redisops`` app with its own options and commands (``--debug``, ``--version``,
    ``version``, ``completion``) and no command group yet."""
    root = typer.Typer(
        name="redisops",
        help="Operations toolkit for Redis 7 on Kubernetes (and the local sandbox that rehearses it).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        # help texts are plain text: a URL shape such as "redis://host[:port][/db]" is not markup
        rich_markup_mode=None,
        cls=_RootGroup,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    root.callback()(_root)
    root.command(name="version")(version_cmd)
    root.command(name="completion")(completion_cmd)
    return root


def _load(area: str, root: typer.Typer) -> None:
    """Import the CLI module(s) of ``area`` and add their commands to ``root``."""
    if area == "backup":  # `backup drill` is the restore module's
        from redisops.cli import backup_cmd, restore_cmd

        root.add_typer(backup_cmd.app, name="backup")
        restore_cmd.register(root, backup_cmd.app)
        return
    if area in ("sandbox", "elasticache", "config", "ops", "audit"):
        module = importlib.import_module(f"redisops.cli.{area}_cmd")
        root.add_typer(module.app, name=area)
        return
    if area == "rehearse":
        from redisops.cli import rehearse_cmd

        root.command(name="rehearse")(rehearse_cmd.rehearse)
        return
    importlib.import_module(f"redisops.cli.{area}_cmd").register(root)


#: each top-level command, and the area (CLI module) that adds it: a command line naming one loads only
#: that module (start-up is part of every command, and of every runbook step that runs one);
#: ``tests/unit/test_cli_lazy.py`` checks this table against what the modules register
COMMANDS: dict[str, str] = {
    "sandbox": "sandbox",
    "elasticache": "elasticache",
    "config": "config",
    "backup": "backup",
    "ops": "ops",
    "audit": "audit",
    "restore": "backup",
    "restore-data-dir": "backup",
    "rehearse": "rehearse",
    **dict.fromkeys(("health", "info", "slowlog", "latency", "memory", "keys", "clients"), "inspect"),
    **dict.fromkeys(("deploy", "history", "rollback", "restart", "verify-clients"), "k8s"),
    "manifests": "k8s_pure",
    "lint": "k8s_pure",
    "migrate": "migrate",
    "runbook": "runbook",
    "tui": "tui",
    "status": "platform",
    "logs": "platform",
}


def build_app(areas: list[str] | None = None) -> typer.Typer:
    """The ``redisops`` app with the commands of ``areas`` (None: every command)."""
    root = _new_app()
    for area in dict.fromkeys(COMMANDS.values()) if areas is None else areas:
        _load(area, root)
    return root


_full: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    """``app``: every command (built on first use, once)."""
    global _full
    if name == "app":
        if _full is None:
            _full = build_app()
        return _full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app_for(argv: list[str]) -> typer.Typer:
    """The app a command line needs: only the area of the command it names; every command for help,
    ``--version``, a mistyped name (click then suggests close ones) or no command."""
    words = [a for a in argv if a != "--debug"]
    if words and words[0] in COMMANDS:
        return build_app([COMMANDS[words[0]]])
    return __getattr__("app")  # type: ignore[no-any-return]


def _version_flag(value: bool) -> None:
    if value:
        typer.echo(f"redisops {__version__}")
        raise typer.Exit()


def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="show tracebacks for errors (exit codes stay the same)")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_flag, is_eager=True, help="print the version")
    ] = False,
) -> None:
    if debug:  # normally taken out of the line by _RootGroup, wherever it stood
        state.debug = True


def _dist_version(name: str) -> str | None:
    from importlib import metadata  # ~50 ms: only `version` needs it

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def version_cmd(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="also ask this Redis for its version (redis://host:port); default: the sandbox target "
            "when it is up",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = Output.text,
) -> None:
    """Print the versions of redisops, Python, its client libraries and the target Redis server."""
    with error_boundary(output):
        data: dict[str, Any] = {
            "redisops": __version__,
            "python": platform.python_version(),
            "redis-py": _dist_version("redis"),
            "boto3": _dist_version("boto3"),
            "kubernetes": _dist_version("kubernetes"),
            "textual": _dist_version("textual"),
            "server": _server_version(url),
        }

        def text() -> None:
            for key, value in data.items():
                if key == "server":
                    reached = f"Redis {value['redis_version']} at {value['url']}" if value else None
                    value = reached or "(no target reachable)"
                console.print(f"{key:<11} {value if value is not None else '(not installed)'}", markup=False)

        emit(output, data, text)


def _server_version(url: str | None) -> dict[str, Any] | None:
    """The target's ``redis_version`` when it answers within a second; None when there is none."""
    from redisops.errors import RedisOpsError
    from redisops.ops.target import resolve_target

    try:
        with resolve_target(url=url, timeout=1.0) as target:
            if url is None and not target.is_sandbox:
                return None
            info = target.run("info.get", {"sections": ["server"]})
            return {"url": target.redis.url(), "redis_version": info.info.server.redis_version}
    except RedisOpsError:
        return None


_COMPLETE_VAR = "_REDISOPS_COMPLETE"


class Shell(enum.StrEnum):
    """Shells whose completion script click can write."""

    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_cmd(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish")],
) -> None:
    """Print the shell completion script, e.g. ``eval "$(redisops completion bash)"`` in ~/.bashrc."""
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    completion_init()
    cls = get_completion_class(shell.value)
    assert cls is not None  # the enum lists only the shells click supports
    command = typer.main.get_command(__getattr__("app"))
    sys.stdout.write(cls(command, {}, "redisops", _COMPLETE_VAR).source() + "\n")


def main() -> None:
    """Console-script entry point."""
    # at exit, the collector would walk every object of every loaded library (botocore's service
    # models alone: ~0.1 s) only to free memory the process is about to return; frozen, it skips them.
    # Files are closed by the commands themselves; stdout and stderr are flushed by the interpreter.
    atexit.register(gc.freeze)
    if _COMPLETE_VAR in os.environ:  # the shell asks for completions (see `redisops completion`)
        from typer._completion_classes import completion_init

        completion_init()
    _app_for(sys.argv[1:])()


if __name__ == "__main__":
    main()
