"""Backup benchmark: redisops vs the sequential peer vs the production floor, same moto endpoint, one run.

  redisops backup create            stream RDB -> verify -> multipart upload, one pass, no disk
  sequential peer                   redis-cli --rdb FILE, then boto3 upload_file(FILE)
  production floor                  redis-cli --rdb /dev/null (fork + serialise + transfer only)
  upload of the same bytes          boto3 upload_file(FILE) alone

Targets (issue 4): faster than the sequential peer; within 1.2x of max(floor, upload); peak RSS of the
redisops process independent of the dataset size (< 200 MiB). Issue 12 item 22: faster than the peer at
100 MiB too, with ``redisops_startup_s`` reported.

Each size gets one warm-up round (not reported), then ``--rounds`` measured rounds; in every round
redisops and the peer run back to back on the same data (the order alternates, so a load change on the
machine does not always hurt the same side), and every round's ratio is printed, then the medians.
Both sides run as installed: their Python byte code is cached (``PYTHONDONTWRITEBYTECODE`` is dropped
and the cache goes to the run's work dir), as a pip-installed package and the peer's boto3 have it. Run:

    .venv/bin/python benchmarks/backup.py                      # 100 MiB and 1 GiB, one round each
    .venv/bin/python benchmarks/backup.py --sizes 100 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common
from benchmarks._common import Env, MiB, bench_env, redisops_bin, run_measured, say

# the same upload as the aws cli (boto3's transfer manager); it prints how long the server took to
# complete the multipart upload (moto re-reads every part then: a cost per byte)
UPLOAD = (
    "import boto3,sys,time; s3=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1');"
    "t={}; ev=s3.meta.events; op='s3.CompleteMultipartUpload';"
    "ev.register('before-call.'+op, lambda **k: t.setdefault('a', time.monotonic()) and None);"
    "ev.register('after-call.'+op, lambda **k: t.setdefault('b', time.monotonic()) and None);"
    "s3.upload_file(sys.argv[2], sys.argv[3], 'peer/dump.rdb'); print(t['b'] - t['a'])"
)


def child_env(env: Env) -> dict[str, str]:
    """The environment of both sides: bench credentials, no sandbox, byte code cached in the work dir."""
    out = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {
        **out,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "REDISOPS_STATE_DIR": str(env.workdir / "none"),
        "PYTHONPYCACHEPREFIX": str(env.workdir / "pycache"),
    }


def run_redisops(env: Env, cfg: Path) -> dict[str, Any]:
    t_ops, rss_ops, out = run_measured(
        [redisops_bin(), "backup", "create", "--url", f"redis://127.0.0.1:{env.endpoint.port}", "--config",
         str(cfg), "-o", "json"], env=child_env(env),
    )  # fmt: skip
    result = json.loads(out)
    phases = result["timings"]
    return {
        "redisops_s": t_ops,
        "rdb_bytes": sum(o["size"] for o in result["objects"]),
        "rss": rss_ops,
        "cpu": _common.LAST_CPU_S,
        "phases": phases,
    }


def run_peer(env: Env) -> dict[str, float]:
    port = env.endpoint.port
    # redis-cli cannot fsync /dev/null and exits 1 after a successful transfer
    t_floor, _, _ = run_measured(
        ["redis-cli", "-p", str(port), "--rdb", "/dev/null"], ok_if="Transfer finished with success"
    )
    dump = env.workdir / "peer.rdb"
    t_dump, _, _ = run_measured(["redis-cli", "-p", str(port), "--rdb", str(dump)])
    t_up, _, up_out = run_measured([sys.executable, "-c", UPLOAD, env.s3_url, str(dump), env.bucket],
                                   child_env(env))  # fmt: skip
    cpu_up = _common.LAST_CPU_S
    dump.unlink()
    return {
        "floor": t_floor,
        "dump": t_dump,
        "upload": t_up,
        "complete": float(up_out.strip()),
        "cpu_up": cpu_up,
    }


def row(size_mib: int, n: int, ops: dict[str, Any], peer: dict[str, float]) -> dict[str, Any]:
    t_ops, phases = ops["redisops_s"], ops["phases"]
    seq = peer["dump"] + peer["upload"]
    return {
        "size_mib": size_mib,
        "round": n,
        "rdb_mib": round(ops["rdb_bytes"] / MiB, 1),
        "redisops_s": round(t_ops, 2),
        "sequential_peer_s": round(seq, 2),
        "floor_s": round(peer["floor"], 2),
        "upload_only_s": round(peer["upload"], 2),
        "ratio_vs_sequential": round(t_ops / seq, 3),
        "ratio_vs_max_floor_upload": round(t_ops / max(peer["floor"], peer["upload"]), 3),
        "redisops_peak_rss_mib": round(ops["rss"] / MiB, 1),
        # where redisops's time went: process start-up (imports, config, target), connect (catalogue,
        # S3 client, plan, lock, INFO, handshake), stream (bytes flowing; the floor is the same work
        # alone), finish (the last parts and the server's multipart completion)
        "redisops_startup_s": round(t_ops - phases["total"], 2),
        "redisops_connect_s": phases.get("connect"),
        "redisops_stream_s": phases.get("stream"),
        "redisops_finish_upload_s": phases.get("finish_upload"),
        "peer_complete_multipart_s": round(peer["complete"], 2),
        # no streaming client can beat this: the stream cannot be faster than the floor, and the
        # server completes the upload only after its last byte
        "floor_plus_completion_s": round(peer["floor"] + phases.get("finish_upload", 0.0), 2),
        # CPU of the client processes: on 2 cores the redis fork, moto and the client compete
        "redisops_cpu_s": round(ops["cpu"], 2),
        "upload_client_cpu_s": round(peer["cpu_up"], 2),
    }


def measure(size_mib: int, rounds: int) -> list[dict[str, Any]]:
    """One warm-up round, then ``rounds`` measured rounds (redisops and peer interleaved)."""
    rows: list[dict[str, Any]] = []
    with bench_env(size_mib * MiB) as env:
        cfg = env.workdir / "bench.yaml"
        cfg.write_text(
            f"backup:\n  bucket: {env.bucket}\n  endpoint_url: {env.s3_url}\n  force_path_style: true\n"
        )
        say(f"[{size_mib} MiB] warm-up round (byte code cached, page cache filled; not reported)")
        run_redisops(env, cfg)
        run_peer(env)
        for n in range(1, rounds + 1):
            if n % 2:
                say(f"[{size_mib} MiB] round {n}: redisops backup create, then the peer")
                ops = run_redisops(env, cfg)
                peer = run_peer(env)
            else:
                say(f"[{size_mib} MiB] round {n}: the peer, then redisops backup create")
                peer = run_peer(env)
                ops = run_redisops(env, cfg)
            rows.append(row(size_mib, n, ops, peer))
            say(f"[{size_mib} MiB] round {n}: redisops {rows[-1]['redisops_s']}s, peer "
                f"{rows[-1]['sequential_peer_s']}s, ratio {rows[-1]['ratio_vs_sequential']}")  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1024], help="dataset sizes in MiB")
    ap.add_argument("--rounds", type=int, default=1, help="measured rounds per size (after one warm-up)")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        t = time.monotonic()
        rows += measure(size, max(1, args.rounds))
        say(f"[{size} MiB] done in {time.monotonic() - t:.0f}s")
    cols = list(rows[0])
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    for size in args.sizes:
        mine = [r for r in rows if r["size_mib"] == size]
        med = {k: statistics.median(r[k] for r in mine) for k in ("redisops_s", "sequential_peer_s",
               "ratio_vs_sequential", "redisops_startup_s")}  # fmt: skip
        ratios = [r["ratio_vs_sequential"] for r in mine]
        print(f"{size} MiB, median of {len(mine)}: redisops {med['redisops_s']:.2f}s, peer "
              f"{med['sequential_peer_s']:.2f}s, ratio {med['ratio_vs_sequential']:.3f}, start-up "
              f"{med['redisops_startup_s']:.2f}s; ratios {ratios}")  # fmt: skip
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
