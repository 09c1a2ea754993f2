"""``redisops health``: every health check of a live Redis with its value, threshold and source.

Exits 0 when every check is ok, 20 when the worst is a warning and 21 when one is critical
(``redisops.errors.ExitCode.CHECK_WARNING`` / ``CHECK_CRITICAL``), so cron and CI can use it; a wrong
password is one authentication error (exit 5), not a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from redisops.cli._inspect_common import (
    CountOpt,
    TargetArgs,
    WatchOpt,
    json_line,
    redis_target,
    repeat,
    with_redis_target,
)
from redisops.cli._render import print_health
from redisops.cli.common import Output, OutputOpt, emit, error_boundary

if TYPE_CHECKING:
    from redisops.config.model import DeploymentConfig
    from redisops.health.model import Thresholds
    from redisops.health.platform import PlatformProbe
    from redisops.ops.target import Target

__all__ = ["health"]


def _load_thresholds(path: Path | None) -> Thresholds:
    from redisops.errors import ConfigError
    from redisops.health import Thresholds

    if path is None:
        return Thresholds()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read the thresholds file {path}: {type(e).__name__}") from None
    return Thresholds.from_yaml(text)


def _deployment(target: Target) -> DeploymentConfig | None:
    """The target's deployment config (--config, the named target's, the sandbox's), else None."""
    if target.config_path is not None or target.sandbox_config_file is not None:
        return target.config()
    return None


def _backup_probe(
    backups: bool | None, cfg: DeploymentConfig | None, limits: Thresholds
) -> PlatformProbe | None:
    """A :class:`StoreProbe` on the deployment's backup store, or None (backup checks ``unknown``).

    ``backups`` None = on when a store can be resolved: the sandbox's S3 is running or the backup
    target (config file, ``REDISOPS_S3_*`` env) names an endpoint. True = always (e.g. AWS S3 with
    the default credential chain/IRSA); False = never.
    """
    import os

    from redisops.config import DeploymentConfig, apply_env
    from redisops.errors import RedisOpsError
    from redisops.ops.backup import store_for
    from redisops.ops.health_probes import StoreProbe, StoreUnavailable, fail_fast
    from redisops.ops.sandbox import sandbox_status

    if backups is False:
        return None
    base = apply_env(cfg or DeploymentConfig(), os.environ)
    state = sandbox_status()
    s3 = state.services.get("s3") if state is not None else None
    if s3 is None or s3.status != "running":
        state = None
    if backups is None and state is None and base.backup.endpoint_url is None:
        return None
    try:
        store = store_for(base.backup, sandbox=state, source_name=base.service_name)
    except RedisOpsError as e:
        return StoreUnavailable(f"backup store not usable: {e.one_line()}")
    return StoreProbe(fail_fast(store), thresholds=limits)


@with_redis_target(config=True)
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
    from redisops.ops.health import HealthPoller

    code = 0
    with error_boundary(output):
        target = redis_target(where)  # a missing sandbox is reported before anything is loaded
        cfg = _deployment(target)
        limits = _load_thresholds(thresholds)
        probe = _backup_probe(backups, cfg, limits)
        with HealthPoller(target.redis, cfg, limits, probe) as poller:

            def once(i: int) -> None:
                nonlocal code
                report = poller.poll()
                code = report.exit_code(strict)
                if watch is not None and output is Output.json:
                    json_line(report.to_dict(strict))
                else:
                    emit(output, report.to_dict(strict), lambda: print_health(report, strict, details))

            repeat(watch, count, once, what="health watch")
    raise typer.Exit(code)
