"""Rates between INFO samples, the slow-log watermark and grouping (redisops.inspect.rates / .slowlog)."""

from __future__ import annotations

import math
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redisops.inspect import (
    Info,
    SlowlogEntry,
    SlowlogWatermark,
    compute_rates,
    group_slowlog,
    new_slowlog_entries,
    parse_info,
    restart_between,
)


def sample(
    *,
    run_id: str = "a" * 40,
    uptime: int = 100,
    commands: int = 1000,
    hits: int = 80,
    misses: int = 20,
    net_in: int = 10_000,
    net_out: int = 50_000,
    evicted: int = 0,
    expired: int = 0,
    rejected: int = 0,
    cpu: float = 1.0,
    cmdstats: dict[str, tuple[int, int]] | None = None,
    ops: int = 7,
) -> Info:
    """An INFO sample with the given counters (cmdstats: name -> (calls, usec); None: no section)."""
    text = (
        f"# Server\r\nrun_id:{run_id}\r\nuptime_in_seconds:{uptime}\r\n\r\n"
        f"# Stats\r\ntotal_commands_processed:{commands}\r\ninstantaneous_ops_per_sec:{ops}\r\n"
        f"total_net_input_bytes:{net_in}\r\ntotal_net_output_bytes:{net_out}\r\n"
        f"rejected_connections:{rejected}\r\nexpired_keys:{expired}\r\nevicted_keys:{evicted}\r\n"
        f"keyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\n\r\n"
        f"# CPU\r\nused_cpu_sys:{cpu / 2:.6f}\r\nused_cpu_user:{cpu / 2:.6f}\r\n\r\n"
    )
    if cmdstats is not None:
        text += "# Commandstats\r\n" + "".join(
            f"cmdstat_{n}:calls={c},usec={u},usec_per_call={u / c:.2f},rejected_calls=0,failed_calls=0\r\n"
            for n, (c, u) in cmdstats.items()
        )
    return parse_info(text)


def test_rates_over_an_interval() -> None:
    before = sample(cmdstats={"get": (100, 200), "set": (50, 500)})
    after = sample(
        uptime=110,
        commands=3000,
        hits=170,
        misses=30,
        net_in=30_000,
        net_out=150_000,
        evicted=50,
        expired=20,
        rejected=10,
        cpu=3.0,
        cmdstats={"get": (1100, 1200), "set": (50, 500), "client|list": (10, 300)},
    )
    rates = compute_rates(before, after, 10.0)
    assert rates.valid and not rates.reset and rates.reset_counters == ()
    assert rates.ops_per_sec == 200.0 and rates.instantaneous_ops_per_sec == 7
    assert rates.hit_ratio_interval == pytest.approx(90 / 100)
    assert rates.hit_ratio_overall == pytest.approx(170 / 200)
    assert (rates.net_input_bytes_per_sec, rates.net_output_bytes_per_sec) == (2000.0, 10000.0)
    assert (rates.evicted_keys_per_sec, rates.expired_keys_per_sec) == (5.0, 2.0)
    assert rates.rejected_connections_per_sec == 1.0
    assert rates.cpu_utilization == pytest.approx(0.2)
    assert list(rates.commands) == ["get", "client|list"]  # set had no calls; most calls first
    get = rates.commands["get"]
    assert (get.calls, get.usec, get.calls_per_sec, get.usec_per_call) == (1000, 1000, 100.0, 1.0)
    new = rates.commands["client|list"]  # first seen in the interval: counted from 0
    assert (new.calls, new.usec_per_call) == (10, 30.0)


@pytest.mark.parametrize("elapsed", [0, 0.0, -1.0, math.nan, math.inf])
def test_rates_bad_interval(elapsed: float) -> None:
    rates = compute_rates(sample(), sample(commands=2000), elapsed)
    assert not rates.valid
    assert rates.ops_per_sec is None and rates.commands == {} and rates.hit_ratio_interval is None
    assert rates.instantaneous_ops_per_sec == 7 and rates.hit_ratio_overall == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        (sample(run_id="b" * 40, uptime=500, commands=5000), "run_id changed"),
        (sample(uptime=3, commands=5), "uptime_in_seconds went down"),
    ],
)
def test_rates_restart(after: Info, reason: str) -> None:
    before = sample()
    assert restart_between(before, after) == reason
    rates = compute_rates(before, after, 10.0)
    assert rates.valid and rates.reset and rates.reset_reason == reason
    assert rates.ops_per_sec is None and rates.net_input_bytes_per_sec is None and rates.commands == {}


def test_rates_resetstat_counter_went_down() -> None:
    before = sample(commands=5000, hits=500, cmdstats={"get": (400, 400), "set": (9, 9)})
    after = sample(uptime=110, commands=100, hits=10, misses=30, net_in=20_000, cmdstats={"get": (5, 5)})
    rates = compute_rates(before, after, 10.0)
    assert not rates.reset and restart_between(before, after) is None
    assert rates.ops_per_sec is None and rates.hit_ratio_interval is None
    assert rates.net_input_bytes_per_sec == 1000.0  # that counter did not go down
    assert {"total_commands_processed", "keyspace_hits", "commandstats"} <= set(rates.reset_counters)
    assert rates.commands == {}


