"""The pure rules of the migration plan, on parsed INFO: versions (RDB of each release), memory fit
(maxmemory, eviction policy, container limit) and keyspace notifications. :mod:`redisops.migrate.plan`
applies them to live servers; tests apply them to captured replies::

    from redisops.inspect import parse_info
    from redisops.migrate.plan_rules import compare_versions, notification_finding, rdb_version

    assert rdb_version("7.0.15") == 10 and rdb_version("7.4.1") == 12
    same = parse_info("redis_version:7.0.15\r\n")
    assert compare_versions(same, same).gap is False
    assert notification_finding("").code == "notify.off" and notification_finding("KEA").level == "info"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from redisops.inspect import Info

__all__ = [
    "HEADROOM",
    "RDB_VERSIONS",
    "Finding",
    "MemoryFit",
    "VersionCheck",
    "blockers_from",
    "compare_versions",
    "mb",
    "memory_findings",
    "memory_fit",
    "notification_finding",
    "rdb_version",
]

#: the RDB (and DUMP payload) version each Redis release writes, newest first: (major, minor) -> version
RDB_VERSIONS: tuple[tuple[tuple[int, int], int], ...] = (
    ((7, 4), 12),
    ((7, 2), 11),
    ((7, 0), 10),
    ((5, 0), 9),
    ((4, 0), 8),
    ((3, 2), 7),
    ((2, 6), 6),
)

#: the classes keyspace-notification following needs: K or E, and every type plus expired/evicted
_NOTIFY_NEEDED = frozenset("g$lshzxe")
_NOTIFY_ALL = frozenset("g$lshzxet")
#: the share of maxmemory above which the plan warns (no headroom for growth after the copy)
HEADROOM = 0.9


@dataclass(frozen=True)
class Finding:
    """One finding of the plan: ``blocker`` (the copy refuses), ``warning`` or ``info``; a stable code,
    a sentence, and what to do."""

    level: Literal["blocker", "warning", "info"]
    code: str
    message: str
    hint: str = ""

    def to_dict(self) -> dict[str, str]:
        """Plain JSON."""
        return {"level": self.level, "code": self.code, "message": self.message, "hint": self.hint}


def rdb_version(redis_version: str | None) -> int | None:
    """The RDB version a Redis release writes (``7.2.4`` -> 11); None when unknown or unparsable."""
    if not redis_version:
        return None
    try:
        major, minor = (int(p) for p in redis_version.split(".")[:2])
    except ValueError:
        return None
    for (ma, mi), version in RDB_VERSIONS:
        if (major, minor) >= (ma, mi):
            return version
    return None


@dataclass(frozen=True)
class VersionCheck:
    """Source and target versions and whether the target can RESTORE the source's DUMP payloads."""

    source_version: str | None
    target_version: str | None
    source_rdb: int | None
    target_rdb: int | None

    @property
    def gap(self) -> bool:
        """True when the source writes a newer RDB version than the target reads."""
        return (
            self.source_rdb is not None and self.target_rdb is not None and self.source_rdb > self.target_rdb
        )

    @property
    def copy_method(self) -> str:
        """``dump-restore`` or, across a version gap, ``type-by-type``."""
        return "type-by-type" if self.gap else "dump-restore"

    def finding(self) -> Finding | None:
        """A warning across a version gap (the copy still works, type by type), else None."""
        if not self.gap:
            return None
        return Finding(
            "warning",
            "version.gap",
            f"the target runs Redis {self.target_version} (RDB {self.target_rdb}), older than the source's "
            f"Redis {self.source_version} (RDB {self.source_rdb}): it cannot RESTORE the source's DUMP "
            "payloads, so the copy will go type by type (reads each value and writes it with type commands)",
            hint="upgrade the target image to the source's version to copy with DUMP/RESTORE (faster)",
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON with the gap and the copy method."""
        return {
            "source_version": self.source_version,
            "target_version": self.target_version,
            "source_rdb": self.source_rdb,
            "target_rdb": self.target_rdb,
            "gap": self.gap,
            "copy_method": self.copy_method,
        }


def compare_versions(source: Info, target: Info) -> VersionCheck:
    """The version check of two INFO replies (``# Server`` section)."""
    s, t = source.server.redis_version, target.server.redis_version
    return VersionCheck(s, t, rdb_version(s), rdb_version(t))


@dataclass(frozen=True)
class MemoryFit:
    """The source's dataset against the target's memory (bytes)."""

    source_dataset: int
    target_used: int
    target_dataset: int
    target_maxmemory: int
    target_policy: str
    container_limit: int | None
    projected: int

    @property
    def shortfall(self) -> int:
        """Bytes the projected use exceeds maxmemory by (0 when it fits or there is no maxmemory)."""
        return max(0, self.projected - self.target_maxmemory) if self.target_maxmemory else 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (bytes)."""
        return {
            "source_dataset": self.source_dataset,
            "target_used": self.target_used,
            "target_dataset": self.target_dataset,
            "target_maxmemory": self.target_maxmemory,
            "target_policy": self.target_policy,
            "container_limit": self.container_limit,
            "projected": self.projected,
            "shortfall": self.shortfall,
        }


def mb(n: int) -> str:
    """Bytes as MiB with one decimal (``1.5 MiB``; ``maxmemory 256mb`` is 256.0 MiB): the unit every other
    command prints."""
    return f"{n / (1 << 20):.1f} MiB"


def memory_fit(
    source: Info, target: Info, container_limit: int | None = None, *, during: bool = False
) -> MemoryFit:
    """The projected memory of the target after the copy: its current use plus the source's dataset
    (``used_memory_dataset``). ``during`` (a copy or verify already under way, the target holding part
    of the source's data): the larger of the two datasets on top of the target's overhead."""
    sm, tm = source.memory, target.memory
    src_ds = sm.used_memory_dataset or max(0, (sm.used_memory or 0) - (sm.used_memory_startup or 0))
    t_used = tm.used_memory or 0
    t_ds = tm.used_memory_dataset or max(0, t_used - (tm.used_memory_startup or 0))
    projected = t_used - t_ds + max(src_ds, t_ds) if during else t_used + src_ds
    return MemoryFit(
        src_ds,
        t_used,
        t_ds,
        tm.maxmemory or 0,
        tm.maxmemory_policy or "noeviction",
        container_limit,
        projected,
    )


def memory_findings(fit: MemoryFit) -> list[Finding]:
    """Blockers when the data does not fit (evicting policy: keys silently evicted; noeviction: the copy
    fails with OOM; above the container limit: the pod is OOM-killed), warnings when it barely fits."""
    out: list[Finding] = []
    need = (
        f"the source's data needs about {mb(fit.source_dataset)} and the target already uses "
        f"{mb(fit.target_used)}"
    )
    raise_to = mb(int(fit.projected / HEADROOM) + 1)
    maxmem = mb(fit.target_maxmemory) if fit.target_maxmemory else "none"
    if fit.shortfall:
        if fit.target_policy != "noeviction":
            out.append(
                Finding(
                    "blocker",
                    "memory.evict",
                    f"copying would silently evict keys: {need}, but the target's maxmemory is "
                    f"{mb(fit.target_maxmemory)} with maxmemory-policy {fit.target_policy}; short by "
                    f"{mb(fit.shortfall)}",
                    hint=f"raise the target's maxmemory to at least {raise_to} (and the container's memory "
                    "limit above it), or use maxmemory-policy noeviction for the copy",
                )
            )
        else:
            out.append(
                Finding(
                    "blocker",
                    "memory.oom",
                    f"the copy would fail with OOM errors part-way: {need}, but the target's maxmemory is "
                    f"{mb(fit.target_maxmemory)} (noeviction); short by {mb(fit.shortfall)}",
                    hint=f"raise the target's maxmemory to at least {raise_to}",
                )
            )
    elif fit.target_maxmemory and fit.projected > HEADROOM * fit.target_maxmemory:
        out.append(
            Finding(
                "warning",
                "memory.headroom",
                f"after the copy the target would use about {mb(fit.projected)} of its "
                f"{mb(fit.target_maxmemory)} maxmemory (over {HEADROOM:.0%})",
                hint=f"raise maxmemory to {raise_to} or more so growth after the cutover does not "
                + ("evict keys" if fit.target_policy != "noeviction" else "fail writes"),
            )
        )
    if fit.container_limit is not None:
        if fit.projected > fit.container_limit:
            out.append(
                Finding(
                    "blocker",
                    "memory.container",
                    f"the target's container would be OOM-killed: {need}, above its memory limit of "
                    f"{mb(fit.container_limit)}",
                    hint="raise resources.limits.memory in the deployment config (and deploy), with "
                    "maxmemory at about 75% of it",
                )
            )
        elif fit.target_maxmemory == 0 or fit.target_maxmemory > fit.container_limit:
            out.append(
                Finding(
                    "warning",
                    "memory.maxmemory_unbounded",
                    f"the target's maxmemory ({maxmem}) "
                    f"does not stay under its container limit ({mb(fit.container_limit)}): growth ends in "
                    "an OOM kill rather than eviction",
                    hint="set maxmemory to about 75% of the container's memory limit",
                )
            )
    return out


def notification_finding(value: str | None, parameter_group: str | None = None) -> Finding:
    """Whether keyspace notifications on the source suffice for ``copy --follow`` (``value``: the
    ``notify-keyspace-events`` setting; None when unknown: CONFIG is blocked on ElastiCache;
    ``parameter_group``: the group it was read from, named in the hint)."""
    group = parameter_group or "<the source's parameter group>"
    named = f" {parameter_group}" if parameter_group else ""
    hint = (
        f"set notify-keyspace-events = KEA in the source's ElastiCache parameter group{named} "
        f"(aws elasticache modify-cache-parameter-group --cache-parameter-group-name {group} "
        "--parameter-name-values ParameterName=notify-keyspace-events,ParameterValue=KEA); "
        "the group applies it without a reboot"
    )
    if value is None:
        return Finding(
            "warning",
            "notify.unknown",
            "could not tell whether keyspace notifications are on (CONFIG is blocked on ElastiCache); "
            "copy --follow falls back to repeated SCAN passes when they are off",
            hint="pass the parameter group's notify-keyspace-events value (--notify-keyspace-events), or "
            + hint,
        )
    flags = set(value)
    if "A" in flags:
        flags |= _NOTIFY_ALL
    if flags & {"K", "E"} and flags >= _NOTIFY_NEEDED:
        return Finding(
            "info", "notify.on", f"keyspace notifications are on ({value!r}): copy --follow uses them"
        )
    shown = repr(value) if value else "off"
    return Finding(
        "warning",
        "notify.off",
        f"keyspace notifications are {shown} on the source: copy --follow falls back to repeated SCAN "
        "passes (changes reach the target a pass late, and deletes are found by comparing)",
        hint=hint,
    )


def blockers_from(
    source: Info, target: Info, container_limit: int | None = None, *, during: bool = False
) -> list[Finding]:
    """The blocking findings of two INFO replies (``memory``, ``server``): what the copy refuses."""
    return [
        f
        for f in memory_findings(memory_fit(source, target, container_limit, during=during))
        if f.level == "blocker"
    ]
