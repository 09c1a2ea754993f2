"""Issue 13 items 2 and 5 for inspection and backups, against a real redis-server and a real moto S3:
every entry runs through ``Target.run`` (and the typed facades) with its typed result and its events;
bad parameters name the field; destructive operations need a confirmation; every plan of a mutating or
destructive backup operation leaves Redis and the bucket exactly as they were (blocked plans too); the
runs refuse what their plans block; every ``backup`` CLI command has a catalogue entry."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer

from redisops.backup import GcReport, Manifest, RetentionPlan
from redisops.cancel import CancelToken
from redisops.errors import AbortedError, Interrupted, InvalidArgument, PlanBlocked, VerificationError
from redisops.events import Finished, Progress, Recorder, jsonable
from redisops.health import HealthReport, Status
from redisops.ops.api_backup import BackupAPI
from redisops.ops.api_inspect import InspectAPI
from redisops.ops.audit import AuditLog
from redisops.ops.backup import VerifyResult
from redisops.ops.catalogue import Kind, Plan
from redisops.ops.entries_backup import BackupList, DeleteResult, ScheduleResult, UnlockResult
from redisops.ops.entries_inspect import ClientsResult, InfoResult, LatencyResult, SlowlogResult
from redisops.ops.inspect import KeyAnalysis, MemoryReport
from redisops.ops.registry import catalogue
from redisops.ops.restore import DrillResult
from redisops.ops.target import Target, resolve_target
from tests.harness.snapshots import world

#: the id of a leftover folder without a manifest (gc'd with grace 0: it was written just now)
ORPHAN = "20200101T000000Z-0bad"


def _config(tmp_path: Path, s3_endpoint: Any, bucket: str, name: str = "deploy.yaml") -> Path:
    cfg = tmp_path / name
    cfg.write_text(
        f"backup:\n  bucket: {bucket}\n  endpoint_url: {s3_endpoint.url}\n  force_path_style: true\n"
        "  server_side_encryption: none\n  keep_last: 5\n"
    )
    return cfg


@pytest.fixture(autouse=True)
def audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's audit log (the catalogue appends a line for every change)."""
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("REDISOPS_AUDIT_LOG", str(path))
    return path


@pytest.fixture
def server(redis_factory: Any) -> Any:
    inst = redis_factory()  # production persistence: save points and appendonly yes
    c = inst.client()
    for i in range(30):
        c.set(f"user:{i}", "x" * (10 + 40 * i))
    for i in range(5):
        c.rpush(f"queue:{i}", *range(i + 1))
    c.hset("cfg:main", mapping={"a": "1", "b": "2"})
    c.close()
    return inst


@pytest.fixture
def target(server: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path) -> Target:
    cfg = _config(tmp_path, s3_endpoint, s3_bucket)
    return resolve_target(
        url=f"redis://127.0.0.1:{server.endpoint.port}", config=cfg, state_dir=tmp_path / "state", env={}
    )


def snapshot(server: Any, s3_endpoint: Any, bucket: str) -> dict[str, Any]:
    return world(redis=server.endpoint, s3=(s3_endpoint.client(), bucket))


def run_recorded(target: Target, op: str, params: dict[str, Any], **kw: Any) -> tuple[Any, Recorder]:
    events = Recorder()
    result = target.run(op, params, on_event=events, **kw)
    kinds = events.kinds()
    assert kinds[0] == "started" and kinds[-1] == "finished", kinds
    assert "failed" not in kinds
    assert {e.op for e in events} == {op} and len({e.op_id for e in events}) == 1
    finished = events.of(Finished)[0]
    assert isinstance(finished, Finished) and finished.result is result
    json.dumps(jsonable(result))  # every result is JSON through jsonable
    json.dumps([e.to_dict() for e in events])
    return result, events


# --- the catalogue and the CLI ----------------------------------------------------------------------------


