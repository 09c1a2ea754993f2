"""The migration plan: what moving the source's data into the target involves, and what forbids it.

:func:`build_plan` reads both servers (INFO, SCAN + MEMORY USAGE, a DUMP/PTTL sample) and writes
nothing to the target; it finds

* the **versions**: a target older than the source cannot RESTORE the source's DUMP payloads (the RDB
  version is in the payload: 7.0 writes 10, 7.2 writes 11, 7.4 writes 12), so the copy goes type by
  type instead (as RIOT's ``--struct``);
* the **dbs** in use and their key counts;
* the **memory**: the source's dataset against the target's maxmemory, its eviction policy and the
  container limit. Copying beyond maxmemory with an evicting policy (``allkeys-lru``) would silently
  evict keys: a blocker naming the shortfall;
* the **big keys** (MEMORY USAGE above a threshold), copied in chunks;
* **keyspace notifications** on the source (from the parameter group: CONFIG is blocked on
  ElastiCache), with the setting to change when they are off;
* an **estimated copy time** from timing DUMP/PTTL of a sample and RESTORE into a scratch server.

Blocking findings are checked again by the copy and the verify (:func:`check_blockers`). The pure
functions (:func:`compare_versions`, :func:`memory_findings`, :func:`notification_finding`,
:func:`blockers_from`) work on parsed INFO, so they are tested on captured replies::

    from redisops.inspect import parse_info
    from redisops.migrate.plan import compare_versions

    src = parse_info("# Server\\r\\nredis_version:7.2.4\\r\\n")
    dst = parse_info("# Server\\r\\nredis_version:7.0.15\\r\\n")
    v = compare_versions(src, dst)
    assert v.gap and v.copy_method == "type-by-type" and (v.source_rdb, v.target_rdb) == (11, 10)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command
from redisops.cancel import CancelToken
from redisops.errors import DependencyMissing, PlanBlocked, RedisOpsError
from redisops.events import Reporter
from redisops.inspect import Info
from redisops.migrate.cluster import merged_info
from redisops.migrate.estimate import (
    BigKeyScan,
    CopyEstimate,
    SampleTiming,
    big_key_throughput,
    extrapolate,
    find_big_keys,
    measure_sample,
    sample_sizes,
)
from redisops.migrate.plan_rules import (
    RDB_VERSIONS,
    Finding,
    MemoryFit,
    VersionCheck,
    blockers_from,
    compare_versions,
    mb,
    memory_findings,
    memory_fit,
    notification_finding,
    rdb_version,
)
from redisops.migrate.walker import RateLimiter

__all__ = [
    "RDB_VERSIONS",
    "Finding",
    "MemoryFit",
    "MigrationPlan",
    "PlanOptions",
    "VersionCheck",
    "blockers_from",
    "build_plan",
    "check_blockers",
    "compare_versions",
    "fetch_info",
    "memory_findings",
    "memory_fit",
    "notification_finding",
    "rdb_version",
    "require_no_blockers",
]


def fetch_info(ep: RedisEndpoint, *sections: str) -> Info:
    """INFO ``sections`` of ``ep`` (default: server, memory, keyspace), parsed; of a Redis Cluster, every
    primary's memory and keyspace summed (:func:`redisops.migrate.cluster.merged_info`), so a plan
    compares all of a cluster source's data with the target."""
    return merged_info(ep, *(sections or ("server", "memory", "keyspace")))


def check_blockers(
    source: RedisEndpoint, target: RedisEndpoint, *, container_limit: int | None = None, during: bool = True
) -> list[Finding]:
    """The plan's blocking findings again, on live INFO of both servers (the copy and the verify call
    this before they start; ``during``: the target may already hold part of the source's data)."""
    return blockers_from(fetch_info(source), fetch_info(target), container_limit, during=during)


def require_no_blockers(
    source: RedisEndpoint,
    target: RedisEndpoint,
    *,
    op: str,
    container_limit: int | None = None,
    during: bool = True,
) -> None:
    """:class:`~redisops.errors.PlanBlocked` (exit 15) naming every blocker :func:`check_blockers` finds."""
    found = check_blockers(source, target, container_limit=container_limit, during=during)
    if found:
        raise PlanBlocked(
            f"{op} is blocked: " + "; ".join(f.message for f in found),
            hint=found[0].hint,
            context={"op": op, "blockers": [f.code for f in found]},
        )


# --- the whole plan --------------------------------------------------------------------------------------


