"""The Kubernetes API emulator, driven by the official client and kubectl as redisops drives a cluster."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from kubernetes import client, dynamic, watch
from kubernetes.stream import portforward, stream

from tests.harness.k8s import KubeEmulator, close_api_client, close_websocket

pytestmark = pytest.mark.k8s

NS = "llm-judge"


def wait_for(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        time.sleep(interval)


def deployment(name: str = "redis", replicas: int = 2, image: str = "redis:7.2") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": "redis", "image": image, "ports": [{"containerPort": 6379}]}]
                },
            },
        },
    }


def server_side_apply(api: client.ApiClient, body: dict[str, Any], manager: str, force: bool = False) -> Any:
    """SSA through the dynamic client (the typed API of kubernetes 35 cannot send apply-patch+yaml)."""
    resource = dynamic.DynamicClient(api).resources.get(api_version=body["apiVersion"], kind=body["kind"])
    return resource.server_side_apply(body=body, field_manager=manager, force_conflicts=force).to_dict()


def field(obj: Any, name: str) -> Any:
    """A top-level field of a typed model (kubernetes 35) or of a plain dict (some 37.x returns)."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    with KubeEmulator(ready_delay=0.1) as emulator:
        yield emulator
        assert emulator.errors == []


@pytest.fixture
def api(kube: KubeEmulator) -> client.ApiClient:
    api_client = kube.api_client()
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": NS}})
    return api_client


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def ready_deployment(apps: client.AppsV1Api, name: str = "redis") -> client.V1Deployment:
    def check() -> client.V1Deployment | None:
        d = apps.read_namespaced_deployment(name, NS)
        s = d.status
        done = (
            s.observed_generation == d.metadata.generation
            and s.ready_replicas == d.spec.replicas
            and s.updated_replicas == d.spec.replicas
            and s.replicas == d.spec.replicas
        )
        return d if done else None

    return wait_for(check)


# --- core verbs ----------------------------------------------------------------------------------


def test_starts_fast_and_stops_clean() -> None:
    before = set(threading.enumerate())
    started = time.monotonic()
    with KubeEmulator() as a, KubeEmulator() as b:
        assert time.monotonic() - started < 1.0
        assert a.url != b.url
        for emulator in (a, b):
            version = client.VersionApi(emulator.api_client()).get_code()
            assert version.major == "1"
    assert set(threading.enumerate()) == before


def test_namespace_and_configmap_crud(kube: KubeEmulator, core: client.CoreV1Api) -> None:
    assert NS in [n.metadata.name for n in core.list_namespace().items]
    assert core.read_namespace(NS).status.phase == "Active"
    body = {"metadata": {"name": "settings", "labels": {"app": "redis"}}, "data": {"maxmemory": "1gb"}}
    created = core.create_namespaced_config_map(NS, body)
    meta = created.metadata
    assert meta.uid and meta.resource_version and meta.creation_timestamp and meta.namespace == NS

    with pytest.raises(client.ApiException) as exc:
        core.create_namespaced_config_map(NS, body)
    assert exc.value.status == 409 and json.loads(exc.value.body)["reason"] == "AlreadyExists"

    with pytest.raises(client.ApiException) as exc:
        core.create_namespaced_config_map(NS, {"metadata": {}, "data": {}})
    assert exc.value.status == 422 and json.loads(exc.value.body)["reason"] == "Invalid"

    with pytest.raises(client.ApiException) as exc:
        core.create_namespaced_config_map("missing", {"metadata": {"name": "x"}})
    assert exc.value.status == 404

    got = core.read_namespaced_config_map("settings", NS)
    assert got.data == {"maxmemory": "1gb"}
    assert [c.metadata.name for c in core.list_namespaced_config_map(NS).items] == ["settings"]
    assert "settings" in [c.metadata.name for c in core.list_config_map_for_all_namespaces().items]

    got.data["maxmemory"] = "2gb"
    replaced = core.replace_namespaced_config_map("settings", NS, got)
    assert replaced.data["maxmemory"] == "2gb"
    assert int(replaced.metadata.resource_version) > int(meta.resource_version)

    got.data["maxmemory"] = "3gb"  # stale resourceVersion
    with pytest.raises(client.ApiException) as exc:
        core.replace_namespaced_config_map("settings", NS, got)
    assert exc.value.status == 409 and json.loads(exc.value.body)["reason"] == "Conflict"

    merged = core.patch_namespaced_config_map("settings", NS, {"data": {"policy": "allkeys-lru"}})
    assert merged.data == {"maxmemory": "2gb", "policy": "allkeys-lru"}
    patched = core.patch_namespaced_config_map("settings", NS, [{"op": "remove", "path": "/data/policy"}])
    assert patched.data == {"maxmemory": "2gb"}

    status = core.delete_namespaced_config_map("settings", NS)
    assert field(status, "status") == "Success"
    with pytest.raises(client.ApiException) as exc:
        core.read_namespaced_config_map("settings", NS)
    assert exc.value.status == 404
    error = json.loads(exc.value.body)
    assert error["kind"] == "Status" and error["reason"] == "NotFound" and error["code"] == 404

    core.create_namespaced_secret(NS, {"metadata": {"name": "auth"}, "stringData": {"password": "x"}})
    core.delete_namespace(NS)
    assert kube.objects("Secret", NS) == []