def test_every_backup_command_of_the_cli_has_a_catalogue_entry_with_its_kind() -> None:
    from redisops.cli.main import app

    group = typer.main.get_command(app)
    backup_group = group.commands["backup"]  # type: ignore[attr-defined]
    commands = set(backup_group.commands)
    assert commands >= {"create", "list", "describe", "verify", "delete", "gc", "prune", "unlock", "drill"}
    cat = catalogue()
    missing = [name for name in sorted(commands) if f"backup.{name}" not in cat]
    assert missing == [], f"backup commands without a catalogue entry: {missing}"
    kinds = {op.name: op.kind for op in cat if op.name.startswith("backup.")}
    assert kinds == {
        "backup.list": Kind.read,
        "backup.describe": Kind.read,
        "backup.verify": Kind.read,
        "backup.create": Kind.mutate,
        "backup.drill": Kind.mutate,
        "backup.unlock": Kind.mutate,
        "backup.delete": Kind.destructive,
        "backup.gc": Kind.destructive,
        "backup.prune": Kind.destructive,
        "backup.schedule": Kind.destructive,
    }
    for name in ("health.report", "info.get", "slowlog.get", "latency.report", "memory.report",
                 "keys.analyze", "clients.list"):  # fmt: skip
        assert cat.get(name).kind is Kind.read
    for op in cat:
        if op.name.split(".")[0] in ("backup", "health", "info", "slowlog", "latency", "memory", "keys"):
            schema = op.schema()
            assert schema.get("additionalProperties") is False, op.name
            for field, spec in schema.get("properties", {}).items():
                assert spec.get("description"), f"{op.name}.{field} has no description"


# --- inspection -----------------------------------------------------------------------------------------


def test_every_inspection_entry_runs_on_the_target_with_its_typed_result(server: Any, target: Target) -> None:
    c = server.client()
    c.config_set("slowlog-log-slower-than", 0)
    c.get("user:1")
    c.close()
    look = InspectAPI(target)

    report, events = run_recorded(target, "health.report", {})
    assert isinstance(report, HealthReport) and report.get("ping").status is Status.OK
    # the target has a store (the config names an endpoint): backup age is judged from it (none yet)
    assert "no backup in" in (report.get("backup_age").reason or "")
    assert "phase" in events.kinds()
    without = look.health(backups=False, thresholds={"memory_warn_ratio": 0.5})
    assert without.get("backup_age").status is Status.UNKNOWN

    info, _ = run_recorded(target, "info.get", {"sections": ["memory", "keyspace"]})
    assert isinstance(info, InfoResult) and info.info.memory.used_memory and info.info.total_keys == 36
    assert set(info.to_dict()["info"]) == {"memory", "keyspace"} and info.rates is None
    sampled = look.info(["server"], rates=True, interval=0.05)
    assert sampled.rates is not None and sampled.rates.elapsed_s > 0

    slow, _ = run_recorded(target, "slowlog.get", {"count": 5})
    assert isinstance(slow, SlowlogResult) and 1 <= len(slow.entries) <= 5 and slow.by_shape

    lat = look.latency(pings=3)
    assert isinstance(lat, LatencyResult) and lat.ping.n == 3 and lat.to_dict()["ping"]["n"] == 3

    mem, _ = run_recorded(target, "memory.report", {})
    assert isinstance(mem, MemoryReport) and mem.info is not None and mem.info.used_memory

    keys, keys_events = run_recorded(target, "keys.analyze", {"top": 2, "prefixes": 2, "max_ops": 0})
    scanned = keys_events.of(Progress)
    assert scanned and all(e.unit == "keys" and e.total == 36 for e in scanned)  # type: ignore[attr-defined]
    assert isinstance(keys, KeyAnalysis) and keys.done and keys.examined == 36
    assert {s.key for s in keys.top["string"]} == {"user:28", "user:29"}  # the 2 biggest
    assert [p.prefix for p in keys.prefixes] == ["user:*", "queue:*"]  # cut to the 2 biggest

    clients, _ = run_recorded(target, "clients.list", {"limit": 1})
    assert isinstance(clients, ClientsResult) and clients.total >= 1 and len(clients.clients) == 1
    assert "raw" not in clients.to_dict()["clients"][0]


def test_bad_parameters_name_the_field_and_nothing_runs(target: Target) -> None:
    look, backups = InspectAPI(target), BackupAPI(target)
    cases = [
        (lambda: look.keys(top=0), "top"),
        (lambda: look.keys(sample=1.5), "sample"),
        (lambda: look.slowlog(count=0), "count"),
        (lambda: look.latency(pings=10_001), "pings"),
        (lambda: look.info(rates=True, interval=0), "interval"),
        (lambda: look.health(thresholds={"no_such_threshold": 1}), "thresholds"),
        (lambda: backups.create(kind="zip"), "kind"),  # type: ignore[arg-type]
        (lambda: backups.describe("not-an-id"), "backup_id"),
        (lambda: backups.delete("latest", confirm=True), "backup_id"),
        (lambda: backups.list(source="Not A Source"), "source"),
        (lambda: backups.prune(keep_last=0, confirm=True), "keep_last"),
        (lambda: backups.gc(grace_hours=-1, confirm=True), "grace_hours"),
        (lambda: target.run("backup.list", surprise=1), "surprise"),
    ]
    for call, field in cases:
        with pytest.raises(InvalidArgument) as exc:
            call()
        assert f"{field}:" in exc.value.message, (field, exc.value.message)
    assert backups.list().backups == []


