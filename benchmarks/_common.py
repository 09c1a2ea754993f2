"""Shared set-up for the backup/restore benchmarks: a loaded redis-server and a moto S3 process.

Benchmarks are not tests: they print numbers and ratios against peers measured in the same run.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3

from redisops.adapters.local import ManagedProcess, free_port, start_moto, start_redis
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.ops.datasets import DatasetSpec, populate

MiB = 1024 * 1024
#: CPU seconds (user + system) of the last run_measured child
LAST_CPU_S = 0.0


@dataclass
class Env:
    """A redis-server with data and a moto S3 endpoint with a bucket."""

    redis: ManagedProcess
    endpoint: RedisEndpoint
    s3_url: str
    bucket: str
    workdir: Path

    def s3(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )


@contextmanager
def bench_env(size_bytes: int, *, value_bytes: int = 16384) -> Iterator[Env]:
    """Start redis-server (no persistence, diskless sync without delay) + moto; fill ~size_bytes."""
    work = Path(tempfile.mkdtemp(prefix="redisops-bench-"))
    port = free_port()
    (work / "redis" / "data").mkdir(parents=True)
    conf = (
        f'bind 127.0.0.1\nport {port}\ndir {work / "redis" / "data"}\nsave ""\nappendonly no\n'
        "repl-diskless-sync yes\nrepl-diskless-sync-delay 0\nprotected-mode no\n"
    )
    redis = start_redis(conf, work / "redis", port=port, name="bench")
    moto = start_moto(work / "moto", port=free_port())
    try:
        ep = RedisEndpoint(port=port, socket_timeout=300)
        spec = DatasetSpec(
            keys_per_db=max(1, size_bytes // (value_bytes * 2)),
            dbs=(0,),
            value_bytes=value_bytes,
            elements=2,
            types=("string", "hash"),
            ttl_fraction=0.0,
            prefix="bench",
        )
        t = time.monotonic()
        populate(ep, spec, seed=1, batch=64)
        say(f"loaded ~{spec.approx_bytes / MiB:.0f} MiB of random values in {time.monotonic() - t:.1f}s")
        env = Env(redis, ep, f"http://127.0.0.1:{moto.port}", "redisops-bench", work)
        env.s3().create_bucket(Bucket=env.bucket)  # type: ignore[attr-defined]
        yield env
    finally:
        redis.stop(timeout=30)
        moto.stop(timeout=10)
        subprocess.run(["rm", "-rf", str(work)], check=False)


def run_measured(
    argv: Sequence[str], env: dict[str, str] | None = None, *, ok_if: str | None = None
) -> tuple[float, int, str]:
    """Run a command; return (wall seconds, peak RSS in bytes of exactly this child (wait4), stdout)."""
    t = time.monotonic()
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t
    proc.stdout.close()
    proc.stderr.close()
    text = out.decode(errors="replace") + err.decode(errors="replace")
    if proc.returncode != 0 and not (ok_if and ok_if in text):
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {text[-800:]}")
    global LAST_CPU_S
    LAST_CPU_S = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss * 1024, out.decode(errors="replace")


def redisops_bin() -> str:
    """The redisops console script of this interpreter's venv."""
    return str(Path(sys.executable).with_name("redisops"))


def say(msg: str) -> None:
    """Progress on stderr (results go to stdout)."""
    print(msg, file=sys.stderr, flush=True)


def self_peak_rss() -> int:
    """Peak RSS of this process in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
