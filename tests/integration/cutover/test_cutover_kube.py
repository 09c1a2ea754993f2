"""Cutover then rollback on the Kubernetes API emulator with the AWS emulator: AppConfig, the
NetworkPolicies and the Deployments end as they were (field by field, except restart annotations,
revisions and server-filled metadata); the clients' read-back shows each endpoint in turn; the plans
change nothing; a Helm-owned NetworkPolicy is left alone with the change to make in its release; a
Terraform-tagged profile is warned about; Terraform mode prints the HCL diff and waits for the
read-back."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from redisops.errors import AbortedError, OperationTimeout, PlanBlocked
from redisops.events import Log, Recorder
from redisops.ops.api_cutover import CutoverAPI
from redisops.ops.target import Target, resolve_target
from tests.harness.kube_deploy import client_deployment
from tests.harness.snapshots import world
from tests.integration.aws._cli import latest_configuration
from tests.integration.aws.conftest import AwsStack

pytestmark = pytest.mark.slow

NS = "llm-judge"
CLIENTS = ["redis-service", "gateway-service"]
NEW = "redis.llm-judge.svc.cluster.local:6379"


def _policy(name: str, port: int, *, helm: bool, extra: bool) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"port": port, "protocol": "TCP"}]}
    ]
    if extra:
        rules.append(
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]}
        )
    meta: dict[str, Any] = {"name": name, "namespace": NS, "labels": {"team": "llm"}}
    if helm:
        meta["labels"]["app.kubernetes.io/managed-by"] = "Helm"
        meta["annotations"] = {"meta.helm.sh/release-name": "redis-service"}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {
            "podSelector": {"matchLabels": {"app": "redis-service"}},
            "policyTypes": ["Egress"],
            "egress": rules,
        },
    }


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without server-filled metadata, status, revisions and restart annotations."""
    meta = obj["metadata"]
    out = {
        "kind": obj["kind"],
        "metadata": {k: copy.deepcopy(meta.get(k)) for k in ("name", "namespace", "labels")},
        "spec": copy.deepcopy(obj.get("spec")),
    }
    notes = {k: v for k, v in (meta.get("annotations") or {}).items() if "revision" not in k}
    out["metadata"]["annotations"] = notes or None
    tmpl = (out["spec"] or {}).get("template")
    if tmpl:
        tnotes = tmpl.get("metadata", {}).get("annotations") or {}
        tnotes.pop("kubectl.kubernetes.io/restartedAt", None)
        tmpl.setdefault("metadata", {})["annotations"] = tnotes or None
    return out


def _cluster(kube: Any) -> dict[str, Any]:
    return {
        f"{o['kind']}/{o['metadata']['name']}": _comparable(o)
        for o in kube.objects()
        if o["kind"] in ("Deployment", "NetworkPolicy") and o["metadata"].get("namespace") == NS
    }


def _appconfig(stack: AwsStack, ids: dict[str, str]) -> dict[str, Any]:
    return latest_configuration(stack.client("appconfigdata"), ids["app"], ids["env"], ids["profile"])


def _endpoint(stack: AwsStack, ids: dict[str, str]) -> str | None:
    """The endpoint clients read; None while no deployment has completed (AppConfigData answers with no
    content until one has)."""
    data = stack.client("appconfigdata")
    token = data.start_configuration_session(
        ApplicationIdentifier=ids["app"],
        EnvironmentIdentifier=ids["env"],
        ConfigurationProfileIdentifier=ids["profile"],
    )["InitialConfigurationToken"]
    body = data.get_latest_configuration(ConfigurationToken=token)["Configuration"].read()
    if not body:
        return None
    r = json.loads(body)["redis"]
    return f"{r['host']}:{r['port']}"


def _deploy(stack: AwsStack, ids: dict[str, str], host: str, port: int) -> None:
    """What terragrunt apply of appconfig/main.tf does: a new hosted version, deployed."""
    ac = stack.client("appconfig")
    body = json.dumps({"redis": {"host": host, "port": port, "default_ttl_seconds": 604800}}).encode()
    v = ac.create_hosted_configuration_version(
        ApplicationId=ids["app"],
        ConfigurationProfileId=ids["profile"],
        Content=body,
        ContentType="application/json",
    )["VersionNumber"]
    ac.start_deployment(
        ApplicationId=ids["app"], EnvironmentId=ids["env"], DeploymentStrategyId="AppConfig.AllAtOnce",
        ConfigurationProfileId=ids["profile"], ConfigurationVersion=str(v),
    )  # fmt: skip


