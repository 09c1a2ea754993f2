"""Typed results of ``INFO``: one frozen dataclass per section plus the structured lines.

Each typed section holds the fields redisops uses, named exactly as INFO names them, each ``None`` when
the field (or its whole section) was not in the reply. Every raw field, known or not, is kept in
:attr:`Info.sections` so fields of newer Redis versions are never dropped.

The parser fills the typed fields from their annotations (``int | None`` -> integer, ``float | None`` ->
float, ``bool | None`` -> a ``0``/``1`` flag, ``str | None`` -> text), so adding a field here is all it
takes to have it parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from redisops.inspect._common import coerce_scalar

InfoValue = int | float | str
"""A raw INFO value after loose typing (see :meth:`InfoSection.get`)."""


@dataclass(frozen=True, slots=True)
class InfoSection:
    """One ``# Name`` block of INFO, losslessly: field name -> value text.

    ``name`` is the header lower-cased (``commandstats``, ``cpu``); fields printed before any header go to
    a section named ``""``. A field printed more than once in a section (``module``) maps to its last
    value in ``fields``; all its values are in ``repeated``.
    """

    name: str
    fields: Mapping[str, str]
    repeated: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, name: str) -> InfoValue | None:
        """The field loosely typed (int, float or str, see ``coerce_scalar``), or None when absent."""
        text = self.fields.get(name)
        return None if text is None else coerce_scalar(text)

    def as_dict(self) -> dict[str, InfoValue]:
        """All fields loosely typed."""
        return {k: coerce_scalar(v) for k, v in self.fields.items()}

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def __len__(self) -> int:
        return len(self.fields)


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """``# Server``."""

    redis_version: str | None = None
    redis_git_sha1: str | None = None
    redis_build_id: str | None = None
    redis_mode: str | None = None
    os: str | None = None
    arch_bits: int | None = None
    process_id: int | None = None
    run_id: str | None = None
    tcp_port: int | None = None
    server_time_usec: int | None = None
    uptime_in_seconds: int | None = None
    uptime_in_days: int | None = None
    hz: int | None = None
    configured_hz: int | None = None
    executable: str | None = None
    config_file: str | None = None
    io_threads_active: bool | None = None

    @property
    def version(self) -> tuple[int, ...] | None:
        """``redis_version`` as a tuple of ints (``(7, 0, 15)``), None when absent or not numeric."""
        if not self.redis_version:
            return None
        parts = self.redis_version.split(".")
        if not all(p.isascii() and p.isdigit() and len(p) < 10 for p in parts):
            return None
        return tuple(int(p) for p in parts)


@dataclass(frozen=True, slots=True)
class ClientsInfo:
    """``# Clients``."""

    connected_clients: int | None = None
    cluster_connections: int | None = None
    maxclients: int | None = None
    client_recent_max_input_buffer: int | None = None
    client_recent_max_output_buffer: int | None = None
    blocked_clients: int | None = None
    tracking_clients: int | None = None
    clients_in_timeout_table: int | None = None

    @property
    def usage_ratio(self) -> float | None:
        """connected_clients / maxclients, None when either is unknown or maxclients is 0."""
        if self.connected_clients is None or not self.maxclients:
            return None
        return self.connected_clients / self.maxclients


@dataclass(frozen=True, slots=True)
class MemoryInfo:
    """``# Memory``. ``mem_fragmentation_ratio`` is absent on some builds and early after start."""

    used_memory: int | None = None
    used_memory_rss: int | None = None
    used_memory_peak: int | None = None
    used_memory_overhead: int | None = None
    used_memory_startup: int | None = None
    used_memory_dataset: int | None = None
    used_memory_lua: int | None = None
    used_memory_scripts: int | None = None
    total_system_memory: int | None = None
    maxmemory: int | None = None
    maxmemory_policy: str | None = None
    mem_fragmentation_ratio: float | None = None
    mem_fragmentation_bytes: int | None = None
    allocator_frag_ratio: float | None = None
    allocator_rss_ratio: float | None = None
    rss_overhead_ratio: float | None = None
    mem_not_counted_for_evict: int | None = None
    mem_replication_backlog: int | None = None
    mem_clients_slaves: int | None = None
    mem_clients_normal: int | None = None
    mem_aof_buffer: int | None = None
    mem_allocator: str | None = None
    active_defrag_running: int | None = None
    lazyfree_pending_objects: int | None = None

    @property
    def maxmemory_ratio(self) -> float | None:
        """used_memory / maxmemory, None when unknown or no maxmemory is set (0)."""
        if self.used_memory is None or not self.maxmemory:
            return None
        return self.used_memory / self.maxmemory


