"""Catalogue entries that keep going until cancelled: ``slowlog.follow`` and ``health.watch`` (both
``read``), registered by :func:`redisops.ops.entries_inspect.register`.

Their output is a stream, not one result: each new slow-log entry, each interval's health report, is an
:class:`Item` event on the operation's event stream (the CLI prints them as they come, a runbook
journals them, the TUI posts them), and they run until the :class:`~redisops.cancel.CancelToken` is
cancelled (Ctrl-C, a step timeout, a cancel button), which ends them with
:class:`~redisops.errors.Interrupted` (exit 130) saying how many rounds ran. With ``rounds`` they stop
by themselves and return a summary::

    from redisops.events import Recorder
    events = Recorder()
    res = target.run("slowlog.follow", interval=0.5, rounds=3, on_event=events)
    new = [e.data for e in events.of(Item) if e.name == "slowlog.entry"]
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from redisops.errors import Interrupted
from redisops.events import Event, Reporter, jsonable
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation
from redisops.ops.entries_inspect import (
    MAX_INTERVAL,
    MAX_SLOWLOG_ENTRIES,
    HealthParams,
    _backup_probe,
    _deployment,
    _thresholds,
)

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.health import HealthReport
    from redisops.inspect import SlowlogEntry, SlowlogGroup

__all__ = [
    "HealthWatch",
    "HealthWatchParams",
    "Item",
    "SlowlogFollow",
    "SlowlogFollowParams",
    "register",
]

_ROUNDS_DOC = "stop after this many rounds and return (null: until cancelled)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Item(Event):
    """One piece of a streaming operation's output: ``name`` says what ``data`` is.

    ``slowlog.entry`` (a :class:`~redisops.inspect.SlowlogEntry`), ``slowlog.poll`` (``{"round", "new",
    "missed", "reset"}`` after each poll's entries), ``slowlog.summary`` (the entries seen, grouped by
    command shape, when it stops), ``health.report`` (a
    :class:`~redisops.health.HealthReport`, one per interval).
    """

    kind: ClassVar[str] = "item"
    name: str
    data: Any = None


def emit_item(reporter: Reporter, name: str, data: Any) -> None:
    """Send one :class:`Item` through ``reporter``."""
    reporter.emit(Item, name=name, data=data)


def _loop_end(cancel: CancelToken, interval: float, rounds: int, limit: int | None, what: str) -> bool:
    """True when ``limit`` rounds ran; else wait ``interval`` on ``cancel`` (Interrupted when cancelled)."""
    if limit is not None and rounds >= limit:
        return True
    cancel.sleep(interval, what)
    return False


def _stopped(what: str, rounds: int) -> Interrupted:
    """The one line a cancelled loop ends with (the CLI prints it and exits 130)."""
    plural = "s" if rounds != 1 else ""
    return Interrupted(
        f"interrupted; {what} stopped after {rounds} round{plural}, nothing was changed",
        hint="nothing to clean up: it only read",
    )


# --- slowlog.follow ------------------------------------------------------------------------------------


class SlowlogFollowParams(BaseModel):
    """Parameters of ``slowlog.follow``."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(
        default=10, ge=1, le=MAX_SLOWLOG_ENTRIES, description="entries already in the log to show first"
    )
    interval: float = Field(default=1.0, gt=0, le=MAX_INTERVAL, description="seconds between two polls")
    rounds: int | None = Field(default=None, ge=1, description=_ROUNDS_DOC)