@pytest.fixture
def setup(
    kube: Any, aws_stack: AwsStack, redis_factory: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Target, dict[str, str], int]:  # fmt: skip
    port = aws_stack.source.endpoint.port
    ac = aws_stack.client("appconfig")
    app = ac.create_application(Name="llm-judge")["Id"]
    env = ac.create_environment(ApplicationId=app, Name="dev")["Id"]
    profile = ac.create_configuration_profile(
        ApplicationId=app, Name="llm-judge-config", LocationUri="hosted", Tags={"ManagedBy": "terraform"}
    )["Id"]
    ids = {"app": app, "env": env, "profile": profile}
    _deploy(aws_stack, ids, "127.0.0.1", port)
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for name in CLIENTS:
        kube.create(client_deployment(name, NS, image="example/app:1"))
    kube.create(_policy("redis-service", port, helm=True, extra=False))
    kube.create(_policy("legacy-egress", port, helm=False, extra=True))
    kube.on_exec(lambda pod, container, argv, stdin: ("open\n", "", 0) if argv[:2] == ["nc", "-zv"] else None)
    monkeypatch.setenv("REDISOPS_AWS_ENDPOINT_URL", aws_stack.emulator.url)
    cfg = tmp_path / "deploy.yaml"
    cfg.write_text(
        f"backup:\n  bucket: {s3_bucket}\n  endpoint_url: {s3_endpoint.url}\n  force_path_style: true\n"
        "  server_side_encryption: none\n"
    )
    new_redis = redis_factory(name="new-redis")
    t = resolve_target(
        url=f"redis://127.0.0.1:{new_redis.endpoint.port}", config=cfg, kubeconfig=kube.kubeconfig_path,
        context="emu", state_dir=tmp_path / "state", env={},
    )  # fmt: skip
    import time

    deadline = time.monotonic() + 30
    while _endpoint(aws_stack, ids) != f"127.0.0.1:{port}" and time.monotonic() < deadline:
        time.sleep(0.05)
    ids["group"] = aws_stack.group_id
    return t, ids, port


def _params(ids: dict[str, str], source_port: int, **more: Any) -> dict[str, Any]:
    return {
        "source_url": f"redis://127.0.0.1:{source_port}",
        "application": ids["app"],
        "environment": ids["env"],
        "profile": ids["profile"],
        "restart": CLIENTS,
        "poll_interval": 0.05,
        "restart_timeout": 30,
        "replication_group": ids["group"],
        **more,
    }


def test_cutover_then_rollback_on_kubernetes_leaves_everything_as_before(
    setup: tuple[Target, dict[str, str], int], kube: Any, aws_stack: AwsStack
) -> None:
    t, ids, port = setup
    api = CutoverAPI(t)
    before_cluster = _cluster(kube)
    before_config = _appconfig(aws_stack, ids)
    assert _endpoint(aws_stack, ids) == f"127.0.0.1:{port}"

    # the plan changes nothing, says what it would do and names what is owned elsewhere
    world_before = world(kube=kube, redis=t.redis)
    plan = api.plan_cutover(**_params(ids, port))
    assert world(kube=kube, redis=t.redis) == world_before and _appconfig(aws_stack, ids) == before_config
    assert not plan.blocked, plan.blockers
    text = "\n".join(plan.steps + plan.warnings)
    assert "Terraform-managed (tag ManagedBy=terraform)" in text
    assert "belongs to Helm release redis-service" in text and "helm upgrade redis-service" in text
    assert (
        f"remove the egress rule(s) [0] to ElastiCache (port {port}) from NetworkPolicy {NS}/legacy-egress"
        in text
    )
    assert "apply the clients' egress NetworkPolicy" in text

    result = api.cutover(**_params(ids, port))
    assert result.ok, result.clients
    assert _endpoint(aws_stack, ids) == NEW and result.read_back == NEW
    assert {c["check"] for c in result.clients} == {"appconfig-read-back", *(f"client:{n}" for n in CLIENTS)}
    legacy = kube.get("NetworkPolicy", "legacy-egress", NS)
    assert [r["ports"][0]["port"] for r in legacy["spec"]["egress"]] == [443]  # the ElastiCache rule is gone
    assert (
        _comparable(kube.get("NetworkPolicy", "redis-service", NS))
        == before_cluster["NetworkPolicy/redis-service"]
    )
    egress = [o for o in kube.objects() if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] not in
              ("redis-service", "legacy-egress")]  # fmt: skip
    assert len(egress) == 1 and egress[0]["spec"]["egress"][0]["to"][0]["podSelector"]["matchLabels"]
    for name in CLIENTS:
        tmpl = kube.get("Deployment", name, NS)["spec"]["template"]["metadata"]
        assert "kubectl.kubernetes.io/restartedAt" in (tmpl.get("annotations") or {})
    # the record: the previous version and hash, the policies before and after, the restarts (0600)
    rec_path = Path(result.saved_to[0])
    assert oct(rec_path.stat().st_mode & 0o777) == "0o600"
    rec = json.loads(rec_path.read_text())
    assert (
        rec["previous_version"] == "1" and len(rec["previous_sha256"]) == 64 and rec["restarted"] == CLIENTS
    )
    assert {n["name"]: n["action"] for n in rec["network"]} == {
        egress[0]["metadata"]["name"]: "created",
        "legacy-egress": "edited",
        "redis-service": "skipped",
    }
    assert any(k.startswith("s3://") for k in result.saved_to)

    world_mid = world(kube=kube)
    rplan = api.plan_rollback(source_url=f"redis://127.0.0.1:{port}")
    assert world(kube=kube) == world_mid and _endpoint(aws_stack, ids) == NEW
    assert not rplan.blocked
    back = api.rollback(source_url=f"redis://127.0.0.1:{port}", poll_interval=0.05, restart_timeout=30)
    assert back.ok, back.clients
    assert _endpoint(aws_stack, ids) == f"127.0.0.1:{port}"
    assert _appconfig(aws_stack, ids) == before_config  # the previous content, deployed again
    assert _cluster(kube) == before_cluster
    # rolled back once: a second rollback is refused
    assert api.plan_rollback(source_url=f"redis://127.0.0.1:{port}").blocked


