"""What every health rule shares: the inputs snapshot, the check spec, result helpers and counters.

Pure. The rules live in :mod:`redisops.health.rules` (and :mod:`redisops.health.rules_memory`); they
register their specs in :data:`SPECS` so :func:`_result` can attach each check's source and category.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redisops.config.model import DeploymentConfig, quantity_value
from redisops.health.model import CheckResult, Status, Thresholds
from redisops.inspect.info_models import Info
from redisops.inspect.models import SlowlogEntry

__all__ = ["SPECS", "CheckFn", "CheckSpec", "HealthInputs", "container_memory_limit"]

_CACHE_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random")


@dataclass(frozen=True)
class HealthInputs:
    """Everything the Redis checks look at, gathered once; each part None with the reason when missing.

    Args:
        now: unix time of the run (the server's clock from INFO is preferred where ages are computed).
        ping_ms: PING round trip in milliseconds; None when the server did not answer.
        ping_error: why PING failed (connection refused, auth failed ...).
        info: parsed ``INFO everything``; None with ``info_reason``.
        config: live ``CONFIG GET *``; None with ``config_reason`` (refused, renamed, ElastiCache).
        deployment: the typed deployment config (for drift and the container limit); None with reason.
        slowlog_new: slow-log entries that are new since the previous poll (or within the window on a
            first poll); None with ``slowlog_reason``.
        slowlog_first_poll: True when there was no watermark (the window rule applies).
        slowlog_missed: entries rotated out of the ring unread since the previous poll.
        previous_info: the INFO sample of the previous poll (for rates); None on a first poll.
        elapsed_s: seconds between ``previous_info`` and ``info``.
    """

    now: float
    ping_ms: float | None = None
    ping_error: str | None = None
    info: Info | None = None
    info_reason: str | None = None
    config: Mapping[str, str] | None = None
    config_reason: str | None = None
    deployment: DeploymentConfig | None = None
    deployment_reason: str | None = "no deployment config given"
    slowlog_new: Sequence[SlowlogEntry] | None = None
    slowlog_reason: str | None = None
    slowlog_first_poll: bool = True
    slowlog_missed: int = 0
    previous_info: Info | None = None
    elapsed_s: float | None = None

    @property
    def server_now(self) -> float:
        """The server's clock (``server_time_usec``) when known, else ``now``."""
        if self.info is not None and self.info.server.server_time_usec:
            return self.info.server.server_time_usec / 1e6
        return self.now


CheckFn = Callable[[HealthInputs, Thresholds], CheckResult]


@dataclass(frozen=True)
class CheckSpec:
    """A check: its name, the source of its threshold, what it needs, and the function."""

    name: str
    source: str
    needs: tuple[str, ...]
    fn: CheckFn = field(repr=False)
    category: str = "redis"


# --- helpers -------------------------------------------------------------------------------------------


#: every check's spec by name; filled by :mod:`redisops.health.rules` when it is imported
SPECS: dict[str, CheckSpec] = {}


def _result(spec_name: str, status: Status, **kw: Any) -> CheckResult:
    spec = SPECS[spec_name]
    kw.setdefault("source", spec.source)
    return CheckResult(name=spec_name, status=status, category=spec.category, **kw)


def _unknown(spec_name: str, reason: str, **kw: Any) -> CheckResult:
    return _result(spec_name, Status.UNKNOWN, reason=reason, **kw)


def _missing(inputs: HealthInputs, needs: tuple[str, ...]) -> str | None:
    """The reason a check cannot run (the first missing input), None when everything is there."""
    server_needs = any(n in ("info", "config", "slowlog") for n in needs)
    if inputs.ping_ms is None and inputs.ping_error is not None and server_needs:
        return f"server not reachable: {inputs.ping_error}"
    for need in needs:
        if need == "info" and inputs.info is None:
            return f"INFO unavailable: {inputs.info_reason or 'not collected'}"
        if need == "config" and inputs.config is None:
            return f"CONFIG unavailable: {inputs.config_reason or 'not collected'}"
        if need == "deployment" and inputs.deployment is None:
            return inputs.deployment_reason or "no deployment config given"
        if need == "slowlog" and inputs.slowlog_new is None:
            return f"SLOWLOG unavailable: {inputs.slowlog_reason or 'not collected'}"
    return None


def _ratio(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") if x == x else "nan"


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _counter_rate(inputs: HealthInputs, name: str) -> tuple[float | None, int | None, str]:
    """(rate per second over the interval or None, counter since start, how it was measured)."""
    info = inputs.info
    assert info is not None
    now_value = getattr(info.stats, name)
    prev = inputs.previous_info
    if prev is not None and inputs.elapsed_s and inputs.elapsed_s > 0:
        before = getattr(prev.stats, name)
        same_life = prev.server.run_id == info.server.run_id
        if before is not None and now_value is not None and same_life and now_value >= before:
            return (
                (now_value - before) / inputs.elapsed_s,
                now_value,
                f"over the last {inputs.elapsed_s:.1f}s",
            )
    return None, now_value, "since start (no previous sample)"


def _policy(inputs: HealthInputs) -> str | None:
    if inputs.info is not None and inputs.info.memory.maxmemory_policy:
        return inputs.info.memory.maxmemory_policy
    if inputs.config is not None:
        return inputs.config.get("maxmemory-policy")
    return None


def _save_points(inputs: HealthInputs) -> list[tuple[int, int]] | None:
    if inputs.config is None or "save" not in inputs.config:
        return None
    nums = [int(p) for p in inputs.config["save"].split() if p.lstrip("-").isdigit()]
    return [(nums[i], nums[i + 1]) for i in range(0, len(nums) - 1, 2)]


def container_memory_limit(cfg: DeploymentConfig | None) -> int | None:
    """The Redis container's memory limit in bytes from the typed config (None when unknown)."""
    if cfg is None:
        return None
    try:
        return int(quantity_value(cfg.resources.limits.memory))
    except ValueError:
        return None
