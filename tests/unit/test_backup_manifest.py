"""The backup manifest: JSON round trip and validation (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redisops.backup.manifest import (
    FORMAT,
    FORMAT_VERSION,
    DbCounts,
    Manifest,
    ObjectEntry,
    SourceInfo,
    redact_address,
)
from redisops.errors import ParseError, VerificationError

T0 = datetime(2026, 11, 25, 18, 45, 1, tzinfo=UTC)
SHA = "ab" * 32


def sample(**kw: Any) -> Manifest:
    fields: dict[str, Any] = {
        "id": "20261125T184501Z-3f9a",
        "created_at": T0,
        "completed_at": T0 + timedelta(seconds=42),
        "source": SourceInfo("redis", "redis://redis.llm-judge.svc:6379/0"),
        "kind": "rdb",
        "objects": (ObjectEntry("dump.rdb", 123, SHA, crc64="0123456789abcdef", verified=True),),
        "tool_version": "0.1.0",
        "redis_version": "7.0.15",
        "rdb_version": 10,
        "key_counts": {0: DbCounts(10, 2), 3: DbCounts(1, 0)},
        "config_fingerprint": "sha256:" + "cd" * 32,
        "notes": "before cutover",
        "used_memory_dataset": 123456,
    }
    fields.update(kw)
    return Manifest(**fields)


def test_round_trip() -> None:
    m = sample()
    data = m.to_json()
    doc = json.loads(data)
    assert doc["format"] == FORMAT and doc["format_version"] == FORMAT_VERSION
    assert doc["created_at"] == "2026-11-25T18:45:01Z"
    assert doc["key_counts"] == {"0": {"keys": 10, "expires": 2}, "3": {"keys": 1, "expires": 0}}
    back = Manifest.from_json(data)
    assert back == m
    assert back.to_json() == data
    assert m.size == 123 and m.verified and m.total_keys == 11
    assert m.object("dump.rdb").sha256 == SHA


def test_optional_fields_may_be_absent_or_null() -> None:
    m = sample(
        key_counts=None,
        redis_version=None,
        rdb_version=None,
        config_fingerprint=None,
        notes="",
        used_memory_dataset=None,
    )
    assert Manifest.from_json(m.to_json()) == m
    doc = json.loads(m.to_json())
    for k in (
        "key_counts",
        "redis_version",
        "rdb_version",
        "config_fingerprint",
        "notes",
        "used_memory_dataset",
    ):
        del doc[k]
    assert Manifest.from_dict(doc) == m
    assert not sample(objects=(ObjectEntry("dump.rdb", 1, SHA),)).verified


@pytest.mark.parametrize("version", [0, "1", "2", None, True])
def test_malformed_format_version_is_rejected(version: object) -> None:
    doc = sample().to_dict()
    doc["format_version"] = version
    with pytest.raises(ParseError, match="format_version") as e:
        Manifest.from_dict(doc)
    assert "corrupt" in e.value.hint


def test_a_newer_format_version_is_refused_naming_the_writer() -> None:
    doc = sample().to_dict()
    doc.update(format_version=FORMAT_VERSION + 1, tool_version="3.1.0", shards=[{"name": "s0"}])
    del doc["objects"]  # a newer format may restructure anything: the version is checked first
    with pytest.raises(ParseError) as e:
        Manifest.from_json(json.dumps(doc))
    assert "written by redisops 3.1.0; upgrade to read it" in e.value.message
    assert "upgrade redisops" in e.value.hint and e.value.context["written_by"] == "3.1.0"


def test_a_manifest_from_a_newer_version_with_unknown_fields_is_read() -> None:
    """Written by a newer redisops (same format version, fields this one does not know)."""
    newer = json.loads(sample().to_json())
    newer.update(
        tool_version="2.4.0",
        purpose="scheduled",
        compression={"algorithm": "zstd", "level": 3},
        replica_of="redis-primary",
    )
    newer["objects"][0]["storage_class"] = "GLACIER_IR"
    newer["key_counts"]["0"]["avg_ttl_ms"] = 1500
    newer["source"]["cluster"] = "eu-1"
    m = Manifest.from_json(json.dumps(newer))
    assert m.tool_version == "2.4.0" and m.purpose == "scheduled" and m.total_keys == 11
    assert m.extra == {"compression": {"algorithm": "zstd", "level": 3}, "replica_of": "redis-primary"}
    assert m.object("dump.rdb").extra == {"storage_class": "GLACIER_IR"}
    # kept: written back unchanged (describe shows them; nothing is lost on a round trip)
    again = json.loads(m.to_json())
    assert again["compression"] == newer["compression"] and again["replica_of"] == "redis-primary"
    assert again["objects"][0]["storage_class"] == "GLACIER_IR"
    assert Manifest.from_json(m.to_json()) == m
    # a purpose a newer version invented is read as written (latest() skips only "safety")
    newer["purpose"] = "pre-upgrade"
    assert Manifest.from_json(json.dumps(newer)).purpose == "pre-upgrade"


def test_purpose_defaults_to_manual_and_is_written_only_when_not_manual() -> None:
    assert "purpose" not in json.loads(sample().to_json())
    assert sample().to_dict()["purpose"] == "manual"
    safety = sample(purpose="safety")
    assert json.loads(safety.to_json())["purpose"] == "safety"
    assert Manifest.from_json(safety.to_json()).is_safety
    with pytest.raises(VerificationError, match="purpose"):
        sample(purpose="Not A Word")


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda d: d.update(format="something-else"), ParseError),
        (lambda d: d.pop("id"), ParseError),
        (lambda d: d.update(created_at="yesterday"), ParseError),
        (lambda d: d.update(created_at="2026-11-25T18:45:01"), ParseError),  # no zone
        (lambda d: d.update(objects="dump.rdb"), ParseError),
        (lambda d: d["objects"][0].update(size="12"), ParseError),
        (lambda d: d["objects"][0].update(size=True), ParseError),
        (lambda d: d.update(kind="snapshot"), ParseError),
        (lambda d: d.update(key_counts={"db0": {"keys": 1}}), ParseError),
        (lambda d: d["objects"][0].update(sha256="XYZ"), VerificationError),
        (lambda d: d["objects"][0].update(size=-1), VerificationError),
        (lambda d: d["objects"][0].update(name="../etc/passwd"), VerificationError),
        (lambda d: d["objects"].append(dict(d["objects"][0])), VerificationError),
        (lambda d: d.update(objects=[]), VerificationError),
        (lambda d: d.update(id="latest"), VerificationError),
        (lambda d: d.update(completed_at="2020-01-01T00:00:00Z"), VerificationError),
        (lambda d: d["source"].update(address="redis://u:secret@h:6379"), VerificationError),
        (lambda d: d.update(key_counts={"0": {"keys": 1, "expires": 5}}), VerificationError),
        (lambda d: d.update(used_memory_dataset=-1), VerificationError),
        (lambda d: d.update(used_memory_dataset="1mb"), ParseError),
    ],
)
def test_malformed_manifests_are_rejected(mutate: Any, error: type[Exception]) -> None:
    doc = json.loads(sample().to_json())
    mutate(doc)
    with pytest.raises(error) as e:
        Manifest.from_json(json.dumps(doc))
    assert "secret" not in str(e.value)


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"\xff\xfe", b"null", b'"x"'])
def test_not_json_objects(data: bytes) -> None:
    with pytest.raises(ParseError):
        Manifest.from_json(data)


def test_redact_address() -> None:
    assert redact_address("redis://user:pw@host:6379/0") == "redis://host:6379/0"
    assert redact_address("rediss://:pw@host:6380") == "rediss://host:6380"
    assert redact_address("host:6379") == "host:6379"
    assert redact_address("default:pw@host:6379") == "host:6379"


@given(
    st.dictionaries(
        st.integers(0, 15), st.integers(0, 10**9).flatmap(lambda k: st.tuples(st.just(k), st.integers(0, k)))
    ),
    st.lists(st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True), min_size=1, max_size=5, unique=True),
    st.text(max_size=50),
)
def test_round_trip_property(counts: dict[int, tuple[int, int]], names: list[str], notes: str) -> None:
    objects = tuple(ObjectEntry(n if n != "manifest.json" else "m.json", i, SHA) for i, n in enumerate(names))
    if len({o.name for o in objects}) != len(objects):
        return
    m = sample(key_counts={db: DbCounts(k, e) for db, (k, e) in counts.items()}, objects=objects, notes=notes)
    assert Manifest.from_json(m.to_json()) == m
