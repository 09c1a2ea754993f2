"""Sources that outgrew one node: a Redis Cluster (or ElastiCache in cluster mode) on either side of a
copy or a verify.

A :class:`Side` is one side of a copy or verify: a single server (one client) or the primaries of a
cluster (one client per primary, found with ``CLUSTER SLOTS``, which ElastiCache allows) and the map of
the 16384 hash slots to them. SCAN is per node, so a walk visits :attr:`Side.clients` one by one; a
command on a key goes to :meth:`Side.client_for` (CRC16 of the key or of its ``{hash tag}``, the same
slot function Redis uses); :meth:`Side.group` splits a list of keys into per-node groups so pipelines
stay per node::

    side = open_side(endpoint, db=0)
    try:
        for i, keys in side.group(batch).items():
            run_pipeline(side.clients[i], [("EXISTS", k) for k in keys])
    finally:
        side.close()

Cluster mode has only db 0. :func:`merged_info` sums INFO of every primary (memory, keyspace), so a
plan against a cluster source compares all of its data with the target. The slot map is read once: a
cluster resharded during a copy answers MOVED, which the copy counts as a failure with the server's
words (copy again after the resharding).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import redis
from redis.crc import key_slot

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command
from redisops.errors import InvalidArgument
from redisops.inspect import Info, parse_info

__all__ = [
    "SLOTS",
    "Side",
    "cluster_primaries",
    "is_cluster",
    "merged_info",
    "open_side",
    "primary_endpoints",
    "slot_of",
]

#: hash slots of a Redis Cluster
SLOTS = 16384


def slot_of(key: bytes | str) -> int:
    """The hash slot of ``key`` (CRC16 mod 16384 of the key, or of its non-empty ``{hash tag}``)."""
    return int(key_slot(key.encode() if isinstance(key, str) else key))


def is_cluster(client: redis.Redis) -> bool:
    """True when the server runs in cluster mode (``INFO cluster``: ``cluster_enabled:1``)."""
    info = parse_info(raw_command(client, "INFO", "cluster"))
    return bool(info.cluster.cluster_enabled)


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def cluster_primaries(client: redis.Redis) -> list[tuple[str, int, list[tuple[int, int]]]]:
    """``(host, port, slot ranges)`` of every primary, from ``CLUSTER SLOTS`` (sorted by first slot).

    A primary announced without an address (an empty host) is reached at the host ``client`` uses."""
    reply = raw_command(client, "CLUSTER", "SLOTS")
    own_host = str(client.connection_pool.connection_kwargs.get("host", "127.0.0.1"))
    by_node: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for entry in reply:
        start, end, primary = int(entry[0]), int(entry[1]), entry[2]
        host = _text(primary[0]) or own_host
        if host == "?":
            host = own_host
        by_node.setdefault((host, int(primary[1])), []).append((start, end))
    out = [(h, p, sorted(r)) for (h, p), r in by_node.items()]
    return sorted(out, key=lambda n: n[2][0][0])


@dataclasses.dataclass
class Side:
    """One side: ``clients`` (one, or one per cluster primary), ``endpoints`` beside them, and for a
    cluster the owner (index into ``clients``) of every slot (``None`` for a single server)."""

    clients: list[redis.Redis]
    endpoints: list[RedisEndpoint]
    owners: list[int] | None = None

    @property
    def clustered(self) -> bool:
        """True for a cluster."""
        return self.owners is not None

    @classmethod
    def single(cls, client: redis.Redis, endpoint: RedisEndpoint | None = None) -> Side:
        """A single server's side (``endpoint`` defaults to the client's)."""
        ep = endpoint or getattr(client, "_redisops_endpoint", None) or RedisEndpoint()
        return cls([client], [ep])

    def index_for(self, key: bytes) -> int:
        """The index of the client that holds ``key``."""
        if self.owners is None:
            return 0
        owner = self.owners[slot_of(key)]
        if owner < 0:
            raise InvalidArgument(
                f"hash slot {slot_of(key)} is served by no primary of the cluster",
                hint="assign every slot (cluster_state:ok) before copying",
            )
        return owner

    def client_for(self, key: bytes) -> redis.Redis:
        """The client of the node that holds ``key``."""
        return self.clients[self.index_for(key)]

    def group(self, keys: Sequence[bytes]) -> dict[int, list[bytes]]:
        """``keys`` by node index (order kept within a node)."""
        if self.owners is None:
            return {0: list(keys)} if keys else {}
        out: dict[int, list[bytes]] = {}
        for key in keys:
            out.setdefault(self.index_for(key), []).append(key)
        return out

    def close(self) -> None:
        """Close every client."""
        for c in self.clients:
            c.close()


def open_side(ep: RedisEndpoint, db: int = 0) -> Side:
    """A :class:`Side` for ``ep``: the server alone, or, when it runs in cluster mode, every primary of its
    cluster (same credentials and TLS settings, the host and port ``CLUSTER SLOTS`` announces).

    Raises:
        InvalidArgument: a database other than 0 on a cluster (cluster mode has only db 0).
    """
    first = connect(ep.with_db(db) if db else ep.with_db(0))
    try:
        clustered = is_cluster(first)
    except BaseException:
        first.close()
        raise
    if not clustered:
        return Side([first], [ep.with_db(db)])
    try:
        if db != 0:
            raise InvalidArgument(
                f"db {db} on a Redis Cluster: cluster mode has only db 0", hint="copy or verify db 0"
            )
        nodes = cluster_primaries(first)
    finally:
        first.close()
    owners = [-1] * SLOTS
    clients: list[redis.Redis] = []
    endpoints: list[RedisEndpoint] = []
    try:
        for i, (host, port, ranges) in enumerate(nodes):
            node_ep = dataclasses.replace(ep, host=host, port=port, db=0)
            clients.append(connect(node_ep))
            endpoints.append(node_ep)
            for start, end in ranges:
                owners[start : end + 1] = [i] * (end - start + 1)
    except BaseException:
        for c in clients:
            c.close()
        raise
    return Side(clients, endpoints, owners)


def primary_endpoints(ep: RedisEndpoint) -> list[RedisEndpoint] | None:
    """The endpoints of every primary when ``ep`` is a cluster node, else None."""
    side = open_side(ep)
    try:
        return list(side.endpoints) if side.clustered else None
    finally:
        side.close()


def merged_info(ep: RedisEndpoint, *sections: str) -> Info:
    """INFO ``sections`` of ``ep``; for a cluster, every primary's summed (memory fields, keyspace keys
    and expires), the other fields those of the first primary."""
    side = open_side(ep)
    try:
        infos = [parse_info(raw_command(c, "INFO", *sections)) for c in side.clients]
    finally:
        side.close()
    if len(infos) == 1:
        return infos[0]
    return _merge(infos)


def _sum(values: Sequence[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _merge(infos: Sequence[Info]) -> Info:
    first = infos[0]
    memory = first.memory
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(memory):
        values = [getattr(i.memory, f.name) for i in infos]
        if f.name.startswith("used_memory") and all(isinstance(v, int) or v is None for v in values):
            changes[f.name] = _sum(values)
    if all(i.memory.maxmemory for i in infos):  # a cluster target: every shard's maxmemory together
        changes["maxmemory"] = sum(int(i.memory.maxmemory or 0) for i in infos)
    keyspace: dict[int, Any] = {}
    for info in infos:
        for db, ks in info.keyspace.items():
            prev = keyspace.get(db)
            keyspace[db] = (
                ks
                if prev is None
                else dataclasses.replace(prev, keys=prev.keys + ks.keys, expires=prev.expires + ks.expires)
            )
    return dataclasses.replace(first, memory=dataclasses.replace(memory, **changes), keyspace=keyspace)