def test_terraform_mode_prints_the_hcl_diff_and_waits_for_the_read_back(
    setup: tuple[Target, dict[str, str], int], kube: Any, aws_stack: AwsStack, tmp_path: Path
) -> None:
    t, ids, port = setup
    hcl = tmp_path / "appconfig.diff"
    plan = CutoverAPI(t).plan_cutover(
        **_params(
            ids, port, mode="terraform", kubernetes=False, host="redis.llm-judge.svc.cluster.local", port=6379
        )
    )
    assert '+  host = "redis.llm-judge.svc.cluster.local"' in plan.details["hcl_diff"]
    events = Recorder()
    applied = threading.Event()

    def terragrunt_apply(event: Any) -> None:
        events(event)
        if isinstance(event, Log) and "terragrunt apply" in event.message and not applied.is_set():
            applied.set()
            threading.Timer(0.3, _deploy, (aws_stack, ids, "redis.llm-judge.svc.cluster.local", 6379)).start()

    result = CutoverAPI(t).cutover(
        **_params(
            ids,
            port,
            mode="terraform",
            kubernetes=False,
            host="redis.llm-judge.svc.cluster.local",
            port=6379,
            hcl_file=str(hcl),
        ),
        on_event=terragrunt_apply,
    )
    diff = hcl.read_text()
    assert "-  host = var.redis_endpoint" in diff and '+  host = "redis.llm-judge.svc.cluster.local"' in diff
    assert "+  port = 6379" in diff
    assert applied.is_set() and result.read_back == NEW and _endpoint(aws_stack, ids) == NEW
    # the endpoint moved only after the diff was shown: the operation waited for the read-back
    logs = [e.message for e in events.of(Log)]
    assert any("waiting for" in m for m in logs)


def test_a_cutover_stopped_half_way_is_rolled_back_from_its_record(
    setup: tuple[Target, dict[str, str], int], kube: Any, aws_stack: AwsStack
) -> None:
    t, ids, port = setup
    before_cluster = _cluster(kube)
    before_config = _appconfig(aws_stack, ids)
    # terraform mode, and nobody applies the Terraform change: the wait times out after the egress
    # NetworkPolicy to the new Redis was applied
    with pytest.raises(OperationTimeout, match=r"still names 127\.0\.0\.1"):
        CutoverAPI(t).cutover(**_params(ids, port, mode="terraform", timeout=1))
    assert _cluster(kube) != before_cluster  # half done: the new egress policy exists
    back = CutoverAPI(t).rollback(source_url=f"redis://127.0.0.1:{port}", poll_interval=0.05)
    assert back.ok and [n["action"] for n in back.network] == ["deleted"]
    assert _cluster(kube) == before_cluster and _appconfig(aws_stack, ids) == before_config


def test_decommission_watches_the_source_for_clients_then_deletes_the_group(
    setup: tuple[Target, dict[str, str], int], kube: Any, aws_stack: AwsStack
) -> None:
    t, ids, port = setup
    api = CutoverAPI(t)
    assert api.cutover(**_params(ids, port)).ok
    t.run("backup.create", {})
    params = {"source_url": f"redis://127.0.0.1:{port}", "replication_group": ids["group"],
              "rollback_window_hours": 0, "sample_interval": 0.1, "poll_interval": 0.1}  # fmt: skip
    plan = api.plan_decommission(**params)
    assert not plan.blocked, plan.blockers
    assert any("rollback to ElastiCache is impossible" in w for w in plan.warnings)
    with pytest.raises(AbortedError):
        api.decommission(**params)  # destructive: needs the confirmation
    # a client connects while the run watches the source: refused, naming the rail; nothing deleted
    late = aws_stack.source.client()
    timer = threading.Timer(0.5, late.ping)
    timer.start()
    with pytest.raises(PlanBlocked, match=r"\[clients\] 1 client"):
        api.decommission(confirm=True, quiet_seconds=5, **params)
    timer.join()
    late.close()
    ec = aws_stack.client("elasticache")
    group = ec.describe_replication_groups(ReplicationGroupId=ids["group"])["ReplicationGroups"][0]
    assert group["Status"] == "available"
    done = api.decommission(confirm=True, quiet_seconds=0.3, final_snapshot="last-of-it", **params)
    assert done.final_snapshot_status == "available"
    assert ec.describe_snapshots(SnapshotName="last-of-it")["Snapshots"][0]["SnapshotStatus"] == "available"
