"""The Kubernetes adapter against the API emulator (real HTTP, the official client)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from redisops.adapters.kube import RESTARTED_AT_ANNOTATION, Kube, pod_failure_reasons
from redisops.errors import ConfigError, ConflictError, ConnectionFailed, NotFoundError, OperationTimeout

pytestmark = pytest.mark.k8s

NS = "llm-judge"


def manifests(checksum: str = "a", replicas: int = 1, image: str = "redis:7.2") -> list[dict[str, Any]]:
    labels = {"app": "redis"}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "redis-config", "namespace": NS, "labels": labels},
            "data": {"redis.conf": f"appendonly yes\n# {checksum}\n"},
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "redis-data", "namespace": NS, "labels": labels},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "redis", "namespace": NS, "labels": labels},
            "spec": {
                "replicas": replicas,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels, "annotations": {"redisops.io/config-checksum": checksum}},
                    "spec": {
                        "containers": [{"name": "redis", "image": image, "ports": [{"containerPort": 6379}]}]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "redis", "namespace": NS, "labels": labels},
            "spec": {"selector": labels, "ports": [{"name": "redis", "port": 6379}]},
        },
    ]


@pytest.fixture
def k(kube: Any) -> Any:
    with Kube.from_kubeconfig(kube.kubeconfig_path) as client:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        yield client
    assert kube.errors == []


def test_kubeconfig_context_and_namespace(kube: Any, tmp_path: Path) -> None:
    with Kube.from_kubeconfig(kube.kubeconfig_path, context="emu") as client:
        assert (client.context, client.namespace) == ("emu", NS)
    with Kube.connect(kube.kubeconfig_path, namespace="other") as client:
        assert client.namespace == "other"
    with pytest.raises(ConfigError, match="no context 'prod'"):
        Kube.from_kubeconfig(kube.kubeconfig_path, context="prod")
    with pytest.raises(ConfigError, match=r"missing .--kubeconfig. does not exist"):
        Kube.from_kubeconfig(tmp_path / "missing")
    broken = tmp_path / "broken"
    broken.write_text("not: a kubeconfig\n")
    with pytest.raises(ConfigError, match="cannot load the kubeconfig"):
        Kube.from_kubeconfig(broken)


def test_apply_is_server_side_and_reports_actions(k: Kube, kube: Any) -> None:
    first = k.apply(manifests())
    assert [(r.ref, r.action) for r in first] == [
        ("ConfigMap/redis-config", "created"),
        ("PersistentVolumeClaim/redis-data", "created"),
        ("Deployment/redis", "created"),
        ("Service/redis", "created"),
    ]
    managers = {m["manager"] for m in kube.get("Deployment", "redis", NS)["metadata"]["managedFields"]}
    assert "redisops" in managers
    assert {r.action for r in k.apply(manifests())} == {"unchanged"}

    # dry run: the answer shows the change, nothing persists
    dry = k.apply(manifests(checksum="b"), dry_run=True)
    assert [r.action for r in dry if r.kind == "Deployment"] == ["configured"]
    assert k.get("Deployment", "redis", NS)["spec"]["template"]["metadata"]["annotations"] == {
        "redisops.io/config-checksum": "a"
    }
    assert [r.action for r in k.apply(manifests(checksum="b"))] == [
        "configured",
        "unchanged",
        "configured",
        "unchanged",
    ]
    assert [o["metadata"]["name"] for o in k.list("ConfigMap", NS, {"app": "redis"})] == ["redis-config"]
    assert k.get("ConfigMap", "nope", NS) is None
    assert k.delete("ConfigMap", "redis-config", NS) is True
    assert k.delete("ConfigMap", "redis-config", NS) is False


def test_field_conflicts_and_errors_are_translated(k: Kube, kube: Any, tmp_path: Path) -> None:
    k.apply(manifests())
    # another manager takes .spec.replicas
    k.patch("Deployment", "redis", {"spec": {"replicas": 3}}, NS, field_manager="hpa", subresource="scale")
    with pytest.raises(ConflictError, match="conflict"):
        k.apply(manifests(replicas=2))
    assert k.apply(manifests(replicas=2), force=True)[2].object["spec"]["replicas"] == 2
    with pytest.raises(NotFoundError):
        k.rollout_status("missing", NS)
    with pytest.raises(ConfigError, match="unknown kind"):
        k.get("Widget", "x", NS)
    # an API server that is gone: ConnectionFailed, and no token in the message
    kube.write_kubeconfig(tmp_path / "kc", context="emu", namespace=NS)
    text = (tmp_path / "kc").read_text().replace(f":{kube.port}", ":1")
    (tmp_path / "kc").write_text(text)
    with Kube.from_kubeconfig(tmp_path / "kc") as dead:
        dead.api_client.configuration.retries = 0
        with pytest.raises(ConnectionFailed) as err:
            dead.get("ConfigMap", "x", NS)
    assert "token" not in str(err.value).lower()


def test_wait_rollout_scale_and_restart(k: Kube) -> None:
    k.apply(manifests())
    st = k.wait_rollout("redis", NS, timeout=10)
    assert st.done and st.available_replicas == 1 and len(st.pods) == 1
    k.scale("redis", 2, NS)
    assert len(k.wait_rollout("redis", NS, timeout=10).pods) == 2
    old = set(k.wait_rollout("redis", NS, timeout=10).pods)
    stamp = k.rollout_restart("redis", NS)
    dep = k.get("Deployment", "redis", NS)
    assert dep["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT_ANNOTATION] == stamp
    new = k.wait_rollout("redis", NS, timeout=10).pods
    assert len(new) == 2 and not old & set(new)
    # a second restart within the same second still changes the template
    again = k.rollout_restart("redis", NS, now=lambda: stamp)
    assert again != stamp


@pytest.mark.parametrize(
    ("mode", "reason", "expect"),
    [
        ("stuck", "ImagePullBackOff", "ImagePullBackOff"),
        ("crash", None, "CrashLoopBackOff"),
        ("oomkilled", None, "OOMKilled (exit code 137)"),
    ],
)
def test_failed_rollout_names_the_pod_reason(
    k: Kube, kube: Any, mode: str, reason: str | None, expect: str
) -> None:
    kube.set_failure(NS, "redis", mode, reason=reason)
    k.apply(manifests())
    deadline = time.monotonic() + 10  # the kubelet tick that puts the pod in its failure state
    while not any(expect.split()[0] in r for p in k.pods("app=redis", NS) for r in pod_failure_reasons(p)):
        assert time.monotonic() < deadline, "the pod never reported its failure"
        time.sleep(0.02)
    fake_now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:  # a fake clock: the wait is 300 s long and takes a moment
        sleeps.append(s)
        fake_now[0] += 60
        time.sleep(0.05)

    with pytest.raises(OperationTimeout) as err:
        k.wait_rollout("redis", NS, timeout=300, clock=lambda: fake_now[0], sleep=sleep)
    assert expect in err.value.message
    assert "not done after 300s" in err.value.message
    assert err.value.context["reasons"]
    pod = k.pods("app=redis", NS)[0]
    assert any(expect.split()[0] in r for r in pod_failure_reasons(pod))


def test_pods_events_logs_and_exec(k: Kube, kube: Any) -> None:
    k.apply(manifests())
    pod = k.wait_rollout("redis", NS, timeout=10).pods[0]
    assert [p["metadata"]["name"] for p in k.pods({"app": "redis"}, NS)] == [pod]
    kube.set_logs(NS, "redis", "one\ntwo\nthree\n")
    assert k.logs(pod, NS, tail=2) == "two\nthree\n"
    assert any(e["reason"] == "ScalingReplicaSet" for e in k.events(NS, involved="redis"))

    @kube.on_exec
    def handler(pod_obj: dict[str, Any], container: str, argv: list[str], stdin: bytes) -> Any:
        if argv[0] == "boom":
            return "partial\n", "failed\n", 3
        return None

    assert k.exec(pod, ["echo", "hello"], NS) == (0, "hello\n", "")
    assert k.exec(pod, ["boom"], NS) == (3, "partial\n", "failed\n")
    code, _, err = k.exec(pod, ["no-such-binary"], NS)
    assert code == 127 and "not found" in err


def test_port_forward_reaches_a_real_redis(k: Kube, kube: Any, redis_server: Any) -> None:
    k.apply(manifests())
    pod = k.wait_rollout("redis", NS, timeout=10).pods[0]
    kube.map_port(NS, "app=redis", 6379, ("127.0.0.1", redis_server.endpoint.port))
    before = {t.ident for t in threading.enumerate()}
    with k.port_forward(NS, pod, 6379) as (host, port):
        assert host == "127.0.0.1"
        client = redis.Redis(host=host, port=port, socket_timeout=5)
        other = redis.Redis(host=host, port=port, socket_timeout=5)
        try:
            assert client.ping() is True
            client.set("via-forward", "yes")
            assert other.get("via-forward") == b"yes"  # a second connection, its own stream
            assert client.info("persistence")["aof_enabled"] == 1
        finally:
            client.close()
            other.close()
    assert redis_server.client().get("via-forward") == b"yes"
    time.sleep(0.1)
    leftover = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not [n for n in leftover if "pf" in n or "port forward" in n]
