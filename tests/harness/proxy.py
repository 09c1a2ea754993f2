"""A TCP proxy for fault injection: cut a live connection to S3 or Redis mid-transfer, then restore it.

Killing the moto server would also erase its state (it is in memory), and "earlier backups are intact"
could not be checked; a proxy in front of it makes the endpoint vanish for the client while the store
keeps its contents.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class TcpProxy:
    """Relay ``127.0.0.1:<port>`` to ``target``; ``cut()`` drops every connection and refuses new ones.

    ``cut_after`` (bytes, either direction, summed over connections) cuts automatically once exceeded.
    """

    def __init__(self, target: tuple[str, int], *, cut_after: int | None = None) -> None:
        self.target = target
        self.cut_after = cut_after
        self.transferred = 0
        self.cut_count = 0
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    def _listen(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self._listener = s
        t = threading.Thread(target=self._accept, args=(s,), daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            pending = [2]  # the second relay thread to finish closes both sockets
            for a, b in ((client, upstream), (upstream, client)):
                t = threading.Thread(target=self._pipe, args=(a, b, pending), daemon=True)
                t.start()
                self._threads.append(t)

    def _pipe(self, src: socket.socket, dst: socket.socket, pending: list[int]) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                with self._lock:
                    self.transferred += len(data)
                    over = self.cut_after is not None and self.transferred > self.cut_after
                if over:
                    self.cut()
                    return
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                pending[0] -= 1
                last = pending[0] == 0
            if last:
                for s in (src, dst):
                    s.close()

    def cut(self) -> None:
        """Drop all connections (RST) and stop listening: the endpoint is gone for clients."""
        with self._lock:
            self.cut_after = None
            self.cut_count += 1
            conns, self._conns = self._conns, []
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for c in conns:
            # linger 0 makes the close a reset; shutdown wakes the relay threads blocked in recv()
            with contextlib.suppress(OSError):
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        """Listen again on the same port."""
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        """Cut and join the relay threads."""
        self.cut()
        for t in self._threads:
            t.join(timeout=2)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
