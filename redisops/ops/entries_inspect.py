"""Catalogue entries of the inspection area: ``health.report``, ``info.get``, ``slowlog.get``,
``latency.report``, ``memory.report``, ``keys.analyze`` and ``clients.list`` (all ``read``; the
streaming ``slowlog.follow`` and ``health.watch`` are in :mod:`redisops.ops.entries_watch`, registered
from here).

Each acts on ``ctx.target`` (its :attr:`~redisops.ops.target.Target.redis`, and for the health report
its config and backup store), reports through ``ctx.reporter`` and stops on ``ctx.cancel`` where it
waits (the key analysis between batches and throttle pauses, the rate sampling's interval)::

    from redisops.ops.catalogue import Catalogue
    from redisops.ops.entries_inspect import register

    cat = Catalogue()
    register(cat)
    assert cat.get("keys.analyze").schema()["properties"]["top"]["maximum"] == 10_000
    assert {op.name for op in cat} >= {"health.report", "info.get", "clients.list"}
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from redisops.errors import ConfigError, InvalidArgument, RedisOpsError
from redisops.events import jsonable
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation

if TYPE_CHECKING:
    from redisops.config.model import DeploymentConfig
    from redisops.health import HealthReport, PlatformProbe, Thresholds
    from redisops.inspect import ClientInfo, Info, InfoRates, SlowlogEntry, SlowlogGroup
    from redisops.ops.inspect import KeyAnalysis, LatencyReport, MemoryReport, PingStats

__all__ = [
    "ClientsParams",
    "ClientsResult",
    "HealthParams",
    "InfoParams",
    "InfoResult",
    "KeysParams",
    "LatencyParams",
    "LatencyResult",
    "MemoryParams",
    "SlowlogParams",
    "SlowlogResult",
    "register",
]

#: the most slow-log entries one read asks for (as ``redisops slowlog -n``)
MAX_SLOWLOG_ENTRIES = 1_000_000
#: SCAN cursors are unsigned 64-bit integers
MAX_CURSOR = 2**64 - 1
#: the longest wait between two INFO samples for rates (as the CLI's ``--interval``)
MAX_INTERVAL = 24 * 3600.0

_Model = ConfigDict(extra="forbid")


# --- parameters ----------------------------------------------------------------------------------------


class HealthParams(BaseModel):
    """Parameters of ``health.report``."""

    model_config = _Model

    thresholds: dict[str, StrictInt | StrictFloat | StrictBool | StrictStr | None] = Field(
        default_factory=dict,
        description="threshold overrides by name (e.g. memory_warn_ratio: 0.8); unknown names are refused",
    )
    backups: bool | None = Field(
        default=None,
        description="check backup age and the last restore drill in the target's backup store; "
        "null: when the target has a store (the sandbox's S3 runs, or the config names an endpoint)",
    )
    ping_count: int = Field(default=3, ge=1, le=100, description="PINGs timed for the ping check")


class InfoParams(BaseModel):
    """Parameters of ``info.get``."""

    model_config = _Model

    sections: list[str] = Field(
        default_factory=list, description="INFO sections (empty: the server's default set)", max_length=64
    )
    rates: bool = Field(
        default=False, description="also sample INFO twice `interval` seconds apart and compute rates"
    )
    interval: float = Field(
        default=1.0, gt=0, le=MAX_INTERVAL, description="seconds between the two rate samples"
    )


class SlowlogParams(BaseModel):
    """Parameters of ``slowlog.get``."""

    model_config = _Model

    count: int = Field(default=10, ge=1, le=MAX_SLOWLOG_ENTRIES, description="how many entries to read")


class LatencyParams(BaseModel):
    """Parameters of ``latency.report``."""

    model_config = _Model

    pings: int = Field(default=5, ge=1, le=10_000, description="PINGs to time")


class MemoryParams(BaseModel):
    """Parameters of ``memory.report`` (none)."""

    model_config = _Model


class KeysParams(BaseModel):
    """Parameters of ``keys.analyze`` (bounds as ``redisops keys``)."""

    model_config = _Model

    top: int = Field(default=10, ge=1, le=10_000, description="biggest keys to keep per type")
    prefix_depth: int = Field(
        default=1, ge=0, le=64, description="':'-parts that make a prefix (0: the whole key's pattern)"
    )
    prefixes: int = Field(default=20, ge=1, le=100_000, description="prefixes to keep (by memory)")
    scan_count: int = Field(default=1000, ge=1, le=1_000_000, description="SCAN COUNT hint per batch")
    max_ops: float = Field(default=5000.0, ge=0, description="cap on commands per second (0: none)")
    sample: float | None = Field(
        default=None, gt=0, le=1, description="examine this share of keys, in (0, 1] (null: all)"
    )
    cursor: int = Field(default=0, ge=0, le=MAX_CURSOR, description="resume a previous scan from this cursor")
    max_keys: int | None = Field(
        default=None, ge=1, description="stop after scanning this many keys (the result has the cursor)"
    )


class ClientsParams(BaseModel):
    """Parameters of ``clients.list``."""

    model_config = _Model

    limit: int | None = Field(
        default=None, ge=1, description="keep only the clients using the most memory (null: all)"
    )


# --- results -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InfoResult:
    """``info.get``: the parsed INFO reply and, when asked, the rates between two samples."""

    info: Info
    rates: InfoRates | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"info": {section: {field: value}}, "rates": {...}}`` (rates only when sampled)."""
        out: dict[str, Any] = {"info": {name: s.as_dict() for name, s in self.info.sections.items()}}
        if self.rates is not None:
            out["rates"] = jsonable(self.rates)
        return out


