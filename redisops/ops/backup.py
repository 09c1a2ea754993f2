"""Backups as operations: streamed RDB, consistent AOF, verify (shallow and deep), and the store helpers.

The RDB path needs no disk and no exec into the pod: the replication stream of the live server
(``redis-cli --rdb``'s protocol) is verified (RDB header, CRC64 trailer, SHA-256, per-db key counts) and
uploaded in the same pass, and the manifest is written last. The AOF path copies the multi-part AOF
directory from a data dir (the sandbox, or a Job/sidecar that mounts the PVC) with auto-rewrite paused.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redisops.adapters.local import free_port, require_program, start_redis
from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command
from redisops.adapters.replication import ReplicationRdbStream
from redisops.adapters.s3 import AwsCredentials, S3Adapter, S3Settings
from redisops.backup import BackupPurpose, BackupStore, BackupWriter, LockInfo, Manifest
from redisops.cancel import CancelToken
from redisops.config import BackupTarget
from redisops.errors import (
    AuthError,
    ConfigError,
    Interrupted,
    NotFoundError,
    OperationTimeout,
    PlatformError,
    RedisOpsError,
    VerificationError,
)
from redisops.events import Reporter
from redisops.inspect import Info, parse_config_get, parse_info
from redisops.ops.inspect import fetch_info
from redisops.ops.loading import wait_loaded
from redisops.ops.sandbox import SandboxState
from redisops.rdb import RdbStreamVerifier
from redisops.restore.keycounts import compare_key_counts, counts_of

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube

__all__ = [
    "BackupProgress",
    "VerifyResult",
    "config_fingerprint",
    "create_aof_backup",
    "create_rdb_backup",
    "open_store",
    "pick_stream_source",
    "pod_liveness",
    "store_for",
    "verify_backup",
]

#: the redis.conf settings whose values make up a backup's config fingerprint
FINGERPRINT_KEYS = (
    "appendonly",
    "appendfsync",
    "save",
    "maxmemory",
    "maxmemory-policy",
    "databases",
    "aof-use-rdb-preamble",
    "appenddirname",
    "appendfilename",
)


@dataclass(frozen=True)
class BackupProgress:
    """A progress report: the phase, bytes done, the total when known, and a sentence for people.

    ``message`` is set when there is something to say beyond the numbers, e.g. in the ``waiting``
    phase: "waiting for Redis to start the stream (repl-diskless-sync-delay, up to 5s)".
    """

    phase: str
    done: int = 0
    total: int | None = None
    message: str = ""


Progress = Callable[[BackupProgress], None]


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
    return BackupStore(target, S3Adapter(settings), source_name)


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


def config_fingerprint(ep: RedisEndpoint) -> str | None:
    """SHA-256 (16 hex) of the persistence-relevant live settings; None when CONFIG is refused."""
    client = connect(ep)
    try:
        values = parse_config_get(raw_command(client, "CONFIG", "GET", "*"))
    except (PlatformError, AuthError):  # CONFIG renamed away (ElastiCache) or not granted
        return None
    finally:
        client.close()
    text = "\n".join(f"{k}={values.get(k, '')}" for k in FINGERPRINT_KEYS)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pick_stream_source(ep: RedisEndpoint, info: Info, *, max_lag: int = 10) -> RedisEndpoint:
    """A replica of ``ep`` to stream from when one is online, reachable and not lagging; else ``ep``.

    The fork for the snapshot then happens on the replica, not on the primary that serves traffic.
    A replica address that cannot be reached from here (a pod IP seen from a laptop) is skipped.
    """
    if info.replication.role != "master":
        return ep
    for replica in info.replication.replicas:
        if replica.state != "online" or (replica.lag is not None and replica.lag > max_lag):
            continue
        candidate = replace(ep, host=replica.ip, port=replica.port)
        try:
            client = connect(candidate)
            client.close()
        except RedisOpsError:
            continue
        return candidate
    return ep


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
    """
    writers: list[BackupWriter] = []
    with _interruptible(writers):
        return _rdb_backup(
            ep, store, writers, now, notes, timeout, prefer_replica, progress, purpose, reporter, cancel
        )


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
) -> Manifest:
    say = _Say(progress, reporter, cancel)
    say.check("before the backup started")
    started = now or datetime.now(UTC)
    info = fetch_info(ep)
    fingerprint = config_fingerprint(ep)
    origin = ep
    if prefer_replica:
        ep = pick_stream_source(ep, info)
        if ep != origin:
            notes = f"{notes}; streamed from replica {ep.address}".lstrip("; ")
    say.phase("connecting", f"connecting to {ep.address}")
    say(BackupProgress("connecting"))
    say.check("before the backup started")
    with store.begin("rdb", started) as writer:
        writers.append(writer)
        received = [0]
        size = _Estimate(info.memory.used_memory_dataset, store)

        def on_stream(done: int, total: int | None) -> None:
            received[0] = done
            say(BackupProgress("streaming", done, total))
            say.progress(done, *size.total(done, total))

        def on_phase(message: str) -> None:
            # Redis may hold a diskless transfer back for more replicas: say so instead of looking hung
            say(BackupProgress("waiting", message=message))
            say.phase("waiting", message)

        with ReplicationRdbStream(
            ep.host,
            ep.port,
            username=ep.username,
            password=ep.password,
            ssl=ep.tls,
            timeout=timeout,
            on_progress=on_stream,
            on_phase=on_phase,
            cancel=cancel,
        ) as stream:
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