def test_a_cancelled_inspection_stops_with_interrupted_and_a_failed_event(target: Target) -> None:
    token = CancelToken()
    token.cancel("stopped by the test")
    events = Recorder()
    with pytest.raises(Interrupted, match="stopped by the test"):
        InspectAPI(target).info(rates=True, interval=30, on_event=events, cancel=token)
    assert events.kinds()[0] == "started" and events.kinds()[-1] == "failed"


# --- backups: the life cycle through the facade -----------------------------------------------------------


def test_backup_lifecycle_through_the_facade(target: Target, server: Any) -> None:
    backups = BackupAPI(target)
    events = Recorder()
    m = backups.create(notes="from the API", on_event=events)
    assert isinstance(m, Manifest) and m.verified and m.total_keys == 36 and m.notes == "from the API"
    kinds = events.kinds()
    assert kinds[0] == "started" and kinds[-1] == "finished" and "phase" in kinds
    assert events.of(Finished)[0].result is m  # type: ignore[attr-defined]
    streamed = [e for e in events.of(Progress) if e.phase == "streaming"]  # type: ignore[attr-defined]
    assert streamed and streamed[0].total  # type: ignore[attr-defined]  # a total (or an estimate) at once

    listed, _ = run_recorded(target, "backup.list", {})
    assert isinstance(listed, BackupList) and [b.id for b in listed.backups] == [m.id]
    assert listed.to_dict()["source"] == "redis" and backups.ids() == [m.id]
    assert backups.describe().id == m.id and backups.describe(m.id).size == m.size

    verified, _ = run_recorded(target, "backup.verify", {"backup_id": m.id, "deep": True})
    assert isinstance(verified, VerifyResult) and verified.ok
    assert verified.loaded_key_counts == {0: 36}

    drill, _ = run_recorded(target, "backup.drill", {})
    assert isinstance(drill, DrillResult) and drill.ok and drill.backup_id == m.id
    # the drill is recorded in the store: the health report now judges it
    assert InspectAPI(target).health().get("drill").status is Status.OK

    aof = backups.create(kind="aof", data_dir=server.data_dir, purpose="scheduled")
    assert aof.kind == "aof" and aof.purpose == "scheduled"
    assert backups.ids() == [aof.id, m.id]


def test_verify_of_a_damaged_backup_is_a_verification_error(
    target: Target, s3_endpoint: Any, s3_bucket: str
) -> None:
    backups = BackupAPI(target)
    m = backups.create()
    key = f"redisops/backups/redis/{m.id}/dump.rdb"
    s3 = s3_endpoint.client()
    s3.put_object(Bucket=s3_bucket, Key=key, Body=b"REDIS0011 not what was written")
    events = Recorder()
    with pytest.raises(VerificationError) as exc:
        backups.verify(m.id, on_event=events)
    assert exc.value.context["problems"] and events.kinds()[-1] == "failed"


# --- plans change nothing; destructive runs need confirm; runs refuse what plans block ---------------------


def _populate(target: Target, s3_endpoint: Any, bucket: str) -> list[Manifest]:
    backups = BackupAPI(target)
    made = [backups.create(notes=str(i)) for i in range(3)]
    # a leftover of a failed backup long ago: gc removes it
    s3_endpoint.client().put_object(
        Bucket=bucket, Key=f"redisops/backups/redis/{ORPHAN}/dump.rdb", Body=b"partial"
    )
    return made


def _plans(target: Target, made: list[Manifest], tmp_path: Path) -> dict[str, Plan]:
    newest, oldest = made[-1], made[0]
    return {
        "create": target.plan("backup.create", {}),
        "create aof": target.plan("backup.create", {"kind": "aof", "data_dir": str(tmp_path / "nowhere")}),
        "drill": target.plan("backup.drill", {"backup_id": oldest.id}),
        "drill unknown": target.plan("backup.drill", {"backup_id": "20300101T000000Z-dead"}),
        "unlock": target.plan("backup.unlock", {}),
        "delete": target.plan("backup.delete", {"backup_id": oldest.id}),
        "delete newest": target.plan("backup.delete", {"backup_id": newest.id}),
        "delete unknown": target.plan("backup.delete", {"backup_id": "20300101T000000Z-dead"}),
        "gc": target.plan("backup.gc", {"grace_hours": 0}),
        "prune": target.plan("backup.prune", {"keep_last": 1}),
        "schedule": target.plan("backup.schedule", {"count": 2, "drill": True}),
    }


