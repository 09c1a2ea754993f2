"""The follow's pub/sub listener: one per source node (keyspace notifications are per node: a Redis
Cluster's primary publishes only the events of the keys it holds).

A :class:`Listener` thread PSUBSCRIBEs ``__keyspace@*__:*`` and ``__keyevent@*__:*`` on its node and
records each changed key with the time it was first seen; :meth:`Listener.barrier` makes sure every
event the node sent before now was read (a PUBLISH on the listener's own channel), so a stop drains
exactly.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from typing import Any

import redis

from redisops.adapters.redis_conn import raw_command

__all__ = ["Listener"]


class Listener:
    """The pub/sub thread: records ``(db, key) -> first seen`` and flush events."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.pending: dict[tuple[int, bytes], float] = {}
        self.flushes: list[tuple[int | None, str]] = []
        self.seen = 0
        self.lost: str | None = None
        self.stop = threading.Event()
        self.channel = f"__redisops_follow_barrier__:{secrets.token_hex(6)}".encode()
        self.barriers: set[bytes] = set()
        self.barrier_seen = threading.Condition(self.lock)
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.restart(first=True)

    def restart(self, *, first: bool = False) -> None:
        """(Re)subscribe on a new connection and start the reading thread (pending changes are kept)."""
        if not first:
            self.close()
            self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self.stop = threading.Event()
        self.lost = None
        self.pubsub.psubscribe("__keyspace@*__:*", "__keyevent@*__:*")
        self.pubsub.subscribe(self.channel)
        if self.pubsub.connection is not None:  # told of every later reconnect (see _reconnected)
            self.pubsub.connection.register_connect_callback(self._reconnected)
        self.thread = threading.Thread(target=self._run, name="migrate-follow-listener", daemon=True)
        self.thread.start()

    def _reconnected(self, connection: Any) -> None:
        """redis-py reconnects a dropped pub/sub connection by itself and subscribes again, silently: the
        events sent in between are lost, so the drop is reported as lost (the loop resubscribes and runs
        a SCAN pass)."""
        self.lost = "the connection dropped; the events sent until it was back are missed"

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                msg = self.pubsub.get_message(timeout=0.1)
            except (redis.RedisError, OSError, ValueError) as e:
                self.lost = f"{type(e).__name__}: {e}"
                return
            if msg is not None and msg.get("type") == "pmessage":
                self._record(bytes(msg["channel"]), msg["data"])
            elif msg is not None and msg.get("type") == "message" and msg.get("channel") == self.channel:
                with self.barrier_seen:
                    self.barriers.add(bytes(msg["data"]))
                    self.barrier_seen.notify_all()

    def barrier(self, publisher: redis.Redis, timeout: float) -> bool:
        """Wait until every event the source sent before now was recorded: PUBLISH a marker on our own
        channel (Redis delivers a client's messages in order; PUBLISH changes no data). False on timeout
        or a lost subscription."""
        marker = secrets.token_hex(8).encode()
        raw_command(publisher, "PUBLISH", self.channel, marker)
        deadline = time.monotonic() + timeout
        with self.barrier_seen:
            while marker not in self.barriers:
                left = deadline - time.monotonic()
                if left <= 0 or self.lost is not None or not self.thread.is_alive():
                    return False
                self.barrier_seen.wait(min(left, 0.1))
            self.barriers.discard(marker)
        return True

    def _record(self, channel: bytes, data: Any) -> None:
        data = data if isinstance(data, bytes) else str(data).encode()
        space = channel.startswith(b"__keyspace@")
        head, sep, rest = channel.partition(b"__:")
        if not sep:
            return
        try:
            db = int(head.rsplit(b"@", 1)[1])
        except (IndexError, ValueError):
            return
        event, key = (data, rest) if space else (rest, data)
        with self.lock:
            self.seen += 1
            if event in (b"flushdb", b"flushall"):
                self.flushes.append((None if event == b"flushall" else db, event.decode()))
                return
            self.pending.setdefault((db, key), time.monotonic())

    def take(self) -> tuple[dict[tuple[int, bytes], float], list[tuple[int | None, str]]]:
        """The changes ``(db, key) -> first seen`` and flush events recorded so far (and forget them)."""
        with self.lock:
            pending, self.pending = self.pending, {}
            flushes, self.flushes = self.flushes, []
        return pending, flushes

    def requeue(self, pending: dict[tuple[int, bytes], float]) -> None:
        """Put changes taken but not (surely) applied back, keeping the earliest first-seen time."""
        with self.lock:
            for k, first in pending.items():
                self.pending[k] = min(first, self.pending.get(k, first))

    def oldest(self) -> float | None:
        """When the oldest change not yet taken was first seen (monotonic clock), None when there is none."""
        with self.lock:
            return min(self.pending.values()) if self.pending else None

    def close(self) -> None:
        """Stop the reading thread and close the subscription (the caller closes :attr:`client`)."""
        self.stop.set()
        self.thread.join(timeout=2)
        if self.pubsub.connection is not None:  # the pooled connection may serve the next subscription
            self.pubsub.connection.deregister_connect_callback(self._reconnected)
        with contextlib.suppress(redis.RedisError, OSError):
            self.pubsub.close()
