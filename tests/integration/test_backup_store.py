"""The backup store against a real moto S3 server over HTTP (no mocks of our code)."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import signal
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.local import free_port, start_moto
from redisops.adapters.s3 import MIB, AwsCredentials, S3Adapter, S3Settings
from redisops.backup import (
    VELERO_TOP_LEVEL,
    BackupStore,
    Layout,
    RetentionRules,
    location_from_bsl,
    new_backup_id,
)
from redisops.errors import (
    ConfigError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    ParseError,
    VerificationError,
)
from tests.harness.plugin import S3Endpoint
from tests.harness.proxy import TcpProxy

PART = 5 * MIB  # S3's minimum part size: forces multipart on small test data
CREDS = AwsCredentials("testing", "testing")


def settings(url: str, bucket: str, **kw: Any) -> S3Settings:
    base: dict[str, Any] = {
        "bucket": bucket,
        "endpoint_url": url,
        "force_path_style": True,
        "credentials": CREDS,
        "part_size": PART,
        "max_attempts": 2,
    }
    base.update(kw)
    return S3Settings(**base)


def make_store(
    ep: S3Endpoint, bucket: str, source: str = "redis", layout: Layout | None = None, **kw: Any
) -> BackupStore:
    return BackupStore(
        layout or Layout(), S3Adapter(settings(ep.url, bucket, **kw)), source, host="test-host"
    )


def random_chunks(data: bytes, seed: int, max_chunk: int = 3 * MIB) -> Iterator[bytes]:
    rnd = random.Random(seed)
    pos = 0
    while pos < len(data):
        n = rnd.randint(1, max_chunk)
        yield data[pos : pos + n]
        pos += n


def now() -> datetime:
    return datetime.now(UTC)


# --- round trip ---------------------------------------------------------------------------------------
def test_round_trip_multipart_and_small(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    data = random.Random(1).randbytes(30 * MIB)
    progress: list[int] = []
    with store.begin("rdb", now()) as w:
        big = w.write_object(
            "dump.rdb", random_chunks(data, 7), expected_size=len(data), on_progress=progress.append
        )
        small = w.write_bytes("aof/appendonly.aof.manifest", b"file appendonly.aof.1.base.rdb seq 1 type b\n")
        m = w.commit(
            source_address="redis://default:hunter2@redis.ns.svc:6379/0",
            redis_version="7.0.15",
            rdb_version=10,
            key_counts={0: {"keys": 3, "expires": 1}},
            notes="t",
        )
    assert big.size == len(data) and big.sha256 == hashlib.sha256(data).hexdigest()
    assert progress == sorted(progress) and progress[-1] == len(data)
    assert m.source.address == "redis://redis.ns.svc:6379/0"  # credentials dropped
    head = store.s3.head(store.layout.object_key("redis", m.id, "dump.rdb"))
    assert head.etag.strip('"').endswith("-6")  # 30 MiB in 5 MiB parts: a multipart upload
    assert store.s3.list_multipart_uploads(store.layout.prefix) == []

    listed = store.list()
    assert [b.id for b in listed] == [m.id] and listed[0] == m
    assert store.latest() == m and store.get(m.id).object("dump.rdb").sha256 == big.sha256
    assert listed[0].object("aof/appendonly.aof.manifest").size == small.size
    assert b"".join(store.open_object(m.id, "dump.rdb")) == data
    report = store.verify(m.id)
    assert report.ok and [c.name for c in report.checks] == ["dump.rdb", "aof/appendonly.aof.manifest"]
    report.raise_if_failed()
    assert store.lock_info() is None


def test_streaming_verifier_and_extra_check(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    class Counter:
        def __init__(self, fail: bool = False) -> None:
            self.n = 0
            self.fail = fail

        def feed(self, chunk: bytes | bytearray | memoryview) -> None:
            self.n += len(chunk)

        def finish(self) -> object:
            if self.fail:
                raise VerificationError("trailer does not match")
            return type("R", (), {"crc64": 0xABC, "size": self.n})()

    store = make_store(s3_endpoint, s3_bucket)
    with store.begin("rdb", now()) as w:
        e = w.write_bytes("dump.rdb", b"x" * 1000, verifier=Counter())
        m = w.commit()
    assert e.verified and e.crc64 == "0000000000000abc" and m.verified
    assert store.latest(verified_only=True) == m
    ok = store.verify(m.id, verifier_factory=lambda entry: Counter())
    assert ok.ok and getattr(ok.checks[0].detail, "size", None) == 1000
    bad = store.verify(m.id, verifier_factory=lambda entry: Counter(fail=True))
    assert not bad.ok and "trailer" in bad.problems[0]
    # a verifier failing at write time aborts the backup
    with pytest.raises(VerificationError), store.begin("rdb", now()) as w:
        w.write_bytes("dump.rdb", b"y" * 10, verifier=Counter(fail=True))
    assert [b.id for b in store.list()] == [m.id] and store.lock_info() is None


# --- incomplete and corrupt backups ---------------------------------------------------------------------
def test_incomplete_and_corrupt_backups(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    c = s3_endpoint.client()
    # an object in a backup folder without manifest is never listed
    orphan = new_backup_id(now())
    c.put_object(Bucket=s3_bucket, Key=store.layout.object_key("redis", orphan, "dump.rdb"), Body=b"half")
    assert store.list() == [] and store.latest() is None
    with pytest.raises(NotFoundError, match="no manifest"):
        store.get(orphan)

    data = random.Random(2).randbytes(6 * MIB)
    with store.begin("rdb", now()) as w:
        w.write_object("dump.rdb", random_chunks(data, 3, MIB))
        m = w.commit()
    key = store.layout.object_key("redis", m.id, "dump.rdb")

    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    c.put_object(Bucket=s3_bucket, Key=key, Body=bytes(flipped))
    report = store.verify(m.id)
    assert not report.ok and "SHA-256" in report.problems[0]
    with pytest.raises(VerificationError, match="corrupt"):
        b"".join(store.open_object(m.id, "dump.rdb"))
    with pytest.raises(VerificationError):
        report.raise_if_failed()

    c.put_object(Bucket=s3_bucket, Key=key, Body=data[:-100])
    assert "size" in store.verify(m.id).problems[0]
    with pytest.raises(VerificationError, match="truncated"):
        b"".join(store.open_object(m.id, "dump.rdb"))
    c.put_object(Bucket=s3_bucket, Key=key, Body=data + b"!")
    with pytest.raises(VerificationError, match="longer"):
        b"".join(store.open_object(m.id, "dump.rdb"))
    c.delete_object(Bucket=s3_bucket, Key=key)
    assert store.verify(m.id).problems == ["dump.rdb: missing"]
    with pytest.raises(NotFoundError):
        store.open_object(m.id, "nope.rdb")

    # a garbage manifest is skipped by list() and refused by get()
    bad = new_backup_id(now())
    c.put_object(Bucket=s3_bucket, Key=store.layout.manifest_key("redis", bad), Body=b"{not json")
    assert [b.id for b in store.list()] == [m.id]
    with pytest.raises(ParseError):
        store.get(bad)
    # a manifest copied into another backup's folder is refused
    other = new_backup_id(now())
    c.copy_object(
        Bucket=s3_bucket,
        Key=store.layout.manifest_key("redis", other),
        CopySource={"Bucket": s3_bucket, "Key": store.layout.manifest_key("redis", m.id)},
    )
    with pytest.raises(VerificationError, match="describes backup"):
        store.get(other)


# --- failures during the upload ------------------------------------------------------------------------
def test_failing_stream_leaves_nothing(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)

    def broken() -> Iterator[bytes]:
        for _ in range(12):
            yield os.urandom(MIB)
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"), store.begin("rdb", now()) as w:
        w.write_bytes("aof/small", b"abc")
        w.write_object("dump.rdb", broken())
    assert store.s3.list_multipart_uploads("") == []
    assert store.s3.list_keys("") == []  # no objects, no lock
    assert store.list() == [] and store.lock_info() is None

    # KeyboardInterrupt / GeneratorExit straight through upload_stream: the multipart upload is aborted too
    for exc in (KeyboardInterrupt, GeneratorExit, OSError):

        def interrupted(exc: type[BaseException] = exc) -> Iterator[bytes]:
            yield os.urandom(6 * MIB)
            yield os.urandom(6 * MIB)
            raise exc

        with pytest.raises(exc):
            store.s3.upload_stream("redisops/tmp/x", interrupted())
        assert store.s3.list_multipart_uploads("") == []
    assert store.s3.list_keys("") == []

    # then the next backup succeeds
    with store.begin("rdb", now()) as w:
        w.write_object("dump.rdb", [os.urandom(MIB)] * 7)
        ok = w.commit()
    assert [b.id for b in store.list()] == [ok.id] and store.verify(ok.id).ok


def test_endpoint_killed_mid_upload(tmp_path: Path) -> None:
    port = free_port()
    proc = start_moto(tmp_path / "moto", port=port)
    secret = AwsCredentials(
        "TESTONLYKILLKEY00001", "kill/Test+Secret/Value0123456789abcdef", "SESSIONTOKENxyz"
    )
    try:
        s = settings(
            f"http://127.0.0.1:{port}",
            "redisops-kill",
            credentials=secret,
            max_attempts=1,
            connect_timeout=1.0,
            read_timeout=2.0,
        )
        s3 = S3Adapter(s)
        s3.client.create_bucket(Bucket="redisops-kill")
        store = BackupStore(Layout(), s3, "redis")

        def chunks() -> Iterator[bytes]:
            for i in range(40):
                if i == 15:  # three parts are on their way: the endpoint dies
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.popen.wait(5)  # type: ignore[union-attr]
                yield os.urandom(MIB)

        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as e, store.begin("rdb", now()) as w:
            w.write_object("dump.rdb", chunks())
        assert time.monotonic() - started < 15
        err = e.value
        assert err.retryable and err.exit_code == 4
        assert "dump.rdb" in err.message and "connection" in err.message.lower()
        texts = [
            str(err),
            err.one_line(),
            repr(err.to_dict()),
            str(err.__cause__),
            repr(s),
            repr(s3.settings),
        ]
        for text in texts:
            for value in (secret.access_key_id, secret.secret_access_key, "SESSIONTOKENxyz"):
                assert value not in text
    finally:
        proc.stop(timeout=2, sig=signal.SIGKILL)


# --- locks ---------------------------------------------------------------------------------------------
def test_lock_conflict_stale_and_break(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    t0 = now()
    w = store.begin("rdb", t0)
    other = make_store(s3_endpoint, s3_bucket)
    with pytest.raises(ConflictError) as e:
        other.begin("rdb", t0 + timedelta(minutes=5))
    msg = e.value.message
    assert "test-host" in msg and w.backup_id in msg and "since" in msg and "5m00s ago" in msg
    assert e.value.context["stale"] is False and "wait" in e.value.hint
    # another source is independent
    with make_store(s3_endpoint, s3_bucket, source="cache").begin("rdb", t0) as w2:
        w2.write_bytes("dump.rdb", b"1")
        w2.commit()
    # a lock older than stale_after is reported as stale but never broken silently
    later = t0 + timedelta(hours=7)
    with pytest.raises(ConflictError, match="stale") as e:
        other.begin("rdb", later)
    assert e.value.context["stale"] is True and e.value.context["age_seconds"] == 7 * 3600
    assert "break" in e.value.hint
    with pytest.raises(ConflictError):
        other.break_lock(t0 + timedelta(hours=1))  # not stale yet
    with pytest.raises(ConflictError):
        other.break_lock(later, backup_id="20200101T000000Z-0000")  # not that holder
    broken = other.break_lock(later)
    assert broken is not None and broken.backup_id == w.backup_id
    assert other.break_lock(later) is None
    with other.begin("rdb", later) as w3:
        w3.write_bytes("dump.rdb", b"2")
        m3 = w3.commit()
    # the broken writer's release does not remove someone else's lock
    w4 = other.begin("rdb", later + timedelta(minutes=1))
    w.abort()
    assert store.lock_info() is not None and store.lock_info().backup_id == w4.backup_id  # type: ignore[union-attr]
    w4.abort()
    assert [b.id for b in store.list()] == [m3.id]
    # a lock left behind by a committed backup is cleared by the next begin
    store.s3.put_bytes(store.layout.lock_key("redis"), _lock_json(m3.id, later))
    with store.begin("rdb", later + timedelta(minutes=2)) as w5:
        w5.write_bytes("dump.rdb", b"3")
        w5.commit()
    # force breaks a young lock
    w6 = store.begin("rdb", later + timedelta(minutes=3))
    assert store.break_lock(later + timedelta(minutes=4), force=True).backup_id == w6.backup_id  # type: ignore[union-attr]


def _lock_json(backup_id: str, at: datetime) -> bytes:
    from redisops.backup.store import LockInfo

    return LockInfo("redis", backup_id, "gone-host", 1, at).to_json()


# --- gc ------------------------------------------------------------------------------------------------
def test_gc_removes_only_old_leftovers(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    c = s3_endpoint.client()
    t = now()
    lay = store.layout
    with store.begin("rdb", t - timedelta(hours=5)) as w:
        w.write_object("dump.rdb", [os.urandom(MIB)] * 6)
        done = w.commit()
    old = new_backup_id(t - timedelta(hours=3))
    fresh = new_backup_id(t + timedelta(hours=1, minutes=50))  # young at gc time (t + 2h)
    old_cache = new_backup_id(t - timedelta(hours=4))
    for bid in (old, fresh):
        c.put_object(Bucket=s3_bucket, Key=lay.object_key("redis", bid, "aof/a.aof"), Body=b"a")
    c.put_object(Bucket=s3_bucket, Key=lay.object_key("cache", old_cache, "dump.rdb"), Body=b"a")
    up_old = c.create_multipart_upload(Bucket=s3_bucket, Key=lay.object_key("redis", old, "dump.rdb"))
    c.upload_part(
        Bucket=s3_bucket,
        Key=lay.object_key("redis", old, "dump.rdb"),
        UploadId=up_old["UploadId"],
        PartNumber=1,
        Body=b"x" * 100,
    )
    c.create_multipart_upload(Bucket=s3_bucket, Key=lay.object_key("redis", fresh, "dump.rdb"))
    c.put_object(Bucket=s3_bucket, Key="redisops/backups/redis/README", Body=b"not ours to judge")
    # a running backup (holds the lock), started long ago
    running = store.begin("rdb", t - timedelta(hours=2))
    c.put_object(Bucket=s3_bucket, Key=lay.object_key("redis", running.backup_id, "dump.rdb"), Body=b"r")
    c.create_multipart_upload(Bucket=s3_bucket, Key=lay.object_key("redis", running.backup_id, "aof/b"))

    before = set(store.s3.list_keys(""))
    dry = store.gc(t + timedelta(hours=2), grace=timedelta(hours=1), dry_run=True)
    assert dry.dry_run and set(store.s3.list_keys("")) == before
    assert len(store.s3.list_multipart_uploads("")) == 3
    assert set(dry.incomplete_backups) == {
        lay.backup_prefix("redis", old),
        lay.backup_prefix("cache", old_cache),
    }
    assert [u.key for u in dry.aborted_uploads] == [lay.object_key("redis", old, "dump.rdb")]
    assert dry.unknown_keys == ("redisops/backups/redis/README",)
    kept = dict(dry.kept)
    assert "running" in kept[lay.backup_prefix("redis", running.backup_id)]
    assert "grace" in kept[lay.backup_prefix("redis", fresh)]

    real = store.gc(t + timedelta(hours=2), grace=timedelta(hours=1))
    assert real.deleted_keys == dry.deleted_keys and not real.dry_run
    after = set(store.s3.list_keys(""))
    assert after == before - set(dry.deleted_keys)
    assert {u.key for u in store.s3.list_multipart_uploads("")} == {
        lay.object_key("redis", fresh, "dump.rdb"),
        lay.object_key("redis", running.backup_id, "aof/b"),
    }
    assert [b.id for b in store.list()] == [done.id] and store.verify(done.id).ok
    running.abort()
    # once nothing is young or running, everything incomplete goes; complete backups stay
    final = store.gc(t + timedelta(days=2), grace=timedelta(hours=1))
    assert lay.backup_prefix("redis", fresh) in final.incomplete_backups
    assert store.s3.list_multipart_uploads("") == []
    assert set(store.s3.list_keys("")) == {
        *store.s3.list_keys(lay.backup_prefix("redis", done.id)),
        "redisops/backups/redis/README",
    }


# --- retention through the store ---------------------------------------------------------------------------
def test_prune_keeps_what_the_rules_say(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    t = now() - timedelta(days=10)
    ids = []
    for d in range(5):
        with store.begin("rdb", t + timedelta(days=d)) as w:
            w.write_bytes("dump.rdb", f"{d}".encode())
            ids.append(w.commit().id)
    plan = store.prune(RetentionRules(keep_last=2), dry_run=True)
    assert plan.delete_ids == ids[2::-1] and len(store.list()) == 5
    store.prune(RetentionRules(keep_last=2))
    assert [b.id for b in store.list()] == ids[:2:-1]
    with pytest.raises(NotFoundError):
        store.delete(ids[0])
    deleted = store.delete(ids[3])
    assert deleted[0].endswith("manifest.json")  # the commit marker goes first
    assert [b.id for b in store.list()] == [ids[4]]


# --- Velero ----------------------------------------------------------------------------------------------
VELERO_OBJECTS = [
    "velero/backups/nightly-20261124/velero-backup.json",
    "velero/backups/nightly-20261124/nightly-20261124.tar.gz",
    "velero/restores/r1/restore-r1-logs.gz",
    "velero/kopia/llm-judge/kopia.repository",
    "velero/metadata/revision",
]


def _bsl(bucket: str, url: str, prefix: str | None = "velero") -> dict[str, Any]:
    storage = {"bucket": bucket, **({"prefix": prefix} if prefix is not None else {})}
    return {
        "apiVersion": "velero.io/v1",
        "kind": "BackupStorageLocation",
        "metadata": {"name": "default", "namespace": "velero"},
        "spec": {
            "provider": "aws",
            "objectStorage": storage,
            "config": {"region": "us-east-1", "s3Url": url, "s3ForcePathStyle": "true"},
        },
    }


@pytest.mark.parametrize(
    ("placement", "root"), [("sibling", "redisops"), ("plugins", "velero/plugins/redisops")]
)
def test_velero_prefix_stays_valid(
    s3_endpoint: S3Endpoint, s3_bucket: str, placement: str, root: str
) -> None:
    c = s3_endpoint.client()
    for key in VELERO_OBJECTS:
        c.put_object(Bucket=s3_bucket, Key=key, Body=b"velero")
    loc = location_from_bsl(_bsl(s3_bucket, s3_endpoint.url), placement=placement)  # type: ignore[arg-type]
    assert loc.root == root
    s3 = S3Adapter(loc.s3_settings(CREDS, part_size=PART, max_attempts=2))
    store = BackupStore(loc.layout(), s3, "redis")
    allowed = {f"velero/{d}/" for d in VELERO_TOP_LEVEL}

    def check(step: str) -> None:
        tops = set(s3.list_prefixes("velero/"))
        assert tops <= allowed, f"after {step}: {sorted(tops - allowed)}"
        keys = s3.list_keys("")
        assert all(k.startswith(root + "/") or k in VELERO_OBJECTS for k in keys), step
        assert all(u.key.startswith(root + "/") for u in s3.list_multipart_uploads("")), step
        assert set(VELERO_OBJECTS) <= set(keys), step

    t = now()
    w = store.begin("rdb", t)
    check("begin")
    w.write_object("dump.rdb", [os.urandom(MIB)] * 11)
    check("write_object")
    m = w.commit()
    check("commit")
    assert [b.id for b in store.list()] == [m.id]
    assert store.verify(m.id).ok
    assert sum(len(x) for x in store.open_object(m.id, "dump.rdb")) == 11 * MIB
    check("read")

    def boom() -> Iterator[bytes]:
        yield os.urandom(6 * MIB)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError), store.begin("rdb", t + timedelta(minutes=1)) as w2:
        w2.write_object("dump.rdb", boom())
    check("abort")
    stale = store.begin("rdb", t - timedelta(days=1))
    check("lock")
    store.break_lock(t)
    check("break_lock")
    store.gc(t + timedelta(days=3), grace=timedelta(hours=1))
    check("gc")
    store.prune(RetentionRules(keep_last=1))
    check("prune")
    store.delete(m.id)
    check("delete")
    stale.abort()
    check("abort stale")
    assert sorted(s3.list_keys("")) == sorted(VELERO_OBJECTS)

    with pytest.raises(ConfigError, match="owns the whole bucket"):
        location_from_bsl(_bsl(s3_bucket, s3_endpoint.url, prefix=""))


# --- encryption and checksums -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sse", "kms", "expect"),
    [("AES256", None, "AES256"), ("aws:kms", "arn:aws:kms:us-east-1:123456789012:key/redisops", "aws:kms")],
)
def test_server_side_encryption(
    s3_endpoint: S3Endpoint, s3_bucket: str, sse: str, kms: str | None, expect: str
) -> None:
    s3 = S3Adapter(settings(s3_endpoint.url, s3_bucket, server_side_encryption=sse, kms_key_id=kms))
    s3.upload_stream("redisops/t/small", [b"abc"])
    s3.upload_stream("redisops/t/multi", [os.urandom(MIB)] * 11)
    for key in ("redisops/t/small", "redisops/t/multi"):
        head = s3.head(key)
        assert head.server_side_encryption == expect
        if kms:
            assert head.kms_key_id == kms


@pytest.mark.parametrize(
    ("checksum", "stored"), [(None, "CRC32"), ("", None), ("CRC32", "CRC32"), ("SHA256", "SHA256")]
)
def test_checksum_settings(
    s3_endpoint: S3Endpoint, s3_bucket: str, checksum: str | None, stored: str | None
) -> None:
    s3 = S3Adapter(
        settings(s3_endpoint.url, s3_bucket, checksum_algorithm=checksum, server_side_encryption="none")
    )
    data = os.urandom(11 * MIB)
    r = s3.upload_stream("redisops/c/obj", [data])
    assert r.parts == 3 and r.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(s3.iter_chunks("redisops/c/obj")) == data
    assert s3.head("redisops/c/obj").server_side_encryption in (None, "AES256")
    if stored is not None:  # the upload declared this algorithm: S3 keeps a composite checksum of the parts
        attrs = s3.client.get_object_attributes(
            Bucket=s3_bucket, Key="redisops/c/obj", ObjectAttributes=["Checksum"]
        )
        assert f"Checksum{stored}" in attrs["Checksum"] and attrs["Checksum"]["ChecksumType"] == "COMPOSITE"


def test_conditional_writes_and_errors(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    s3 = S3Adapter(settings(s3_endpoint.url, s3_bucket))
    s3.put_bytes("redisops/x", b"1", if_none_match=True)
    with pytest.raises(ConflictError):
        s3.put_bytes("redisops/x", b"2", if_none_match=True)
    with pytest.raises(ConflictError):
        s3.upload_stream("redisops/x", [os.urandom(MIB)] * 6, if_none_match=True)
    assert s3.list_multipart_uploads("") == []  # the refused multipart upload was aborted
    assert s3.get_bytes("redisops/x")[0] == b"1"
    with pytest.raises(NotFoundError):
        s3.get_bytes("redisops/missing")
    with pytest.raises(NotFoundError):
        s3.head("redisops/missing")
    with pytest.raises(NotFoundError):
        list(s3.iter_chunks("redisops/missing"))
    missing_bucket = S3Adapter(settings(s3_endpoint.url, "redisops-no-such-bucket"))
    with pytest.raises(NotFoundError, match="the S3 bucket 'redisops-no-such-bucket' does not exist") as e:
        missing_bucket.list_keys("")
    assert "aws s3 mb s3://redisops-no-such-bucket" in e.value.hint and "backup.bucket" in e.value.hint
    assert s3.delete_keys([f"redisops/many/{i}" for i in range(1500)]) == 1500  # two batches


# --- read-ahead download -----------------------------------------------------------------------------
def _read_ahead_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "s3-read-ahead"]


def test_read_ahead_download_is_exact_and_stops_when_closed(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    s3 = S3Adapter(settings(s3_endpoint.url, s3_bucket))
    data = os.urandom(7 * MIB + 123)
    s3.put_bytes("redisops/ra/obj", data)
    chunks = list(s3.iter_chunks("redisops/ra/obj", chunk_size=MIB, read_ahead=3))
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= MIB
    # a consumer that stops early (an error of its own, close()) stops the reader thread too
    it = s3.iter_chunks("redisops/ra/obj", chunk_size=MIB // 4, read_ahead=2)
    assert len(next(it)) == MIB // 4
    it.close()
    assert _read_ahead_threads() == []
    assert s3.get_bytes("redisops/ra/obj")[0] == data  # the connection pool is still usable


def test_read_ahead_download_cut_midway_raises_connection_failed(
    s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    direct = S3Adapter(settings(s3_endpoint.url, s3_bucket))
    direct.put_bytes("redisops/ra/big", os.urandom(12 * MIB))
    host, port = s3_endpoint.url.removeprefix("http://").split(":")
    with TcpProxy((host, int(port))) as proxy:
        s3 = S3Adapter(settings(f"http://127.0.0.1:{proxy.port}", s3_bucket, max_attempts=1))
        got = 0
        with pytest.raises(ConnectionFailed):
            for chunk in s3.iter_chunks("redisops/ra/big", chunk_size=MIB, read_ahead=4):
                got += len(chunk)
                if got >= 2 * MIB and proxy.cut_count == 0:
                    proxy.cut()
        assert got < 12 * MIB
    assert _read_ahead_threads() == []


# --- memory ----------------------------------------------------------------------------------------------
def test_peak_memory_of_a_200_mib_upload(
    s3_endpoint: S3Endpoint, s3_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    part, in_flight = 8 * MIB, 2
    s3 = S3Adapter(settings(s3_endpoint.url, s3_bucket, part_size=part, max_in_flight=in_flight))
    block = os.urandom(MIB)
    assert s3.client is not None  # built on first use: not part of what the upload holds

    def gen() -> Iterator[bytes]:
        for _ in range(200):
            yield block

    tracemalloc.start()
    try:
        started = time.monotonic()
        r = s3.upload_stream("redisops/mem/big", gen(), expected_size=None)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # bound: one part being filled + in_flight parts being sent, plus one part of slack for botocore
    bound = (in_flight + 2) * part
    logging.getLogger(__name__).info(
        "200 MiB in %.1fs (%.0f MiB/s), peak %.1f MiB", elapsed, 200 / elapsed, peak / MIB
    )
    assert r.size == 200 * MIB and r.parts == 25
    assert peak < bound, f"peak {peak / MIB:.1f} MiB >= bound {bound / MIB:.0f} MiB"
