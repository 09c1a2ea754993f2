"""Issue 12, restore area: defects found when the toolkit was tried as a new user would.

Real sandbox (redis-server processes and its moto S3 endpoint), the CLI through typer's CliRunner
in-process with an isolated environment (the sandbox's state dir, no user config).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.cli.main import app
from redisops.config import DeploymentConfig
from redisops.errors import ExitCode
from redisops.ops.backup import create_rdb_backup, store_for
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.restore import restore_sandbox
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up
from redisops.restore import RECORD_NAME, tree_digest

SMALL = DatasetSpec(keys_per_db=40, dbs=(0, 2), value_bytes=64, elements=4, ttl_fraction=0)
BEFORE = DatasetSpec(keys_per_db=15, dbs=(0,), prefix="before", ttl_fraction=0)


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    state = sandbox_up(tmp_path / "sandbox")
    yield state
    sandbox_down(tmp_path / "sandbox")


class Cli:
    """``redisops`` in-process against the sandbox, with an isolated environment."""

    def __init__(self, state: SandboxState, tmp_path: Path) -> None:
        self.state = state
        self.env = {
            "REDISOPS_STATE_DIR": str(state.state_dir),
            "HOME": str(tmp_path / "home"),
            "REDISOPS_CONFIG": "",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> Any:
        r = self.runner.invoke(app, list(args), env=self.env, catch_exceptions=False)
        assert r.exit_code == code, (args, r.exit_code, r.stdout, r.stderr)
        return r

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self(*args, "-o", "json", code=code).stdout)


@pytest.fixture
def cli(sandbox: SandboxState, tmp_path: Path) -> Cli:
    return Cli(sandbox, tmp_path)


def _store(state: SandboxState) -> Any:
    return store_for(DeploymentConfig().backup, sandbox=state)


def _snapshot(state: SandboxState) -> tuple[Any, bytes | None, list[tuple[str, int]]]:
    """The data dir (every entry: contents, modes, owners), the restore record's bytes, the store's keys."""
    record = state.data_dir / RECORD_NAME
    store = _store(state)
    objects = sorted((o.key, o.size) for o in store.s3.list_objects(""))
    return tree_digest(state.data_dir), record.read_bytes() if record.exists() else None, objects


# --- item 1: a dry run never changes anything ------------------------------------------------------------


def test_restore_undo_dry_run_changes_nothing(redis_server: Any, sandbox: SandboxState, cli: Cli) -> None:
    populate(redis_server.endpoint, SMALL, seed=1)
    store = _store(sandbox)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(sandbox.target, BEFORE, seed=2)
    restore_sandbox(sandbox, DeploymentConfig(), store, m.id, force=True, confirmed=True)

    before = _snapshot(sandbox)
    assert before[1] is not None and b'"complete"' in before[1]
    plan = cli.json("restore", "undo", "--dry-run", "--yes")
    assert plan["op"] == "restore.undo" and plan["steps"]  # a plan, not the undo's result
    assert plan["details"]["dry_run"] is True
    assert plan["blocked"] is False and plan["details"]["put_back"] and plan["details"]["move_aside"]
    text = cli("restore", "undo", "--dry-run", "--yes").stdout
    assert "put_back" in text and "Redis appears to be running" not in text
    assert _snapshot(sandbox) == before  # data dir, record and store byte-for-byte unchanged
    assert json.loads(before[1])["operation"] == "restore"

    # the restore's own dry runs (with --force --yes, which a real run would act on) change nothing either
    cli.json("restore", m.id, "--dry-run", "--force", "--yes")
    cli("restore", "latest", "--dry-run", "--force", "--yes")
    assert _snapshot(sandbox) == before

    # and the real undo still works afterwards
    done = cli.json("restore", "undo", "--yes")
    assert done["put_back"] and _snapshot(sandbox)[1] != before[1]


def test_undo_dry_run_with_nothing_to_undo_is_a_blocked_plan(sandbox: SandboxState, cli: Cli) -> None:
    before = _snapshot(sandbox)
    plan = cli.json("restore", "undo", "--dry-run", code=ExitCode.PLAN_BLOCKED)
    assert plan["blocked"] is True and "nothing to undo" in plan["blockers"][0]
    r = cli("restore", "undo", "--dry-run", code=ExitCode.PLAN_BLOCKED)
    assert "nothing to undo" in r.stdout + r.stderr
    assert _snapshot(sandbox) == before


# --- item 13: a blocked plan exits 15; a running sandbox target is a step, not a block --------------------


def test_dry_run_blocks_only_what_the_real_run_refuses(
    redis_server: Any, sandbox: SandboxState, cli: Cli
) -> None:
    populate(redis_server.endpoint, SMALL, seed=3)
    m = create_rdb_backup(redis_server.endpoint, _store(sandbox))

    # an empty, running target: the real run would go ahead (it stops the target itself)
    clear = cli.json("restore", "latest", "--dry-run")
    assert clear["blocked"] is False and clear["blockers"] == [] and clear["details"]["backup_id"] == m.id
    assert not any("BLOCKED" in line for line in clear["steps"])
    assert any("stop the sandbox target" in line for line in clear["steps"])
    text = cli("restore", "latest", "--dry-run").stdout
    assert "BLOCKED" not in text and "stop the sandbox target" in text

    # a target holding keys without --force: the real run refuses, so the plan is blocked (exit 15)
    populate(sandbox.target, BEFORE, seed=4)
    blocked = cli.json("restore", "latest", "--dry-run", code=ExitCode.PLAN_BLOCKED)
    assert blocked["blocked"] is True and "holds 15 keys" in blocked["blockers"][0]
    r = cli("restore", "latest", "--dry-run", code=ExitCode.PLAN_BLOCKED)
    assert "BLOCKED: the sandbox target holds 15 keys" in r.stdout
    assert "would refuse" in r.stderr and "Traceback" not in r.stderr
    # the way out is the refusal's own hint, not a generic one (new-user pass #2/#19)
    assert "pass --force" in r.stderr and "fix what blocks it" not in r.stderr
    # the real run plans first and refuses the same, before anything changes (exit 15, not 7)
    refused = cli.json("restore", "latest", "--yes", code=ExitCode.PLAN_BLOCKED)
    assert refused["error"] == "PlanBlocked" and "holds 15 keys" in refused["message"]
    assert refused["hint"].startswith("pass --force"), refused["hint"]

    # with --force the plan is clear again and shows the safety backup as a step
    forced = cli.json("restore", "latest", "--dry-run", "--force")
    assert forced["blocked"] is False
    assert any("safety backup" in line for line in forced["steps"])


# --- item 12: the run prints its own summary, never the pre-flight plan or a repr --------------------------


def test_restore_prints_a_summary_of_the_run_itself(
    redis_server: Any, sandbox: SandboxState, cli: Cli
) -> None:
    populate(redis_server.endpoint, SMALL, seed=5)
    m = create_rdb_backup(redis_server.endpoint, _store(sandbox))
    populate(sandbox.target, BEFORE, seed=6)

    r = cli("restore", "latest", "--force", "--yes")
    out = r.stdout
    for bad in ("LocalRestoreResult", "RestoreResult(", "mappingproxy", "BLOCKED", "stage    "):
        assert bad not in out, out
    assert len(out.splitlines()) <= 8, out
    record = json.loads((sandbox.data_dir / RECORD_NAME).read_text())
    undo_dir = sandbox.data_dir / record["undo_dir"]
    assert undo_dir.is_dir()
    assert str(undo_dir) in out  # the undo folder the run really used
    assert "redisops restore undo" in out
    assert f"restored backup {m.id}" in out and "db0 40" in out and "db2 40" in out
    assert "timings:" in out
    safety = [line for line in out.splitlines() if "safety backup" in line]
    assert safety and "redisops restore" in safety[0]

    # -o json: the run's own facts, the same operation id as the record
    populate(sandbox.target, BEFORE, seed=7)
    doc = cli.json("restore", m.id, "--force", "--yes")
    record = json.loads((sandbox.data_dir / RECORD_NAME).read_text())
    assert doc["operation_id"] == record["operation_id"]
    assert doc["undo_dir"] == str(sandbox.data_dir / record["undo_dir"])
    assert doc["key_counts"] == {"0": {"keys": 40, "expires": 0}, "2": {"keys": 40, "expires": 0}}
    assert doc["safety_backup"] and set(doc["timings"]) >= {"stop", "stage", "install", "total"}
    assert "plan" not in doc and "result" not in doc

    # restore undo prints a summary too
    undone = cli("restore", "undo", "--yes").stdout
    assert "LocalUndoResult" not in undone and "UndoResult(" not in undone
    assert "undid restore" in undone and "db0 " in undone


# --- item 11: one key-count rule for verify --deep, the drill and the restore ------------------------------


def _ttl_backup(server: Any, store: Any) -> Any:
    """A backup of 30 keys without a TTL (db0) and 20 keys whose 300 ms TTL passes right after (db0, db1)."""
    c = server.client()
    try:
        for i in range(30):
            c.set(f"keep:{i}", "v")
        for db in (0, 1):
            c.execute_command("SELECT", db)
            for i in range(10):
                c.set(f"ttl:{i}", "v", px=300)
    finally:
        c.close()
    m = create_rdb_backup(server.endpoint, store)
    assert {db: (k.keys, k.expires) for db, k in m.key_counts.items()} == {0: (40, 10), 1: (10, 10)}
    _wait_expired(server)
    return m


def _wait_expired(server: Any) -> None:
    import time

    c = server.client()
    try:
        for _ in range(200):
            c.execute_command("SELECT", 1)
            if all(c.pttl(f"ttl:{i}") < 0 for i in range(10)):  # -2: gone
                return
            time.sleep(0.05)
    finally:
        c.close()
    raise AssertionError("the TTLs did not pass")


def test_expired_ttl_keys_pass_verify_drill_and_restore(redis_server: Any, sandbox: SandboxState) -> None:
    from redisops.ops.backup import verify_backup
    from redisops.ops.restore import run_drill

    store = _store(sandbox)
    m = _ttl_backup(redis_server, store)

    verified = verify_backup(store, m.id, deep=True)
    assert verified.ok, verified.problems
    assert verified.loaded_key_counts == {0: 30}
    drill = run_drill(store, m.id)
    assert drill.ok, drill.problem
    res = restore_sandbox(sandbox, DeploymentConfig(), store, m.id, confirmed=True)
    assert res.result is not None and res.result.key_counts == {0: (30, 0)}
    assert res.result.expired_meanwhile == 20


def test_missing_keys_without_ttl_fail_verify_drill_and_restore(
    redis_factory: Any, sandbox: SandboxState
) -> None:
    """A backup whose manifest records two keys (without TTL) more than its RDB holds fails all three."""
    from datetime import UTC, datetime

    from redisops.errors import VerificationError
    from redisops.ops.backup import verify_backup
    from redisops.ops.restore import run_drill
    from redisops.rdb import RdbStreamVerifier

    server = redis_factory(name="short")
    c = server.client()
    try:
        for i in range(10):
            c.set(f"k:{i}", "v")
        c.save()
    finally:
        c.close()
    rdb = (server.data_dir / "dump.rdb").read_bytes()
    store = _store(sandbox)
    with store.begin("rdb", datetime.now(UTC)) as w:
        w.write_object("dump.rdb", [rdb], verifier=RdbStreamVerifier(sha256=False))
        m = w.commit(key_counts={0: {"keys": 12, "expires": 0}}, rdb_version=int(rdb[5:9]))

    verified = verify_backup(store, m.id, deep=True)
    assert not verified.ok and any("db0: 10 keys" in p for p in verified.problems), verified.problems
    drill = run_drill(store, m.id)
    assert not drill.ok and drill.problem is not None and "db0: 10 keys" in drill.problem
    with pytest.raises(VerificationError, match="db0: 10 keys"):
        restore_sandbox(sandbox, DeploymentConfig(), store, m.id, confirmed=True)


def test_restore_data_dir_and_drill_print_summaries_not_reprs(
    redis_server: Any, sandbox: SandboxState, cli: Cli, tmp_path: Path
) -> None:
    populate(redis_server.endpoint, SMALL, seed=8)
    m = create_rdb_backup(redis_server.endpoint, _store(sandbox))
    pvc = tmp_path / "pvc"
    pvc.mkdir()
    cli.env.update(  # what the in-cluster Job gets: the store from REDISOPS_S3_* (here: the sandbox's)
        REDISOPS_S3_BUCKET=sandbox.bucket,
        REDISOPS_S3_ENDPOINT_URL=sandbox.s3_url,
        REDISOPS_S3_FORCE_PATH_STYLE="true",
        AWS_ACCESS_KEY_ID="sandbox",
        AWS_SECRET_ACCESS_KEY="sandbox",
    )
    (pvc / "dump.rdb").write_bytes(b"old")
    out = cli("restore-data-dir", "--backup", m.id, "--data-dir", str(pvc), "-o", "text").stdout
    assert "RestoreResult" not in out and "RestorePlan" not in out and "mappingproxy" not in out
    assert f"installed backup {m.id}" in out and ".redisops-undo/" in out
    doc = cli.json("restore-data-dir", "--backup", m.id, "--data-dir", str(tmp_path / "pvc"))
    assert doc["backup_id"] == m.id and "plan" not in doc and doc["moved_aside"] == ["appendonlydir"]
    undone = cli("restore-data-dir", "--undo", "--data-dir", str(pvc), "-o", "text").stdout
    assert "UndoResult" not in undone and "undid operation" in undone

    drill = cli("backup", "drill", m.id).stdout
    assert "{" not in drill and f"drill of backup {m.id}: ok" in drill and "db0 40, db2 40" in drill


# --- item 20: an object replaced by another complete RDB does not match its manifest ------------------------


def test_restore_of_a_replaced_object_says_it_does_not_match_its_manifest(
    redis_server: Any, sandbox: SandboxState, cli: Cli
) -> None:
    from redisops.errors import VerificationError

    store = _store(sandbox)
    populate(redis_server.endpoint, SMALL, seed=9)
    meant = create_rdb_backup(redis_server.endpoint, store)
    populate(redis_server.endpoint, DatasetSpec(keys_per_db=5, dbs=(0,), prefix="other"), seed=10)
    c = redis_server.client()
    try:
        c.flushall()
        c.set("only", "one")
    finally:
        c.close()
    other = create_rdb_backup(redis_server.endpoint, store)  # a complete, valid, smaller RDB
    key = store.layout.object_key(store.source, meant.id, "dump.rdb")
    other_bytes = b"".join(store.open_object(other.id, "dump.rdb"))
    store.s3.put_bytes(key, other_bytes)
    before = _snapshot(sandbox)

    with pytest.raises(VerificationError) as err:
        restore_sandbox(sandbox, DeploymentConfig(), store, meant.id, confirmed=True)
    assert "does not match its manifest" in err.value.message and "replaced" in err.value.message
    assert f"redisops backup verify {meant.id}" in err.value.hint and "another backup" in err.value.hint
    after = _snapshot(sandbox)
    assert after[1] == before[1] is None and not (sandbox.data_dir / ".redisops-undo").exists()  # no restore

    doc = cli.json("restore", meant.id, "--yes", code=ExitCode.VERIFICATION)
    assert "does not match its manifest" in doc["message"] and "backup verify" in doc["hint"]


# --- item 6: safety backups are labelled, skipped by latest, and named by every message of the run ---------


def test_refused_restore_names_its_safety_backup_and_latest_skips_it(
    redis_server: Any, sandbox: SandboxState, cli: Cli
) -> None:
    store = _store(sandbox)
    populate(redis_server.endpoint, SMALL, seed=11)
    meant = create_rdb_backup(redis_server.endpoint, store)
    # the operator's backup turns out bad: its object was replaced after the backup
    key = store.layout.object_key(store.source, meant.id, "dump.rdb")
    store.s3.put_bytes(key, b"".join(store.open_object(meant.id, "dump.rdb"))[:-50])
    populate(sandbox.target, BEFORE, seed=12)

    refused = cli.json("restore", "latest", "--force", "--yes", code=ExitCode.VERIFICATION)
    safety = refused["context"]["safety_backup"]
    assert safety and safety != meant.id
    assert safety in refused["message"]
    assert f"redisops restore {safety} --force" in refused["hint"]
    assert store.get(safety).purpose == "safety" and store.get(safety).is_safety
    text = cli("restore", "latest", "--force", "--yes", code=ExitCode.VERIFICATION).stderr
    assert "safety backup" in text and "Traceback" not in text

    # latest is still the operator's backup, not the safety backup the refused runs took
    plan = cli.json("restore", "latest", "--dry-run", "--force")
    assert plan["details"]["backup_id"] == meant.id
    with_safety = cli.json("restore", "latest", "--dry-run", "--force", "--include-safety")
    chosen = with_safety["details"]["backup_id"]
    assert chosen != meant.id and store.get(chosen).is_safety

    # a run that succeeds names its safety backup in the summary, labelled safety too
    good = create_rdb_backup(redis_server.endpoint, store)
    done = cli.json("restore", "latest", "--force", "--yes")
    assert done["backup_id"] == good.id and store.get(done["safety_backup"]).is_safety


def test_a_plan_refusal_takes_no_safety_backup(redis_server: Any, sandbox: SandboxState) -> None:
    """maxmemory too small: refused before the safety backup (and before the target is stopped)."""
    from redisops.config import config_from_mapping
    from redisops.errors import ConfigError

    store = _store(sandbox)
    populate(redis_server.endpoint, SMALL, seed=13)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(sandbox.target, BEFORE, seed=14)
    tiny = config_from_mapping({"config": {"maxmemory": "1kb"}})
    before = [b.id for b in store.list()]
    with pytest.raises(ConfigError, match="does not fit"):
        restore_sandbox(sandbox, tiny, store, m.id, force=True, confirmed=True)
    assert [b.id for b in store.list()] == before


# --- item 19: Ctrl-C during a restore says what was kept -------------------------------------------------


def test_ctrl_c_while_staging_leaves_the_data_dir_and_names_the_safety_backup(
    redis_server: Any, sandbox: SandboxState
) -> None:
    import redis as redis_py

    from redisops.errors import Interrupted

    store = _store(sandbox)
    populate(redis_server.endpoint, SMALL, seed=15)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(sandbox.target, BEFORE, seed=16)

    def ctrl_c(phase: str, done: int, total: int | None) -> None:
        raise KeyboardInterrupt  # what SIGINT does at this point of the download

    with pytest.raises(Interrupted) as err:
        restore_sandbox(sandbox, DeploymentConfig(), store, m.id, force=True, confirmed=True, progress=ctrl_c)
    e = err.value
    assert e.exit_code == 130
    # the download is staged beside the running server: interrupted there, it never stopped
    assert "before the install" in e.message and "is unchanged" in e.message and "kept running" in e.message
    safety = e.context["safety_backup"]
    assert safety in e.message and f"redisops restore {safety} --force" in e.hint
    assert not (sandbox.data_dir / RECORD_NAME).exists()
    assert [p.name for p in sandbox.data_dir.iterdir() if p.name.startswith(".redisops")] == []
    r = redis_py.Redis(port=sandbox.target.port, protocol=2)
    try:
        assert r.dbsize() == 15 and r.exists("before:string:0:00000000")  # back on its previous data
    finally:
        r.close()


def test_ctrl_c_after_the_install_says_how_to_undo(redis_server: Any, redis_factory: Any) -> None:
    from datetime import UTC, datetime

    from redisops.errors import Interrupted
    from redisops.ops.restore_local import restore_local, undo_local
    from redisops.restore import TargetSettings

    populate(redis_server.endpoint, SMALL, seed=17)
    target = redis_factory(name="ctrl-c")
    populate(target.endpoint, BEFORE, seed=18)
    chunks = _rdb_chunks(redis_server)
    expected = _expected_rdb(chunks)
    settings = TargetSettings(appendonly=True, redis_version="7.0.15")

    def start_then_ctrl_c() -> None:
        target.restart()
        raise KeyboardInterrupt  # Ctrl-C while waiting for the restored server

    with pytest.raises(Interrupted) as err:
        restore_local(
            stop=target.process.stop, start=start_then_ctrl_c, data_dir=target.data_dir,
            settings=settings, source=iter(chunks), expected=expected, now=datetime.now(UTC),
            verify_endpoint=target.endpoint,
        )  # fmt: skip
    e = err.value
    assert e.exit_code == 130 and "after the install" in e.message
    assert "redisops restore undo" in e.message and e.context["undo_dir"] in e.message
    assert json.loads((target.data_dir / RECORD_NAME).read_text())["status"] == "complete"
    undone = undo_local(
        stop=target.process.stop, start=target.restart, data_dir=target.data_dir,
        now=datetime.now(UTC), verify_endpoint=target.endpoint,
    )  # fmt: skip
    assert undone.key_counts == {0: (15, 0)}


def _rdb_chunks(server: Any) -> list[bytes]:
    c = server.client()
    try:
        c.save()
    finally:
        c.close()
    data = (server.data_dir / "dump.rdb").read_bytes()
    return [data[i : i + 65536] for i in range(0, len(data), 65536)]


def _expected_rdb(chunks: list[bytes]) -> Any:
    import hashlib

    from redisops.restore import ExpectedBackup

    data = b"".join(chunks)
    return ExpectedBackup.for_rdb("bk-ctrl-c", sha256=hashlib.sha256(data).hexdigest(), size=len(data))
