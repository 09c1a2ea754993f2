"""The local sandbox: the embedded default target of every command.

``up`` starts, under a state dir, three services on loopback:

* ``target``  a redis-server run from the very redis.conf the Kubernetes ConfigMap carries (the
  deployment config rendered with local overrides); its ``data/`` dir stands in for the PVC;
* ``source``  an ElastiCache-like redis-server (blocked commands renamed away) with sample data;
* ``s3``      a moto S3 endpoint with the backup bucket (in memory: it forgets on ``down``).

The endpoints are recorded in ``state.json``, which later commands (and the TUI) read by default.
``up`` is idempotent, repairs a stale state (dead pids, ports taken by others) and says what it did;
``down`` stops only the processes it started (pids recorded in the state).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from redisops.adapters.local import (
    ManagedProcess,
    elasticache_like_directives,
    free_port,
    pid_alive,
    port_in_use,
    start_moto,
    start_redis,
    stop_pid,
)
from redisops.adapters.redis_conn import RedisEndpoint, connect, redis_errors
from redisops.config import DeploymentConfig, config_from_mapping, render_redis_conf
from redisops.errors import ConfigError, NotFoundError
from redisops.ops.datasets import DatasetSpec, populate

__all__ = [
    "SANDBOX_SAMPLE",
    "SandboxService",
    "SandboxState",
    "default_state_dir",
    "load_state",
    "sandbox_down",
    "sandbox_status",
    "sandbox_up",
    "target_controls",
]

STATE_FILE = "state.json"
#: the sample dataset the ElastiCache-like source starts with
SANDBOX_SAMPLE = DatasetSpec(keys_per_db=200, dbs=(0, 1), value_bytes=128, elements=4, prefix="sample")

Progress = Callable[[str], None]


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
        return pid_alive(self.pid) and _is_ours(self.pid, self.name) and port_in_use(self.port)


@dataclass
class SandboxState:
    """What ``state.json`` holds: services by name, the backup bucket, the config file used."""

    state_dir: str
    services: dict[str, SandboxService] = field(default_factory=dict)
    bucket: str = ""
    config_file: str | None = None
    created_at: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def target(self) -> RedisEndpoint:
        """The target Redis (stands in for the Kubernetes Deployment)."""
        return RedisEndpoint(port=self._svc("target").port)

    @property
    def source(self) -> RedisEndpoint:
        """The ElastiCache-like source Redis."""
        return RedisEndpoint(port=self._svc("source").port)

    @property
    def s3_url(self) -> str:
        """The local S3 endpoint URL."""
        return self._svc("s3").url

    @property
    def data_dir(self) -> Path:
        """The target's data dir (the PVC stand-in)."""
        return Path(self._svc("target").workdir) / "data"

    def _svc(self, name: str) -> SandboxService:
        if name not in self.services:
            raise NotFoundError(f"the sandbox has no {name} service", hint="run: redisops sandbox up")
        return self.services[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also what ``sandbox status --output json`` prints)."""
        return asdict(self)


_PROGRAMS = {"target": b"redis-server", "source": b"redis-server", "s3": b"moto.server"}


def _is_ours(pid: int, name: str) -> bool:
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


def _save_state(state: SandboxState) -> None:
    path = Path(state.state_dir) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.to_dict(), indent=2))
    os.replace(tmp, path)


def sandbox_status(state_dir: Path | None = None) -> SandboxState | None:
    """The state with each service's live status (running / stopped / port-taken)."""
    state = load_state(state_dir)
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


def _target_conf(cfg: DeploymentConfig, port: int, data_dir: Path) -> str:
    return render_redis_conf(
        cfg,
        {
            "bind": "127.0.0.1",
            "port": str(port),
            "dir": str(data_dir),
            "protected-mode": "no",
            "logfile": '""',
        },
    )


