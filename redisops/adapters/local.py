"""Local processes: redis-server, a moto server and the AWS emulator on loopback (sandbox, test harness).

A process is described by a directory (its config, data dir, log and pid file live there) so it can be
found again by a later command (the sandbox state) or torn down by a test fixture.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import inspect
import os
import secrets
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec

from redisops.errors import DependencyMissing, OperationTimeout, PlatformError

__all__ = [
    "ELASTICACHE_BLOCKED_COMMANDS",
    "PID_FILE",
    "Launch",
    "ManagedProcess",
    "elasticache_like_directives",
    "free_port",
    "launch_aws_emulator",
    "launch_moto",
    "launch_redis",
    "pid_alive",
    "port_in_use",
    "read_pid_file",
    "require_moto",
    "require_program",
    "secret_command_names",
    "start_aws_emulator",
    "start_moto",
    "start_redis",
    "stop_pid",
    "stop_pids",
]

#: commands ElastiCache blocks; an ElastiCache-like local source renames them away
ELASTICACHE_BLOCKED_COMMANDS = (
    "SYNC",
    "PSYNC",
    "CONFIG",
    "DEBUG",
    "BGSAVE",
    "SAVE",
    "BGREWRITEAOF",
    "SHUTDOWN",
    "REPLICAOF",
    "SLAVEOF",
    "MIGRATE",
)

_APT_HINT = "install it with: sudo apt-get update && sudo apt-get install -y redis-server redis-tools"
_MOTO_HINT = "pip install 'redisops[sandbox]' (the sandbox extra brings moto[server])"

P = ParamSpec("P")

#: the file in a process's workdir that holds the pid of a detached process (written by the shell that
#: starts it, so it exists even when the starting command is interrupted before it reads the pid back)
PID_FILE = "process.pid"


def require_program(name: str, hint: str = _APT_HINT) -> str:
    """The path of ``name`` on PATH, or DependencyMissing saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise DependencyMissing(f"{name} is not installed (not found on PATH)", hint=hint)
    return path


def require_moto() -> None:
    """DependencyMissing unless moto's S3 server (``moto[server]``) can be imported.

    Only looks the modules up, importing none of them: ``moto.server`` is looked for inside the ``moto``
    package's directory (``find_spec("moto.server")`` would import moto, about half a second).
    """
    for module in ("moto", "moto.server", "flask", "flask_cors"):
        if not _module_found(module):
            raise DependencyMissing(
                f"moto[server] is not installed (the local S3 endpoint needs it; {module} is missing)",
                hint=_MOTO_HINT,
                context={"module": module},
            )


def _module_found(module: str) -> bool:
    """True when ``module`` can be found; a submodule is looked up in its package's directory without
    importing the package."""
    parent, _, child = module.rpartition(".")
    try:
        if not parent:
            return importlib.util.find_spec(module) is not None
        if module in sys.modules:
            return True
        spec = importlib.util.find_spec(parent)
        if spec is None or spec.submodule_search_locations is None:
            return False
        return (
            importlib.machinery.PathFinder.find_spec(child, list(spec.submodule_search_locations)) is not None
        )
    except (ImportError, ValueError):  # a package that cannot be found or imported
        return False


