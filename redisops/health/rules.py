"""The health checks as data and pure functions over a :class:`HealthInputs` snapshot.

Every check is a :class:`CheckSpec` (name, the source of its threshold, a function). A check whose
inputs are missing returns ``unknown`` with the reason it was given (``INFO refused: ...``); one check
failing never stops the others. Thresholds and sources: /work/shared/reference/health-checks.md.

The Kubernetes and backup graders live in :mod:`redisops.health.graders`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redisops.config.model import DeploymentConfig, parse_memory, quantity_value
from redisops.health.model import CheckResult, Status, Thresholds
from redisops.inspect.info_models import Info
from redisops.inspect.models import SlowlogEntry

__all__ = [
    "CHECKS",
    "CONFIG_KEYS",
    "CheckSpec",
    "HealthInputs",
    "container_memory_limit",
    "evaluate",
]

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


def _result(spec_name: str, status: Status, **kw: Any) -> CheckResult:
    spec = _SPECS[spec_name]
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


# --- the Redis checks ----------------------------------------------------------------------------------


def check_ping(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """Down / PING latency: no answer = crit; slow answers warn/crit."""
    threshold = f"no answer = crit; warn > {t.ping_warn_ms:g} ms, crit > {t.ping_crit_ms:g} ms"
    if inputs.ping_ms is None:
        return _result(
            "ping",
            Status.CRIT,
            value=None,
            threshold=threshold,
            reason=inputs.ping_error or "no answer",
            hint="Redis does not answer: check the pod/process, the address and the credentials",
        )
    ms = round(inputs.ping_ms, 3)
    if inputs.ping_error is not None:
        misconf = "MISCONF" in inputs.ping_error
        return _result(
            "ping",
            Status.CRIT,
            value=ms,
            threshold=threshold,
            reason=inputs.ping_error,
            hint="Redis refuses PING and writes: the last RDB save failed (see rdb_save)"
            if misconf
            else "Redis answers PING with an error",
        )
    if ms > t.ping_crit_ms:
        status, hint = Status.CRIT, "PING is very slow: a blocking command, a fork or an overloaded host"
    elif ms > t.ping_warn_ms:
        status, hint = Status.WARN, "PING is slow: look at SLOWLOG, LATENCY DOCTOR and the host's load"
    else:
        status, hint = Status.OK, "Redis answers PING"
    return _result("ping", status, value=ms, threshold=threshold, hint=hint)


def check_uptime(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """Recent restart: uptime below the threshold warns."""
    assert inputs.info is not None
    up = inputs.info.server.uptime_in_seconds
    threshold = f"uptime < {t.restart_warn_s:g} s = warn"
    if up is None:
        return _unknown("uptime", "INFO has no uptime_in_seconds", threshold=threshold)
    if up < t.restart_warn_s:
        return _result(
            "uptime",
            Status.WARN,
            value=up,
            threshold=threshold,
            hint="Redis restarted recently: check the logs (OOMKilled? crash?) and that data was loaded",
        )
    return _result("uptime", Status.OK, value=up, threshold=threshold, hint="no recent restart")


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


def check_hit_ratio(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """keyspace_hits / (hits + misses) < 0.9 warns (over the interval when there is a previous sample)."""
    assert inputs.info is not None
    st = inputs.info.stats
    threshold = f"< {_ratio(t.hit_ratio_warn)} warn (after {t.hit_ratio_min_lookups} lookups)"
    if st.keyspace_hits is None or st.keyspace_misses is None:
        return _unknown("hit_ratio", "INFO has no keyspace_hits/misses", threshold=threshold)
    hits, misses, how = st.keyspace_hits, st.keyspace_misses, "since start"
    prev = inputs.previous_info
    if prev is not None and prev.stats.keyspace_hits is not None and prev.stats.keyspace_misses is not None:
        dh, dm = hits - prev.stats.keyspace_hits, misses - prev.stats.keyspace_misses
        if dh >= 0 and dm >= 0 and prev.server.run_id == inputs.info.server.run_id:
            hits, misses, how = dh, dm, "over the interval"
    lookups = hits + misses
    if lookups < t.hit_ratio_min_lookups:
        return _result(
            "hit_ratio",
            Status.OK,
            value=round(hits / lookups, 4) if lookups else None,
            threshold=threshold,
            reason=f"{lookups} lookups {how}: too few to judge",
            hint="too few lookups to judge",
        )
    ratio = hits / lookups
    if ratio < t.hit_ratio_warn:
        return _result(
            "hit_ratio",
            Status.WARN,
            value=round(ratio, 4),
            threshold=threshold,
            reason=how,
            hint="many lookups miss: keys expire or are evicted too early, or clients read absent keys",
        )
    return _result("hit_ratio", Status.OK, value=round(ratio, 4), threshold=threshold, reason=how, hint="ok")


def check_clients(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """connected_clients / maxclients > 0.9 is crit."""
    assert inputs.info is not None
    cl = inputs.info.clients
    warn = f"warn > {_ratio(t.clients_warn_ratio)}, " if t.clients_warn_ratio is not None else ""
    threshold = f"{warn}crit > {_ratio(t.clients_crit_ratio)} of maxclients"
    ratio = cl.usage_ratio
    if ratio is None:
        return _unknown("clients", "INFO has no connected_clients/maxclients", threshold=threshold)
    value = {"connected_clients": cl.connected_clients, "maxclients": cl.maxclients, "ratio": round(ratio, 4)}
    if ratio > t.clients_crit_ratio:
        return _result(
            "clients",
            Status.CRIT,
            value=value,
            threshold=threshold,
            hint="nearly out of client slots: new connections will be refused; look for a connection leak",
        )
    if t.clients_warn_ratio is not None and ratio > t.clients_warn_ratio:
        return _result(
            "clients", Status.WARN, value=value, threshold=threshold, hint="client slots are filling up"
        )
    return _result("clients", Status.OK, value=value, threshold=threshold, hint=f"{ratio:.0%} of maxclients")


def check_rejected(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """rejected_connections: any warns; > 5/min crit (needs a previous sample to measure the rate)."""
    assert inputs.info is not None
    rate, total, how = _counter_rate(inputs, "rejected_connections")
    threshold = f"> 0 warn; > {t.rejected_crit_per_min:g}/min crit"
    if total is None:
        return _unknown("rejected_connections", "INFO has no rejected_connections", threshold=threshold)
    hint = "connections were refused (maxclients reached): raise maxclients or fix a connection leak"
    if rate is None:
        value = {"rejected_connections": total, "measured": how}
        if total > 0:
            return _result("rejected_connections", Status.WARN, value=value, threshold=threshold, hint=hint)
        return _result("rejected_connections", Status.OK, value=value, threshold=threshold, hint="none")
    per_min = rate * 60
    value = {"rejected_connections": total, "per_min": round(per_min, 2), "measured": how}
    if per_min > t.rejected_crit_per_min:
        return _result("rejected_connections", Status.CRIT, value=value, threshold=threshold, hint=hint)
    if per_min > 0:
        return _result("rejected_connections", Status.WARN, value=value, threshold=threshold, hint=hint)
    return _result("rejected_connections", Status.OK, value=value, threshold=threshold, hint="none recently")


def check_blocked(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """blocked_clients: informational only (always ok)."""
    assert inputs.info is not None
    n = inputs.info.clients.blocked_clients
    if n is None:
        return _unknown("blocked_clients", "INFO has no blocked_clients", threshold="informational")
    return _result(
        "blocked_clients",
        Status.OK,
        value=n,
        threshold="informational",
        hint="clients waiting in BLPOP/XREAD/WAIT ..." if n else "no blocked clients",
    )


def check_rdb_save(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """rdb_last_bgsave_status != ok is crit (stop-writes-on-bgsave-error refuses writes)."""
    assert inputs.info is not None
    status = inputs.info.persistence.rdb_last_bgsave_status
    if status is None:
        return _unknown("rdb_save", "INFO has no rdb_last_bgsave_status", threshold="!= ok = crit")
    if status != "ok":
        return _result(
            "rdb_save",
            Status.CRIT,
            value=status,
            threshold="!= ok = crit",
            hint="the last BGSAVE failed (disk full? data dir gone? permissions?): with "
            "stop-writes-on-bgsave-error yes, writes are refused; see the Redis log",
        )
    return _result(
        "rdb_save", Status.OK, value=status, threshold="!= ok = crit", hint="last BGSAVE succeeded"
    )


def check_save_age(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """Changes pending longer than a due save point (+ grace) warn."""
    assert inputs.info is not None
    pers = inputs.info.persistence
    threshold = f"changes pending > save point seconds + {t.save_grace_s:g} s = warn"
    points = _save_points(inputs)
    if points is None:
        return _unknown(
            "save_age",
            f"save points unknown: CONFIG unavailable: {inputs.config_reason or 'not collected'}",
            threshold=threshold,
        )
    if pers.rdb_last_save_time is None or pers.rdb_changes_since_last_save is None:
        return _unknown("save_age", "INFO has no rdb_last_save_time", threshold=threshold)
    age = max(inputs.server_now - pers.rdb_last_save_time, 0.0)
    changes = pers.rdb_changes_since_last_save
    value = {"seconds_since_save": int(age), "changes_since_save": changes}
    if not points:
        return _result(
            "save_age", Status.OK, value=value, threshold=threshold, hint='RDB save points are off (save "")'
        )
    overdue = [(s, c) for s, c in points if changes >= c and age > s + t.save_grace_s]
    if overdue:
        s, c = max(overdue)
        return _result(
            "save_age",
            Status.WARN,
            value=value,
            threshold=threshold,
            hint=f"{changes} changes unsaved for {int(age)} s although save point '{s} {c}' is due: "
            "saves are failing or not starting",
        )
    return _result("save_age", Status.OK, value=value, threshold=threshold, hint="snapshots keep up")


def check_aof(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """aof_last_write_status / aof_last_bgrewrite_status != ok is crit."""
    assert inputs.info is not None
    pers = inputs.info.persistence
    value = {
        "aof_enabled": pers.aof_enabled,
        "aof_last_write_status": pers.aof_last_write_status,
        "aof_last_bgrewrite_status": pers.aof_last_bgrewrite_status,
    }
    if pers.aof_last_write_status is None and pers.aof_last_bgrewrite_status is None:
        return _unknown("aof", "INFO has no AOF status fields", threshold="!= ok = crit")
    bad = [k for k in ("aof_last_write_status", "aof_last_bgrewrite_status") if value[k] not in (None, "ok")]
    if bad:
        return _result(
            "aof",
            Status.CRIT,
            value=value,
            threshold="!= ok = crit",
            hint=f"{' and '.join(bad)} not ok: the AOF cannot be written/rewritten (disk full? dir gone?)",
        )
    hint = "AOF writes and rewrites succeed" if pers.aof_enabled else "AOF is off"
    return _result("aof", Status.OK, value=value, threshold="!= ok = crit", hint=hint)


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


def check_replication(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """A replica whose master link is down is crit; a sync in progress warns."""
    assert inputs.info is not None
    repl = inputs.info.replication
    if repl.role is None:
        return _unknown("replication", "INFO has no role", threshold="master_link_status down = crit")
    threshold = "master_link_status != up = crit"
    if repl.role == "master":
        n = repl.connected_slaves or 0
        lagging = [r for r in repl.replicas if r.state != "online"]
        value = {"role": "master", "connected_slaves": n}
        if lagging:
            return _result(
                "replication",
                Status.WARN,
                value=value,
                threshold=threshold,
                hint=f"{len(lagging)} replica(s) not online (state {lagging[0].state})",
            )
        return _result(
            "replication", Status.OK, value=value, threshold=threshold, hint=f"master, {n} replica(s)"
        )
    value = {"role": repl.role, "master_link_status": repl.master_link_status, "master": repl.master_host}
    if repl.master_link_status != "up":
        down = repl.master_link_down_since_seconds
        return _result(
            "replication",
            Status.CRIT,
            value=value,
            threshold=threshold,
            hint=f"replica's link to {repl.master_host}:{repl.master_port} is down"
            + (f" for {down} s" if down is not None and down >= 0 else "")
            + ": it serves stale data",
        )
    if repl.master_sync_in_progress:
        return _result(
            "replication", Status.WARN, value=value, threshold=threshold, hint="full sync in progress"
        )
    return _result("replication", Status.OK, value=value, threshold=threshold, hint="replica link is up")


def check_slow_commands(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """New slow-log entries (above slowlog-log-slower-than) since the last poll warn."""
    slower = (inputs.config or {}).get("slowlog-log-slower-than")
    limit = (
        f"{int(slower) / 1000:g} ms" if slower and slower.lstrip("-").isdigit() else "slowlog-log-slower-than"
    )
    entries = list(inputs.slowlog_new or ())
    window = ""
    if inputs.slowlog_first_poll:
        cutoff = inputs.server_now - t.slowlog_window_s
        entries = [e for e in entries if e.started_at >= cutoff]
        window = f" in the last {t.slowlog_window_s:g} s"
    threshold = f"any new entry > {limit} = warn"
    if not entries:
        return _result(
            "slow_commands",
            Status.OK,
            value=0,
            threshold=threshold,
            hint=f"no new slow-log entries{window}",
            reason=f"{inputs.slowlog_missed} entries rotated out unread" if inputs.slowlog_missed else None,
        )
    worst = max(entries, key=lambda e: e.duration_us)
    value = {"new_entries": len(entries), "max_us": worst.duration_us, "worst": worst.shape}
    if inputs.slowlog_missed:
        value["missed"] = inputs.slowlog_missed
    return _result(
        "slow_commands",
        Status.WARN,
        value=value,
        threshold=threshold,
        hint=f"{len(entries)} slow command(s){window}, worst {worst.shape} "
        f"{worst.duration_us / 1000:.1f} ms: see redisops slowlog",
    )


def check_latency_monitor(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """latency-monitor-threshold 0 (off, the default) is informational: suggest enabling it."""
    assert inputs.config is not None
    raw = inputs.config.get("latency-monitor-threshold")
    if raw is None:
        return _unknown("latency_monitor", "CONFIG has no latency-monitor-threshold", threshold="0 = info")
    if raw == "0":
        return _result(
            "latency_monitor",
            Status.OK,
            value=0,
            threshold="0 = info",
            hint="the latency monitor is off: CONFIG SET latency-monitor-threshold 100 to record spikes",
        )
    return _result(
        "latency_monitor", Status.OK, value=int(raw), threshold="0 = info", hint="latency monitor on"
    )


def _expected_config(cfg: DeploymentConfig) -> dict[str, str]:
    r = cfg.config
    expected = {
        "maxmemory": str(r.maxmemory_bytes),
        "maxmemory-policy": r.maxmemory_policy,
        "save": " ".join(f"{p.seconds} {p.changes}" for p in r.save),
        "appendonly": "yes" if r.appendonly else "no",
        "appendfsync": r.appendfsync,
        "appenddirname": r.appenddirname,
        "appendfilename": r.appendfilename,
        "dbfilename": r.dbfilename,
        "databases": str(r.databases),
        "maxclients": str(r.maxclients),
        "slowlog-log-slower-than": str(r.slowlog_log_slower_than),
        "slowlog-max-len": str(r.slowlog_max_len),
        "latency-monitor-threshold": str(r.latency_monitor_threshold),
    }
    for key, value in r.extra.items():
        expected[key.lower()] = value.strip().strip('"')
    return expected


def _same(name: str, live: str, want: str) -> bool:
    if live == want:
        return True
    if name.startswith("max") or name.endswith("memory") or "size" in name:
        try:
            return parse_memory(live) == parse_memory(want)
        except ValueError:
            pass
    return live.lower() == want.lower()


CONFIG_KEYS = tuple(_expected_config(DeploymentConfig()).keys())
"""The settings compared by the drift check (plus any ``config.extra`` directive)."""


def check_config_drift(inputs: HealthInputs, t: Thresholds) -> CheckResult:
    """Live CONFIG vs the typed deployment config: any difference warns."""
    assert inputs.config is not None and inputs.deployment is not None
    drift: dict[str, dict[str, str | None]] = {}
    for name, want in _expected_config(inputs.deployment).items():
        live = inputs.config.get(name)
        if live is None:
            continue  # a directive this server does not know (older version): not drift
        if not _same(name, live, want):
            drift[name] = {"live": live, "config": want}
    if drift:
        names = ", ".join(sorted(drift))
        return _result(
            "config_drift",
            Status.WARN,
            value=drift,
            threshold="any difference = warn",
            hint=f"live settings differ from the deployment config ({names}): "
            "someone ran CONFIG SET, or the config was not rolled out",
        )
    return _result(
        "config_drift", Status.OK, value={}, threshold="any difference = warn", hint="live CONFIG matches"
    )


_SPECS_LIST: tuple[CheckSpec, ...] = (
    CheckSpec("ping", "all sets (no answer = crit); latency: redisops defaults", (), check_ping),
    CheckSpec("uptime", "Sysdig PromCat Redis alerts (uptime < 1 h)", ("info",), check_uptime),
    CheckSpec(
        "memory",
        "Sysdig (warn > 0.85), awesome-prometheus-alerts (crit > 0.90)",
        ("info",),
        check_memory,
    ),
    CheckSpec("maxmemory", "redis.io admin: set an explicit maxmemory", ("info",), check_maxmemory_set),
    CheckSpec(
        "fork_headroom",
        "redis.io admin (a save or AOF rewrite can need up to 2x memory)",
        ("info", "deployment"),
        check_fork_headroom,
    ),
    CheckSpec(
        "fragmentation",
        "Sysdig (> 1.5); MEMORY DOCTOR (> 1.4 and > 10 MB; < 5 MB used is not judged)",
        ("info",),
        check_fragmentation,
    ),
    CheckSpec(
        "evictions", "Sysdig (evictions/s / keys > 0.1); > 0 for a non-cache", ("info",), check_evictions
    ),
    CheckSpec("hit_ratio", "Sysdig (< 0.9)", ("info",), check_hit_ratio),
    CheckSpec("clients", "awesome-prometheus-alerts (> 0.9 of maxclients)", ("info",), check_clients),
    CheckSpec("rejected_connections", "Sysdig (> 0 warn); > 5/min crit", ("info",), check_rejected),
    CheckSpec("blocked_clients", "informational", ("info",), check_blocked),
    CheckSpec(
        "rdb_save",
        "redis.io persistence (stop-writes-on-bgsave-error refuses writes)",
        ("info",),
        check_rdb_save,
    ),
    CheckSpec("save_age", "redis.io persistence: save points", ("info", "config"), check_save_age),
    CheckSpec("aof", "redis.io persistence (aof_last_write/bgrewrite_status)", ("info",), check_aof),
    CheckSpec("fork_cost", "LATENCY DOCTOR (< 25 GB/s poor, < 10 GB/s terrible)", ("info",), check_fork_cost),
    CheckSpec("replication", "redis_exporter redis-mixin (master link down)", ("info",), check_replication),
    CheckSpec(
        "slow_commands",
        "redis.io SLOWLOG (slowlog-log-slower-than, default 10 ms)",
        ("slowlog",),
        check_slow_commands,
    ),
    CheckSpec(
        "latency_monitor",
        "redis.io latency monitor (off by default)",
        ("config",),
        check_latency_monitor,
        category="config",
    ),
    CheckSpec(
        "config_drift",
        "the typed deployment config",
        ("config", "deployment"),
        check_config_drift,
        category="config",
    ),
)
_SPECS = {s.name: s for s in _SPECS_LIST}

CHECKS: tuple[CheckSpec, ...] = _SPECS_LIST
"""Every Redis and config check, in report order."""


def evaluate(
    inputs: HealthInputs, thresholds: Thresholds | None = None, *, only: Sequence[str] | None = None
) -> list[CheckResult]:
    """Run every check (or those named in ``only``) over ``inputs``; missing inputs give ``unknown``."""
    t = thresholds or Thresholds()
    results: list[CheckResult] = []
    for spec in CHECKS:
        if only is not None and spec.name not in only:
            continue
        reason = _missing(inputs, spec.needs)
        if reason is not None:
            results.append(_unknown(spec.name, reason))
            continue
        try:
            results.append(spec.fn(inputs, t))
        except Exception as e:  # a check must never stop the others
            results.append(_unknown(spec.name, f"check failed: {type(e).__name__}: {e}"))
    return results
