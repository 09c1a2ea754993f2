"""Pure parsers of Redis replies into typed results, and rates between INFO samples.

No network, no subprocess, no clock: adapters fetch the raw replies (``decode_responses=False``, RESP2
or RESP3) and pass them in; the caller passes the elapsed time for rates. Every parser raises only
:class:`redisops.errors.ParseError` on bad input.

Example::

    info = parse_info(raw_info_bytes)                  # INFO everything, raw text
    info.memory.used_memory, info.keyspace[0].keys, info.commandstats["get"].calls
    rates = compute_rates(previous_info, info, elapsed_s=10.0)
    delta = new_slowlog_entries(parse_slowlog(raw_slowlog), watermark)
    top = group_by_shape(delta.entries)[:10]
"""

from __future__ import annotations

from redisops.inspect.clients import parse_client_info, parse_client_line, parse_client_list
from redisops.inspect.config import parse_config_get
from redisops.inspect.info import INFO_SECTIONS, parse_info, parse_subfields, unknown_sections
from redisops.inspect.info_models import (
    ClientsInfo,
    ClusterInfo,
    CommandStat,
    CpuInfo,
    ErrorStat,
    Info,
    InfoSection,
    InfoValue,
    KeyspaceDb,
    LatencyPercentiles,
    MemoryInfo,
    ModuleInfo,
    PersistenceInfo,
    ReplicaInfo,
    ReplicationInfo,
    ServerInfo,
    StatsInfo,
)
from redisops.inspect.latency import (
    parse_doctor_text,
    parse_latency_doctor,
    parse_latency_history,
    parse_latency_latest,
)
from redisops.inspect.memory import parse_memory_doctor, parse_memory_stats, parse_memory_usage
from redisops.inspect.models import (
    ClientInfo,
    CommandRate,
    InfoRates,
    LatencyEvent,
    LatencySample,
    MemoryStats,
    MemoryStatsDb,
    SlowlogDelta,
    SlowlogEntry,
    SlowlogGroup,
    SlowlogWatermark,
)
from redisops.inspect.rates import compute_rates, restart_between
from redisops.inspect.shapes import command_name, key_of, key_pattern, shape_of
from redisops.inspect.slowlog import (
    group_by_client,
    group_by_shape,
    group_slowlog,
    new_slowlog_entries,
    parse_slowlog,
    parse_slowlog_entry,
)

__all__ = [
    "INFO_SECTIONS",
    "ClientInfo",
    "ClientsInfo",
    "ClusterInfo",
    "CommandRate",
    "CommandStat",
    "CpuInfo",
    "ErrorStat",
    "Info",
    "InfoRates",
    "InfoSection",
    "InfoValue",
    "KeyspaceDb",
    "LatencyEvent",
    "LatencyPercentiles",
    "LatencySample",
    "MemoryInfo",
    "MemoryStats",
    "MemoryStatsDb",
    "ModuleInfo",
    "PersistenceInfo",
    "ReplicaInfo",
    "ReplicationInfo",
    "ServerInfo",
    "SlowlogDelta",
    "SlowlogEntry",
    "SlowlogGroup",
    "SlowlogWatermark",
    "StatsInfo",
    "command_name",
    "compute_rates",
    "group_by_client",
    "group_by_shape",
    "group_slowlog",
    "key_of",
    "key_pattern",
    "new_slowlog_entries",
    "parse_client_info",
    "parse_client_line",
    "parse_client_list",
    "parse_config_get",
    "parse_doctor_text",
    "parse_info",
    "parse_latency_doctor",
    "parse_latency_history",
    "parse_latency_latest",
    "parse_memory_doctor",
    "parse_memory_stats",
    "parse_memory_usage",
    "parse_slowlog",
    "parse_slowlog_entry",
    "parse_subfields",
    "restart_between",
    "shape_of",
    "unknown_sections",
]
