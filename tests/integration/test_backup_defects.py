"""Issue 12, backup area: defects found when the toolkit was tried as a new user would.

Real moto S3 over HTTP, real redis-server processes; the CLI through typer's CliRunner in-process with
an isolated environment (a config file pointing at the moto bucket, a private state dir).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.adapters.s3 import AwsCredentials, S3Adapter, S3Settings
from redisops.backup import BackupStore, Layout
from redisops.cli.main import app
from redisops.config import BackupTarget
from redisops.errors import InvalidArgument
from redisops.ops.backup import create_rdb_backup, open_store
from tests.harness.plugin import S3Endpoint

CREDS = AwsCredentials("testing", "testing")
SHA = "ab" * 32
T0 = datetime(2026, 11, 25, 15, 53, 21, tzinfo=UTC)


def make_store(ep: S3Endpoint, bucket: str, host: str = "test-host", **kw: Any) -> BackupStore:
    settings = S3Settings(
        bucket=bucket, endpoint_url=ep.url, force_path_style=True, credentials=CREDS, max_attempts=2
    )
    return BackupStore(Layout(), S3Adapter(settings), "redis", host=host, **kw)


def put_backup(store: BackupStore, at: datetime, purpose: Any = "manual", data: bytes = b"x") -> str:
    with store.begin("rdb", at) as w:
        w.write_bytes("dump.rdb", data)
        return w.commit(now=at + timedelta(seconds=1), purpose=purpose, key_counts={0: {"keys": 3}}).id


# --- CLI harness ----------------------------------------------------------------------------------------
class Cli:
    """``redisops`` in-process against one moto bucket, with an isolated environment."""

    def __init__(self, tmp_path: Path, ep: S3Endpoint, bucket: str) -> None:
        self.config = tmp_path / "deploy.yaml"
        self.config.write_text(
            "service_name: redis\n"
            "backup:\n"
            f"  bucket: {bucket}\n"
            f"  endpoint_url: {ep.url}\n"
            "  force_path_style: true\n"
        )
        self.env = {
            "REDISOPS_STATE_DIR": str(tmp_path / "no-sandbox"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "KUBERNETES_SERVICE_HOST": "",
        }

    def __call__(self, *args: str, columns: int = 120) -> Any:
        runner = CliRunner()
        env = {**self.env, "COLUMNS": str(columns)}
        return runner.invoke(app, ["backup", *args, "--config", str(self.config)], env=env)


@pytest.fixture
def cli(tmp_path: Path, s3_endpoint: S3Endpoint, s3_bucket: str) -> Cli:
    return Cli(tmp_path, s3_endpoint, s3_bucket)


# --- item 6: safety backups are labelled and `latest` skips them -----------------------------------------
def test_latest_skips_safety_backups_unless_asked(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    meant = put_backup(store, T0)
    scheduled = put_backup(store, T0 + timedelta(minutes=1), "scheduled")
    safety = put_backup(store, T0 + timedelta(minutes=2), "safety")
    assert [m.purpose for m in store.list()] == ["safety", "scheduled", "manual"]
    assert store.get(safety).is_safety and not store.get(meant).is_safety
    # a refused `restore latest --force` left a safety backup: latest is still the backup meant
    latest = store.latest()
    assert latest is not None and latest.id == scheduled
    with_safety = store.latest(include_safety=True)
    assert with_safety is not None and with_safety.id == safety
    # a manual backup's manifest has no purpose field at all (older readers keep reading it)
    data, _ = store.s3.get_bytes(store.layout.manifest_key("redis", meant))
    assert "purpose" not in json.loads(data)
    assert store.get(meant).purpose == "manual"
    with pytest.raises(InvalidArgument, match="purpose"):
        put_backup(store, T0 + timedelta(minutes=3), "nightly")
    assert store.lock_info() is None


def test_backup_operation_labels_its_backup(
    redis_server: Any, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    store = open_store(
        BackupTarget(bucket=s3_bucket), "redis", endpoint_url=s3_endpoint.url, credentials=CREDS
    )
    redis_server.client().set("k", "v")
    safety = create_rdb_backup(redis_server.endpoint, store, purpose="safety")
    assert store.get(safety.id).purpose == "safety"
    assert store.latest() is None  # only a safety backup: nothing the operator took
    manual = create_rdb_backup(redis_server.endpoint, store)
    assert store.get(manual.id).purpose == "manual"


def test_cli_list_shows_the_purpose(cli: Cli, s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    put_backup(store, T0)
    put_backup(store, T0 + timedelta(minutes=1), "safety")
    r = cli("list", "-o", "json")
    assert r.exit_code == 0, r.output
    assert [d["purpose"] for d in json.loads(r.stdout)] == ["safety", "manual"]
    text = cli("list")
    assert text.exit_code == 0, text.output
    assert re.search(r"\bsafety\b", text.stdout) and re.search(r"\bmanual\b", text.stdout)


def test_cli_create_and_schedule_label_scheduled(
    cli: Cli, redis_server: Any, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    url = f"redis://127.0.0.1:{redis_server.endpoint.port}"
    r = cli("create", "--url", url, "--purpose", "scheduled", "-o", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["purpose"] == "scheduled"
    r = cli("schedule", "--url", url, "--count", "1", "-o", "json")
    assert r.exit_code == 0, r.output
    taken = json.loads(r.stdout)[0]["id"]
    assert make_store(s3_endpoint, s3_bucket).get(taken).purpose == "scheduled"
    r = cli("create", "--url", url)
    assert r.exit_code == 0, r.output
    assert "(manual)" in r.stdout


# --- item 5: manifests stay readable across versions ------------------------------------------------------
def test_store_reads_a_backup_written_by_a_newer_version(
    s3_endpoint: S3Endpoint, s3_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    from redisops.errors import ParseError

    store = make_store(s3_endpoint, s3_bucket)
    bid = put_backup(store, T0)
    key = store.layout.manifest_key("redis", bid)
    doc = json.loads(store.s3.get_bytes(key)[0])
    doc.update(tool_version="2.0.0", used_memory_peak=123, compression={"algorithm": "zstd"})
    store.s3.put_bytes(key, json.dumps(doc).encode())
    m = store.get(bid)
    assert m.tool_version == "2.0.0" and m.extra["compression"] == {"algorithm": "zstd"}
    assert [b.id for b in store.list()] == [bid]

    newer = put_backup(store, T0 + timedelta(minutes=5))
    key = store.layout.manifest_key("redis", newer)
    doc = json.loads(store.s3.get_bytes(key)[0])
    doc.update(format_version=2, tool_version="3.0.0")
    store.s3.put_bytes(key, json.dumps(doc).encode())
    with pytest.raises(ParseError, match=r"written by redisops 3\.0\.0; upgrade to read it"):
        store.get(newer)
    with caplog.at_level("WARNING"):
        assert [b.id for b in store.list()] == [bid]
    assert f"skipping backup {newer}" in caplog.text and "upgrade" in caplog.text