class _Say:
    """One place that reports to the old ``progress`` callback, the event stream and checks ``cancel``."""

    def __init__(self, progress: Progress | None, reporter: Reporter | None, cancel: CancelToken | None):
        self._progress = progress
        self.reporter = reporter
        self.cancel = cancel

    def __call__(self, p: BackupProgress) -> None:
        if self._progress is not None:
            self._progress(p)

    def phase(self, name: str, detail: str = "") -> None:
        if self.reporter is not None:
            self.reporter.phase(name, detail)

    def progress(self, done: int, total: int | None, estimate: bool = False) -> None:
        if self.reporter is not None:
            self.reporter.progress(done, total, unit="bytes", estimate=estimate)

    def check(self, doing: str) -> None:
        if self.cancel is not None:
            self.cancel.check(doing)

    def copied(self, before: int, total: int) -> Callable[[int], None]:
        """Per chunk read of one AOF file (``before`` bytes of earlier files): progress, cancel check."""

        def on_chunk(read: int) -> None:
            self.progress(before + read, total)
            self.check("while copying the AOF files")

        return on_chunk

    def uploaded(self, name: str) -> Callable[[int], None]:
        """The upload's progress hook: a debug log per part S3 acknowledged, and a cancel check."""

        def on_upload(sent: int) -> None:
            if self.reporter is not None:
                self.reporter.log(f"uploaded {sent} bytes of {name}", level="debug")
            self.check("while uploading")

        return on_upload


