"""Issue 13 item 8: an operation on a backup store leaves its audit record beside the backups.

Against a real redis-server (with a password) and a real moto S3: ``backup.create``, ``backup.delete``
and ``backup.gc`` each leave one JSON object under ``<root>/audit/YYYY/MM/DD/`` (as the local audit log
gets its line), masked; a refused run (a blocked plan, a missing confirmation) leaves none there;
``backup list`` and ``gc`` never see the records; ``audit.list`` and ``redisops audit list [--store]``
read them back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redisops.errors import AbortedError, PlanBlocked
from redisops.ops.audit import AuditLog
from redisops.ops.entries_audit import AuditList
from redisops.ops.target import resolve_target

REDISOPS = str(Path(sys.executable).with_name("redisops"))
SECRET = "Audit-S3cret-4711"
KEY = re.compile(
    r"^redisops/audit/\d{4}/\d{2}/\d{2}/\d{8}T\d{6}\.\d{3}Z-(backup\.[a-z]+)-[0-9TZ]+-[0-9a-f]+\.json$"
)


def _config(tmp_path: Path, s3_url: str, bucket: str) -> Path:
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text(
        f"backup:\n  bucket: {bucket}\n  endpoint_url: {s3_url}\n  force_path_style: true\n"
        "  server_side_encryption: none\n"
    )
    return cfg


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


@pytest.mark.slow
def test_store_operations_leave_their_audit_record_beside_the_backups(
    redis_factory: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path
) -> None:
    server = redis_factory()
    c = server.client()
    for i in range(20):
        c.set(f"k:{i}", "v" * 50)
    c.config_set("requirepass", SECRET)
    c.close()
    cfg = _config(tmp_path, s3_endpoint.url, s3_bucket)
    t = resolve_target(
        url=f"redis://127.0.0.1:{server.endpoint.port}", config=cfg, env={"REDIS_PASSWORD": SECRET}
    )
    s3 = s3_endpoint.client()

    first = t.run("backup.create")
    second = t.run("backup.create")
    audit = _keys(s3, s3_bucket, "redisops/audit/")
    assert [KEY.match(k).group(1) for k in audit] == ["backup.create", "backup.create"]  # type: ignore[union-attr]
    record = json.loads(s3.get_object(Bucket=s3_bucket, Key=audit[0])["Body"].read())
    local = [r for r in AuditLog().read() if r["op"] == "backup.create"]
    assert record == local[0]  # the same masked line as the local log's
    assert record["outcome"] == "ok" and record["plan"]["op"] == "backup.create" and record["user"]
    assert record["result"]["id"] == first.id

    # refusals change nothing, in the store's audit trail too (the local log records them)
    with pytest.raises(AbortedError):
        t.run("backup.delete", backup_id=first.id)
    with pytest.raises(PlanBlocked):
        t.run("backup.delete", backup_id="20200101T000000Z-dead", confirm=True)
    assert _keys(s3, s3_bucket, "redisops/audit/") == audit
    assert AuditLog().read()[-1]["outcome"] == "blocked"

    t.run("backup.delete", backup_id=first.id, confirm=True)
    gc = t.run("backup.gc", grace_hours=0, confirm=True)
    assert not gc.removed_anything and not gc.unknown_keys  # the audit records are not leftovers
    audit = _keys(s3, s3_bucket, "redisops/audit/")
    assert [KEY.match(k).group(1) for k in audit] == [  # type: ignore[union-attr]
        "backup.create", "backup.create", "backup.delete", "backup.gc",
    ]  # fmt: skip
    # backups are listed without the audit records; the root holds backups/ and audit/ only
    assert [b.id for b in t.run("backup.list").backups] == [second.id]
    tops = s3.list_objects_v2(Bucket=s3_bucket, Prefix="redisops/", Delimiter="/").get("CommonPrefixes", [])
    assert sorted(p["Prefix"] for p in tops) == ["redisops/audit/", "redisops/backups/"]

    # audit.list reads them back, oldest first, with a filter and a limit
    listed = t.run("audit.list", store=True)
    assert isinstance(listed, AuditList) and listed.where == f"s3://{s3_bucket}/redisops/audit/"
    assert [r["op"] for r in listed.records] == [
        "backup.create",
        "backup.create",
        "backup.delete",
        "backup.gc",
    ]
    deletes = t.run("audit.list", store=True, operation="backup.delete").records
    assert [r["op"] for r in deletes] == ["backup.delete"]
    assert [r["op"] for r in t.run("audit.list", store=True, limit=1).records] == ["backup.gc"]
    here = t.run("audit.list", operation="backup")
    assert here.where == str(AuditLog().path) and len(here.records) == 5  # the blocked delete too

    # the CLI: the store's trail and this machine's, as text and as one JSON object
    env = {k: v for k, v in os.environ.items() if k not in ("REDISCLI_AUTH", "REDIS_PASSWORD")}
    out = subprocess.run(
        [REDISOPS, "audit", "list", "--store", "-c", str(cfg), "-o", "json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["count"] == 4 and doc["records"][-1]["op"] == "backup.gc"
    text = subprocess.run(
        [REDISOPS, "audit", "list", "--op", "backup.delete"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert text.returncode == 0 and "backup.delete" in text.stdout and "blocked" in text.stdout
    for seen in (out.stdout, out.stderr, text.stdout, text.stderr):
        assert SECRET not in seen
    for key in audit:
        assert SECRET.encode() not in s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert SECRET not in AuditLog().path.read_text()


@pytest.mark.slow
def test_a_restore_from_the_sandbox_store_leaves_its_record_there(tmp_path: Path) -> None:
    from redisops.ops.datasets import DatasetSpec, populate
    from redisops.ops.sandbox import sandbox_down, sandbox_up

    state = sandbox_up(tmp_path / "sandbox")
    try:
        t = resolve_target(state_dir=state.state_dir, env={})
        populate(state.target, DatasetSpec(keys_per_db=20, dbs=(0,), ttl_fraction=0), seed=1)
        backup = t.run("backup.create")
        restored = t.run("restore.apply", backup_id=backup.id, force=True, safety_backup=False, confirm=True)
        assert restored.backup_id == backup.id
        trail = t.run("audit.list", store=True)
        assert trail.where == f"s3://{state.bucket}/redisops/audit/"
        assert [(r["op"], r["outcome"]) for r in trail.records] == [
            ("backup.create", "ok"),
            ("restore.apply", "ok"),
        ]
        assert trail.records[1]["params"]["backup_id"] == backup.id
        assert [b.id for b in t.run("backup.list").backups] == [backup.id]
    finally:
        sandbox_down(tmp_path / "sandbox", discard_backups=True)
