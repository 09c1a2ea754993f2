"""``redisops health``: every health check of a live Redis with its value, threshold and source.

Exits 0 when every check is ok, 20 when the worst is a warning and 21 when one is critical
(``redisops.errors.ExitCode.CHECK_WARNING`` / ``CHECK_CRITICAL``), so cron and CI can use it; a wrong
password is one authentication error (exit 5), not a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from redisops.cli._inspect_common import (
    CountOpt,
    TargetArgs,
    WatchOpt,
    json_line,
    redis_target,
    with_redis_target,
)
from redisops.cli._render import print_health
from redisops.cli.common import Output, OutputOpt, emit, error_boundary

if TYPE_CHECKING:
    from redisops.ops.api_inspect import HealthReport

__all__ = ["health"]


def _load_thresholds(path: Path | None) -> dict[str, Any]:
    """The overrides of ``--thresholds`` (a YAML mapping, optionally under ``thresholds:``), checked
    here so a bad file is the same ConfigError (exit 3) as before the catalogue."""
    import yaml

    from redisops.errors import ConfigError
    from redisops.ops.api_inspect import Thresholds

    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the thresholds file {path}: {type(e).__name__}") from None
    Thresholds.from_yaml(text)  # raises ConfigError naming the bad threshold
    data = yaml.safe_load(text) or {}
    if isinstance(data.get("thresholds"), dict):
        data = data["thresholds"]
    return {str(k): v for k, v in data.items()}


@with_redis_target(config=True, kube=True)
def health(
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="YAML mapping of threshold overrides")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="count unknown checks as warn (exit 20 instead of 0)")
    ] = False,
    backups: Annotated[
        bool | None,
        typer.Option(
            "--backups/--no-backups",
            help="check backup age and the last restore drill in the backup store "
            "[default: on when the sandbox S3 runs or the config names an S3 endpoint]",
            show_default=False,
        ),
    ] = None,
    details: Annotated[
        bool, typer.Option("--details", "-v", help="show every check's threshold, source and full notes")
    ] = False,
    watch: WatchOpt = None,
    count: CountOpt = None,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """Health checks with status, value, threshold and its source; exit 0 ok, 20 warn, 21 crit."""
    from redisops.cli._events import op_events

    with error_boundary(output):
        target = redis_target(where)  # a missing sandbox is reported before anything is loaded
        params: dict[str, Any] = {"thresholds": _load_thresholds(thresholds), "backups": backups}
        with op_events(output) as ev:
            if watch is None:
                report: HealthReport = target.run("health.report", params, on_event=ev.sink, cancel=ev.cancel)
                emit(output, report.to_dict(strict), lambda: print_health(report, strict, details))
                code = report.exit_code(strict)
            else:
                code = _watch(
                    target, params | {"interval": watch, "rounds": count}, ev, output, strict, details
                )
    raise typer.Exit(code)


def _watch(target: Any, params: dict[str, Any], ev: Any, output: Output, strict: bool, details: bool) -> int:
    """``--watch``: the ``health.watch`` operation, each report rendered as its event arrives (``-o json``:
    one JSON line per report); Ctrl-C ends it (exit 130, one line)."""
    from redisops.ops.api_inspect import Item

    def sink(event: Any) -> None:
        if isinstance(event, Item) and event.name == "health.report":
            report = event.data
            if output is Output.json:
                json_line(report.to_dict(strict))
            else:
                print_health(report, strict, details)
        else:
            ev.sink(event)

    watched = target.run("health.watch", params, on_event=sink, cancel=ev.cancel)
    code: int = watched.exit_code(strict)
    return code