class _Estimate:
    """The stream's total: the ``$<len>`` of a disk-based transfer, else a labelled estimate.

    The estimate is INFO's ``used_memory_dataset``, else the size of the newest backup; it grows when the
    stream outruns it, so a bar does not sit at 100% (it stays marked as an estimate).
    """

    def __init__(self, dataset_bytes: int | None, store: BackupStore) -> None:
        self._guess = dataset_bytes or None
        self._store = store
        self._looked = dataset_bytes is not None and dataset_bytes > 0

    def total(self, done: int, exact: int | None) -> tuple[int | None, bool]:
        """(total, estimate) for ``done`` bytes so far."""
        if exact is not None:
            return exact, False
        if not self._looked:
            self._looked = True
            try:
                newest = self._store.latest(include_safety=True)
            except RedisOpsError:
                newest = None
            self._guess = newest.size if newest is not None and newest.size else None
        if self._guess is None:
            return None, False
        if done >= self._guess:
            self._guess = done + max(done // 20, 1)
        return self._guess, True


def _aof_files(appenddir: Path, manifest_name: str) -> list[str]:
    """Files named by a Redis 7 AOF manifest (base + incr; history files are excluded)."""
    path = appenddir / manifest_name
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise NotFoundError(
            f"no AOF manifest at {path}",
            hint="AOF backups need appendonly yes and the data dir mounted where redisops runs",
        ) from e
    files = []
    for line in lines:
        parts = line.split()
        fields = dict(zip(parts[::2], parts[1::2], strict=False))
        if "file" in fields and fields.get("type") in ("b", "i"):
            files.append(fields["file"])
    if not files:
        raise VerificationError(f"the AOF manifest {path} names no base or incr file")
    return files


def _read_prefix(
    path: Path, size: int, chunk: int = 1 << 20, on_chunk: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    with path.open("rb") as f:
        left = size
        while left > 0:
            data = f.read(min(chunk, left))
            if not data:
                raise VerificationError(f"{path.name} shrank while it was copied")
            left -= len(data)
            if on_chunk is not None:
                on_chunk(size - left)
            yield data


def create_aof_backup(
    ep: RedisEndpoint,
    data_dir: Path,
    store: BackupStore,
    *,
    now: datetime | None = None,
    notes: str = "",
    wait_timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Progress | None = None,
    purpose: BackupPurpose = "manual",
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
) -> Manifest:
    """Copy the multi-part AOF directory consistently (Redis docs' procedure) into ``store``.

    ``purpose`` labels the backup as for :func:`create_rdb_backup`; Ctrl-C aborts the upload as there.

    Pauses automatic rewrites (``auto-aof-rewrite-percentage 0``), waits until no rewrite runs, copies
    every file the manifest names (base files are immutable; incr files are copied up to the size they
    had at that moment, a command boundary), and restores the setting, whatever happens.
    """
    writers: list[BackupWriter] = []
    with _interruptible(writers):
        return _aof_backup(
            ep,
            data_dir,
            store,
            writers,
            now,
            notes,
            wait_timeout,
            sleep,
            clock,
            _Say(progress, reporter, cancel),
            purpose,
        )


def _aof_backup(
    ep: RedisEndpoint,
    data_dir: Path,
    store: BackupStore,
    writers: list[BackupWriter],
    now: datetime | None,
    notes: str,
    wait_timeout: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    say: _Say,
    purpose: BackupPurpose,
) -> Manifest:
    say.check("before the backup started")
    started = now or datetime.now(UTC)
    say.phase("connecting", f"connecting to {ep.address}")
    client = connect(ep)
    try:
        conf = parse_config_get(raw_command(client, "CONFIG", "GET", "*"))
        if conf.get("appendonly") != "yes":
            raise ConfigError(
                "the server runs appendonly no: there is no AOF to back up", hint="use an RDB backup"
            )
        appenddir = data_dir / conf.get("appenddirname", "appendonlydir")
        manifest_name = conf.get("appendfilename", "appendonly.aof") + ".manifest"
        old_pct = conf.get("auto-aof-rewrite-percentage", "100")
        say.phase("pausing rewrites", "auto-aof-rewrite-percentage 0; waiting until no rewrite runs")
        raw_command(client, "CONFIG", "SET", "auto-aof-rewrite-percentage", "0")
        try:
            deadline = clock() + wait_timeout
            while True:
                p = parse_info(raw_command(client, "INFO", "persistence")).persistence
                if not p.aof_rewrite_in_progress and not p.aof_rewrite_scheduled:
                    break
                if clock() > deadline:
                    raise OperationTimeout(f"an AOF rewrite is still running after {wait_timeout:.0f}s")
                if say.cancel is not None and sleep is time.sleep:
                    say.cancel.sleep(0.1, "while waiting for an AOF rewrite to finish")
                else:
                    say.check("while waiting for an AOF rewrite to finish")
                    sleep(0.1)
            files = _aof_files(appenddir, manifest_name)
            manifest_bytes = (appenddir / manifest_name).read_bytes()
            sizes = {f: (appenddir / f).stat().st_size for f in files}
            info = parse_info(raw_command(client, "INFO", "everything"))
            with store.begin("aof", started) as writer:
                writers.append(writer)
                writer.write_bytes(f"aof/{manifest_name}", manifest_bytes)
                done = 0
                total = sum(sizes.values())
                say.phase("copying", f"copying {len(files)} AOF files into the store")
                say.progress(0, total)
                for name in files:
                    verifier = RdbStreamVerifier(sha256=False) if name.endswith(".rdb") else None
                    chunks = _read_prefix(appenddir / name, sizes[name], on_chunk=say.copied(done, total))
                    writer.write_object(
                        f"aof/{name}", chunks, verifier=verifier, on_progress=say.uploaded(f"aof/{name}")
                    )
                    done += sizes[name]
                    say(BackupProgress("copying", done, total))
                say.check("before the backup was committed")
                say.phase("committing", "writing the manifest")
                base = next((writer.verification(f"aof/{n}") for n in files if n.endswith(".rdb")), None)
                manifest = writer.commit(
                    source_address=ep.address,
                    redis_version=info.server.redis_version,
                    rdb_version=getattr(base, "rdb_version", None),
                    key_counts=None,  # the incr files change the base's counts; only a load can tell
                    config_fingerprint=config_fingerprint(ep),
                    notes=notes or "AOF directory",
                    used_memory_dataset=info.memory.used_memory_dataset,
                    purpose=purpose,
                )
        finally:
            raw_command(client, "CONFIG", "SET", "auto-aof-rewrite-percentage", old_pct)
    finally:
        client.close()
    say(BackupProgress("done"))
    return manifest


@contextmanager
def _interruptible(writers: list[BackupWriter]) -> Iterator[None]:
    """Turn Ctrl-C or a cancellation into :class:`Interrupted` saying what was stored.

    The writer has aborted by then (the multipart upload, the objects, the lock).
    """
    try:
        yield
    except (KeyboardInterrupt, Interrupted) as e:
        raise _what_was_kept(writers, e) from None


def _what_was_kept(writers: list[BackupWriter], e: KeyboardInterrupt | Interrupted) -> Interrupted:
    why = "interrupted" if isinstance(e, KeyboardInterrupt) else str(e.context.get("reason") or "cancelled")
    ctx: dict[str, Any] = {} if isinstance(e, KeyboardInterrupt) else {"reason": why}
    writer = writers[-1] if writers else None
    if writer is None:
        return Interrupted(f"{why} before the backup started; nothing was stored", context=ctx)
    ctx["backup_id"] = writer.backup_id
    if writer.state == "committed":
        return Interrupted(
            f"{why} after backup {writer.backup_id} was stored (it is complete)",
            hint="see it with `redisops backup list`",
            context=ctx,
        )
    if writer.cleanup_error is not None:
        return Interrupted(
            f"{why}; nothing was stored, but the partial upload of {writer.backup_id} could not be "
            f"removed ({writer.cleanup_error})",
            hint="`redisops backup gc` removes it later; `redisops backup unlock` if the lock stayed",
            context=ctx,
        )
    return Interrupted(f"{why}; nothing was stored (the partial upload was aborted)", context=ctx)


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
