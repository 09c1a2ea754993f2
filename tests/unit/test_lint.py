"""Lint rules: the write-up's config trips the rules it should, a fixed config does not, docs stay in sync."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redisops.config import DeploymentConfig, config_from_mapping, load_hcl
from redisops.k8s.manifests import render_manifests
from redisops.lint import (
    RULES,
    Finding,
    LintOptions,
    exit_code,
    lint_config,
    rules_by_id,
    rules_markdown,
    summarize,
)

ROOT = Path(__file__).resolve().parents[2]
HCL = ROOT / "tests" / "fixtures" / "config" / "configuration.hcl"

#: what `redisops lint configuration.hcl` reports for the write-up (with redisops's own manifests)
WRITE_UP_RULES = {
    "image-tag-unreleased",
    "fork-headroom",
    "request-below-maxmemory",
    "reclaim-delete",
    "auth-disabled",
    "eviction-drops-data",
    "clients-not-admitted",
}

#: a config that fixes every config finding of the write-up
FIXED = {
    "image": "redis:7.2.5-alpine",
    "resources": {
        "requests": {"cpu": "100m", "memory": "640Mi"},
        "limits": {"cpu": "500m", "memory": "640Mi"},
    },
    "persistence": {"reclaim_policy": "Retain"},
    "config": {"maxmemory": "256mb", "maxmemory_policy": "volatile-lru"},
    "auth": {"enabled": True},
    "clients": {"services": ["redis-service"]},
}
FIXED_FACTS = LintOptions(client_labels={"redis-service": {"app": "redis-service", "tier": "api"}})


def _cfg(**overrides) -> DeploymentConfig:
    data = copy.deepcopy(FIXED)
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(data.get(k), dict):
            data[k] = {**data[k], **v}
        else:
            data[k] = v
    return config_from_mapping(data, source="test")


def _ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def _helm_chart_deployment() -> dict:
    """The Deployment the write-up's Helm chart rendered: no strategy (= RollingUpdate), no probes."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "redis", "namespace": "llm-judge", "labels": {"app": "redis"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "redis"}},
            "template": {
                "metadata": {"labels": {"app": "redis"}},
                "spec": {
                    "containers": [{"name": "redis", "image": "redis:7.1-alpine"}],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "redis-data"}}],
                },
            },
        },
    }


def _helm_chart_set() -> list[dict]:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "redis-data", "namespace": "llm-judge"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
    }
    return [pvc, _helm_chart_deployment()]


# --- the write-up ------------------------------------------------------------------------------


def test_write_up_hcl_trips_exactly_these_rules():
    findings = lint_config(load_hcl(HCL))
    assert _ids(findings) == WRITE_UP_RULES
    assert exit_code(findings) == 21
    sev = {f.rule_id: f.severity for f in findings}
    assert sev["image-tag-unreleased"] == "error"
    assert sev["auth-disabled"] == "warn"  # our manifests carry an ingress NetworkPolicy
    assert sev["clients-not-admitted"] == "info"
    (admitted,) = [f for f in findings if f.rule_id == "clients-not-admitted"]
    assert "pods labelled app=redis-service;" in admitted.message  # a selector as people write it
    assert [f.severity for f in findings] == sorted(
        (f.severity for f in findings), key=["error", "warn", "info"].index
    )


def test_write_up_hcl_with_its_helm_chart_manifests():
    findings = lint_config(load_hcl(HCL), manifests=_helm_chart_set())
    ids = _ids(findings)
    assert {"rwo-rolling-update", "readiness-probe-missing", "network-policy-missing"} <= ids
    assert next(f for f in findings if f.rule_id == "auth-disabled").severity == "error"


def test_fixed_config_is_clean():
    assert lint_config(_cfg(), options=FIXED_FACTS) == []


def test_every_rule_has_a_case():
    assert {case[0] for case in CASES} | set(MANIFEST_RULES) == {r.id for r in RULES}


