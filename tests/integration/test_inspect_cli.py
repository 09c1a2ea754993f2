"""The inspection commands driven as a user runs them: the installed ``redisops`` in a subprocess for the
end-to-end ones, typer's CliRunner (same process, faster) for the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.adapters.local import free_port
from redisops.cli.main import app

REDISOPS = str(Path(sys.executable).parent / "redisops")
runner = CliRunner()


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REDISOPS, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def url(inst: Any) -> str:
    return f"redis://127.0.0.1:{inst.endpoint.port}"


@pytest.fixture
def no_restart(tmp_path: Path) -> str:
    p = tmp_path / "thresholds.yaml"
    p.write_text("thresholds:\n  restart_warn_s: 0\n")
    return str(p)


def test_health_json_and_exit_codes_0_20_21(redis_server: Any, no_restart: str) -> None:
    ok = cli("health", "--url", url(redis_server), "--thresholds", no_restart, "-o", "json")
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["overall"] == "unknown" and doc["exit_code"] == 0
    names = {c["name"]: c for c in doc["checks"]}
    assert {"ping", "memory", "rdb_save", "slow_commands", "pod", "backup_age"} <= set(names)
    assert names["memory"]["source"] and names["memory"]["threshold"]
    assert names["pod"]["reason"] == "Kubernetes adapter not configured"

    strict = cli("health", "--url", url(redis_server), "--thresholds", no_restart, "--strict", "-o", "json")
    assert strict.returncode == 20

    warn = cli("health", "--url", url(redis_server))  # fresh server: recent restart = warn
    assert warn.returncode == 20, warn.stderr
    assert "uptime" in warn.stdout and "overall: warn" in warn.stdout

    down = cli("health", "--url", f"redis://127.0.0.1:{free_port()}", "-o", "json")
    assert down.returncode == 21
    assert json.loads(down.stdout)["overall"] == "crit"


def test_health_with_config_reports_drift_and_watch_count(
    redis_server: Any, tmp_path: Path, no_restart: str
) -> None:
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text("config:\n  maxmemory: 100mb\n")
    r = runner.invoke(
        app,
        [
            "health",
            "--url",
            url(redis_server),
            "--config",
            str(cfg),
            "--thresholds",
            no_restart,
            "-o",
            "json",
        ],
    )
    assert r.exit_code == 20, r.output
    drift = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "config_drift")
    assert drift["status"] == "warn" and set(drift["value"]) == {"maxmemory"}
    watched = runner.invoke(
        app, ["health", "--url", url(redis_server), "--watch", "0.05", "--count", "2", "-o", "json"]
    )
    lines = [json.loads(line) for line in watched.stdout.splitlines() if line.strip()]
    assert len(lines) == 2 and all(doc["checks"] for doc in lines)


def test_info_slowlog_keys_clients(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": False}}, extra={"enable-debug-command": "yes"})
    c = inst.client()
    for i in range(30):
        c.set(f"user:{i}", "x" * (i * 1000 + 1))
    c.hset("cart:1", mapping={"a": "1", "b": "2"})
    c.execute_command("DEBUG", "SLEEP", "0.02")

    info = cli("info", "memory", "--url", url(inst), "-o", "json")
    assert info.returncode == 0, info.stderr
    assert list(json.loads(info.stdout)["info"]) == ["memory"]
    assert "used_memory" in cli("info", "memory", "--url", url(inst)).stdout

    rates = runner.invoke(
        app, ["info", "stats", "--rates", "--interval", "0.1", "--url", url(inst), "-o", "json"]
    )
    assert rates.exit_code == 0, rates.output
    assert json.loads(rates.stdout)["rates"]["valid"] is True

    slow = cli("slowlog", "-n", "5", "--url", url(inst), "-o", "json")
    assert slow.returncode == 0, slow.stderr
    doc = json.loads(slow.stdout)
    assert doc["entries"][0]["argv"][:2] == ["DEBUG", "SLEEP"]
    assert doc["by_shape"][0]["key"] == "DEBUG SLEEP"
    assert "DEBUG SLEEP" in runner.invoke(app, ["slowlog", "-n", "5", "--url", url(inst)]).stdout
    follow = runner.invoke(
        app, ["slowlog", "--follow", "--interval", "0.05", "--count", "2", "--url", url(inst), "-o", "json"]
    )
    polls = [json.loads(line) for line in follow.stdout.splitlines()]
    assert len(polls) == 2 and polls[0]["entries"] and polls[1]["entries"] == []

    keys = cli("keys", "--top", "3", "--url", url(inst), "-o", "json")
    assert keys.returncode == 0, keys.stderr
    kd = json.loads(keys.stdout)
    assert [k["key"] for k in kd["top"]["string"]][:1] == ["user:29"]
    assert len(kd["top"]["string"]) == 3 and kd["top"]["hash"][0]["key"] == "cart:1"
    assert {p["prefix"] for p in kd["prefixes"]} == {"user:*", "cart:*"}
    assert "memory by prefix" in runner.invoke(app, ["keys", "--top", "3", "--url", url(inst)]).stdout

    clients = cli("clients", "--url", url(inst), "-o", "json")
    cd = json.loads(clients.stdout)  # one object: {"total": n, "clients": [...]}
    assert clients.returncode == 0 and any(x["cmd"] == "client|list" for x in cd["clients"])
    assert cd["total"] >= len(cd["clients"]) >= 1 and "raw" not in cd["clients"][0]
    assert (
        runner.invoke(app, ["clients", "--url", url(inst), "--watch", "0.05", "--count", "2"]).exit_code == 0
    )

    lat = runner.invoke(app, ["latency", "--url", url(inst), "-o", "json"])
    assert lat.exit_code == 0 and json.loads(lat.stdout)["ping"]["n"] == 5
    mem = runner.invoke(app, ["memory", "--url", url(inst)])
    assert mem.exit_code == 0 and "used_memory" in mem.stdout


def test_bad_url_and_unreachable_give_one_line_errors() -> None:
    bad = cli("info", "--url", "http://localhost:6379")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and bad.stderr.startswith("error: invalid Redis URL scheme")
    down = cli("info", "--url", f"redis://127.0.0.1:{free_port()}")
    assert down.returncode == 4 and "Traceback" not in down.stderr and "cannot reach Redis" in down.stderr
    js = cli("clients", "--url", f"redis://127.0.0.1:{free_port()}", "-o", "json")
    assert js.returncode == 4 and json.loads(js.stdout)["error"] == "ConnectionFailed"


def test_no_url_and_no_sandbox(tmp_state: Path) -> None:
    r = runner.invoke(app, ["info"])
    assert r.exit_code == 6
    assert "start the sandbox" in r.output and "--url" in r.output


def test_password_from_env_and_file_never_printed(
    redis_factory: Any, tmp_path: Path, no_restart: str
) -> None:
    secret = "Pw-cli-s3cret-42"
    inst = redis_factory({"config": {"appendonly": False}}, password=secret)
    via_env = cli("health", "--url", url(inst), "--thresholds", no_restart, env={"REDIS_PASSWORD": secret})
    assert via_env.returncode == 0, via_env.stdout + via_env.stderr
    pw_file = tmp_path / "pw"
    pw_file.write_text(secret + "\n")
    via_file = cli("info", "server", "--url", url(inst), "--password-file", str(pw_file), "-o", "json")
    assert via_file.returncode == 0 and json.loads(via_file.stdout)["info"]["server"]["redis_version"]
    custom_env = cli("clients", "--url", url(inst), "--password-env", "MY_PW", env={"MY_PW": secret})
    assert custom_env.returncode == 0
    missing = cli("info", "--url", url(inst), env={"REDIS_PASSWORD": ""})
    assert missing.returncode == 5 and "Traceback" not in missing.stderr
    wrong = cli("health", "--url", url(inst), "-o", "json", env={"REDIS_PASSWORD": "wrong-" + secret})
    assert wrong.returncode == 5 and json.loads(wrong.stdout)["error"] == "AuthError"
    prompted = runner.invoke(
        app, ["info", "server", "--url", url(inst), "--ask-password"], input=secret + "\n"
    )
    assert prompted.exit_code == 0, prompted.output
    for r in (via_env, via_file, custom_env, missing, wrong):
        assert secret not in r.stdout + r.stderr
    assert secret not in prompted.output
