"""The catalogue's rules, on operations defined here: validation, kinds, confirmation, read-only
targets, plans that block, events of a failure."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import BaseModel, ConfigDict, Field

import redisops.ops.catalogue as catalogue_module
from redisops.errors import AbortedError, ConflictError, ExitCode, InvalidArgument, NotFoundError, PlanBlocked
from redisops.events import Failed, Recorder
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation, Plan
from tests.unit.test_events_cancel import _docstring_example


class WipeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    db: int = Field(0, ge=0, le=15)
    prefix: str


@dataclass
class FakeTarget:
    name: str = "sandbox"
    read_only: bool = False


def _catalogue(calls: list[str]) -> Catalogue:
    def run(ctx: OpContext, p: WipeParams) -> dict[str, int]:
        calls.append(f"wipe {p.prefix}")
        ctx.reporter.phase("deleting")
        ctx.reporter.progress(3, 3, unit="keys")
        return {"deleted": 3}

    def plan(ctx: OpContext, p: WipeParams) -> Plan:
        blockers = ("the prefix is empty: it would delete every key",) if p.prefix == "" else ()
        return Plan("keys.wipe", steps=(f"delete keys {p.prefix}* in db {p.db}",), blockers=blockers)

    def broken(ctx: OpContext, p: WipeParams) -> None:
        raise ConflictError("someone else holds the lock")

    cat = Catalogue()
    cat.register(Operation("keys.wipe", "Delete keys by prefix.", Kind.destructive, WipeParams, run, plan))
    cat.register(Operation("keys.broken", "Fails.", Kind.mutate, WipeParams, broken, plan))
    cat.register(Operation("keys.count", "Count keys.", Kind.read, WipeParams, lambda c, p: 7))
    return cat


def test_module_example_runs():
    exec(compile(_docstring_example(catalogue_module), "catalogue", "exec"), {})


def test_parameters_are_validated_by_the_model_and_every_problem_named():
    cat = _catalogue([])
    with pytest.raises(InvalidArgument) as exc:
        cat.invoke("keys.count", {"db": 99, "surprise": 1}, target=FakeTarget())
    msg = exc.value.message
    assert "db:" in msg and "prefix:" in msg and "surprise:" in msg
    assert exc.value.exit_code == ExitCode.USAGE
    assert "redisops ops show keys.count" in exc.value.hint


def test_a_destructive_operation_needs_confirmation_and_changes_nothing_without_it():
    calls: list[str] = []
    cat = _catalogue(calls)
    with pytest.raises(AbortedError):
        cat.invoke("keys.wipe", {"prefix": "tmp:"}, target=FakeTarget())
    assert calls == []
    events = Recorder()
    assert cat.invoke(
        "keys.wipe", {"prefix": "tmp:"}, target=FakeTarget(), confirm=True, on_event=events
    ) == {"deleted": 3}
    assert calls == ["wipe tmp:"]
    assert events.kinds() == ["started", "phase", "progress", "finished"]
    assert events[0].params == {"db": 0, "prefix": "tmp:"}


def test_a_read_only_target_refuses_every_change_but_reads():
    calls: list[str] = []
    cat = _catalogue(calls)
    prod = FakeTarget("prod", read_only=True)
    assert cat.invoke("keys.count", {"prefix": "a"}, target=prod) == 7
    for name in ("keys.wipe", "keys.broken"):
        with pytest.raises(AbortedError) as exc:
            cat.invoke(name, {"prefix": "a"}, target=prod, confirm=True)
        assert "prod" in exc.value.message and "--read-write" in exc.value.hint
    assert calls == []


def test_plans_change_nothing_and_say_what_blocks():
    calls: list[str] = []
    cat = _catalogue(calls)
    ok = cat.plan("keys.wipe", {"prefix": "tmp:"}, target=FakeTarget())
    assert not ok.blocked and ok.steps == ("delete keys tmp:* in db 0",)
    blocked = cat.plan("keys.wipe", {"prefix": ""}, target=FakeTarget())
    assert blocked.blocked and blocked.to_dict()["blocked"] is True
    with pytest.raises(PlanBlocked) as exc:
        blocked.raise_if_blocked()
    assert exc.value.exit_code == 15 and "every key" in exc.value.message
    assert cat.plan("keys.count", {"prefix": "a"}, target=FakeTarget()).steps[0].startswith("read only")
    assert calls == []


def test_a_failure_is_an_event_and_the_error_itself():
    events = Recorder()
    with pytest.raises(ConflictError):
        _catalogue([]).invoke("keys.broken", {"prefix": "a"}, target=FakeTarget(), on_event=events)
    assert events.kinds() == ["started", "failed"]
    assert isinstance(events[1], Failed) and events[1].error["exit_code"] == ExitCode.CONFLICT


def test_names_kinds_and_registration_rules():
    cat = _catalogue([])
    assert [o.name for o in cat] == ["keys.broken", "keys.count", "keys.wipe"]
    assert cat.get("keys.wipe").describe()["kind"] == "destructive"
    with pytest.raises(NotFoundError) as exc:
        cat.get("keys.wpie")
    assert "keys.wipe" in exc.value.hint
    with pytest.raises(ValueError):
        cat.register(cat.get("keys.count"))
    with pytest.raises(TypeError):
        Operation("keys.nuke", "No plan.", Kind.destructive, WipeParams, lambda c, p: None)
    with pytest.raises(TypeError):
        Operation("undotted", "Bad name.", Kind.read, WipeParams, lambda c, p: None)


def test_every_change_leaves_one_audit_line_with_its_plan_and_how_it_ended(tmp_path):
    from redisops.ops.audit import AuditLog

    calls: list[str] = []
    cat = _catalogue(calls)
    log = AuditLog(tmp_path / "audit.jsonl")
    cat.audit = log

    @dataclass
    class Prod:
        name: str = "sandbox"
        read_only: bool = False

        def to_dict(self) -> dict[str, str]:
            return {"name": self.name, "password_source": "REDISCLI_AUTH"}

    cat.invoke("keys.wipe", {"prefix": "tmp:"}, target=Prod(), confirm=True)
    with pytest.raises(PlanBlocked):
        cat.invoke("keys.wipe", {"prefix": ""}, target=Prod(), confirm=True)
    with pytest.raises(ConflictError):
        cat.invoke("keys.broken", {"prefix": "x"}, target=Prod())
    cat.invoke("keys.count", {"prefix": "x"}, target=Prod())  # reads leave no line
    lines = log.read()
    assert [(x["op"], x["outcome"]) for x in lines] == [
        ("keys.wipe", "ok"), ("keys.wipe", "blocked"), ("keys.broken", "failed"),
    ]  # fmt: skip
    ok, blocked, failed = lines
    assert ok["plan"]["steps"] == ["delete keys tmp:* in db 0"] and ok["result"] == {"deleted": 3}
    assert ok["target"] == {"name": "sandbox", "password_source": "REDISCLI_AUTH"} and "@" in ok["user"]
    assert blocked["plan"]["blocked"] is True and blocked["error"]["exit_code"] == 15
    assert failed["error"]["error"] == "ConflictError"
    assert calls == ["wipe tmp:"]  # the blocked plan stopped the run before it started
    assert oct((tmp_path / "audit.jsonl").stat().st_mode & 0o777) == "0o600"


def test_audit_module_example_runs():
    import redisops.ops.audit as audit_module

    exec(compile(_docstring_example(audit_module), "audit", "exec"), {})


def test_the_run_gets_the_plan_computed_for_it_once():
    seen: list[tuple[str, bool, object]] = []

    def plan(ctx: OpContext, p: WipeParams) -> Plan:
        seen.append(("plan", ctx.then_runs, ctx.plan))
        return Plan("keys.wipe", steps=(f"delete keys {p.prefix}*",), state={"counted": 3})

    def run(ctx: OpContext, p: WipeParams) -> int:
        assert ctx.plan is not None
        seen.append(("run", ctx.then_runs, ctx.plan.state))
        return int(ctx.plan.state["counted"])

    cat = Catalogue()
    cat.register(Operation("keys.wipe", "Delete keys by prefix.", Kind.mutate, WipeParams, run, plan))
    target = FakeTarget()
    # invoke plans once, telling the plan its run follows; the run gets that plan (state included)
    assert cat.invoke("keys.wipe", {"prefix": "a"}, target=target) == 3
    assert seen == [("plan", True, None), ("run", True, {"counted": 3})]
    # a plan only shown is not told a run follows; given back to invoke, it is the one run (no plan again)
    seen.clear()
    shown = cat.plan("keys.wipe", {"prefix": "a"}, target=target)
    assert seen == [("plan", False, None)] and "state" not in shown.to_dict()
    assert "counted" not in repr(shown) and shown == Plan("keys.wipe", steps=("delete keys a*",))
    seen.clear()
    assert cat.invoke("keys.wipe", {"prefix": "a"}, target=target, plan=shown) == 3
    assert seen == [("run", False, {"counted": 3})]
    with pytest.raises(InvalidArgument, match=r"not keys\.wipe"):
        cat.invoke("keys.wipe", {"prefix": "a"}, target=target, plan=Plan("keys.other"))
