"""Issue 13: ``slowlog.follow`` and ``health.watch`` are catalogue operations whose output is a stream
of ``item`` events (one per new slow-log entry, one per health report) and which end on cancel.

Against a real redis-server: new entries made with ``DEBUG SLEEP`` while the follow runs in a thread
arrive as events, in order, each before its poll's marker; cancelling the token ends the run with
Interrupted (exit 130) naming the rounds run, after a summary item; ``rounds`` ends it with a result."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from redisops.cancel import CancelToken
from redisops.errors import Interrupted, InvalidArgument
from redisops.events import Failed, Recorder, Started
from redisops.health import HealthReport
from redisops.inspect import SlowlogEntry
from redisops.ops.api_inspect import InspectAPI, Item
from redisops.ops.entries_watch import HealthWatch, SlowlogFollow
from redisops.ops.registry import catalogue
from redisops.ops.target import resolve_target


@pytest.fixture
def server(redis_factory: Any) -> Any:
    inst = redis_factory({"config": {"appendonly": False}}, extra={"enable-debug-command": "yes"})
    c = inst.client()
    c.config_set("slowlog-log-slower-than", 0)  # every command is "slow": entries on demand
    c.slowlog_reset()
    c.close()
    return inst


def items(events: Recorder, name: str) -> list[Any]:
    return [e.data for e in events.of(Item) if e.name == name]


def wait_for(what: str, cond: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def test_slowlog_follow_streams_new_entries_until_cancelled(server: Any) -> None:
    t = resolve_target(url=f"redis://127.0.0.1:{server.endpoint.port}", env={})
    events, token = Recorder(), CancelToken()
    outcome: dict[str, BaseException] = {}

    def follow() -> None:
        try:
            InspectAPI(t).slowlog_follow(count=5, interval=0.05, on_event=events, cancel=token)
        except BaseException as e:  # the thread reports what ended it
            outcome["error"] = e

    runner = threading.Thread(target=follow)
    runner.start()
    try:
        wait_for("the first poll", lambda: items(events, "slowlog.poll"))
        c = server.client()
        for i in range(3):
            c.set(f"marker:{i}", "x")
        c.close()
        wait_for(
            "the three SETs as events",
            lambda: sum(1 for e in items(events, "slowlog.entry") if e.argv[:1] == ("SET",)) >= 3,
        )
    finally:
        token.cancel("interrupted")
        runner.join(timeout=30)
    assert not runner.is_alive()
    err = outcome.get("error")
    assert isinstance(err, Interrupted) and err.exit_code == 130
    assert "slow log follow stopped after" in err.message and "nothing was changed" in err.message

    entries = items(events, "slowlog.entry")
    assert all(isinstance(e, SlowlogEntry) for e in entries)
    sets = [e.argv for e in entries if e.argv[:1] == ("SET",)]
    assert sets == [("SET", f"marker:{i}", "x") for i in range(3)]  # in the order they ran
    ids = [e.id for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # oldest first, none twice
    # each entry comes before the marker of the poll that read it; the summary and failed come last
    kinds = [(e.kind, getattr(e, "name", "")) for e in events]
    assert kinds[0] == ("started", "") and kinds[-2] == ("item", "slowlog.summary")
    assert kinds[-1] == ("failed", "") and isinstance(events[-1], Failed)
    assert events[-1].error["exit_code"] == 130
    assert kinds[-3] == ("item", "slowlog.poll")
    summary = items(events, "slowlog.summary")[0]
    assert any(g.key == "SET marker:*" and g.count == 3 for g in summary)
    assert {e.op for e in events} == {"slowlog.follow"} and len({e.op_id for e in events}) == 1


def test_slowlog_follow_with_rounds_and_health_watch_return_a_result(server: Any) -> None:
    t = resolve_target(url=f"redis://127.0.0.1:{server.endpoint.port}", env={})
    events = Recorder()
    res = t.run("slowlog.follow", count=2, interval=0.01, rounds=2, on_event=events)
    assert isinstance(res, SlowlogFollow) and res.rounds == 2
    polls = items(events, "slowlog.poll")
    assert [p["round"] for p in polls] == [0, 1]
    assert polls[0]["new"] == len(items(events, "slowlog.entry")[: polls[0]["new"]]) <= 2
    assert res.to_dict()["rounds"] == 2 and isinstance(events[0], Started)

    events = Recorder()
    watched = InspectAPI(t).health_watch(interval=0.01, rounds=3, backups=False, on_event=events)
    assert isinstance(watched, HealthWatch) and watched.rounds == 3
    reports = items(events, "health.report")
    assert len(reports) == 3 and all(isinstance(r, HealthReport) for r in reports)
    assert watched.last is reports[-1] and watched.exit_code() == reports[-1].exit_code()
    assert [e.kind for e in events][-1] == "finished"
    # the second and later reports measure rates since the previous one (one connection, a poller)
    assert reports[1].snapshot is not reports[0].snapshot
    assert watched.to_dict()["last"]["checks"]

    # cancelled before the first interval ends: Interrupted naming one round
    token = CancelToken()

    def cancel_after_first(event: Any) -> None:
        if isinstance(event, Item):
            token.cancel("interrupted")

    with pytest.raises(Interrupted, match="health watch stopped after 1 round,"):
        t.run("health.watch", interval=30, backups=False, on_event=cancel_after_first, cancel=token)

    for op in ("slowlog.follow", "health.watch"):
        assert catalogue().get(op).kind == "read"
        with pytest.raises(InvalidArgument):
            t.run(op, interval=0)