def test_selectors_on_list(core: client.CoreV1Api) -> None:
    for name, labels in (
        ("a", {"app": "redis", "role": "primary"}),
        ("b", {"app": "redis", "role": "replica"}),
        ("c", {"app": "sentinel"}),
    ):
        core.create_namespaced_config_map(NS, {"metadata": {"name": name, "labels": labels}})

    def names(**kwargs: str) -> list[str]:
        return sorted(c.metadata.name for c in core.list_namespaced_config_map(NS, **kwargs).items)

    assert names(label_selector="app=redis") == ["a", "b"]
    assert names(label_selector="app==redis,role!=primary") == ["b"]
    assert names(label_selector="role in (primary, replica)") == ["a", "b"]
    assert names(label_selector="app notin (redis)") == ["c"]
    assert names(label_selector="role") == ["a", "b"]
    assert names(label_selector="!role") == ["c"]
    assert names(field_selector="metadata.name=c") == ["c"]
    assert names(field_selector="metadata.namespace=llm-judge,metadata.name!=a") == ["b", "c"]
    with pytest.raises(client.ApiException) as exc:
        names(label_selector="app in redis")
    assert exc.value.status == 400
    core.delete_collection_namespaced_config_map(NS, label_selector="app=redis")
    assert names() == ["c"]


def test_watch_honours_selectors_and_timeout(kube: KubeEmulator, core: client.CoreV1Api) -> None:
    start_rv = core.list_namespaced_config_map(NS).metadata.resource_version
    events: list[tuple[str, str]] = []

    def churn() -> None:
        time.sleep(0.1)
        core.create_namespaced_config_map(NS, {"metadata": {"name": "w1", "labels": {"app": "redis"}}})
        core.create_namespaced_config_map(NS, {"metadata": {"name": "other", "labels": {"app": "x"}}})
        core.patch_namespaced_config_map("w1", NS, {"data": {"k": "v"}})
        core.delete_namespaced_config_map("w1", NS)

    writer = threading.Thread(target=churn)
    writer.start()
    started = time.monotonic()
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, NS, label_selector="app=redis", timeout_seconds=1
    ):
        events.append((event["type"], event["object"].metadata.name))
    elapsed = time.monotonic() - started
    writer.join()
    assert events == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]
    assert 0.9 <= elapsed < 3

    # resuming from a resourceVersion replays what happened since
    replay = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, NS, resource_version=start_rv, timeout_seconds=1
        )
    ]
    assert replay == [("ADDED", "w1"), ("ADDED", "other"), ("MODIFIED", "w1"), ("DELETED", "w1")]

    # the raw query string the client sends is watch=True; watch=true works as well
    url = f"{kube.url}/api/v1/namespaces/{NS}/configmaps?watch=true&timeoutSeconds=1&labelSelector=app%3Dx"
    with urllib.request.urlopen(url, timeout=5) as raw:
        lines = [json.loads(line) for line in raw.read().decode().splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "other")]


