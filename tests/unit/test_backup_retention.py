"""Retention: keep-last-N plus GFS, never the newest verified backup (pure, with property tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redisops.backup.layout import new_backup_id
from redisops.backup.retention import BackupRef, RetentionRules, plan_retention
from redisops.errors import InvalidArgument

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ref(hours: float, verified: bool = True, suffix: str = "0000") -> BackupRef:
    ts = T0 + timedelta(hours=hours)
    return BackupRef(new_backup_id(ts, suffix), ts, verified)


def test_keep_last() -> None:
    backups = [ref(h) for h in range(10)]
    plan = plan_retention(backups, RetentionRules(keep_last=3))
    assert plan.keep_ids == [b.id for b in backups[::-1][:3]]
    assert set(plan.delete_ids) == {b.id for b in backups[:7]}
    assert plan.keep[0].reasons == ("last 1/3", "newest verified")


def test_newest_verified_is_kept_even_if_the_rules_say_no() -> None:
    backups = [ref(0, True), ref(1, False), ref(2, False)]
    plan = plan_retention(backups, RetentionRules(keep_last=1))
    assert set(plan.keep_ids) == {backups[0].id, backups[2].id}
    kept = {k.backup.id: k.reasons for k in plan.keep}
    assert kept[backups[0].id] == ("newest verified",)


def test_gfs_daily_weekly_monthly() -> None:
    # four backups a day for 70 days
    backups = [ref(d * 24 + h) for d in range(70) for h in (0, 6, 12, 18)]
    plan = plan_retention(backups, RetentionRules(keep_last=2, keep_daily=7, keep_weekly=4, keep_monthly=3))
    reasons = {k.backup.id: k.reasons for k in plan.keep}
    daily = [k for k in plan.keep if any(r.startswith("daily") for r in k.reasons)]
    weekly = [k for k in plan.keep if any(r.startswith("weekly") for r in k.reasons)]
    monthly = [k for k in plan.keep if any(r.startswith("monthly") for r in k.reasons)]
    assert (len(daily), len(weekly), len(monthly)) == (7, 4, 3)
    # the daily pick is the newest of its day (18:00)
    assert all(k.backup.created_at.hour == 18 for k in daily)
    assert reasons[backups[-1].id][:2] == ("last 1/2", "newest verified")
    assert len(plan.keep) + len(plan.delete) == len(backups)
    assert any(r == "monthly 2026-01" for rs in reasons.values() for r in rs)


def test_period_pick_prefers_verified() -> None:
    day = [ref(1, True, "aaaa"), ref(2, False, "bbbb"), ref(3, False, "cccc")]
    later = [ref(30, True, "dddd")]
    plan = plan_retention(day + later, RetentionRules(keep_last=1, keep_daily=2))
    assert day[0].id in plan.keep_ids and day[2].id not in plan.keep_ids


def test_rules_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="keep_last must be at least 1") as e:
        RetentionRules(keep_last=0)
    assert e.value.exit_code == 2
    with pytest.raises(InvalidArgument):
        RetentionRules(keep_daily=-1)
    with pytest.raises(ValueError):
        plan_retention([ref(1), ref(1)], RetentionRules())


backup_lists = st.lists(
    st.tuples(st.integers(min_value=0, max_value=24 * 400), st.booleans()), min_size=0, max_size=40
).map(
    lambda items: [
        BackupRef(new_backup_id(T0 + timedelta(hours=h), f"{i:04x}"), T0 + timedelta(hours=h), v)
        for i, (h, v) in enumerate(items)
    ]
)
rules_st = st.builds(
    RetentionRules,
    keep_last=st.integers(1, 6),
    keep_daily=st.integers(0, 8),
    keep_weekly=st.integers(0, 5),
    keep_monthly=st.integers(0, 4),
)


@settings(max_examples=300)
@given(backup_lists, rules_st)
def test_retention_properties(backups: list[BackupRef], rules: RetentionRules) -> None:
    plan = plan_retention(backups, rules)
    keep = set(plan.keep_ids)
    delete = set(plan.delete_ids)
    assert keep | delete == {b.id for b in backups}
    assert not keep & delete
    assert all(k.reasons for k in plan.keep)
    verified = [b for b in backups if b.verified]
    if verified:
        newest = max(verified, key=lambda b: (b.created_at, b.id))
        assert newest.id in keep
    if backups:
        assert max(backups, key=lambda b: (b.created_at, b.id)).id in keep  # keep_last >= 1
        assert len(keep) >= min(rules.keep_last, len(backups))
    # idempotent: planning again on what is kept deletes nothing more
    again = plan_retention([k.backup for k in plan.keep], rules)
    assert again.delete == ()
    assert set(again.keep_ids) == keep


def test_safety_backups_neither_count_nor_push_scheduled_backups_out() -> None:
    scheduled = [ref(h, suffix=f"{h:04x}") for h in range(3)]
    # a burst of five restores, each leaving a safety backup newer than every scheduled one
    times = [T0 + timedelta(hours=10 + i) for i in range(5)]
    safety = [BackupRef(new_backup_id(t, f"{0xF0 + i:04x}"), t, True, "safety") for i, t in enumerate(times)]
    plan = plan_retention(scheduled + safety, RetentionRules(keep_last=3, keep_safety=2))
    kept = {k.backup.id: k.reasons for k in plan.keep}
    assert all(b.id in kept for b in scheduled)  # keep_last=3 still means the three scheduled ones
    assert kept[scheduled[-1].id] == ("last 1/3", "newest verified")
    assert [b.id for b in safety if b.id in kept] == [safety[-2].id, safety[-1].id]
    assert kept[safety[-1].id] == ("safety 1/2",)
    assert set(plan.delete_ids) == {b.id for b in safety[:3]}
    with pytest.raises(InvalidArgument):
        RetentionRules(keep_safety=-1)