def test_plans_of_every_mutating_and_destructive_backup_op_change_nothing(
    target: Target, server: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path
) -> None:
    made = _populate(target, s3_endpoint, s3_bucket)
    newest, oldest = made[-1], made[0]
    before = snapshot(server, s3_endpoint, s3_bucket)
    plans = _plans(target, made, tmp_path)
    assert snapshot(server, s3_endpoint, s3_bucket) == before
    planned = {op.name for op in catalogue() if op.name.startswith("backup.") and op.kind is not Kind.read}
    assert planned == {f"backup.{name.split()[0]}" for name in plans}

    assert not plans["create"].blocked and any("stream an RDB" in s for s in plans["create"].steps)
    assert plans["create"].details["estimated_bytes"] > 0
    assert any("does not exist" in b for b in plans["create aof"].blockers)
    assert not plans["drill"].blocked and plans["drill"].details["backup_id"] == oldest.id
    assert any("does not exist" in b for b in plans["drill unknown"].blockers)
    assert not plans["unlock"].blocked and plans["unlock"].steps[0].startswith("nothing to unlock")
    assert not plans["delete"].blocked and len(plans["delete"].details["objects"]) == 2
    assert any("newest verified backup" in b for b in plans["delete newest"].blockers)
    assert any("does not exist" in b for b in plans["delete unknown"].blockers)
    assert plans["gc"].steps == (f"delete the incomplete backup redisops/backups/redis/{ORPHAN}/",)
    assert plans["prune"].steps == tuple(f"delete backup {m.id}" for m in made[1::-1])
    assert plans["prune"].details["retention"].keep_ids == [newest.id]
    assert plans["schedule"].steps[-1] == "repeat every 21600 s, 2 times"
    assert all(json.dumps(p.to_dict()) for p in plans.values())

    # the same plans through the facade, with a lock held by a live holder (this process): blocked
    store = target.store()
    writer = store.begin("rdb", datetime.now(UTC))
    try:
        held = snapshot(server, s3_endpoint, s3_bucket)
        backups = BackupAPI(target)
        blocked_create = backups.plan("create")
        blocked_unlock = backups.plan("backup.unlock")
        assert snapshot(server, s3_endpoint, s3_bucket) == held
        assert any("already running" in b for b in blocked_create.blockers)
        assert any("force it (--force, force=True)" in b for b in blocked_unlock.blockers)
        with pytest.raises(PlanBlocked):
            blocked_create.raise_if_blocked()
        assert not backups.plan("unlock", force=True).blocked
        # the real run refuses the same way before it changes anything
        with pytest.raises(PlanBlocked, match="already running"):
            backups.create()
        assert snapshot(server, s3_endpoint, s3_bucket) == held
    finally:
        writer.abort()


def test_a_plan_on_an_unreachable_store_is_blocked_and_changes_nothing(
    server: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, s3_endpoint, "redisops-no-such-bucket", name="missing.yaml")
    t = resolve_target(url=f"redis://127.0.0.1:{server.endpoint.port}", config=cfg,
                       state_dir=tmp_path / "state", env={})  # fmt: skip
    before = snapshot(server, s3_endpoint, s3_bucket)
    for op, params in (("backup.create", {}), ("backup.unlock", {}), ("backup.gc", {}),
                       ("backup.prune", {}), ("backup.delete", {"backup_id": ORPHAN})):  # fmt: skip
        plan = t.plan(op, params)
        assert plan.blocked, op
        assert any("redisops-no-such-bucket" in b for b in plan.blockers), (op, plan.blockers)
    assert snapshot(server, s3_endpoint, s3_bucket) == before


def test_destructive_operations_need_confirm_and_change_nothing_without(
    target: Target, server: Any, s3_endpoint: Any, s3_bucket: str
) -> None:
    made = _populate(target, s3_endpoint, s3_bucket)
    backups = BackupAPI(target)
    before = snapshot(server, s3_endpoint, s3_bucket)
    for call in (
        lambda: backups.delete(made[0].id),
        lambda: backups.gc(),
        lambda: backups.prune(keep_last=1),
        lambda: backups.schedule(every=0),
    ):
        with pytest.raises(AbortedError, match="needs an explicit confirmation"):
            call()
    assert snapshot(server, s3_endpoint, s3_bucket) == before


