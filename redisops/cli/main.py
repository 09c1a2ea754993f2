"""The ``redisops`` entry point. Heavy libraries (kubernetes, boto3, textual) load lazily per command."""

from __future__ import annotations

import enum
import os
import platform
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from redisops._version import __version__
from redisops.cli import (
    audit_cmd,
    backup_cmd,
    config_cmd,
    elasticache_cmd,
    inspect_cmd,
    k8s_cmd,
    k8s_pure_cmd,
    migrate_cmd,
    ops_cmd,
    platform_cmd,
    rehearse_cmd,
    restore_cmd,
    runbook_cmd,
    sandbox_cmd,
    tui_cmd,
)
from redisops.cli.common import Output, OutputOpt, console, emit, error_boundary, state


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
        args = [a for a in args[:cut] if a != "--debug"] + args[cut:]
        return super().parse_args(ctx, args)


app = typer.Typer(
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
app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(elasticache_cmd.app, name="elasticache")
app.add_typer(config_cmd.app, name="config")
app.add_typer(backup_cmd.app, name="backup")
app.add_typer(ops_cmd.app, name="ops")
app.add_typer(audit_cmd.app, name="audit")
restore_cmd.register(app, backup_cmd.app)
app.command(name="rehearse")(rehearse_cmd.rehearse)
inspect_cmd.register(app)
k8s_cmd.register(app)
k8s_pure_cmd.register(app)
migrate_cmd.register(app)
runbook_cmd.register(app)
tui_cmd.register(app)
platform_cmd.register(app)


def _version_flag(value: bool) -> None:
    if value:
        typer.echo(f"redisops {__version__}")
        raise typer.Exit()


@app.callback()
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


@app.command(name="version")
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


@app.command(name="completion")
def completion_cmd(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish")],
) -> None:
    """Print the shell completion script, e.g. ``eval "$(redisops completion bash)"`` in ~/.bashrc."""
    from typer._click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    completion_init()
    cls = get_completion_class(shell.value)
    assert cls is not None  # the enum lists only the shells click supports
    command = typer.main.get_command(app)
    sys.stdout.write(cls(command, {}, "redisops", _COMPLETE_VAR).source() + "\n")


def main() -> None:
    """Console-script entry point."""
    if _COMPLETE_VAR in os.environ:  # the shell asks for completions (see `redisops completion`)
        from typer._completion_classes import completion_init

        completion_init()
    app()


if __name__ == "__main__":
    main()
