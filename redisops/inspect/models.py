"""Typed results of the non-INFO replies (slow log, latency, memory, clients) and of rate computation.

All frozen dataclasses; the INFO models live in :mod:`redisops.inspect.info_models`. Fields named after
Redis' own names (``tot-mem`` -> ``tot_mem``, ``keys.bytes-per-key`` -> ``keys_bytes_per_key``); optional
fields are None when the server did not send them. Raw values are always kept in a mapping too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from redisops.inspect.shapes import command_name, key_of, omitted_arguments, shape_of

# --- SLOWLOG ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlowlogEntry:
    """One ``SLOWLOG GET`` entry.

    ``argv`` is as Redis logged it: at most 32 arguments, the last one then ``"... (N more arguments)"``,
    and arguments longer than 128 bytes cut with ``"... (N more bytes)"``; bytes that are not UTF-8 are
    ``\\xNN`` escapes. ``client_addr``/``client_name`` are "" on servers older than 4.0.
    """

    id: int
    started_at: int
    duration_us: int
    argv: tuple[str, ...]
    client_addr: str = ""
    client_name: str = ""

    @property
    def command(self) -> str:
        """The upper-cased first argument (``GET``); "" for an empty argv."""
        return self.argv[0].upper() if self.argv else ""

    @property
    def full_command(self) -> str:
        """The command with its subcommand for container commands (``CLIENT LIST``)."""
        return command_name(self.argv)

    @property
    def key(self) -> str | None:
        """The first key argument, best effort (None for keyless commands)."""
        return key_of(self.argv)

    @property
    def shape(self) -> str:
        """``COMMAND key-pattern`` with digits/hex/UUID runs in the key as ``*`` (``GET user:*``)."""
        return shape_of(self.argv)

    @property
    def omitted_args(self) -> int:
        """How many arguments Redis left out (``... (N more arguments)``), 0 if none."""
        return omitted_arguments(self.argv)


@dataclass(frozen=True, slots=True)
class SlowlogWatermark:
    """The newest slow-log entry seen: its id and its unix time (for restart detection)."""

    last_id: int
    last_time: int


@dataclass(frozen=True, slots=True)
class SlowlogDelta:
    """New slow-log entries since a watermark (oldest first) and the watermark to keep.

    ``reset`` is True when the ids restarted (server restart, failover to another server); ``missed`` is
    a lower bound of entries that were logged but rotated out of the ring before they were read.
    """

    entries: tuple[SlowlogEntry, ...]
    watermark: SlowlogWatermark | None
    reset: bool = False
    missed: int = 0


@dataclass(frozen=True, slots=True)
class SlowlogGroup:
    """Slow-log entries grouped by a key (a shape or a client address)."""

    key: str
    count: int
    total_us: int
    max_us: int

    @property
    def mean_us(self) -> float:
        """Average duration in microseconds."""
        return self.total_us / self.count if self.count else 0.0


# --- LATENCY ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencyEvent:
    """One ``LATENCY LATEST`` row: the event, unix time of its latest spike, latest and max in ms."""

    event: str
    at: int
    latest_ms: int
    max_ms: int


@dataclass(frozen=True, slots=True)
class LatencySample:
    """One ``LATENCY HISTORY`` row: unix time and latency in ms."""

    at: int
    ms: int


# --- MEMORY -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryStatsDb:
    """A ``db.N`` entry of ``MEMORY STATS``: hash table overheads in bytes."""

    db: int
    overhead_hashtable_main: int | None = None
    overhead_hashtable_expires: int | None = None
    raw: Mapping[str, int | float | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemoryStats:
    """``MEMORY STATS`` (bytes unless named ratio/percentage); all top-level scalars also in ``raw``."""

    peak_allocated: int | None = None
    total_allocated: int | None = None
    startup_allocated: int | None = None
    replication_backlog: int | None = None
    clients_slaves: int | None = None
    clients_normal: int | None = None
    cluster_links: int | None = None
    aof_buffer: int | None = None
    lua_caches: int | None = None
    functions_caches: int | None = None
    overhead_total: int | None = None
    keys_count: int | None = None
    keys_bytes_per_key: int | None = None
    dataset_bytes: int | None = None
    dataset_percentage: float | None = None
    peak_percentage: float | None = None
    allocator_allocated: int | None = None
    allocator_active: int | None = None
    allocator_resident: int | None = None
    allocator_fragmentation_ratio: float | None = None
    allocator_fragmentation_bytes: int | None = None
    allocator_rss_ratio: float | None = None
    allocator_rss_bytes: int | None = None
    rss_overhead_ratio: float | None = None
    rss_overhead_bytes: int | None = None
    fragmentation: float | None = None
    fragmentation_bytes: int | None = None
    dbs: Mapping[int, MemoryStatsDb] = field(default_factory=dict)
    raw: Mapping[str, int | float | str] = field(default_factory=dict)


# --- CLIENT LIST --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """One ``CLIENT LIST`` line. Every field as sent is in ``raw`` (names as Redis prints them)."""

    id: int
    addr: str = ""
    laddr: str | None = None
    fd: int | None = None
    name: str = ""
    age: int | None = None
    idle: int | None = None
    flags: str = ""
    db: int | None = None
    sub: int | None = None
    psub: int | None = None
    ssub: int | None = None
    multi: int | None = None
    qbuf: int | None = None
    qbuf_free: int | None = None
    argv_mem: int | None = None
    multi_mem: int | None = None
    obl: int | None = None
    oll: int | None = None
    omem: int | None = None
    tot_mem: int | None = None
    events: str | None = None
    cmd: str | None = None
    user: str | None = None
    redir: int | None = None
    resp: int | None = None
    lib_name: str | None = None
    lib_ver: str | None = None
    raw: Mapping[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """The host part of ``addr`` (``10.0.0.5`` of ``10.0.0.5:51234``; IPv6 keeps its colons)."""
        return self.addr.rpartition(":")[0] if ":" in self.addr else self.addr

    def has_flag(self, flag: str) -> bool:
        """Whether a one-letter flag is set (``S`` replica, ``M`` master, ``P`` pub/sub, ``b`` blocked)."""
        return flag in self.flags

    @property
    def is_replica(self) -> bool:
        """The connection of a replica to this master (flag ``S``)."""
        return "S" in self.flags

    @property
    def is_pubsub(self) -> bool:
        """Subscribed to channels or patterns (flag ``P``)."""
        return "P" in self.flags

    @property
    def is_blocked(self) -> bool:
        """Waiting in a blocking command (flag ``b``)."""
        return "b" in self.flags


# --- RATES --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandRate:
    """One command's activity over an interval (deltas of its commandstats counters)."""

    name: str
    calls: int
    usec: int
    calls_per_sec: float
    usec_per_call: float | None
    failed_calls: int = 0
    rejected_calls: int = 0


