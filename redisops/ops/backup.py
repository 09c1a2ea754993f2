"""Backups as operations: streamed RDB, consistent AOF, verify (shallow and deep), and the store helpers.

The RDB path needs no disk and no exec into the pod: the replication stream of the live server
(``redis-cli --rdb``'s protocol) is verified (RDB header, CRC64 trailer, SHA-256, per-db key counts) and
uploaded in the same pass, and the manifest is written last. The AOF path copies the multi-part AOF
directory from a data dir (the sandbox, or a Job/sidecar that mounts the PVC) with auto-rewrite paused.

The AOF backup lives in :mod:`redisops.ops.backup_aof`, the progress/event/cancellation helpers in
:mod:`redisops.ops.backup_events`, the source probes in :mod:`redisops.ops.backup_source`; their public
names stay importable from here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redisops.adapters.interrupt_shield import main_shield
from redisops.adapters.local import free_port, require_program, start_redis
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.adapters.replication import ReplicationRdbStream
from redisops.adapters.s3 import AwsCredentials, S3Adapter, S3Settings
from redisops.backup import BackupPurpose, BackupStore, BackupWriter, LockInfo, Manifest
from redisops.cancel import CancelToken
from redisops.config import BackupTarget
from redisops.errors import RedisOpsError
from redisops.events import Reporter
from redisops.ops.backup_aof import create_aof_backup
from redisops.ops.backup_events import BackupProgress, Estimate, Progress, Say, interruptible
from redisops.ops.backup_source import FINGERPRINT_KEYS, config_fingerprint, pick_stream_source
from redisops.ops.inspect import fetch_info
from redisops.ops.loading import wait_loaded
from redisops.rdb import RdbStreamVerifier
from redisops.restore.keycounts import compare_key_counts, counts_of

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.inspect import Info
    from redisops.ops.sandbox import SandboxState

__all__ = [
    "FINGERPRINT_KEYS",
    "BackupProgress",
    "Progress",
    "VerifyResult",
    "config_fingerprint",
    "create_aof_backup",
    "create_rdb_backup",
    "in_cluster_liveness",
    "open_store",
    "pick_stream_source",
    "pod_liveness",
    "store_for",
    "verify_backup",
]

#: the INFO sections an RDB backup reads (version, dataset size, replicas); a plan that read them passes
#: its INFO on (``create_rdb_backup(info=...)``)
INFO_SECTIONS = ("server", "memory", "replication")


def open_store(
    target: BackupTarget,
    source_name: str,
    *,
    endpoint_url: str | None = None,
    credentials: AwsCredentials | None = None,
    **s3: Any,
) -> BackupStore:
    """A :class:`BackupStore` for ``target`` (``endpoint_url``/``credentials`` override the target's)."""
    settings = S3Settings.from_target(target)
    overrides: dict[str, Any] = dict(s3)
    if endpoint_url is not None:
        overrides.update(endpoint_url=endpoint_url, force_path_style=True)
    if credentials is not None:
        overrides["credentials"] = credentials
    if overrides:
        settings = replace(settings, **overrides)
    return BackupStore(target, _adapter(settings), source_name)


#: the S3 adapters of the stores open in this process, by settings: a second store of the same bucket,
#: endpoint and credentials while the first is in use (the audit record a run leaves in its store) shares
#: the first one's client instead of building another
_adapters: weakref.WeakValueDictionary[S3Settings, S3Adapter] = weakref.WeakValueDictionary()
_adapters_lock = threading.Lock()


def _adapter(settings: S3Settings) -> S3Adapter:
    with _adapters_lock:
        adapter = _adapters.get(settings)
        if adapter is None:
            adapter = S3Adapter(settings)
            _adapters[settings] = adapter
        return adapter


def store_for(
    target: BackupTarget, *, sandbox: SandboxState | None = None, source_name: str = "redis"
) -> BackupStore:
    """The backup store to use: the sandbox's local S3 when the target names no endpoint and the
    sandbox is up, else the target as configured (AWS credentials from the default chain/IRSA)."""
    if target.endpoint_url is None and sandbox is not None and "s3" in sandbox.services:
        local = target.model_copy(update={"bucket": sandbox.bucket})
        return open_store(
            local,
            source_name,
            endpoint_url=sandbox.s3_url,
            credentials=AwsCredentials("sandbox", "sandbox"),
        )
    return open_store(target, source_name)


def pod_liveness(kube: Kube) -> Callable[[LockInfo], bool | None]:
    """A :class:`BackupStore` ``holder_alive`` callback that asks the Kubernetes API about the lock's pod.

    False when the pod does not exist, is another pod of the same name (uid differs) or has terminated
    (phase Succeeded/Failed: evicted, OOMKilled without restart); True when it runs; None when the API
    cannot tell (unreachable, no permission to get pods). Needs only ``get`` on pods in its namespace.
    """

    def alive(lock: LockInfo) -> bool | None:
        if lock.pod is None:
            return None
        try:
            pod = kube.get("Pod", lock.pod.name, lock.pod.namespace, api_version="v1")
        except RedisOpsError:
            return None
        if pod is None:
            return False
        meta = pod.get("metadata") or {}
        if lock.pod.uid and meta.get("uid") and meta.get("uid") != lock.pod.uid:
            return False
        return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")

    return alive


def in_cluster_liveness(env: Mapping[str, str] | None = None) -> Callable[[LockInfo], bool | None] | None:
    """In a Kubernetes pod: a ``holder_alive`` callback asking the API whether a lock's pod still runs
    (the in-cluster client is built on first use; None from the callback when it cannot be built: no
    token mounted). Elsewhere None: nobody is asked, and a lock held elsewhere is refused as before."""
    from redisops.backup.lock import IN_CLUSTER_ENV

    if not (os.environ if env is None else env).get(IN_CLUSTER_ENV):
        return None
    clients: list[Kube] = []

    def alive(lock: LockInfo) -> bool | None:
        if not clients:
            from redisops.adapters.kube import Kube

            try:
                clients.append(Kube.in_cluster())
            except RedisOpsError:
                return None  # no service account token mounted: cannot know
        return pod_liveness(clients[0])(lock)

    return alive


def create_rdb_backup(
    ep: RedisEndpoint,
    store: BackupStore,
    *,
    now: datetime | None = None,
    notes: str = "",
    timeout: float = 120.0,
    prefer_replica: bool = True,
    progress: Progress | None = None,
    purpose: BackupPurpose = "manual",
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
    info: Info | None = None,
    transfer_first: bool = False,
) -> Manifest:
    """Stream an RDB from the live server at ``ep`` into ``store``, verified on the way; returns the manifest.

    ``purpose`` labels the backup: ``manual`` (default), ``scheduled`` (the backup job) or ``safety``
    (a restore's backup of the data it is about to replace; ``store.latest()`` skips those). With
    ``prefer_replica`` an online, reachable replica of ``ep`` serves the stream (see
    :func:`pick_stream_source`). Nothing is listed unless every check passed and the manifest was
    written: a failure anywhere (connection drop, S3 error, bad trailer) aborts the upload and releases
    the lock. Ctrl-C (KeyboardInterrupt) does the same and raises
    :class:`~redisops.errors.Interrupted` saying what was kept.

    ``reporter`` receives ``phase``/``progress``/``log`` events (never started/finished: the catalogue
    sends those); ``cancel`` stops it between chunks (and wakes a blocked read): the upload is aborted,
    the lock released, and :class:`~redisops.errors.Interrupted` raised.

    ``info``: ``ep``'s INFO (sections :data:`INFO_SECTIONS` at least) when the caller has just read it
    (the plan of ``backup.create``); it is not read again.

    The lock is taken before Redis is asked for the snapshot (a refused backup never makes the server
    fork), unless ``transfer_first``: then the transfer starts first and its payload is read ahead (at
    most :data:`~redisops.adapters.replication_handshake.DEFAULT_PREFETCH` bytes) while the lock is taken
    and the S3 client built (on first use), so the server's child writes the snapshot meanwhile; a lock
    held by another backup then drops the transfer (Redis ends its child) before anything is written.
    ``backup.create`` does that when its plan left the lock to the run.
    """
    writers: list[BackupWriter] = []
    with interruptible(writers), _shield_after_cancel(cancel):
        return _rdb_backup(
            ep,
            store,
            writers,
            now,
            notes,
            timeout,
            prefer_replica,
            progress,
            purpose,
            reporter,
            cancel,
            info,
            transfer_first,
        )


@contextlib.contextmanager
def _shield_after_cancel(cancel: CancelToken | None) -> Iterator[None]:
    """From the cancel on, until the block has unwound (the upload aborted, the lock released), a further
    Ctrl-C is deferred (:mod:`redisops.adapters.interrupt_shield`); the CLI's first Ctrl-C is the cancel,
    its second would otherwise raise KeyboardInterrupt in the middle of the clean-up."""
    if cancel is None:
        yield
        return
    shield = main_shield()
    engaged: list[bool] = []

    def engage() -> None:
        if not engaged:
            shield.engage("aborting the backup's upload and releasing its lock")
            engaged.append(shield.active)

    forget = cancel.on_cancel(engage)
    try:
        yield
    finally:
        forget()
        if engaged and engaged[0]:
            shield.release()


def _rdb_backup(
    ep: RedisEndpoint,
    store: BackupStore,
    writers: list[BackupWriter],
    now: datetime | None,
    notes: str,
    timeout: float,
    prefer_replica: bool,
    progress: Progress | None,
    purpose: BackupPurpose,
    reporter: Reporter | None,
    cancel: CancelToken | None,
    info: Info | None,
    transfer_first: bool,
) -> Manifest:
    say = Say(progress, reporter, cancel)
    say.check("before the backup started")
    started = now or datetime.now(UTC)
    if info is None:
        info = fetch_info(ep, INFO_SECTIONS)
    origin = ep
    if prefer_replica:
        ep = pick_stream_source(ep, info)
        if ep != origin:
            notes = f"{notes}; streamed from replica {ep.address}".lstrip("; ")
    say.phase("connecting", f"connecting to {ep.address}")
    say(BackupProgress("connecting"))
    say.check("before the backup started")
    received = [0]
    size = Estimate(info.memory.used_memory_dataset, store)

    def on_stream(done: int, total: int | None) -> None:
        received[0] = done
        say(BackupProgress("streaming", done, total))
        say.progress(done, *size.total(done, total))

    def on_phase(message: str) -> None:
        # Redis may hold a diskless transfer back for more replicas: say so instead of looking hung
        say(BackupProgress("waiting", message=message))
        say.phase("waiting", message)

    def open_stream() -> ReplicationRdbStream:
        return stack.enter_context(
            ReplicationRdbStream(
                ep.host,
                ep.port,
                username=ep.username,
                password=ep.password,
                ssl=_ssl_context(ep) if ep.tls else False,
                timeout=timeout,
                on_progress=on_stream,
                on_phase=on_phase,
                cancel=cancel,
            )
        )

    with contextlib.ExitStack() as stack:
        if transfer_first:
            stream = open_stream()
            stream.prefetch()  # the server's child writes while the lock is taken (and the client built)
            fingerprint = config_fingerprint(origin)
            writer = _begin(stack, store, started, writers)
        else:
            fingerprint = config_fingerprint(origin)
            writer = _begin(stack, store, started, writers)
            stream = open_stream()
        say.phase("streaming", f"streaming the snapshot from {ep.address} into the store")
        say.progress(0, *size.total(0, stream.expected_size))
        # the uploader hashes (SHA-256) the same bytes: the verifier checks header, CRC64, counts
        writer.write_object(
            "dump.rdb",
            stream,
            verifier=RdbStreamVerifier(sha256=False),
            on_progress=say.uploaded("dump.rdb"),
        )
        detail = writer.verification("dump.rdb")
        rdb_version = getattr(detail, "rdb_version", None)
        counts = getattr(detail, "db_key_counts", None)
        say.check("before the backup was committed")
        say(BackupProgress("committing", received[0], received[0]))
        say.phase("committing", "writing the manifest")
        manifest = writer.commit(
            source_address=origin.address,
            redis_version=info.server.redis_version,
            rdb_version=rdb_version,
            key_counts=counts,
            config_fingerprint=fingerprint,
            notes=notes,
            used_memory_dataset=info.memory.used_memory_dataset,
            purpose=purpose,
        )
    say(BackupProgress("done", received[0], received[0]))
    return manifest


def _begin(
    stack: contextlib.ExitStack[bool | None],
    store: BackupStore,
    started: datetime,
    writers: list[BackupWriter],
) -> BackupWriter:
    """Take the lock (``store.begin``); the writer aborts (and releases it) when the stack unwinds."""
    writer = stack.enter_context(store.begin("rdb", started))
    writers.append(writer)
    return writer


@dataclass
class VerifyResult:
    """What ``verify_backup`` checked and found."""

    backup_id: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    loaded_key_counts: dict[int, int] | None = None


def verify_backup(
    store: BackupStore,
    backup_id: str,
    *,
    deep: bool = False,
    workdir: Path | None = None,
    load_timeout: float = 120.0,
) -> VerifyResult:
    """Re-read every object: size, SHA-256 and the RDB trailer; with ``deep``, load it and count keys.

    ``redis-check-rdb`` runs too when it is installed (and the backup is downloaded for it). The deep
    check loads the RDB into a scratch redis-server and compares per-db key counts with the manifest.
    """
    manifest = store.get(backup_id)
    result = VerifyResult(backup_id=backup_id, ok=True)

    def factory(entry: Any) -> RdbStreamVerifier | None:
        return RdbStreamVerifier(sha256=False) if str(entry.name).endswith(".rdb") else None

    report = store.verify(backup_id, verifier_factory=factory)
    result.checks.append(f"{len(manifest.objects)} objects: size, sha256, RDB header and CRC64 trailer")
    result.problems.extend(report.problems)
    rdb_entry = next((o for o in manifest.objects if o.name == "dump.rdb"), None)
    checker = shutil.which("redis-check-rdb")
    if not result.problems and rdb_entry is not None and (deep or checker):
        tmp = Path(tempfile.mkdtemp(prefix="redisops-verify-", dir=workdir))
        try:
            path = tmp / "dump.rdb"
            with path.open("wb") as f:
                for chunk in store.open_object(backup_id, "dump.rdb"):
                    f.write(chunk)
            if checker:
                proc = subprocess.run([checker, str(path)], capture_output=True, text=True, timeout=600)
                result.checks.append("redis-check-rdb")
                if proc.returncode != 0:
                    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:]
                    result.problems.append(f"redis-check-rdb rejected dump.rdb: {' '.join(tail)}")
            if deep and not result.problems:
                loaded = _load_and_count(tmp, load_timeout)
                result.loaded_key_counts = {db: keys for db, (keys, _ttl) in loaded.items()}
                result.checks.append("loaded into a scratch redis-server")
                if manifest.key_counts is not None:
                    # the one rule of restore, drill and verify: keys whose TTL passed are not loaded
                    problems, _expired = compare_key_counts(counts_of(manifest.key_counts), loaded)
                    result.problems += [
                        f"key counts after loading differ from the manifest: {p}" for p in problems
                    ]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    result.ok = not result.problems
    return result


def _load_and_count(data_dir: Path, timeout: float) -> dict[int, tuple[int, int]]:
    require_program("redis-server")
    port = free_port()
    conf = (
        f"bind 127.0.0.1\nport {port}\ndir {data_dir}\ndbfilename dump.rdb\nappendonly no\n"
        'save ""\nprotected-mode no\ndaemonize no\n'
    )
    proc = start_redis(conf, data_dir / "scratch", port=port, name="verify-scratch", timeout=timeout)
    try:
        info = wait_loaded(RedisEndpoint(port=port), timeout=timeout)
        return {db: (ks.keys, ks.expires) for db, ks in info.keyspace.items() if ks.keys}
    finally:
        proc.stop(timeout=5)


def _ssl_context(ep: RedisEndpoint) -> ssl.SSLContext:
    """The TLS context of the replication stream: the endpoint's CA (else the system's), verified
    unless the endpoint says not to (as :func:`redisops.adapters.redis_conn.connect` does)."""
    context = ssl.create_default_context(cafile=ep.tls_ca_file)
    if not ep.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
