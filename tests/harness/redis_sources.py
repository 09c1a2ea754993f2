"""Migration test fixtures: an ElastiCache-like source, a target, and a dataset filler.

``source_factory(notify="KEA", password=None, maxmemory=None)``
    a redis-server that behaves like an ElastiCache node: SYNC, PSYNC, CONFIG, DEBUG, BGSAVE, SAVE,
    BGREWRITEAOF, SHUTDOWN, REPLICAOF, SLAVEOF and MIGRATE are renamed to secret names (clients get
    "unknown command"; the harness, like AWS, still reaches them through ``instance.renamed``), and
    ``notify-keyspace-events`` is set at start as ElastiCache's parameter group would (None: off).
``target_factory(maxmemory=None, policy="noeviction", password=None)``
    a plain redis-server (no persistence, for speed), optionally with ``maxmemory``.
``fill_dataset(endpoint, ...)``
    every core type, TTLs on a share of the keys, several dbs (default 0, 1, 2) and a few big keys of
    every collection type plus a big string (small sizes by default).

Import the fixtures into a conftest: ``from tests.harness.redis_sources import source_factory,
target_factory  # noqa: F401``.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from redisops.adapters.local import ELASTICACHE_BLOCKED_COMMANDS
from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.migrate.payload import payload_checksum_ok, payload_rdb_version, raise_payload_version
from redisops.ops.datasets import DatasetSpec, populate
from tests.harness.plugin import RedisFactory, RedisInstance

__all__ = [
    "BIG_TYPES",
    "FilledDataset",
    "NewerDumpConnection",
    "SourceInstance",
    "assert_same_data",
    "canonical",
    "dataset_snapshot",
    "fill_dataset",
    "newer_dump_source",
    "source_factory",
    "target_factory",
]

BIG_TYPES = ("hash", "list", "set", "zset", "stream", "string")


@dataclass
class SourceInstance:
    """An ElastiCache-like source: the server and the secret names of its blocked commands."""

    server: RedisInstance
    renamed: dict[str, str]
    notify: str | None

    @property
    def endpoint(self) -> RedisEndpoint:
        """Where to reach it."""
        return self.server.endpoint

    def client(self, db: int = 0) -> Any:
        """A redis-py client on ``db`` (bytes replies)."""
        return self.server.client(db)

    def admin(self, command: str, *args: Any) -> Any:
        """Run a blocked command through its secret name (what AWS itself can do, not a client)."""
        return self.client().execute_command(self.renamed[command.upper()], *args)


SourceFactory = Callable[..., SourceInstance]
TargetFactory = Callable[..., RedisInstance]

_NO_PERSISTENCE = {"config": {"appendonly": "no", "save": ""}}


@pytest.fixture
def source_factory(redis_factory: RedisFactory) -> SourceFactory:
    """Start ElastiCache-like sources: ``source_factory(notify="KEA", password=None, maxmemory=None)``."""

    def start(
        *,
        notify: str | None = "KEA",
        password: str | None = None,
        name: str = "es-source",
        maxmemory: str | None = None,
    ) -> SourceInstance:
        renamed = {c: f"{c.lower()}-{secrets.token_hex(8)}" for c in ELASTICACHE_BLOCKED_COMMANDS}
        extra = {f"rename-command {c}": secret for c, secret in renamed.items()}
        if maxmemory is not None:  # default: the rendered production config's (256mb, allkeys-lru)
            extra["maxmemory"] = maxmemory
        extra["notify-keyspace-events"] = f'"{notify}"' if notify else '""'
        server = redis_factory(_NO_PERSISTENCE, extra=extra, password=password, name=name)
        return SourceInstance(server=server, renamed=renamed, notify=notify)

    return start


@pytest.fixture
def target_factory(redis_factory: RedisFactory) -> TargetFactory:
    """Start targets: ``target_factory(maxmemory="256mb", policy="allkeys-lru", password=None)``."""

    def start(
        *,
        maxmemory: str | None = None,
        policy: str = "noeviction",
        password: str | None = None,
        name: str = "target",
    ) -> RedisInstance:
        extra = {"maxmemory-policy": policy}
        if maxmemory is not None:
            extra["maxmemory"] = maxmemory
        return redis_factory(_NO_PERSISTENCE, extra=extra, password=password, name=name)

    return start


@dataclass
class FilledDataset:
    """What :func:`fill_dataset` wrote: keys and keys-with-TTL per db, and the big keys by db."""

    keys: dict[int, int] = field(default_factory=dict)
    expires: dict[int, int] = field(default_factory=dict)
    big_keys: dict[int, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Keys written in all dbs."""
        return sum(self.keys.values())


