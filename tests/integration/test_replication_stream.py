"""Integration tests: stream RDB snapshots off real redis-server processes over SYNC.

The ``redis_server`` fixture below is deliberately small and local (one process per test, its
own temp dir, killed in teardown); it is meant to be replaced by the shared harness fixture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from redisops.adapters.replication import ReplicationRdbStream, stream_rdb
from redisops.errors import AuthError, ConnectionFailed, PlatformError, RedisOpsError
from redisops.rdb import RdbStreamVerifier, verify_rdb_chunks

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CHECK_RDB = shutil.which("redis-check-rdb") or "/usr/bin/redis-check-rdb"
SECRET = "s3cret-Pa55w0rd-never-shown"

pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_SERVER), reason="redis-server not installed")


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    clients: list[redis.Redis] = field(default_factory=list)

    def client(self, **kw: object) -> redis.Redis:
        """A redis-py client (closed at teardown)."""
        client = redis.Redis(port=self.port, **kw)  # type: ignore[arg-type]
        self.clients.append(client)
        return client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start redis-server processes: ``redis_server(config_lines=[...])``; all killed at teardown."""
    started: list[Server] = []

    def start(config_lines: tuple[str, ...] = (), password: str | None = None) -> Server:
        port = _free_port()
        workdir = tmp_path / f"redis-{port}"
        workdir.mkdir()
        lines = [
            f"port {port}", "bind 127.0.0.1", f"dir {workdir}", "save ''", "appendonly no",
            "daemonize no", f"logfile {workdir / 'redis.log'}", *config_lines,
        ]  # fmt: skip
        if password:
            lines.append(f"requirepass {password}")
        conf = workdir / "redis.conf"
        conf.write_text("\n".join(lines) + "\n")
        server = Server(port, subprocess.Popen([REDIS_SERVER, str(conf)], start_new_session=True), workdir)
        started.append(server)
        client = server.client(password=password)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return server
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.proc.poll() is not None:
                    raise RuntimeError((workdir / "redis.log").read_text()) from None
                time.sleep(0.02)

    yield start
    for server in started:
        for client in server.clients:
            client.close()
        # the server and any fork child it left behind share its process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)


def load_dataset(client: redis.Redis) -> dict[int, tuple[int, int]]:
    """A mixed data set over db 0 and 5; returns {db: (keys, expires)} from INFO keyspace."""
    pipe = client.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"str:{i}", f"value-{i}" * (i % 7))
    for i in range(100):
        pipe.set(f"ttl:{i}", i, ex=3600)
    pipe.rpush("list", *range(5000))
    pipe.hset("hash", mapping={f"f{i}": i for i in range(300)})
    pipe.sadd("set", *[f"m{i}" for i in range(300)])
    pipe.zadd("zset", {f"z{i}": i for i in range(300)})
    pipe.xadd("stream", {"a": "1"})
    pipe.execute()
    client.execute_command("MOVE", "zset", 5)
    client.execute_command("MOVE", "ttl:0", 5)
    info = client.info("keyspace")
    return {int(name[2:]): (v["keys"], v["expires"]) for name, v in info.items()}


def assert_counts(result: object, expected: dict[int, tuple[int, int]]) -> None:
    counts = result.db_key_counts  # type: ignore[attr-defined]
    assert counts is not None
    assert {db: (c.keys, c.expires) for db, c in counts.items()} == expected


