"""The migration runbooks end to end on one sandbox (its ElastiCache-like source, the AWS emulator's
AppConfig): migrate-elasticache-to-k8s with a failure after the cutover rolled back through the
cutover's undo, then a clean run whose clients' read-back names the new Redis, then a run interrupted as
its follow starts and resumed there (the done cutover skipped); rollback-to-elasticache
with copy-back (a write made on the new Redis reaches the source, the read-back names the source again);
decommission-elasticache refused by ``--yes`` alone, then approved by its step name: the replication
group is deleted and its final snapshot exists. Before those, on the Kubernetes API emulator: the
Kubernetes steps (StorageClass, deploy, kubectl checks, NetworkPolicy switch, restarts, verify-clients)
and the rollback that puts the policies back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.redis_conn import connect
from redisops.cancel import CancelToken
from redisops.config import DeploymentConfig
from redisops.events import Event, Phase
from redisops.ops.sandbox import SandboxState
from redisops.runbooks import Executor, lint_file, read_runbook
from tests.integration.aws._cli import aws_client
from tests.integration.runbooks.shared import BOOKS, NS, book_env, kube_env, module_sandbox, sb

__all__ = ["module_sandbox", "sb"]  # fixtures

NAMES = ["migrate-elasticache-to-k8s", "rollback-to-elasticache", "decommission-elasticache"]
FAST = {"follow_seconds": 1.0, "poll_interval": 0.05}
#: the image the tests' redis-server runs (the write-up's redis:7.1-alpine never existed: deploy refuses it)
IMAGE = "redis:7.0.15-alpine"


@pytest.mark.parametrize("name", NAMES)
def test_the_migration_runbooks_lint_clean(name: str) -> None:
    assert lint_file(BOOKS / f"{name}.md") == []


def _endpoint(sb: SandboxState) -> str:
    """What the clients read through the AppConfig data API now."""
    data = aws_client(sb.services["aws"].url, "appconfigdata")
    aws = sb.aws or {}
    token = data.start_configuration_session(
        ApplicationIdentifier=aws["application_id"],
        EnvironmentIdentifier=aws["environment_id"],
        ConfigurationProfileIdentifier=aws["profile_id"],
    )["InitialConfigurationToken"]
    doc = json.loads(data.get_latest_configuration(ConfigurationToken=token)["Configuration"].read())
    return f"{doc['redis']['host']}:{doc['redis']['port']}"


def _steps(result: Any) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}


def _client(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
            },
        },
    }


def _egress_to_elasticache(port: int) -> dict[str, Any]:
    """The write-up's client NetworkPolicy before the migration (egress to the ElastiCache subnet)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "redis-service", "namespace": NS, "labels": {"team": "llm"}},
        "spec": {
            "podSelector": {"matchLabels": {"app": "redis-service"}},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"port": port, "protocol": "TCP"}]}
            ],
        },
    }


def _policies(kube: Any) -> dict[str, Any]:
    return {
        o["metadata"]["name"]: o["spec"]
        for o in kube.objects()
        if o["kind"] == "NetworkPolicy" and o["metadata"].get("namespace") == NS
    }


