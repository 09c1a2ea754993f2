#!/usr/bin/env python3
"""Produce the small RDB fixtures under tests/fixtures/rdb/ with a real redis-server.

Run once (with the project venv) and commit the output; the unit tests read the files as they
are and never start a server::

    .venv/bin/python scripts/make_rdb_fixtures.py

For each fixture it starts ``redis-server --save '' --appendonly no`` on a free port in a temp
dir, loads a data set, runs SAVE and copies dump.rdb next to an ``expected.json`` entry with
what the server itself reports (INFO keyspace: keys and expires per db; the RDB version; the
number of FUNCTION libraries).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "rdb"
TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000

LIBRARY = """#!lua name=fixturelib
redis.register_function('fixture_echo', function(keys, args) return args[1] end)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workdir: Path, extra: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    args = [
        shutil.which("redis-server") or "/usr/bin/redis-server",
        "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
        "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--daemonize", "no",
        "--enable-debug-command", "yes", "--logfile", str(workdir / "redis.log"),
        *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(args)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc, port
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"redis-server did not start: {(workdir / 'redis.log').read_text()}")


def load_all_types(r: redis.Redis, rng: random.Random) -> None:
    """Every type and encoding Redis 7.0 writes, spread over db 0, 3 and 15, some with TTLs."""
    # db 0: strings of every encoding
    r.select(0)
    r.set("str:int8", "123")
    r.set("str:int16", "-1234")
    r.set("str:int32", "1234567")
    r.set("str:bigint", "123456789012345")  # beyond int32: stored as a plain string
    r.set("str:empty", "")
    r.set("str:short", "hello")
    r.set("str:lzf", "abcdefgh" * 500)  # compressible: LZF-encoded
    r.set("str:random", rng.randbytes(300))  # incompressible, 14-bit length
    r.set("str:random32", rng.randbytes(17000))  # incompressible, 32-bit length
    r.set("k" * 100, "long key name")
    r.set("str:ttl1", "expires", px=TEN_YEARS_MS)
    r.set("str:ttl2", "x" * 50, px=TEN_YEARS_MS)
    # lists: small (one listpack node), large and compressed (many nodes, LZF), plain node
    r.rpush("list:small", "a", "b", 1, 2, 3)
    r.rpush("list:large", *[f"element-{i}-{'y' * (i % 40)}" for i in range(3000)])
    r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100")
    r.rpush("list:plain", "small", rng.randbytes(200).hex(), "tail")
    r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1073741824")
    r.pexpire("list:small", TEN_YEARS_MS)
    # sets: intset, small hash table, large
    r.sadd("set:intset", *range(50))
    r.sadd("set:small", "alpha", "beta", "gamma")
    r.sadd("set:large", *[f"member-{i}" for i in range(700)])
    r.sadd("set:large-ints", *range(1000))  # over set-max-intset-entries: hash table
    # zsets: listpack and skiplist
    r.zadd("zset:small", {"a": 1, "b": 2.5, "c": -3})
    r.zadd("zset:large", {f"m{i}": i * 1.5 for i in range(300)})
    r.zadd("zset:inf", {"lo": float("-inf"), "hi": float("inf")})
    r.pexpire("zset:large", TEN_YEARS_MS)
    # hashes: listpack and hash table
    r.hset("hash:small", mapping={"f1": "v1", "f2": "2", "f3": "v3"})
    r.hset("hash:large", mapping={f"field{i}": f"value{i}" for i in range(600)})
    r.hset("hash:bigvalue", mapping={"f": "z" * 200})  # value over hash-max-listpack-value
    # stream with consumer groups, a PEL and consumers
    for i in range(500):
        r.xadd("stream:events", {"n": str(i), "payload": "p" * (i % 30)})
    r.xgroup_create("stream:events", "group-a", id="0")
    r.xgroup_create("stream:events", "group-b", id="$")
    r.xreadgroup("group-a", "consumer-1", {"stream:events": ">"}, count=10)
    r.xreadgroup("group-a", "consumer-2", {"stream:events": ">"}, count=5)
    r.xack("stream:events", "group-a", *[e[0] for e in r.xrange("stream:events", count=3)])
    r.xadd("stream:empty-ish", {"only": "one"})
    r.xdel("stream:empty-ish", r.xrange("stream:empty-ish")[0][0])
    # a function library (FUNCTION2 opcode)
    r.function_load(LIBRARY)

    r.select(3)
    for i in range(200):
        r.set(f"db3:key:{i}", i)
    for i in range(40):
        r.set(f"db3:ttl:{i}", f"v{i}", px=TEN_YEARS_MS)
    r.hset("db3:hash", mapping={"a": "1"})
    r.zadd("db3:zset", {"x": 1})

    r.select(15)
    r.set("db15:only", "last db")
    r.lpush("db15:list", "x")
    r.pexpire("db15:list", TEN_YEARS_MS)


def load_small(r: redis.Redis, rng: random.Random) -> None:
    """A smaller mixed data set (for the rdbchecksum-no fixture)."""
    for i in range(100):
        r.set(f"key:{i}", rng.randbytes(rng.randint(0, 40)))
    for i in range(10):
        r.set(f"ttl:{i}", i, px=TEN_YEARS_MS)
    r.hset("h", mapping={f"f{i}": i for i in range(10)})
    r.sadd("s", "a", "b")
    r.zadd("z", {"a": 1})
    r.rpush("l", *range(20))
    r.xadd("st", {"a": "b"})
    r.select(2)
    r.set("db2", "v")


def load_nothing(r: redis.Redis, rng: random.Random) -> None:
    """An empty data set: only AUX fields and the EOF opcode."""


FIXTURES: dict[str, tuple[list[str], Callable[[redis.Redis, random.Random], None]]] = {
    "all_types.rdb": (["--maxmemory-policy", "allkeys-lru", "--list-compress-depth", "1"], load_all_types),
    "no_checksum.rdb": (["--rdbchecksum", "no", "--maxmemory-policy", "allkeys-lfu"], load_small),
    "empty.rdb": ([], load_nothing),
}


def keyspace(r: redis.Redis) -> dict[str, dict[str, int]]:
    info = r.info("keyspace")
    return {
        name.removeprefix("db"): {"keys": int(v["keys"]), "expires": int(v["expires"])}
        for name, v in info.items()
    }


def make(
    name: str, extra: list[str], loader: Callable[[redis.Redis, random.Random], None]
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="rdbfix-") as tmp:
        workdir = Path(tmp)
        proc, port = start_server(workdir, extra)
        try:
            r = redis.Redis(port=port)
            loader(r, random.Random(name))
            r.select(0)
            expected: dict[str, object] = {
                "dbs": keyspace(r),
                "function_libraries": len(r.function_list()),
                "redis_version": r.info("server")["redis_version"],
            }
            r.save()
            data = (workdir / "dump.rdb").read_bytes()
            (OUT / name).write_bytes(data)
            expected["rdb_version"] = int(data[5:9])
            expected["size"] = len(data)
            return expected
        finally:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {name: make(name, extra, loader) for name, (extra, loader) in FIXTURES.items()}
    (OUT / "expected.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for name, facts in manifest.items():
        print(f"{name}: {facts['size']} bytes, dbs {facts['dbs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