@pytest.mark.parametrize(("diskless", "framing"), [("yes", "eof"), ("no", "length")])
def test_stream_snapshot_verifies_and_loads(
    redis_server: Callable[..., Server], tmp_path: Path, diskless: str, framing: str
) -> None:
    server = redis_server(config_lines=(f"repl-diskless-sync {diskless}", "repl-diskless-sync-delay 0"))
    expected = load_dataset(server.client())
    progress: list[tuple[int, int | None]] = []
    verifier = RdbStreamVerifier()
    out = tmp_path / f"stream-{framing}.rdb"
    with (
        out.open("wb") as fh,
        ReplicationRdbStream(
            "127.0.0.1",
            server.port,
            chunk_size=4096,
            on_progress=lambda n, total: progress.append((n, total)),
        ) as stream,
    ):
        assert stream.framing == framing
        for chunk in stream:
            assert 0 < len(chunk) <= 4096
            verifier.feed(chunk)
            fh.write(chunk)
    result = verifier.finish()
    assert result.rdb_version == 10
    assert not result.checksum_disabled
    assert result.size == out.stat().st_size == stream.bytes_received
    assert_counts(result, expected)
    assert progress[-1][0] == result.size
    if framing == "length":
        assert stream.expected_size == result.size
        assert progress[-1][1] == result.size
    else:
        assert stream.expected_size is None
    check = subprocess.run([REDIS_CHECK_RDB, str(out)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "RDB looks OK" in check.stdout
    # the server is still healthy and serving after the rdb-only transfer
    assert server.client().dbsize() == expected[0][0]


def test_stream_rdb_function_with_acl_user(redis_server: Callable[..., Server]) -> None:
    server = redis_server(config_lines=("repl-diskless-sync-delay 0",), password=SECRET)
    admin = server.client(password=SECRET)
    admin.execute_command("ACL", "SETUSER", "backup", "on", f">{SECRET}", "~*", "+@all")
    expected = load_dataset(admin)
    result = verify_rdb_chunks(stream_rdb("127.0.0.1", server.port, username="backup", password=SECRET))
    assert_counts(result, expected)


def _assert_no_secret(err: RedisOpsError, stream: ReplicationRdbStream | None = None) -> None:
    blob = f"{err} {err.one_line()} {err.to_dict()} {err!r}"
    if stream is not None:
        blob += repr(stream)
    assert SECRET not in blob


def test_user_without_admin_gets_noperm_hint(redis_server: Callable[..., Server]) -> None:
    server = redis_server()
    server.client().execute_command("ACL", "SETUSER", "reader", "on", f">{SECRET}", "~*", "+@all", "-@admin")
    stream = ReplicationRdbStream("127.0.0.1", server.port, username="reader", password=SECRET)
    with pytest.raises(AuthError) as info:
        stream.open()
    assert "@admin" in info.value.hint
    assert "reader" in str(info.value)
    assert "password='***'" in repr(stream)
    _assert_no_secret(info.value, stream)


def test_wrong_password_and_missing_password(redis_server: Callable[..., Server]) -> None:
    server = redis_server(password=SECRET)
    with pytest.raises(AuthError) as info:
        list(stream_rdb("127.0.0.1", server.port, password=SECRET + "-wrong"))
    assert "WRONGPASS" in str(info.value)
    _assert_no_secret(info.value)
    with pytest.raises(AuthError, match="NOAUTH"):
        list(stream_rdb("127.0.0.1", server.port))


def test_sync_renamed_away_gives_platform_error(redis_server: Callable[..., Server]) -> None:
    server = redis_server(config_lines=('rename-command SYNC ""', 'rename-command PSYNC ""'))
    with pytest.raises(PlatformError) as info:
        list(stream_rdb("127.0.0.1", server.port))
    assert "SCAN/DUMP" in info.value.hint
    assert "not possible" in info.value.hint
    assert "SYNC" in str(info.value)


def test_nothing_listening_is_connection_failed() -> None:
    with pytest.raises(ConnectionFailed) as info:
        list(stream_rdb("127.0.0.1", _free_port(), password=SECRET, timeout=2))
    assert info.value.retryable
    _assert_no_secret(info.value)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_server_killed_mid_stream_is_connection_failed(
    redis_server: Callable[..., Server], diskless: str
) -> None:
    server = redis_server(
        config_lines=(f"repl-diskless-sync {diskless}", "repl-diskless-sync-delay 0", "rdbcompression no")
    )
    client = server.client()
    pipe = client.pipeline(transaction=False)
    for i in range(50):  # ~50 MB of incompressible values
        pipe.set(f"blob:{i}", os.urandom(1 << 20))
    pipe.execute()
    stream = ReplicationRdbStream("127.0.0.1", server.port, chunk_size=65536, timeout=10)
    received = 0
    with pytest.raises(ConnectionFailed) as info, stream:
        for chunk in stream:
            if received == 0:
                server.proc.send_signal(signal.SIGKILL)
                server.proc.wait(timeout=10)
            received += len(chunk)
    err = info.value
    assert err.retryable
    assert "before the snapshot was complete" in str(err)
    assert 0 < received < 50 << 20
    assert err.context["bytes_received"] == received
    if diskless == "no":
        assert f"of {stream.expected_size} bytes" in str(err)
    else:
        assert "no end mark" in str(err)


def _make_certs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (openssl CLI)."""
    ca_key, ca_crt = tmp_path / "ca.key", tmp_path / "ca.crt"
    key, csr, crt = tmp_path / "server.key", tmp_path / "server.csr", tmp_path / "server.crt"
    ext = tmp_path / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    for cmd in (
        f"req -x509 {ec} -keyout {ca_key} -out {ca_crt} -days 2 -subj /CN=redisops-test-ca",
        f"req {ec} -keyout {key} -out {csr} -subj /CN=127.0.0.1",
        f"x509 -req -in {csr} -CA {ca_crt} -CAkey {ca_key} -CAcreateserial -out {crt} -days 2 -extfile {ext}",
    ):
        subprocess.run(["openssl", *cmd.split()], check=True, capture_output=True, timeout=30)
    return ca_crt, crt, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_stream_over_tls(redis_server: Callable[..., Server], tmp_path: Path) -> None:
    ca, crt, key = _make_certs(tmp_path)
    tls_port = _free_port()
    server = redis_server(
        config_lines=(
            f"tls-port {tls_port}", f"tls-cert-file {crt}", f"tls-key-file {key}", f"tls-ca-cert-file {ca}",
            "tls-auth-clients no", "repl-diskless-sync-delay 0",
        )
    )  # fmt: skip
    expected = load_dataset(server.client())
    context = ssl.create_default_context(cafile=str(ca))
    result = verify_rdb_chunks(stream_rdb("127.0.0.1", tls_port, ssl=context))
    assert_counts(result, expected)
    # the system trust store does not know the throwaway CA
    with pytest.raises(ConnectionFailed, match="TLS") as info:
        list(stream_rdb("127.0.0.1", tls_port, ssl=True, timeout=5))
    assert not info.value.retryable


def test_the_wait_for_the_diskless_sync_delay_is_reported(redis_server: Callable[..., Server]) -> None:
    # delay 2, not 1: Redis counts the delay in whole seconds of its clock, so a SYNC sent just before
    # a second boundary waits ~0 s with delay 1; with 2 the payload never starts within the 50 ms
    # after which the stream reports the wait
    server = redis_server(config_lines=("repl-diskless-sync yes", "repl-diskless-sync-delay 2"))
    expected = load_dataset(server.client())
    phases: list[str] = []
    stream = ReplicationRdbStream("127.0.0.1", server.port, on_phase=phases.append)
    with stream:
        result = verify_rdb_chunks(stream)
    assert phases == ["waiting for Redis to start the stream (repl-diskless-sync-delay, up to 2s)"]
    assert stream.wait_message == phases[0]
    assert stream.sync_config is not None and stream.sync_config["repl-diskless-sync-delay"] == "2"
    assert_counts(result, expected)


def test_without_config_permission_the_wait_names_the_servers_delay(
    redis_server: Callable[..., Server],
) -> None:
    server = redis_server(config_lines=("repl-diskless-sync-delay 2",), password=SECRET)
    admin = server.client(password=SECRET)
    admin.execute_command("ACL", "SETUSER", "backup", "on", f">{SECRET}", "~*", "+@all", "-config")
    phases: list[str] = []
    chunks = stream_rdb("127.0.0.1", server.port, username="backup", password=SECRET, on_phase=phases.append)
    verify_rdb_chunks(chunks)
    assert phases == ["waiting for Redis to start the stream (up to the server's repl-diskless-sync-delay)"]


def test_max_replicas_1_starts_the_stream_without_the_delay(redis_server: Callable[..., Server]) -> None:
    # the default delay (5 s) with repl-diskless-sync-max-replicas 1, as our redis.conf renders it
    server = redis_server(config_lines=("repl-diskless-sync yes", "repl-diskless-sync-max-replicas 1"))
    expected = load_dataset(server.client())
    phases: list[str] = []
    stream = ReplicationRdbStream("127.0.0.1", server.port, on_phase=phases.append)
    with stream:
        result = verify_rdb_chunks(stream)
    assert phases == []
    # Redis sends a keep-alive a second while it waits: waiting out the delay would bring 4 or 5;
    # a transfer that starts at once gets none (one at most, if its once-a-second tick fell in between)
    assert stream.keepalives <= 1
    assert stream.sync_config is not None and stream.sync_config["repl-diskless-sync-delay"] == "5"
    assert_counts(result, expected)