class PlanOptions(BaseModel):
    """What :func:`build_plan` samples and how hard it may load the source."""

    model_config = ConfigDict(extra="forbid")

    sample: int = Field(
        default=500,
        ge=0,
        le=100_000,
        description="keys sampled to time DUMP/PTTL and RESTORE (0: no estimate)",
    )
    big_key_bytes: int = Field(
        default=4 << 20, ge=1, description="MEMORY USAGE above this (bytes) makes a big key"
    )
    big_key_scan_limit: int = Field(
        default=200_000,
        ge=0,
        le=100_000_000,
        description="keys sized with MEMORY USAGE at most (0: no big-key scan)",
    )
    max_ops: float = Field(
        default=0.0, ge=0, description="cap on commands per second on the source (0: none)"
    )
    notify_keyspace_events: str | None = Field(
        default=None,
        description="the source parameter group's notify-keyspace-events value (null: read from the "
        "replication group's parameter group, else CONFIG where the source allows it, else unknown)",
    )


@dataclass
class MigrationPlan:
    """What :func:`build_plan` found (see the module docstring); :attr:`blockers` refuse the copy."""

    source: str
    target: str
    versions: VersionCheck
    dbs: dict[int, dict[str, int]]
    memory: MemoryFit
    notify_keyspace_events: str | None
    big_keys: BigKeyScan
    sample: SampleTiming | None
    estimate: CopyEstimate | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def blockers(self) -> list[Finding]:
        """The findings that refuse the copy."""
        return [f for f in self.findings if f.level == "blocker"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings the copy goes ahead with."""
        return [f for f in self.findings if f.level == "warning"]

    @property
    def copy_method(self) -> str:
        """``dump-restore``, or ``type-by-type`` across a version gap or when the scratch server refused
        the sample's payloads."""
        refused = self.sample is not None and self.sample.refused > 0
        return "type-by-type" if self.versions.gap or refused else "dump-restore"

    @property
    def total_keys(self) -> int:
        """Keys on the source, all dbs."""
        return sum(d["keys"] for d in self.dbs.values())

    def summary(self) -> list[str]:
        """Lines for people: versions, dbs, memory, big keys, notifications, estimate, then findings."""
        v, m = self.versions, self.memory
        maxmem = mb(m.target_maxmemory) if m.target_maxmemory else "none"
        limit = mb(m.container_limit) if m.container_limit else "unknown"
        notify = self.notify_keyspace_events
        lines = [
            f"source {self.source}: Redis {v.source_version} (RDB {v.source_rdb}); "
            f"target {self.target}: Redis {v.target_version} (RDB {v.target_rdb}); copy: {self.copy_method}",
            "dbs: "
            + (
                ", ".join(f"db{db} {d['keys']} keys ({d['expires']} with TTL)" for db, d in self.dbs.items())
                or "none"
            ),
            f"memory: source dataset {mb(m.source_dataset)}; target uses {mb(m.target_used)}, maxmemory "
            f"{maxmem} ({m.target_policy}), container limit {limit}; after the copy about {mb(m.projected)}",
        ]
        b = self.big_keys
        scope = "all keys" if b.complete else f"the first {b.examined} keys"
        lines.append(
            f"big keys ({scope} sized): {b.count}"
            + "".join(f"\n  db{k.db} {k.key}: {mb(k.bytes)}" for k in b.keys)
        )
        shown = "unknown" if notify is None else repr(notify) if notify else "off"
        lines.append(f"keyspace notifications: {shown}")
        if self.estimate is not None:
            e = self.estimate
            lines.append(
                f"estimated copy time: {e.seconds:.0f} s ({e.keys_per_second:.0f} keys/s, "
                f"{e.mb_per_second * 1e6 / (1 << 20):.1f} MiB/s; {e.note})"  # the estimate's rate is in MB/s
            )
        for f in self.findings:
            if f.level != "info":
                lines.append(f"{f.level.upper()}: {f.message}" + (f" (hint: {f.hint})" if f.hint else ""))
        return lines

    def raise_if_blocked(self) -> None:
        """:class:`~redisops.errors.PlanBlocked` (exit 15) naming every blocker."""
        if self.blockers:
            raise PlanBlocked(
                "the copy would refuse: " + "; ".join(f.message for f in self.blockers),
                hint=self.blockers[0].hint,
                context={"blockers": [f.code for f in self.blockers]},
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``blocked``, the facts, the findings."""
        return {
            "blocked": bool(self.blockers),
            "source": self.source,
            "target": self.target,
            "copy_method": self.copy_method,
            "versions": self.versions.to_dict(),
            "dbs": {str(db): d for db, d in self.dbs.items()},
            "total_keys": self.total_keys,
            "memory": self.memory.to_dict(),
            "notify_keyspace_events": self.notify_keyspace_events,
            "big_keys": {
                "examined": self.big_keys.examined,
                "complete": self.big_keys.complete,
                "total_bytes": self.big_keys.total_bytes,
                "count": self.big_keys.count,
                "keys": [{"db": k.db, "key": k.key, "bytes": k.bytes} for k in self.big_keys.keys],
            },
            "sample": None if self.sample is None else {
                "keys": self.sample.keys, "payload_bytes": self.sample.payload_bytes,
                "dump_seconds": round(self.sample.dump_seconds, 4),
                "restore_seconds": round(self.sample.restore_seconds, 4),
                "refused": self.sample.refused, "refusal": self.sample.refusal,
                "scratch_version": self.sample.scratch_version,
            },
            "estimate": None if self.estimate is None else self.estimate.to_dict(),
            "blockers": [f.to_dict() for f in self.blockers],
            "warnings": [f.to_dict() for f in self.warnings],
            "findings": [f.to_dict() for f in self.findings],
        }  # fmt: skip


def _config_notify(source: RedisEndpoint) -> str | None:
    """``CONFIG GET notify-keyspace-events`` where the source allows CONFIG (not on ElastiCache)."""
    try:
        client = connect(source.with_db(0))
        try:
            reply = raw_command(client, "CONFIG", "GET", "notify-keyspace-events")
        finally:
            client.close()
    except RedisOpsError:
        return None
    if isinstance(reply, list) and len(reply) == 2:
        value = reply[1]
        return value.decode() if isinstance(value, bytes) else str(value)
    return None


def build_plan(
    source: RedisEndpoint,
    target: RedisEndpoint,
    options: PlanOptions | None = None,
    *,
    container_limit: int | None = None,
    parameter_group: str | None = None,
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> MigrationPlan:
    """Read both servers and return the plan (the module docstring lists what it finds). Writes nothing
    to either server; the timing sample is restored into a scratch redis-server started and removed here
    (without redis-server on this machine the plan has no estimate and says so)."""
    opts = options or PlanOptions()
    rep = reporter or Reporter("migrate.plan")
    token = cancel or CancelToken()
    rep.phase("reading", "INFO of both servers")
    s_info, t_info = fetch_info(source), fetch_info(target)
    versions = compare_versions(s_info, t_info)
    dbs = {
        db: {"keys": ks.keys, "expires": ks.expires} for db, ks in sorted(s_info.keyspace.items()) if ks.keys
    }
    fit = memory_fit(s_info, t_info, container_limit)
    findings = memory_findings(fit)
    vf = versions.finding()
    if vf is not None:
        findings.append(vf)
    if sum(ks.keys for ks in t_info.keyspace.values()):
        n = sum(ks.keys for ks in t_info.keyspace.values())
        findings.append(
            Finding(
                "warning",
                "target.not_empty",
                f"the target already holds {n} keys: the copy leaves keys of the same name alone unless "
                "asked to replace them, and the memory estimate counts both",
                hint="copy into an empty target, or pass --replace to the copy if the target's keys "
                "are stale",
            )
        )
    notify = opts.notify_keyspace_events
    if notify is None:
        notify = _config_notify(source)
    findings.append(notification_finding(notify, parameter_group))
    limiter = RateLimiter(opts.max_ops or None, burst=max(opts.max_ops, 1.0), cancel=token)
    big = BigKeyScan(complete=opts.big_key_scan_limit > 0)
    if opts.big_key_scan_limit and dbs:
        rep.phase("sizing", f"MEMORY USAGE of up to {opts.big_key_scan_limit} keys")
        big = find_big_keys(
            source,
            list(dbs),
            threshold=opts.big_key_bytes,
            limit=opts.big_key_scan_limit,
            limiter=limiter,
            cancel=token,
        )
        if big.keys:
            findings.append(
                Finding(
                    "info",
                    "bigkeys",
                    f"{big.count} big keys (over {mb(opts.big_key_bytes)}; "
                    f"{mb(big.total_bytes)} in all): "
                    "the copy moves them in chunks",
                )
            )
    sample: SampleTiming | None = None
    estimate: CopyEstimate | None = None
    total = sum(d["keys"] for d in dbs.values())
    if opts.sample and total:
        rep.phase("sampling", f"DUMP/PTTL of {opts.sample} keys, RESTORE into a scratch server")
        try:
            skip = {(k.db, k.key) for k in big.keys}
            sample = measure_sample(
                source,
                sample_sizes({db: d["keys"] for db, d in dbs.items()}, opts.sample),
                big_keys=skip,
                cancel=token,
            )
            estimate = extrapolate(
                total - big.count,
                sample,
                big_bytes=big.total_bytes,
                big_bytes_per_second=big_key_throughput(source, big.keys[0]) if big.keys else None,
                max_ops=opts.max_ops,
            )
        except DependencyMissing as e:
            findings.append(
                Finding("warning", "estimate.unavailable", f"no copy-time estimate: {e.message}", hint=e.hint)
            )
        if sample is not None and sample.refused:
            findings.append(
                Finding(
                    "warning",
                    "restore.refused",
                    f"a Redis {sample.scratch_version} server refused {sample.refused} of {sample.keys} "
                    f"sampled DUMP payloads ({sample.refusal}): the copy will go type by type",
                    hint="run the target on the source's Redis version to copy with DUMP/RESTORE",
                )
            )
    return MigrationPlan(
        source.url(), target.url(), versions, dbs, fit, notify, big, sample, estimate, findings
    )