@dataclasses.dataclass(frozen=True)
class SlowlogResult:
    """``slowlog.get``: the entries (newest first) and their groups by command shape and by client."""

    entries: list[SlowlogEntry]
    by_shape: list[SlowlogGroup]
    by_client: list[SlowlogGroup]


@dataclasses.dataclass(frozen=True)
class LatencyResult:
    """``latency.report``: PING round trips, LATENCY LATEST events and LATENCY DOCTOR."""

    ping: PingStats
    report: LatencyReport

    def to_dict(self) -> dict[str, Any]:
        """As ``redisops latency -o json``: ping, events, doctor, reasons."""
        r = self.report
        return {"ping": jsonable(self.ping), "events": jsonable(r.events), "doctor": r.doctor,
                "reasons": dict(r.reasons)}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ClientsResult:
    """``clients.list``: who is connected (biggest memory first when limited)."""

    clients: list[ClientInfo]
    total: int

    def to_dict(self) -> dict[str, Any]:
        """``{"total": n, "clients": [...]}`` without each line's raw fields."""
        rows = [
            {k: jsonable(v) for k, v in dataclasses.asdict(c).items() if k != "raw"} for c in self.clients
        ]
        return {"total": self.total, "clients": rows}


# --- helpers -------------------------------------------------------------------------------------------


def _thresholds(values: Mapping[str, Any]) -> Thresholds:
    from redisops.health import Thresholds

    try:
        return Thresholds.from_mapping(values)
    except ConfigError as e:
        raise InvalidArgument(
            f"thresholds: {e.message}", hint=e.hint, context={"field": "thresholds"}
        ) from None


def _deployment(target: Any) -> DeploymentConfig | None:
    """The target's deployment config when it names one (--config, a named target's, the sandbox's)."""
    if target.config_path is not None or target.sandbox_config_file is not None:
        cfg: DeploymentConfig = target.config()
        return cfg
    return None


def _backup_probe(target: Any, backups: bool | None, limits: Thresholds) -> PlatformProbe | None:
    """The health report's backup probe on the target's store, or None (backup checks ``unknown``).

    ``backups`` None: only when the target has a store with an endpoint (the running sandbox's S3, or
    the config/``REDISOPS_S3_*`` names one); True: always (AWS S3 through the default credential chain).
    """
    from redisops.ops.health_probes import StoreProbe, StoreUnavailable, fail_fast

    if backups is False:
        return None
    try:
        store = target.store()
    except RedisOpsError as e:
        if backups is None:
            return None
        return StoreUnavailable(f"backup store not usable: {e.one_line()}")
    if backups is None and store.s3.settings.endpoint_url is None:
        return None
    return StoreProbe(fail_fast(store), thresholds=limits)


# --- operations ----------------------------------------------------------------------------------------


def health_report(ctx: OpContext, p: HealthParams) -> HealthReport:
    """Every health check of the target's Redis, config drift and (optionally) its backups."""
    from redisops.ops.health import run_health

    limits = _thresholds(p.thresholds)
    ep = ctx.target.redis
    ctx.reporter.phase("connecting", ep.url())
    cfg = _deployment(ctx.target)
    probe = _backup_probe(ctx.target, p.backups, limits)
    from redisops.ops.health_probes import platform_probe

    probe = platform_probe(ctx.target, probe, limits)  # the pod/PVC, or the sandbox's process and data dir
    ctx.cancel.check("before the health checks")
    ctx.reporter.phase("checking")
    return run_health(ep, cfg, limits, probe, ping_count=p.ping_count)


