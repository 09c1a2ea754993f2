"""The pure rules of the migration plan on captured INFO replies: the version gap (only 7.0 runs here, so
the newer source is the captured 7.0 reply with its version line raised), the memory fit against
maxmemory, the eviction policy and the container limit, keyspace notifications, and the estimate."""

from __future__ import annotations

from pathlib import Path

import pytest

from redisops.inspect import Info, parse_info
from redisops.migrate.estimate import SampleTiming, extrapolate, sample_sizes
from redisops.migrate.plan import check_blockers  # noqa: F401  (re-exported: the copy calls it)
from redisops.migrate.plan_rules import (
    MemoryFit,
    blockers_from,
    compare_versions,
    memory_findings,
    memory_fit,
    notification_finding,
    rdb_version,
)

CAPTURED = (Path(__file__).parents[1] / "fixtures" / "redis70" / "info_everything.txt").read_text()
MB = 1 << 20


def _info(version: str | None = None, **memory: int | str) -> Info:
    """The captured Redis 7.0.15 INFO with its version and memory lines replaced."""
    text = CAPTURED.replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        name = line.split(":", 1)[0]
        if version is not None and name == "redis_version":
            line = f"redis_version:{version}"
        if name in memory:
            line = f"{name}:{memory[name]}"
        lines.append(line)
    return parse_info("\r\n".join(lines))


@pytest.mark.parametrize(
    ("version", "rdb"),
    [("7.0.15", 10), ("7.2.4", 11), ("7.4.1", 12), ("8.0.0", 12), ("6.2.14", 9), ("5.0.7", 9), ("x", None)],
)
def test_rdb_version_of_each_release(version: str, rdb: int | None) -> None:
    assert rdb_version(version) == rdb


def test_a_newer_source_is_a_version_gap_and_the_copy_goes_type_by_type() -> None:
    check = compare_versions(_info("7.2.4"), _info())
    assert check.gap and check.copy_method == "type-by-type"
    finding = check.finding()
    assert finding is not None and finding.code == "version.gap" and finding.level == "warning"
    assert "7.0.15 (RDB 10)" in finding.message and "7.2.4 (RDB 11)" in finding.message
    assert "cannot RESTORE" in finding.message and "type by type" in finding.message


def test_the_same_version_or_an_older_source_is_no_gap() -> None:
    same = compare_versions(_info(), _info())
    assert not same.gap and same.copy_method == "dump-restore" and same.finding() is None
    assert not compare_versions(_info("6.2.14"), _info()).gap
    assert same.to_dict()["source_rdb"] == 10


def test_copying_beyond_maxmemory_with_allkeys_lru_is_a_blocker_naming_the_shortfall() -> None:
    src = _info(used_memory_dataset=300 * MB)
    dst = _info(used_memory=1 * MB, used_memory_dataset=0, maxmemory=256 * MB, maxmemory_policy="allkeys-lru")
    fit = memory_fit(src, dst)
    assert fit.projected == 301 * MB and fit.shortfall == 45 * MB
    (blocker,) = [f for f in memory_findings(fit) if f.level == "blocker"]
    assert blocker.code == "memory.evict"
    assert "silently evict" in blocker.message and "short by 45.0 MiB" in blocker.message
    assert "allkeys-lru" in blocker.message and "256.0 MiB" in blocker.message
    assert "maxmemory" in blocker.hint
    assert [f.code for f in blockers_from(src, dst)] == ["memory.evict"]


def test_noeviction_fails_instead_and_a_fit_with_little_headroom_warns() -> None:
    src = _info(used_memory_dataset=300 * MB)
    dst = _info(used_memory=MB, used_memory_dataset=0, maxmemory=256 * MB, maxmemory_policy="noeviction")
    assert [f.code for f in memory_findings(memory_fit(src, dst))] == ["memory.oom"]
    tight = _info(used_memory=MB, used_memory_dataset=0, maxmemory=320 * MB, maxmemory_policy="allkeys-lru")
    assert [(f.level, f.code) for f in memory_findings(memory_fit(src, tight))] == [
        ("warning", "memory.headroom")
    ]
    roomy = _info(used_memory=MB, used_memory_dataset=0, maxmemory=1024 * MB, maxmemory_policy="allkeys-lru")
    assert memory_findings(memory_fit(src, roomy)) == []


def test_the_container_limit_blocks_and_an_unbounded_maxmemory_warns() -> None:
    fit = MemoryFit(300 * MB, MB, 0, 0, "noeviction", 256 * MB, 301 * MB)
    assert [f.code for f in memory_findings(fit)] == ["memory.container"]
    fit = MemoryFit(100 * MB, MB, 0, 0, "noeviction", 512 * MB, 101 * MB)
    assert [(f.level, f.code) for f in memory_findings(fit)] == [("warning", "memory.maxmemory_unbounded")]


def test_during_a_copy_the_target_already_holds_part_of_the_data() -> None:
    src = _info(used_memory_dataset=200 * MB)
    half = _info(used_memory=101 * MB, used_memory_dataset=100 * MB, maxmemory=256 * MB)
    assert memory_fit(src, half).projected == 301 * MB  # planned: both counted
    assert memory_fit(src, half, during=True).projected == 201 * MB  # re-checked mid-copy


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("KEA", "notify.on"),
        ("Kg$lshzxe", "notify.on"),
        ("", "notify.off"),
        ("Ex", "notify.off"),
        (None, "notify.unknown"),
    ],
)
def test_keyspace_notifications(value: str | None, code: str) -> None:
    f = notification_finding(value)
    assert f.code == code
    if code != "notify.on":
        assert "notify-keyspace-events" in f.hint and "KEA" in f.hint


def test_estimate_from_a_sample() -> None:
    sample = SampleTiming(keys=100, payload_bytes=100_000, dump_seconds=0.01, restore_seconds=0.01)
    est = extrapolate(1_000_000, sample)
    assert est is not None and est.seconds == pytest.approx(200.0)
    assert est.keys_per_second == pytest.approx(5000.0) and est.mb_per_second == pytest.approx(5.0)
    capped = extrapolate(1_000_000, sample, max_ops=1000)
    assert capped is not None and capped.limited_by_ops_cap and capped.seconds == pytest.approx(3000.0)
    assert extrapolate(10, SampleTiming(0, 0, 0.0, 0.0)) is None
    assert sample_sizes({0: 900, 2: 100}, 100) == {0: 90, 2: 10}
    assert sample_sizes({}, 100) == {}


def test_big_keys_add_their_bytes_at_the_measured_window_rate() -> None:
    sample = SampleTiming(keys=100, payload_bytes=100_000, dump_seconds=0.01, restore_seconds=0.01)
    est = extrapolate(100, sample, big_bytes=10_000_000, big_bytes_per_second=10_000_000)
    assert est is not None and est.seconds == pytest.approx(0.02 + 1.0)
    slow = extrapolate(100, sample, big_bytes=10_000_000)  # the small keys' 5 MB/s when nothing was timed
    assert slow is not None and slow.seconds == pytest.approx(0.02 + 2.0)