# (rule id, bad config overrides, good config overrides, manifests-factory for bad or None, options)
CASES = [
    ("image-tag-unreleased", {"image": "redis:7.1-alpine"}, {"image": "redis:7.2-alpine"}),
    ("image-tag-unreleased", {"image": "docker.io/library/redis:6.1.0"}, {"image": "redis:6.2.14-bookworm"}),
    ("image-tag-floating", {"image": "redis:latest"}, {"image": "redis:7.4-alpine"}),
    ("image-tag-floating", {"image": "redis"}, {"image": "redis@sha256:" + "a" * 64}),
    ("image-tag-floating", {"image": "redis:7-alpine"}, {"image": "redis:7.2"}),
    ("maxmemory-over-limit", {"config": {"maxmemory": "640mb"}}, {"config": {"maxmemory": "256mb"}}),
    ("maxmemory-over-limit", {"config": {"maxmemory": "1gb"}}, {"config": {"maxmemory": "200mb"}}),
    ("fork-headroom", {"config": {"maxmemory": "320mb"}}, {"config": {"maxmemory": "256mb"}}),
    ("maxmemory-unset", {"config": {"maxmemory": "0"}}, {}),
    (
        "request-below-maxmemory",
        {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}},
        {"resources": {"requests": {"cpu": "100m", "memory": "300Mi"}}},
    ),
    ("reclaim-delete", {"persistence": {"reclaim_policy": "Delete"}}, {}),
    ("pvc-unencrypted", {"persistence": {"encrypted": False}}, {}),
    ("auth-disabled", {"auth": {"enabled": False}}, {}),
    ("backup-unscheduled", {"backup": {"schedule": None}}, {}),
    ("backup-schedule-invalid", {"backup": {"schedule": "0 */6 * *"}}, {"backup": {"schedule": "@daily"}}),
    ("backup-schedule-invalid", {"backup": {"schedule": "0 3 * * 7"}}, {"backup": {"schedule": "0 3 * * 0"}}),
    (
        "eviction-drops-data",
        {"config": {"maxmemory_policy": "allkeys-lru"}},
        {"config": {"maxmemory_policy": "noeviction"}},
    ),
    (
        "persistence-off",
        {"config": {"appendonly": "no", "save": ""}},
        {"config": {"appendonly": "yes", "save": ""}},
    ),
    ("persistence-off", {"persistence": {"enabled": False}}, {}),
    ("clients-not-admitted", {"clients": {"services": ["redis-service", "gateway-service"]}}, {}),
]