def info_get(ctx: OpContext, p: InfoParams) -> InfoResult:
    """INFO (the sections asked for) and optionally the rates between two samples."""
    from redisops.inspect import compute_rates
    from redisops.ops.inspect import fetch_info, open_client

    ep = ctx.target.redis
    client = open_client(ep)
    try:
        info = fetch_info(ep, p.sections, client=client)
        rates = None
        if p.rates:
            ctx.reporter.phase("sampling", f"two INFO samples {p.interval:g} s apart")
            before = fetch_info(ep, ("everything",), client=client)
            t0 = time.monotonic()
            ctx.cancel.sleep(p.interval, "while sampling rates")
            after = fetch_info(ep, ("everything",), client=client)
            rates = compute_rates(before, after, time.monotonic() - t0)
    finally:
        client.close()
    return InfoResult(info, rates)


def slowlog_get(ctx: OpContext, p: SlowlogParams) -> SlowlogResult:
    """The newest slow-log entries and their groups."""
    from redisops.inspect import group_by_client, group_by_shape
    from redisops.ops.inspect import fetch_slowlog

    entries = fetch_slowlog(ctx.target.redis, p.count)
    return SlowlogResult(entries, group_by_shape(entries), group_by_client(entries))


def latency_report(ctx: OpContext, p: LatencyParams) -> LatencyResult:
    """PING round trips, LATENCY LATEST and LATENCY DOCTOR."""
    from redisops.ops.inspect import fetch_latency, open_client, ping_latency

    ep = ctx.target.redis
    client = open_client(ep)
    try:
        ping = ping_latency(ep, p.pings, client=client)
        report = fetch_latency(ep, client=client)
    finally:
        client.close()
    return LatencyResult(ping, report)


def memory_report(ctx: OpContext, p: MemoryParams) -> MemoryReport:
    """INFO memory, MEMORY STATS and MEMORY DOCTOR."""
    from redisops.ops.inspect import fetch_memory

    return fetch_memory(ctx.target.redis)


def keys_analyze(ctx: OpContext, p: KeysParams) -> KeyAnalysis:
    """The throttled key analysis (SCAN + MEMORY USAGE); it reports ``scanning`` progress in keys of the
    db's DBSIZE and stops between batches when cancelled."""
    from redisops.ops.inspect import analyze_keys

    ep = ctx.target.redis
    result = analyze_keys(
        ep,
        count=p.scan_count,
        max_ops_per_sec=p.max_ops,
        sample=p.sample,
        cursor=p.cursor,
        prefix_depth=p.prefix_depth,
        top=p.top,
        max_keys=p.max_keys,
        reporter=ctx.reporter,
        cancel=ctx.cancel,
    )
    return dataclasses.replace(result, prefixes=result.prefixes[: p.prefixes])


def clients_list(ctx: OpContext, p: ClientsParams) -> ClientsResult:
    """CLIENT LIST, parsed (the ``limit`` biggest by memory when limited)."""
    from redisops.ops.inspect import fetch_clients

    rows = fetch_clients(ctx.target.redis)
    kept = rows
    if p.limit is not None:
        kept = sorted(rows, key=lambda c: -(c.tot_mem or 0))[: p.limit]
    return ClientsResult(kept, len(rows))


def register(cat: Catalogue) -> None:
    """Add the inspection operations to ``cat``.

    ``memory.report`` and ``keys.analyze`` return :class:`redisops.ops.inspect.MemoryReport` and
    ``KeyAnalysis``, not named here: importing them would load the Redis client and the inspection
    models for every command that builds the catalogue (registration stays cheap; their runs import
    them)."""
    from redisops.health import HealthReport

    read = Kind.read
    for op in (
        Operation("health.report", "Every health check of Redis, its config and backups, with thresholds.",
                  read, HealthParams, health_report, result=HealthReport),
        Operation("info.get", "INFO, parsed; optionally rates between two samples.", read, InfoParams,
                  info_get, result=InfoResult),
        Operation("slowlog.get", "The slow log, grouped by command shape and by client.", read,
                  SlowlogParams, slowlog_get, result=SlowlogResult),
        Operation("latency.report", "PING round trips, LATENCY LATEST and LATENCY DOCTOR.", read,
                  LatencyParams, latency_report, result=LatencyResult),
        Operation("memory.report", "INFO memory, MEMORY STATS and MEMORY DOCTOR.", read, MemoryParams,
                  memory_report),
        Operation("keys.analyze", "Biggest keys per type and memory by prefix (throttled SCAN, never KEYS).",
                  read, KeysParams, keys_analyze),
        Operation("clients.list", "CLIENT LIST: who is connected, idle times, memory, last command.", read,
                  ClientsParams, clients_list, result=ClientsResult),
    ):  # fmt: skip
        cat.register(op)
    from redisops.ops import entries_watch  # slowlog.follow, health.watch (they use the helpers above)

    entries_watch.register(cat)