# --- server-side apply, patches, generation ----------------------------------------------------


def test_server_side_apply_creates_then_patches(api: client.ApiClient, apps: client.AppsV1Api) -> None:
    created = server_side_apply(api, deployment(replicas=1), "redisops")
    assert created["metadata"]["generation"] == 1
    entries = created["metadata"]["managedFields"]
    mine = next(m for m in entries if m["manager"] == "redisops")
    assert mine["operation"] == "Apply" and "f:replicas" in mine["fieldsV1"]["f:spec"]

    labelled = deployment(replicas=1)
    labelled["metadata"]["labels"]["tier"] = "cache"
    relabelled = server_side_apply(api, labelled, "redisops")
    assert relabelled["metadata"]["generation"] == 1  # metadata only: no new generation
    assert relabelled["metadata"]["labels"] == {"app": "redis", "tier": "cache"}

    bumped = server_side_apply(api, deployment(replicas=3), "redisops")
    assert bumped["metadata"]["generation"] == 2 and bumped["spec"]["replicas"] == 3
    assert "tier" not in bumped["metadata"]["labels"]  # no longer applied by its only manager: removed
    assert apps.read_namespaced_deployment("redis", NS).spec.replicas == 3

    # another manager takes spec.replicas through the scale subresource; applying a different value conflicts
    apps.patch_namespaced_deployment_scale("redis", NS, {"spec": {"replicas": 4}}, field_manager="hpa")
    with pytest.raises(client.ApiException) as exc:
        server_side_apply(api, deployment(replicas=2), "redisops")
    assert exc.value.status == 409
    assert 'conflict with "hpa" with subresource "scale"' in json.loads(exc.value.body)["message"]
    assert (
        server_side_apply(api, deployment(replicas=4), "redisops")["spec"]["replicas"] == 4
    )  # same value: shared
    forced = server_side_apply(api, deployment(replicas=2), "redisops", force=True)
    assert forced["spec"]["replicas"] == 2

    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "conf", "namespace": NS},
        "data": {"a": "1"},
    }
    result = server_side_apply(api, cm, "redisops")
    assert result["data"] == {"a": "1"} and result["metadata"]["managedFields"][0]["operation"] == "Apply"


def test_restart_annotation_rolls_pods(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, deployment())
    ready_deployment(apps)
    before = {p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app=redis").items}
    assert len(before) == 2
    stamp = dt.datetime.now(dt.UTC).isoformat()
    patched = apps.patch_namespaced_deployment(
        "redis",
        NS,
        {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}},
    )
    assert patched.metadata.generation == 2
    assert patched.spec.template.spec.containers[0].image == "redis:7.2"  # strategic merge kept the rest
    rolled = ready_deployment(apps)
    assert rolled.status.observed_generation == 2
    after = core.list_namespaced_pod(NS, label_selector="app=redis").items
    assert len(after) == 2 and not before & {p.metadata.name for p in after}
    for pod in after:
        assert pod.metadata.annotations["kubectl.kubernetes.io/restartedAt"] == stamp
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
        assert pod.metadata.name.startswith("redis-")

    # strategic merge of containers by name
    apps.patch_namespaced_deployment(
        "redis",
        NS,
        {"spec": {"template": {"spec": {"containers": [{"name": "redis", "image": "redis:7.4"}]}}}},
    )
    container = apps.read_namespaced_deployment("redis", NS).spec.template.spec.containers[0]
    assert container.image == "redis:7.4" and container.ports[0].container_port == 6379