@pytest.mark.parametrize(("rule_id", "bad", "good"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_trips_and_fix_clears_it(rule_id, bad, good):
    assert rule_id in _ids(lint_config(_cfg(**bad), options=FIXED_FACTS)) or rule_id in _ids(
        lint_config(_cfg(**bad))
    )
    assert rule_id not in _ids(lint_config(_cfg(**good), options=FIXED_FACTS))


#: rules over the manifest set, each with its own test below
MANIFEST_RULES = (
    "rwo-rolling-update",
    "readiness-probe-missing",
    "network-policy-missing",
    "manifest-invalid",
)


def test_rwo_rolling_update_on_the_helm_chart():
    findings = [
        f for f in lint_config(_cfg(), manifests=_helm_chart_set()) if f.rule_id == "rwo-rolling-update"
    ]
    (f,) = findings
    assert f.severity == "error"
    assert "defaults to RollingUpdate" in f.message and "redis-data" in f.message
    assert f.path == "Deployment/redis.spec.strategy"
    explicit = _helm_chart_set()
    explicit[1]["spec"]["strategy"] = {"type": "RollingUpdate"}
    assert "strategy RollingUpdate" in next(
        f.message for f in lint_config(_cfg(), manifests=explicit) if f.rule_id == "rwo-rolling-update"
    )
    fixed = _helm_chart_set()
    fixed[1]["spec"]["strategy"] = {"type": "Recreate"}
    assert "rwo-rolling-update" not in _ids(lint_config(_cfg(), manifests=fixed))
    rwx = _helm_chart_set()
    rwx[0]["spec"]["accessModes"] = ["ReadWriteMany"]
    assert "rwo-rolling-update" not in _ids(lint_config(_cfg(), manifests=rwx))
    # a claim not in the set: the config's access mode decides
    assert "rwo-rolling-update" in _ids(lint_config(_cfg(), manifests=[_helm_chart_deployment()]))


def test_readiness_probe_missing():
    assert "readiness-probe-missing" in _ids(lint_config(_cfg(), manifests=_helm_chart_set()))
    docs = render_manifests(_cfg())
    assert "readiness-probe-missing" not in _ids(lint_config(_cfg(), manifests=docs))
    dep = next(d for d in docs if d["kind"] == "Deployment")
    del dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert "readiness-probe-missing" in _ids(lint_config(_cfg(), manifests=docs))


def test_network_policy_missing():
    docs = render_manifests(_cfg())
    assert "network-policy-missing" not in _ids(lint_config(_cfg(), manifests=docs))
    without = [d for d in docs if d["kind"] != "NetworkPolicy"]
    assert "network-policy-missing" in _ids(lint_config(_cfg(), manifests=without))
    # the client egress policy alone does not protect Redis
    egress_only = [d for d in docs if d["metadata"]["name"] != "redis-ingress"]
    assert "network-policy-missing" in _ids(lint_config(_cfg(), manifests=egress_only))


def test_manifest_invalid():
    docs = render_manifests(_cfg())
    assert "manifest-invalid" not in _ids(lint_config(_cfg(), manifests=docs))
    cj = next(d for d in docs if d["kind"] == "CronJob")
    cj["spec"]["schedule"] = "0 0 * * 7"
    f = next(f for f in lint_config(_cfg(), manifests=docs) if f.rule_id == "manifest-invalid")
    assert f.path == "CronJob/redis-backup.spec.schedule"


# --- boundaries and options --------------------------------------------------------------------


LIMIT_512 = {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}


def test_fork_headroom_boundary_is_inclusive():
    at_half = _cfg(config={"maxmemory": "256mb"}, resources=LIMIT_512)
    below = _cfg(config={"maxmemory": "255mb"}, resources=LIMIT_512)
    # 256mb is 256 MiB (redis.conf: mb = 1024*1024), exactly half of 512Mi
    assert at_half.config.maxmemory_bytes * 2 == 512 * 1024**2
    assert "fork-headroom" in _ids(lint_config(at_half))
    assert "fork-headroom" not in _ids(lint_config(below))
    # "256m" is 256,000,000 bytes (redis.conf: m = 1000*1000): below half
    assert "fork-headroom" not in _ids(lint_config(_cfg(config={"maxmemory": "256m"}, resources=LIMIT_512)))


def test_fork_headroom_needs_persistence():
    no_fork = _cfg(config={"maxmemory": "400mb", "appendonly": "no", "save": ""}, backup={"schedule": None})
    ids = _ids(lint_config(no_fork, options=LintOptions(workload="cache")))
    assert "fork-headroom" not in ids
    assert "persistence-off" not in ids  # a cache may run without persistence


def test_over_limit_is_an_error_not_a_headroom_warning():
    ids = _ids(lint_config(_cfg(config={"maxmemory": "640mb"})))
    assert "maxmemory-over-limit" in ids and "fork-headroom" not in ids


def test_workload_inference_and_override():
    cfg = load_hcl(HCL)
    store = next(f for f in lint_config(cfg) if f.rule_id == "eviction-drops-data")
    assert "inferred" in store.message and "volatile-lru" in store.message
    assert "eviction-drops-data" not in _ids(lint_config(cfg, options=LintOptions(workload="cache")))
    pure_cache = _cfg(
        config={"appendonly": "no", "save": "", "maxmemory_policy": "allkeys-lru"}, backup={"schedule": None}
    )
    assert "eviction-drops-data" not in _ids(lint_config(pure_cache))
    assert {"eviction-drops-data", "persistence-off"} <= _ids(
        lint_config(pure_cache, options=LintOptions(workload="store"))
    )


def test_auth_disabled_is_an_error_without_a_network_policy():
    cfg = _cfg(auth={"enabled": False})
    docs = [d for d in render_manifests(cfg) if d["kind"] != "NetworkPolicy"]
    (f,) = [f for f in lint_config(cfg, manifests=docs) if f.rule_id == "auth-disabled"]
    assert f.severity == "error"


def test_clients_not_admitted_with_live_facts():
    cfg = _cfg(clients={"services": ["redis-service", "gateway-service"]})
    facts = LintOptions(
        client_labels={"redis-service": {"app": "redis-service"}, "gateway-service": {"app": "gw"}}
    )
    (f,) = [f for f in lint_config(cfg, options=facts) if f.rule_id == "clients-not-admitted"]
    assert f.severity == "warn" and "gateway-service" in f.message


def test_unknown_newer_family_is_info_and_unknown_variant_warns():
    f = next(f for f in lint_config(_cfg(image="redis:9.0-alpine")) if f.rule_id == "image-tag-unreleased")
    assert f.severity == "info"
    f = next(f for f in lint_config(_cfg(image="redis:7.2-weird")) if f.rule_id == "image-tag-unreleased")
    assert f.severity == "warn"
    assert "image-tag-unreleased" not in _ids(lint_config(_cfg(image="bitnami/valkey:7.1")))
    assert "image-tag-unreleased" in _ids(
        lint_config(_cfg(image="123.dkr.ecr.us-east-1.amazonaws.com/mirror/redis:7.1"))
    )


def test_exit_codes_and_summary():
    findings = lint_config(load_hcl(HCL))
    assert summarize(findings) == {"error": 1, "warn": 5, "info": 1}
    warn_only = [f for f in findings if f.severity != "error"]
    assert exit_code(warn_only) == 0
    assert exit_code(warn_only, strict=True) == 20
    assert exit_code(findings) == exit_code(findings, strict=True) == 21
    assert exit_code([]) == 0
    json.dumps([f.to_dict() for f in findings])
    for f in findings:
        assert f.rationale and f.fix and f.title and f.path and f.message


def test_rules_are_well_formed():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert rules_by_id().keys() == set(ids)
    for r in RULES:
        assert r.severity in ("error", "warn", "info")
        assert r.id == r.id.lower() and " " not in r.id
        assert r.title and r.rationale and r.fix


def test_lint_rules_doc_is_in_sync():
    doc = ROOT / "docs" / "lint-rules.md"
    assert doc.read_text() == rules_markdown(), (
        "docs/lint-rules.md is stale; regenerate: .venv/bin/python -c "
        "\"from redisops.lint import rules_markdown; open('docs/lint-rules.md','w').write(rules_markdown())\""
    )


# --- CLI ---------------------------------------------------------------------------------------


def _cli():
    from redisops.cli.main import app

    return app


def test_cli_lint_write_up(tmp_path):
    result = CliRunner().invoke(_cli(), ["lint", str(HCL), "-o", "json"])
    assert result.exit_code == 21, result.output
    data = json.loads(result.stdout)
    assert {f["rule_id"] for f in data["findings"]} == WRITE_UP_RULES
    assert data["exit_code"] == 21 and data["summary"]["error"] == 1
    text = CliRunner().invoke(_cli(), ["lint", "--config", str(HCL)])
    assert text.exit_code == 21
    assert "image-tag-unreleased" in text.stdout and "fix:" in text.stdout


def test_cli_lint_clean_and_strict(tmp_path):
    import yaml

    p = tmp_path / "fixed.yaml"
    p.write_text(yaml.safe_dump(FIXED))
    ok = CliRunner().invoke(_cli(), ["lint", str(p), "-o", "json"])
    assert ok.exit_code == 0, ok.output  # only the clients-not-admitted info (no live facts)
    assert {f["rule_id"] for f in json.loads(ok.stdout)["findings"]} == {"clients-not-admitted"}
    cache = CliRunner().invoke(_cli(), ["lint", str(HCL), "--workload", "cache", "-o", "json"])
    assert "eviction-drops-data" not in {f["rule_id"] for f in json.loads(cache.stdout)["findings"]}
    p.write_text(yaml.safe_dump({**FIXED, "backup": {"schedule": None}}))
    assert CliRunner().invoke(_cli(), ["lint", str(p)]).exit_code == 0
    assert CliRunner().invoke(_cli(), ["lint", str(p), "--strict"]).exit_code == 20


def test_cli_lint_manifests_file(tmp_path):
    import yaml

    p = tmp_path / "helm.yaml"
    p.write_text(yaml.safe_dump_all(_helm_chart_set()))
    result = CliRunner().invoke(_cli(), ["lint", str(HCL), "--manifests", str(p), "-o", "json"])
    assert result.exit_code == 21
    assert "rwo-rolling-update" in {f["rule_id"] for f in json.loads(result.stdout)["findings"]}
    lst = tmp_path / "list.yaml"
    lst.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": _helm_chart_set()}))
    result = CliRunner().invoke(_cli(), ["lint", str(HCL), "-m", str(lst), "-o", "json"])
    assert "rwo-rolling-update" in {f["rule_id"] for f in json.loads(result.stdout)["findings"]}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    assert CliRunner().invoke(_cli(), ["lint", "-m", str(bad)]).exit_code == 3


def test_cli_lint_list_rules_and_bad_input(tmp_path):
    result = CliRunner().invoke(_cli(), ["lint", "--list-rules", "-o", "json"])
    assert result.exit_code == 0
    assert [r["id"] for r in json.loads(result.stdout)["rules"]] == [r.id for r in RULES]
    assert CliRunner().invoke(_cli(), ["lint", "--workload", "db"]).exit_code == 2
    assert CliRunner().invoke(_cli(), ["lint", str(tmp_path / "missing.yaml")]).exit_code == 3
