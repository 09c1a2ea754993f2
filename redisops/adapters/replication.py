"""Stream an RDB snapshot off a live Redis server over the replication protocol.

This is what ``redis-cli --rdb`` does, without touching the server's disk: connect, AUTH,
``REPLCONF capa eof`` (accept diskless transfers), ``REPLCONF rdb-only 1`` (Redis 6.2+: send the
snapshot, no command stream after it) and ``SYNC``. While the server forks and writes, it sends
bare ``\\n`` keep-alives. The payload is framed either as ``$<len>\\r\\n`` followed by exactly
``len`` bytes (disk-based sync) or as ``$EOF:<40-byte mark>\\r\\n``, the RDB, then the same mark
(diskless sync, the default since 7.0). With rdb-only the server closes the connection after the
payload.

The payload is yielded in chunks (bounded memory: at most one read plus a 40-byte hold-back) so
the caller can verify and upload it while it arrives::

    verifier = RdbStreamVerifier()
    with ReplicationRdbStream("redis-0.redis", 6379, username="backup", password=pw) as stream:
        for chunk in stream:
            verifier.feed(chunk)
            upload.write(chunk)
    result = verifier.finish()

With diskless sync (the default since 7.0) Redis waits ``repl-diskless-sync-delay`` seconds (default 5)
for more replicas before it forks, unless ``repl-diskless-sync-max-replicas`` of them are already
waiting: even a tiny dataset then takes seconds. The stream reads those settings (``CONFIG GET``, when
allowed) before ``SYNC`` and, when the payload does not start at once, reports the wait through
``on_phase`` (and the ``redisops.adapters.replication`` logger) so nobody stares at a silent backup.

SYNC and REPLCONF need the ``@admin`` ACL category. Every socket, TLS and protocol failure is
translated into :mod:`redisops.errors`; passwords never appear in messages, contexts or reprs.

The connection and handshake live in :mod:`redisops.adapters.replication_handshake`
(:class:`~redisops.adapters.replication_handshake.ReplicationConnection`); this module reads the payload.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Iterator

from redisops.adapters.replication_handshake import (
    DEFAULT_CHUNK_SIZE,
    EOF_MARK_SIZE,
    PhaseCallback,
    ProgressCallback,
    ReplicationConnection,
)
from redisops.cancel import CancelToken
from redisops.errors import ConnectionFailed, RedisOpsError

__all__ = ["DEFAULT_CHUNK_SIZE", "EOF_MARK_SIZE", "ReplicationRdbStream", "stream_rdb"]


class ReplicationRdbStream(ReplicationConnection):
    """One rdb-only replication transfer; a context manager and an iterator of payload chunks.

    ``__enter__`` (or ``open()``) connects and performs the handshake up to the payload header,
    so authentication and permission errors surface there. Iterating yields the RDB bytes; it ends
    when the payload is complete. Closing early (leaving the ``with`` block) drops the connection,
    which makes the server abort the transfer.

    Args:
        host, port: the server to snapshot.
        username, password: ACL credentials (``AUTH password`` when only a password is given).
        ssl: False, True (TLS with the system trust store and hostname check) or an
            ``ssl.SSLContext``.
        timeout: seconds of silence tolerated while reading (keep-alives reset it; the server
            sends one per second while it forks); also the connect timeout.
        chunk_size: the largest chunk yielded.
        on_progress: called after each chunk with (bytes so far, total or None).
        on_phase: called once with a sentence when, after SYNC was accepted, the payload does not start
            at once: Redis is waiting for ``repl-diskless-sync-delay`` (or writing the snapshot to disk).
        cancel: a :class:`~redisops.cancel.CancelToken`; checked before the handshake and after every
            chunk, and its cancellation shuts the socket down, so a read blocked on a silent server (the
            diskless delay, a slow fork) wakes at once. The stream then raises
            :class:`~redisops.errors.Interrupted` (not the connection error the shutdown causes).

    Attributes:
        framing: ``"length"`` or ``"eof"`` once the payload header has arrived.
        expected_size: the payload size with length framing, else None.
        bytes_received: payload bytes yielded so far.
        sync_config: the server's ``repl-diskless-sync*`` settings (None when CONFIG is not allowed).
        wait_message: the sentence reported through ``on_phase``, once it was.
        keepalives: the keep-alive newlines received before the payload (Redis sends one a second
            while it waits for the delay and while a disk-based snapshot is written).
    """

    # -- payload -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[bytes]:
        if self._iterated:
            raise ValueError("a ReplicationRdbStream can be iterated only once")
        self._iterated = True
        self.open()
        try:
            if self.framing == "length":
                yield from self._length_payload()
            else:
                yield from self._eof_payload()
        except RedisOpsError:
            self._stop_if_cancelled("while streaming the snapshot")  # the shutdown we caused
            raise
        finally:
            self.close()

    def _progress(self, n: int) -> None:
        self.bytes_received += n
        if self._on_progress is not None:
            self._on_progress(self.bytes_received, self.expected_size)
        self._stop_if_cancelled("while streaming the snapshot")

    def _low_water(self) -> int:
        # a chunk is handed on once less than this much room is left in the buffer: Redis writes the
        # payload in ~16 KB pieces, and per-piece work downstream (hashing, parsing, progress) costs
        # more than the bytes; whole chunks keep it proportional to the data
        return max(1, min(64 * 1024, self.chunk_size // 4))

    def _length_payload(self) -> Iterator[bytes]:
        assert self.expected_size is not None
        remaining = self.expected_size
        pending, self._buf = bytes(self._buf[:remaining]), bytearray()
        if pending:
            remaining -= len(pending)
            self._progress(len(pending))
            yield pending
        buf = bytearray(self.chunk_size)
        view = memoryview(buf)
        low = self._low_water()
        try:
            while remaining > 0:
                have, want = 0, min(self.chunk_size, remaining)
                while have < want and (have == 0 or want - have >= low):
                    n = self._recv_into(view[have:want], "while streaming the snapshot")
                    if not n:
                        got = self.bytes_received + have
                        raise self._truncated(f"{got} of {self.expected_size} bytes")
                    have += n
                remaining -= have
                self._progress(have)
                yield bytes(view[:have])
        finally:
            view.release()

    def _eof_payload(self) -> Iterator[bytes]:
        # One buffer: the last EOF_MARK_SIZE bytes seen (possibly the mark) followed by what the next
        # recv_into calls bring; everything but that tail is handed on once the buffer is nearly full.
        # The mark is checked after every recv: nothing follows it.
        mark, keep = self._eof_mark, EOF_MARK_SIZE
        buf = bytearray(max(self.chunk_size, len(self._buf)) + keep)
        have = len(self._buf)
        buf[:have], self._buf = self._buf, bytearray()
        view = memoryview(buf)
        low = self._low_water()
        try:
            while True:
                if have >= keep and view[have - keep : have] == mark:
                    if have > keep:
                        self._progress(have - keep)
                        yield bytes(view[: have - keep])
                    return
                if have > keep and len(buf) - have < low:
                    body = have - keep
                    self._progress(body)
                    yield bytes(view[:body])
                    buf[:keep] = bytes(view[body:have])
                    have = keep
                n = self._recv_into(view[have:], "while streaming the snapshot")
                if not n:
                    got = self.bytes_received + have
                    raise self._truncated(f"{got} bytes (size unknown: diskless transfer) and no end mark")
                have += n
        finally:
            view.release()

    def _truncated(self, what: str) -> ConnectionFailed:
        return ConnectionFailed(
            f"Redis at {self._where} closed the connection before the snapshot was complete: received {what}",
            hint="the server may have restarted or hit its output-buffer limit for replicas "
            "(client-output-buffer-limit replica); retry the backup",
            context=self._ctx(bytes_received=self.bytes_received, expected_size=self.expected_size),
        )


def stream_rdb(
    host: str,
    port: int = 6379,
    *,
    username: str | None = None,
    password: str | None = None,
    ssl: bool | _ssl.SSLContext = False,
    timeout: float = 60.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_progress: ProgressCallback | None = None,
    on_phase: PhaseCallback | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[bytes]:
    """Yield the RDB snapshot of a live server in chunks (see :class:`ReplicationRdbStream`).

    The connection is made on the first ``next()``; it is closed when the iterator is exhausted,
    closed or garbage-collected.

    Raises:
        AuthError: NOAUTH / WRONGPASS, or NOPERM (the user lacks the @admin category).
        PlatformError: SYNC/REPLCONF unknown (renamed away, managed service), or refused.
        ConnectionFailed: unreachable, or the connection dropped before the payload completed.
        OperationTimeout: the server went silent for ``timeout`` seconds.
        ParseError: the reply is not the replication protocol.
    """
    stream = ReplicationRdbStream(
        host,
        port,
        username=username,
        password=password,
        ssl=ssl,
        timeout=timeout,
        chunk_size=chunk_size,
        on_progress=on_progress,
        on_phase=on_phase,
        cancel=cancel,
    )
    with stream:
        yield from stream
