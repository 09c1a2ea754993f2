"""Rates between two INFO samples taken ``elapsed_s`` seconds apart (the caller measures the time).

Counters are cumulative since start or since ``CONFIG RESETSTAT``. A restart between the samples
(``run_id`` changed or ``uptime_in_seconds`` went down) makes every counter rate None and sets
``reset``; a single counter that went down (RESETSTAT) gives None for that rate and names it in
``reset_counters``. A non-positive or non-finite interval gives ``valid=False`` and no rates. Nothing
here raises.
"""

from __future__ import annotations

import math
from dataclasses import replace

from redisops.inspect.info_models import Info
from redisops.inspect.models import CommandRate, InfoRates

__all__ = ["compute_rates", "restart_between"]


def restart_between(before: Info, after: Info) -> str | None:
    """Why ``after`` looks like a different server life than ``before`` (None when it does not)."""
    b_run, a_run = before.server.run_id, after.server.run_id
    if b_run is not None and a_run is not None and b_run != a_run:
        return "run_id changed"
    b_up, a_up = before.server.uptime_in_seconds, after.server.uptime_in_seconds
    if b_up is not None and a_up is not None and a_up < b_up:
        return "uptime_in_seconds went down"
    return None


class _Deltas:
    """Counter deltas that note counters that went backwards."""

    def __init__(self, elapsed_s: float) -> None:
        self.elapsed_s = elapsed_s
        self.reset: list[str] = []

    def delta(self, name: str, before: int | None, after: int | None) -> int | None:
        if before is None or after is None:
            return None
        if after < before:
            self.reset.append(name)
            return None
        return after - before

    def rate(self, name: str, before: int | None, after: int | None) -> float | None:
        d = self.delta(name, before, after)
        return None if d is None else d / self.elapsed_s


def _command_rates(before: Info, after: Info, deltas: _Deltas) -> dict[str, CommandRate]:
    if not (before.has_section("commandstats") and after.has_section("commandstats")):
        return {}
    if "total_commands_processed" in deltas.reset:
        deltas.reset.append("commandstats")
        return {}
    rates: dict[str, CommandRate] = {}
    for name in before.commandstats.keys() - after.commandstats.keys():
        deltas.reset.append(f"cmdstat_{name}")
    for name, a in after.commandstats.items():
        b = before.commandstats.get(name)
        calls = deltas.delta(f"cmdstat_{name}", b.calls if b else 0, a.calls)
        usec = deltas.delta(f"cmdstat_{name}.usec", b.usec if b else 0, a.usec)
        if not calls or usec is None:
            continue
        rates[name] = CommandRate(
            name=name,
            calls=calls,
            usec=usec,
            calls_per_sec=calls / deltas.elapsed_s,
            usec_per_call=usec / calls,
            failed_calls=max(a.failed_calls - (b.failed_calls if b else 0), 0),
            rejected_calls=max(a.rejected_calls - (b.rejected_calls if b else 0), 0),
        )
    return dict(sorted(rates.items(), key=lambda kv: (-kv[1].calls, kv[0])))


def _cpu(before: Info, after: Info, elapsed_s: float) -> float | None:
    b, a = before.cpu, after.cpu
    if b.used_cpu_sys is None or b.used_cpu_user is None or a.used_cpu_sys is None or a.used_cpu_user is None:
        return None
    used = (a.used_cpu_sys + a.used_cpu_user) - (b.used_cpu_sys + b.used_cpu_user)
    return used / elapsed_s if used >= 0 and math.isfinite(used) else None


def compute_rates(before: Info, after: Info, elapsed_s: float) -> InfoRates:
    """Rates per second between two INFO samples; see the module doc for resets and bad intervals.

    ``commands`` holds the commands called in the interval (by calls, most first) with calls/s and
    µs/call over the interval, from ``commandstats`` (empty unless both samples have that section).
    """
    overall = after.stats.hit_ratio
    instantaneous = after.stats.instantaneous_ops_per_sec
    if not (isinstance(elapsed_s, int | float) and math.isfinite(elapsed_s) and elapsed_s > 0):
        return InfoRates(
            elapsed_s=elapsed_s,
            valid=False,
            instantaneous_ops_per_sec=instantaneous,
            hit_ratio_overall=overall,
        )
    reason = restart_between(before, after)
    if reason is not None:
        return InfoRates(
            elapsed_s=elapsed_s,
            valid=True,
            reset=True,
            reset_reason=reason,
            instantaneous_ops_per_sec=instantaneous,
            hit_ratio_overall=overall,
        )
    b, a = before.stats, after.stats
    d = _Deltas(elapsed_s)
    hits = d.delta("keyspace_hits", b.keyspace_hits, a.keyspace_hits)
    misses = d.delta("keyspace_misses", b.keyspace_misses, a.keyspace_misses)
    lookups = None if hits is None or misses is None else hits + misses
    result = InfoRates(
        elapsed_s=elapsed_s,
        valid=True,
        ops_per_sec=d.rate(
            "total_commands_processed", b.total_commands_processed, a.total_commands_processed
        ),
        instantaneous_ops_per_sec=instantaneous,
        hit_ratio_overall=overall,
        hit_ratio_interval=(hits / lookups) if hits is not None and lookups else None,
        net_input_bytes_per_sec=d.rate(
            "total_net_input_bytes", b.total_net_input_bytes, a.total_net_input_bytes
        ),
        net_output_bytes_per_sec=d.rate(
            "total_net_output_bytes", b.total_net_output_bytes, a.total_net_output_bytes
        ),
        evicted_keys_per_sec=d.rate("evicted_keys", b.evicted_keys, a.evicted_keys),
        expired_keys_per_sec=d.rate("expired_keys", b.expired_keys, a.expired_keys),
        rejected_connections_per_sec=d.rate(
            "rejected_connections", b.rejected_connections, a.rejected_connections
        ),
        cpu_utilization=_cpu(before, after, elapsed_s),
        commands=_command_rates(before, after, d),
    )
    return replace(result, reset_counters=tuple(d.reset)) if d.reset else result
