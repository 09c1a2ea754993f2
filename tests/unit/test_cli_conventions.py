"""Conventions every command keeps: help that renders, flags shown as flags, ``-h``, ``--debug``
anywhere, one exit code per error with and without ``--debug``, Ctrl-C as 130, version, completion."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

import redisops.errors
from redisops.cli import common
from redisops.cli.main import app
from redisops.errors import ExitCode, Interrupted, RedisOpsError

runner = CliRunner()


def _paths(cmd: typer.core.TyperGroup | object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _paths(sub, (*prefix, name))


ROOT = typer.main.get_command(app)
ALL_COMMANDS = list(_paths(ROOT))


@pytest.fixture(autouse=True)
def _no_debug_leak():
    yield
    common.state.debug = False


def test_the_tree_is_walked():
    names = {" ".join(p) for p in ALL_COMMANDS}
    # a sample from every area, so the walk cannot silently find nothing
    assert {"health", "backup create", "restore", "sandbox up", "config render", "deploy"} <= names
    assert len(ALL_COMMANDS) > 30


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "redisops")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_renders_for_every_command(path, flag):
    result = runner.invoke(app, [*path, flag])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "Traceback" not in result.output
    # flags take no value: their help shows no type
    assert "<bool>" not in result.output and "BOOLEAN" not in result.output


def test_help_text_with_brackets_is_not_markup():
    # the URL shape "redis://[user@]host[:port][/db]" broke rich markup once (item 2)
    result = runner.invoke(app, ["info", "--help"])
    assert "redis://[user@]host[:port][/db]" in " ".join(result.output.split())


def _error_classes() -> list[type[RedisOpsError]]:
    return [getattr(redisops.errors, n) for n in redisops.errors.__all__ if n != "ExitCode"]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("debug", [False, True])
def test_each_error_class_exits_with_its_code_with_and_without_debug(cls, debug, capsys):
    common.state.debug = debug
    with pytest.raises(typer.Exit) as exc, common.error_boundary():
        raise cls("it broke", hint="do this")
    assert exc.value.exit_code == cls.exit_code
    err = capsys.readouterr().err
    assert "error: it broke" in err and "hint: do this" in err
    assert ("Traceback" in err) is debug


@pytest.mark.parametrize("debug", [False, True])
def test_ctrl_c_exits_130_with_one_line(debug, capsys):
    common.state.debug = debug
    with pytest.raises(typer.Exit) as exc, common.error_boundary():
        raise KeyboardInterrupt
    assert exc.value.exit_code == ExitCode.INTERRUPTED == 130
    assert "error: interrupted" in capsys.readouterr().err


def test_interrupted_says_what_was_kept(capsys):
    with pytest.raises(typer.Exit) as exc, common.error_boundary(common.Output.json):
        raise Interrupted("interrupted; nothing was stored")
    assert exc.value.exit_code == 130
    assert json.loads(capsys.readouterr().out)["message"] == "interrupted; nothing was stored"


@pytest.mark.parametrize("debug_first", [False, True])
def test_debug_is_accepted_before_and_after_the_subcommand(debug_first, tmp_path):
    missing = str(tmp_path / "nope.yaml")
    cmd = ["config", "validate", missing]
    args = ["--debug", *cmd] if debug_first else [*cmd, "--debug"]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.CONFIG, result.output  # the same code as without --debug
    assert "Traceback" in result.output
    plain = runner.invoke(app, ["config", "validate", missing])
    assert plain.exit_code == ExitCode.CONFIG and "Traceback" not in plain.output


def test_an_argument_after_double_dash_is_left_alone():
    # "--debug" after "--" is an argument, not the flag: config validate gets a file named --debug
    result = runner.invoke(app, ["config", "validate", "--", "--debug"])
    assert result.exit_code == ExitCode.CONFIG
    assert "Traceback" not in result.output


def test_config_validate_takes_the_file_positionally_and_render_takes_json():
    hcl = "tests/fixtures/config/configuration.hcl"
    ok = runner.invoke(app, ["config", "validate", hcl, "-o", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output) == {"valid": True, "file": hcl}
    rendered = runner.invoke(app, ["config", "render", hcl, "-o", "json"])
    assert rendered.exit_code == 0, rendered.output
    assert "appendonly yes" in json.loads(rendered.output)["redis_conf"]
    both = runner.invoke(app, ["config", "render", hcl, "--config", "other.yaml"])
    assert both.exit_code == ExitCode.USAGE


def test_version_json_names_every_component(monkeypatch, tmp_path):
    monkeypatch.setenv("REDISOPS_STATE_DIR", str(tmp_path))  # no sandbox: no server version
    result = runner.invoke(app, ["version", "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["redisops"] == redisops.__version__
    assert {"python", "redis-py", "boto3", "kubernetes"} <= data.keys()
    assert data["server"] is None


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell):
    result = runner.invoke(app, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "_REDISOPS_COMPLETE" in result.output
    bad = runner.invoke(app, ["completion", "tcsh"])
    assert bad.exit_code == ExitCode.USAGE
