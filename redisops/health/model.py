"""The health report's data: statuses, check results, the report and its thresholds. Pure.

A check reports its name, a status, the raw value, the threshold it was judged against, where that
threshold comes from (the source) and a one-line hint. ``unknown`` carries the reason (no CONFIG rights,
server not reachable, Kubernetes adapter not configured ...). The report's exit code follows the
tool-wide table (:class:`redisops.errors.ExitCode`): 0 when every check is ok, 20 (``CHECK_WARNING``)
when the worst is a warning, 21 (``CHECK_CRITICAL``) when one is critical; ``unknown`` alone does not
fail unless ``strict``, which counts it as a warning.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import yaml

from redisops.errors import ConfigError, ExitCode

__all__ = ["CheckResult", "HealthReport", "Status", "Thresholds"]


class Status(enum.StrEnum):
    """A check's outcome, ordered by severity: ok < unknown < warn < crit."""

    OK = "ok"
    UNKNOWN = "unknown"
    WARN = "warn"
    CRIT = "crit"

    @property
    def rank(self) -> int:
        """Severity: 0 ok, 1 unknown, 2 warn, 3 crit."""
        return _RANK[self.value]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return self.rank >= other.rank


_RANK = {"ok": 0, "unknown": 1, "warn": 2, "crit": 3}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome.

    Args:
        name: stable identifier (``memory``, ``rdb_save``, ``config_drift`` ...).
        status: ok / warn / crit / unknown.
        value: the raw observed value (a number, a string, a mapping for drift), None when unknown.
        threshold: the threshold as text (``warn > 0.85, crit > 0.90``), None when not applicable.
        source: where the threshold comes from (``awesome-prometheus-alerts``, ``Sysdig`` ...).
        hint: one line on what it means or what to do.
        reason: why the status is unknown (or a note on how the value was obtained).
        category: ``redis``, ``config``, ``kubernetes`` or ``backup``.
    """

    name: str
    status: Status
    value: Any = None
    threshold: str | None = None
    source: str = ""
    hint: str = ""
    reason: str | None = None
    category: str = "redis"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "category": self.category,
            "status": self.status.value,
            "value": self.value,
            "threshold": self.threshold,
            "source": self.source,
            "hint": self.hint,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class HealthReport:
    """The checks of one health run.

    ``snapshot`` is what a poller keeps for the next run (the previous INFO sample and the slow-log
    watermark); it is not part of :meth:`to_dict`.
    """

    checks: tuple[CheckResult, ...]
    target: str = ""
    generated_at: float = 0.0
    snapshot: Any = field(default=None, compare=False, repr=False)

    @property
    def overall(self) -> Status:
        """The worst status of all checks (ok when there are none)."""
        return max((c.status for c in self.checks), default=Status.OK)

    @property
    def status(self) -> Status:
        """The same as :attr:`overall` (``redisops.target().health().status``)."""
        return self.overall

    def exit_code(self, strict: bool = False) -> int:
        """0 ok, 20 (``ExitCode.CHECK_WARNING``) warn, 21 (``ExitCode.CHECK_CRITICAL``) crit.

        ``strict`` counts an unknown check as a warning (20), so "could not tell" fails a pipeline too.
        """
        worst = self.overall
        if worst is Status.CRIT:
            return int(ExitCode.CHECK_CRITICAL)
        if worst is Status.WARN or (strict and worst is Status.UNKNOWN):
            return int(ExitCode.CHECK_WARNING)
        return int(ExitCode.OK)

    def by_status(self, status: Status) -> list[CheckResult]:
        """The checks with ``status``."""
        return [c for c in self.checks if c.status is status]

    def get(self, name: str) -> CheckResult:
        """The check named ``name`` (KeyError when absent)."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def counts(self) -> dict[str, int]:
        """How many checks have each status."""
        return {s.value: sum(1 for c in self.checks if c.status is s) for s in Status}

    def to_dict(self, strict: bool = False) -> dict[str, Any]:
        """JSON-ready form: overall status, exit code, counts and every check."""
        return {
            "target": self.target,
            "generated_at": self.generated_at,
            "overall": self.overall.value,
            "exit_code": self.exit_code(strict),
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of the health checks; defaults and sources from reference/health-checks.md.

    Override with :meth:`from_mapping` / :meth:`from_yaml` (unknown names are an error) or
    :func:`dataclasses.replace`.
    """

    #: uptime below this is a recent restart (Sysdig: < 1 h)
    restart_warn_s: float = 3600.0
    #: used_memory / maxmemory (Sysdig warn 0.85, awesome-prometheus-alerts crit 0.90)
    memory_warn_ratio: float = 0.85
    memory_crit_ratio: float = 0.90
    #: allkeys-* caches evict by design and may run at maxmemory: memory ratio is not judged for them
    memory_cache_exempt: bool = True
    #: warn when maxmemory > this share of the container limit with persistence on (fork can need 2x)
    fork_headroom_warn_ratio: float = 0.5
    #: share of used_memory a fork may copy (1.0 = worst case, every page written during the save)
    fork_cow_fraction: float = 1.0
    #: mem_fragmentation_ratio above this warns (Sysdig 1.5; MEMORY DOCTOR 1.4) ...
    fragmentation_warn_ratio: float = 1.5
    #: ... when at least this many bytes are fragmented (MEMORY DOCTOR: 10 MB)
    fragmentation_min_bytes: int = 10 * 1024 * 1024
    #: below 1.0 some memory is swapped; only judged when used_memory is at least this (MEMORY DOCTOR: 5 MB)
    fragmentation_min_used_bytes: int = 5 * 1024 * 1024
    fragmentation_swap_ratio: float = 1.0
    #: evictions per second divided by keys (Sysdig 0.1); any eviction warns for a non-cache policy
    eviction_rate_ratio_warn: float = 0.1
    #: keyspace hit ratio below this warns (Sysdig 0.9) once there were this many lookups
    hit_ratio_warn: float = 0.9
    hit_ratio_min_lookups: int = 100
    #: connected_clients / maxclients above this is crit (awesome-prometheus-alerts 0.9); warn optional
    clients_crit_ratio: float = 0.9
    clients_warn_ratio: float | None = None
    #: rejected connections: any warns (Sysdig); more than this per minute is crit
    rejected_crit_per_min: float = 5.0
    #: extra seconds beyond a due save point before pending changes warn
    save_grace_s: float = 60.0
    #: fork speed in GB/s (LATENCY DOCTOR: < 25 poor = warn, < 10 terrible = crit) ...
    fork_poor_gbps: float = 25.0
    fork_terrible_gbps: float = 10.0
    #: ... judged only for forks that took at least this long (shorter ones do not hurt latency)
    fork_min_usec: int = 10_000
    #: slow-log entries newer than this window count on a first poll (later polls use the watermark)
    slowlog_window_s: float = 300.0
    #: PING round trip (no published threshold: redisops defaults)
    ping_warn_ms: float = 50.0
    ping_crit_ms: float = 500.0
    #: backup age (awesome-prometheus-alerts: 48 h crit; 24 h warn)
    backup_warn_s: float = 24 * 3600.0
    backup_crit_s: float = 48 * 3600.0
    #: last restore drill older than this many days warns (team policy (issue 5): drills on a schedule)
    drill_warn_days: float = 7.0
    #: PVC (kubernetes-mixin): used share above warn, free share below crit
    pvc_used_warn_ratio: float = 0.85
    pvc_free_crit_ratio: float = 0.03
    #: pod restarts above this warn (kubernetes-mixin KubePodCrashLooping fires on any restart increase)
    pod_restarts_warn: int = 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> Thresholds:
        """Defaults overridden by ``values`` (names as the fields); ConfigError on unknown names/types."""
        if not values:
            return cls()
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown health threshold(s): {', '.join(unknown)}",
                hint=f"known thresholds: {', '.join(sorted(known))}",
            )
        converted: dict[str, Any] = {}
        for name, raw in values.items():
            default = getattr(cls(), name)
            converted[name] = _convert(name, raw, default)
        return dataclasses.replace(cls(), **converted)

    @classmethod
    def from_yaml(cls, text: str) -> Thresholds:
        """Thresholds from YAML text: a mapping, optionally under a top-level ``thresholds:`` key."""
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"thresholds are not valid YAML: {type(e).__name__}") from None
        if isinstance(data, dict) and isinstance(data.get("thresholds"), dict):
            data = data["thresholds"]
        if not isinstance(data, dict):
            raise ConfigError("thresholds must be a YAML mapping of name: value")
        return cls.from_mapping({str(k): v for k, v in data.items()})

    def to_dict(self) -> dict[str, Any]:
        """All thresholds by name."""
        return dataclasses.asdict(self)


def _convert(name: str, raw: Any, default: Any) -> Any:
    if raw is None and name == "clients_warn_ratio":
        return None
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("yes", "no", "true", "false"):
                return raw.lower() in ("yes", "true")
            raise ValueError(raw)
        if isinstance(raw, bool):
            raise ValueError(raw)
        if isinstance(default, int):
            value: float = int(raw)
        else:
            value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"health threshold {name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"health threshold {name} must not be negative, got {raw!r}")
    return value
