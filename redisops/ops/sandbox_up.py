"""``sandbox up``: start (or repair) the sandbox's services; idempotent.

Every dependency is checked before anything starts. The services that must (re)start are launched
together, in :data:`~redisops.ops.sandbox_state.SERVICES` order (target, source, s3, aws): each process
boots while the others do, and the boto3 clients the S3 and AWS steps need are made on a helper thread
meanwhile. Then each is waited for in the same order and recorded in the state as soon as it answers
(the shell that starts a process writes its pid file first), the source gets its sample data, the
bucket is created and the backup store's export imported, and the AWS side is provisioned. When a step
fails or is interrupted, what this call started is stopped again. Re-exported by
:mod:`redisops.ops.sandbox`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from redisops.adapters.local import (
    PID_FILE,
    Launch,
    free_port,
    launch_aws_emulator,
    launch_moto,
    launch_redis,
    pid_alive,
    port_in_use,
    read_pid_file,
    require_moto,
    require_program,
    stop_pid,
)
from redisops.adapters.redis_conn import RedisEndpoint, connect, redis_errors
from redisops.adapters.s3 import S3Adapter, translate_error
from redisops.config import DeploymentConfig, config_from_mapping, render_redis_conf
from redisops.errors import Interrupted, InvalidArgument
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.sandbox_auth import SandboxSecurity, check_same, security_request, write_include
from redisops.ops.sandbox_aws import (
    provision,
    sandbox_aws,
    source_commands,
    source_directives,
    write_emulator_config,
)
from redisops.ops.sandbox_state import (
    SERVICES,
    STATE_FILE,
    Progress,
    SandboxService,
    SandboxState,
    default_state_dir,
    fmt_time,
    is_ours,
    live_state,
    orphans,
    save_state,
)
from redisops.ops.sandbox_store import StoreSnapshot, import_bucket, sandbox_s3

__all__ = ["SANDBOX_SAMPLE"]  # its functions are public through redisops.ops.sandbox

#: the sample dataset the ElastiCache-like source starts with
SANDBOX_SAMPLE = DatasetSpec(keys_per_db=200, dbs=(0, 1), value_bytes=128, elements=4, prefix="sample")


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


def _source_conf(state: SandboxState, d: Path, port: int, data_dir: Path) -> str:
    src_cfg = config_from_mapping({"config": {"appendonly": "no", "save": "", "maxmemory": "0"}})
    return render_redis_conf(
        src_cfg,
        {
            "bind": "127.0.0.1",
            "port": str(port),
            "dir": str(data_dir),
            "protected-mode": "no",
            "logfile": '""',
            **source_directives(state.source_commands, d),
        },
    )


def _store_facts(restored: StoreSnapshot | None, *, died: bool) -> dict[str, Any]:
    """What ``up`` did with the backup store, for the state and the output (text in ``summary``)."""
    facts: dict[str, Any] = {
        "new": restored is None,
        "restored_backups": restored.backups if restored else 0,
        "restored_objects": restored.objects if restored else 0,
        "skipped_objects": restored.skipped if restored else 0,
        "export": restored.path if restored else None,
        "exported_at": fmt_time(restored.exported_at) if restored else None,
        "lost_since_export": died,
    }
    if restored is None:
        summary = "new and empty (there was no export of a `sandbox down` to restore)"
        if died:
            summary = (
                "the S3 process had died and its store lived in memory: every backup in it is lost "
                "(it was never exported by sandbox down); " + summary
            )
    else:
        summary = (
            f"restored {restored.backups} backups ({restored.objects} objects) from the export of "
            f"{fmt_time(restored.exported_at)}"
        )
        if restored.skipped:
            summary += f"; {restored.skipped} objects of the export did not verify and were skipped"
        if died:
            summary = (
                "the S3 process had died and its store lived in memory: backups taken after the last "
                f"export ({fmt_time(restored.exported_at)}) are lost; " + summary
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
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidArgument(
            f"cannot create the sandbox's state dir {d}: {e.strerror or e}",
            hint="give a writable directory with --state-dir (or $REDISOPS_STATE_DIR)",
            context={"state_dir": str(d)},
        ) from None
    cfg = config or DeploymentConfig()
    previous = live_state(d)
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
    for name, pid in orphans(d, previous).items():
        stop_pid(pid, timeout=10)
        note = f"{name}: stopped pid {pid}, left running by an interrupted run and not recorded"
        state.notes.append(note)
        say(note)
    old = previous.services if previous else {}
    state.services = {k: v for k, v in old.items() if v.status == "running"}
    starting: list[str] = []
    bringup = _Bringup(state, d, cfg, old, starting, say)
    try:
        bringup.run(asked)
    except KeyboardInterrupt:
        undone = _undo(d, state, starting, say, bringup.launching)
        kept = ", ".join(state.services) or "nothing"
        raise Interrupted(
            f"sandbox up interrupted; stopped what it had started ({', '.join(undone) or 'nothing'}); "
            f"still running: {kept}; the data dirs and the backup store export are kept"
        ) from None
    except BaseException:
        _undo(d, state, starting, say, bringup.launching)
        raise
    save_state(state)
    return state


class _Clients:
    """The S3 and AWS adapters ``up`` talks to, their boto3 clients made on a helper thread while the
    processes boot (making a client is CPU work, a few tenths of a second each). The adapters make a
    client once, under a lock: a step that needs one before the thread made it waits for it, and one
    the thread failed to make is made (and its error raised) by the step."""

    def __init__(self, s3_url: str, bucket: str, aws_url: str) -> None:
        self.s3 = sandbox_s3(s3_url, bucket)
        self.aws = sandbox_aws(aws_url)
        threading.Thread(target=self._make, name="sandbox-up-clients", daemon=True).start()

    def _make(self) -> None:
        with contextlib.suppress(Exception):  # the step that needs the client reports
            _ = self.s3.client
            for service in ("elasticache", "appconfig"):
                self.aws.client(service)


class _Bringup:
    """One ``up``'s start of the services that are not running (see the module docstring)."""

    def __init__(
        self,
        state: SandboxState,
        d: Path,
        cfg: DeploymentConfig,
        old: dict[str, SandboxService],
        starting: list[str],
        say: Progress,
    ) -> None:
        self.state, self.d, self.cfg, self.old, self.starting, self.say = state, d, cfg, old, starting, say
        self.ports: dict[str, int] = {}
        #: the service whose process is being launched (an interrupt may leave its shell running)
        self.launching: str | None = None

    def run(self, asked: SandboxSecurity) -> None:
        """Launch, wait for and set up each service that must start; provision the AWS side."""
        state, d = self.state, self.d
        self._choose_ports()
        url = {name: self._url(name, port) for name, port in self.ports.items()}
        s3_url = url.get("s3") or state.s3_url
        source_port = self.ports.get("source") or state.services["source"].port
        provisioning = bool(set(self.ports) & {"source", "s3", "aws"}) or not state.aws
        clients = None
        if "s3" in self.ports or provisioning:
            clients = _Clients(s3_url, state.bucket, url.get("aws") or state.aws_url)
        launches: dict[str, Launch] = {}
        for name, port in self.ports.items():
            self.starting.append(name)  # before the process exists: an interrupt finds its pid file
            self.launching = name
            launches[name] = self._launch(name, port, asked, s3_url, source_port)
            self.launching = None
        died = "s3" in self.old and self.old["s3"].status != "running"
        for name, launch in launches.items():
            proc = launch.wait()
            port = self.ports[name]
            state.services[name] = SandboxService(name, port, proc.pid, str(d / name), url[name], "running")
            save_state(state)  # recorded as soon as it runs
            self.say(f"{name}: started on port {port} (pid {proc.pid})")
            if name == "source":
                self._sample_data()
            elif name == "s3" and clients is not None:
                self._store(clients.s3, died)
        if "aws" not in self.ports and set(self.ports) & {"source", "s3"}:
            # a running emulator follows the new source / moto
            write_emulator_config(d, state.s3_url, state.services["source"].port, state.source_commands)
        if provisioning and clients is not None:
            state.aws = provision(
                state.aws_url, state.services["source"].port, clients.s3.client, d, clients.aws
            )
            facts = state.aws
            self.say(
                f"aws: replication group {facts['replication_group']} stands for the source; AppConfig "
                f"{facts['application']}/{facts['environment']}/{facts['profile']} serves its endpoint"
            )

    def _choose_ports(self) -> None:
        """The port of each service that must start (its recorded one when free), noting repairs."""
        for name in SERVICES:
            prev = self.old.get(name)
            if prev is not None and prev.status == "running":
                self.say(f"{name}: already running on port {prev.port}")
                continue
            taken = set(self.ports.values())
            if prev is not None and not port_in_use(prev.port) and prev.port not in taken:
                port = prev.port
            else:
                port = free_port()
                while port in taken:  # not started yet, so not taken in the kernel's eyes
                    port = free_port()
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
                self.state.notes.append(note)
                self.say(note)
            (self.d / name / PID_FILE).unlink(missing_ok=True)  # a dead process's pid file
            self.ports[name] = port

    def _url(self, name: str, port: int) -> str:
        if name == "target":
            tls = SandboxSecurity.from_dict(self.state.security).tls
            return f"{'rediss' if tls else 'redis'}://127.0.0.1:{port}/0"
        if name == "source":
            return f"redis://127.0.0.1:{port}/0"
        return f"http://127.0.0.1:{port}"

    def _launch(self, name: str, port: int, asked: SandboxSecurity, s3_url: str, source_port: int) -> Launch:
        d, workdir = self.d, self.d / name
        if name == "target":
            data = workdir / "data"
            data.mkdir(parents=True, exist_ok=True)
            sec, include = write_include(asked, workdir, d, port)
            self.state.security = sec.to_dict()
            ca = Path(sec.tls_ca_file) if sec.tls_ca_file else None
            conf = _target_conf(self.cfg, port, data)
            return launch_redis(conf, workdir, port=port, name=name, detach=True, include=include, tls_ca=ca)
        if name == "source":
            data = workdir / "data"
            data.mkdir(parents=True, exist_ok=True)
            conf = _source_conf(self.state, d, port, data)
            return launch_redis(conf, workdir, port=port, name=name, detach=True)
        if name == "s3":
            return launch_moto(workdir, port=port, detach=True)
        cfg_path = write_emulator_config(d, s3_url, source_port, self.state.source_commands)
        return launch_aws_emulator(workdir, port=port, config=cfg_path, detach=True)

    def _sample_data(self) -> None:
        ep = RedisEndpoint(port=self.state.services["source"].port)
        client = connect(ep)
        with redis_errors(ep):
            empty = client.dbsize() == 0
        client.close()
        if empty:
            populate(ep, SANDBOX_SAMPLE, seed=7)
            keys = SANDBOX_SAMPLE.keys_per_db * len(SANDBOX_SAMPLE.dbs)
            self.say(f"source: loaded sample data ({keys} keys)")

    def _store(self, s3: S3Adapter, died: bool) -> None:
        state = self.state
        _create_bucket(s3)
        self.say(f"s3: bucket {state.bucket} created")
        restored = import_bucket(s3, self.d)
        state.store = _store_facts(restored, died=died)
        if died:
            state.notes.append(f"s3: {state.store['summary']}")
        self.say(f"s3: {state.store['summary']}")


