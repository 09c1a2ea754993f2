"""``backup list`` does not hide the backups a newer redisops wrote in a newer manifest format: the
``backup.list`` operation sends a ``warning`` event naming how many and the newest format seen, and
``-o json`` carries ``"skipped_newer": N`` (real moto S3; the CLI in-process)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from redisops.backup import BackupStore
from redisops.events import Recorder, Warn
from redisops.ops.entries_backup import BackupList
from redisops.ops.target import resolve_target
from tests.harness.plugin import S3Endpoint
from tests.integration.test_backup_defects import T0, Cli, cli, make_store, put_backup

__all__ = ["cli"]  # the fixture


def _rewrite(store: BackupStore, backup_id: str, format_version: int) -> None:
    """The manifest of ``backup_id`` as a newer redisops would write it (format ``format_version``)."""
    key = store.layout.manifest_key("redis", backup_id)
    doc = json.loads(store.s3.get_bytes(key)[0])
    doc.update(format_version=format_version, tool_version=f"{format_version}.0.0")
    store.s3.put_bytes(key, json.dumps(doc).encode())


def test_backup_list_warns_of_manifests_of_a_newer_format(
    cli: Cli, s3_endpoint: S3Endpoint, s3_bucket: str, tmp_path: Path
) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    kept = put_backup(store, T0)
    target = resolve_target(config=cli.config, state_dir=tmp_path / "state", env={})
    events = Recorder()
    target.run("backup.list", {}, on_event=events)
    assert events.of(Warn) == []  # nothing newer: no warning, 0 in the JSON
    r = cli("list", "-o", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["skipped_newer"] == 0, r.output
    for minutes, version in ((1, 2), (2, 3)):
        _rewrite(store, put_backup(store, T0 + timedelta(minutes=minutes)), version)

    # the library: the listing counts them, the operation warns
    listing = store.listing()
    assert [m.id for m in listing.manifests] == [kept] and [m.id for m in store.list()] == [kept]
    assert (listing.skipped_newer, listing.newest_format) == (2, 3)
    events = Recorder()
    result = target.run("backup.list", {}, on_event=events)
    assert isinstance(result, BackupList) and [m.id for m in result.backups] == [kept]
    warnings = [e.message for e in events.of(Warn)]  # type: ignore[attr-defined]
    assert len(warnings) == 1, warnings
    assert "2 backup(s) of redis not listed" in warnings[0] and "format_version 3" in warnings[0]

    # the CLI: in the JSON object, and in the text output
    r = cli("list", "-o", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["skipped_newer"] == 2 and doc["newest_format"] == 3
    assert [b["id"] for b in doc["backups"]] == [kept]
    r = cli("list")
    assert r.exit_code == 0 and "2 backup(s) of redis not listed" in r.output, r.output
