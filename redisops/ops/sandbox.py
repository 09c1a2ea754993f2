"""The local sandbox: the embedded default target of every command.

``up`` starts, under a state dir, three services on loopback:

* ``target``  a redis-server run from the very redis.conf the Kubernetes ConfigMap carries (the
  deployment config rendered with local overrides); its ``data/`` dir stands in for the PVC;
* ``source``  an ElastiCache-like redis-server with sample data: the commands ElastiCache blocks are
  renamed to secret names (recorded in the state file, mode 0600), so clients are refused as on
  ElastiCache while the AWS emulator can still take its snapshot or apply its parameter group;
* ``s3``      a moto server (S3, and the AWS state moto keeps) with the backup bucket. moto keeps objects
  in memory, so ``down`` exports the bucket into the state dir and ``up`` imports it again
  (:mod:`redisops.ops.sandbox_store`): backups outlive a restart as the target's data dir does;
* ``aws``     the AWS control-plane emulator in front of moto, with a replication group standing for the
  source and an AppConfig application whose configuration holds the source endpoint
  (:mod:`redisops.ops.sandbox_aws`; the facts are in the state's ``aws``).

The endpoints are recorded in ``state.json``, which later commands (and the TUI) read by default.
``up`` checks every dependency before it starts anything, records each service as soon as it runs
(and the shell that starts a process writes its pid file, ``<state dir>/<service>/process.pid``), and
stops what it started when a later step fails or is interrupted. It is idempotent, repairs a stale
state (dead pids, ports taken by others) and says what it did. ``down`` stops only the processes the
sandbox started: the pids in the state and in the pid files (so it also finds what an interrupted
run left behind).

``up --password-file F --acl-user NAME --tls`` starts the target with a password, an ACL user and TLS
(:mod:`redisops.ops.sandbox_auth`): the state records that auth is on, the password file's path, the
user and the CA, never the password; the sandbox target (:attr:`SandboxState.target`) carries the
user and TLS, and the target object reads the recorded password file (docs/targets.md).
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
    PID_FILE,
    ManagedProcess,
    free_port,
    pid_alive,
    port_in_use,
    read_pid_file,
    require_moto,
    require_program,
    start_aws_emulator,
    start_moto,
    start_redis,
    stop_pid,
)
from redisops.adapters.local_tls import write_private
from redisops.adapters.redis_conn import RedisEndpoint, connect, redis_errors
from redisops.adapters.s3 import S3Adapter, translate_error
from redisops.config import DeploymentConfig, config_from_mapping, render_redis_conf
from redisops.errors import (
    ConfigError,
    ConflictError,
    Interrupted,
    NotFoundError,
    RedisOpsError,
    StorageError,
)
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.sandbox_auth import (
    INCLUDE_FILE,
    SandboxSecurity,
    check_same,
    security_request,
    write_include,
)
from redisops.ops.sandbox_aws import provision, source_commands, source_directives, write_emulator_config
from redisops.ops.sandbox_store import StoreSnapshot, export_bucket, import_bucket, read_export, sandbox_s3

__all__ = [
    "SANDBOX_SAMPLE",
    "SandboxDownReport",
    "SandboxService",
    "SandboxState",
    "check_dependencies",
    "default_state_dir",
    "load_state",
    "sandbox_down",
    "sandbox_status",
    "sandbox_up",
    "target_controls",
]

STATE_FILE = "state.json"
#: the services in start order (each has its workdir ``<state dir>/<name>``)
SERVICES = ("target", "source", "s3", "aws")
#: the AWS control-plane emulator's service name (listed as ``emulator`` in the JSON form, not a service)
EMULATOR = "aws"
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
    """Write ``state.json`` (mode 0600: it holds the source's secret command names)."""
    path = Path(state.state_dir) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    write_private(tmp, json.dumps(asdict(state), indent=2))
    os.replace(tmp, path)


def _live_state(d: Path) -> SandboxState | None:
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


def _orphans(d: Path, state: SandboxState | None) -> dict[str, int]:
    """Live sandbox processes named by a pid file but not recorded in the state: service -> pid."""
    recorded = {svc.pid for svc in state.services.values()} if state is not None else set()
    found = {}
    for name in SERVICES:
        pid = read_pid_file(d / name)
        if pid is not None and pid not in recorded and pid_alive(pid) and _is_ours(pid, name):
            found[name] = pid
    return found


def sandbox_status(state_dir: Path | None = None) -> SandboxState | None:
    """The state with each service's live status (running / stopped / port-taken).

    None when the sandbox is not running. ConflictError when no state is recorded but processes the
    sandbox started still run (their pid files say so): ``sandbox down`` stops them.
    """
    d = state_dir or default_state_dir()
    state = _live_state(d)
    orphans = _orphans(d, state)
    if orphans:
        listed = ", ".join(f"{name} (pid {pid})" for name, pid in orphans.items())
        if state is None:
            raise ConflictError(
                f"no sandbox is recorded in {d}, but processes it started still run: {listed}",
                hint="stop them with: redisops sandbox down (or start over with: redisops sandbox up)",
                context={"state_dir": str(d), "orphans": orphans},
            )
        state.notes.append(
            f"processes not recorded in the state still run: {listed} (sandbox down stops them)"
        )
    return state


def check_dependencies() -> None:
    """DependencyMissing unless everything the sandbox runs is installed (redis-server, moto[server])."""
    require_program("redis-server")
    require_moto()


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


def _fmt_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def _store_facts(restored: StoreSnapshot | None, *, died: bool) -> dict[str, Any]:
    """What ``up`` did with the backup store, for the state and the output (text in ``summary``)."""
    facts: dict[str, Any] = {
        "new": restored is None,
        "restored_backups": restored.backups if restored else 0,
        "restored_objects": restored.objects if restored else 0,
        "skipped_objects": restored.skipped if restored else 0,
        "export": restored.path if restored else None,
        "exported_at": _fmt_time(restored.exported_at) if restored else None,
        "lost_since_export": died,
    }
    if restored is None:
        summary = "the backup store is new (empty): there is no export to restore"
        if died:
            summary = (
                "the S3 process had died and its store lived in memory: every backup in it is lost "
                "(it was never exported by sandbox down); " + summary
            )
    else:
        summary = (
            f"restored {restored.backups} backups ({restored.objects} objects) from the export of "
            f"{_fmt_time(restored.exported_at)}"
        )
        if restored.skipped:
            summary += f"; {restored.skipped} objects of the export did not verify and were skipped"
        if died:
            summary = (
                "the S3 process had died and its store lived in memory: backups taken after the last "
                f"export ({_fmt_time(restored.exported_at)}) are lost; " + summary
            )
    facts["summary"] = summary
    return facts


def sandbox_up(
    state_dir: Path | None = None,
    *,
    config: DeploymentConfig | None = None,
    config_file: str | None = None,
    bucket: str | None = None,
    progress: Progress | None = None,
    password_file: str | Path | None = None,
    acl_user: str | None = None,
    tls: bool = False,
) -> SandboxState:
    """Start (or repair) the sandbox; idempotent. Returns the state with notes on what was done.

    ``password_file`` (its first line is the target's password), ``acl_user`` (an ACL user with the same
    password, ``~* &* +@all``) and ``tls`` (TLS only, with a CA the sandbox makes) are sandbox-local
    overrides of the target (:mod:`redisops.ops.sandbox_auth`). When the target already runs, they
    must be what it was started with (ConflictError otherwise); none given keeps what it runs with.

    Every dependency is checked before anything starts. Each service is recorded in the state as soon
    as it runs; when a later step fails, what this call started is stopped again (services that were
    already running stay) and the error is raised; on Ctrl-C the same, then Interrupted. The backup
    store is imported from the state dir's export when the S3 endpoint is (re)started.
    """
    say = progress or (lambda _msg: None)
    asked = security_request(password_file, acl_user, tls)
    check_dependencies()
    d = state_dir or default_state_dir()
    d.mkdir(parents=True, exist_ok=True)
    cfg = config or DeploymentConfig()
    previous = _live_state(d)
    prev_target = previous.services.get("target") if previous else None
    if previous is not None and prev_target is not None and prev_target.status == "running":
        running = SandboxSecurity.from_dict(previous.security)
        if asked.wanted() != (None, None, False):
            check_same(running, asked)
        asked = running
    state = SandboxState(
        state_dir=str(d),
        bucket=bucket or cfg.backup.bucket,
        config_file=config_file,
        created_at=previous.created_at if previous else time.time(),
        store=previous.store if previous else {},
        security=asked.to_dict(),
        aws=previous.aws if previous else {},
        source_commands=source_commands(previous.source_commands if previous else None),
    )
    for name, pid in _orphans(d, previous).items():
        stop_pid(pid, timeout=10)
        note = f"{name}: stopped pid {pid}, left running by an interrupted run and not recorded"
        state.notes.append(note)
        say(note)
    old = previous.services if previous else {}
    state.services = {k: v for k, v in old.items() if v.status == "running"}
    starting: list[str] = []
    try:
        _bring_up(state, d, cfg, old, starting, say, asked)
    except KeyboardInterrupt:
        undone = _undo(d, state, starting, say)
        kept = ", ".join(state.services) or "nothing"
        raise Interrupted(
            f"sandbox up interrupted; stopped what it had started ({', '.join(undone) or 'nothing'}); "
            f"still running: {kept}; the data dirs and the backup store export are kept"
        ) from None
    except BaseException:
        _undo(d, state, starting, say)
        raise
    _save_state(state)
    return state


def _bring_up(
    state: SandboxState,
    d: Path,
    cfg: DeploymentConfig,
    old: dict[str, SandboxService],
    starting: list[str],
    say: Progress,
    asked: SandboxSecurity,
) -> None:
    def ensure(name: str, start: Callable[[int], tuple[ManagedProcess, str]]) -> bool:
        prev = old.get(name)
        if prev is not None and prev.status == "running":
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
        (d / name / PID_FILE).unlink(missing_ok=True)  # a dead process's pid file
        starting.append(name)
        proc, url = start(port)
        state.services[name] = SandboxService(name, port, proc.pid, str(d / name), url, "running")
        _save_state(state)  # recorded as soon as it runs
        say(f"{name}: started on port {port} (pid {proc.pid})")
        return True

    def start_target(port: int) -> tuple[ManagedProcess, str]:
        data = d / "target" / "data"
        data.mkdir(parents=True, exist_ok=True)
        sec, include = write_include(asked, d / "target", d, port)
        state.security = sec.to_dict()
        ca = Path(sec.tls_ca_file) if sec.tls_ca_file else None
        proc = start_redis(
            _target_conf(cfg, port, data),
            d / "target",
            port=port,
            name="target",
            detach=True,
            include=include,
            tls_ca=ca,
        )
        return proc, f"{'rediss' if sec.tls else 'redis'}://127.0.0.1:{port}/0"

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
                **source_directives(state.source_commands, d),
            },
        )
        proc = start_redis(conf, d / "source", port=port, name="source", detach=True)
        return proc, f"redis://127.0.0.1:{port}/0"

    def start_s3(port: int) -> tuple[ManagedProcess, str]:
        proc = start_moto(d / "s3", port=port, detach=True)
        return proc, f"http://127.0.0.1:{port}"

    clients: dict[str, Any] = {}
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
    died = "s3" in old and old["s3"].status != "running"
    if ensure("s3", start_s3):
        store_s3 = sandbox_s3(state.s3_url, state.bucket)  # one client for the bucket, import and AWS side
        clients["s3"] = store_s3.client
        _create_bucket(store_s3)
        say(f"s3: bucket {state.bucket} created")
        restored = import_bucket(store_s3, d)
        state.store = _store_facts(restored, died=died)
        if died:
            state.notes.append(f"s3: {state.store['summary']}")
        say(f"s3: {state.store['summary']}")

    def start_aws(port: int) -> tuple[ManagedProcess, str]:
        cfg_path = write_emulator_config(
            d, state.s3_url, state.services["source"].port, state.source_commands
        )
        proc = start_aws_emulator(d / "aws", port=port, config=cfg_path, detach=True)
        return proc, f"http://127.0.0.1:{port}"

    fresh = [name for name in ("source", "s3") if name in starting]
    if not ensure("aws", start_aws) and fresh:  # a running emulator follows the new source / moto
        write_emulator_config(d, state.s3_url, state.services["source"].port, state.source_commands)
    if fresh or "aws" in starting or not state.aws:
        s3_client = clients.get("s3") or sandbox_s3(state.s3_url, state.bucket).client
        state.aws = provision(state.aws_url, state.services["source"].port, s3_client, d)
        facts = state.aws
        say(
            f"aws: replication group {facts['replication_group']} stands for the source; AppConfig "
            f"{facts['application']}/{facts['environment']}/{facts['profile']} serves its endpoint"
        )