def sandbox_up(
    state_dir: Path | None = None,
    *,
    config: DeploymentConfig | None = None,
    config_file: str | None = None,
    bucket: str | None = None,
    progress: Progress | None = None,
) -> SandboxState:
    """Start (or repair) the sandbox; idempotent. Returns the state with notes on what was done."""
    say = progress or (lambda _msg: None)
    d = state_dir or default_state_dir()
    d.mkdir(parents=True, exist_ok=True)
    cfg = config or DeploymentConfig()
    previous = sandbox_status(d)
    state = SandboxState(
        state_dir=str(d),
        bucket=bucket or cfg.backup.bucket,
        config_file=config_file,
        created_at=previous.created_at if previous else time.time(),
    )
    old = previous.services if previous else {}

    def ensure(name: str, start: Callable[[int], tuple[ManagedProcess, str]]) -> bool:
        prev = old.get(name)
        if prev is not None and prev.status == "running":
            prev.status = "running"
            state.services[name] = prev
            say(f"{name}: already running on port {prev.port}")
            return False
        port = prev.port if prev is not None and not port_in_use(prev.port) else free_port()
        if prev is not None:
            why = (
                "its port is taken by another process"
                if prev.status == "port-taken"
                else "it was not running"
            )
            note = (
                f"{name}: stale state repaired ({why}; pid {prev.pid} on port {prev.port}), "
                f"restarted on {port}"
            )
            state.notes.append(note)
            say(note)
        proc, url = start(port)
        state.services[name] = SandboxService(name, port, proc.pid, str(Path(d) / name), url, "running")
        say(f"{name}: started on port {port} (pid {proc.pid})")
        return True

    def start_target(port: int) -> tuple[ManagedProcess, str]:
        data = d / "target" / "data"
        data.mkdir(parents=True, exist_ok=True)
        proc = start_redis(_target_conf(cfg, port, data), d / "target", port=port, name="target", detach=True)
        return proc, f"redis://127.0.0.1:{port}/0"

    def start_source(port: int) -> tuple[ManagedProcess, str]:
        src_cfg = config_from_mapping({"config": {"appendonly": "no", "save": "", "maxmemory": "0"}})
        data = d / "source" / "data"
        data.mkdir(parents=True, exist_ok=True)
        conf = render_redis_conf(
            src_cfg,
            {
                "bind": "127.0.0.1",
                "port": str(port),
                "dir": str(data),
                "protected-mode": "no",
                "logfile": '""',
                **elasticache_like_directives(),
            },
        )
        proc = start_redis(conf, d / "source", port=port, name="source", detach=True)
        return proc, f"redis://127.0.0.1:{port}/0"

    def start_s3(port: int) -> tuple[ManagedProcess, str]:
        proc = start_moto(d / "s3", port=port, detach=True)
        return proc, f"http://127.0.0.1:{port}"

    ensure("target", start_target)
    if ensure("source", start_source):
        ep = RedisEndpoint(port=state.services["source"].port)
        client = connect(ep)
        with redis_errors(ep):
            empty = client.dbsize() == 0
        client.close()
        if empty:
            populate(ep, SANDBOX_SAMPLE, seed=7)
            say(f"source: loaded sample data ({SANDBOX_SAMPLE.keys_per_db * len(SANDBOX_SAMPLE.dbs)} keys)")
    if ensure("s3", start_s3):
        _create_bucket(state.services["s3"].url, state.bucket)
        say(f"s3: bucket {state.bucket} created")
    _save_state(state)
    return state


def _create_bucket(url: str, bucket: str) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    s3.create_bucket(Bucket=bucket)


def target_controls(state: SandboxState) -> tuple[Callable[[], None], Callable[[], None]]:
    """``stop`` and ``start`` for the sandbox target (the restore flow's stand-in for scale 0 / 1).

    ``start`` runs the same redis.conf on the same port and data dir and records the new pid.
    """
    svc = state._svc("target")
    workdir = Path(svc.workdir)

    def stop() -> None:
        if pid_alive(svc.pid) and _is_ours(svc.pid, svc.name):
            stop_pid(svc.pid, timeout=30)

    def start() -> None:
        conf = (workdir / "redis.conf").read_text()
        proc = start_redis(conf, workdir, port=svc.port, name="target", detach=True)
        svc.pid = proc.pid
        svc.status = "running"
        _save_state(state)

    return stop, start


def sandbox_down(state_dir: Path | None = None, *, progress: Progress | None = None) -> list[str]:
    """Stop the processes the sandbox started (only those pids) and remove the state file.

    The target's data dir is kept (it is the PVC stand-in); returns what was stopped.
    """
    say = progress or (lambda _msg: None)
    d = state_dir or default_state_dir()
    state = load_state(d)
    if state is None:
        say("sandbox is not running (no state file)")
        return []
    stopped = []
    for svc in state.services.values():
        if pid_alive(svc.pid) and _is_ours(svc.pid, svc.name):
            stop_pid(svc.pid, timeout=10)
            stopped.append(svc.name)
            say(f"{svc.name}: stopped (pid {svc.pid})")
        else:
            say(f"{svc.name}: was not running")
    (d / STATE_FILE).unlink(missing_ok=True)
    return stopped
