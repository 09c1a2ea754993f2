"""Shield a clean-up from a second Ctrl-C: abort the multipart upload, release the lock, then stop.

The CLI's first Ctrl-C cancels the operation's token; its second raises :class:`KeyboardInterrupt` at
once, wherever the main thread is. In the middle of a clean-up (the abort of a multipart upload, the
release of a backup lock) that would leave the upload open or the lock held. While a shield is up
(:func:`shielded`, or :meth:`InterruptShield.engage` from a cancel callback) SIGINT is deferred: the
clean-up finishes and the operation stops as it was going to (one :class:`~redisops.errors.Interrupted`,
exit 130). A further Ctrl-C while shielded (the third in all) is let through as KeyboardInterrupt: the way
out when the clean-up itself hangs (``backup gc`` and ``backup unlock`` then remove what is left).

Signals are handled in the main thread only: elsewhere (a TUI worker) the shield does nothing, and no
KeyboardInterrupt can land there either::

    with shielded("aborting the upload"):
        s3.abort_multipart_upload(key, upload_id)
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["InterruptShield", "main_shield", "shielded"]

log = logging.getLogger(__name__)

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class InterruptShield:
    """Defers SIGINT between :meth:`engage` and :meth:`release` (main thread only; nests)."""

    def __init__(self, doing: str = "cleaning up") -> None:
        self.doing = doing
        #: SIGINTs received (and deferred) while engaged
        self.deferred = 0
        self._previous: _Handler = None
        self._depth = 0

    @property
    def active(self) -> bool:
        """True while SIGINT is deferred."""
        return self._depth > 0

    def engage(self, doing: str | None = None) -> None:
        """Start deferring SIGINT (a no-op outside the main thread); pair with :meth:`release`.
        ``doing`` (what is being finished) is said when a Ctrl-C is deferred."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._depth += 1
        if self._depth == 1:
            self.doing, self.deferred = doing or self.doing, 0
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)

    def release(self) -> None:
        """Stop deferring (the previous handler is back once every :meth:`engage` is released)."""
        if threading.current_thread() is not threading.main_thread() or self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.SIG_DFL)
            self._previous = None

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.deferred += 1
        if self.deferred == 1:
            log.warning("Ctrl-C: %s first, then stopping (Ctrl-C again to leave it unfinished)", self.doing)
            return
        raise KeyboardInterrupt


#: the shield of the main thread (one at a time: nested clean-ups share it)
_MAIN = InterruptShield()


@contextmanager
def shielded(doing: str = "cleaning up") -> Iterator[InterruptShield]:
    """Defer SIGINT while the block runs (see the module docstring). A Ctrl-C deferred by the outermost
    shield is raised as KeyboardInterrupt once the block has finished without an error of its own."""
    _MAIN.engage(doing)
    try:
        yield _MAIN
    except BaseException:
        _MAIN.release()
        raise
    _MAIN.release()
    handling = sys.exc_info()[1] is not None  # in an except block: that error goes on, not a new one
    if (
        _MAIN.deferred
        and not _MAIN.active
        and not handling
        and threading.current_thread() is threading.main_thread()
    ):
        _MAIN.deferred = 0
        raise KeyboardInterrupt


def main_shield() -> InterruptShield:
    """The main thread's shield, for a cancel callback that engages it (:meth:`InterruptShield.engage`);
    the operation releases it when it returns."""
    return _MAIN