def test_destructive_runs_with_confirm_and_refusals_of_what_plans_block(
    target: Target, s3_endpoint: Any, s3_bucket: str, audit_log: Path
) -> None:
    made = _populate(target, s3_endpoint, s3_bucket)
    backups = BackupAPI(target)
    newest = made[-1]

    with pytest.raises(PlanBlocked, match="newest verified backup"):
        backups.delete(newest.id, confirm=True)
    assert newest.id in backups.ids()

    gone, _ = run_recorded(target, "backup.delete", {"backup_id": made[0].id}, confirm=True)
    assert isinstance(gone, DeleteResult) and gone.objects[0].endswith("manifest.json")
    assert backups.ids() == [newest.id, made[1].id]

    report, _ = run_recorded(target, "backup.gc", {"grace_hours": 0}, confirm=True)
    assert isinstance(report, GcReport) and report.incomplete_backups == (
        f"redisops/backups/redis/{ORPHAN}/",
    )
    assert not target.plan("backup.gc", {"grace_hours": 0}).details["report"].removed_anything

    pruned, _ = run_recorded(target, "backup.prune", {"keep_last": 1}, confirm=True)
    assert isinstance(pruned, RetentionPlan) and pruned.delete_ids == [made[1].id]
    assert backups.ids() == [newest.id]

    ran = backups.schedule(every=0, count=1, confirm=True)
    assert isinstance(ran, ScheduleResult) and len(ran.runs) == 1 and ran.runs[0]["pruned"] == []
    assert backups.describe().purpose == "scheduled"

    # the newest verified backup goes only with force
    forced = backups.delete(backups.ids()[0], force=True, confirm=True)
    assert forced.backup_id not in backups.ids()

    # one audit line per change, with its plan and how it ended
    lines = AuditLog(audit_log).read()
    assert [(x["op"], x["outcome"]) for x in lines] == [
        *[("backup.create", "ok")] * 3,
        ("backup.delete", "blocked"),
        ("backup.delete", "ok"),
        ("backup.gc", "ok"),
        ("backup.prune", "ok"),
        ("backup.schedule", "ok"),
        ("backup.delete", "ok"),
    ]
    assert all(x["plan"]["op"] == x["op"] for x in lines)
    assert lines[3]["plan"]["blocked"] and lines[4]["result"]["backup_id"] == made[0].id


def test_unlock_breaks_only_a_dead_holder_unless_forced(target: Target) -> None:
    backups = BackupAPI(target)
    assert backups.unlock() == UnlockResult("redis", None)
    store = target.store()
    writer = store.begin("rdb", datetime.now(UTC))
    try:
        with pytest.raises(PlanBlocked, match="the holder is running"):
            backups.unlock()
        assert store.lock_info() is not None
        broken, _ = run_recorded(target, "backup.unlock", {"force": True})
        assert isinstance(broken, UnlockResult) and broken.broken == writer.backup_id
        assert f"(pid {os.getpid()})" in (broken.holder or "") and store.lock_info() is None
    finally:
        writer.abort()


def test_a_read_only_target_refuses_every_change_but_reads_and_plans(
    server: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, s3_endpoint, s3_bucket)
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        f"targets:\n  prod:\n    url: redis://127.0.0.1:{server.endpoint.port}\n    config: {cfg}\n"
        "    production: true\n"
    )
    prod = resolve_target("prod", targets_file=targets, env={}, state_dir=tmp_path / "state")
    backups = BackupAPI(prod)
    before = snapshot(server, s3_endpoint, s3_bucket)
    with pytest.raises(AbortedError, match="read-only"):
        backups.create()
    with pytest.raises(AbortedError, match="read-only"):
        backups.prune(keep_last=1, confirm=True)
    assert backups.list().backups == [] and not backups.plan("create").blocked
    assert InspectAPI(prod).memory().info is not None
    assert snapshot(server, s3_endpoint, s3_bucket) == before


def test_a_cancelled_backup_leaves_nothing_listed_and_the_lock_free(target: Target) -> None:
    token = CancelToken()
    token.cancel("stopped by the test")
    events = Recorder()
    with pytest.raises(Interrupted):
        BackupAPI(target).create(on_event=events, cancel=token)
    assert events.kinds()[-1] == "failed"
    store = target.store()
    assert store.list() == [] and store.lock_info() is None
