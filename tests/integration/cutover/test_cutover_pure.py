"""The cutover's pure parts: the AppConfig content switch, the Terraform diff, ownership, the egress
rules to ElastiCache and the merge patch that puts a NetworkPolicy back; the record files (0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from redisops.errors import InvalidArgument
from redisops.ops.cutover_plan import (
    clean_object,
    elasticache_rules,
    endpoint_of,
    hcl_diff,
    helm_owner,
    restore_patch,
    switch_content,
    terraform_owner,
    without_rules,
)
from redisops.ops.cutover_record import CutoverRecord, NetworkChange, latest_record, save_record

WRITEUP = json.dumps(
    {"redis": {"host": "es.cache.amazonaws.com", "port": 6379, "default_ttl_seconds": 604800}}
)


def test_switch_keeps_everything_but_the_endpoint_and_refuses_other_shapes() -> None:
    new = switch_content(WRITEUP.encode(), "redis.llm-judge.svc.cluster.local", 6380)
    assert json.loads(new) == {
        "redis": {"host": "redis.llm-judge.svc.cluster.local", "port": 6380, "default_ttl_seconds": 604800}
    }
    assert endpoint_of(WRITEUP.encode()) == "es.cache.amazonaws.com:6379" and endpoint_of(b"[]") is None
    with pytest.raises(InvalidArgument, match="'redis' object"):
        switch_content(b'{"cache": {}}', "h", 1)


def test_hcl_diff_is_the_writeups_change_and_its_reverse() -> None:
    fwd = hcl_diff("redis.llm-judge.svc.cluster.local", 6379)
    assert "-  host = var.redis_endpoint\n-  port = var.redis_port\n" in fwd
    assert '+  host = "redis.llm-judge.svc.cluster.local"\n+  port = 6379\n' in fwd
    back = hcl_diff("redis.llm-judge.svc.cluster.local", 6379, reverse=True)
    assert '-  host = "redis.llm-judge.svc.cluster.local"' in back and "+  host = var.redis_endpoint" in back


def test_owners() -> None:
    assert terraform_owner({"ManagedBy": "Terraform"}) == "tag ManagedBy=Terraform"
    assert terraform_owner({"terragrunt:module": "appconfig"}) is not None
    assert terraform_owner({"team": "llm", "managed-by": "helm"}) is None
    helm = {
        "metadata": {
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "redis-service"},
        }
    }
    assert helm_owner(helm) == "redis-service" and helm_owner({"metadata": {"labels": {"a": "b"}}}) is None


POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "resourceVersion": "7", "labels": {"a": "1"}},
    "spec": {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"port": 6379, "protocol": "TCP"}]},
            {"to": [{"podSelector": {"matchLabels": {"app": "redis"}}}], "ports": [{"port": 6379}]},
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]},
        ],
    },
    "status": {},
}


def test_only_ip_block_rules_on_the_source_port_are_the_egress_to_elasticache() -> None:
    assert elasticache_rules(POLICY, 6379) == [0] and elasticache_rules(POLICY, 7000) == []
    assert [r["ports"][0]["port"] for r in without_rules(POLICY, [0])] == [6379, 443]
    ingress = {**POLICY, "spec": {**POLICY["spec"], "policyTypes": ["Ingress"]}}
    assert elasticache_rules(ingress, 6379) == []


def test_restore_patch_turns_the_edited_object_back() -> None:
    before = clean_object(POLICY)
    assert before is not None and "uid" not in before["metadata"] and "status" not in before
    now = json.loads(json.dumps(before))
    now["spec"]["egress"] = without_rules(POLICY, [0])
    now["metadata"]["labels"]["added"] = "x"
    now["spec"]["ingress"] = []
    patch = restore_patch(now, before)
    assert patch["metadata"]["labels"] == {"added": None, "a": "1"}
    assert patch["spec"]["ingress"] is None and patch["spec"]["egress"] == POLICY["spec"]["egress"]


def _record(mode: str, version: str, sha256: str | None) -> CutoverRecord:
    return CutoverRecord.new(
        mode=mode,
        application="a",
        environment="e",
        profile="p",
        strategy="s",
        previous_version=version,
        previous_sha256=sha256,
        previous_endpoint=f"h:{version}",
    )


def test_records_are_private_and_the_newest_is_found(tmp_path: Path) -> None:
    assert latest_record(tmp_path) is None
    first = _record("api", "1", "0" * 64)
    first.network.append(NetworkChange("p", "ns", "edited", clean_object(POLICY), None, "remove-elasticache"))
    where = save_record(first, tmp_path)
    assert oct(os.stat(where[0]).st_mode & 0o777) == "0o600"
    second = _record("terraform", "2", None)
    second.id = first.id.replace("cutover-", "cutover-9")  # later in sort order, as a later time is
    save_record(second, tmp_path)
    found = latest_record(tmp_path)
    assert found is not None and found.mode == "terraform"
    (tmp_path / "migrate" / f"{second.id}.json").write_text("{not json")
    again = latest_record(tmp_path)
    assert again is not None and again.id == first.id and again.network[0].before == clean_object(POLICY)