def test_deployment_ready_scale_and_endpoints(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, deployment(replicas=2))
    core.create_namespaced_service(
        NS, {"metadata": {"name": "redis"}, "spec": {"selector": {"app": "redis"}, "ports": [{"port": 6379}]}}
    )
    d = ready_deployment(apps)
    assert d.status.available_replicas == 2
    conditions = {c.type: (c.status, c.reason) for c in d.status.conditions}
    assert conditions == {
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }
    pods = core.list_namespaced_pod(NS, field_selector="status.phase=Running").items
    assert len(pods) == 2 and all(p.status.pod_ip for p in pods)

    def endpoint_ips() -> list[str]:
        subsets = core.read_namespaced_endpoints("redis", NS).subsets or []
        return sorted(a.ip for s in subsets for a in s.addresses or [])

    assert wait_for(lambda: endpoint_ips() == sorted(p.status.pod_ip for p in pods))

    scale = apps.read_namespaced_deployment_scale("redis", NS)
    assert scale.spec.replicas == 2 and scale.status.selector == "app=redis"
    apps.patch_namespaced_deployment_scale("redis", NS, {"spec": {"replicas": 3}})
    assert ready_deployment(apps).status.ready_replicas == 3
    scale = apps.read_namespaced_deployment_scale("redis", NS)
    scale.spec.replicas = 0
    apps.replace_namespaced_deployment_scale("redis", NS, scale)
    wait_for(lambda: not core.list_namespaced_pod(NS, label_selector="app=redis").items)
    assert wait_for(lambda: apps.read_namespaced_deployment("redis", NS).status.replicas is None)


@pytest.mark.parametrize(
    ("mode", "reason", "check"),
    [
        ("stuck", "ImagePullBackOff", lambda s: s.state.waiting.reason == "ImagePullBackOff"),
        ("crash", None, lambda s: s.state.waiting.reason == "CrashLoopBackOff" and s.restart_count >= 1),
        ("oomkilled", None, lambda s: s.last_state.terminated.reason == "OOMKilled" and s.restart_count >= 1),
    ],
)
def test_failure_modes_show_in_pod_status(
    kube: KubeEmulator,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    mode: str,
    reason: str | None,
    check: Callable[[Any], bool],
) -> None:
    kube.set_failure(NS, "redis", mode, reason=reason)
    apps.create_namespaced_deployment(NS, deployment(replicas=1))

    def failing() -> bool:
        pods = core.list_namespaced_pod(NS, label_selector="app=redis").items
        return bool(pods) and all(
            p.status.container_statuses
            and check(p.status.container_statuses[0])
            and not p.status.container_statuses[0].ready
            for p in pods
        )

    wait_for(failing)
    pod = core.list_namespaced_pod(NS, label_selector="app=redis").items[0]
    assert pod.status.phase == ("Pending" if mode == "stuck" else "Running")
    d = apps.read_namespaced_deployment("redis", NS)
    assert d.status.observed_generation == 1 and not d.status.ready_replicas
    kube.set_failure(NS, "redis", None)  # heal
    ready_deployment(apps)


def test_stuck_rollout_exceeds_its_progress_deadline(kube: KubeEmulator, apps: client.AppsV1Api) -> None:
    kube.set_failure(NS, "redis", "stuck")
    body = deployment(replicas=1)
    body["spec"]["progressDeadlineSeconds"] = 1
    apps.create_namespaced_deployment(NS, body)

    def progressing() -> tuple[str, str] | None:
        conditions = apps.read_namespaced_deployment("redis", NS).status.conditions or []
        cond = next((c for c in conditions if c.type == "Progressing"), None)
        return (cond.status, cond.reason) if cond and cond.reason == "ProgressDeadlineExceeded" else None

    assert wait_for(progressing, timeout=3) == ("False", "ProgressDeadlineExceeded")


