"""Backup benchmark: redisops vs the sequential peer vs the production floor, same moto endpoint, one run.

  redisops backup create            stream RDB -> verify -> multipart upload, one pass, no disk
  sequential peer                   redis-cli --rdb FILE, then boto3 upload_file(FILE)
  production floor                  redis-cli --rdb /dev/null (fork + serialise + transfer only)
  upload of the same bytes          boto3 upload_file(FILE) alone

Targets (issue 4): faster than the sequential peer; within 1.2x of max(floor, upload); peak RSS of the
redisops process independent of the dataset size (< 200 MiB). Run:

    .venv/bin/python benchmarks/backup.py            # 100 MiB and 1 GiB
    .venv/bin/python benchmarks/backup.py --sizes 64  # sizes in MiB
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _common
from benchmarks._common import MiB, bench_env, redisops_bin, run_measured, say


def measure(size_mib: int) -> dict[str, float]:
    with bench_env(size_mib * MiB) as env:
        port = env.endpoint.port
        cfg = env.workdir / "bench.yaml"
        cfg.write_text(
            f"backup:\n  bucket: {env.bucket}\n  endpoint_url: {env.s3_url}\n  force_path_style: true\n"
        )
        child_env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "REDISOPS_STATE_DIR": str(env.workdir / "none"),
        }
        say(f"[{size_mib} MiB] redisops backup create")
        t_ops, rss_ops, out = run_measured(
            [redisops_bin(), "backup", "create", "--url", f"redis://127.0.0.1:{port}", "--config", str(cfg),
             "-o", "json"], env=child_env,
        )  # fmt: skip
        cpu_ops = _common.LAST_CPU_S
        result = json.loads(out)
        rdb_bytes = sum(o["size"] for o in result["objects"])
        phases = result["timings"]

        say(f"[{size_mib} MiB] production floor: redis-cli --rdb /dev/null")
        # redis-cli cannot fsync /dev/null and exits 1 after a successful transfer
        t_floor, _, _ = run_measured(
            ["redis-cli", "-p", str(port), "--rdb", "/dev/null"], ok_if="Transfer finished with success"
        )

        dump = env.workdir / "peer.rdb"
        say(f"[{size_mib} MiB] sequential peer: redis-cli --rdb FILE + boto3 upload_file")
        t_dump, _, _ = run_measured(["redis-cli", "-p", str(port), "--rdb", str(dump)])
        # the same upload as the aws cli (boto3's transfer manager); it prints how long the server took
        # to complete the multipart upload (moto re-reads every part then: a cost per byte)
        upload = (
            "import boto3,sys,time; s3=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1');"
            "t={}; ev=s3.meta.events; op='s3.CompleteMultipartUpload';"
            "ev.register('before-call.'+op, lambda **k: t.setdefault('a', time.monotonic()) and None);"
            "ev.register('after-call.'+op, lambda **k: t.setdefault('b', time.monotonic()) and None);"
            "s3.upload_file(sys.argv[2], sys.argv[3], 'peer/dump.rdb'); print(t['b'] - t['a'])"
        )
        t_up, _, up_out = run_measured(
            [sys.executable, "-c", upload, env.s3_url, str(dump), env.bucket], child_env
        )
        cpu_up = _common.LAST_CPU_S
        dump.unlink()
    seq = t_dump + t_up
    bound = max(t_floor, t_up)
    return {
        "size_mib": size_mib,
        "rdb_mib": round(rdb_bytes / MiB, 1),
        "redisops_s": round(t_ops, 2),
        "sequential_peer_s": round(seq, 2),
        "floor_s": round(t_floor, 2),
        "upload_only_s": round(t_up, 2),
        "ratio_vs_sequential": round(t_ops / seq, 3),
        "ratio_vs_max_floor_upload": round(t_ops / bound, 3),
        "redisops_peak_rss_mib": round(rss_ops / MiB, 1),
        # where redisops's time went: process start-up (imports, S3 client), connect (lock, INFO,
        # handshake), stream (bytes flowing; the floor is the same work alone), finish (the last parts
        # and the server's multipart completion)
        "redisops_startup_s": round(t_ops - phases["total"], 2),
        "redisops_connect_s": phases.get("connect"),
        "redisops_stream_s": phases.get("stream"),
        "redisops_finish_upload_s": phases.get("finish_upload"),
        "peer_complete_multipart_s": round(float(up_out.strip()), 2),
        # no streaming client can beat this: the stream cannot be faster than the floor, and the
        # server completes the upload only after its last byte
        "floor_plus_completion_s": round(t_floor + phases.get("finish_upload", 0.0), 2),
        # CPU of the client processes: on 2 cores the redis fork, moto and the client compete
        "redisops_cpu_s": round(cpu_ops, 2),
        "upload_client_cpu_s": round(cpu_up, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1024], help="dataset sizes in MiB")
    args = ap.parse_args()
    rows = []
    for size in args.sizes:
        t = time.monotonic()
        rows.append(measure(size))
        say(f"[{size} MiB] done in {time.monotonic() - t:.0f}s")
    cols = list(rows[0])
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
