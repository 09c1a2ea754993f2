"""The restore engine against real redis-server 7 processes.

Round trips into a server running the production persistence config (save points + appendonly yes)
survive restarts (the ``appendonly yes`` trap is avoided), the ``appendonly no`` form and an AOF-dir
backup restore too, every corruption is refused with the data dir byte-for-byte unchanged, undo gives
back the exact previous files, and ownership is applied.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from redisops.adapters.local import free_port, start_redis
from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command
from redisops.backup.manifest import DbCounts
from redisops.config import config_from_mapping, render_redis_conf
from redisops.errors import ConfigError, ConflictError, VerificationError
from redisops.inspect import parse_info
from redisops.ops.compare import compare_datasets
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.restore_local import restore_local, undo_local, wait_loaded
from redisops.rdb import RdbStreamVerifier, RdbVerification
from redisops.restore import (
    RECORD_NAME,
    UNDO_DIR_NAME,
    ExpectedBackup,
    ExpectedFile,
    TargetSettings,
    read_record,
    restore_aof_dir,
    restore_rdb,
    tree_digest,
    undo_restore,
)
from tests.harness.plugin import RedisInstance, local_overrides

REDIS_VERSION = "7.0.15"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
META = (RECORD_NAME, UNDO_DIR_NAME)  # restore bookkeeping, excluded when comparing "the redis files"

SMALL = DatasetSpec(keys_per_db=240, dbs=(0, 1, 5), value_bytes=48, elements=4, ttl_fraction=0.3, prefix="s")
LARGE = DatasetSpec(
    keys_per_db=6, dbs=(2,), value_bytes=256 * 1024, elements=4, ttl_fraction=0.5, prefix="big"
)
OTHER = DatasetSpec(keys_per_db=50, dbs=(0, 3), value_bytes=16, elements=2, prefix="other")


# -- helpers -----------------------------------------------------------------------------------


def _start(inst: RedisInstance) -> None:
    inst.process = start_redis(
        inst.conf_text, inst.workdir, port=inst.endpoint.port, password=inst.endpoint.password
    )


def _settings(inst: RedisInstance, **kw: object) -> TargetSettings:
    return TargetSettings.from_config(inst.config, REDIS_VERSION, **kw)  # type: ignore[arg-type]


def _snapshot(inst: RedisInstance) -> tuple[list[bytes], RdbVerification]:
    from redisops.adapters.replication import stream_rdb

    chunks = list(stream_rdb("127.0.0.1", inst.endpoint.port, chunk_size=64 * 1024))
    verifier = RdbStreamVerifier()
    for c in chunks:
        verifier.feed(c)
    return chunks, verifier.finish()


def _expected(v: RdbVerification, backup_id: str = "bk-test") -> ExpectedBackup:
    return ExpectedBackup.for_rdb(
        backup_id, sha256=v.sha256, size=v.size, rdb_version=v.rdb_version, key_counts=v.db_key_counts
    )


def _dbsizes(ep: RedisEndpoint) -> dict[int, int]:
    client = connect(ep, check=False)
    try:
        info = parse_info(raw_command(client, "INFO", "keyspace"))
    finally:
        client.close()
    return {db: k.keys for db, k in info.keyspace.items()}


def _assert_same(src: RedisInstance, dst: RedisInstance) -> None:
    result = compare_datasets(src.endpoint, dst.endpoint, ttl_tolerance_ms=30_000)
    assert result.equal, result.summary() + f" {result.differences[:5]}"
    assert sum(result.compared.values()) == sum(_dbsizes(src.endpoint).values())


@pytest.fixture
def source(redis_factory) -> RedisInstance:
    """A production-config server holding every core type, TTLs, several dbs, ~1 MiB keys."""
    src = redis_factory(name="source")
    populate(src.endpoint, SMALL, seed=1)
    populate(src.endpoint, LARGE, seed=2)
    return src


@pytest.fixture(scope="module")
def rdb_backup(tmp_path_factory) -> tuple[bytes, RdbVerification]:
    """One real RDB (small dataset) for the corruption tests, made once."""
    workdir = tmp_path_factory.mktemp("rdb-source")
    data = workdir / "data"
    data.mkdir()
    port = free_port()
    cfg = config_from_mapping({"config": {"appendonly": "no", "save": ""}})
    proc = start_redis(render_redis_conf(cfg, local_overrides(port, data)), workdir, port=port)
    try:
        populate(RedisEndpoint(port=port), SMALL, seed=3)
        from redisops.adapters.replication import stream_rdb

        payload = b"".join(stream_rdb("127.0.0.1", port))
    finally:
        proc.stop(timeout=5)
    v = RdbStreamVerifier()
    v.feed(payload)
    return payload, v.finish()


@pytest.fixture
def fake_data_dir(tmp_path: Path) -> Path:
    """A data dir with a previous dump.rdb and appendonlydir (contents need not be valid for file tests)."""
    d = tmp_path / "data"
    (d / "appendonlydir").mkdir(parents=True)
    (d / "dump.rdb").write_bytes(b"REDIS0010 previous dump")
    (d / "appendonlydir" / "appendonly.aof.manifest").write_text(
        "file appendonly.aof.1.base.rdb seq 1 type b\n"
    )
    (d / "appendonlydir" / "appendonly.aof.1.base.rdb").write_bytes(b"REDIS0010 previous base")
    (d / "unrelated.conf").write_text("keep me\n")
    return d


def _chunked(data: bytes, size: int = 50_000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


# -- the trap ----------------------------------------------------------------------------------


def test_naive_dump_rdb_copy_into_appendonly_server_comes_up_empty(source, redis_factory):
    """Why the engine exists: dump.rdb is ignored with appendonly yes, then overwritten."""
    chunks, v = _snapshot(source)
    target = redis_factory(name="naive")
    target.process.stop()
    (target.data_dir / "dump.rdb").write_bytes(b"".join(chunks))
    shutil.rmtree(target.data_dir / "appendonlydir")
    _start(target)
    wait_loaded(target.endpoint)
    assert v.total_keys and v.total_keys > 500
    assert _dbsizes(target.endpoint) == {}
    target.restart()  # the shutdown save overwrites the copied dump.rdb with the empty dataset
    assert hashlib.sha256((target.data_dir / "dump.rdb").read_bytes()).hexdigest() != v.sha256


def test_dataset_over_maxmemory_is_evicted_after_loading_so_the_engine_refuses(source, redis_factory):
    """Loading ignores maxmemory; the first command then evicts: the engine refuses such a restore."""
    chunks, v = _snapshot(source)
    client = connect(source.endpoint, check=False)
    try:
        dataset = parse_info(raw_command(client, "INFO", "memory")).memory.used_memory_dataset
    finally:
        client.close()
    assert dataset and dataset > 4 * 1024 * 1024
    small = redis_factory(
        config={"config": {"appendonly": "no", "maxmemory": "3mb", "maxmemory_policy": "allkeys-lru"}},
        name="small",
    )
    # the trap: the same RDB loaded by a server whose maxmemory is too small loses keys silently
    small.process.stop()
    (small.data_dir / "dump.rdb").write_bytes(b"".join(chunks))
    _start(small)
    wait_loaded(small.endpoint)
    deadline = time.monotonic() + 10
    while sum(_dbsizes(small.endpoint).values()) >= (v.total_keys or 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(_dbsizes(small.endpoint).values()) < (v.total_keys or 0)
    small.process.stop()
    # the engine refuses the restore before touching anything
    expected = ExpectedBackup.for_rdb(
        "bk-big", sha256=v.sha256, size=v.size, rdb_version=v.rdb_version, dataset_bytes=dataset
    )
    before = tree_digest(small.data_dir)
    with pytest.raises(ConfigError, match="does not fit") as err:
        restore_rdb(_chunked(b"".join(chunks)), small.data_dir, _settings(small), expected, NOW)
    assert "allkeys-lru" in err.value.message and "maxmemory" in err.value.hint
    assert tree_digest(small.data_dir) == before


# -- round trips -------------------------------------------------------------------------------


def test_rdb_restore_into_production_config_survives_restarts(source, redis_factory, record_property):
    chunks, v = _snapshot(source)
    target = redis_factory(name="target")
    populate(target.endpoint, OTHER, seed=9)
    settings = _settings(target)
    assert settings.appendonly

    progress: list[int] = []
    result = restore_local(
        stop=target.process.stop,
        start=lambda: _start(target),
        data_dir=target.data_dir,
        settings=settings,
        source=iter(chunks),
        expected=_expected(v),
        now=NOW,
        verify_endpoint=target.endpoint,
        on_progress=lambda phase, done, total: progress.append(done),
    )
    assert result.aof_enabled and result.engine.form == "aof"
    assert progress[-1] == v.size
    _assert_same(source, target)
    # installed as the AOF base + one-line manifest; no dump.rdb placed
    aof = target.data_dir / "appendonlydir"
    assert (aof / "appendonly.aof.1.base.rdb").read_bytes() == b"".join(chunks)
    record = read_record(target.data_dir)
    assert record is not None and record.status == "complete" and record.backup_id == "bk-test"
    assert {m.name for m in record.moved_aside} == {"dump.rdb", "appendonlydir"}
    undo_dir = target.data_dir / record.undo_dir
    assert (undo_dir / "dump.rdb").is_file() and (undo_dir / "appendonlydir").is_dir()
    assert (undo_dir / "record.json").is_file()
    assert not list(target.data_dir.glob(".redisops-staging-*"))
    # the trap: a naive copy would be empty after a restart; this survives two
    target.restart()
    target.restart()
    wait_loaded(target.endpoint)
    _assert_same(source, target)
    # the RTO numbers of this dataset (visible with --junitxml)
    record_property("rdb_bytes", v.size)
    record_property("stage_s", round(result.stage_seconds, 3))
    record_property("install_s", round(result.install_seconds, 3))
    record_property("start_to_loaded_s", round(result.start_to_loaded_seconds, 3))
    record_property("total_s", round(result.total_seconds, 3))


def test_rdb_restore_into_appendonly_no_target(source, redis_factory):
    chunks, v = _snapshot(source)
    target = redis_factory({"config": {"appendonly": "no"}}, name="rdbonly")
    populate(target.endpoint, OTHER, seed=9)
    result = restore_local(
        stop=target.process.stop,
        start=lambda: _start(target),
        data_dir=target.data_dir,
        settings=_settings(target),
        source=iter(chunks),
        expected=_expected(v),
        now=NOW,
        verify_endpoint=target.endpoint,
    )
    assert result.engine.form == "rdb" and not result.aof_enabled
    assert (target.data_dir / "dump.rdb").read_bytes() == b"".join(chunks)
    assert not (target.data_dir / "appendonlydir").exists()
    _assert_same(source, target)
    target.restart()
    _assert_same(source, target)


def _consistent_aof_copy(inst: RedisInstance, dest: Path) -> None:
    """Copy appendonlydir as Redis docs say: no automatic rewrite meanwhile, none in progress."""
    client = inst.client()
    old = client.config_get("auto-aof-rewrite-percentage")["auto-aof-rewrite-percentage"]
    client.config_set("auto-aof-rewrite-percentage", 0)
    try:
        deadline = time.monotonic() + 20
        while client.info("persistence")["aof_rewrite_in_progress"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.1)  # appendfsync everysec: let the last writes reach the file
        shutil.copytree(inst.data_dir / "appendonlydir", dest)
    finally:
        client.config_set("auto-aof-rewrite-percentage", old)
        client.close()


def test_aof_dir_backup_restore(source, redis_factory, tmp_path):
    # a base with data (rewrite) plus an incr file with more writes
    client = source.client()
    client.bgrewriteaof()
    deadline = time.monotonic() + 20
    while (
        client.info("persistence")["aof_rewrite_in_progress"]
        or client.info("persistence")["aof_rewrite_scheduled"]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    populate(source.endpoint, DatasetSpec(keys_per_db=60, dbs=(0, 7), prefix="incr"), seed=4)
    client.close()
    copy = tmp_path / "aof-backup"
    _consistent_aof_copy(source, copy)
    names = sorted(p.name for p in copy.iterdir())
    assert any(n.endswith(".incr.aof") for n in names) and any(n.endswith(".base.rdb") for n in names)
    files = {
        p.name: ExpectedFile(p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in copy.iterdir()
    }
    target = redis_factory(name="aoftarget")
    populate(target.endpoint, OTHER, seed=9)
    target.process.stop()
    result = restore_aof_dir(
        copy, target.data_dir, _settings(target), ExpectedBackup.for_aof("bk-aof", files), NOW
    )
    assert result.form == "aof" and result.verification is not None
    assert sorted(p.name for p in (target.data_dir / "appendonlydir").iterdir()) == names
    _start(target)
    wait_loaded(target.endpoint)
    _assert_same(source, target)
    target.restart()
    _assert_same(source, target)


# -- refusals: the data dir is byte-for-byte unchanged -----------------------------------------


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("bitflip", "sha256"),
        ("bitflip_matching_hash", "checksum mismatch"),
        ("truncated", "truncated"),
        ("wrong_expected_hash", "sha256"),
        ("too_new", "too new"),
        ("longer_than_recorded", "more bytes"),
    ],
)
@pytest.mark.parametrize("content_verified", [False, True], ids=["walk-keys", "verified-at-backup"])
def test_corrupt_backup_refused_and_data_dir_unchanged(
    rdb_backup, fake_data_dir, case, message, content_verified
):
    payload, v = rdb_backup
    expected = dataclasses.replace(_expected(v), content_verified=content_verified)
    settings = TargetSettings(appendonly=True, redis_version=REDIS_VERSION)
    data = payload
    if case == "bitflip":
        data = _flip(payload, len(payload) // 2)
    elif case == "bitflip_matching_hash":  # the manifest was made from the corrupt bytes: CRC64 catches it
        data = _flip(payload, len(payload) // 2)
        expected = ExpectedBackup.for_rdb("bk", sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    elif case == "truncated":
        data = payload[: len(payload) - 100]
    elif case == "wrong_expected_hash":
        expected = ExpectedBackup.for_rdb("bk", sha256="0" * 64, size=v.size)
    elif case == "too_new":
        settings = TargetSettings(appendonly=True, redis_version="6.2.0")
    elif case == "longer_than_recorded":
        data = payload + b"\x00" * 10
    before = tree_digest(fake_data_dir)
    with pytest.raises(VerificationError, match=message) as err:
        restore_rdb(_chunked(data), fake_data_dir, settings, expected, NOW)
    assert err.value.hint
    assert tree_digest(fake_data_dir) == before


def test_key_counts_are_walked_unless_the_backup_verified_these_bytes(rdb_backup, tmp_path):
    """Counts that differ from the manifest are refused after a walk; a backup whose own verifier
    counted these exact bytes (same SHA-256) is not walked again."""
    payload, v = rdb_backup
    wrong = {db: DbCounts(c.keys + 1, c.expires) for db, c in (v.db_key_counts or {}).items()}
    lying = ExpectedBackup.for_rdb("bk", sha256=v.sha256, size=v.size, key_counts=wrong)
    walked = tmp_path / "walked"
    walked.mkdir()
    with pytest.raises(VerificationError, match="key counts per db"):
        restore_rdb(_chunked(payload), walked, TargetSettings(True, REDIS_VERSION), lying, NOW)
    assert list(walked.iterdir()) == []
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    res = restore_rdb(
        _chunked(payload),
        trusted,
        TargetSettings(True, REDIS_VERSION),
        dataclasses.replace(lying, content_verified=True),
        NOW,
    )
    assert res.verification is not None and res.verification.db_key_counts is None
    assert not res.verification.checksum_disabled and res.verification.crc64  # the trailer was checked


def test_corrupt_aof_incr_refused_and_data_dir_unchanged(fake_data_dir, tmp_path):
    src = tmp_path / "aof"
    src.mkdir()
    (src / "appendonly.aof.manifest").write_text(
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    )
    (src / "appendonly.aof.1.base.aof").write_bytes(b"")
    (src / "appendonly.aof.1.incr.aof").write_bytes(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval")  # cut short
    files = {
        p.name: ExpectedFile(p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in src.iterdir()
    }
    before = tree_digest(fake_data_dir)
    with pytest.raises(VerificationError, match="truncated"):
        restore_aof_dir(
            src,
            fake_data_dir,
            TargetSettings(appendonly=True, redis_version=REDIS_VERSION),
            ExpectedBackup.for_aof("bk", files),
            NOW,
        )
    assert tree_digest(fake_data_dir) == before


def test_refuses_while_redis_runs_on_the_data_dir(redis_server, rdb_backup):
    payload, v = rdb_backup
    with pytest.raises(ConflictError, match="running"):
        restore_rdb([payload], redis_server.data_dir, _settings(redis_server), _expected(v), NOW)
    assert not list(redis_server.data_dir.glob(".redisops-*"))


def test_refuses_when_a_save_is_in_progress(fake_data_dir, rdb_backup):
    payload, v = rdb_backup
    (fake_data_dir / "temp-4242.rdb").write_bytes(b"partial")
    before = tree_digest(fake_data_dir)
    with pytest.raises(ConflictError, match=r"temp-4242\.rdb"):
        restore_rdb([payload], fake_data_dir, TargetSettings(True, REDIS_VERSION), _expected(v), NOW)
    assert tree_digest(fake_data_dir) == before


def test_refused_restore_restarts_the_server_on_its_previous_data(redis_factory, rdb_backup):
    payload, v = rdb_backup
    target = redis_factory(name="keep")
    populate(target.endpoint, OTHER, seed=9)
    sizes = _dbsizes(target.endpoint)
    with pytest.raises(VerificationError) as err:
        restore_local(
            stop=target.process.stop,
            start=lambda: _start(target),
            data_dir=target.data_dir,
            settings=_settings(target),
            source=_chunked(payload[:-1]),
            expected=_expected(v),
            now=NOW,
            verify_endpoint=target.endpoint,
        )
    assert err.value.context["server_stopped"] is False  # refused while staging beside it
    wait_loaded(target.endpoint)
    assert _dbsizes(target.endpoint) == sizes


# -- undo --------------------------------------------------------------------------------------


def test_undo_puts_back_the_exact_previous_files(source, redis_factory):
    chunks, v = _snapshot(source)
    target = redis_factory(name="undo")
    populate(target.endpoint, OTHER, seed=9)
    previous_sizes = _dbsizes(target.endpoint)
    target.process.stop()  # SIGTERM: the shutdown save captures the latest state, which undo gives back
    before = tree_digest(target.data_dir)

    restored = restore_rdb(
        iter(chunks), target.data_dir, _settings(target), _expected(v), NOW, operation_id="r1"
    )
    after_restore = tree_digest(target.data_dir, exclude=META)
    assert after_restore != before

    first = undo_restore(target.data_dir, NOW, operation_id="u1")
    assert first.undone_operation_id == "r1" and set(first.put_back) == {"dump.rdb", "appendonlydir"}
    assert tree_digest(target.data_dir, exclude=META) == before
    record = read_record(target.data_dir)
    assert record is not None and record.operation == "undo" and record.undoes == "r1"

    # an undo is itself undoable, and the undo of that gives the previous files again
    undo_restore(target.data_dir, NOW, operation_id="u2")
    assert tree_digest(target.data_dir, exclude=META) == after_restore
    undo_restore(target.data_dir, NOW, operation_id="u3")
    assert tree_digest(target.data_dir, exclude=META) == before
    assert restored.undo_dir.is_dir()  # nothing is ever deleted

    _start(target)
    wait_loaded(target.endpoint)
    assert _dbsizes(target.endpoint) == previous_sizes
    assert target.client(0).exists("other:string:0:00000000")


def test_undo_local_flow(source, redis_factory):
    chunks, v = _snapshot(source)
    target = redis_factory(name="undolocal")
    populate(target.endpoint, OTHER, seed=9)
    previous_sizes = _dbsizes(target.endpoint)
    restore_local(
        stop=target.process.stop,
        start=lambda: _start(target),
        data_dir=target.data_dir,
        settings=_settings(target),
        source=iter(chunks),
        expected=_expected(v),
        now=NOW,
        verify_endpoint=target.endpoint,
    )
    result = undo_local(
        stop=target.process.stop,
        start=lambda: _start(target),
        data_dir=target.data_dir,
        now=NOW,
        verify_endpoint=target.endpoint,
    )
    assert {db: k for db, (k, _) in result.key_counts.items()} == previous_sizes


def test_undo_without_a_record_is_refused(fake_data_dir):
    with pytest.raises(ConflictError, match="nothing to undo"):
        undo_restore(fake_data_dir, NOW)


# -- ownership ---------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_installed_files_are_chowned(rdb_backup, fake_data_dir):
    payload, v = rdb_backup
    settings = TargetSettings(appendonly=True, redis_version=REDIS_VERSION, uid=999, gid=999)
    result = restore_rdb(_chunked(payload), fake_data_dir, settings, _expected(v), NOW)
    aof = fake_data_dir / "appendonlydir"
    for p in (aof, *aof.iterdir(), fake_data_dir / RECORD_NAME):
        st = p.stat()
        assert (st.st_uid, st.st_gid) == (999, 999), p
    assert {i.path for i in result.installed} == {
        "appendonlydir/appendonly.aof.1.base.rdb",
        "appendonlydir/appendonly.aof.manifest",
    }
    assert (aof / "appendonly.aof.manifest").read_text() == "file appendonly.aof.1.base.rdb seq 1 type b\n"
    # moved-aside files keep their owner
    assert (result.undo_dir / "dump.rdb").stat().st_uid == os.geteuid()
    # an undo keeps the bookkeeping owned by the redis user too, and the files it puts back keep theirs
    undone = undo_restore(fake_data_dir, NOW)
    assert (fake_data_dir / RECORD_NAME).stat().st_uid == 999
    assert undone.undo_dir.stat().st_uid == 999
    assert (fake_data_dir / "dump.rdb").stat().st_uid == os.geteuid()
