"""The sandbox and the CLI, driven as a user drives them: the installed ``redisops`` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redisops.adapters.local import pid_alive, port_in_use

REDISOPS = str(Path(sys.executable).with_name("redisops"))


def run(*args: str, state: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDISOPS_STATE_DIR": str(state)}
    proc = subprocess.run([REDISOPS, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"redisops {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def state(tmp_path: Path):
    """A private state dir for a test that starts and stops its own sandbox."""
    d = tmp_path / "sandbox"
    yield d
    run("sandbox", "down", state=d, check=False)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):
    """One state dir for the module's tests that leave the sandbox running and healthy (each runs
    ``sandbox up`` itself: the first starts it, the others find it running or repair what they broke)."""
    d = tmp_path_factory.mktemp("shared") / "sandbox"
    yield d
    run("sandbox", "down", "--discard-backups", state=d, check=False)


@pytest.fixture
def idle(tmp_path: Path) -> Path:
    """A state dir no sandbox is started in (commands that need none)."""
    return tmp_path / "sandbox"


def status(state: Path) -> dict:
    return json.loads(run("sandbox", "status", "-o", "json", state=state).stdout)


def test_up_status_down_twice_in_a_row(state):
    for _ in range(2):
        up = json.loads(run("sandbox", "up", "-o", "json", state=state).stdout)
        assert set(up["services"]) == {"target", "source", "s3"}
        st = status(state)
        assert {s["status"] for s in st["services"].values()} == {"running"}
        pids = [s["pid"] for s in st["services"].values()]
        assert all(pid_alive(p) for p in pids)
        down = json.loads(run("sandbox", "down", "-o", "json", state=state).stdout)
        assert sorted(down["stopped"]) == ["s3", "source", "target"]
        for p in pids:
            for _ in range(100):
                if not pid_alive(p):
                    break
                time.sleep(0.05)
            assert not pid_alive(p)
    missing = run("sandbox", "status", state=state, check=False)
    assert missing.returncode == 6
    assert "sandbox up" in missing.stderr and "Traceback" not in missing.stderr


def test_up_is_idempotent_and_keeps_the_same_processes(shared):
    state = shared
    first = status_after_up(state)
    second = status_after_up(state)
    assert {k: v["pid"] for k, v in first.items()} == {k: v["pid"] for k, v in second.items()}


def status_after_up(state: Path) -> dict:
    run("sandbox", "up", state=state)
    return status(state)["services"]


def test_kill_9_of_the_target_is_repaired_by_the_next_up(shared):
    state = shared
    services = status_after_up(state)
    target = services["target"]
    os.kill(target["pid"], signal.SIGKILL)
    for _ in range(100):
        if not port_in_use(target["port"]):
            break
        time.sleep(0.05)
    broken = run("sandbox", "status", state=state, check=False)
    assert broken.returncode == 21
    assert "error: sandbox service not running: target (stopped)" in broken.stderr
    assert "redisops sandbox up" in broken.stderr
    up = run("sandbox", "up", state=state)
    assert "stale state repaired" in up.stderr + up.stdout
    after = status(state)["services"]
    assert after["target"]["status"] == "running"
    assert after["target"]["pid"] != target["pid"]
    assert after["source"]["pid"] == services["source"]["pid"]


def test_sandbox_target_runs_the_rendered_config_and_data_dir_is_the_pvc_stand_in(shared):
    state = shared
    services = status_after_up(state)
    import redis

    c = redis.Redis(port=services["target"]["port"], decode_responses=True, protocol=2)
    try:
        assert c.config_get("appendonly")["appendonly"] == "yes"
        assert c.config_get("dir")["dir"] == str(state / "target" / "data")
    finally:
        c.close()
    assert (state / "target" / "redis.conf").read_text().startswith("# redis.conf rendered by redisops")


def test_errors_are_one_line_with_exit_codes(tmp_path, idle):
    state = idle
    bad = tmp_path / "bad.yaml"
    bad.write_text("port: 0\n")
    proc = run("config", "validate", "--config", str(bad), state=state, check=False)
    assert proc.returncode == 3
    assert proc.stderr.startswith("error: invalid config:") and "Traceback" not in proc.stderr
    as_json = run("config", "validate", "--config", str(bad), "-o", "json", state=state, check=False)
    assert json.loads(as_json.stdout)["exit_code"] == 3


def test_config_render_and_show(idle):
    state = idle
    fixture = Path(__file__).parent.parent / "fixtures" / "config" / "configuration.hcl"
    conf = run("config", "render", "--config", str(fixture), state=state).stdout
    assert "appendonly yes" in conf and "save 900 1 300 10 60 10000" in conf
    shown = json.loads(run("config", "show", "-c", str(fixture), "-o", "json", state=state).stdout)
    assert shown["image"] == "redis:7.1-alpine"


def test_help_is_fast_and_does_not_import_heavy_libraries():
    code = (
        "import sys, runpy; sys.argv=['redisops','--help'];\n"
        "try:\n runpy.run_module('redisops.cli.main', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in ('boto3','kubernetes','textual','moto') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_port_taken_by_someone_else_is_repaired_on_a_new_port(shared):
    state = shared
    import socket

    services = status_after_up(state)
    target = services["target"]
    os.kill(target["pid"], signal.SIGKILL)
    for _ in range(100):
        if not port_in_use(target["port"]):
            break
        time.sleep(0.05)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", target["port"]))
    squatter.listen()
    try:
        broken = run("sandbox", "status", "-o", "json", state=state, check=False)
        assert broken.returncode == 21
        assert json.loads(broken.stdout)["services"]["target"]["status"] == "port-taken"
        up = run("sandbox", "up", state=state)
        assert "port is taken by another process" in up.stderr
        after = status(state)["services"]["target"]
        assert after["status"] == "running" and after["port"] != target["port"]
    finally:
        squatter.close()
