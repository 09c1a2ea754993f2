"""Capture raw Redis replies into ``tests/fixtures/redis70/`` for the ``redisops.inspect`` parser tests.

Starts a throwaway ``redis-server`` on a free loopback port (no persistence, debug commands on, the
latency monitor and the slow log recording everything), generates a known workload and saves the
replies exactly as redis-py returns them with ``protocol=2, decode_responses=False`` (RESP2; redis-py 8
defaults to RESP3). INFO is read without redis-py's ``parse_info`` callback (see :func:`raw_info`).

File formats:

* ``*.txt``: the raw bulk string, byte for byte (INFO keeps its ``\\r\\n`` line ends).
* ``*.json``: the raw nested reply. redis-py returns bulk strings as ``bytes`` and integers as ``int``;
  bytes are written as JSON strings holding the bytes decoded as latin-1 (one char per byte, lossless),
  integers as JSON numbers, nil as ``null``, arrays as lists. Decode with :func:`decode_json_reply`.
  (With ``decode_responses=False`` no reply holds ``str``, so the mapping is unambiguous.)

The workload (tests assert these numbers):

* db0: 100 strings ``user:0..99`` (the first 10 with a TTL of 3600 s), one hash, one list of 40
  elements pushed by a single 41-argument RPUSH, a 300-byte string, a UUID-named session key and a key
  that is not valid UTF-8 -> 105 keys, 11 with an expiry.
* db1: 5 strings.
* 50 GET hits and 7 GET misses (keyspace_misses=7 at capture time).
* errors: 2 ``INCR`` on a non-integer value (ERR) and 1 ``LPUSH`` on a string (WRONGTYPE).
* ``DEBUG SLEEP 0.05`` -> a ``command`` latency event of ~50 ms.
* two named clients, ``redisops-worker-1`` (in db1) and ``redisops-probe``, connected while
  ``CLIENT LIST`` runs.
* then a second server starts as a replica of the first: ``info_master_replication.txt`` is the
  master's ``INFO replication`` (one ``slave0`` line), ``info_replica_default.txt`` the replica's plain
  ``INFO`` (default sections only: no commandstats/latencystats).

Usage::

    .venv/bin/python scripts/capture_fixtures.py [--out tests/fixtures/redis70] [--redis-server PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "redis70"
SESSION_KEY = "session:550e8400-e29b-41d4-a716-446655440000"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it back, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def encode_json_reply(value: Any) -> Any:
    """The JSON form of a raw redis-py reply (bytes -> latin-1 str)."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, list | tuple):
        return [encode_json_reply(v) for v in value]
    if isinstance(value, dict):
        return [encode_json_reply(x) for kv in value.items() for x in kv]
    if value is None or isinstance(value, int | float):
        return value
    raise TypeError(f"unexpected reply element {type(value).__name__}")


def decode_json_reply(value: Any) -> Any:
    """Inverse of :func:`encode_json_reply` (str -> latin-1 bytes)."""
    if isinstance(value, str):
        return value.encode("latin-1")
    if isinstance(value, list):
        return [decode_json_reply(v) for v in value]
    return value


def start_server(binary: str, port: int, workdir: str, *extra: str) -> subprocess.Popen[bytes]:
    """Start redis-server on ``port`` (``extra`` appended to its arguments) and wait until it answers PING."""
    args = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", workdir,
        "--save", "",
        "--appendonly", "no",
        "--enable-debug-command", "yes",
        "--latency-monitor-threshold", "1",
        "--slowlog-log-slower-than", "0",
        "--logfile", str(Path(workdir) / f"redis-{port}.log"),
        "--dbfilename", f"dump-{port}.rdb",
        *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"redis-server did not start on port {port}")


