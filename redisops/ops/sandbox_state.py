"""The sandbox's state: ``state.json`` in the state dir, the services it records, and which of the
processes they name are still ours (pids get reused). The model every sandbox command reads; no
process is started or stopped here (:mod:`redisops.ops.sandbox_up`, :mod:`redisops.ops.sandbox_down`).

Functions are re-exported by :mod:`redisops.ops.sandbox` (the public place to import them from).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from redisops.adapters.local import pid_alive, port_in_use, read_pid_file
from redisops.adapters.local_tls import write_private
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.errors import ConfigError, NotFoundError
from redisops.ops.sandbox_auth import SandboxSecurity

__all__ = ["EMULATOR", "SERVICES", "STATE_FILE", "SandboxService", "SandboxState"]

STATE_FILE = "state.json"
#: the services in start order (each has its workdir ``<state dir>/<name>``)
SERVICES = ("target", "source", "s3", "aws")
#: the AWS control-plane emulator's service name (listed as ``emulator`` in the JSON form, not a service)
EMULATOR = "aws"

Progress = Callable[[str], None]


def fmt_time(epoch: float) -> str:
    """``epoch`` as ``YYYY-mm-dd HH:MM:SSZ`` (UTC), as the sandbox's messages show times."""
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def default_state_dir() -> Path:
    """``$REDISOPS_STATE_DIR``, else the user's data dir (e.g. ~/.local/share/redisops/sandbox)."""
    env = os.environ.get("REDISOPS_STATE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("redisops")) / "sandbox"


@dataclass
class SandboxService:
    """One sandbox process as recorded in the state file."""

    name: str
    port: int
    pid: int
    workdir: str
    url: str
    status: str = "unknown"  # running | stopped | stale | port-taken (filled by status checks)

    def running(self) -> bool:
        """True when its pid is alive, is still our program (pids get reused), and its port answers."""
        return pid_alive(self.pid) and is_ours(self.pid, self.name) and port_in_use(self.port)


@dataclass
class SandboxState:
    """What ``state.json`` holds: services by name, the backup bucket, the config file used."""

    state_dir: str
    services: dict[str, SandboxService] = field(default_factory=dict)
    bucket: str = ""
    config_file: str | None = None
    created_at: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: the backup store as ``up`` found it: restored from an export, or new (see _store_facts)
    store: dict[str, Any] = field(default_factory=dict)
    #: the target's auth and TLS (:class:`~redisops.ops.sandbox_auth.SandboxSecurity`; no password)
    security: dict[str, Any] = field(default_factory=dict)
    #: the AWS resources standing for the write-up's (replication group, AppConfig ids; no secrets)
    aws: dict[str, Any] = field(default_factory=dict)
    #: the source's secret names of its blocked commands (state file only; never in output)
    source_commands: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def target(self) -> RedisEndpoint:
        """The target Redis (stands in for the Kubernetes Deployment): with its ACL user and TLS when
        ``up`` made them; never a password (the target object reads :attr:`password_file`)."""
        sec = SandboxSecurity.from_dict(self.security)
        return RedisEndpoint(
            port=self._svc("target").port, username=sec.acl_user, tls=sec.tls, tls_ca_file=sec.tls_ca_file
        )

    @property
    def password_file(self) -> str | None:
        """The file the target's password was read from (``up --password-file``), or None."""
        return SandboxSecurity.from_dict(self.security).password_file

    @property
    def source(self) -> RedisEndpoint:
        """The ElastiCache-like source Redis."""
        return RedisEndpoint(port=self._svc("source").port)

    @property
    def s3_url(self) -> str:
        """The local S3 endpoint URL."""
        return self._svc("s3").url

    @property
    def aws_url(self) -> str:
        """The AWS control-plane endpoint (elasticache, appconfig, appconfigdata)."""
        return self._svc("aws").url

    @property
    def data_dir(self) -> Path:
        """The target's data dir (the PVC stand-in)."""
        return Path(self._svc("target").workdir) / "data"

    def _svc(self, name: str) -> SandboxService:
        if name not in self.services:
            raise NotFoundError(f"the sandbox has no {name} service", hint="run: redisops sandbox up")
        return self.services[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also what ``sandbox status --output json`` prints): no secret names; the
        AWS emulator is under ``emulator`` (``services`` are the Redis and S3 endpoints)."""
        out = asdict(self)
        del out["source_commands"]
        out["emulator"] = out["services"].pop(EMULATOR, None)
        return out


_PROGRAMS = {
    "target": b"redis-server",
    "source": b"redis-server",
    "s3": b"moto.server",
    "aws": b"redisops.emulators.aws",
}


def is_ours(pid: int, name: str) -> bool:
    """True when ``pid`` runs the program the service ``name`` was started with."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return True  # no /proc: trust the pid
    return _PROGRAMS.get(name, b"") in cmdline


def load_state(state_dir: Path | None = None) -> SandboxState | None:
    """The recorded state, or None when the sandbox was never started (or is down)."""
    d = state_dir or default_state_dir()
    path = d / STATE_FILE
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        services = {k: SandboxService(**v) for k, v in raw.pop("services").items()}
        return SandboxState(services=services, **raw)
    except (ValueError, TypeError, KeyError) as e:
        raise ConfigError(
            f"the sandbox state file {path} is unreadable ({type(e).__name__})",
            hint=f"remove it (rm {path}) and run: redisops sandbox up",
        ) from e


def save_state(state: SandboxState) -> None:
    """Write ``state.json`` (mode 0600: it holds the source's secret command names)."""
    path = Path(state.state_dir) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    write_private(tmp, json.dumps(asdict(state), indent=2))
    os.replace(tmp, path)


def live_state(d: Path) -> SandboxState | None:
    """The recorded state with each service's live status (running / port-taken / stopped), or None."""
    state = load_state(d)
    if state is None:
        return None
    for svc in state.services.values():
        if svc.running():
            svc.status = "running"
        elif port_in_use(svc.port):
            svc.status = "port-taken"
        else:
            svc.status = "stopped"
    return state


def orphans(d: Path, state: SandboxState | None) -> dict[str, int]:
    """Live sandbox processes named by a pid file but not recorded in the state: service -> pid."""
    recorded = {svc.pid for svc in state.services.values()} if state is not None else set()
    found = {}
    for name in SERVICES:
        pid = read_pid_file(d / name)
        if pid is not None and pid not in recorded and pid_alive(pid) and is_ours(pid, name):
            found[name] = pid
    return found
