"""Check values said with units and without Python reprs (issue 12, item 14)."""

from __future__ import annotations

from typing import Any

import pytest

from redisops.health import CheckResult, Status, pod_check, pvc_check
from redisops.health.display import human_bytes, human_duration, human_value, percent, value_text


def check(name: str, value: Any) -> CheckResult:
    return CheckResult(name, Status.OK, value)


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("ping", 0.421, "0.42 ms"),
        ("uptime", 7260, "2 h 1 min"),
        ("memory", 0.9312, "93 % of maxmemory"),
        ("memory", 941144, "919.1 KiB used"),
        ("maxmemory", 0, "unset"),
        ("maxmemory", 64 * 1024 * 1024, "64.0 MiB"),
        ("fragmentation", 7.6, "ratio 7.60"),
        ("hit_ratio", 0.98, "98 % hits"),
        ("clients", {"connected_clients": 1, "maxclients": 10000, "ratio": 0.0001}, "1 of 10000 (0.0 %)"),
        (
            "aof",
            {"aof_enabled": True, "aof_last_write_status": "ok", "aof_last_bgrewrite_status": "ok"},
            "on, ok",
        ),
        ("aof", {"aof_enabled": False, "aof_last_write_status": "ok"}, "off"),
        ("evictions", {"evicted_keys": 3, "per_sec": 0.25, "measured": "since start"}, "3 evicted, 0.2/s"),
        ("rejected_connections", {"rejected_connections": 2, "per_min": 1.5, "measured": "x"}, "2 (1.5/min)"),
        ("save_age", {"seconds_since_save": 125, "changes_since_save": 4}, "4 changes, saved 2 min ago"),
        ("fork_cost", {"latest_fork_usec": 12500, "gb_per_sec": 3.21}, "12.5 ms, 3.2 GB/s"),
        ("replication", {"role": "master", "connected_slaves": 1}, "master, 1 replica"),
        ("replication", {"role": "slave", "master_link_status": "down", "master": "h"}, "slave, link down"),
        ("slow_commands", 0, "none new"),
        ("slow_commands", {"new_entries": 2, "max_us": 15300, "worst": "GET *"}, "2 new, worst 15.3 ms"),
        ("latency_monitor", 0, "off"),
        ("config_drift", {}, "matches"),
        ("config_drift", {"save": {}, "maxmemory": {}}, "2 differ: maxmemory, save"),
        ("backup_age", 90000, "1 d 1 h old"),
        ("service:redis", 2, "2 endpoints"),
        ("drill", {"ok": True, "age_s": 3600}, "ok 1 h ago"),
    ],
)
def test_value_text_has_units(name: str, value: Any, text: str) -> None:
    assert value_text(check(name, value)) == text


def test_platform_values_and_unknown_shapes_never_show_reprs() -> None:
    pod = pod_check("redis-0", ready=True, restarts=1, last_terminated_reason="OOMKilled")
    assert value_text(pod) == "ready, 1 restart, OOMKilled"
    pvc = pvc_check("data", phase="Bound", used_bytes=50, capacity_bytes=100)
    assert value_text(pvc) == "Bound, 50 % used"
    odd = value_text(check("fork_headroom", {"limit": "x"}))  # a shape the formatter does not expect
    assert "None" not in odd
    assert value_text(check("new_check", {"flag": True, "none": None})) == "flag yes, none -"
    assert value_text(check("ping", None)) == "-"


def test_helpers() -> None:
    assert human_bytes(512) == "512 B" and human_bytes(1536) == "1.5 KiB" and human_bytes(None) == "-"
    assert human_duration(5) == "5 s" and human_duration(3600) == "1 h" and human_duration(86400) == "1 d"
    assert percent(0.005) == "0.5 %" and percent(None) == "-"
    assert human_value(False) == "no" and human_value(1.23456) == "1.235"