@pytest.mark.slow
def test_migrate_runbook_deploys_and_cuts_over_on_kubernetes(
    sb: SandboxState, kube: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-v kubernetes=true: the StorageClass is checked, redisops deploy applies the Redis objects on the
    emulator (its pods' port mapped to the sandbox's target), kubectl sees them, the cutover switches
    the clients' NetworkPolicy and restarts them, verify-clients passes; the rollback runbook puts the
    policy and AppConfig back."""
    source, target = sb.source, sb.target
    old = f"{source.host}:{source.port}"
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "gp3"},
                 "provisioner": "ebs.csi.aws.com"})  # fmt: skip
    for name in DeploymentConfig().clients.services:
        kube.create(_client(name))
    kube.create(_egress_to_elasticache(source.port))
    kube.map_port(NS, "app=redis", 6379, ("127.0.0.1", target.port))
    kube.on_exec(lambda pod, container, argv, stdin: ("open\n", "", 0) if argv[:2] == ["nc", "-zv"] else None)
    config = tmp_path / "deploy.yaml"
    config.write_text(f"image: {IMAGE}\n")
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig_path))  # the operation steps' cluster
    variables = {**FAST, "kubernetes": True, "config": str(config)}
    before_cutover: dict[str, Any] = {}

    def snapshot(ev: Event) -> None:  # the policies after the deploy, as the cutover finds them
        if isinstance(ev, Phase) and ev.op == "runbook.run" and ev.name == "cutover":
            before_cutover.update(_policies(kube))

    result = Executor(
        read_runbook(BOOKS / "migrate-elasticache-to-k8s.md"),
        yes=True,
        variables=variables,
        env=kube_env(kube),
        on_event=snapshot,
    ).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    assert all(s.status == "ok" for s in result.steps), _steps(result)
    steps = {s.name: s for s in result.steps}
    assert "storageclass.storage.k8s.io/gp3" in steps["storage-class"].stdout
    assert (
        "deployment.apps/redis" in steps["deployment-ready"].stdout
        or "pod/redis" in steps["deployment-ready"].stdout
    )
    assert kube.get("Deployment", "redis", NS) is not None and kube.get("Service", "redis", NS) is not None
    cut = steps["cutover"].result
    assert (
        cut["new_endpoint"] == "redis.llm-judge.svc.cluster.local:6379"
        and _endpoint(sb) == cut["new_endpoint"]
    )
    assert {r["name"] for r in cut["restarted"] if r["ok"]} == set(DeploymentConfig().clients.services)
    assert "redis-service" in before_cutover and "redis-clients-egress" in before_cutover  # deploy's
    after = _policies(kube)
    assert after != before_cutover  # the clients' egress to ElastiCache is gone
    assert not any("ipBlock" in json.dumps(spec) for spec in after.values())

    back = Executor(
        read_runbook(BOOKS / "rollback-to-elasticache.md"),
        yes=True,
        variables={"kubernetes": True, "poll_interval": 0.05},
        env=kube_env(kube),
    ).run()
    assert (back.status, back.exit_code) == ("ok", 0), back.error
    assert _steps(back)["clients"] == "ok"
    assert _endpoint(sb) == old and _policies(kube) == before_cutover
    assert kube.errors == []


@pytest.mark.slow
def test_migrate_rollback_and_decommission_runbooks_on_the_sandbox(sb: SandboxState) -> None:
    source, target = sb.source, sb.target
    old, new = f"{source.host}:{source.port}", f"{target.host}:{target.port}"
    src = connect(source, decode_responses=True)
    for i in range(30):
        src.set(f"user:{i}", i)
    src.hset("session:1", mapping={"a": "1", "b": "2"})
    assert _endpoint(sb) == old
    migrate = read_runbook(BOOKS / "migrate-elasticache-to-k8s.md")

    # a stray write lands on the new Redis right after the cutover: verify-after finds it (a stable
    # difference), the run stops and the cutover's undo (migrate.rollback) points the clients back
    def stray_write(ev: Event) -> None:
        if isinstance(ev, Phase) and ev.op == "runbook.run" and ev.name == "verify-after":
            c = connect(target, decode_responses=True)
            c.set("stray:written-on-the-new-redis", "x")
            c.close()

    failed = Executor(
        migrate, yes=True, variables=FAST, env=book_env(), on_event=stray_write, offer_undo=lambda _s: True
    ).run()
    assert failed.exit_code == 31, failed.error
    assert [(s.name, s.status) for s in failed.steps[-2:]] == [
        ("verify-after", "failed"),
        ("rollback", "undone"),
    ]
    assert failed.undone == ["rollback"]
    assert _endpoint(sb) == old  # the undo put AppConfig back
    connect(target).delete("stray:written-on-the-new-redis")

    result = Executor(migrate, yes=True, variables=FAST, env=book_env()).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    assert _steps(result) == {
        "storage-class": "skipped", "deploy": "skipped", "deployment-ready": "skipped",
        "target-config": "ok", "lint": "ok", "plan": "ok", "copy": "ok", "follow": "ok", "verify": "ok",
        "cutover": "ok", "verify-after": "ok", "clients-after": "skipped", "health": "ok",
    }  # fmt: skip
    steps = {s.name: s for s in result.steps}
    assert "settings match" in steps["target-config"].stdout
    assert steps["verify"].result["ok"] is True and steps["verify"].result["compared"] >= 31
    assert steps["cutover"].result["new_endpoint"] == new and _endpoint(sb) == new
    dst = connect(target, decode_responses=True)
    assert dst.get("user:7") == "7" and dst.hgetall("session:1") == {"a": "1", "b": "2"}

    # a second run over the same sandbox, interrupted (Ctrl-C) as the follow starts, then resumed: it
    # continues where it stopped; the cutover is already done and is skipped, nothing fails
    cancel = CancelToken()

    def interrupt(ev: Event) -> None:
        if isinstance(ev, Phase) and ev.op == "runbook.run" and ev.name == "follow":
            cancel.cancel()

    stopped = Executor(
        migrate, yes=True, variables=FAST, env=book_env(), on_event=interrupt, cancel=cancel
    ).run()
    assert stopped.exit_code == 35 and "follow" not in {s.name for s in stopped.steps if s.status == "ok"}
    again = Executor.resume(stopped.run_id, yes=True, env=book_env())
    assert again.exit_code == 0, again.error
    assert again.steps[0].name == "follow" and _steps(again)["cutover"] == "skipped"

    # the clients wrote on the new Redis; the rollback copies that back and points them at the source
    dst.set("written-after-cutover", "v1")
    back = Executor(
        read_runbook(BOOKS / "rollback-to-elasticache.md"),
        yes=True,
        approve_destructive={"rollback-copy-back"},
        variables={"copy_back": True, "poll_interval": 0.05},
        env=book_env(),
    ).run()
    assert (back.status, back.exit_code) == ("ok", 0), back.error
    assert _steps(back) == {
        "preflight": "ok", "rollback-plan": "ok", "rollback": "skipped", "rollback-copy-back": "ok",
        "source": "ok", "verify-copy-back": "ok", "clients": "skipped",
    }  # fmt: skip
    assert _endpoint(sb) == old and src.get("written-after-cutover") == "v1"

    # cut over again, back up the new Redis, then decommission: --yes alone never approves it
    assert Executor(migrate, yes=True, variables=FAST, env=book_env()).run().exit_code == 0
    assert Executor(read_runbook(BOOKS / "backup-now.md"), yes=True, env=book_env()).run().exit_code == 0
    src.close()
    dst.close()
    decommission = read_runbook(BOOKS / "decommission-elasticache.md")
    rails = {
        "rollback_window_hours": 0.0,
        "quiet_seconds": 1.0,
        "sample_interval": 0.2,
        "poll_interval": 0.05,
    }
    declined = Executor(decommission, yes=True, variables=rails, env=book_env()).run()
    assert (declined.exit_code, declined.steps[-1].name, declined.steps[-1].status) == (
        33, "decommission", "declined"
    )  # fmt: skip
    assert _steps(declined)["guard-rails"] == "ok"
    ec = aws_client(sb.services["aws"].url, "elasticache")
    group = (sb.aws or {})["replication_group"]
    assert ec.describe_replication_groups(ReplicationGroupId=group)["ReplicationGroups"]

    done = Executor(
        decommission, yes=True, approve_destructive={"decommission"}, variables=rails, env=book_env()
    ).run()
    assert (done.status, done.exit_code) == ("ok", 0), done.error
    res = {s.name: s for s in done.steps}["decommission"].result
    assert res["replication_group"] == group and res["final_snapshot_status"] == "available"
    assert set(res["rails"]) == {"clients", "verify", "backup", "rollback-window"}
    snaps = ec.describe_snapshots(SnapshotName=res["final_snapshot"])["Snapshots"]
    assert snaps and snaps[0]["SnapshotStatus"] == "available"
    groups = ec.describe_replication_groups()["ReplicationGroups"]
    assert all(g["ReplicationGroupId"] != group or g["Status"] == "deleting" for g in groups)
