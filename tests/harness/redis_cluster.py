"""A local Redis Cluster for the migration tests: ``cluster_factory(shards=3)`` starts ``shards``
redis-server 7.0 processes with ``cluster-enabled yes``, assigns the 16384 slots in equal ranges with
``CLUSTER ADDSLOTSRANGE``, joins them with ``CLUSTER MEET`` and waits for ``cluster_state:ok`` on every
node. ``elasticache=True`` renames the commands ElastiCache blocks to secret names (CLUSTER stays
allowed, as on ElastiCache in cluster mode).

``fill_cluster(cluster, keys=...)`` writes every core type with TTLs on a share of the keys through
redis-py's ``RedisCluster`` (keys spread over every slot range) plus big keys of the given types.

Import the fixture into a conftest: ``from tests.harness.redis_cluster import cluster_factory  # noqa``.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from redis.cluster import ClusterNode, RedisCluster

from redisops.adapters.local import ELASTICACHE_BLOCKED_COMMANDS, free_port
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.migrate.cluster import SLOTS
from tests.harness.plugin import RedisFactory, RedisInstance

__all__ = ["ClusterInstance", "cluster_factory", "fill_cluster"]

_TYPES = ("string", "hash", "list", "set", "zset", "stream")


@dataclass
class ClusterInstance:
    """A running cluster: its primaries (one per shard) and the secret names of blocked commands."""

    nodes: list[RedisInstance]
    renamed: dict[str, str]
    password: str | None = None

    @property
    def endpoint(self) -> RedisEndpoint:
        """The first node (a copy or verify finds the others through CLUSTER SLOTS)."""
        return self.nodes[0].endpoint

    def client(self) -> RedisCluster:
        """A redis-py cluster client (bytes replies)."""
        return RedisCluster(
            startup_nodes=[ClusterNode("127.0.0.1", n.endpoint.port) for n in self.nodes],
            password=self.password,
        )

    def node_keys(self) -> list[int]:
        """DBSIZE of every node."""
        return [int(n.client().dbsize()) for n in self.nodes]


ClusterFactory = Callable[..., ClusterInstance]


def _wait_ok(nodes: list[RedisInstance], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = [n.client().execute_command("CLUSTER", "INFO") for n in nodes]
        texts = [s.decode() if isinstance(s, bytes) else str(s) for s in states]
        if all("cluster_state:ok" in t and f"cluster_known_nodes:{len(nodes)}" in t for t in texts):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the cluster did not reach cluster_state:ok: {texts[0][:200]}")
        time.sleep(0.1)


@pytest.fixture
def cluster_factory(redis_factory: RedisFactory) -> ClusterFactory:
    """Start local Redis Clusters: ``cluster_factory(shards=3, elasticache=True, password=None)``."""

    def start(
        *, shards: int = 3, elasticache: bool = True, password: str | None = None, name: str = "cluster"
    ) -> ClusterInstance:
        renamed = (
            {c: f"{c.lower()}-{secrets.token_hex(8)}" for c in ELASTICACHE_BLOCKED_COMMANDS}
            if elasticache
            else {}
        )
        extra = {f"rename-command {c}": s for c, s in renamed.items()}
        extra |= {
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": "5000",
            "cluster-require-full-coverage": "yes",
        }
        if password:
            extra["masterauth"] = password
        config = {"config": {"appendonly": "no", "save": ""}}
        # the bus port defaults to port + 10000, past 65535 for a high free port: chosen here instead
        bus = [free_port() for _ in range(shards)]
        nodes = [
            redis_factory(config, extra={**extra, "cluster-port": str(bus[i])}, password=password,
                          name=f"{name}-{i}")
            for i in range(shards)
        ]  # fmt: skip
        per = SLOTS // shards
        for i, node in enumerate(nodes):
            start_slot = i * per
            end_slot = SLOTS - 1 if i == shards - 1 else (i + 1) * per - 1
            node.client().execute_command("CLUSTER", "ADDSLOTSRANGE", start_slot, end_slot)
        for i, node in enumerate(nodes[1:], start=1):
            nodes[0].client().execute_command("CLUSTER", "MEET", "127.0.0.1", node.endpoint.port, bus[i])
        _wait_ok(nodes)
        return ClusterInstance(nodes, renamed, password)

    return start


def _write(
    pipe: Any, kind: str, key: str, rng: random.Random, elements: int, size: int, base: int = 0
) -> None:
    if kind == "string":
        pipe.set(key, rng.randbytes(size))
    elif kind == "hash":
        pipe.hset(key, mapping={f"f{base + j}": rng.randbytes(size) for j in range(elements)})
    elif kind == "list":
        pipe.rpush(key, *[rng.randbytes(size) for _ in range(elements)])
    elif kind == "set":
        pipe.sadd(key, *[rng.randbytes(size) for _ in range(elements)])
    elif kind == "zset":
        pipe.zadd(key, {rng.randbytes(size): rng.uniform(-1e6, 1e6) for _ in range(elements)})
    else:
        for j in range(elements):
            pipe.xadd(key, {"seq": str(j), "v": rng.randbytes(size)}, id=f"{j + 1}-0")


def fill_cluster(
    cluster: ClusterInstance,
    *,
    keys: int = 600,
    ttl_fraction: float = 0.2,
    big_key_types: tuple[str, ...] = _TYPES,
    big_key_elements: int = 2000,
    seed: int = 3,
) -> int:
    """Write ``keys`` keys of every core type (``mig:<type>:<n>``, 4 elements of 32 bytes, a TTL on
    ``ttl_fraction`` of them) and one big key per type of ``big_key_types`` (``big:<type>``); returns the
    number of keys written."""
    rng = random.Random(seed)
    client = cluster.client()
    try:
        pipe = client.pipeline(transaction=False)
        for i in range(keys):
            kind = _TYPES[i % len(_TYPES)]
            key = f"mig:{kind}:{i:06d}"
            _write(pipe, kind, key, rng, 4, 32)
            if rng.random() < ttl_fraction:
                pipe.expire(key, rng.randint(3600, 86400))
            if (i + 1) % 300 == 0:
                pipe.execute()
        pipe.execute()
        for kind in big_key_types:
            for start in range(0, big_key_elements, 500):
                pipe = client.pipeline(transaction=False)
                n = min(500, big_key_elements - start)
                if kind == "string":
                    pipe.append("big:string", rng.randbytes(100 * n))
                elif kind == "stream":
                    for j in range(start, start + n):
                        pipe.xadd("big:stream", {"seq": str(j), "v": rng.randbytes(100)}, id=f"{j + 1}-0")
                else:
                    _write(pipe, kind, f"big:{kind}", rng, n, 100, base=start)
                pipe.execute()
    finally:
        client.close()
    return keys + len(big_key_types)
