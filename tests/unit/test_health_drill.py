"""The pure backup graders: drill_check on literal drill records, backup_age_check's ``missing`` case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from redisops.health import NoPlatform, Status, Thresholds, backup_age_check, drill_check

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def record(ok: bool = True, at: datetime = NOW - timedelta(hours=3), **extra: object) -> dict[str, object]:
    return {
        "backup_id": "20250601T090000Z-abcd",
        "ok": ok,
        "rto_seconds": 1.5,
        "rpo_seconds": 30.0,
        "at": at.isoformat().replace("+00:00", "Z"),
        "problem": None if ok else "key counts do not match",
        **extra,
    }


def test_no_drill_warns_with_the_command() -> None:
    r = drill_check(None, NOW)
    assert r.status is Status.WARN and "redisops backup drill" in r.hint
    assert r.category == "backup" and r.source == "team policy (issue 5): drills on a schedule"


def test_recent_successful_drill_is_ok() -> None:
    r = drill_check(record(), NOW)
    assert r.status is Status.OK
    assert r.value["age_s"] == 3 * 3600 and r.value["backup_id"] == "20250601T090000Z-abcd"


def test_failed_drill_is_crit_with_the_problem() -> None:
    r = drill_check(record(ok=False), NOW)
    assert r.status is Status.CRIT and "key counts do not match" in r.hint


@pytest.mark.parametrize(("days", "expected"), [(6.9, Status.OK), (7.1, Status.WARN)])
def test_drill_older_than_seven_days_warns(days: float, expected: Status) -> None:
    assert drill_check(record(at=NOW - timedelta(days=days)), NOW).status is expected


def test_drill_age_threshold_is_configurable() -> None:
    t = Thresholds.from_mapping({"drill_warn_days": 14})
    assert t.drill_warn_days == 14.0
    assert drill_check(record(at=NOW - timedelta(days=10)), NOW, t).status is Status.OK


def test_future_drill_time_counts_as_now() -> None:
    assert drill_check(record(at=NOW + timedelta(minutes=5)), NOW).value["age_s"] == 0


@pytest.mark.parametrize(
    "bad", [{}, {"ok": True}, {"ok": "yes", "at": "2025-06-01T00:00:00Z"}, {"ok": True, "at": "soon"}]
)
def test_unreadable_record_is_unknown(bad: dict[str, object]) -> None:
    r = drill_check(bad, NOW)
    assert r.status is Status.UNKNOWN and r.reason is not None and "unreadable" in r.reason


def test_naive_drill_time_is_unknown() -> None:
    r = drill_check({"ok": True, "at": "2025-06-01T00:00:00"}, NOW)
    assert r.status is Status.UNKNOWN and "timezone" in (r.reason or "")


def test_backup_age_missing_warns_unreadable_stays_unknown() -> None:
    missing = backup_age_check(None, reason="no backup in b/redisops", missing=True)
    assert missing.status is Status.WARN and missing.reason == "no backup in b/redisops"
    assert backup_age_check(None, reason="store down").status is Status.UNKNOWN
    assert backup_age_check(3600, reason="newest verified backup: x").reason == "newest verified backup: x"


def test_no_platform_drill_is_unknown() -> None:
    (r,) = NoPlatform().drill_checks()
    assert r.status is Status.UNKNOWN and r.reason == "no backup store configured" and r.name == "drill"
