"""The health report of a live Redis: gather the inputs (degrading per input), run the rules, add the
platform (Kubernetes, backups) checks.

One run::

    report = run_health(RedisEndpoint.from_url("redis://10.0.0.5:6379"), load_config("deploy.yaml"))
    report.exit_code()          # 0 ok, 20 warn, 21 crit (redisops.errors.ExitCode)

Polling (rates and the slow log measured between polls, one connection kept)::

    with HealthPoller(ep, cfg) as poller:
        while True:
            report = poller.poll(); ...; time.sleep(1)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.config.model import DeploymentConfig
from redisops.errors import (
    AuthError,
    ConnectionFailed,
    InvalidArgument,
    ParseError,
    PlatformError,
    RedisOpsError,
)
from redisops.health import (
    CheckResult,
    DrillProbe,
    HealthInputs,
    HealthReport,
    NoPlatform,
    PlatformProbe,
    Thresholds,
    backup_age_check,
    evaluate,
    platform_unknown,
)
from redisops.inspect import Info, SlowlogEntry, SlowlogWatermark, new_slowlog_entries
from redisops.ops.inspect import (
    fetch_config,
    fetch_info,
    fetch_slowlog,
    open_client,
    ping_latency,
    refusal_reason,
)

__all__ = ["HealthPoller", "HealthSnapshot", "gather_inputs", "platform_checks", "run_health"]


@dataclass(frozen=True)
class HealthSnapshot:
    """What a poller keeps between runs: the INFO sample (with its monotonic time) and the slow-log
    watermark. ``slowlog_polled`` tells a first poll (no watermark yet, empty log) from a later one."""

    info: Info | None
    taken_at: float
    slowlog_watermark: SlowlogWatermark | None
    slowlog_polled: bool = False


def gather_inputs(
    ep: RedisEndpoint,
    cfg: DeploymentConfig | None = None,
    *,
    previous: HealthSnapshot | None = None,
    now: float | None = None,
    client: redis.Redis | None = None,
    ping_count: int = 3,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[HealthInputs, HealthSnapshot]:
    """Collect PING, INFO, CONFIG and SLOWLOG from ``ep``. Each part that fails (no rights, renamed
    command, parse error) is None with the reason; an unreachable server stops after PING.

    Raises:
        AuthError: the credentials were refused (a wrong or missing password is not a health finding).
        InvalidArgument: the endpoint names a database the server does not have.
        ConnectionFailed: the address answers, but not as a Redis server (not retryable).
    """
    when = time.time() if now is None else now
    deployment_reason = None if cfg is not None else "no deployment config given (pass --config)"
    own = client is None
    c = client if client is not None else open_client(ep)
    try:
        try:
            ping = ping_latency(ep, ping_count, client=c)
            ping_ms: float | None = ping.median_ms
            ping_error = ping.error
        except RedisOpsError as e:
            if _caller_mistake(e):
                raise
            inputs = HealthInputs(
                now=when,
                ping_ms=None,
                ping_error=e.message,
                deployment=cfg,
                deployment_reason=deployment_reason,
            )
            return inputs, previous or HealthSnapshot(None, clock(), None)
        info: Info | None = None
        info_reason = None
        taken_at = clock()
        try:
            info = fetch_info(ep, client=c)
            taken_at = clock()
        except (AuthError, PlatformError) as e:
            info_reason = refusal_reason(e, "INFO")
        except ParseError as e:
            info_reason = f"INFO reply unreadable: {e.message}"
        config, config_reason = fetch_config(ep, client=c)
        slowlog_new: list[SlowlogEntry] | None = None
        slowlog_reason = None
        watermark = previous.slowlog_watermark if previous is not None else None
        first_poll = previous is None or not previous.slowlog_polled
        missed = 0
        polled = False
        try:
            delta = new_slowlog_entries(fetch_slowlog(ep, 128, client=c), watermark)
            slowlog_new = list(delta.entries)
            watermark, missed, polled = delta.watermark, delta.missed, True
        except (AuthError, PlatformError) as e:
            slowlog_reason = refusal_reason(e, "SLOWLOG GET")
        except ParseError as e:
            slowlog_reason = f"SLOWLOG reply unreadable: {e.message}"
        prev_info = previous.info if previous is not None else None
        elapsed = taken_at - previous.taken_at if previous is not None and prev_info is not None else None
        inputs = HealthInputs(
            now=when,
            ping_ms=ping_ms,
            ping_error=ping_error,
            info=info,
            info_reason=info_reason,
            config=config,
            config_reason=config_reason,
            deployment=cfg,
            deployment_reason=deployment_reason,
            slowlog_new=slowlog_new,
            slowlog_reason=slowlog_reason,
            slowlog_first_poll=first_poll,
            slowlog_missed=missed,
            previous_info=prev_info if info is not None else None,
            elapsed_s=elapsed,
        )
        snapshot = HealthSnapshot(
            info=info if info is not None else prev_info,
            taken_at=taken_at if info is not None else (previous.taken_at if previous else taken_at),
            slowlog_watermark=watermark,
            slowlog_polled=polled or (previous is not None and previous.slowlog_polled),
        )
        return inputs, snapshot
    finally:
        if own:
            c.close()


def _caller_mistake(e: RedisOpsError) -> bool:
    """Errors that say the caller pointed at the wrong thing rather than that Redis is unhealthy."""
    if isinstance(e, AuthError):
        return e.context.get("auth") != "permission"
    if isinstance(e, InvalidArgument):
        return True
    return isinstance(e, ConnectionFailed) and not e.retryable


def platform_checks(platform: PlatformProbe, thresholds: Thresholds | None = None) -> list[CheckResult]:
    """The Kubernetes and backup checks (backup age, and restore drills when the probe is a
    :class:`DrillProbe`); a probe that raises gives ``unknown`` with the reason."""
    results: list[CheckResult] = []
    for name, method in (
        ("pod", platform.pod_checks),
        ("pvc", platform.pvc_checks),
        ("service", platform.service_checks),
    ):
        try:
            results.extend(method())
        except Exception as e:  # a probe failure must not stop the report
            results.append(platform_unknown(name, f"{type(e).__name__}: {_message(e)}"))
    try:
        age = platform.backup_age()
        results.append(
            backup_age_check(age.age_s, reason=age.reason, missing=age.missing, thresholds=thresholds)
        )
    except Exception as e:
        results.append(
            platform_unknown("backup_age", f"{type(e).__name__}: {_message(e)}", category="backup")
        )
    if isinstance(platform, DrillProbe):
        try:
            results.extend(platform.drill_checks())
        except Exception as e:
            results.append(platform_unknown("drill", f"{type(e).__name__}: {_message(e)}", category="backup"))
    else:
        results.append(platform_unknown("drill", NoPlatform.BACKUP_REASON, category="backup"))
    return results


def _message(e: Exception) -> str:
    return e.message if isinstance(e, RedisOpsError) else str(e)


def run_health(
    ep: RedisEndpoint,
    cfg: DeploymentConfig | None = None,
    thresholds: Thresholds | None = None,
    platform: PlatformProbe | None = None,
    previous: HealthSnapshot | None = None,
    now: float | None = None,
    *,
    client: redis.Redis | None = None,
    ping_count: int = 3,
    clock: Callable[[], float] = time.monotonic,
) -> HealthReport:
    """Every check against ``ep``: Redis checks, config drift vs ``cfg`` and the platform checks.

    Never raises for a server problem: an unreachable server is a crit ``ping`` check and ``unknown``
    for the rest. A caller's mistake raises instead (see :func:`gather_inputs`): refused credentials
    (AuthError), a database the server lacks (InvalidArgument), an address that is not Redis.
    ``previous`` (``report.snapshot`` of an earlier run) turns counters into rates over the
    interval and limits slow commands to entries logged since then.
    """
    t = thresholds or Thresholds()
    inputs, snapshot = gather_inputs(
        ep, cfg, previous=previous, now=now, client=client, ping_count=ping_count, clock=clock
    )
    checks = evaluate(inputs, t) + platform_checks(platform or NoPlatform(), t)
    return HealthReport(checks=tuple(checks), target=ep.url(), generated_at=inputs.now, snapshot=snapshot)


class HealthPoller:
    """Repeated health runs over one connection, keeping the previous INFO and the slow-log watermark."""

    def __init__(
        self,
        ep: RedisEndpoint,
        cfg: DeploymentConfig | None = None,
        thresholds: Thresholds | None = None,
        platform: PlatformProbe | None = None,
        *,
        ping_count: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ep = ep
        self.cfg = cfg
        self.thresholds = thresholds or Thresholds()
        self.platform = platform or NoPlatform()
        self.ping_count = ping_count
        self.clock = clock
        self.client = open_client(ep)
        self.snapshot: HealthSnapshot | None = None

    def poll(self, now: float | None = None) -> HealthReport:
        """One health run; rates and slow commands are measured since the previous poll."""
        report = run_health(
            self.ep,
            self.cfg,
            self.thresholds,
            self.platform,
            self.snapshot,
            now,
            client=self.client,
            ping_count=self.ping_count,
            clock=self.clock,
        )
        self.snapshot = report.snapshot
        return report

    def close(self) -> None:
        """Close the connection."""
        self.client.close()

    def __enter__(self) -> HealthPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