def _undo(d: Path, state: SandboxState, starting: list[str], say: Progress) -> list[str]:
    """Stop what this ``up`` started (from the state or, before it was recorded, the pid file)."""
    undone = []
    for name in reversed(starting):
        svc = state.services.pop(name, None)
        pid = svc.pid if svc is not None else read_pid_file(d / name)
        if pid is not None and pid_alive(pid) and _is_ours(pid, name):
            stop_pid(pid, timeout=10)
            undone.append(name)
            say(f"{name}: stopped again (pid {pid}): sandbox up did not complete")
        (d / name / PID_FILE).unlink(missing_ok=True)
    if state.services:
        _save_state(state)
    else:
        (d / STATE_FILE).unlink(missing_ok=True)
    return undone


def _create_bucket(s3: S3Adapter) -> None:
    bucket = s3.bucket
    try:
        s3.client.create_bucket(Bucket=bucket)
    except Exception as e:
        raise translate_error(e, op="CreateBucket", bucket=bucket) from e


def target_controls(state: SandboxState) -> tuple[Callable[[], None], Callable[[], None]]:
    """``stop`` and ``start`` for the sandbox target (the restore flow's stand-in for scale 0 / 1).

    ``start`` runs the same redis.conf on the same port and data dir, with the same local overrides
    (auth and TLS: :data:`~redisops.ops.sandbox_auth.INCLUDE_FILE`), and records the new pid.
    """
    svc = state._svc("target")
    workdir = Path(svc.workdir)
    sec = SandboxSecurity.from_dict(state.security)
    include = workdir / INCLUDE_FILE

    def stop() -> None:
        if pid_alive(svc.pid) and _is_ours(svc.pid, svc.name):
            stop_pid(svc.pid, timeout=30)

    def start() -> None:
        conf = (workdir / "redis.conf").read_text()
        proc = start_redis(
            conf,
            workdir,
            port=svc.port,
            name="target",
            detach=True,
            include=include if include.is_file() else None,
            tls_ca=Path(sec.tls_ca_file) if sec.tls and sec.tls_ca_file else None,
        )
        svc.pid = proc.pid
        svc.status = "running"
        _save_state(state)

    return stop, start


