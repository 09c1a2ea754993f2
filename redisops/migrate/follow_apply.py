"""The follow's two sides and the re-copy of changed keys.

Each side of a followed database is a :class:`~redisops.migrate.cluster.Side`: a single server, or the
primaries of a Redis Cluster (ElastiCache in cluster mode; db 0 only). A change seen on source primary
``node`` is re-read on that primary and written through the target's slot routing, the same
:class:`~redisops.migrate.copy.KeyCopier` the bulk copy uses; a key gone from the source is deleted on
the target node of its slot (one ``DEL`` per key on a cluster: a multi-key ``DEL`` across slots is
refused there with ``CROSSSLOT``).
"""

from __future__ import annotations

from typing import Any

import redis

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command
from redisops.cancel import CancelToken
from redisops.migrate.cluster import Side, open_side
from redisops.migrate.copy import ClientSource, KeyCopier, open_client
from redisops.migrate.copy_report import DbCopyStats
from redisops.migrate.follow_model import FollowOptions, FollowReport
from redisops.migrate.walker import RateLimiter

__all__ = ["Applier", "delete_keys", "open_follow_side", "pipe", "side_label"]


def pipe(client: redis.Redis, commands: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``commands`` in one pipeline on ``client``; errors are returned in place, not raised."""
    p = client.pipeline(transaction=False)
    for cmd in commands:
        p.execute_command(*cmd)  # type: ignore[no-untyped-call]
    return list(p.execute(raise_on_error=False))


def delete_keys(side: Side, keys: list[bytes]) -> int:
    """Delete ``keys`` on ``side``, each on the node of its slot; returns how many existed."""
    deleted = 0
    for node, group in side.group(keys).items():
        client = side.clients[node]
        if side.clustered:
            replies = pipe(client, [("DEL", k) for k in group])
            deleted += sum(int(r) for r in replies if not isinstance(r, Exception))
        else:
            deleted += int(raw_command(client, "DEL", *group))
    return deleted


def open_follow_side(src: ClientSource, db: int) -> Side:
    """A :class:`Side` of ``db``: an endpoint's server or cluster, or a factory's client."""
    if isinstance(src, RedisEndpoint):
        return open_side(src, db)
    return Side.single(open_client(src, db))


def side_label(side: Side, node: int) -> str:
    """``primary host:port`` of a cluster's node, else the empty string."""
    if not side.clustered:
        return ""
    ep = side.endpoints[node]
    return f"primary {ep.host}:{ep.port}"


class Applier:
    """Both sides per followed database and the re-copy of changed keys."""

    def __init__(
        self,
        source: ClientSource,
        target: ClientSource,
        options: FollowOptions,
        limiter: RateLimiter,
        report: FollowReport,
    ) -> None:
        self.source, self.target, self.o, self.limiter, self.report = source, target, options, limiter, report
        self.copy_options = options.copy_options()
        self._sides: dict[int, tuple[Side, Side]] = {}

    def sides(self, db: int) -> tuple[Side, Side]:
        """The source and target :class:`Side` of ``db`` (opened once, closed by :meth:`close`)."""
        if db not in self._sides:
            src = open_follow_side(self.source, db)
            try:
                tgt = open_follow_side(self.target, db)
            except BaseException:
                src.close()
                raise
            self._sides[db] = (src, tgt)
        return self._sides[db]

    @property
    def clustered(self) -> bool:
        """True when the source is a Redis Cluster."""
        return self.sides(0)[0].clustered

    @property
    def nodes(self) -> int:
        """Source primaries (1 for a single server)."""
        return len(self.sides(0)[0].clients)

    def label(self, node: int) -> str:
        """`` on primary host:port`` for a cluster source's node, else the empty string."""
        text = side_label(self.sides(0)[0], node)
        return f" on {text}" if text else ""

    def listen_client(self, node: int) -> redis.Redis:
        """A new client on source node ``node`` (db 0) for its pub/sub listener (the caller closes it)."""
        if isinstance(self.source, RedisEndpoint):
            return connect(self.sides(0)[0].endpoints[node].with_db(0))
        return open_client(self.source, 0)

    def apply(self, keys: list[bytes], db: int, node: int, cancel: CancelToken | None) -> None:
        """Re-copy ``keys`` of ``db`` from source node ``node``; delete on the target those gone from it."""
        src, tgt = self.sides(db)
        ep = src.endpoints[node] if isinstance(self.source, RedisEndpoint) else None
        copier = KeyCopier(src.clients[node], tgt, self.copy_options, self.limiter, cancel, ep,
                           track_gone=True)  # fmt: skip
        stats = DbCopyStats(db)
        copier.copy(keys, stats)
        self.report.applied += stats.copied
        for reason, n in stats.failed.items():
            self.report.failed[reason] = self.report.failed.get(reason, 0) + n
        if copier.gone:
            self.report.deleted += delete_keys(tgt, copier.gone)

    def close(self) -> None:
        """Close every client of both sides."""
        for src, tgt in self._sides.values():
            src.close()
            tgt.close()
        self._sides.clear()