@dataclasses.dataclass(frozen=True)
class SlowlogFollow:
    """``slowlog.follow`` stopped after ``rounds``: what it saw (oldest first, bounded), grouped."""

    rounds: int
    entries: list[SlowlogEntry]
    missed: int
    resets: int
    by_shape: list[SlowlogGroup]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def slowlog_follow(ctx: OpContext, p: SlowlogFollowParams) -> SlowlogFollow:
    """New slow-log entries as they appear (an id watermark across polls, so the 128-entry ring loses
    nothing between polls it can keep): an ``item`` event per entry, until cancelled or ``rounds``."""
    from redisops.inspect import group_by_shape
    from redisops.ops.inspect import SlowlogPoller

    ep = ctx.target.redis
    ctx.reporter.phase("following", f"the slow log of {ep.url()}: new entries every {p.interval:g} s")
    rounds = 0
    with SlowlogPoller(ep, n=max(p.count, 128)) as poller:
        try:
            while True:
                ctx.cancel.check("slow log follow")
                delta = poller.poll()
                entries = list(delta.entries)[-p.count :] if rounds == 0 else list(delta.entries)
                if delta.missed:
                    ctx.reporter.warning(f"{delta.missed} entries rotated out before they were read")
                for entry in entries:
                    emit_item(ctx.reporter, "slowlog.entry", entry)
                poll = {"round": rounds, "new": len(entries), "missed": delta.missed, "reset": delta.reset}
                emit_item(ctx.reporter, "slowlog.poll", poll)
                rounds += 1
                if _loop_end(ctx.cancel, p.interval, rounds, p.rounds, "slow log follow"):
                    break
        except Interrupted:
            raise _stopped("slow log follow", rounds) from None
        finally:  # stopped by rounds or cancelled: what this session saw, grouped by command shape
            seen = list(poller.history)
            by_shape = group_by_shape(seen)
            emit_item(ctx.reporter, "slowlog.summary", by_shape)
        return SlowlogFollow(rounds, seen, poller.missed, poller.resets, by_shape)


# --- health.watch --------------------------------------------------------------------------------------


class HealthWatchParams(HealthParams):
    """Parameters of ``health.watch``: those of ``health.report``, the interval and the rounds."""

    interval: float = Field(default=5.0, gt=0, le=MAX_INTERVAL, description="seconds between two reports")
    rounds: int | None = Field(default=None, ge=1, description=_ROUNDS_DOC)


@dataclasses.dataclass(frozen=True)
class HealthWatch:
    """``health.watch`` stopped after ``rounds``; ``last`` is the last report (its exit code is the
    watch's)."""

    rounds: int
    last: HealthReport

    def exit_code(self, strict: bool = False) -> int:
        """The last report's exit code (0 ok, 20 warn, 21 crit)."""
        return self.last.exit_code(strict)

    def to_dict(self) -> dict[str, Any]:
        """``{"rounds": n, "last": <report>}``."""
        return {"rounds": self.rounds, "last": self.last.to_dict()}


def health_watch(ctx: OpContext, p: HealthWatchParams) -> HealthWatch:
    """A health report every ``interval`` seconds over one connection (rates and slow commands measured
    between reports): an ``item`` event per report, until cancelled or ``rounds``."""
    from redisops.ops.health import HealthPoller

    limits = _thresholds(p.thresholds)
    ep = ctx.target.redis
    cfg = _deployment(ctx.target)
    probe = _backup_probe(ctx.target, p.backups, limits)
    from redisops.ops.health_probes import platform_probe

    probe = platform_probe(ctx.target, probe, limits)  # the pod/PVC, or the sandbox's process and data dir
    ctx.reporter.phase("watching", f"{ep.url()}: a report every {p.interval:g} s")
    rounds = 0
    with HealthPoller(ep, cfg, limits, probe, ping_count=p.ping_count) as poller:
        try:
            while True:
                ctx.cancel.check("health watch")
                report = poller.poll()
                emit_item(ctx.reporter, "health.report", report)
                rounds += 1
                if _loop_end(ctx.cancel, p.interval, rounds, p.rounds, "health watch"):
                    return HealthWatch(rounds, report)
        except Interrupted:
            raise _stopped("health watch", rounds) from None


def register(cat: Catalogue) -> None:
    """Add ``slowlog.follow`` and ``health.watch``."""
    cat.register(
        Operation(
            "slowlog.follow",
            "New slow-log entries as they appear (an event per entry), until cancelled.",
            Kind.read,
            SlowlogFollowParams,
            slowlog_follow,
            result=SlowlogFollow,
        )
    )
    cat.register(
        Operation(
            "health.watch",
            "A health report every interval (an event per report), until cancelled.",
            Kind.read,
            HealthWatchParams,
            health_watch,
            result=HealthWatch,
        )
    )