@dataclass
class SandboxDownReport:
    """What ``sandbox down`` did: the services it stopped and the export of the backup store."""

    stopped: list[str] = field(default_factory=list)
    export: StoreSnapshot | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``sandbox down --output json`` prints)."""
        return {
            "stopped": list(self.stopped),
            "export": self.export.to_dict() if self.export else None,
            "notes": list(self.notes),
        }


def sandbox_down(
    state_dir: Path | None = None, *, progress: Progress | None = None, discard_backups: bool = False
) -> SandboxDownReport:
    """Export the backup store, stop the processes the sandbox started and remove the state file.

    The processes are those recorded in the state and those named by pid files in the state dir
    (what an interrupted ``up`` left). The S3 bucket is exported into the state dir first (``up``
    imports it again); when that fails nothing is stopped and StorageError says so, unless
    ``discard_backups``. The target's data dir is kept (it is the PVC stand-in).
    """
    say = progress or (lambda _msg: None)
    d = state_dir or default_state_dir()
    state = _live_state(d)
    orphans = _orphans(d, state)
    report = SandboxDownReport()
    if state is None and not orphans:
        say("sandbox is not running (no state file)")
        return report
    if state is not None:
        s3 = state.services.get("s3")
        if s3 is not None and s3.status == "running" and not discard_backups:
            report.export = _export(state, d)
            e = report.export
            say(f"s3: exported {e.backups} backups ({e.objects} objects, {e.bytes} bytes) to {e.path}")
        elif s3 is not None and s3.status == "running":
            last = read_export(d)
            when = f"the export of {_fmt_time(last.exported_at)}" if last else "an empty store"
            report.notes.append(f"s3: not exported (discarded); sandbox up starts from {when}")
        elif s3 is not None:
            report.notes.append("s3: was not running: its backups since the last export are lost")
    targets = [(svc.name, svc.pid) for svc in state.services.values()] if state is not None else []
    targets += list(orphans.items())
    for name, pid in targets:
        if pid_alive(pid) and _is_ours(pid, name):
            stop_pid(pid, timeout=10)
            if name == EMULATOR:
                report.notes.append(f"{name}: the AWS emulator stopped (pid {pid})")
            else:
                report.stopped.append(name)
            say(f"{name}: stopped (pid {pid})")
        else:
            say(f"{name}: was not running")
        if read_pid_file(d / name) == pid:
            (d / name / PID_FILE).unlink(missing_ok=True)
    for note in report.notes:
        say(note)
    (d / STATE_FILE).unlink(missing_ok=True)
    return report


def _export(state: SandboxState, d: Path) -> StoreSnapshot:
    hint = (
        "nothing was stopped; run `redisops sandbox down` again, or stop anyway and lose the "
        "backups taken since the last export with `redisops sandbox down --discard-backups`"
    )
    try:
        return export_bucket(sandbox_s3(state.s3_url, state.bucket), d)
    except RedisOpsError as e:
        why = e.message
    except OSError as e:
        why = f"cannot write into {d}: {e.strerror or e}"
    except KeyboardInterrupt:
        raise Interrupted(
            "sandbox down interrupted while exporting the backup store; nothing was stopped and the "
            "previous export is kept"
        ) from None
    raise StorageError(
        f"could not export the sandbox's backup store before stopping it: {why}",
        hint=hint,
        context={"state_dir": str(d)},
    )