def read_pid_file(workdir: Path) -> int | None:
    """The pid recorded in ``workdir``'s pid file (see :data:`PID_FILE`), or None."""
    try:
        return int((workdir / PID_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to 0 and read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def elasticache_like_directives(renames: Mapping[str, str] | None = None) -> dict[str, str]:
    """redis.conf ``rename-command`` directives for what ElastiCache blocks.

    Without ``renames`` the commands are removed; with it (public name -> secret name, see
    :func:`secret_command_names`) those commands are renamed to the secret names, the others removed:
    customers are refused as on ElastiCache while the control plane (the AWS emulator) still takes a
    snapshot (SYNC) or applies a parameter group (CONFIG SET).
    """
    names = {k.upper(): v for k, v in (renames or {}).items()}
    return {f"rename-command {c}": names.get(c, '""') for c in ELASTICACHE_BLOCKED_COMMANDS}


def secret_command_names(commands: Sequence[str] = ("SYNC", "CONFIG", "BGSAVE")) -> dict[str, str]:
    """Fresh unguessable names for ``commands`` (public name -> secret name)."""
    return {c: f"{c.lower()}-{secrets.token_hex(16)}" for c in commands}


@dataclass
class ManagedProcess:
    """A process started by redisops: its pid, port, log file and the Popen when we own it."""

    name: str
    pid: int
    port: int
    log_file: Path
    popen: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        """True while the process runs."""
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_alive(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the process log (for error messages and failed tests)."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
        """Stop it: ``sig`` first (redis-server saves on SIGTERM), SIGKILL after ``timeout``."""
        stop_pid(self.pid, timeout=timeout, sig=sig)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=1)


def stop_pid(pid: int, *, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to ``pid`` and wait; SIGKILL when it has not exited after ``timeout`` seconds."""
    stop_pids([pid], timeout=timeout, sig=sig)


def stop_pids(pids: Sequence[int], *, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Stop several processes side by side: ``sig`` to each first, then wait for each; SIGKILL to any
    that has not exited ``timeout`` seconds after its signal."""
    sent = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            sent.append(pid)
    deadline = time.monotonic() + timeout
    for pid in sent:
        if _wait_exit(pid, max(0.0, deadline - time.monotonic())):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_exit(pid, 2.0)


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit (reaped when it is our child); True when it did.

    Woken the moment it exits through a pidfd where Linux has them (a restore's downtime includes this
    wait), else by polling every 20 ms.
    """
    deadline = time.monotonic() + timeout
    fd = -1
    with contextlib.suppress(AttributeError, OSError):  # no pidfd_open (old kernel, not Linux), or gone
        fd = os.pidfd_open(pid)
    try:
        while True:
            _reap(pid)
            if not pid_alive(pid):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if fd >= 0:
                select.select([fd], [], [], min(left, 1.0))  # readable once it has exited
            else:
                time.sleep(min(0.02, left))
    finally:
        if fd >= 0:
            os.close(fd)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _spawn(
    argv: Sequence[str], log_file: Path, *, detach: bool, env: dict[str, str] | None = None
) -> tuple[int, subprocess.Popen[bytes] | None]:
    """Start ``argv`` with output to ``log_file``.

    Attached: a child we own (a Popen we wait for). Detached: a double fork through ``sh`` and
    ``setsid`` so the process outlives the command that started it (the sandbox) and is nobody's
    child; the shell writes its pid to :data:`PID_FILE` next to the log before anything else can
    happen, and the pid is read back from the shell.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if detach:
        cmd = " ".join(shlex.quote(a) for a in argv)
        pid_file = shlex.quote(str(log_file.parent / PID_FILE))
        script = (
            f"setsid {cmd} >>{shlex.quote(str(log_file))} 2>&1 </dev/null & "
            f"echo $! >{pid_file}.tmp && mv -f {pid_file}.tmp {pid_file}; echo $!"
        )
        shell = subprocess.Popen(
            ["/bin/sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        try:
            out, err = shell.communicate(timeout=10)
        except BaseException:
            # interrupted (Ctrl-C): the shell is not killed half-way but left to write the pid file (a
            # matter of milliseconds), so the caller's clean-up finds the process it started
            with contextlib.suppress(BaseException):
                shell.wait(timeout=5)
            raise
        if shell.returncode != 0:
            raise subprocess.CalledProcessError(shell.returncode, shell.args, out, err)
        return int(out.split()[-1]), None
    with open(log_file, "ab") as log:
        popen = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    return popen.pid, popen


def _wait(proc: ManagedProcess, ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Until ``ready()``: polled from 5 ms up to every 50 ms (a service answers within a few ms of
    listening, without a fixed sleep per poll)."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while time.monotonic() < deadline:
        if not proc.alive():
            raise PlatformError(
                f"{what} exited during start-up",
                hint=f"see its log {proc.log_file}",
                context={"log_tail": proc.log_tail()},
            )
        if ready():
            return
        time.sleep(pause)
        pause = min(pause * 1.5, 0.05)
    proc.stop(timeout=2)
    raise OperationTimeout(f"{what} did not become ready within {timeout:.0f}s", hint=f"see {proc.log_file}")


@dataclass
class Launch:
    """A process started but perhaps not answering yet (see ``launch_*``): :meth:`wait` returns it once
    it answers. Starting several before waiting for any lets them boot side by side."""

    process: ManagedProcess
    ready: Callable[[], bool]
    timeout: float
    what: str

    def wait(self) -> ManagedProcess:
        """The process once it answers; PlatformError when it exits first, OperationTimeout (after
        stopping it) when it does not answer within the timeout."""
        _wait(self.process, self.ready, self.timeout, self.what)
        return self.process


def _waited(launch: Callable[P, Launch], name: str) -> Callable[P, ManagedProcess]:
    """``launch`` followed by :meth:`Launch.wait`: the process once it answers."""

    def start(*args: P.args, **kwargs: P.kwargs) -> ManagedProcess:
        return launch(*args, **kwargs).wait()

    start.__name__ = start.__qualname__ = name
    sig = inspect.signature(launch)
    start.__signature__ = sig.replace(return_annotation="ManagedProcess")  # type: ignore[attr-defined]
    start.__doc__ = f"Like :func:`{launch.__name__}`, and wait until the process answers; the process."
    return start


def launch_redis(
    conf_text: str,
    workdir: Path,
    *,
    port: int,
    name: str = "redis",
    detach: bool = False,
    timeout: float = 15.0,
    password: str | None = None,
    include: Path | None = None,
    tls_ca: Path | None = None,
) -> Launch:
    """Start ``redis-server`` from ``conf_text`` with its config, data and log under ``workdir``;
    :meth:`Launch.wait` waits until PING answers.

    ``conf_text`` must already carry ``port``/``dir``/``bind`` for this machine (see
    :func:`redisops.config.render_redis_conf` overrides). ``password`` is passed on the command line
    of a config include file with mode 0600, never in a log. Ready once PING answers (LOADING
    finished is not required: a server still loading answers with -LOADING and counts as up).

    ``include`` is a config file loaded after ``conf_text`` (``--include`` on the command line, so the
    redis.conf stays as rendered; its directives win): local overrides such as auth and TLS, kept in a
    file of mode 0600 so no secret shows in ``ps``. ``tls_ca``: the server speaks TLS on ``port``
    (signed by this CA), and the readiness check does too.
    """
    binary = require_program("redis-server")
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "redis.conf"
    conf.write_text(conf_text)
    argv = [binary, str(conf)]
    if password is not None:
        secret = workdir / "auth.conf"
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f'requirepass "{password}"\n')
        with conf.open("a") as f:
            f.write(f"include {secret}\n")
    if include is not None:
        argv += ["--include", str(include)]
    log = workdir / "redis.log"
    pid, popen = _spawn(argv, log, detach=detach)
    proc = ManagedProcess(name=name, pid=pid, port=port, log_file=log, popen=popen)
    return Launch(
        proc, lambda: _redis_answers(port, tls_ca), timeout, f"redis-server ({name}) on port {port}"
    )


def _redis_answers(port: int, tls_ca: Path | None = None) -> bool:
    """True once the server answers anything to PING (PONG, -NOAUTH, -LOADING all count); over TLS
    verified against ``tls_ca`` when given."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw:
            if tls_ca is None:
                raw.sendall(b"PING\r\n")
                return bool(raw.recv(64))
            import ssl

            context = ssl.create_default_context(cafile=str(tls_ca))
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"PING\r\n")
                return bool(s.recv(64))
    except OSError:  # ssl.SSLError is an OSError
        return False


def launch_moto(workdir: Path, *, port: int, detach: bool = False, timeout: float = 30.0) -> Launch:
    """Start a moto S3 server process on ``127.0.0.1:port`` (log under ``workdir``), not waiting."""
    require_moto()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "moto.log"
    env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    pid, popen = _spawn(argv, log, detach=detach, env=env)
    proc = ManagedProcess(name="s3", pid=pid, port=port, log_file=log, popen=popen)
    return Launch(
        proc, lambda: _http_ok(f"http://127.0.0.1:{port}/moto-api/"), timeout, f"moto S3 on port {port}"
    )


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status < 500)
    except (urllib.error.URLError, OSError):
        return False


def launch_aws_emulator(
    workdir: Path, *, port: int, config: Path, detach: bool = False, timeout: float = 30.0
) -> Launch:
    """Start the AWS control-plane emulator (:mod:`redisops.emulators.aws`) on ``127.0.0.1:port``,
    not waiting.

    ``config`` is its JSON config (moto URL, data dir, sources with their secret command names: keep
    it mode 0600). The log is under ``workdir``.
    """
    require_moto()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "emulator.log"
    argv = [
        sys.executable,
        "-m",
        "redisops.emulators.aws",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    pid, popen = _spawn(argv, log, detach=detach)
    proc = ManagedProcess(name="aws", pid=pid, port=port, log_file=log, popen=popen)
    url = f"http://127.0.0.1:{port}/emulator/health"
    return Launch(proc, lambda: _http_ok(url), timeout, f"AWS emulator on port {port}")


#: start ``redis-server`` and wait until it answers PING (see :func:`launch_redis`)
start_redis = _waited(launch_redis, "start_redis")
#: start a moto S3 server and wait until it answers (see :func:`launch_moto`)
start_moto = _waited(launch_moto, "start_moto")
#: start the AWS control-plane emulator and wait until it answers (see :func:`launch_aws_emulator`)
start_aws_emulator = _waited(launch_aws_emulator, "start_aws_emulator")