@dataclass(frozen=True, slots=True)
class PersistenceInfo:
    """``# Persistence``."""

    loading: bool | None = None
    async_loading: bool | None = None
    loading_loaded_perc: float | None = None
    loading_eta_seconds: int | None = None
    current_fork_perc: float | None = None
    rdb_changes_since_last_save: int | None = None
    rdb_bgsave_in_progress: bool | None = None
    rdb_last_save_time: int | None = None
    rdb_last_bgsave_status: str | None = None
    rdb_last_bgsave_time_sec: int | None = None
    rdb_current_bgsave_time_sec: int | None = None
    rdb_saves: int | None = None
    rdb_last_cow_size: int | None = None
    aof_enabled: bool | None = None
    aof_rewrite_in_progress: bool | None = None
    aof_rewrite_scheduled: bool | None = None
    aof_last_rewrite_time_sec: int | None = None
    aof_current_rewrite_time_sec: int | None = None
    aof_last_bgrewrite_status: str | None = None
    aof_rewrites: int | None = None
    aof_last_write_status: str | None = None
    aof_current_size: int | None = None
    aof_base_size: int | None = None
    module_fork_in_progress: bool | None = None


@dataclass(frozen=True, slots=True)
class StatsInfo:
    """``# Stats``: counters since start (or ``CONFIG RESETSTAT``) and instantaneous gauges."""

    total_connections_received: int | None = None
    total_commands_processed: int | None = None
    instantaneous_ops_per_sec: int | None = None
    total_net_input_bytes: int | None = None
    total_net_output_bytes: int | None = None
    instantaneous_input_kbps: float | None = None
    instantaneous_output_kbps: float | None = None
    rejected_connections: int | None = None
    sync_full: int | None = None
    sync_partial_ok: int | None = None
    sync_partial_err: int | None = None
    expired_keys: int | None = None
    expired_stale_perc: float | None = None
    evicted_keys: int | None = None
    evicted_clients: int | None = None
    keyspace_hits: int | None = None
    keyspace_misses: int | None = None
    pubsub_channels: int | None = None
    pubsub_patterns: int | None = None
    latest_fork_usec: int | None = None
    total_forks: int | None = None
    total_error_replies: int | None = None
    unexpected_error_replies: int | None = None
    total_reads_processed: int | None = None
    total_writes_processed: int | None = None

    @property
    def hit_ratio(self) -> float | None:
        """keyspace_hits / (hits + misses) since start, None when unknown or no lookups yet."""
        if self.keyspace_hits is None or self.keyspace_misses is None:
            return None
        total = self.keyspace_hits + self.keyspace_misses
        return self.keyspace_hits / total if total else None