def fill_dataset(
    ep: RedisEndpoint,
    *,
    keys_per_db: int = 300,
    dbs: tuple[int, ...] = (0, 1, 2),
    ttl_fraction: float = 0.2,
    big_keys_db: int = 0,
    big_key_types: tuple[str, ...] = BIG_TYPES,
    big_key_elements: int = 3000,
    big_value_bytes: int = 100,
    seed: int = 1,
) -> FilledDataset:
    """Every core type with TTLs in ``dbs`` (through :func:`redisops.ops.datasets.populate`), then one big
    key per type of ``big_key_types`` in ``big_keys_db`` (``big:<type>``, ``big_key_elements`` elements
    of ``big_value_bytes`` random bytes; the string is elements x bytes long). Deterministic for ``seed``.
    """
    spec = DatasetSpec(
        keys_per_db=keys_per_db, dbs=dbs, value_bytes=32, elements=4, ttl_fraction=ttl_fraction, prefix="mig"
    )
    written = populate(ep, spec, seed=seed)
    out = FilledDataset(keys=dict(written.keys), expires=dict(written.expires))
    rng = random.Random(seed + 1)
    client = connect(ep.with_db(big_keys_db))
    try:
        for kind in big_key_types:
            key = f"big:{kind}"
            _write_big(client, kind, key, big_key_elements, big_value_bytes, rng)
            out.big_keys.setdefault(big_keys_db, []).append(key)
            out.keys[big_keys_db] = out.keys.get(big_keys_db, 0) + 1
    finally:
        client.close()
    return out


def _write_big(client: Any, kind: str, key: str, n: int, size: int, rng: random.Random) -> None:
    step = 500
    if kind == "string":
        client.set(key, b"")
        for start in range(0, n, step):
            client.append(key, rng.randbytes(size * min(step, n - start)))
        return
    for start in range(0, n, step):
        pipe = client.pipeline(transaction=False)
        for j in range(start, min(n, start + step)):
            value = rng.randbytes(size)
            if kind == "hash":
                pipe.hset(key, f"field:{j}", value)
            elif kind == "list":
                pipe.rpush(key, value)
            elif kind == "set":
                pipe.sadd(key, value)
            elif kind == "zset":
                pipe.zadd(key, {value: rng.uniform(-1e6, 1e6)})
            elif kind == "stream":
                pipe.xadd(key, {"seq": str(j), "payload": value}, id=f"{j + 1}-0")
            else:
                raise ValueError(f"unknown big key type {kind!r}")
        pipe.execute()


class NewerDumpConnection(redis.Connection):
    """A redis-py connection whose DUMP replies look like a newer Redis wrote them (RDB version raised,
    CRC64 recomputed): a Redis 7.0 target refuses them as it would a 7.4 source's payloads.

    A DUMP reply is recognised by its shape, whatever sent the command (redis-py's pipeline or the
    copy's own): bytes ending in RDB version 10 and a CRC64 that matches (random values never do)."""

    rdb_version = 12

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        reply = super().read_response(*args, **kwargs)
        if isinstance(reply, bytes) and _is_dump(reply):
            return raise_payload_version(reply, self.rdb_version)
        return reply


def _is_dump(reply: bytes) -> bool:
    if len(reply) < 11 or payload_rdb_version(reply) != 10:
        return False
    return reply[-8:] != bytes(8) and payload_checksum_ok(reply)


def newer_dump_source(ep: RedisEndpoint) -> Callable[[int], redis.Redis]:
    """A client factory (``db -> redis.Redis``) for ``ep`` whose DUMP payloads carry a newer RDB version."""

    def open_db(db: int) -> redis.Redis:
        pool = redis.ConnectionPool(
            connection_class=NewerDumpConnection, host=ep.host, port=ep.port, db=db, password=ep.password
        )
        return redis.Redis(connection_pool=pool)

    return open_db


def canonical(client: Any, key: bytes) -> tuple[str, Any]:
    """Type and an encoding-independent value of ``key``."""
    kind = client.type(key).decode()
    if kind == "string":
        return kind, client.get(key)
    if kind == "hash":
        return kind, sorted(client.hgetall(key).items())
    if kind == "list":
        return kind, client.lrange(key, 0, -1)
    if kind == "set":
        return kind, sorted(client.smembers(key))
    if kind == "zset":
        return kind, client.zrange(key, 0, -1, withscores=True)
    if kind == "stream":
        return kind, (client.xrange(key), client.xinfo_stream(key)["last-generated-id"])
    return kind, None


Snapshot = dict[tuple[int, bytes], tuple[str, Any, bool]]


def dataset_snapshot(ep: RedisEndpoint, dbs: tuple[int, ...]) -> Snapshot:
    """``(db, key) -> (type, canonical value, has a TTL)`` of every key in ``dbs``."""
    out: Snapshot = {}
    for db in dbs:
        c = connect(ep.with_db(db))
        for key in c.scan_iter(count=500):
            kind, value = canonical(c, key)
            out[(db, key)] = (kind, value, c.pttl(key) > 0)
        c.close()
    return out


def assert_same_data(src: RedisEndpoint, tgt: RedisEndpoint, dbs: tuple[int, ...]) -> None:
    """Same keys, types, canonical values and TTL presence in ``dbs`` of both servers."""
    a, b = dataset_snapshot(src, dbs), dataset_snapshot(tgt, dbs)
    assert set(a) == set(b), f"missing {set(a) - set(b)}, extra {set(b) - set(a)}"
    diffs = [k for k in a if a[k] != b[k]]
    assert not diffs, f"{len(diffs)} keys differ, e.g. {diffs[:3]}"
