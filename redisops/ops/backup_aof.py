"""The consistent AOF backup: copy the multi-part AOF directory with automatic rewrites paused.

Re-exported by :mod:`redisops.ops.backup` (``create_aof_backup``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command
from redisops.backup import BackupPurpose, BackupStore, BackupWriter, Manifest
from redisops.cancel import CancelToken
from redisops.errors import ConfigError, NotFoundError, OperationTimeout, VerificationError
from redisops.events import Reporter
from redisops.inspect import parse_config_get, parse_info
from redisops.ops.backup_events import BackupProgress, Progress, Say, interruptible
from redisops.ops.backup_source import config_fingerprint
from redisops.rdb import RdbStreamVerifier

# no __all__: redisops.ops.backup is the public home of these names (it re-exports and lists them)


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

    ``purpose`` labels the backup as for :func:`~redisops.ops.backup.create_rdb_backup`; Ctrl-C aborts
    the upload as there.

    Pauses automatic rewrites (``auto-aof-rewrite-percentage 0``), waits until no rewrite runs, copies
    every file the manifest names (base files are immutable; incr files are copied up to the size they
    had at that moment, a command boundary), and restores the setting, whatever happens.
    """
    writers: list[BackupWriter] = []
    with interruptible(writers):
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
            Say(progress, reporter, cancel),
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
    say: Say,
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