@dataclass(frozen=True, slots=True)
class InfoRates:
    """Rates between two INFO samples.

    Every rate is None when it cannot be computed: the interval is not positive (``valid`` False), the
    server restarted in between (``reset`` True, ``reset_reason`` says why: all counter rates None), a
    single counter went backwards (``CONFIG RESETSTAT``; listed in ``reset_counters``) or a sample lacks
    the field. ``cpu_utilization`` is CPU seconds (sys + user of the main process) per second: 1.0 is
    one full core. ``hit_ratio_overall`` and ``instantaneous_ops_per_sec`` come from the later sample alone.
    """

    elapsed_s: float
    valid: bool
    reset: bool = False
    reset_reason: str | None = None
    reset_counters: tuple[str, ...] = ()
    ops_per_sec: float | None = None
    instantaneous_ops_per_sec: int | None = None
    hit_ratio_overall: float | None = None
    hit_ratio_interval: float | None = None
    net_input_bytes_per_sec: float | None = None
    net_output_bytes_per_sec: float | None = None
    evicted_keys_per_sec: float | None = None
    expired_keys_per_sec: float | None = None
    rejected_connections_per_sec: float | None = None
    cpu_utilization: float | None = None
    commands: Mapping[str, CommandRate] = field(default_factory=dict)
