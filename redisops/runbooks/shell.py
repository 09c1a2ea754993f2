"""Running one shell cell: its own process group, killed with it on timeout or cancel.

The script runs as Runme runs cells (``set -e -o pipefail``); when it succeeds, the environment it ends
with is read back so variables it exported persist to later cells.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping

from redisops.cancel import CancelToken

__all__ = ["ShellOutcome", "kill_group", "read_env", "run_shell", "shell_argv"]

#: seconds between SIGTERM to the process group and SIGKILL
KILL_GRACE = 2.0


@dataclasses.dataclass(frozen=True)
class ShellOutcome:
    """What a shell cell did: exit code (-signal when killed), output, and why it stopped early."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    cancelled: bool = False
    env: Mapping[str, str] | None = None  # the environment at the end (success only)
    pid: int = 0


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc``'s process group: SIGTERM, then SIGKILL after :data:`KILL_GRACE` seconds."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            # the leader is gone; make sure nothing of the group survives it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue


def read_env(path: str) -> dict[str, str] | None:
    """The environment a script wrote with ``env -0`` to ``path`` (without the runner's own variables)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    out: dict[str, str] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep and key and key not in ("__RUNBOOK_ENV_OUT", "__runbook_rc"):
            out[key] = value
    return out


_SHELLS = frozenset({"sh", "bash", "zsh", "ksh", "dash", "ash", "mksh"})


def shell_argv(body: str, shell: str = "bash", *, env_out: bool = False) -> list[str]:
    """The command that runs ``body``: a shell (Runme's ``set -e``, plus ``-o pipefail`` where the shell
    has it) with ``-c``; with ``env_out`` the script ends by writing its environment to
    ``$__RUNBOOK_ENV_OUT``. ``shell`` may carry arguments (a cell's ``interpreter``: ``python3 -u``): a
    program that is not a shell gets the body as its ``-c`` argument, as it is."""
    words = shlex.split(shell) or ["bash"]
    base = os.path.basename(words[0])
    if base not in _SHELLS:
        return [*words, "-c", body]
    strict = "set -e -o pipefail" if base in ("bash", "zsh", "ksh", "mksh") else "set -e"
    tail_ = '\n__runbook_rc=$?\nenv -0 > "$__RUNBOOK_ENV_OUT"\nexit $__runbook_rc\n' if env_out else "\n"
    return [*words, "-c", f"{strict}\n{body}{tail_}"]


def run_shell(
    body: str,
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    shell: str = "bash",
    timeout: float | None = None,
    cancel: CancelToken | None = None,
) -> ShellOutcome:
    """Run ``body`` with ``shell -c`` in a new session; kill its process group on timeout or cancel."""
    cancel = cancel or CancelToken()
    fd, env_out = tempfile.mkstemp(prefix="runbook-env-")
    os.close(fd)
    started = time.monotonic()
    timed_out = False
    try:
        proc = subprocess.Popen(
            shell_argv(body, shell, env_out=True),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**env, "__RUNBOOK_ENV_OUT": env_out},
            cwd=cwd or None,
            start_new_session=True,
        )
        deadline = None if timeout is None else started + timeout
        out: bytes = b""
        err: bytes = b""
        while True:
            try:
                out, err = proc.communicate(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if cancel.cancelled or (deadline is not None and time.monotonic() >= deadline):
                    timed_out = not cancel.cancelled
                    kill_group(proc)
                    out, err = proc.communicate()
                    break
        rc = proc.returncode if proc.returncode is not None else -9
        end_env = read_env(env_out) if rc == 0 else None
        return ShellOutcome(
            exit_code=rc,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            seconds=round(time.monotonic() - started, 3),
            timed_out=timed_out,
            cancelled=cancel.cancelled and not timed_out,
            env=end_env,
            pid=proc.pid,
        )
    finally:
        with contextlib.suppress(OSError):
            os.unlink(env_out)
