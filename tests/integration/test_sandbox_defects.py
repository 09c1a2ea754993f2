"""Issue 12, the sandbox: nothing left running by a failed or interrupted ``up``, ``down`` finds its
processes from the pid files, and the backup store outlives ``down``/``up`` (export and import).

The CLI runs as a user runs it (the installed ``redisops`` command, a subprocess). A missing or broken
moto is simulated for that subprocess only, through a ``sitecustomize`` on its PYTHONPATH that hides
(or breaks) the third-party package; nothing of redisops is patched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redisops.adapters.local import PID_FILE, pid_alive, read_pid_file
from redisops.adapters.redis_conn import connect
from redisops.config import DeploymentConfig
from redisops.ops.backup import create_rdb_backup, store_for
from redisops.ops.sandbox import load_state, sandbox_down, sandbox_up
from redisops.ops.sandbox_store import EXPORT_DIR, export_bucket, import_bucket, read_export, sandbox_s3

REDISOPS = str(Path(sys.executable).with_name("redisops"))

SITECUSTOMIZE = """
import importlib.abc, importlib.machinery, os, sys

MODE = os.environ.get("TEST_MOTO")


class _Broken(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ImportError("moto.server is broken for this test")


class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if MODE == "missing" and (name == "moto" or name.startswith("moto.")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if MODE == "broken" and name == "moto.server":
            return importlib.machinery.ModuleSpec(name, _Broken())
        return None


sys.meta_path.insert(0, _Hide())
"""


def env_for(state: Path, moto: str | None = None, site: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "REDISOPS_STATE_DIR": str(state)}
    if moto is not None:
        assert site is not None
        site.mkdir(parents=True, exist_ok=True)
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env["PYTHONPATH"] = str(site)
        env["TEST_MOTO"] = moto
    return env


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [REDISOPS, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )


def processes_under(root: Path) -> list[str]:
    """Live processes whose working directory is under ``root`` (redis-server chdirs to its data dir;
    the moto server inherits the CLI's cwd, which the tests put under ``root`` too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (cwd == str(root) or cwd.startswith(str(root) + "/")) and pid_alive(int(entry.name)):
            found.append(f"{entry.name}: {cmd.strip()}")
    return found


def wait_gone(root: Path, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    left = processes_under(root)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = processes_under(root)
    return left


@pytest.fixture
def sandbox_dir(tmp_path: Path):
    """A private state dir; whatever a test leaves running there is stopped (and reported) at the end."""
    state = tmp_path / "sandbox"
    yield state
    run("sandbox", "down", "--discard-backups", env=env_for(state), cwd=tmp_path / "cwd")
    for line in processes_under(tmp_path):
        os.kill(int(line.split(":")[0]), signal.SIGKILL)


def test_up_without_moto_starts_nothing_and_says_how_to_install_it(tmp_path, sandbox_dir):
    env = env_for(sandbox_dir, moto="missing", site=tmp_path / "site")
    up = run("sandbox", "up", env=env, cwd=tmp_path / "cwd")
    assert up.returncode == 12, up.stderr
    assert "moto[server] is not installed" in up.stderr and "redisops[sandbox]" in up.stderr
    assert processes_under(tmp_path) == []
    assert not (sandbox_dir / "state.json").exists()
    assert not (sandbox_dir / "target" / PID_FILE).exists()
    status = run("sandbox", "status", env=env_for(sandbox_dir), cwd=tmp_path / "cwd")
    assert status.returncode == 6


def test_a_service_failing_to_start_stops_what_up_had_started(tmp_path, sandbox_dir):
    env = env_for(sandbox_dir, moto="broken", site=tmp_path / "site")
    up = run("sandbox", "up", env=env, cwd=tmp_path / "cwd")
    assert up.returncode == 13, up.stderr  # PlatformError: moto exited during start-up
    assert "exited during start-up" in up.stderr
    assert "target: stopped again" in up.stderr and "source: stopped again" in up.stderr
    assert wait_gone(tmp_path) == []
    assert not (sandbox_dir / "state.json").exists()
    # and nothing is reported running or left for down
    plain = env_for(sandbox_dir)
    assert run("sandbox", "status", env=plain, cwd=tmp_path / "cwd").returncode == 6
    down = run("sandbox", "down", "-o", "json", env=plain, cwd=tmp_path / "cwd")
    assert json.loads(down.stdout)["stopped"] == []


def test_down_finds_the_processes_from_the_pid_files_when_the_state_is_lost(tmp_path, sandbox_dir):
    env = env_for(sandbox_dir)
    cwd = tmp_path / "cwd"
    assert run("sandbox", "up", env=env, cwd=cwd).returncode == 0
    pids = {name: read_pid_file(sandbox_dir / name) for name in ("target", "source", "s3")}
    assert all(pid is not None and pid_alive(pid) for pid in pids.values()), pids
    (sandbox_dir / "state.json").unlink()

    status = run("sandbox", "status", env=env, cwd=cwd)
    assert status.returncode == 7, status.stderr  # not "not running": they run, unrecorded
    assert "sandbox down" in status.stderr
    down = run("sandbox", "down", "-o", "json", env=env, cwd=cwd)
    assert down.returncode == 0, down.stderr
    assert sorted(json.loads(down.stdout)["stopped"]) == ["s3", "source", "target"]
    assert wait_gone(tmp_path) == []


def test_ctrl_c_during_up_stops_what_it_had_started(tmp_path, sandbox_dir):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.Popen(
        [REDISOPS, "sandbox", "up"],
        env=env_for(sandbox_dir),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while read_pid_file(sandbox_dir / "target") is None:  # the first process is running
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert wait_gone(tmp_path) == []
    assert not (sandbox_dir / "state.json").exists()


def test_backups_survive_down_and_up(tmp_path, sandbox_dir):
    cfg = DeploymentConfig()
    env = env_for(sandbox_dir)
    cwd = tmp_path / "cwd"
    assert run("sandbox", "up", env=env, cwd=cwd).returncode == 0
    state = load_state(sandbox_dir)
    assert state is not None
    # the target runs our rendered redis.conf, with the directive that starts a backup stream at once
    client = connect(state.target, decode_responses=True)
    try:
        assert client.config_get("repl-diskless-sync-max-replicas") == {
            "repl-diskless-sync-max-replicas": "1"
        }
    finally:
        client.close()
    m = create_rdb_backup(state.target, store_for(cfg.backup, sandbox=state))

    down = run("sandbox", "down", "-o", "json", env=env, cwd=cwd)
    assert down.returncode == 0, down.stderr
    export = json.loads(down.stdout)["export"]
    assert export["backups"] == 1 and export["objects"] >= 2  # dump.rdb + manifest (+ lock)
    text_down = run("sandbox", "down", env=env, cwd=cwd)  # already down: nothing to export
    assert text_down.returncode == 0 and "not running" in text_down.stderr

    up = run("sandbox", "up", "-o", "json", env=env, cwd=cwd)
    assert up.returncode == 0, up.stderr
    store_facts = json.loads(up.stdout)["store"]
    assert store_facts["restored_backups"] == 1 and store_facts["new"] is False
    state = load_state(sandbox_dir)
    assert state is not None
    store = store_for(cfg.backup, sandbox=state)
    assert [b.id for b in store.list()] == [m.id]
    assert store.verify(m.id).ok
    assert store.get(m.id) == m

    text = run("sandbox", "down", env=env, cwd=cwd)
    assert "exported 1 backups" in text.stdout, text.stdout
    text_up = run("sandbox", "up", env=env, cwd=cwd)
    assert "restored 1 backups" in text_up.stdout, text_up.stdout


def test_up_after_the_s3_process_died_says_what_was_lost(tmp_path, sandbox_dir):
    cfg = DeploymentConfig()
    env = env_for(sandbox_dir)
    cwd = tmp_path / "cwd"
    sandbox_up(sandbox_dir)  # the set-up steps run in this process; the ups the test reads, as a user

    def kill_s3() -> None:
        state = load_state(sandbox_dir)
        assert state is not None
        pid = state.services["s3"].pid
        os.kill(pid, signal.SIGKILL)
        for _ in range(200):
            if not pid_alive(pid):
                return
            time.sleep(0.05)

    kill_s3()  # never exported: every backup in it is gone and the user must be told
    up = run("sandbox", "up", "-o", "json", env=env, cwd=cwd)
    facts = json.loads(up.stdout)["store"]
    assert facts["new"] is True and facts["lost_since_export"] is True
    assert "every backup in it is lost" in facts["summary"]

    state = load_state(sandbox_dir)
    assert state is not None
    create_rdb_backup(state.target, store_for(cfg.backup, sandbox=state))
    exported = sandbox_down(sandbox_dir).export
    assert exported is not None and exported.backups == 1
    sandbox_up(sandbox_dir)
    state = load_state(sandbox_dir)
    assert state is not None
    create_rdb_backup(state.target, store_for(cfg.backup, sandbox=state))  # a second one, not exported
    kill_s3()
    text = run("sandbox", "up", env=env, cwd=cwd)
    assert text.returncode == 0, text.stderr
    said = " ".join((text.stdout + text.stderr).split())
    assert "backups taken after the last export" in said and "are lost" in said
    assert "restored 1 backups" in said
    state = load_state(sandbox_dir)
    assert state is not None
    assert len(store_for(cfg.backup, sandbox=state).list()) == 1


def test_the_export_is_atomic(tmp_path):
    state_dir = tmp_path / "sandbox"
    state = sandbox_up(state_dir)
    try:
        cfg = DeploymentConfig()
        m = create_rdb_backup(state.target, store_for(cfg.backup, sandbox=state))
        s3 = sandbox_s3(state.s3_url, state.bucket)
        first = export_bucket(s3, state_dir)
        assert first.backups == 1
        # a crash in the middle of the next export leaves its temp dir: never read
        (state_dir / (EXPORT_DIR + ".tmp")).mkdir()
        (state_dir / (EXPORT_DIR + ".tmp") / "index.json").write_text("{half")
        again = read_export(state_dir)
        assert again is not None and again.objects == first.objects
        # a crash between the two renames leaves only the previous export, under .old: still found
        os.replace(state_dir / EXPORT_DIR, state_dir / (EXPORT_DIR + ".old"))
        s3.client.create_bucket(Bucket="redisops-reimport")
        restored = import_bucket(sandbox_s3(state.s3_url, "redisops-reimport"), state_dir)
        assert restored is not None and (restored.backups, restored.objects) == (1, first.objects)
        # a damaged object file is skipped (counted), never imported corrupt
        export = state_dir / (EXPORT_DIR + ".old")
        victim = max((export / "objects").iterdir(), key=lambda p: p.stat().st_size)
        victim.write_bytes(bytes([victim.read_bytes()[0] ^ 1]) + victim.read_bytes()[1:])
        s3.client.create_bucket(Bucket="redisops-reimport2")
        damaged = import_bucket(sandbox_s3(state.s3_url, "redisops-reimport2"), state_dir)
        assert damaged is not None and damaged.skipped == 1
        assert damaged.objects == first.objects - 1
        assert import_bucket(sandbox_s3(state.s3_url, "redisops-reimport2"), tmp_path) is None  # none
        assert m.id in {
            k.split("/")[-2]
            for k in (o["key"] for o in json.loads((export / "index.json").read_text())["objects"])
        }
    finally:
        sandbox_down(state_dir, discard_backups=True)


def test_down_stops_nothing_when_the_export_fails_unless_told_to_discard(tmp_path, sandbox_dir):
    env = env_for(sandbox_dir)
    cwd = tmp_path / "cwd"
    assert run("sandbox", "up", env=env, cwd=cwd).returncode == 0
    (sandbox_dir / (EXPORT_DIR + ".tmp")).write_text("a file where the export's temp dir goes")
    down = run("sandbox", "down", env=env, cwd=cwd)
    assert down.returncode == 14, down.stderr  # StorageError
    assert "could not export" in down.stderr and "--discard-backups" in down.stderr
    status = run("sandbox", "status", "-o", "json", env=env, cwd=cwd)
    assert status.returncode == 0 and {
        s["status"] for s in json.loads(status.stdout)["services"].values()
    } == {"running"}
    forced = run("sandbox", "down", "--discard-backups", "-o", "json", env=env, cwd=cwd)
    assert forced.returncode == 0, forced.stderr
    report = json.loads(forced.stdout)
    assert sorted(report["stopped"]) == ["s3", "source", "target"] and report["export"] is None
    assert any("not exported" in n for n in report["notes"])
    assert wait_gone(tmp_path) == []
