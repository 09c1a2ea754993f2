"""Snapshots of the world a plan must not change: a Redis server, an S3 bucket, a data dir, the Kubernetes
emulator. Take one before ``plan(...)`` and one after; they must be equal.

    before = world(redis=ep, s3=(client, bucket), data_dir=path, kube=emulator)
    target.plan("restore.apply", backup_id=bid)
    assert world(redis=ep, s3=(client, bucket), data_dir=path, kube=emulator) == before
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.ops.compare import canonical_value


def redis_state(ep: RedisEndpoint) -> dict[int, str]:
    """Per db: SHA-256 over every key's name, type, canonical value and TTL rounded to the second.

    Canonical values (sorted members, ordered fields), not DUMP bytes: a restart re-encodes a hash table
    set in another order, which is the same data.
    """
    client = connect(ep, check=False)
    try:
        info = client.info("keyspace")
        out: dict[int, str] = {}
        for name in info:
            db = int(str(name)[2:])
            c = connect(ep.with_db(db), check=False)
            try:
                h = hashlib.sha256()
                for key in sorted(c.scan_iter(count=1000)):
                    kind = c.type(key).decode()
                    value = repr(canonical_value(c, key, kind)).encode()
                    ttl = str(round(c.pttl(key) / 1000)).encode()
                    h.update(key + b"\0" + kind.encode() + b"\0" + value + b"\0" + ttl + b"\n")
                out[db] = h.hexdigest()
            finally:
                c.close()
        return out
    finally:
        client.close()


def s3_state(client: Any, bucket: str) -> dict[str, str]:
    """Every object key with its ETag, plus the open multipart uploads (``upload:<key>:<id>``)."""
    out: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = obj["ETag"]
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        out[f"upload:{upload['Key']}:{upload['UploadId']}"] = "open"
    return out


def dir_state(path: Path) -> dict[str, str]:
    """Every file and directory under ``path``: SHA-256 of files, ``dir`` for directories."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def kube_state(emulator: Any) -> dict[str, str]:
    """Every stored object's ``kind/namespace/name`` with its resourceVersion."""
    out: dict[str, str] = {}
    for obj in emulator.objects():
        meta = obj["metadata"]
        out[f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"] = str(meta.get("resourceVersion"))
    return out


def world(
    *,
    redis: RedisEndpoint | None = None,
    s3: tuple[Any, str] | None = None,
    data_dir: Path | None = None,
    kube: Any = None,
) -> dict[str, Any]:
    """The snapshots of whichever parts are given, in one comparable mapping."""
    out: dict[str, Any] = {}
    if redis is not None:
        out["redis"] = redis_state(redis)
    if s3 is not None:
        out["s3"] = s3_state(*s3)
    if data_dir is not None:
        out["data_dir"] = dir_state(data_dir)
    if kube is not None:
        out["kube"] = kube_state(kube)
    return out
