"""Realistic datasets for rehearsals, tests and benchmarks.

Every core type (string, hash, list, set, zset, stream), TTLs on a share of the keys, several
databases, random (incompressible) values, and a size from a few keys to many GiB. Deterministic for a
seed, written with pipelines in batches so memory stays bounded.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from redisops.adapters.redis_conn import RedisEndpoint, connect, redis_errors

__all__ = ["KEY_TYPES", "DatasetSpec", "PopulateResult", "populate"]

KEY_TYPES = ("string", "hash", "list", "set", "zset", "stream")


@dataclass(frozen=True)
class DatasetSpec:
    """What to write.

    Args:
        keys_per_db: number of keys in each db of ``dbs``.
        dbs: databases to fill.
        value_bytes: size of each string value / member (random bytes: incompressible).
        elements: elements per collection (hash fields, list items, set/zset members, stream entries).
        ttl_fraction: share of keys that get a TTL.
        ttl_seconds: (min, max) TTL range in seconds.
        types: which key types to cycle through.
        prefix: key prefix.
    """

    keys_per_db: int = 100
    dbs: tuple[int, ...] = (0, 1)
    value_bytes: int = 64
    elements: int = 5
    ttl_fraction: float = 0.2
    ttl_seconds: tuple[int, int] = (3600, 86400)
    types: tuple[str, ...] = KEY_TYPES
    prefix: str = "ds"

    @classmethod
    def of_size(
        cls, total_bytes: int, *, value_bytes: int = 4096, dbs: tuple[int, ...] = (0, 1, 2)
    ) -> DatasetSpec:
        """A spec whose values add up to about ``total_bytes`` (for benchmarks: e.g. 1 GiB)."""
        elements = 4
        per_key = value_bytes * elements
        keys = max(1, total_bytes // (per_key * len(dbs)))
        return cls(keys_per_db=keys, dbs=dbs, value_bytes=value_bytes, elements=elements)

    @property
    def approx_bytes(self) -> int:
        """Rough payload size (values only)."""
        return self.keys_per_db * len(self.dbs) * self.value_bytes * self.elements


@dataclass
class PopulateResult:
    """What :func:`populate` wrote: keys and keys-with-TTL per db, bytes of values."""

    keys: dict[int, int] = field(default_factory=dict)
    expires: dict[int, int] = field(default_factory=dict)
    value_bytes: int = 0


def populate(
    ep: RedisEndpoint,
    spec: DatasetSpec,
    *,
    seed: int = 0,
    batch: int = 500,
    on_progress: Callable[[int, int], None] | None = None,
) -> PopulateResult:
    """Write ``spec`` into the server at ``ep`` (deterministic for ``seed``); returns what was written."""
    rng = random.Random(seed)
    total = spec.keys_per_db * len(spec.dbs)
    done = 0
    result = PopulateResult()
    for db in spec.dbs:
        client = connect(ep.with_db(db))
        try:
            with redis_errors(ep):
                result.keys[db], result.expires[db] = 0, 0
                pipe = client.pipeline(transaction=False)
                for i in range(spec.keys_per_db):
                    kind = spec.types[i % len(spec.types)]
                    key = f"{spec.prefix}:{kind}:{db}:{i:08d}"
                    result.value_bytes += _write(pipe, kind, key, spec, rng)
                    result.keys[db] += 1
                    if rng.random() < spec.ttl_fraction:
                        pipe.expire(key, rng.randint(*spec.ttl_seconds))
                        result.expires[db] += 1
                    if (i + 1) % batch == 0:
                        pipe.execute()
                        done += batch
                        if on_progress:
                            on_progress(done, total)
                pipe.execute()
                done = sum(result.keys.values())
                if on_progress:
                    on_progress(done, total)
        finally:
            client.close()
    return result


def _write(pipe: redis.client.Pipeline, kind: str, key: str, spec: DatasetSpec, rng: random.Random) -> int:
    n, size = spec.elements, spec.value_bytes

    def val() -> bytes:
        return rng.randbytes(size)

    if kind == "string":
        pipe.set(key, val())
        return size
    if kind == "hash":
        pipe.hset(key, mapping={f"f{j}": val() for j in range(n)})
    elif kind == "list":
        pipe.rpush(key, *[val() for _ in range(n)])
    elif kind == "set":
        pipe.sadd(key, *[val() for _ in range(n)])
    elif kind == "zset":
        pipe.zadd(key, {val(): rng.uniform(-1e6, 1e6) for _ in range(n)})
    elif kind == "stream":
        for j in range(n):
            pipe.xadd(key, {"seq": str(j), "payload": val()}, id=f"{j + 1}-1")  # deterministic ids
    else:
        raise ValueError(f"unknown key type {kind!r}; choose from {KEY_TYPES}")
    return n * size