def _undo(
    d: Path, state: SandboxState, starting: list[str], say: Progress, launching: str | None = None
) -> list[str]:
    """Stop what this ``up`` started (from the state or, before it was recorded, the pid file).

    ``launching``: a service whose launch was interrupted; the shell starting it may still be about to
    write its pid file, so that file is waited for a moment.
    """
    undone = []
    for name in reversed(starting):
        svc = state.services.pop(name, None)
        pid = svc.pid if svc is not None else read_pid_file(d / name)
        if pid is None and name == launching:
            pid = _await_pid_file(d / name)
        if pid is not None and pid_alive(pid) and is_ours(pid, name):
            stop_pid(pid, timeout=10)
            undone.append(name)
            say(f"{name}: stopped again (pid {pid}): sandbox up did not complete")
        (d / name / PID_FILE).unlink(missing_ok=True)
    if state.services:
        save_state(state)
    else:
        (d / STATE_FILE).unlink(missing_ok=True)
    return undone


def _await_pid_file(workdir: Path, timeout: float = 1.0) -> int | None:
    """The pid a starting shell writes into ``workdir``'s pid file, waited for up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while (pid := read_pid_file(workdir)) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return pid


def _create_bucket(s3: S3Adapter) -> None:
    bucket = s3.bucket
    try:
        s3.client.create_bucket(Bucket=bucket)
    except Exception as e:
        raise translate_error(e, op="CreateBucket", bucket=bucket) from e
