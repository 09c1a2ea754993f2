"""Migration copy benchmark: redisops' online copy vs a naive per-key DUMP/RESTORE loop and vs the target's
ingest ceiling, on one machine, in one run.

  redisops copy  run_copy (redisops/migrate/copy.py) with its defaults: SCAN, MEMORY USAGE, pipelined
                 PTTL+DUMP on a reader thread, pipelined RESTORE with the remaining TTL on the target
  naive loop     for each SCAN key: DUMP, PTTL, RESTORE, one command at a time (redis-py); run for at
                 most --naive-seconds on the same data (its rate is what it reached in that time)
  ceiling        redis-cli --pipe of the same RESTORE commands (RESP generated from the DUMPs beforehand,
                 not timed): what the target can ingest at most

Per scenario: keys/s and MB/s (DUMP payload bytes) of each, the ratios against the peers measured in the
same run, the copy's CPU cost on the source (INFO cpu delta per key), and where the copy's time goes:
wall, client CPU (both threads), source and target server CPU, and the writer thread's waits (for the
reader = source side, in RESTORE round trips = target side) from a cProfile of the writer.

Scenarios: ``writeup`` (~250 MB of random values of every type, as the write-up's ElastiCache) and
``1m`` (1,000,000 small keys of every type). Targets (issue 14): >= 10x the naive loop, aim >= 0.5x of
the ceiling. Run:

    .venv/bin/python benchmarks/migrate.py                       # both scenarios
    .venv/bin/python benchmarks/migrate.py --scenario writeup --size-mb 50
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from benchmarks._common import MiB, say
from redisops.adapters.local import ManagedProcess, free_port, start_redis
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.cancel import CancelToken
from redisops.events import Reporter
from redisops.migrate.copy import CopyOptions, run_copy
from redisops.migrate.pipeline import run_pipeline
from redisops.ops.datasets import DatasetSpec, populate


def server(work: Path, name: str) -> tuple[ManagedProcess, RedisEndpoint]:
    port = free_port()
    (work / name / "data").mkdir(parents=True)
    data = work / name / "data"
    conf = f'bind 127.0.0.1\nport {port}\ndir {data}\nsave ""\nappendonly no\nprotected-mode no\n'
    return start_redis(conf, work / name, port=port, name=name), RedisEndpoint(port=port, socket_timeout=300)


def cpu(c: redis.Redis) -> float:
    i = c.info("cpu")
    return float(i["used_cpu_sys"]) + float(i["used_cpu_user"])


def keys_of(c: redis.Redis) -> int:
    return int(c.dbsize())


def spec_for(scenario: str, size_mb: int, keys: int) -> DatasetSpec:
    if scenario == "writeup":
        # values of 64..~1 KiB: elements x value_bytes ~ 2 KiB a key, every type, TTLs on a fifth
        per_key = 4 * 512
        return DatasetSpec(keys_per_db=max(1, size_mb * MiB // per_key), dbs=(0,), value_bytes=512,
                           elements=4, ttl_fraction=0.2, prefix="bench")  # fmt: skip
    return DatasetSpec(
        keys_per_db=keys, dbs=(0,), value_bytes=24, elements=3, ttl_fraction=0.2, prefix="bench"
    )


def measure_copy(src: RedisEndpoint, tgt: RedisEndpoint) -> dict[str, Any]:
    s, t = redis.Redis(port=src.port), redis.Redis(port=tgt.port)
    t.flushall()
    s.config_resetstat()
    s0, t0 = cpu(s), cpu(t)
    prof = cProfile.Profile()
    w0, c0 = time.perf_counter(), time.process_time()
    prof.enable()
    rep = run_copy(src, tgt, CopyOptions(), Reporter("migrate.copy"), CancelToken())
    prof.disable()
    wall, client = time.perf_counter() - w0, time.process_time() - c0
    st = pstats.Stats(prof)
    waits = {"reader": 0.0, "target_io": 0.0}
    for (_file, _line, fn), (_cc, _nc, tt, _ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        if fn == "<method 'acquire' of '_thread.lock' objects>":
            waits["reader"] += tt  # the writer waiting on the queue: the source side is behind
        elif fn in (
            "<method 'recv_into' of '_socket.socket' objects>",
            "<method 'sendall' of '_socket.socket' objects>",
        ):
            waits["target_io"] += tt
    assert keys_of(t) == keys_of(s), (keys_of(t), keys_of(s))
    return {
        "keys": rep.copied, "bytes": rep.bytes_copied, "seconds": wall, "keys_per_s": rep.copied / wall,
        "mb_per_s": rep.bytes_copied / MiB / wall, "client_cpu_s": client, "source_cpu_s": cpu(s) - s0,
        "target_cpu_s": cpu(t) - t0, "writer_waits_reader_s": waits["reader"],
        "writer_target_io_s": waits["target_io"], "source_commands": command_seconds(s),
    }  # fmt: skip


def command_seconds(c: redis.Redis) -> dict[str, float]:
    """Seconds the server spent in each command since the last CONFIG RESETSTAT (INFO commandstats)."""
    stats = c.info("commandstats")
    out = {k.removeprefix("cmdstat_"): float(v["usec"]) / 1e6 for k, v in stats.items()}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def measure_naive(src: RedisEndpoint, tgt: RedisEndpoint, limit_s: float) -> dict[str, Any]:
    s, t = redis.Redis(port=src.port), redis.Redis(port=tgt.port)
    t.flushall()
    s0 = cpu(s)
    n = nbytes = 0
    start = time.perf_counter()
    for key in s.scan_iter(count=1000):
        dump = s.dump(key)
        pttl = s.pttl(key)
        if dump is None or pttl == -2:
            continue
        t.restore(key, max(0, pttl), dump)
        n += 1
        nbytes += len(dump)
        if n % 500 == 0 and time.perf_counter() - start > limit_s:
            break
    wall = time.perf_counter() - start
    return {"keys": n, "bytes": nbytes, "seconds": wall, "keys_per_s": n / wall,
            "mb_per_s": nbytes / MiB / wall, "source_cpu_s": cpu(s) - s0}  # fmt: skip


def _resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def measure_ceiling(src: RedisEndpoint, tgt: RedisEndpoint, work: Path) -> dict[str, Any]:
    """RESTORE commands of every key written as RESP to a file (not timed), then redis-cli --pipe."""
    s, t = redis.Redis(port=src.port), redis.Redis(port=tgt.port)
    path = work / "restores.resp"
    n = nbytes = 0
    with path.open("wb") as f:
        for batch_keys in _batches(s):
            replies = run_pipeline(s, [c for k in batch_keys for c in (("PTTL", k), ("DUMP", k))])
            for i, k in enumerate(batch_keys):
                pttl, dump = replies[2 * i], replies[2 * i + 1]
                if dump is None or pttl == -2:
                    continue
                f.write(_resp(b"RESTORE", k, b"%d" % max(0, pttl), dump))
                n += 1
                nbytes += len(dump)
    t.flushall()
    t0 = cpu(t)
    start = time.perf_counter()
    with path.open("rb") as f:
        out = subprocess.run(
            ["redis-cli", "-p", str(tgt.port), "--pipe"], stdin=f, capture_output=True, check=True
        )
    wall = time.perf_counter() - start
    assert b"errors: 0" in out.stdout, out.stdout[-300:]
    path.unlink()
    return {"keys": n, "bytes": nbytes, "seconds": wall, "keys_per_s": n / wall,
            "mb_per_s": nbytes / MiB / wall, "target_cpu_s": cpu(t) - t0}  # fmt: skip


def _batches(s: redis.Redis) -> Any:
    cursor = 0
    while True:
        cursor, keys = s.scan(cursor, count=1000)
        if keys:
            yield keys
        if cursor == 0:
            return


def scenario(name: str, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="redisops-bench-migrate-"))
    (sp, src), (tp, tgt) = server(work, "source"), server(work, "target")
    try:
        spec = spec_for(name, args.size_mb, args.keys)
        t = time.monotonic()
        populate(src, spec, seed=1, batch=1000)
        used = int(redis.Redis(port=src.port).info("memory")["used_memory_dataset"])
        say(
            f"{name}: {spec.keys_per_db} keys, {used / MiB:.0f} MiB dataset, "
            f"loaded in {time.monotonic() - t:.0f}s"
        )
        copy = measure_copy(src, tgt)
        say(f"  copy {copy['keys_per_s']:.0f} keys/s")
        naive = measure_naive(src, tgt, args.naive_seconds)
        say(f"  naive {naive['keys_per_s']:.0f} keys/s ({naive['keys']} keys)")
        ceiling = measure_ceiling(src, tgt, work)
        say(f"  ceiling {ceiling['keys_per_s']:.0f} keys/s")
        return {"scenario": name, "keys": spec.keys_per_db, "dataset_mb": used / MiB, "copy": copy,
                "naive": naive, "ceiling": ceiling,
                "copy_vs_naive": copy["keys_per_s"] / naive["keys_per_s"],
                "copy_vs_ceiling": copy["keys_per_s"] / ceiling["keys_per_s"],
                "source_cpu_us_per_key_copy": copy["source_cpu_s"] / copy["keys"] * 1e6,
                "source_cpu_us_per_key_naive":
                    naive["source_cpu_s"] / max(1, naive["keys"]) * 1e6}  # fmt: skip
    finally:
        sp.stop(timeout=30)
        tp.stop(timeout=30)
        subprocess.run(["rm", "-rf", str(work)], check=False)


def show(r: dict[str, Any]) -> None:
    c, n, p = r["copy"], r["naive"], r["ceiling"]
    print(f"\n== {r['scenario']}: {r['keys']} keys, {r['dataset_mb']:.0f} MiB dataset ==")
    print(f"{'':16}{'keys/s':>10}{'MB/s':>9}{'seconds':>9}")
    for label, m in (("redisops copy", c), ("naive loop", n), ("redis-cli --pipe", p)):
        print(f"{label:16}{m['keys_per_s']:>10.0f}{m['mb_per_s']:>9.1f}{m['seconds']:>9.1f}")
    print(f"copy vs naive loop: {r['copy_vs_naive']:.1f}x (target >= 10x); copy vs ceiling: "
          f"{r['copy_vs_ceiling']:.2f}x (aim >= 0.5x)")  # fmt: skip
    print(f"source CPU per key: copy {r['source_cpu_us_per_key_copy']:.1f} us, naive "
          f"{r['source_cpu_us_per_key_naive']:.1f} us")  # fmt: skip
    other = c["seconds"] - c["writer_waits_reader_s"] - c["writer_target_io_s"]
    print(f"copy's time: wall {c['seconds']:.1f}s; client CPU {c['client_cpu_s']:.1f}s (both threads); "
          f"source server CPU {c['source_cpu_s']:.1f}s, target server CPU {c['target_cpu_s']:.1f}s; "
          f"writer thread: waiting for the reader (source side) {c['writer_waits_reader_s']:.1f}s, in "
          f"RESTORE round trips (target side) {c['writer_target_io_s']:.1f}s, "
          f"its own work {other:.1f}s")  # fmt: skip
    spent = ", ".join(f"{cmd} {sec:.2f}s" for cmd, sec in list(c["source_commands"].items())[:6])
    print(f"source server time by command (INFO commandstats): {spent}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", choices=["writeup", "1m", "both"], default="both")
    ap.add_argument("--size-mb", type=int, default=250, help="writeup: dataset size in MB")
    ap.add_argument("--keys", type=int, default=1_000_000, help="1m: number of keys")
    ap.add_argument("--naive-seconds", type=float, default=30.0, help="how long the naive loop runs")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    names = ["writeup", "1m"] if args.scenario == "both" else [args.scenario]
    results = [scenario(n, args) for n in names]
    for r in results:
        show(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
