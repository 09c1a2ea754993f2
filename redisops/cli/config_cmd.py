"""``redisops config show | validate | render``: the catalogue's ``config.*`` operations (no target)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from redisops.cli.common import ConfigOpt, Output, OutputOpt, console, emit, error_boundary

app = typer.Typer(help="The typed deployment config.", no_args_is_help=True)

FileArg = Annotated[
    Path | None,
    typer.Argument(
        help="config file (.yaml or the write-up's configuration.hcl); same as --config", show_default=False
    ),
]


def _one_file(file: Path | None, config: Path | None) -> Path | None:
    """The config file given positionally or with --config (not both, unless they agree)."""
    if file is not None and config is not None and file != config:
        raise typer.BadParameter(f"two config files given ({file} and --config {config}); pass one")
    return file or config


def _run(op: str, path: Path | None) -> Any:
    """Run the read operation ``op`` on the config file ``path`` (it needs no target)."""
    from redisops.ops.registry import catalogue

    return catalogue().invoke(op, {"file": str(path) if path else None}, target=None)


@app.command()
def show(file: FileArg = None, config: ConfigOpt = None, output: OutputOpt = Output.text) -> None:
    """Print the effective config (file values over the write-up's defaults)."""
    import yaml

    path = _one_file(file, config)
    with error_boundary(output):
        data = _run("config.show", path).config
        emit(output, data, lambda: console.print(yaml.safe_dump(data, sort_keys=False), end="", markup=False))


@app.command()
def validate(file: FileArg = None, config: ConfigOpt = None, output: OutputOpt = Output.text) -> None:
    """Check a config file; exit 3 with every problem named when it is invalid."""
    path = _one_file(file, config)
    with error_boundary(output):
        _run("config.validate", path)
        emit(
            output,
            {"valid": True, "file": str(path) if path else None},
            lambda: console.print(f"{path or 'defaults'}: valid", markup=False),
        )


@app.command()
def render(file: FileArg = None, config: ConfigOpt = None, output: OutputOpt = Output.text) -> None:
    """Print the redis.conf the config renders to (the ConfigMap's content)."""
    path = _one_file(file, config)
    with error_boundary(output):
        text = _run("config.render", path).redis_conf
        emit(
            output,
            {"file": str(path) if path else None, "redis_conf": text},
            lambda: console.out(text, end="", highlight=False),
        )
