"""Short human texts for check values, with units: ``0.42 ms``, ``1.2 MiB``, ``93 %``, ``2 h 5 min``.

Pure presentation shared by front ends (the CLI table, the TUI): a check's raw ``value`` stays what the
JSON output carries; :func:`value_text` says it in a few words, never as a Python repr.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from redisops.health.model import CheckResult

__all__ = ["human_bytes", "human_duration", "human_value", "percent", "value_text"]


def human_bytes(n: float | None) -> str:
    """``512 B``, ``1.5 KiB``, ``3.0 MiB``, ``1.2 GiB`` (``-`` for None)."""
    if n is None:
        return "-"
    x = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(x) < 1024 or unit == "TiB":
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1024
    return f"{x:.1f} TiB"  # pragma: no cover


def human_duration(seconds: float | None) -> str:
    """``42 s``, ``12 min``, ``3 h 5 min``, ``4 d 2 h`` (``-`` for None)."""
    if seconds is None:
        return "-"
    s = max(float(seconds), 0.0)
    if s < 60:
        return f"{s:.0f} s" if s >= 10 or s == int(s) else f"{s:.1f} s"
    minutes = int(s // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def percent(ratio: float | None) -> str:
    """``93 %``, ``0.5 %`` (``-`` for None)."""
    if ratio is None:
        return "-"
    pct = ratio * 100
    return f"{pct:.0f} %" if pct >= 10 or pct == 0 else f"{pct:.1f} %"


def human_value(value: Any) -> str:
    """Any raw value without Python reprs: booleans as yes/no, None as ``-``, mappings as ``k v, ...``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {human_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(human_value(v) for v in value)
    return str(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _memory(v: Any) -> str:
    if isinstance(v, float):
        return f"{percent(v)} of maxmemory"
    return f"{human_bytes(v)} used"


def _maxmemory(v: Any) -> str:
    return "unset" if v == 0 else human_bytes(v)


def _fork_headroom(v: Mapping[str, Any]) -> str:
    return (
        f"rss {human_bytes(v.get('used_memory_rss'))} + fork {human_bytes(v.get('fork_estimate'))}"
        f" of {human_bytes(v.get('limit'))}"
    )


def _evictions(v: Mapping[str, Any]) -> str:
    return f"{v.get('evicted_keys')} evicted, {v.get('per_sec', 0):.1f}/s"


def _clients(v: Mapping[str, Any]) -> str:
    return f"{v.get('connected_clients')} of {v.get('maxclients')} ({percent(v.get('ratio'))})"


def _rejected(v: Mapping[str, Any]) -> str:
    total = v.get("rejected_connections")
    if "per_min" in v:
        return f"{total} ({v['per_min']:.1f}/min)"
    return f"{total} since start"


def _save_age(v: Mapping[str, Any]) -> str:
    return f"{v.get('changes_since_save')} changes, saved {human_duration(v.get('seconds_since_save'))} ago"


def _aof(v: Mapping[str, Any]) -> str:
    if not v.get("aof_enabled"):
        return "off"
    write, rewrite = v.get("aof_last_write_status"), v.get("aof_last_bgrewrite_status")
    if write in (None, "ok") and rewrite in (None, "ok"):
        return "on, ok"
    return f"on, write {write or '-'}, rewrite {rewrite or '-'}"


def _fork_cost(v: Mapping[str, Any]) -> str:
    usec = v.get("latest_fork_usec") or 0
    return f"{usec / 1000:.1f} ms, {v.get('gb_per_sec', 0):.1f} GB/s"


def _replication(v: Mapping[str, Any]) -> str:
    if v.get("role") == "master":
        return f"master, {_plural(int(v.get('connected_slaves') or 0), 'replica')}"
    return f"{v.get('role')}, link {v.get('master_link_status') or '-'}"


def _slow(v: Any) -> str:
    if not isinstance(v, Mapping):
        return "none new" if not v else f"{v} new"
    return f"{v.get('new_entries')} new, worst {(v.get('max_us') or 0) / 1000:.1f} ms"


def _latency_monitor(v: Any) -> str:
    return "off" if v == 0 else f"{v} ms"


def _drift(v: Mapping[str, Any]) -> str:
    if not v:
        return "matches"
    return f"{len(v)} differ: {', '.join(sorted(v))}"


def _pod(v: Mapping[str, Any]) -> str:
    parts = ["ready" if v.get("ready") else "not ready"]
    if v.get("restarts") is not None:
        parts.append(_plural(int(v["restarts"]), "restart"))
    for key in ("waiting", "last_terminated"):
        if v.get(key):
            parts.append(str(v[key]))
    return ", ".join(parts)


def _pvc(v: Mapping[str, Any]) -> str:
    phase = str(v.get("phase") or "-")
    if v.get("used_ratio") is not None:
        return f"{phase}, {percent(v['used_ratio'])} used"
    return phase


def _drill(v: Mapping[str, Any]) -> str:
    return f"{'ok' if v.get('ok') else 'failed'} {human_duration(v.get('age_s'))} ago"


_MAPPING_FORMATTERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "fork_headroom": _fork_headroom,
    "evictions": _evictions,
    "clients": _clients,
    "rejected_connections": _rejected,
    "save_age": _save_age,
    "aof": _aof,
    "fork_cost": _fork_cost,
    "replication": _replication,
    "config_drift": _drift,
    "pod": _pod,
    "pvc": _pvc,
    "drill": _drill,
}
_SCALAR_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "ping": lambda v: f"{v:.2f} ms",
    "uptime": human_duration,
    "memory": _memory,
    "maxmemory": _maxmemory,
    "fragmentation": lambda v: f"ratio {v:.2f}",
    "hit_ratio": lambda v: f"{percent(v)} hits",
    "blocked_clients": lambda v: _plural(int(v), "client"),
    "slow_commands": _slow,
    "latency_monitor": _latency_monitor,
    "service": lambda v: _plural(int(v), "endpoint"),
    "backup_age": lambda v: f"{human_duration(v)} old",
}


def value_text(check: CheckResult) -> str:
    """The check's value in a few words with units (``-`` when there is none)."""
    value = check.value
    if value is None:
        return "-"
    kind = check.name.split(":", 1)[0]
    try:
        if isinstance(value, Mapping):
            mapped = _MAPPING_FORMATTERS.get(kind)
            if mapped is not None:
                return mapped(value)
            scalar = _SCALAR_FORMATTERS.get(kind)
            return scalar(value) if kind == "slow_commands" and scalar is not None else human_value(value)
        if isinstance(value, bool):
            return human_value(value)
        formatter = _SCALAR_FORMATTERS.get(kind)
        if formatter is not None:
            return formatter(value)
    except (TypeError, ValueError, KeyError):
        pass  # an unexpected shape: the generic text below is still readable
    return human_value(value)
