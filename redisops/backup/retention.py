"""Which backups to keep: keep-last-N plus grandfather-father-son (daily, weekly, monthly). Pure.

Rules (all counted over backups that exist, like restic's ``forget``):

* ``keep_last`` N (at least 1): the N newest backups.
* ``keep_daily`` D: for each of the D most recent UTC days that have a backup, one backup of that day.
* ``keep_weekly`` W: the same per ISO week; ``keep_monthly`` M: per calendar month.
* The newest *verified* backup is always kept, whatever the rules say.
* Safety backups (taken by a restore or an upgrade before it replaced the data) are the undo point of
  that change, not a generation of the schedule: they do not count towards any rule above (so a burst
  of restores cannot push the scheduled backups out) and are kept by a rule of their own,
  ``keep_safety`` (the N newest safety backups).

The one backup kept for a day/week/month is its newest verified backup, or its newest backup when none
of that period is verified. Applying a plan and planning again deletes nothing more (idempotent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from redisops.errors import InvalidArgument

__all__ = ["BackupRef", "KeptBackup", "RetentionPlan", "RetentionRules", "plan_retention"]


@dataclass(frozen=True)
class BackupRef:
    """What retention needs to know about a backup."""

    id: str
    created_at: datetime
    verified: bool = False
    purpose: str = "manual"

    @property
    def safety(self) -> bool:
        """True for a backup a restore or an upgrade took of what it replaced."""
        return self.purpose == "safety"


@dataclass(frozen=True)
class RetentionRules:
    """How many backups to keep; ``keep_last`` must be at least 1, the others at least 0 (else
    :class:`~redisops.errors.InvalidArgument`)."""

    keep_last: int = 7
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_safety: int = 3

    def __post_init__(self) -> None:
        if self.keep_last < 1:
            raise InvalidArgument(
                f"keep_last must be at least 1, got {self.keep_last}",
                hint="retention always keeps the newest backup: use --keep-last 1 or more",
                context={"keep_last": self.keep_last},
            )
        for name in ("keep_daily", "keep_weekly", "keep_monthly", "keep_safety"):
            if getattr(self, name) < 0:
                raise InvalidArgument(
                    f"{name} must not be negative, got {getattr(self, name)}",
                    context={name: getattr(self, name)},
                )


@dataclass(frozen=True)
class KeptBackup:
    """A backup that stays, with every rule that keeps it (``last 1/7``, ``daily 2026-11-25``, ...)."""

    backup: BackupRef
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RetentionPlan:
    """The decision: ``keep`` and ``delete`` are disjoint, newest first, and together hold every backup."""

    keep: tuple[KeptBackup, ...]
    delete: tuple[BackupRef, ...]

    @property
    def keep_ids(self) -> list[str]:
        """Ids of the kept backups, newest first."""
        return [k.backup.id for k in self.keep]

    @property
    def delete_ids(self) -> list[str]:
        """Ids of the backups to delete, newest first."""
        return [b.id for b in self.delete]


def _day(ts: datetime) -> str:
    return f"{ts.astimezone(UTC):%Y-%m-%d}"


def _week(ts: datetime) -> str:
    iso = ts.astimezone(UTC).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _month(ts: datetime) -> str:
    return f"{ts.astimezone(UTC):%Y-%m}"


def plan_retention(backups: Iterable[BackupRef], rules: RetentionRules) -> RetentionPlan:
    """Split ``backups`` into what to keep (with reasons) and what to delete.

    Order is by ``created_at`` then ``id``, newest first; duplicate ids are an error (ValueError).
    """
    everything = sorted(backups, key=lambda b: (b.created_at, b.id), reverse=True)
    ids = [b.id for b in everything]
    if len(set(ids)) != len(ids):
        raise ValueError("backup ids are not unique")
    reasons: dict[str, list[str]] = {b.id: [] for b in everything}
    safety = [b for b in everything if b.safety]
    for i, b in enumerate(safety[: rules.keep_safety]):
        reasons[b.id].append(f"safety {i + 1}/{rules.keep_safety}")
    ordered = [b for b in everything if not b.safety]  # the other rules count the regular backups only

    for i, b in enumerate(ordered[: rules.keep_last]):
        reasons[b.id].append(f"last {i + 1}/{rules.keep_last}")

    newest_verified = next((b for b in ordered if b.verified), None)
    if newest_verified is not None:
        reasons[newest_verified.id].append("newest verified")

    periods: list[tuple[str, int, Callable[[datetime], str]]] = [
        ("daily", rules.keep_daily, _day),
        ("weekly", rules.keep_weekly, _week),
        ("monthly", rules.keep_monthly, _month),
    ]
    for label, count, bucket_of in periods:
        if count <= 0:
            continue
        buckets: dict[str, list[BackupRef]] = {}
        for b in ordered:  # newest first: dict order = most recent period first
            buckets.setdefault(bucket_of(b.created_at), []).append(b)
        for period, members in list(buckets.items())[:count]:
            pick = next((m for m in members if m.verified), members[0])
            reasons[pick.id].append(f"{label} {period}")

    keep = tuple(KeptBackup(b, tuple(reasons[b.id])) for b in everything if reasons[b.id])
    delete = tuple(b for b in everything if not reasons[b.id])
    return RetentionPlan(keep=keep, delete=delete)
