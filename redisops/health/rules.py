"""The health checks as data and pure functions over a :class:`HealthInputs` snapshot.

Every check is a :class:`CheckSpec` (name, the source of its threshold, a function). A check whose
inputs are missing returns ``unknown`` with the reason it was given (``INFO refused: ...``); one check
failing never stops the others. Thresholds and sources: /work/shared/reference/health-checks.md.

The inputs and helpers are in :mod:`redisops.health.rules_base`, the memory checks in
:mod:`redisops.health.rules_memory`; the Kubernetes and backup graders in :mod:`redisops.health.graders`.
"""

from __future__ import annotations

from collections.abc import Sequence

from redisops.config.model import DeploymentConfig, parse_memory
from redisops.health.model import CheckResult, Status, Thresholds
from redisops.health.rules_base import (
    SPECS,
    CheckSpec,
    HealthInputs,
    _counter_rate,
    _missing,
    _ratio,
    _result,
    _save_points,
    _unknown,
    container_memory_limit,
)
from redisops.health.rules_memory import (
    check_evictions,
    check_fork_cost,
    check_fork_headroom,
    check_fragmentation,
    check_maxmemory_set,
    check_memory,
)

__all__ = [
    "CHECKS",
    "CONFIG_KEYS",
    "CheckSpec",
    "HealthInputs",
    "container_memory_limit",
    "evaluate",
]

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
SPECS.update({s.name: s for s in _SPECS_LIST})

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
