"""Issue 13 item 1: the sandbox starts its target with a password, an ACL user and TLS, and every
command that uses the sandbox target works against it through every credential source; no password
ever shows in an output, the state, the audit log or any file the sandbox writes.

Real processes: the installed ``redisops`` command against a sandbox in a private state dir."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.local import port_in_use
from redisops.errors import AuthError
from redisops.ops.target import resolve_target

REDISOPS = str(Path(sys.executable).with_name("redisops"))
#: quotes, a backslash and a space: what a redis.conf writer could get wrong
SECRET = 'Sbx-S3cret "q" \\ 77'
WRONG = "Wrong-S3cret-5150"
OPTIONS = ("--acl-user", "app", "--tls")


class Sandbox:
    """A secured sandbox in ``state`` and everything its commands printed (for the secret scan)."""

    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.pw = tmp_path / "secrets" / "redis.pw"
        self.pw.parent.mkdir()
        self.pw.write_text(SECRET + "\n")
        self.audit = tmp_path / "audit.jsonl"
        self.seen: list[str] = []

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k not in ("REDISCLI_AUTH", "REDIS_PASSWORD")}
        full = {**base, "REDISOPS_STATE_DIR": str(self.state), "REDISOPS_AUDIT_LOG": str(self.audit)}
        proc = subprocess.run(
            [REDISOPS, *args], capture_output=True, text=True, env={**full, **(env or {})}, timeout=180
        )
        self.seen += [proc.stdout, proc.stderr]
        return proc

    def ok(self, *args: str, env: dict[str, str] | None = None, codes: tuple[int, ...] = (0,)) -> Any:
        proc = self.run(*args, env=env)
        assert proc.returncode in codes, f"redisops {' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
        return json.loads(proc.stdout) if "-o" in args else proc.stdout

    def up(self) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(
            "sandbox", "up", "--password-file", str(self.pw), *OPTIONS, "-o", "json"
        )
        return result

    def port(self) -> int:
        return int(json.loads((self.state / "state.json").read_text())["services"]["target"]["port"])


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    sbx = Sandbox(tmp_path)
    yield sbx
    sbx.run("sandbox", "down", "--discard-backups")


def assert_no_secret(sbx: Sandbox) -> None:
    """No password in anything printed, the audit log, or any file under the state dir."""
    for text in sbx.seen:
        assert SECRET not in text and WRONG not in text
    files = [sbx.audit, *(p for p in sbx.state.rglob("*") if p.is_file())]
    assert sbx.state / "state.json" in files and sbx.audit.is_file()
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        assert SECRET.replace("\\", "\\\\").replace('"', '\\"').encode() not in data, path


def test_every_command_works_against_a_sandbox_with_password_acl_user_and_tls(sandbox: Sandbox) -> None:
    up = sandbox.up()
    sec = up["security"]
    ca = sandbox.state / "tls" / "ca.crt"
    assert sec == {
        "auth": True,
        "password_file": str(sandbox.pw),
        "acl_user": "app",
        "tls": True,
        "tls_ca_file": str(ca),
    }
    assert up["services"]["target"]["url"].startswith("rediss://127.0.0.1:")
    # the secrets the sandbox wrote are private
    for private in (sandbox.state / "target" / "sandbox-local.conf", sandbox.state / "tls" / "server.key"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    # the plain port is disabled: a plaintext PING gets no answer
    port = sandbox.port()
    assert port_in_use(port)
    plain = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True, timeout=10)
    assert "PONG" not in plain.stdout

    health = sandbox.ok("health", "-o", "json", codes=(0, 20))
    assert health["target"].startswith(f"rediss://app@127.0.0.1:{port}")
    assert {c["name"]: c["status"] for c in health["checks"]}["ping"] == "ok"
    info = sandbox.ok("info", "server", "-o", "json")
    assert json.dumps(info).count("7.") >= 1
    created = sandbox.ok("backup", "create", "-o", "json")
    listed = sandbox.ok("backup", "list", "-o", "json")
    assert [b["id"] for b in listed["backups"]] == [created["id"]]
    restored = sandbox.ok("restore", "latest", "--force", "--yes", "-o", "json")
    assert created["id"] in json.dumps(restored)
    sandbox.ok("restore", "undo", "--yes", "-o", "json")
    # the restarts of the restore and the undo kept auth and TLS: the target still refuses plaintext
    assert (
        "PONG"
        not in subprocess.run(
            ["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True, timeout=10
        ).stdout
    )
    sandbox.ok("info", "server", "-o", "json")

    # down, then up again with the same options: the same credentials, the backup is still there
    sandbox.ok("sandbox", "down", "-o", "json")
    again = sandbox.up()
    assert again["security"] == sec
    sandbox.ok("info", "server", "-o", "json")
    assert [b["id"] for b in sandbox.ok("backup", "list", "-o", "json")["backups"]] == [created["id"]]
    assert_no_secret(sandbox)


def test_each_credential_source_works_and_none_fails_with_auth(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.up()
    # the state's password file: nothing given
    t = resolve_target(state_dir=sandbox.state, env={})
    assert t.redis.password_source == f"file:{sandbox.pw}" and t.redis.username == "app" and t.redis.tls
    sandbox.ok("info", "server", "-o", "json")
    # an explicit --password-file wins over the state's (a wrong one fails, naming its source)
    wrong = tmp_path / "wrong.pw"
    wrong.write_text(WRONG)
    bad = sandbox.run("info", "server", "--password-file", str(wrong))
    assert bad.returncode == AuthError.exit_code and str(wrong) in bad.stderr

    # without the state's password file the environment is asked
    moved = tmp_path / "elsewhere.pw"
    sandbox.pw.rename(moved)
    none = sandbox.run("info", "server")
    assert none.returncode == AuthError.exit_code, none.stderr
    health = sandbox.run("health", "-o", "json")
    assert health.returncode != 0
    assert resolve_target(state_dir=sandbox.state, env={}).redis.password_source is None
    for var in ("REDISCLI_AUTH", "REDIS_PASSWORD"):
        sandbox.ok("info", "server", "-o", "json", env={var: SECRET})
        assert resolve_target(state_dir=sandbox.state, env={var: SECRET}).redis.password_source == var
        assert sandbox.run("info", "server", env={var: WRONG}).returncode == AuthError.exit_code
    sandbox.ok("info", "server", "--password-file", str(moved), "-o", "json")
    sandbox.ok("backup", "create", "--password-file", str(moved), "-o", "json")
    sandbox.pw.write_text(SECRET + "\n")  # back for the teardown's export
    assert_no_secret(sandbox)


def test_up_refuses_other_auth_on_a_running_target_and_checks_its_options(sandbox: Sandbox) -> None:
    bad_user = sandbox.run("sandbox", "up", "--acl-user", "app")
    assert bad_user.returncode == 2 and "--password-file" in bad_user.stderr
    assert not (sandbox.state / "state.json").exists()  # refused before anything started
    sandbox.up()
    other = sandbox.run("sandbox", "up", "--password-file", str(sandbox.pw))
    assert other.returncode == 7 and "sandbox down" in other.stderr
    kept = sandbox.ok("sandbox", "up", "-o", "json")  # no options: keeps what the target runs with
    assert kept["security"]["tls"] is True and kept["security"]["acl_user"] == "app"
    assert_no_secret(sandbox)
