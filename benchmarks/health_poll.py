"""Cost of a 1 Hz health poll on a Redis under load: redis-benchmark ops/s with and without polling.

Starts a throwaway redis-server, runs ``redis-benchmark -q -t set,get -n N -c 20 --csv`` alternately
without and with a :class:`HealthPoller` polling once a second in a thread (``--rounds`` pairs; best
round of each reported, so a noisy machine hurts both alike), then prints ops/s both ways, the ratio
and the wall time of one health run. Not a test. Usage::

    .venv/bin/python benchmarks/health_poll.py [-n 200000] [--rounds 3] [--hz 1]
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from redisops.adapters.local import free_port
from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.config import DeploymentConfig
from redisops.health import Thresholds
from redisops.ops.health import HealthPoller, run_health


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A redis-server with the production persistence settings off (the benchmark measures CPU)."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "",
         "--appendonly", "no", "--logfile", str(workdir / "redis.log")],
    )  # fmt: skip
    ep = RedisEndpoint(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            connect(ep).close()
            return proc, port
        except Exception:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def benchmark(port: int, n: int) -> dict[str, float]:
    """requests/s per test of one redis-benchmark run."""
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-q", "-t", "set,get", "-n", str(n), "-c", "20", "--csv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return {row[0]: float(row[1]) for row in rows[1:] if len(row) > 1}


def poll_loop(ep: RedisEndpoint, stop: threading.Event, hz: float, polls: list[float]) -> None:
    """Poll health at ``hz`` until ``stop`` is set; append each poll's wall time."""
    with HealthPoller(ep, DeploymentConfig(), Thresholds()) as poller:
        while not stop.is_set():
            t0 = time.perf_counter()
            poller.poll()
            polls.append(time.perf_counter() - t0)
            stop.wait(max(0.0, 1.0 / hz - (time.perf_counter() - t0)))


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the numbers."""
    parser = argparse.ArgumentParser(description="health poll overhead benchmark")
    parser.add_argument("-n", type=int, default=200_000, help="requests per redis-benchmark test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hz", type=float, default=1.0, help="health polls per second")
    args = parser.parse_args(argv)
    if not shutil.which("redis-benchmark") or not shutil.which("redis-server"):
        print("redis-server and redis-benchmark are needed (apt-get install redis-server redis-tools)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp))
        ep = RedisEndpoint(port=port)
        try:
            one_run = []
            c = connect(ep)
            before = c.info("commandstats")
            for _ in range(20):
                t0 = time.perf_counter()
                run_health(ep, DeploymentConfig())
                one_run.append(time.perf_counter() - t0)
            after = c.info("commandstats")
            server_us = sum(v["usec"] - before.get(k, {}).get("usec", 0) for k, v in after.items()) / 20
            c.close()
            without: list[dict[str, float]] = []
            with_poll: list[dict[str, float]] = []
            polls: list[float] = []
            for _ in range(args.rounds):
                without.append(benchmark(port, args.n))
                stop = threading.Event()
                th = threading.Thread(target=poll_loop, args=(ep, stop, args.hz, polls), daemon=True)
                th.start()
                with_poll.append(benchmark(port, args.n))
                stop.set()
                th.join()
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"one health run (idle server, new connection): median {statistics.median(one_run) * 1000:.1f} ms, "
          f"max {max(one_run) * 1000:.1f} ms")  # fmt: skip
    print(
        f"server CPU per health run (commandstats usec): {server_us:.0f} µs "
        f"= {server_us / 1e4:.3f}% of a core at 1 Hz"
    )
    if polls:
        print(f"health polls under load: {len(polls)}, median {statistics.median(polls) * 1000:.1f} ms")
    for test in without[0]:
        base = max(r[test] for r in without)
        polled = max(r[test] for r in with_poll)
        print(
            f"{test:>4}: without polling {base:>9.0f} ops/s | with {args.hz:g} Hz health poll "
            f"{polled:>9.0f} ops/s | ratio {polled / base:.3f}"
        )
        rounds = ", ".join(f"{a[test]:.0f}/{b[test]:.0f}" for a, b in zip(without, with_poll, strict=True))
        print(f"      rounds (without/with): {rounds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
