"""Cells that do not run as a captured child: Runme's ``background`` and ``interactive`` cells.

* :class:`BackgroundCells` starts ``background: true`` cells (a ``kubectl port-forward``) in their own
  process group without waiting, keeps the tail of their output in memory (never on disk: it is masked
  when it goes to the journal) and stops every group when the run ends, fails or is interrupted.
* :func:`run_attached` runs an ``interactive: true`` cell with the terminal attached: its own process
  group made the terminal's foreground group (so it can read the keyboard and Ctrl-C reaches it), given
  back afterwards; a timeout or cancel kills the group as for any step.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO

from redisops.cancel import CancelToken
from redisops.runbooks.shell import kill_group

__all__ = ["BackgroundCells", "BackgroundRecord", "has_terminal", "run_attached"]

#: characters of each stream kept per background cell
KEEP = 8192


@dataclasses.dataclass(frozen=True)
class BackgroundRecord:
    """A stopped background cell: its pid, how it ended (``-signal`` when it was stopped) and its output."""

    step: str
    pid: int
    exit_code: int
    stopped: bool
    stdout: str
    stderr: str


class _Tail:
    def __init__(self, stream: IO[bytes]) -> None:
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.stream = stream
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: stream.read1(4096), b""):  # type: ignore[attr-defined]
                self.chunks.append(chunk)
                self.size += len(chunk)
                while self.size - len(self.chunks[0]) >= KEEP:
                    self.size -= len(self.chunks.popleft())

    def text(self) -> str:
        self.thread.join(timeout=2.0)
        if not self.thread.is_alive():
            self.stream.close()
        return b"".join(self.chunks)[-KEEP:].decode("utf-8", "replace")


class BackgroundCells:
    """The background cells of one run (see the module docstring)."""

    def __init__(self) -> None:
        self._running: dict[str, tuple[subprocess.Popen[bytes], _Tail, _Tail]] = {}

    def start(self, step: str, argv: list[str], *, env: Mapping[str, str], cwd: str | None) -> int:
        """Start ``argv`` for ``step`` in a new session (its own process group); its pid. A step started
        again (a retry, a resume) stops the earlier process first."""
        self.stop(step)
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd or None,
            start_new_session=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        self._running[step] = (proc, _Tail(proc.stdout), _Tail(proc.stderr))
        return proc.pid

    def running(self) -> list[str]:
        """The steps whose processes were started and not stopped yet."""
        return list(self._running)

    def stop(self, step: str) -> BackgroundRecord | None:
        """Stop ``step``'s process group (SIGTERM, then SIGKILL); what it printed."""
        entry = self._running.pop(step, None)
        if entry is None:
            return None
        proc, out, err = entry
        stopped = proc.poll() is None
        kill_group(proc)
        rc = proc.returncode if proc.returncode is not None else -9
        return BackgroundRecord(step, proc.pid, rc, stopped, out.text(), err.text())

    def stop_all(self) -> list[BackgroundRecord]:
        """Stop every background cell, the newest first."""
        return [r for step in reversed(list(self._running)) if (r := self.stop(step)) is not None]


def has_terminal() -> bool:
    """This process has a controlling terminal on its standard input (an operator at a keyboard)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty() and os.isatty(sys.stdin.fileno())
    except (OSError, ValueError):
        return False


def run_attached(
    argv: list[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    timeout: float | None = None,
    cancel: CancelToken | None = None,
) -> tuple[int, bool]:
    """Run ``argv`` on the terminal (stdin, stdout, stderr inherited) as the foreground process group;
    ``(exit code, timed out)``. A cancel or timeout kills the group."""
    cancel = cancel or CancelToken()
    tty = sys.stdin.fileno()
    proc = subprocess.Popen(argv, env=dict(env), cwd=cwd or None, process_group=0)
    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = False
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGCONT)  # it may have stopped reading before it was foreground
        while proc.poll() is None:
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                if cancel.cancelled or (deadline is not None and time.monotonic() >= deadline):
                    timed_out = not cancel.cancelled
                    kill_group(proc)
                    break
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, os.getpgrp())
        signal.signal(signal.SIGTTOU, old)
    rc = proc.returncode if proc.returncode is not None else -9
    return rc, timed_out
