"""Issue 12 defects of deploy/rollback, against the Kubernetes API emulator and a real redis-server.

* item 9: deploy runs lint first and refuses error findings unless waived by name (``--allow``);
* item 10: deploy/rollback compare the target image's Redis with the data's RDB version (the running
  server's INFO through the port-forward, else the newest backup's manifest): a downgrade the target
  cannot read is refused, an upgrade takes a backup first (into a real moto S3);
* item 1: a dry run (deploy and rollback) changes no object and records no revision.

The Redis pod's port is mapped to a real Redis 7.0.15 (RDB version 10), whatever image the manifests name.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.adapters.kube import Kube
from redisops.adapters.s3 import AwsCredentials
from redisops.backup import BackupStore
from redisops.cli.main import app
from redisops.config import BackupTarget, DeploymentConfig
from redisops.errors import InvalidArgument, PlanBlocked
from redisops.k8s import render_manifests
from redisops.ops.backup import open_store
from redisops.ops.deploy import deploy, history, rollback
from redisops.ops.deploy_guard import DataVersion, compare_versions, image_redis_version

pytestmark = pytest.mark.k8s

NS = "llm-judge"
IMAGE = "redis:7.0.15-alpine"
runner = CliRunner()


def server_version() -> str:
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("v=", 1)[1].split()[0]


@pytest.fixture
def env(kube: Any, redis_factory: Any) -> Any:
    server = redis_factory(DeploymentConfig(image=IMAGE))
    kube.map_port(NS, "app=redis", 6379, ("127.0.0.1", server.endpoint.port))
    yield kube
    assert kube.errors == []


@pytest.fixture
def k(env: Any) -> Any:
    with Kube.from_kubeconfig(env.kubeconfig_path) as client:
        yield client


@pytest.fixture
def store(s3_endpoint: Any, s3_bucket: str) -> BackupStore:
    return open_store(
        BackupTarget(bucket=s3_bucket),
        "redis",
        endpoint_url=s3_endpoint.url,
        credentials=AwsCredentials("testing", "testing"),
    )


def cfg_with(image: str, **extra: Any) -> DeploymentConfig:
    return DeploymentConfig.model_validate({"image": image, **extra})


def fake_backup(store: BackupStore, redis_version: str, rdb_version: int, when: datetime) -> str:
    """A listed backup whose manifest says which Redis wrote it (the payload does not matter here)."""
    with store.begin("rdb", when) as writer:
        writer.write_bytes("dump.rdb", b"REDIS" + f"{rdb_version:04d}".encode() + b"\xff" + bytes(8))
        return writer.commit(redis_version=redis_version, rdb_version=rdb_version, now=when).id


def live_image(k: Kube) -> str:
    dep = k.get("Deployment", "redis", NS)
    return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


# --- item 9: lint before deploy ------------------------------------------------------------------


def test_deploy_refuses_lint_errors_unless_waived_by_name(k: Kube, env: Any) -> None:
    cfg = DeploymentConfig()  # the write-up's defaults: redis:7.1-alpine was never released
    for dry_run in (True, False):
        with pytest.raises(PlanBlocked) as err:
            deploy(k, cfg, render_manifests(cfg), dry_run=dry_run, timeout=10)
        assert err.value.exit_code == 15
        assert "image-tag-unreleased" in err.value.message and "redis:7.1-alpine" in err.value.message
        assert "--allow image-tag-unreleased" in err.value.hint
    assert k.get("Namespace", NS) is None  # refused before changing anything

    with pytest.raises(InvalidArgument, match="no-such-rule"):
        deploy(k, cfg, render_manifests(cfg), dry_run=True, allow=["no-such-rule"])

    dry = deploy(k, cfg, render_manifests(cfg), dry_run=True, allow=["image-tag-unreleased"])
    assert {f.rule_id for f in dry.lint} >= {"image-tag-unreleased", "fork-headroom", "auth-disabled"}
    assert {f.severity for f in dry.lint} == {"error", "warn"}  # info is not "gone ahead with"
    assert any(n.startswith("lint error (waived) image-tag-unreleased") for n in dry.plan.notes)
    assert any(n.startswith("lint warn fork-headroom") for n in dry.plan.notes)

    # a clean config deploys (its warnings are reported, not blocking)
    ok = deploy(k, cfg_with(IMAGE), render_manifests(cfg_with(IMAGE)), timeout=10)
    assert ok.revision == 1 and "image-tag-unreleased" not in {f.rule_id for f in ok.lint}


def test_cli_deploy_lint_gate_exit_codes(env: Any, tmp_path: Any) -> None:
    kc = str(env.kubeconfig_path)
    base = ["deploy", "--kubeconfig", kc, "--dry-run"]
    r = runner.invoke(app, base)
    assert r.exit_code == 15, r.output
    assert "image-tag-unreleased" in r.output and "--allow image-tag-unreleased" in r.output
    r = runner.invoke(app, [*base, "--allow", "no-such-rule"])
    assert r.exit_code == 2 and "no-such-rule" in r.output
    r = runner.invoke(app, [*base, "--allow", "image-tag-unreleased", "-o", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["op"] == "deploy.apply" and doc["blocked"] is False
    assert "image-tag-unreleased" in {f["rule_id"] for f in doc["details"]["lint"]}
    assert doc["warnings"] and doc["steps"]
    r = runner.invoke(app, [*base, "--allow", "image-tag-unreleased"])
    assert r.exit_code == 0 and "note: lint warn fork-headroom" in r.stdout
    assert "Finding(" not in r.output and "DeployPlan(" not in r.output
    r = runner.invoke(app, ["deploy", "--kubeconfig", kc, "--timeout", "0"])
    assert r.exit_code == 2  # numeric options are bounded


# --- item 10: versions ---------------------------------------------------------------------------


def test_version_helpers() -> None:
    assert image_redis_version("redis:7.0.15-alpine") == "7.0.15"
    assert image_redis_version("docker.io/library/redis:7.2") == "7.2"
    assert image_redis_version("registry:5000/redis:7.4.1@sha256:abc") == "7.4.1"
    assert image_redis_version("redis:latest") is None
    assert image_redis_version("redis") is None
    data = DataVersion(11, "7.2.4", "test")
    assert compare_versions("7.0.15", data) == "blocked"
    assert compare_versions("7.2.1", data) == "downgrade"
    assert compare_versions("7.2", data) == "same"
    assert compare_versions("7.4.0", data) == "upgrade"


def test_downgrade_below_the_data_rdb_version_is_refused_with_the_way_out(
    k: Kube, env: Any, store: BackupStore
) -> None:
    assert server_version().startswith("7.0.")  # the real server writes RDB 10
    new = cfg_with(IMAGE)
    deploy(k, new, render_manifests(new), timeout=10, store=store)
    old = cfg_with("redis:6.2.14-alpine")
    for dry_run in (True, False):
        with pytest.raises(PlanBlocked) as err:
            deploy(k, old, render_manifests(old), dry_run=dry_run, timeout=10, store=store)
        assert "RDB version 10" in err.value.message and "loads RDB versions up to 9" in err.value.message
        assert "running server" in err.value.message
        assert "deploy an image >= redis:7.0" in err.value.hint
    assert live_image(k) == IMAGE and [r.number for r in history(k, new)] == [1]

    # a backup Redis 6.2 can read is named in the hint
    old_id = fake_backup(store, "6.2.14", 9, datetime(2025, 1, 1, tzinfo=UTC))
    fake_backup(store, "7.0.15", 10, datetime(2025, 1, 2, tzinfo=UTC))
    with pytest.raises(PlanBlocked) as err:
        deploy(k, old, render_manifests(old), dry_run=True, store=store)
    assert (
        f"restore a backup written by Redis 6.2.14 (backup ID {old_id}) after the rollback" in err.value.hint
    )

    # the same RDB version: allowed, with a warning
    same = cfg_with("redis:7.0.10-alpine")
    res = deploy(k, same, render_manifests(same), timeout=10, store=store)
    assert res.revision == 2 and res.backup_id is None
    assert any("downgrade from Redis" in n and "RDB version 10" in n for n in res.plan.notes)


def test_rollback_to_an_image_that_cannot_read_the_data_is_refused(
    k: Kube, env: Any, store: BackupStore
) -> None:
    old = cfg_with("redis:6.2.14-alpine")
    deploy(k, old, render_manifests(old), timeout=10, store=store)  # nothing ran before: no check
    new = cfg_with(IMAGE)
    deploy(k, new, render_manifests(new), timeout=10, store=store, backup=False)
    for dry_run in (True, False):
        with pytest.raises(PlanBlocked, match="RDB version 10"):
            rollback(k, new, to=1, dry_run=dry_run, timeout=10, store=store)
    assert [r.number for r in history(k, new)] == [1, 2] and live_image(k) == IMAGE


def test_without_a_ready_pod_the_newest_backup_tells_the_data_version(
    k: Kube, env: Any, store: BackupStore
) -> None:
    new = cfg_with(IMAGE)
    deploy(k, new, render_manifests(new), timeout=10, store=store)
    newest = fake_backup(store, "7.2.4", 11, datetime(2025, 1, 3, tzinfo=UTC))
    fake_backup(store, "7.0.15", 10, datetime(2025, 1, 2, tzinfo=UTC))
    env.set_failure(NS, "redis", "crash")
    k.rollout_restart("redis", NS)  # the new pod crash-loops: no server to ask
    with pytest.raises(PlanBlocked) as err:
        deploy(
            k,
            new,
            render_manifests(cfg_with(IMAGE, config={"maxmemory": "100mb"})),
            dry_run=True,
            store=store,
        )
    assert f"the newest backup {newest}" in err.value.message and "RDB version 11" in err.value.message
    assert "deploy an image >= redis:7.2" in err.value.hint


def test_upgrade_takes_a_backup_of_the_running_server_first(k: Kube, env: Any, store: BackupStore) -> None:
    old = cfg_with(IMAGE)
    deploy(k, old, render_manifests(old), timeout=10, store=store)
    k.list("Pod", NS)
    up = cfg_with("redis:7.2.4-alpine")
    dry = deploy(k, up, render_manifests(up), dry_run=True, store=store)
    assert any("would take a backup of pod redis-" in n for n in dry.plan.notes)
    assert store.list() == []  # the dry run took none

    skipped = deploy(k, up, render_manifests(up), dry_run=True, store=store, backup=False)
    assert any("without a backup first" in n for n in skipped.plan.notes)

    res = deploy(k, up, render_manifests(up), timeout=10, store=store)
    assert res.backup_id is not None and res.revision == 2
    taken = store.get(res.backup_id)
    assert taken.redis_version == server_version() and taken.rdb_version == 10
    assert "before upgrading Redis" in taken.notes
    assert taken.purpose == "safety"
    assert live_image(k) == "redis:7.2.4-alpine"

    # no store given: an upgrade is refused rather than done without its backup
    up2 = cfg_with("redis:7.4.0-alpine")
    with pytest.raises(PlanBlocked, match="takes a backup first"):
        deploy(k, up2, render_manifests(up2), dry_run=True)


# --- item 7: the backup pods' Role is deployed ------------------------------------------------------


def test_deploy_applies_the_backup_pods_role(k: Kube, env: Any) -> None:
    cfg = cfg_with(IMAGE)
    dry = deploy(k, cfg, render_manifests(cfg), dry_run=True)
    planned = {c.ref: c.action for c in dry.plan.changes}
    for ref in ("ServiceAccount/redis-backup", "Role/redis-backup", "RoleBinding/redis-backup"):
        assert planned[ref] == "create"
    deploy(k, cfg, render_manifests(cfg), timeout=10)
    role = k.get("Role", "redis-backup", NS)
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    binding = k.get("RoleBinding", "redis-backup", NS)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "redis-backup", "namespace": NS}]
    cron = k.get("CronJob", "redis-backup", NS)
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"] == "redis-backup"


# --- item 1: dry runs change nothing -------------------------------------------------------------


def snapshot(env: Any) -> dict[str, Any]:
    kinds = ("Namespace", "ConfigMap", "Deployment", "ReplicaSet", "Pod", "Service", "PersistentVolumeClaim",
             "ServiceAccount", "CronJob", "NetworkPolicy", "StorageClass", "Role", "RoleBinding")  # fmt: skip
    return {kind: sorted(json.dumps(o, sort_keys=True) for o in env.objects(kind)) for kind in kinds}


def test_dry_runs_of_deploy_and_rollback_change_nothing(k: Kube, env: Any, store: BackupStore) -> None:
    first = cfg_with(IMAGE)
    deploy(k, first, render_manifests(first), timeout=10, store=store)
    second = cfg_with(IMAGE, config={"maxmemory": "100mb"})
    deploy(k, second, render_manifests(second), timeout=10, store=store)
    before = snapshot(env)
    third = cfg_with("redis:7.2.4-alpine", config={"maxmemory": "90mb"})
    dry = deploy(k, third, render_manifests(third), dry_run=True, store=store)
    assert dry.plan.changed and dry.revision is None
    back = rollback(k, first, to=1, dry_run=True, store=store)
    assert back.plan.changed and back.revision is None
    r = runner.invoke(
        app, ["rollback", "--kubeconfig", str(env.kubeconfig_path), "--to", "1", "--dry-run", "--no-backup"]
    )
    assert r.exit_code == 0, r.output
    assert snapshot(env) == before
    assert store.list() == []
