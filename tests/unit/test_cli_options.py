"""The CLI's option factories (redisops/cli/options.py): one connection-option factory for the target's
``--url ...`` and the migration source's ``--source-url ...``, one decorator that turns them into one
argument, one seconds option. Through a real typer app and typer's CliRunner."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Annotated, Any

import typer
from typer.testing import CliRunner

from redisops.cli.common import Output, OutputOpt
from redisops.cli.migrate_options import SourceArgs, with_source
from redisops.cli.options import TargetArgs, connection_options, seconds_option, with_options, with_target

runner = CliRunner()


def _flags(annotated: Any) -> list[str]:
    """The flags of an ``Annotated[..., typer.Option("--a", "-b")]`` (typer keeps the first as ``default``
    and reads it as a flag in an Annotated declaration)."""
    info = annotated.__metadata__[0]
    return [info.default, *info.param_decls]


def test_one_factory_names_the_options_by_prefix() -> None:
    helps = {"url": "u", "user": "the user", "tls_insecure": "i"}
    target = connection_options("", helps)
    source = connection_options("source-", helps)
    assert list(target) == ["url", "user", "tls_insecure"]
    assert list(source) == ["source_url", "source_user", "source_tls_insecure"]
    assert _flags(target["url"]) == ["--url", "-u"] and _flags(source["source_url"]) == ["--source-url"]
    assert _flags(source["source_tls_insecure"]) == ["--source-tls-insecure"]
    assert source["source_user"].__metadata__[0].help == "the user"


def test_target_and_source_options_reach_the_command_as_one_argument_each() -> None:
    seen: dict[str, Any] = {}

    def cmd(
        n: Annotated[int, typer.Option("--n")] = 1,
        *,
        where: TargetArgs,
        source: SourceArgs,
        output: OutputOpt = Output.text,
    ) -> None:
        seen.update(n=n, where=where, source=source, output=output)

    app = typer.Typer()
    app.command()(with_target(timeout=3.0)(with_source()(cmd)))
    app.command("other")(lambda: None)  # two commands: typer keeps the command's name
    args = ["cmd", "--n", "2", "--url", "redis://t", "--source-url", "redis://s", "--source-tls-insecure"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert seen["where"] == TargetArgs(url="redis://t", timeout=3.0) and seen["n"] == 2
    assert seen["source"] == SourceArgs(url="redis://s", tls_insecure=True)
    assert seen["source"].params()["source_tls_insecure"] is True
    # the options come before --output, the command's own first
    names = list(inspect.signature(app.registered_commands[0].callback).parameters)  # type: ignore[arg-type]
    assert names[0] == "n" and names[-1] == "output" and names.index("source_url") < names.index("url")


@dataclasses.dataclass
class Rounds:
    every: float
    count: int


def test_with_options_builds_any_argument_and_refuses_a_clash() -> None:
    def cmd(*, rounds: Rounds) -> None:
        print(rounds)

    opts = {
        "every": Annotated[float, seconds_option("--every", help="seconds")],
        "count": Annotated[int, typer.Option()],
    }
    app = typer.Typer()
    app.command()(with_options("rounds", opts, {"every": 1.0, "count": 3}, lambda g: Rounds(**g))(cmd))
    app.command("other")(lambda: None)
    assert "Rounds(every=1.0, count=3)" in runner.invoke(app, ["cmd"]).output
    assert "Rounds(every=0.5, count=3)" in runner.invoke(app, ["cmd", "--every", "0.5"]).output
    zero = runner.invoke(app, ["cmd", "--every", "0"])
    assert zero.exit_code == 2 and "greater than 0" in zero.output  # the seconds option's check
    too_long = runner.invoke(app, ["cmd", "--every", "86401"])
    assert too_long.exit_code == 2

    def clash(count: int = 1, *, rounds: Rounds) -> None: ...

    try:
        with_options("rounds", opts, {}, lambda g: g)(clash)
    except TypeError as e:
        assert "count" in str(e)
    else:
        raise AssertionError("a parameter named like an option must be refused")
