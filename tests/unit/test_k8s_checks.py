"""The checks kubernetes-validate does not make: quantities, names, labels, ports, cron, selectors."""

from __future__ import annotations

import pytest

from redisops.k8s.checks import (
    check_annotations,
    check_cron,
    check_dns1123_label,
    check_dns1123_subdomain,
    check_label_key,
    check_label_value,
    check_manifest,
    check_manifests,
    check_port,
    check_quantity,
    check_selector,
    selector_matches,
)


@pytest.mark.parametrize("q", ["100m", "0.5", "1", 2, 0.25, "256Mi", "10Gi", "1e3", "1E-3", ".5", "5.", "1k"])
def test_valid_quantities(q):
    assert check_quantity(q) == []


@pytest.mark.parametrize("q", ["", "256MB", "10 Gi", "1.2.3", "Mi", "ten", "1ki", "-1", True, None, [1]])
def test_invalid_quantities(q):
    assert check_quantity(q)


def test_milli_bytes_is_flagged_for_memory_only():
    assert check_quantity("512m") == []
    (problem,) = check_quantity("512m", memory=True)
    assert "512Mi" in problem


@pytest.mark.parametrize("name", ["redis", "a", "redis-0", "0abc", "a" * 63])
def test_dns_labels_ok(name):
    assert check_dns1123_label(name) == []


@pytest.mark.parametrize("name", ["", "Redis", "redis_1", "-redis", "redis-", "a.b", "a" * 64, None])
def test_dns_labels_bad(name):
    assert check_dns1123_label(name)


def test_dns_subdomains():
    assert check_dns1123_subdomain("ebs.csi.aws.com") == []
    assert check_dns1123_subdomain("gp3") == []
    assert check_dns1123_subdomain("a..b")
    assert check_dns1123_subdomain("Gp3")
    assert check_dns1123_subdomain("a" * 254)


@pytest.mark.parametrize(
    "key", ["app", "app.kubernetes.io/name", "pre.hook.backup.velero.io/command", "A_b.c-d", "k8s-app"]
)
def test_label_keys_ok(key):
    assert check_label_key(key) == []


@pytest.mark.parametrize("key", ["", "/name", "Bad_Prefix/x", "x/", "a/b/c", "-x", "x" * 64, 3])
def test_label_keys_bad(key):
    assert check_label_key(key)


def test_label_values():
    assert check_label_value("") == []
    assert check_label_value("redis-service") == []
    assert check_label_value("v1.2_3") == []
    assert check_label_value("has space")
    assert check_label_value("x" * 64)
    assert check_label_value(True)  # YAML `true` unquoted is not a string
    assert check_label_value("-lead")


def test_annotations_values_must_be_strings_and_fit():
    assert check_annotations({"a.io/x": "anything goes: ' \" []"}) == []
    assert check_annotations({"a.io/x": 5})
    assert check_annotations({"x": "y" * (256 * 1024)})


@pytest.mark.parametrize("port", [1, 6379, 65535])
def test_ports_ok(port):
    assert check_port(port) == []


@pytest.mark.parametrize("port", [0, 65536, -1, "6379", True, None, 6379.0])
def test_ports_bad(port):
    assert check_port(port)


def test_named_ports():
    assert check_port("redis", allow_name=True) == []
    assert check_port("http-2", allow_name=True) == []
    assert check_port("redis", allow_name=False)
    assert check_port("a-very-long-port-name", allow_name=True)  # > 15
    assert check_port("a--b", allow_name=True)
    assert check_port("123", allow_name=True)  # needs a letter
    assert check_port("Redis", allow_name=True)


@pytest.mark.parametrize(
    "schedule",
    [
        "0 */6 * * *",
        "*/15 * * * *",
        "0 0 * * 0",
        "30 2 1,15 * MON-FRI",
        "0 3 * JAN,jul sun",
        "5-55/10 1-23/2 ? * *",
        "0 0 1 1 *",
        "59 23 31 12 6",
        "@daily",
        "@Hourly",
        "@yearly",
        "@every 6h",
        "@every 1h30m",
        "5/15 * * * *",
    ],
)
def test_cron_ok(schedule):
    assert check_cron(schedule) == []


@pytest.mark.parametrize(
    "schedule",
    [
        "",
        "0 */6 * *",  # 4 fields
        "0 0 */6 * * *",  # 6 fields (seconds) is not the CronJob format
        "60 * * * *",
        "0 24 * * *",
        "0 0 0 * *",  # day of month starts at 1
        "0 0 32 * *",
        "0 0 * 13 *",
        "0 0 * * 7",  # robfig/cron: 0-6 only
        "*/0 * * * *",
        "0 0 * * MON-XYZ",
        "10-5 * * * *",
        "1,,2 * * * *",
        "? * * * *",
        "@fortnightly",
        "@every 6 hours",
        "TZ=UTC 0 0 * * *",
        "CRON_TZ=Europe/Berlin 0 0 * * *",
        "*/61 * * * *",
        None,
    ],
)
def test_cron_bad(schedule):
    assert check_cron(schedule)


