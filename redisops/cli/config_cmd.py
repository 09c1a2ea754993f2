"""``redisops config show | validate | render``."""

from __future__ import annotations

import sys

import typer

from redisops.cli.common import ConfigOpt, Output, OutputOpt, console, emit, error_boundary

app = typer.Typer(help="The typed deployment config.", no_args_is_help=True)


@app.command()
def show(config: ConfigOpt = None, output: OutputOpt = Output.text) -> None:
    """Print the effective config (file values over the write-up's defaults)."""
    import yaml

    from redisops.config import load_config

    with error_boundary(output):
        cfg = load_config(config)
        data = cfg.model_dump(mode="json")
        emit(output, data, lambda: console.print(yaml.safe_dump(data, sort_keys=False), end="", markup=False))


@app.command()
def validate(config: ConfigOpt = None, output: OutputOpt = Output.text) -> None:
    """Check a config file; exit 3 with every problem named when it is invalid."""
    from redisops.config import load_config

    with error_boundary(output):
        load_config(config)
        emit(
            output,
            {"valid": True, "file": str(config) if config else None},
            lambda: console.print(f"{config or 'defaults'}: valid"),
        )


@app.command()
def render(config: ConfigOpt = None) -> None:
    """Print the redis.conf the config renders to (the ConfigMap's content)."""
    from redisops.config import load_config, render_redis_conf

    with error_boundary():
        sys.stdout.write(render_redis_conf(load_config(config)))
