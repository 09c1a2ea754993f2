"""Small adapters the catalogue entries share: old progress callbacks onto a :class:`Reporter`.

Operations written before the event stream report through callbacks of their own shape (a sentence,
or ``(phase, done, total)``); an entry hands them one of these, so every front end sees the same
events::

    from redisops.events import Recorder, Reporter
    from redisops.ops.entries_util import log_progress, phase_progress

    events = Recorder()
    r = Reporter("demo.op", events)
    log_progress(r)("scaling Deployment redis to 0")
    say = phase_progress(r)
    say("download", 10, 100)
    say("download", 100, 100)
    assert events.kinds() == ["log", "phase", "progress", "progress"]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from redisops.events import Reporter

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.config.model import DeploymentConfig

__all__ = ["deploy_config", "interrupt_on_cancel", "log_progress", "phase_progress"]


def deploy_config(target: Any) -> DeploymentConfig:
    """The target's config with the ``REDISOPS_S3_*`` overrides of the target's environment applied
    (what the in-cluster Jobs are rendered with), as the CLI's Kubernetes restore does."""
    config: DeploymentConfig = target.deployment_config()
    return config


def log_progress(reporter: Reporter) -> Callable[[str], None]:
    """A ``progress(message)`` callback that reports each sentence as a ``log`` event."""

    def say(message: str) -> None:
        reporter.log(message)

    return say


def phase_progress(reporter: Reporter, unit: str = "bytes") -> Callable[[str, int, int | None], None]:
    """A ``progress(phase, done, total)`` callback: a ``phase`` event when the phase changes, then
    ``progress`` events in ``unit``."""

    def on(phase: str, done: int, total: int | None) -> None:
        if reporter.current_phase != phase:
            reporter.phase(phase)
        reporter.progress(done, total, unit=unit)

    return on


@contextmanager
def interrupt_on_cancel(cancel: CancelToken) -> Iterator[None]:
    """For operations written for Ctrl-C rather than a cancel token (``sandbox_up``/``sandbox_down``
    clean up on :class:`KeyboardInterrupt`): while the block runs, cancelling the token on the block's
    own thread (the CLI's SIGINT handler runs there) raises KeyboardInterrupt at that point, as Ctrl-C
    did. A cancel from another thread cannot interrupt it: the block runs on, and the check after it
    reports the cancellation."""
    me = threading.get_ident()

    def interrupt() -> None:
        if threading.get_ident() == me:
            raise KeyboardInterrupt

    forget = cancel.on_cancel(interrupt)
    try:
        yield
    finally:
        forget()
