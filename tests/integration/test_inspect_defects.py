"""Issue 12, inspection and health: bounded options, one auth error, URL mistakes as bad arguments,
the health table at 80 columns, unknown INFO sections, ``slowlog --follow`` saying what it does, Ctrl-C
exiting 130, and a non-Redis service or a TLS mismatch named as such."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.adapters.local import free_port
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.cli.main import app
from redisops.errors import InvalidArgument
from redisops.ops.inspect import analyze_keys, fetch_slowlog

REDISOPS = str(Path(sys.executable).parent / "redisops")
runner = CliRunner()
REPRS = re.compile(r"\b(True|False|None)\b|[A-Z][A-Za-z]+\(\w+=")


def cli(
    *args: str, columns: int = 100, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REDISOPS, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": str(columns), **(env or {})},
    )


def url(inst: Any, scheme: str = "redis") -> str:
    return f"{scheme}://127.0.0.1:{inst.endpoint.port}"


# --- item 4 / 20: every numeric option is bounded ------------------------------------------------------

BAD_OPTIONS = [
    ("keys", "--top", "-3"),
    ("keys", "--top", "0"),
    ("keys", "--prefix-depth", "-1"),
    ("keys", "--prefixes", "0"),
    ("keys", "--scan-count", "0"),
    ("keys", "--max-ops", "-1"),
    ("keys", "--sample", "0"),
    ("keys", "--sample", "1.5"),
    ("keys", "--cursor", "-1"),
    ("keys", "--max-keys", "0"),
    ("health", "--watch", "-1"),
    ("health", "--watch", "0"),
    ("health", "--timeout", "-1"),
    ("health", "--timeout", "0"),
    ("health", "--count", "0"),
    ("info", "--interval", "0"),
    ("info", "--watch", "-1"),
    ("info", "--timeout", "-1"),
    ("slowlog", "-n", "0"),
    ("slowlog", "-n", "99999999999999999999"),
    ("slowlog", "--interval", "-1"),
    ("latency", "--pings", "0"),
    ("memory", "--watch", "0"),
    ("memory", "--count", "-1"),
    ("clients", "--limit", "0"),
    ("clients", "--count", "0"),
]


@pytest.mark.parametrize(("command", "option", "value"), BAD_OPTIONS)
def test_out_of_range_numbers_are_usage_errors(command: str, option: str, value: str) -> None:
    down = f"redis://127.0.0.1:{free_port()}"  # never reached: the option parser refuses first
    r = runner.invoke(app, [command, option, value, "--url", down])
    assert r.exit_code == 2, r.output
    assert "Invalid value" in r.output and option in r.output
    assert "unexpected error" not in r.output and "cannot reach" not in r.output


def test_the_operations_refuse_out_of_range_arguments_too() -> None:
    ep = RedisEndpoint(port=free_port())
    for kwargs in ({"top": -3}, {"prefix_depth": -1}, {"count": 0}, {"sample": 2.0}, {"max_keys": 0}):
        with pytest.raises(InvalidArgument):
            analyze_keys(ep, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        fetch_slowlog(ep, 0)


def test_keys_at_the_lowest_bounds_still_works(redis_server: Any) -> None:
    c = redis_server.client()
    c.set("user:1", "x" * 100)
    c.set("user:2", "x")
    r = cli("keys", "--top", "1", "--prefix-depth", "0", "--url", url(redis_server), "-o", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [k["key"] for k in doc["top"]["string"]] == ["user:1"]
    assert {p["prefix"] for p in doc["prefixes"]} == {"user:*"}


# --- item 15: one auth error, URL mistakes are bad arguments --------------------------------------------


def test_wrong_password_is_one_auth_error_not_a_report(redis_factory: Any) -> None:
    secret = "Right-pw-15"
    inst = redis_factory({"config": {"appendonly": False}}, password=secret)
    wrong = {"REDIS_PASSWORD": "wrong-pw"}
    text = cli("health", "--url", url(inst), env=wrong)
    assert text.returncode == 5, text.stdout + text.stderr
    assert text.stdout == ""
    errors = [line for line in text.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "authentication" in errors[0]
    as_json = cli("health", "--url", url(inst), "-o", "json", env=wrong)
    assert as_json.returncode == 5 and json.loads(as_json.stdout)["error"] == "AuthError"
    missing = cli("health", "--url", url(inst), env={"REDIS_PASSWORD": ""})
    assert missing.returncode == 5 and "uthentication" in missing.stderr
    for r in (text, as_json, missing):
        assert "wrong-pw" not in r.stdout + r.stderr and secret not in r.stdout + r.stderr


def test_database_out_of_range_and_not_a_number_are_both_bad_arguments(redis_server: Any) -> None:
    out_of_range = cli("info", "--url", url(redis_server) + "/99")
    assert out_of_range.returncode == 2, out_of_range.stderr
    assert "database 99" in out_of_range.stderr and "0..15" in out_of_range.stderr
    not_a_number = cli("info", "--url", url(redis_server) + "/notadb")
    assert not_a_number.returncode == 2, not_a_number.stderr
    assert "'notadb'" in not_a_number.stderr and "0 ... /15" in not_a_number.stderr
    as_json = cli("health", "--url", url(redis_server) + "/99", "-o", "json")
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["error"] == "InvalidArgument"
    assert json.loads(as_json.stdout)["context"]["databases"] == 16


def test_health_exit_codes_follow_the_tool_wide_table(redis_server: Any, tmp_path: Path) -> None:
    limits = tmp_path / "t.yaml"
    limits.write_text("thresholds:\n  restart_warn_s: 0\n")
    base = ["health", "--url", url(redis_server), "-o", "json"]
    assert cli(*base, "--thresholds", str(limits)).returncode == 0  # worst is unknown
    assert cli(*base, "--thresholds", str(limits), "--strict").returncode == 20  # unknown counts as warn
    assert cli(*base).returncode == 20  # a fresh server restarted recently: warn
    assert cli("health", "--url", f"redis://127.0.0.1:{free_port()}", "-o", "json").returncode == 21


# --- item 14: the health table at 80 and 120 columns ---------------------------------------------------


@pytest.mark.parametrize("columns", [80, 120])
def test_health_fits_the_terminal_with_units_and_no_reprs(redis_server: Any, columns: int) -> None:
    redis_server.client().config_set("maxmemory", str(64 * 1024 * 1024))
    r = cli("health", "--url", url(redis_server), columns=columns)
    assert r.returncode == 20, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= columns
    assert len(lines) < 45  # one line per check plus the warnings' hints
    rows = {line.split()[1]: line for line in lines if line.split()[:1] in (["ok"], ["warn"], ["crit"])}
    assert re.search(r"\d+\.\d\d ms", rows["ping"])
    assert re.search(r"\d+ %? ?of maxmemory|\d+ % of maxmemory|\d+\.\d % of maxmemory", rows["memory"])
    assert "64.0 MiB" in rows["maxmemory"]
    assert re.search(r"1 of 10000 \(\d", rows["clients"])
    assert "aof" in rows and "on, ok" in rows["aof"]
    assert not REPRS.search(r.stdout), REPRS.search(r.stdout)
    assert "overall: warn" in r.stdout and "exit 20" in r.stdout and "--details" in r.stdout


def test_health_details_show_threshold_source_and_hint_wrapped_on_words(redis_server: Any) -> None:
    r = cli("health", "--url", url(redis_server), "--details", columns=80)
    assert r.returncode == 20, r.stderr
    assert max(len(line.rstrip()) for line in r.stdout.splitlines()) <= 80
    assert "threshold: uptime < 3600 s = warn (source: Sysdig" in " ".join(r.stdout.split())
    words = set(r.stdout.split())
    assert "connected_clie" not in words and "Tr" not in words
    assert not REPRS.search(r.stdout)


def test_text_outputs_have_units_and_no_python_reprs(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": True}}, extra={"enable-debug-command": "yes"})
    c = inst.client()
    c.set("user:1", "x" * 3000)
    c.hset("cart:1", mapping={"a": "1"})
    c.execute_command("DEBUG", "SLEEP", "0.02")
    outputs = {
        "info": cli("info", "persistence", "--rates", "--interval", "0.1", "--url", url(inst)),
        "memory": cli("memory", "--url", url(inst)),
        "keys": cli("keys", "--url", url(inst)),
        "clients": cli("clients", "--url", url(inst)),
        "latency": cli("latency", "--url", url(inst)),
        "slowlog": cli("slowlog", "--url", url(inst)),
    }
    for name, r in outputs.items():
        assert r.returncode == 0, (name, r.stderr)
        assert r.stdout.strip(), name
        # INFO itself prints Redis's own 0/1 fields verbatim; reprs would be Python's
        assert not REPRS.search(r.stdout), (name, REPRS.search(r.stdout))
    assert "MiB" in outputs["memory"].stdout or "KiB" in outputs["memory"].stdout
    rates = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in outputs["info"].stdout.splitlines()
        if line.count("│") == 3
    }
    assert re.fullmatch(r"-|[\d.]+ %", rates["hit ratio (since start)"]), rates
    assert re.fullmatch(r"[\d.]+ (B|KiB)/s", rates["net in"]), rates


# --- item 18: unknown INFO section, slowlog --follow says what it does ----------------------------------


def test_unknown_info_section_is_named_with_the_known_ones(redis_server: Any) -> None:
    r = cli("info", "nosuchsection", "--url", url(redis_server))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "unknown INFO section 'nosuchsection'" in r.stderr
    assert "server" in r.stderr and "keyspace" in r.stderr
    ok = cli("info", "Memory", "keyspace", "--url", url(redis_server), "-o", "json")
    assert ok.returncode == 0 and "memory" in json.loads(ok.stdout)["info"]


def test_slowlog_follow_says_what_it_follows_and_how_to_stop(redis_server: Any) -> None:
    r = cli("slowlog", "--follow", "--interval", "0.05", "--count", "1", "--url", url(redis_server))
    assert r.returncode == 0, r.stderr
    assert "following the slow log of redis://127.0.0.1:" in r.stderr and "Ctrl-C to stop" in r.stderr


# --- item 19: Ctrl-C exits 130 with one line ------------------------------------------------------------

LOOPS = {
    "health --watch": (["health", "--watch", "0.2"], "health watch stopped"),
    "slowlog --follow": (["slowlog", "--follow", "--interval", "0.2"], "slow log follow stopped"),
    "info --rates": (
        ["info", "stats", "--rates", "--interval", "0.2", "--watch", "0.2"],
        "info --rates stopped",
    ),
    "memory --watch": (["memory", "--watch", "0.2"], "memory --watch stopped"),
    "clients --watch": (["clients", "--watch", "0.2"], "clients --watch stopped"),
}


@pytest.mark.parametrize("loop", list(LOOPS))
def test_ctrl_c_in_a_loop_exits_130_with_one_line(redis_server: Any, loop: str) -> None:
    args, said = LOOPS[loop]
    p = subprocess.Popen(
        [REDISOPS, *args, "--url", url(redis_server), "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    try:
        assert p.stdout is not None
        first = p.stdout.readline()  # one round has run: the loop is going
        assert first.strip(), p.stderr.read() if p.stderr else ""
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, out + err
    assert "Traceback" not in err
    text = out + err
    assert text.count("interrupted;") == 1 and said in text and "nothing was changed" in text


# --- item 20: a non-Redis service, a TLS mismatch ------------------------------------------------------


@pytest.fixture
def http_port() -> Iterator[int]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_service_is_named_not_redis(http_port: int) -> None:
    for command in ("info", "health", "clients"):
        r = cli(command, "--url", f"redis://127.0.0.1:{http_port}", "--timeout", "3")
        assert r.returncode == 4, (command, r.stdout + r.stderr)
        assert "not a Redis server; it answered like HTTP" in r.stderr, r.stderr
        assert "hint:" in r.stderr and "Protocol error" not in r.stderr


def test_rediss_against_a_plain_port_hints_at_tls(redis_server: Any) -> None:
    r = cli("info", "--url", url(redis_server, "rediss"), "--timeout", "1")
    assert r.returncode == 11, r.stdout + r.stderr
    assert "over TLS (rediss://)" in r.stderr and "use redis:// instead of rediss://" in r.stderr
