"""The memory checks: used vs maxmemory, maxmemory set, fork headroom and cost, fragmentation, evictions.

Pure functions over a :class:`~redisops.health.rules_base.HealthInputs`; thresholds and sources in
/work/shared/reference/health-checks.md. Registered in :data:`redisops.health.rules.CHECKS`.
"""

from __future__ import annotations

from redisops.health.model import CheckResult, Status, Thresholds
from redisops.health.rules_base import (
    _CACHE_POLICIES,
    HealthInputs,
    _counter_rate,
    _mb,
    _policy,
    _ratio,
    _result,
    _save_points,
    _unknown,
    container_memory_limit,
)

__all__ = [
    "check_evictions",
    "check_fork_cost",
    "check_fork_headroom",
    "check_fragmentation",
    "check_maxmemory_set",
    "check_memory",
]


def check_memory(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """used_memory / maxmemory: > 0.85 warn, > 0.90 crit; allkeys-* caches may run at 1.0."""
    assert inputs.info is not None
    mem = inputs.info.memory
    threshold = f"warn > {_ratio(t.memory_warn_ratio)}, crit > {_ratio(t.memory_crit_ratio)}"
    if mem.used_memory is None:
        return _unknown("memory", "INFO has no used_memory", threshold=threshold)
    if not mem.maxmemory:
        return _result(
            "memory",
            Status.OK,
            value=mem.used_memory,
            threshold=threshold,
            reason="maxmemory is not set (see the maxmemory check): no ratio",
            hint=f"using {_mb(mem.used_memory)} without a maxmemory limit",
        )
    ratio = mem.used_memory / mem.maxmemory
    policy = mem.maxmemory_policy or ""
    value = round(ratio, 4)
    if t.memory_cache_exempt and policy in _CACHE_POLICIES:
        return _result(
            "memory",
            Status.OK,
            value=value,
            threshold=f"{threshold} (not applied: {policy} evicts by design)",
            hint=f"{policy} cache at {ratio:.0%} of maxmemory; it evicts rather than fails (see evictions)",
        )
    if ratio > t.memory_crit_ratio:
        status = Status.CRIT
        hint = f"at {ratio:.0%} of maxmemory with {policy or 'no eviction'}: writes will fail with OOM soon"
    elif ratio > t.memory_warn_ratio:
        status = Status.WARN
        hint = f"at {ratio:.0%} of maxmemory with {policy or 'no eviction'}: raise maxmemory or delete data"
    else:
        status, hint = Status.OK, f"{ratio:.0%} of maxmemory"
    return _result("memory", status, value=value, threshold=threshold, hint=hint)


def check_maxmemory_set(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """maxmemory == 0 warns: Redis grows until the kernel or the container limit kills it."""
    assert inputs.info is not None
    maxmemory = inputs.info.memory.maxmemory
    if maxmemory is None:
        if inputs.config is not None and "maxmemory" in inputs.config:
            maxmemory = int(inputs.config["maxmemory"])
        else:
            return _unknown("maxmemory", "neither INFO nor CONFIG reported maxmemory", threshold="0 = warn")
    if maxmemory == 0:
        return _result(
            "maxmemory",
            Status.WARN,
            value=0,
            threshold="0 = warn",
            hint="set an explicit maxmemory below the container limit (leave room for fork copy-on-write)",
        )
    return _result("maxmemory", Status.OK, value=maxmemory, threshold="0 = warn", hint=f"{_mb(maxmemory)}")


def check_fork_headroom(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """maxmemory and rss + fork copy-on-write vs the container memory limit (persistence on)."""
    assert inputs.info is not None
    limit = container_memory_limit(inputs.deployment)
    threshold = (
        f"warn when maxmemory > {_ratio(t.fork_headroom_warn_ratio)} x limit with persistence on; "
        f"crit when rss + {_ratio(t.fork_cow_fraction)} x used_memory > limit"
    )
    if limit is None:
        return _unknown(
            "fork_headroom", "container memory limit unknown (no deployment config)", threshold=threshold
        )
    mem, pers = inputs.info.memory, inputs.info.persistence
    points = _save_points(inputs)
    if points is None and inputs.deployment is not None:
        points = [(p.seconds, p.changes) for p in inputs.deployment.config.save]
    aof = bool(pers.aof_enabled)
    persistence = aof or bool(points)
    if mem.used_memory is None or mem.used_memory_rss is None:
        return _unknown("fork_headroom", "INFO has no used_memory/used_memory_rss", threshold=threshold)
    cow = max(pers.rdb_last_cow_size or 0, int(mem.used_memory * t.fork_cow_fraction))
    need = mem.used_memory_rss + cow
    value = {
        "limit": limit,
        "maxmemory": mem.maxmemory or 0,
        "used_memory_rss": mem.used_memory_rss,
        "fork_estimate": cow,
        "persistence": persistence,
    }
    if not persistence:
        return _result(
            "fork_headroom",
            Status.OK,
            value=value,
            threshold=threshold,
            hint="persistence is off: no save/rewrite forks (a replica full sync still forks)",
        )
    if need > limit:
        return _result(
            "fork_headroom",
            Status.CRIT,
            value=value,
            threshold=threshold,
            hint=f"rss {_mb(mem.used_memory_rss)} + fork copy {_mb(cow)} exceeds the {_mb(limit)} limit: "
            "a BGSAVE/AOF rewrite can get the pod OOMKilled",
        )
    maxmemory = mem.maxmemory or 0
    if maxmemory == 0 or maxmemory > t.fork_headroom_warn_ratio * limit:
        what = "unset" if maxmemory == 0 else f"{maxmemory / limit:.0%} of the limit"
        return _result(
            "fork_headroom",
            Status.WARN,
            value=value,
            threshold=threshold,
            hint=f"maxmemory is {what}: a fork can need up to 2x memory; keep maxmemory <= "
            f"{t.fork_headroom_warn_ratio:.0%} of the container limit",
        )
    return _result(
        "fork_headroom", Status.OK, value=value, threshold=threshold, hint="room for a fork within the limit"
    )


def check_fragmentation(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """mem_fragmentation_ratio > 1.5 (and > 10 MB) warns; < 1.0 means swapping."""
    assert inputs.info is not None
    mem = inputs.info.memory
    threshold = (
        f"warn > {_ratio(t.fragmentation_warn_ratio)} and > {_mb(t.fragmentation_min_bytes)} fragmented; "
        f"warn < {_ratio(t.fragmentation_swap_ratio)} (swapping)"
    )
    ratio = mem.mem_fragmentation_ratio
    if ratio is None or mem.used_memory is None:
        return _unknown("fragmentation", "INFO has no mem_fragmentation_ratio", threshold=threshold)
    if mem.used_memory < t.fragmentation_min_used_bytes:
        return _result(
            "fragmentation",
            Status.OK,
            value=ratio,
            threshold=threshold,
            hint=f"only {_mb(mem.used_memory)} used: the ratio means nothing at this size (MEMORY DOCTOR)",
        )
    frag_bytes = mem.mem_fragmentation_bytes
    if frag_bytes is None and mem.used_memory_rss is not None:
        frag_bytes = mem.used_memory_rss - mem.used_memory
    if ratio > t.fragmentation_warn_ratio and (frag_bytes or 0) > t.fragmentation_min_bytes:
        return _result(
            "fragmentation",
            Status.WARN,
            value=ratio,
            threshold=threshold,
            hint="high fragmentation: enable activedefrag or restart the replica/pod at a quiet time",
        )
    if ratio < t.fragmentation_swap_ratio:
        return _result(
            "fragmentation",
            Status.WARN,
            value=ratio,
            threshold=threshold,
            hint="rss below used memory: part of Redis is swapped out; latency will suffer",
        )
    return _result("fragmentation", Status.OK, value=ratio, threshold=threshold, hint="fragmentation is fine")


def check_evictions(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """Evictions: any for a non-cache policy warns; evictions/s / keys > 0.1 warns for a cache."""
    assert inputs.info is not None
    rate, total, how = _counter_rate(inputs, "evicted_keys")
    policy = _policy(inputs) or "?"
    threshold = f"> 0 warn (non-cache policy); rate/keys > {_ratio(t.eviction_rate_ratio_warn)} warn (cache)"
    if total is None:
        return _unknown("evictions", "INFO has no evicted_keys", threshold=threshold)
    uptime = inputs.info.server.uptime_in_seconds or 0
    if rate is None:
        rate = total / uptime if uptime > 0 else float(total)
    value = {"evicted_keys": total, "per_sec": round(rate, 3), "measured": how}
    keys = max(inputs.info.total_keys, 1)
    if policy in _CACHE_POLICIES:
        ratio = rate / keys
        if ratio > t.eviction_rate_ratio_warn:
            return _result(
                "evictions",
                Status.WARN,
                value=value,
                threshold=threshold,
                hint=f"evicting {rate:.1f} keys/s ({ratio:.0%} of the keys per second): raise maxmemory",
            )
        return _result(
            "evictions", Status.OK, value=value, threshold=threshold, hint=f"{policy} cache evicting slowly"
        )
    if rate > 0:
        return _result(
            "evictions",
            Status.WARN,
            value=value,
            threshold=threshold,
            hint=f"{policy} evicted keys {how}: data that is not a cache is being lost; raise maxmemory",
        )
    return _result("evictions", Status.OK, value=value, threshold=threshold, hint="no evictions")


def check_fork_cost(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """Fork speed (used_memory / latest_fork_usec): < 25 GB/s poor = warn, < 10 GB/s terrible = crit."""
    assert inputs.info is not None
    usec = inputs.info.stats.latest_fork_usec
    used = inputs.info.memory.used_memory
    threshold = (
        f"warn < {t.fork_poor_gbps:g} GB/s (poor), crit < {t.fork_terrible_gbps:g} GB/s (terrible), "
        f"for forks >= {t.fork_min_usec / 1000:g} ms"
    )
    if usec is None or used is None:
        return _unknown("fork_cost", "INFO has no latest_fork_usec/used_memory", threshold=threshold)
    if usec == 0:
        return _result("fork_cost", Status.OK, value=None, threshold=threshold, hint="no fork yet")
    # LATENCY DOCTOR: zmalloc_used_memory() * 1000000 / stat_fork_time / (1024*1024*1024)
    gbps = used * 1_000_000 / usec / (1024**3)
    value = {"latest_fork_usec": usec, "gb_per_sec": round(gbps, 2)}
    if usec < t.fork_min_usec:
        return _result(
            "fork_cost",
            Status.OK,
            value=value,
            threshold=threshold,
            hint=f"last fork took {usec / 1000:.1f} ms",
        )
    if gbps < t.fork_terrible_gbps:
        status, grade = Status.CRIT, "terrible"
    elif gbps < t.fork_poor_gbps:
        status, grade = Status.WARN, "poor"
    else:
        return _result("fork_cost", Status.OK, value=value, threshold=threshold, hint="fork speed is good")
    return _result(
        "fork_cost",
        status,
        value=value,
        threshold=threshold,
        hint=f"fork quality {grade} ({usec / 1000:.0f} ms): saves stall Redis; check THP, VM type, size",
    )
