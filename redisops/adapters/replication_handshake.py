"""The connection half of a replication transfer: connect (TCP/TLS), AUTH, REPLCONF, the
``repl-diskless-sync*`` probe, SYNC, and reading up to the payload header.

:class:`ReplicationConnection` is the base of :class:`redisops.adapters.replication.ReplicationRdbStream`,
which adds the payload stream; see that module for the protocol. Every socket, TLS and protocol failure is
translated into :mod:`redisops.errors`; passwords never appear in messages, contexts or reprs.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl as _ssl
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Self

from redisops.cancel import CancelToken
from redisops.errors import (
    AuthError,
    ConnectionFailed,
    OperationTimeout,
    ParseError,
    PlatformError,
    RedisOpsError,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_PREFETCH",
    "EOF_MARK_SIZE",
    "PhaseCallback",
    "ProgressCallback",
    "ReplicationConnection",
]

DEFAULT_CHUNK_SIZE = 1 << 20
EOF_MARK_SIZE = 40
#: the most payload bytes :meth:`ReplicationConnection.prefetch` holds before the stream is read
DEFAULT_PREFETCH = 32 << 20
_MAX_LINE = 64 * 1024

ProgressCallback = Callable[[int, int | None], None]
"""Called after each chunk with (bytes received so far, total size or None when unknown)."""
PhaseCallback = Callable[[str], None]
"""Called with a sentence when the stream enters a phase worth telling (waiting for the server)."""

# the stream's logger: the split into modules does not change where its messages go
log = logging.getLogger("redisops.adapters.replication")

#: how long the payload may take to start before the wait is reported
_QUIET_START = 0.05

_SCAN_HINT = (
    "replication-based backup is not possible on this endpoint (SYNC is disabled or renamed, "
    "as on managed services such as ElastiCache); use the migration's SCAN/DUMP path instead"
)


class ReplicationConnection:
    """The handshake of one rdb-only replication transfer, up to the payload header.

    Holds the connection, the settings and what the header said (``framing``, ``expected_size``);
    :class:`~redisops.adapters.replication.ReplicationRdbStream` documents the arguments and attributes
    and reads the payload.
    """

    def __init__(
        self,
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
    ) -> None:
        if chunk_size < EOF_MARK_SIZE + 1:
            raise ValueError(f"chunk_size must be more than {EOF_MARK_SIZE}")
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self._ssl = ssl
        self.timeout = timeout
        self.chunk_size = chunk_size
        self._on_progress = on_progress
        self._on_phase = on_phase
        self.sync_config: dict[str, str] | None = None
        self.wait_message: str | None = None
        self.keepalives = 0
        self._sock: socket.socket | None = None
        self._buf = bytearray()  # bytes read from the socket and not consumed yet
        self.framing: Literal["length", "eof"] | None = None
        self.expected_size: int | None = None
        self._eof_mark = b""
        self.bytes_received = 0
        self._iterated = False
        self._cancel = cancel
        self._unwatch: Callable[[], None] | None = None
        self._prefetch: _Prefetch | None = None

    def __repr__(self) -> str:
        auth = f", username={self.username!r}" if self.username else ""
        auth += ", password='***'" if self._password is not None else ""
        return f"{type(self).__name__}({self.host!r}, {self.port}{auth}, ssl={bool(self._ssl)})"

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect, authenticate, send REPLCONF/SYNC and read up to the payload header."""
        if self._sock is not None:
            return
        try:
            self._stop_if_cancelled("before the snapshot stream started")
            if self._cancel is not None and self._unwatch is None:
                self._unwatch = self._cancel.on_cancel(self._wake)
            self._connect()
            self._stop_if_cancelled("before the snapshot stream started")  # cancelled while connecting
            self._handshake()
        except BaseException as e:
            self.close()
            if isinstance(e, RedisOpsError):
                self._stop_if_cancelled("while waiting for the snapshot")
            raise

    def _stop_if_cancelled(self, doing: str) -> None:
        """Raise Interrupted when the cancel token was cancelled (no-op without a token)."""
        if self._cancel is not None:
            self._cancel.check(doing)

    def _wake(self) -> None:
        """On cancel (another thread): shut the socket down so a blocked read returns at once."""
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def prefetch(self, limit: int = DEFAULT_PREFETCH) -> None:
        """Read the payload in the background until it is iterated (at most ``limit`` bytes held).

        Call it after :meth:`open` when something else comes first (taking the backup lock, building an
        S3 client): the server's child keeps writing the snapshot meanwhile instead of stalling on a
        full socket. The first read of the payload stops the reader; what it holds is served first.
        No-op when not open or already prefetching.
        """
        if self._sock is not None and self._prefetch is None and self.framing is not None:
            self._prefetch = _Prefetch(self._sock, limit, self.chunk_size)

    @property
    def prefetched(self) -> int:
        """Payload bytes :meth:`prefetch` read ahead that were not handed on yet."""
        p = self._prefetch
        return 0 if p is None else p.size - p.taken

    def close(self) -> None:
        """Drop the connection (idempotent)."""
        if self._prefetch is not None:
            self._prefetch.stop()  # no read on a socket being closed
        sock, self._sock = self._sock, None
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def _ctx(self, **extra: object) -> dict[str, object]:
        ctx: dict[str, object] = {"host": self.host, "port": self.port}
        if self.username:
            ctx["username"] = self.username
        ctx.update(extra)
        return ctx

    def _connect(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError as e:
            raise ConnectionFailed(
                f"timed out connecting to Redis at {self._where}", context=self._ctx()
            ) from e
        except OSError as e:
            raise ConnectionFailed(
                f"cannot connect to Redis at {self._where}: {e.strerror or e}", context=self._ctx()
            ) from e
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl:
                context = (
                    self._ssl if isinstance(self._ssl, _ssl.SSLContext) else _ssl.create_default_context()
                )
                sock = context.wrap_socket(sock, server_hostname=self.host)
        except _ssl.SSLError as e:
            sock.close()
            raise ConnectionFailed(
                f"TLS handshake with {self._where} failed: {e.reason or e}",
                hint="check that the server speaks TLS on this port and that its certificate is trusted",
                context=self._ctx(),
                retryable=False,
            ) from e
        except OSError as e:
            sock.close()
            raise ConnectionFailed(f"connection to {self._where} failed: {e}", context=self._ctx()) from e
        self._sock = sock

    # -- low-level I/O -----------------------------------------------------------------------

    def _recv(self, size: int, during: str) -> bytes:
        if self._prefetch is not None:
            buf = bytearray(size)
            n = self._recv_into(memoryview(buf), during)
            return bytes(buf[:n])
        assert self._sock is not None
        try:
            return self._sock.recv(size)
        except OSError as e:
            raise self._recv_error(e, during) from e

    def _recv_into(self, into: memoryview, during: str) -> int:
        if self._prefetch is not None:
            n = self._prefetch.take(into)
            if n is not None:
                return n
            error, self._prefetch = self._prefetch.error, None
            if error is not None:
                raise self._recv_error(error, during) from error
        assert self._sock is not None
        try:
            return self._sock.recv_into(into)
        except OSError as e:
            raise self._recv_error(e, during) from e

    def _recv_error(self, e: OSError, during: str) -> RedisOpsError:
        if isinstance(e, TimeoutError):
            return OperationTimeout(
                f"Redis at {self._where} sent nothing for {self.timeout:g} s {during}",
                hint="the server may be overloaded or the network stalled; retry, or raise the timeout",
                context=self._ctx(bytes_received=self.bytes_received),
            )
        return ConnectionFailed(
            f"connection to {self._where} failed {during}: {e.strerror or e}",
            context=self._ctx(bytes_received=self.bytes_received),
        )

    def _send_command(self, *args: str) -> None:
        assert self._sock is not None
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            raw = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        try:
            self._sock.sendall(b"".join(parts))
        except OSError as e:
            raise ConnectionFailed(
                f"connection to {self._where} failed while sending {args[0]}: {e.strerror or e}",
                context=self._ctx(),
            ) from e

    def _read_line(self, during: str) -> bytes:
        while True:
            idx = self._buf.find(b"\r\n")
            if idx >= 0:
                line = bytes(self._buf[:idx])
                del self._buf[: idx + 2]
                return line
            if len(self._buf) > _MAX_LINE:
                raise ParseError(
                    f"Redis at {self._where} sent an over-long line {during}", context=self._ctx()
                )
            data = self._recv(4096, during)
            if not data:
                raise ConnectionFailed(
                    f"Redis at {self._where} closed the connection {during}", context=self._ctx()
                )
            self._buf += data

    # -- protocol ----------------------------------------------------------------------------

    def _handshake(self) -> None:
        if self._password is not None:
            if self.username:
                self._send_command("AUTH", self.username, self._password)
            else:
                self._send_command("AUTH", self._password)
            self._expect_ok("AUTH")
        self._send_command("REPLCONF", "capa", "eof")
        self._expect_ok("REPLCONF capa eof")
        self._send_command("REPLCONF", "rdb-only", "1")
        self._expect_ok("REPLCONF rdb-only")
        self.sync_config = self._read_sync_config()
        self._send_command("SYNC")
        self._read_payload_header()

    def _read_sync_config(self) -> dict[str, str] | None:
        """``CONFIG GET repl-diskless-sync*`` as a dict; None when CONFIG is refused or renamed away."""
        self._send_command("CONFIG", "GET", "repl-diskless-sync*")
        during = "waiting for the reply to CONFIG GET"
        head = self._read_line(during)
        if head.startswith(b"-"):
            return None  # NOPERM, or CONFIG renamed away (managed services): the wait is not known
        if not head.startswith(b"*") or not head[1:].isdigit():
            raise ParseError(
                f"unexpected reply to CONFIG GET from {self._where}: {_printable(head)}", context=self._ctx()
            )
        words = []
        for _ in range(int(head[1:])):
            size = self._read_line(during)
            if not size.startswith(b"$"):
                raise ParseError(
                    f"unexpected reply to CONFIG GET from {self._where}: {_printable(size)}",
                    context=self._ctx(),
                )
            words.append(self._read_line(during).decode("utf-8", "replace"))
        return dict(zip(words[::2], words[1::2], strict=False))

    def _describe_wait(self) -> str | None:
        """The sentence for a payload that does not start at once; None when no wait is expected."""
        cfg = self.sync_config
        if cfg is None or "repl-diskless-sync" not in cfg:
            return "waiting for Redis to start the stream (up to the server's repl-diskless-sync-delay)"
        if cfg["repl-diskless-sync"] != "yes":
            return "waiting for Redis to write the snapshot to disk (repl-diskless-sync no)"
        delay = cfg.get("repl-diskless-sync-delay", "")
        if delay == "0" or cfg.get("repl-diskless-sync-max-replicas") == "1":
            return None  # the transfer starts at once
        limit = f"up to {delay}s" if delay.isdigit() else "up to the server's delay"
        return f"waiting for Redis to start the stream (repl-diskless-sync-delay, {limit})"

    def _note_wait(self) -> None:
        if self.wait_message is not None:
            return
        message = self._describe_wait()
        if message is None:
            return
        self.wait_message = message
        log.info("%s: %s", self._where, message)
        if self._on_phase is not None:
            self._on_phase(message)

    def _readable(self, timeout: float) -> bool:
        assert self._sock is not None
        if isinstance(self._sock, _ssl.SSLSocket) and self._sock.pending():
            return True
        try:
            ready, _, _ = select.select([self._sock], [], [], timeout)
        except (OSError, ValueError):
            return True  # let the read report it
        return bool(ready)

    def _expect_ok(self, command: str) -> None:
        line = self._read_line(f"waiting for the reply to {command}")
        if line.startswith(b"+"):
            return
        if line.startswith(b"-"):
            raise self._server_error(command, line[1:].decode("utf-8", "replace"))
        raise ParseError(
            f"unexpected reply to {command} from {self._where}: {_printable(line)}", context=self._ctx()
        )

    def _read_payload_header(self) -> None:
        during = "waiting for the snapshot (SYNC)"
        quiet_checked = False
        while True:
            if self._buf[:1] == b"\n":  # keep-alives while the server waits, forks or writes
                while self._buf[:1] == b"\n":
                    del self._buf[:1]
                    self.keepalives += 1
                self._note_wait()
            if not self._buf:
                if not quiet_checked:
                    quiet_checked = True
                    if not self._readable(_QUIET_START):
                        self._note_wait()
                data = self._recv(4096, during)
                if not data:
                    raise ConnectionFailed(
                        f"Redis at {self._where} closed the connection before sending the snapshot",
                        hint="the server may have failed to fork or save; check its log",
                        context=self._ctx(),
                    )
                self._buf += data
                continue
            break
        line = self._read_line(during)
        if line.startswith(b"-"):
            raise self._server_error("SYNC", line[1:].decode("utf-8", "replace"))
        if line.startswith(b"$EOF:"):
            mark = line[5:]
            if len(mark) != EOF_MARK_SIZE:
                raise ParseError(
                    f"Redis at {self._where} sent an EOF mark of {len(mark)} bytes, expected {EOF_MARK_SIZE}",
                    context=self._ctx(),
                )
            self.framing, self._eof_mark = "eof", mark
            return
        if line.startswith(b"$") and line[1:].isdigit():
            self.framing, self.expected_size = "length", int(line[1:])
            return
        raise ParseError(
            f"unexpected reply to SYNC from {self._where}: {_printable(line)}",
            hint="is this a Redis server (not a proxy)?",
            context=self._ctx(),
        )

    def _server_error(self, command: str, message: str) -> RedisOpsError:
        safe = self._redact(message)
        code = safe.split(" ", 1)[0].upper()
        ctx = self._ctx(command=command, server_error=safe)
        if code == "NOPERM":
            return AuthError(
                f"user {self.username or 'default'!r} may not run {command} on {self._where}: {safe}",
                hint="grant the backup user the @admin category (SYNC and REPLCONF need it), "
                "e.g. ACL SETUSER backup +@admin",
                context=ctx,
            )
        if code in ("NOAUTH", "WRONGPASS") or (command == "AUTH" and code == "ERR"):
            return AuthError(
                f"authentication to {self._where} failed: {safe}",
                hint="check the username and password of the backup user",
                context=ctx,
            )
        if code == "ERR" and "unknown command" in safe.lower():
            return PlatformError(
                f"{command} is not available on {self._where}: {safe}", hint=_SCAN_HINT, context=ctx
            )
        if command == "REPLCONF rdb-only" and "unrecognized" in safe.lower():
            return PlatformError(
                f"{self._where} does not support rdb-only replication: {safe}",
                hint="streamed RDB backups need Redis 6.2 or later; use the migration's SCAN/DUMP path",
                context=ctx,
            )
        if code in ("LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN"):
            return ConnectionFailed(
                f"Redis at {self._where} cannot serve {command} right now: {safe}",
                hint="the server is loading or busy; retry shortly",
                context=ctx,
            )
        return PlatformError(f"Redis at {self._where} refused {command}: {safe}", context=ctx)

    def _redact(self, message: str) -> str:
        # "unknown command 'AUTH', with args beginning with: 'user' 'secret'" echoes arguments.
        cut = message.find(", with args beginning with")
        if cut >= 0:
            message = message[:cut]
        if self._password:
            message = message.replace(self._password, "***")
        return message


def _printable(line: bytes) -> str:
    return repr(line[:80])[2:-1]


class _Prefetch:
    """A background reader of one socket, until stopped or ``limit`` bytes are held (then it waits).

    Only one thread reads the socket at a time: :meth:`take` stops the reader (joins it) before serving
    what it read; after that the caller reads the socket itself.
    """

    def __init__(self, sock: socket.socket, limit: int, chunk: int) -> None:
        self._sock = sock
        self._limit = max(1, limit)
        self._chunk = chunk
        self._held: deque[memoryview] = deque()
        self.size = 0  # bytes read
        self.taken = 0  # bytes handed on
        self.error: OSError | None = None
        self.eof = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-prefetch", daemon=True)
        self._thread.start()

    def _readable(self) -> bool:
        if isinstance(self._sock, _ssl.SSLSocket) and self._sock.pending():
            return True
        try:
            ready, _, _ = select.select([self._sock], [], [], 0.05)
        except (OSError, ValueError):
            return True  # let the read report it
        return bool(ready)

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                if self.size >= self._limit:
                    self._stopped.wait()  # full: the server waits until the stream is read
                    return
                if not self._readable():
                    continue
                data = self._sock.recv(min(self._chunk, self._limit - self.size))
                if not data:
                    self.eof = True
                    return
                self._held.append(memoryview(data))
                self.size += len(data)
        except OSError as e:
            self.error = e

    def stop(self) -> None:
        """Stop reading (idempotent); returns once the reader has finished its current read."""
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def take(self, into: memoryview) -> int | None:
        """Copy held bytes into ``into``: their count, 0 at the end of the stream, or None when nothing
        is held any more (read the socket; :attr:`error` first when the reader failed)."""
        self.stop()
        if self._held:
            head = self._held[0]
            n = min(len(into), len(head))
            into[:n] = head[:n]
            if n < len(head):
                self._held[0] = head[n:]
            else:
                self._held.popleft()
            self.taken += n
            return n
        if self.eof:
            return 0
        return None
