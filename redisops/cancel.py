"""Cancellation: one token that long operations check, whoever asks them to stop.

Ctrl-C in the CLI, a runbook step's timeout and a TUI cancel button all call :meth:`CancelToken.cancel`;
the operation notices at its next :meth:`~CancelToken.check` (between chunks, keys, polls) or wakes from
:meth:`~CancelToken.sleep` at once, cleans up what it started and raises
:class:`~redisops.errors.Interrupted` saying what was kept::

    from redisops.cancel import CancelToken
    from redisops.errors import Interrupted

    token = CancelToken()
    token.check()                     # not cancelled: returns
    token.cancel("timeout after 30 s")
    try:
        token.check()
    except Interrupted as e:
        assert "timeout after 30 s" in e.message

Callbacks registered with :meth:`~CancelToken.on_cancel` run once, on the cancelling thread: an
operation blocked in a socket read registers one that closes the socket, so it wakes up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from redisops.errors import Interrupted

__all__ = ["CancelToken"]


class CancelToken:
    """A thread-safe, one-way "please stop" flag with a reason and wake-up callbacks."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the operation to stop; the first reason is kept. Runs the callbacks once."""
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` when cancelled (at once if already); returns a function that unregisters it."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def check(self, doing: str = "") -> None:
        """Raise :class:`Interrupted` when cancelled; ``doing`` says where (``"while streaming"``)."""
        if self._event.is_set():
            where = f" {doing}" if doing else ""
            raise Interrupted(f"{self.reason}{where}", context={"reason": self.reason})

    def sleep(self, seconds: float, doing: str = "") -> None:
        """Wait ``seconds`` unless cancelled first (then raise :class:`Interrupted` at once)."""
        if self._event.wait(max(0.0, seconds)):
            self.check(doing)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout``; True when cancelled."""
        return self._event.wait(timeout)
