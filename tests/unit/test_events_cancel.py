"""The event stream and the cancellation token: shapes, thinning, JSON, threads."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import redisops.cancel
import redisops.events
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, NotFoundError
from redisops.events import Failed, Progress, Recorder, Reporter, fanout, jsonable, new_op_id


def _docstring_example(module: object) -> str:
    doc = module.__doc__ or ""
    block = doc.split("::\n", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


@pytest.mark.parametrize("module", [redisops.events, redisops.cancel], ids=lambda m: m.__name__)
def test_module_examples_run(module):
    exec(compile(_docstring_example(module), module.__name__, "exec"), {})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_every_event_carries_the_operation_and_its_run_id():
    rec = Recorder()
    r = Reporter("restore.apply", rec, op_id="restore.apply-1")
    with r.running({"backup": "b1"}):
        r.phase("download", "from s3://bucket/b1")
        r.progress(10, 100)
        r.warning("the target is bigger than 90 % of maxmemory")
        r.log("staged")
        r.finished({"keys": 3})
    assert rec.kinds() == ["started", "phase", "progress", "warning", "log", "finished"]
    assert {e.op for e in rec} == {"restore.apply"} and {e.op_id for e in rec} == {"restore.apply-1"}
    dumped = [json.loads(json.dumps(e.to_dict())) for e in rec]
    assert dumped[0]["params"] == {"backup": "b1"} and dumped[0]["kind"] == "started"
    assert dumped[2] == {
        "kind": "progress", "op": "restore.apply", "op_id": "restore.apply-1", "at": dumped[2]["at"],
        "phase": "download", "done": 10, "total": 100, "unit": "bytes", "estimate": False,
    }  # fmt: skip
    assert dumped[-1]["result"] == {"keys": 3}


def test_a_failure_is_reported_and_reraised():
    rec = Recorder()
    r = Reporter("backup.create", rec)
    with pytest.raises(NotFoundError), r.running():
        raise NotFoundError("no such backup", hint="backup list")
    failed = rec.of(Failed)
    assert len(failed) == 1 and failed[0].message == "no such backup"
    assert failed[0].error["exit_code"] == 6 and failed[0].error["hint"] == "backup list"


@pytest.mark.parametrize(
    ("exc", "name", "code"),
    [(KeyboardInterrupt(), "Interrupted", 130), (ValueError("x"), "InternalError", 1)],
)
def test_foreign_failures_are_described_not_exposed(exc, name, code):
    rec = Recorder()
    Reporter("keys.analyse", rec).failed(exc)
    assert rec[0].error["error"] == name and rec[0].error["exit_code"] == code


def test_progress_is_thinned_but_keeps_the_first_and_the_last():
    clock = FakeClock()
    rec = Recorder()
    r = Reporter("backup.create", rec, clock=clock, min_interval=0.5)
    r.phase("streaming")
    for done in range(0, 1001, 10):
        r.progress(done, 1000)
        clock.now += 0.01
    progress = rec.of(Progress)
    assert progress[0].done == 0 and progress[-1].done == 1000
    assert len(progress) == 3  # first, one after 0.5 s, the last
    r.phase("committing")  # a new phase reports its first progress at once
    r.progress(1, 2)
    assert rec.of(Progress)[-1].phase == "committing"


def test_an_estimated_total_is_labelled_and_capped():
    rec = Recorder()
    r = Reporter("backup.create", rec)
    r.phase("streaming")
    r.progress(150, 100, estimate=True)
    ev = rec[-1]
    assert isinstance(ev, Progress) and ev.estimate and ev.fraction == 1.0
    r.progress(5)
    assert rec[-1].fraction is None


def test_progress_detail_rides_on_the_event_and_its_json():
    rec = Recorder()
    r = Reporter("migrate.copy", rec)
    r.phase("copying")
    r.progress(10, 100, unit="keys", detail={"keys_per_second": 5.0, "eta_seconds": 18.0})
    r.progress(100, 100, unit="keys")
    first, last = rec[-2], rec[-1]
    assert isinstance(first, Progress) and first.detail == {"keys_per_second": 5.0, "eta_seconds": 18.0}
    assert json.loads(json.dumps(first.to_dict()))["detail"]["eta_seconds"] == 18.0
    assert isinstance(last, Progress) and last.detail is None and "detail" not in last.to_dict()


def test_fanout_and_no_sink():
    a, b = Recorder(), Recorder()
    Reporter("x.y", fanout(a, None, b)).log("hi")
    assert len(a) == len(b) == 1
    Reporter("x.y").log("nobody listens")  # no sink: nothing happens, nothing breaks


def test_op_ids_sort_by_time_and_name_the_operation():
    first = new_op_id("backup.create", 1_800_000_000.0)
    second = new_op_id("backup.create", 1_800_000_001.0)
    assert first.startswith("backup.create-20270115T") and first < second


def test_jsonable_handles_the_result_types():
    @dataclass
    class R:
        path: Path
        counts: dict[int, int]

    assert jsonable(R(Path("/data"), {0: 3})) == {"path": "/data", "counts": {"0": 3}}


def test_cancel_wakes_a_sleeper_at_once_and_says_why():
    token = CancelToken()
    woke: list[float] = []

    def sleeper() -> None:
        t0 = time.monotonic()
        with pytest.raises(Interrupted) as exc:
            token.sleep(30, "while waiting for the rollout")
        woke.append(time.monotonic() - t0)
        assert exc.value.message == "step timeout while waiting for the rollout"

    t = threading.Thread(target=sleeper)
    t.start()
    time.sleep(0.05)
    token.cancel("step timeout")
    t.join(5)
    assert woke and not t.is_alive()


def test_cancel_runs_callbacks_once_and_keeps_the_first_reason():
    token = CancelToken()
    calls: list[str] = []
    unregister = token.on_cancel(lambda: calls.append("a"))
    token.on_cancel(lambda: calls.append("b"))
    keep = token.on_cancel(lambda: calls.append("c"))
    unregister()
    token.cancel("ctrl-c")
    token.cancel("later")
    assert calls == ["b", "c"] and token.reason == "ctrl-c" and token.cancelled
    token.on_cancel(lambda: calls.append("late"))  # registered after: runs at once
    assert calls[-1] == "late"
    keep()  # unregistering after the fact is harmless


def test_sleep_without_cancel_returns():
    token = CancelToken()
    token.sleep(0.01)
    assert not token.wait(0.01)