def test_rates_missing_fields_and_sections() -> None:
    empty = parse_info("")
    rates = compute_rates(empty, empty, 1.0)
    assert rates.valid and rates.ops_per_sec is None and rates.cpu_utilization is None
    assert compute_rates(sample(), sample(cmdstats={"get": (1, 1)}), 1.0).commands == {}


def test_rates_command_vanished_is_reported() -> None:
    before = sample(cmdstats={"get": (10, 10), "del": (3, 3)})
    after = sample(commands=1100, cmdstats={"get": (20, 20)})
    rates = compute_rates(before, after, 1.0)
    assert rates.reset_counters == ("cmdstat_del",)
    assert rates.commands["get"].calls == 10


# --- slow-log watermark -----------------------------------------------------------------------------------


def entry(id_: int, at: int, us: int = 10, addr: str = "10.0.0.1:5000", *argv: str) -> SlowlogEntry:
    return SlowlogEntry(
        id=id_, started_at=at, duration_us=us, argv=argv or ("GET", f"k:{id_}"), client_addr=addr
    )


def test_watermark_first_poll_and_incremental() -> None:
    first = new_slowlog_entries([entry(3, 100), entry(2, 100), entry(1, 99)], None)
    assert [e.id for e in first.entries] == [1, 2, 3]
    assert first.watermark == SlowlogWatermark(3, 100) and not first.reset and first.missed == 0
    second = new_slowlog_entries([entry(5, 101), entry(4, 101), entry(3, 100)], first.watermark)
    assert [e.id for e in second.entries] == [4, 5] and second.missed == 0
    assert second.watermark == SlowlogWatermark(5, 101)
    same = new_slowlog_entries([entry(5, 101), entry(4, 101)], second.watermark)
    assert same.entries == () and same.watermark == second.watermark
    empty = new_slowlog_entries([], second.watermark)
    assert empty.entries == () and empty.watermark == second.watermark


def test_watermark_ring_overflow_counts_missed() -> None:
    batch = [entry(i, 200) for i in range(300, 172, -1)]  # 128 newest of 300 after watermark 10
    delta = new_slowlog_entries(batch, SlowlogWatermark(10, 150))
    assert len(delta.entries) == 128 and delta.missed == 173 - 11 and not delta.reset


def test_watermark_restart_ids_below() -> None:
    delta = new_slowlog_entries([entry(1, 500), entry(0, 500)], SlowlogWatermark(900, 400))
    assert delta.reset and [e.id for e in delta.entries] == [0, 1] and delta.missed == 0
    assert delta.watermark == SlowlogWatermark(1, 500)


def test_watermark_restart_ids_passed_old_mark() -> None:
    batch = [entry(i, 500) for i in range(7, 2, -1)]  # restarted; new ids 3..7 straddle the mark 5
    delta = new_slowlog_entries(batch, SlowlogWatermark(5, 400))
    assert delta.reset and [e.id for e in delta.entries] == [3, 4, 5, 6, 7] and delta.missed == 3


def test_group_slowlog_custom_key() -> None:
    entries = [entry(1, 1, 5, "a:1"), entry(2, 1, 7, "a:1"), entry(3, 1, 100, "b:2")]
    groups = group_slowlog(entries, lambda e: e.client_addr.split(":")[0])
    assert [(g.key, g.count, g.total_us, g.max_us) for g in groups] == [("b", 1, 100, 100), ("a", 2, 12, 7)]
    assert groups[1].mean_us == 6.0


actions = st.lists(
    st.one_of(
        st.tuples(st.just("log"), st.integers(1, 200)),
        st.tuples(st.just("poll"), st.integers(1, 200)),
        st.tuples(st.just("tick"), st.integers(0, 3)),
    ),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(script=actions)
def test_watermark_delivers_every_entry_once_or_counts_it_missed(script: list[tuple[str, int]]) -> None:
    """A simulated server (ring of 128) polled at random: delivered + missed == logged, no duplicates."""
    ring: deque[SlowlogEntry] = deque(maxlen=128)
    next_id, now, mark = 0, 1000, None
    delivered: list[int] = []
    missed = 0
    logged_at_last_poll = 0
    for action, n in script:
        if action == "log":
            for _ in range(n):
                ring.append(entry(next_id, now))
                next_id += 1
        elif action == "tick":
            now += n
        else:
            batch = list(reversed(ring))[:n]  # SLOWLOG GET n: newest first
            delta = new_slowlog_entries(batch, mark)
            assert not delta.reset
            delivered.extend(e.id for e in delta.entries)
            missed += delta.missed
            mark = delta.watermark
            logged_at_last_poll = next_id
    assert delivered == sorted(set(delivered))
    if mark is not None:
        first_seen = delivered[0] if delivered else 0
        assert len(delivered) + missed + first_seen == logged_at_last_poll