@dataclass(frozen=True, slots=True)
class ReplicaInfo:
    """One ``slaveN:ip=..,port=..,state=..,offset=..,lag=..`` line of a master's replication section."""

    index: int
    ip: str
    port: int
    state: str
    offset: int
    lag: int | None
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ReplicationInfo:
    """``# Replication``; ``replicas`` holds the parsed ``slaveN`` lines (empty on a replica)."""

    role: str | None = None
    connected_slaves: int | None = None
    master_host: str | None = None
    master_port: int | None = None
    master_link_status: str | None = None
    master_last_io_seconds_ago: int | None = None
    master_sync_in_progress: bool | None = None
    master_link_down_since_seconds: int | None = None
    slave_read_repl_offset: int | None = None
    slave_repl_offset: int | None = None
    slave_priority: int | None = None
    slave_read_only: bool | None = None
    replica_announced: bool | None = None
    master_failover_state: str | None = None
    master_replid: str | None = None
    master_replid2: str | None = None
    master_repl_offset: int | None = None
    second_repl_offset: int | None = None
    repl_backlog_active: bool | None = None
    repl_backlog_size: int | None = None
    repl_backlog_first_byte_offset: int | None = None
    repl_backlog_histlen: int | None = None
    replicas: tuple[ReplicaInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class CpuInfo:
    """``# CPU``: seconds of CPU consumed since start."""

    used_cpu_sys: float | None = None
    used_cpu_user: float | None = None
    used_cpu_sys_children: float | None = None
    used_cpu_user_children: float | None = None
    used_cpu_sys_main_thread: float | None = None
    used_cpu_user_main_thread: float | None = None


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """``# Cluster``."""

    cluster_enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """One ``module:name=..,ver=..,api=..`` line."""

    name: str
    ver: int | None
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class KeyspaceDb:
    """One ``dbN:keys=..,expires=..,avg_ttl=..`` line; unknown subfields are kept in ``extra``."""

    db: int
    keys: int
    expires: int
    avg_ttl: int
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandStat:
    """One ``cmdstat_NAME:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..`` line.

    ``name`` is as Redis prints it, lower-case, ``container|sub`` for subcommands (``client|list``).
    ``rejected_calls``/``failed_calls`` are 0 on versions before 6.2 that do not print them.
    """

    name: str
    calls: int
    usec: int
    usec_per_call: float
    rejected_calls: int = 0
    failed_calls: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def command(self) -> str:
        """The top-level command (``client`` of ``client|list``)."""
        return self.name.partition("|")[0]

    @property
    def subcommand(self) -> str | None:
        """The subcommand (``list`` of ``client|list``), None for plain commands."""
        _, bar, tail = self.name.partition("|")
        return tail if bar else None


@dataclass(frozen=True, slots=True)
class ErrorStat:
    """One ``errorstat_PREFIX:count=..`` line (``PREFIX`` is the error code: ``ERR``, ``WRONGTYPE``)."""

    name: str
    count: int
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LatencyPercentiles:
    """One ``latency_percentiles_usec_NAME:p50=..,p99=..,p99.9=..`` line; values in microseconds."""

    command: str
    percentiles: Mapping[str, float]

    @property
    def p50(self) -> float | None:
        """Median latency (µs)."""
        return self.percentiles.get("p50")

    @property
    def p99(self) -> float | None:
        """99th percentile latency (µs)."""
        return self.percentiles.get("p99")

    @property
    def p999(self) -> float | None:
        """99.9th percentile latency (µs)."""
        return self.percentiles.get("p99.9")


@dataclass(frozen=True, slots=True)
class Info:
    """A parsed ``INFO`` reply: typed sections, structured lines and every raw field.

    Typed sections are always present; their fields are None when not in the reply, so an ``INFO memory``
    reply gives ``info.server.redis_version is None``. Use :meth:`has_section` to tell "absent" apart.
    """

    sections: Mapping[str, InfoSection]
    server: ServerInfo = field(default_factory=ServerInfo)
    clients: ClientsInfo = field(default_factory=ClientsInfo)
    memory: MemoryInfo = field(default_factory=MemoryInfo)
    persistence: PersistenceInfo = field(default_factory=PersistenceInfo)
    stats: StatsInfo = field(default_factory=StatsInfo)
    replication: ReplicationInfo = field(default_factory=ReplicationInfo)
    cpu: CpuInfo = field(default_factory=CpuInfo)
    cluster: ClusterInfo = field(default_factory=ClusterInfo)
    modules: tuple[ModuleInfo, ...] = ()
    keyspace: Mapping[int, KeyspaceDb] = field(default_factory=dict)
    commandstats: Mapping[str, CommandStat] = field(default_factory=dict)
    errorstats: Mapping[str, ErrorStat] = field(default_factory=dict)
    latencystats: Mapping[str, LatencyPercentiles] = field(default_factory=dict)

    def has_section(self, name: str) -> bool:
        """Whether the reply had the section (case-insensitive: ``"CPU"``, ``"cpu"``)."""
        return name.lower() in self.sections

    def section(self, name: str) -> InfoSection | None:
        """The raw section, None when absent."""
        return self.sections.get(name.lower())

    def get(self, name: str) -> InfoValue | None:
        """A field by name from whichever section holds it, loosely typed; None when absent."""
        for section in self.sections.values():
            text = section.fields.get(name)
            if text is not None:
                return coerce_scalar(text)
        return None

    @property
    def total_keys(self) -> int:
        """Keys over all databases in the keyspace section (0 when absent or empty)."""
        return sum(db.keys for db in self.keyspace.values())