def test_pod_logs(kube: KubeEmulator, core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    kube.set_logs(NS, "redis", "1:M starting\n2:M ready to accept connections\n")
    apps.create_namespaced_deployment(NS, deployment(replicas=1))
    ready_deployment(apps)
    pod = core.list_namespaced_pod(NS, label_selector="app=redis").items[0].metadata.name
    assert core.read_namespaced_pod_log(pod, NS) == "1:M starting\n2:M ready to accept connections\n"
    assert core.read_namespaced_pod_log(pod, NS, tail_lines=1, container="redis") == (
        "2:M ready to accept connections\n"
    )
    kube.set_logs(NS, pod, "just this pod\n")
    assert core.read_namespaced_pod_log(pod, NS) == "just this pod\n"
    with pytest.raises(client.ApiException) as exc:
        core.read_namespaced_pod_log(pod, NS, container="nope")
    assert exc.value.status == 400


def test_job_completes_or_fails_and_pvc_binds(
    kube: KubeEmulator, core: client.CoreV1Api, api: client.ApiClient
) -> None:
    batch = client.BatchV1Api(api)
    template = {"spec": {"containers": [{"name": "backup", "image": "redis:7.2"}]}}
    kube.set_logs(NS, "backup", "saved 42 keys\n")
    kube.set_failure(NS, "broken", "fail")
    for name in ("backup", "broken"):
        batch.create_namespaced_job(NS, {"metadata": {"name": name}, "spec": {"template": template}})

    def finished(name: str) -> dict[str, str]:
        conditions = batch.read_namespaced_job(name, NS).status.conditions or []
        return {c.type: c.status for c in conditions if c.type in ("Complete", "Failed")}

    assert wait_for(lambda: finished("backup")) == {"Complete": "True"}
    assert batch.read_namespaced_job("backup", NS).status.succeeded == 1
    assert wait_for(lambda: finished("broken")) == {"Failed": "True"}
    pod = core.list_namespaced_pod(NS, label_selector="job-name=backup").items[0]
    assert pod.status.phase == "Succeeded"
    assert core.read_namespaced_pod_log(pod.metadata.name, NS) == "saved 42 keys\n"

    core.create_namespaced_persistent_volume_claim(
        NS,
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    bound = wait_for(
        lambda: (c := core.read_namespaced_persistent_volume_claim("data", NS)).status.phase == "Bound" and c
    )
    assert bound.spec.storage_class_name == "standard" and bound.status.capacity == {"storage": "1Gi"}
    names = [s.metadata.name for s in client.StorageV1Api(api).list_storage_class().items]
    assert names == ["standard"]


# --- exec and port-forward over WebSocket ----------------------------------------------------


def _running_pod(core: client.CoreV1Api, name: str = "redis-0") -> str:
    core.create_namespaced_pod(
        NS,
        {
            "metadata": {"name": name, "labels": {"app": "redis"}},
            "spec": {"containers": [{"name": "redis", "image": "redis:7.2"}]},
        },
    )
    wait_for(lambda: core.read_namespaced_pod(name, NS).status.phase == "Running")
    return name


def test_exec_scripted_handler(kube: KubeEmulator, core: client.CoreV1Api) -> None:
    pod = _running_pod(core)
    seen: list[tuple[str, list[str]]] = []

    @kube.on_exec
    def handler(pod_obj: dict[str, Any], container: str, argv: list[str], stdin: bytes) -> Any:
        seen.append((container, argv))
        if argv[:2] == ["redis-cli", "info"]:
            return "role:master\r\n", "", 0
        if argv[0] == "false":
            return "", "boom\n", 3
        return None

    ws = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        NS,
        command=["redis-cli", "info", "replication"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        ws.run_forever(timeout=5)
        assert ws.read_stdout() == "role:master\r\n"
        assert ws.returncode == 0
    finally:
        close_websocket(ws)

    ws = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        NS,
        command=["false"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        ws.run_forever(timeout=5)
        assert ws.read_stderr() == "boom\n"
        assert ws.returncode == 3
    finally:
        close_websocket(ws)

    # the built-in handler answers redis-cli ping when nothing is mapped
    ws = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        NS,
        command=["redis-cli", "ping"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        ws.run_forever(timeout=5)
        assert ws.read_stdout() == "PONG\n"
        error = ws.read_channel(3)
        assert json.loads(error)["status"] == "Success"
    finally:
        close_websocket(ws)
    assert seen[0] == ("redis", ["redis-cli", "info", "replication"])


@pytest.fixture
def redis_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:

        def up() -> bool:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
            return False

        wait_for(up)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


class _ForwardedConnection(redis.Connection):
    """A redis-py connection over an already-open socket (the one port-forward gives)."""

    def __init__(self, *args: Any, forwarded: Any = None, **kwargs: Any) -> None:
        self._forwarded = forwarded
        super().__init__(*args, **kwargs)

    def _connect(self) -> Any:
        return self._forwarded


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_port_forward_to_real_redis(kube: KubeEmulator, core: client.CoreV1Api, redis_port: int) -> None:
    pod = _running_pod(core)
    kube.map_port(NS, "app=redis", 6379, ("127.0.0.1", redis_port))
    forward = portforward(core.connect_get_namespaced_pod_portforward, pod, NS, ports="6379")
    sock = forward.socket(6379)
    r = redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=_ForwardedConnection, forwarded=sock)
    )
    try:
        assert r.ping() is True
        r.set("k", "v")
        assert r.get("k") == b"v"
    finally:
        r.close()
        sock.close()
    wait_for(lambda: not forward.connected)
    assert forward.error(6379) is None

    # an unmapped port reports an error on the port's error channel
    unmapped = portforward(core.connect_get_namespaced_pod_portforward, pod, NS, ports="9999")
    try:
        assert "no local address is mapped" in wait_for(lambda: unmapped.error(9999))
    finally:
        unmapped.socket(9999).close()
    wait_for(lambda: not unmapped.connected)

    # the built-in exec handler runs redis-cli against the mapped server
    ws = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        NS,
        command=["redis-cli", "get", "k"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        ws.run_forever(timeout=5)
        assert ws.read_stdout() == "v\n"
    finally:
        close_websocket(ws)


# --- kubectl -----------------------------------------------------------------------------------

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata:
  name: llm-judge
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: redis
  namespace: llm-judge
spec:
  replicas: 2
  selector:
    matchLabels: {app: redis}
  template:
    metadata:
      labels: {app: redis}
    spec:
      containers:
      - name: redis
        image: redis:7.2
---
apiVersion: v1
kind: Service
metadata:
  name: redis
  namespace: llm-judge
spec:
  selector: {app: redis}
  ports:
  - port: 6379
"""


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
def test_kubectl_runbook_steps(kube: KubeEmulator, tmp_path: Path) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", context="emu", namespace=NS)
    manifest = tmp_path / "redis.yaml"
    manifest.write_text(MANIFEST)

    def kubectl(*args: str) -> str:
        proc = subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    out = kubectl("apply", "--server-side", "-f", str(manifest))
    assert "deployment.apps/redis serverside-applied" in out
    assert "successfully rolled out" in kubectl("rollout", "status", "deploy/redis", "--timeout=10s")
    deploy = json.loads(kubectl("get", "deploy", "redis", "-o", "json", "--show-managed-fields"))
    assert deploy["status"]["readyReplicas"] == 2
    assert any(
        m["manager"] == "kubectl" and m["operation"] == "Apply" for m in deploy["metadata"]["managedFields"]
    )
    pods_before = {p["metadata"]["name"] for p in json.loads(kubectl("get", "pods", "-o", "json"))["items"]}

    assert "restarted" in kubectl("rollout", "restart", "deploy/redis")
    assert "successfully rolled out" in kubectl("rollout", "status", "deploy/redis", "--timeout=10s")
    pods_after = {
        p["metadata"]["name"]
        for p in json.loads(kubectl("get", "pods", "-l", "app=redis", "-o", "json"))["items"]
    }
    assert len(pods_after) == 2 and not pods_before & pods_after

    assert "scaled" in kubectl("scale", "deploy/redis", "--replicas=3")
    kubectl("rollout", "status", "deploy/redis", "--timeout=10s")
    assert len(kube.objects("Pod", NS, label_selector="app=redis")) == 3
    table = kubectl("get", "deploy")
    assert "redis" in table
    # re-applying the manifest now conflicts with kubectl scale's ownership of spec.replicas
    proc = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "apply", "--server-side", "-f", str(manifest)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0 and "conflict" in proc.stderr.lower()
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(manifest))
    assert kube.get("Deployment", "redis", NS)["spec"]["replicas"] == 2  # type: ignore[index]


def test_close_helpers_leave_no_sockets(kube: KubeEmulator) -> None:
    api_client = kube.api_client()
    client.CoreV1Api(api_client).list_namespace()
    close_api_client(api_client)
