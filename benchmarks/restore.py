"""Restore benchmark: redisops restore vs a plain download + redis-server start, same moto endpoint.

  redisops       restore_into_data_dir (download with SHA-256 + CRC64 + key-count verification into a
                 staging dir, undo point, install as AOF base + manifest) + redis-server start with the
                 production config (appendonly yes, save points) until loaded
  plain peer     one streaming GET of dump.rdb to a file + redis-server start (appendonly no) until
                 loaded; boto3's download_file (parallel ranged GETs) is timed too, for reference

Target (issue 5): redisops within 1.3x of the peer. Run:

    .venv/bin/python benchmarks/restore.py              # 1 GiB
    .venv/bin/python benchmarks/restore.py --size 256   # MiB
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import MiB, bench_env, say
from redisops.adapters.local import free_port, start_redis
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.adapters.s3 import AwsCredentials
from redisops.config import BackupTarget, DeploymentConfig, render_redis_conf
from redisops.ops.backup import create_rdb_backup, open_store
from redisops.ops.restore import restore_into_data_dir
from redisops.ops.restore_local import wait_loaded


def start_and_load(conf: str, workdir: Path, port: int) -> float:
    t = time.monotonic()
    proc = start_redis(conf, workdir, port=port, name="restored", timeout=600)
    try:
        info = wait_loaded(RedisEndpoint(port=port, socket_timeout=300), timeout=600)
        assert info.total_keys > 0
        return time.monotonic() - t
    finally:
        proc.stop(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="dataset size in MiB")
    args = ap.parse_args()
    with bench_env(args.size * MiB) as env:
        store = open_store(
            BackupTarget(bucket=env.bucket),
            "bench",
            endpoint_url=env.s3_url,
            credentials=AwsCredentials("b", "b"),
        )
        m = create_rdb_backup(env.endpoint, store)
        key = f"{store.layout.root}/backups/bench/{m.id}/dump.rdb"
        size = sum(o.size for o in m.objects)
        say(f"backup {m.id}: {size / MiB:.0f} MiB")
        # the production config, with maxmemory sized to hold the dataset: a 256mb allkeys-lru target
        # evicts most of a 1 GiB restore right after loading (and the eviction was timed as start-up)
        cfg = DeploymentConfig()
        cfg = cfg.model_copy(
            update={"config": cfg.config.model_copy(update={"maxmemory": f"{args.size * 2}mb"})}
        )

        # redisops: verified download + install, then start with the production config
        data = env.workdir / "ops" / "data"
        data.mkdir(parents=True)
        t0 = time.monotonic()
        restore_into_data_dir(store, m.id, data, cfg, redis_version="7.0.15")
        t_install = time.monotonic() - t0
        port = free_port()
        conf = render_redis_conf(
            cfg,
            {
                "bind": "127.0.0.1",
                "port": str(port),
                "dir": str(data),
                "logfile": '""',
                "protected-mode": "no",
            },
        )
        t_start = start_and_load(conf, env.workdir / "ops", port)
        t_ops = t_install + t_start

        # plain peer: download the same object, start redis on dump.rdb
        peer = env.workdir / "peer" / "data"
        peer.mkdir(parents=True)
        s3 = env.s3()
        t0 = time.monotonic()
        body = s3.get_object(Bucket=env.bucket, Key=key)["Body"]  # type: ignore[attr-defined]
        with open(peer / "dump.rdb", "wb") as f:
            for chunk in body.iter_chunks(1 << 20):
                f.write(chunk)
        t_dl = time.monotonic() - t0
        # boto3's transfer manager (parallel ranged GETs) for reference: moto serves ranges slowly
        t0 = time.monotonic()
        s3.download_file(env.bucket, key, str(env.workdir / "ranged.rdb"))  # type: ignore[attr-defined]
        t_ranged = time.monotonic() - t0
        (env.workdir / "ranged.rdb").unlink()
        port2 = free_port()
        conf2 = f'bind 127.0.0.1\nport {port2}\ndir {peer}\nappendonly no\nsave ""\nprotected-mode no\n'
        t_peer_start = start_and_load(conf2, env.workdir / "peer", port2)
        t_peer = t_dl + t_peer_start
    row = {
        "rdb_mib": round(size / MiB, 1),
        "redisops_s": round(t_ops, 2),
        "redisops_download_verify_install_s": round(t_install, 2),
        "redisops_start_loaded_s": round(t_start, 2),
        "peer_s": round(t_peer, 2),
        "peer_download_s": round(t_dl, 2),
        "boto3_download_file_s": round(t_ranged, 2),
        "peer_start_loaded_s": round(t_peer_start, 2),
        "ratio": round(t_ops / t_peer, 3),
    }
    print(" | ".join(row))
    print(" | ".join(str(v) for v in row.values()))
    print(json.dumps(row))


if __name__ == "__main__":
    main()