def test_cron_sunday_seven_explains():
    (problem,) = check_cron("0 0 * * 7")
    assert "use 0" in problem


def test_selectors():
    assert check_selector({"matchLabels": {"app": "redis"}}) == []
    assert check_selector({}) == []
    assert check_selector({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]}) == []
    assert check_selector({"matchExpressions": [{"key": "tier", "operator": "In"}]})
    assert check_selector({"matchExpressions": [{"key": "tier", "operator": "Exists", "values": ["a"]}]})
    assert check_selector({"matchExpressions": [{"key": "tier", "operator": "Equals", "values": ["a"]}]})
    assert check_selector({"matchLabels": {"app": "has space"}})
    assert check_selector({"matchLabel": {"app": "x"}})
    assert check_selector(["app=redis"])


def test_selector_matches():
    labels = {"app": "redis", "tier": "db"}
    assert selector_matches({}, labels)
    assert selector_matches(None, labels)
    assert selector_matches({"matchLabels": {"app": "redis"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "redis-service"}}, labels)
    exprs = [
        ({"key": "tier", "operator": "In", "values": ["db", "cache"]}, True),
        ({"key": "tier", "operator": "In", "values": ["cache"]}, False),
        ({"key": "tier", "operator": "NotIn", "values": ["cache"]}, True),
        ({"key": "tier", "operator": "NotIn", "values": ["db"]}, False),
        ({"key": "zone", "operator": "NotIn", "values": ["a"]}, True),
        ({"key": "tier", "operator": "Exists"}, True),
        ({"key": "zone", "operator": "Exists"}, False),
        ({"key": "zone", "operator": "DoesNotExist"}, True),
        ({"key": "app", "operator": "DoesNotExist"}, False),
    ]
    for expr, expected in exprs:
        assert selector_matches({"matchExpressions": [expr]}, labels) is expected, expr


def _deployment(**overrides):
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "redis", "namespace": "llm-judge", "labels": {"app": "redis"}},
        "spec": {
            "selector": {"matchLabels": {"app": "redis"}},
            "template": {
                "metadata": {"labels": {"app": "redis"}},
                "spec": {
                    "containers": [
                        {
                            "name": "redis",
                            "image": "redis:7.2",
                            "ports": [{"name": "redis", "containerPort": 6379}],
                            "resources": {"limits": {"memory": "512Mi", "cpu": "500m"}},
                        }
                    ]
                },
            },
        },
    }
    dep.update(overrides)
    return dep


def test_check_manifest_clean_deployment():
    assert check_manifest(_deployment()) == []


def test_check_manifest_finds_what_the_schema_cannot():
    dep = _deployment(metadata={"name": "Redis_1", "namespace": "LLM", "labels": {"app": "a b"}})
    c = dep["spec"]["template"]["spec"]["containers"][0]
    c["ports"][0]["containerPort"] = 70000
    c["resources"]["limits"]["memory"] = "512m"
    c["resources"]["limits"]["cpu"] = "half"
    dep["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    paths = {i.path for i in check_manifest(dep)}
    assert {
        "metadata.name",
        "metadata.namespace",
        "metadata.labels",
        "spec.template.spec.containers[0].ports[0].containerPort",
        "spec.template.spec.containers[0].resources.limits.memory",
        "spec.template.spec.containers[0].resources.limits.cpu",
        "spec.selector",
    } <= paths


def test_check_manifest_kind_specific():
    cron = {
        "kind": "CronJob",
        "metadata": {"name": "x" * 53, "namespace": "ns"},
        "spec": {
            "schedule": "0 0 * * 7",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}},
        },
    }
    assert {i.path for i in check_manifest(cron)} == {"spec.schedule", "metadata.name"}
    pvc = {
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "d", "namespace": "ns"},
        "spec": {"resources": {"requests": {"storage": "10GB"}}},
    }
    assert [i.path for i in check_manifest(pvc)] == ["spec.resources.requests.storage"]
    svc = {
        "kind": "Service",
        "metadata": {"name": "a.b", "namespace": "ns"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 0, "targetPort": "Bad_Name"}]},
    }
    assert {i.path for i in check_manifest(svc)} == {
        "metadata.name",
        "spec.ports[0].port",
        "spec.ports[0].targetPort",
    }
    sc = {"kind": "StorageClass", "metadata": {"name": "gp3", "namespace": "ns"}}
    assert [i.path for i in check_manifest(sc)] == ["metadata.namespace"]
    np = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "podSelector": {},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"a": "-"}}}], "ports": [{"port": 99999}]}],
        },
    }
    assert {i.path for i in check_manifest(np)} == {
        "spec.ingress[0].from[0].podSelector",
        "spec.ingress[0].ports[0].port",
    }


def test_check_manifests_finds_duplicates():
    issues = check_manifests([_deployment(), _deployment()])
    assert [i.message for i in issues] == ["duplicate object in the set"]
    assert str(issues[0]).startswith("Deployment/redis: metadata.name:")