def workload(port: int) -> tuple[redis.Redis, redis.Redis]:
    """Generate the documented traffic; returns the two named clients (kept open by the caller)."""
    r = redis.Redis(port=port, protocol=2, decode_responses=False)
    for i in range(100):
        r.set(f"user:{i}", f"name-{i}", ex=3600 if i < 10 else None)
    r.hset("profile:42", mapping={"name": "ada", "lang": "en"})
    r.execute_command("RPUSH", "queue:jobs", *[f"job-{i}" for i in range(40)])
    r.set("blob:7f3a9c", b"x" * 300)
    r.set(SESSION_KEY, "token", ex=600)
    r.set(b"bin:\xff\xfe", b"\x00\x01")
    for i in range(50):
        r.get(f"user:{i}")
    for i in range(7):
        r.get(f"missing:{i}")
    for _ in range(2):
        with contextlib.suppress(redis.ResponseError):
            r.incr(b"user:1")
    with contextlib.suppress(redis.ResponseError):
        r.lpush("user:2", "x")
    r.execute_command("DEBUG", "SLEEP", "0.05")
    worker = redis.Redis(port=port, protocol=2, db=1, client_name="redisops-worker-1")
    for i in range(5):
        worker.set(f"cache:{i}", i)
    probe = redis.Redis(port=port, protocol=2, client_name="redisops-probe")
    probe.ping()
    r.memory_usage("profile:42")
    return worker, probe


def raw_info(client: redis.Redis, section: str) -> Any:
    """The raw INFO bulk string: ``execute_command("INFO")`` would apply redis-py's parse_info callback."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command("INFO", section)
        return conn.read_response()
    finally:
        client.connection_pool.release(conn)


def capture_replication(master_port: int, replica_port: int, out: Path) -> None:
    """Wait for the replica to be in sync, then save the master's INFO replication and the replica's
    default INFO (``info_master_replication.txt``, ``info_replica_default.txt``)."""
    master = redis.Redis(port=master_port, protocol=2)
    replica = redis.Redis(port=replica_port, protocol=2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rep = replica.info("replication")
        mas = master.info("replication")
        if rep.get("master_link_status") == "up" and mas.get("slave0", {}).get("state") == "online":
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("replica did not come in sync")
    time.sleep(1.1)  # let the replica send a REPLCONF ACK so that lag/offset are filled in
    (out / "info_master_replication.txt").write_bytes(raw_info(master, "replication"))
    (out / "info_replica_default.txt").write_bytes(raw_info(replica, "default"))
    master.close()
    replica.close()


def capture(port: int, out: Path) -> None:
    """Run the workload and write every fixture file into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    worker, probe = workload(port)
    r = redis.Redis(port=port, protocol=2, decode_responses=False)

    def write_json(name: str, reply: Any) -> None:
        text = json.dumps(encode_json_reply(reply), indent=1, ensure_ascii=True)
        (out / name).write_text(text + "\n", encoding="ascii")

    def write_raw(name: str, reply: Any) -> None:
        if not isinstance(reply, bytes):
            raise TypeError(f"{name}: expected bytes, got {type(reply).__name__}")
        (out / name).write_bytes(reply)

    write_raw("client_list.txt", r.execute_command("CLIENT", "LIST"))
    write_json("slowlog_get.json", r.execute_command("SLOWLOG", "GET", 128))
    write_json("latency_latest.json", r.execute_command("LATENCY", "LATEST"))
    write_json("latency_history_command.json", r.execute_command("LATENCY", "HISTORY", "command"))
    write_raw("latency_doctor.txt", r.execute_command("LATENCY", "DOCTOR"))
    write_json("memory_stats.json", r.execute_command("MEMORY", "STATS"))
    write_raw("memory_doctor.txt", r.execute_command("MEMORY", "DOCTOR"))
    write_json("memory_usage.json", r.execute_command("MEMORY", "USAGE", "profile:42"))
    write_json("config_get.json", r.execute_command("CONFIG", "GET", "*"))
    write_raw("info_everything.txt", raw_info(r, "everything"))
    worker.close()
    probe.close()
    r.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, start the server, capture, stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="redisops-capture-") as workdir:
        port = free_port()
        procs = [start_server(args.redis_server, port, workdir)]
        try:
            capture(port, args.out)
            replica_port = free_port()
            procs.append(
                start_server(args.redis_server, replica_port, workdir, "--replicaof", "127.0.0.1", str(port))
            )
            capture_replication(port, replica_port, args.out)
        finally:
            for proc in procs:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    sys.stdout.write(f"fixtures written to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
