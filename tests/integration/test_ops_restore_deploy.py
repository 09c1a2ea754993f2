"""Issue 13 items 2 and 5: restore, Kubernetes and sandbox operations through the catalogue and the
Python API, against a real private sandbox (redis-server and moto processes) and the Kubernetes API
emulator; every plan leaves Redis, S3, the data dir and the cluster exactly as they were."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

import redisops.ops
from redisops.adapters.kube import Kube
from redisops.adapters.redis_conn import connect
from redisops.config import DeploymentConfig
from redisops.errors import AbortedError, InvalidArgument
from redisops.events import Finished, Phase, Recorder, Started
from redisops.k8s import render_manifests
from redisops.ops.api_deploy import DeployAPI
from redisops.ops.api_restore import RestoreAPI
from redisops.ops.backup import create_rdb_backup
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.registry import catalogue
from redisops.ops.restore import SandboxRestore
from redisops.ops.restore_local import LocalUndoResult
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up
from redisops.ops.target import Target, resolve_target
from tests.harness import kube_deploy
from tests.harness.kube_deploy import serve_redis_pods
from tests.harness.snapshots import world

SMALL = DatasetSpec(keys_per_db=30, dbs=(0, 2), value_bytes=32, elements=3, ttl_fraction=0)
LATER = DatasetSpec(keys_per_db=7, dbs=(0,), prefix="later", ttl_fraction=0)
NS = "llm-judge"
IMAGE = "redis:7.0.15-alpine"


# --- the sandbox -------------------------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    state = sandbox_up(tmp_path / "sandbox")
    yield state
    sandbox_down(tmp_path / "sandbox", discard_backups=True)


def sandbox_target(state: SandboxState) -> Target:
    """The sandbox target as a script gets it (resolved after ``sandbox up``)."""
    return resolve_target(state_dir=state.state_dir, env={})


def sandbox_world(state: SandboxState) -> dict[str, Any]:
    s3 = boto3.client(
        "s3", endpoint_url=state.s3_url, region_name="us-east-1",
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
    )  # fmt: skip
    return world(redis=state.target, s3=(s3, state.bucket), data_dir=state.data_dir)


def keys(state: SandboxState, db: int = 0) -> set[bytes]:
    c = connect(state.target.with_db(db))
    try:
        return set(c.scan_iter(count=1000))
    finally:
        c.close()


def test_restore_and_undo_on_the_sandbox_through_the_catalogue(sandbox: SandboxState) -> None:
    t = sandbox_target(sandbox)
    api = RestoreAPI(t)
    # nothing restored yet: the undo plan is blocked, and planning it changes nothing
    before = sandbox_world(sandbox)
    blocked_undo = api.plan_undo()
    assert blocked_undo.blocked and blocked_undo.op == "restore.undo"
    assert sandbox_world(sandbox) == before

    populate(sandbox.target, SMALL, seed=3)
    backup = create_rdb_backup(t.redis, t.store())
    populate(sandbox.target, LATER, seed=4)  # written after the backup: the restore drops them
    later = keys(sandbox)
    assert any(k.startswith(b"later") for k in later)

    # plans: blocked without force (the target holds keys), ready with it; neither changes anything
    before = sandbox_world(sandbox)
    refused = api.plan(backup.id)
    assert refused.blocked and "holds" in refused.blockers[0] and "keys" in refused.blockers[0]
    ready = t.plan("restore.apply", backup_id=backup.id, force=True)
    assert not ready.blocked and ready.details["backup_id"] == backup.id
    assert any("take a safety backup" in s for s in ready.steps)
    assert any("stop the sandbox target" in s for s in ready.steps)
    assert sandbox_world(sandbox) == before

    # a destructive operation needs confirm=True; parameters are validated by the model
    with pytest.raises(AbortedError):
        t.run("restore.apply", backup_id=backup.id, force=True)
    with pytest.raises(InvalidArgument) as bad:
        t.run("restore.apply", backup_id="yesterday", confirm=True)
    assert "backup_id" in bad.value.message
    assert sandbox_world(sandbox) == before

    events = Recorder()
    res = t.run("restore.apply", backup_id=backup.id, force=True, confirm=True, on_event=events)
    assert isinstance(res, SandboxRestore) and res.backup_id == backup.id and not res.dry_run
    assert res.safety_backup is not None  # the replaced keys were backed up first
    assert isinstance(events[0], Started) and events[0].params["backup_id"] == backup.id
    assert isinstance(events[-1], Finished) and events[-1].result is res
    assert {e.op for e in events} == {"restore.apply"} and len({e.op_id for e in events}) == 1
    phases = [e.name for e in events.of(Phase)]  # the restore reports through the catalogue's reporter
    assert phases.index("stopping") < phases.index("starting") < phases.index("verifying")
    restored = keys(sandbox)
    assert restored and not any(k.startswith(b"later") for k in restored)
    assert len(keys(sandbox, 2)) == 30

    # undo: planned (changes nothing), then put back the data the restore replaced
    before = sandbox_world(sandbox)
    undo_plan = api.plan_undo()
    assert not undo_plan.blocked and any("put_back" in s for s in undo_plan.steps)
    assert sandbox_world(sandbox) == before
    with pytest.raises(AbortedError):
        api.undo()
    undone = api.undo(confirm=True)
    assert isinstance(undone, LocalUndoResult)
    assert keys(sandbox) == later


def test_sandbox_operations_plan_without_changing_anything(sandbox: SandboxState, tmp_path: Path) -> None:
    t = sandbox_target(sandbox)
    status = t.run("sandbox.status")
    assert isinstance(status, SandboxState) and status.services["target"].status == "running"
    before = sandbox_world(sandbox)
    state_files = sorted(p.name for p in Path(sandbox.state_dir).iterdir())
    up = t.plan("sandbox.up")
    assert not up.blocked and all(s.startswith("keep ") for s in up.steps)
    down = t.plan("sandbox.down")
    assert any(s.startswith("export the backup store") for s in down.steps)
    assert any(s.startswith("stop target") for s in down.steps)
    discard = t.plan("sandbox.down", discard_backups=True)
    assert discard.warnings and not any(s.startswith("export") for s in discard.steps)
    rehearsal = t.plan("rehearsal.run")
    assert any("restore" in w for w in rehearsal.warnings)
    assert sandbox_world(sandbox) == before
    assert sorted(p.name for p in Path(sandbox.state_dir).iterdir()) == state_files

    # a state dir with no sandbox: up would start every service; the plan creates nothing there
    empty = resolve_target(state_dir=tmp_path / "nothing-here", env={})
    plan = empty.plan("sandbox.up")
    assert [s.split()[0] for s in plan.steps[:3]] == ["start", "start", "start"]
    assert empty.plan("sandbox.down").steps == ("nothing to stop: the sandbox is not running",)
    assert not (tmp_path / "nothing-here").exists()


# --- Kubernetes ----------------------------------------------------------------------------------------


def write_config(path: Path, s3_url: str, bucket: str, **redis_settings: Any) -> Path:
    lines = [
        f"image: {IMAGE}",
        "backup:",
        f"  bucket: {bucket}",
        f"  endpoint_url: {s3_url}",
        "  force_path_style: true",
    ]
    if redis_settings:
        lines.append("config:")
        lines += [f"  {k}: {v}" for k, v in redis_settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def cluster(kube: Any, redis_factory: Any) -> Any:
    """The emulator with the Redis pods' port mapped to a real redis-server of the same config."""
    serve_redis_pods(kube, redis_factory(DeploymentConfig(image=IMAGE)), NS)
    yield kube
    assert kube.errors == []


def kube_target(cluster: Any, config: Path) -> Target:
    return resolve_target(config=config, kubeconfig=cluster.kubeconfig_path, context="emu", env={})


def client_deployment(name: str) -> dict[str, Any]:
    return kube_deploy.client_deployment(name, NS)


def test_deploy_rollback_restart_through_the_catalogue(
    cluster: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path
) -> None:
    s3 = (s3_endpoint.client(), s3_bucket)
    v1 = write_config(tmp_path / "v1.yaml", s3_endpoint.url, s3_bucket)
    v2 = write_config(tmp_path / "v2.yaml", s3_endpoint.url, s3_bucket, maxmemory_policy="noeviction")
    bad = tmp_path / "bad.yaml"
    bad.write_text(v1.read_text().replace(IMAGE, "redis:7.1-alpine"))

    with kube_target(cluster, v1) as t:
        api = DeployAPI(t)
        # an empty cluster: the plan creates everything and changes nothing
        before = world(kube=cluster, s3=s3)
        plan = api.plan()
        assert not plan.blocked
        assert plan.steps[0] == f"create Namespace/{NS}" and "create Deployment/redis" in plan.steps
        assert world(kube=cluster, s3=s3) == before

        events = Recorder()
        first = api.apply(timeout=30, on_event=events)
        assert first.revision == 1 and first.applied and first.ok
        assert events.kinds()[0] == "started" and events.kinds()[-1] == "finished"
        assert "log" in events.kinds() and {e.op for e in events} == {"deploy.apply"}

    # a config change: the plan is the server-side diff; then applied as revision 2
    with kube_target(cluster, v2) as t:
        api = DeployAPI(t)
        before = world(kube=cluster, s3=s3)
        plan = api.plan()
        assert {"update ConfigMap/redis-config", "update Deployment/redis"} <= set(plan.steps)
        assert plan.details["changed"] is True
        assert world(kube=cluster, s3=s3) == before
        assert api.apply(timeout=30).revision == 2
        assert [r.number for r in api.history().revisions] == [1, 2]
        assert api.history().to_dict()["revisions"][0]["objects"] > 0

        # rollback: planned (unchanged world; an unknown revision is a blocked plan), then run
        before = world(kube=cluster, s3=s3)
        back = api.plan_rollback()
        assert not back.blocked and back.details["what"] == "rollback to 1"
        nowhere = t.plan("deploy.rollback", to=99)
        assert nowhere.blocked and "revision 99" in nowhere.blockers[0]
        assert world(kube=cluster, s3=s3) == before
        rolled = api.rollback(timeout=30)
        assert rolled.revision == 3 and rolled.what == "rollback to 1"

        # restart: the plan names what exists and warns about what does not; then one is restarted
        with Kube.from_kubeconfig(cluster.kubeconfig_path) as k:
            k.apply([client_deployment("judge-api")])
            k.wait_rollout("judge-api", NS, timeout=10)
        before = world(kube=cluster, s3=s3)
        rplan = api.plan_restart(["judge-api", "gone"])
        assert rplan.steps == (f"restart Deployment {NS}/judge-api (1 replicas) and wait up to 300s",)
        assert rplan.warnings == (f"Deployment {NS}/gone does not exist: its restart would fail",)
        assert world(kube=cluster, s3=s3) == before
        events = Recorder()
        report = api.restart(["judge-api"], timeout=30, on_event=events)
        assert report.ok and [s.name for s in report.services] == ["judge-api"]
        assert events.kinds()[:2] == ["started", "phase"] and events.kinds()[-1] == "finished"
        assert world(kube=cluster, s3=s3) != before  # the restart did change the Deployment

    # a lint error (redis:7.1-alpine was never released) blocks the plan, which changes nothing
    with kube_target(cluster, bad) as t:
        before = world(kube=cluster, s3=s3)
        blocked = DeployAPI(t).plan()
        assert blocked.blocked and "lint" in blocked.blockers[0]
        assert world(kube=cluster, s3=s3) == before
        allowed = t.run("lint.run")
        assert allowed.exit_code == 21 and allowed.to_dict()["summary"]["error"] >= 1


def test_manifests_render_and_invalid_parameters(tmp_path: Path, s3_endpoint: Any, s3_bucket: str) -> None:
    t = resolve_target(config=write_config(tmp_path / "c.yaml", s3_endpoint.url, s3_bucket), env={})
    docs = t.run("manifests.render", only=["Deployment"])
    assert [d["kind"] for d in docs.objects] == ["Deployment"]
    assert docs.objects == [d for d in render_manifests(t.config()) if d["kind"] == "Deployment"]
    job = t.run("manifests.render", restore_job="20250101T000000Z-ab12")
    assert [d["kind"] for d in job.objects] == ["Job"]
    with pytest.raises(InvalidArgument) as exc:
        t.run("manifests.render", restore_job="nope")
    assert "restore_job" in exc.value.message
    with pytest.raises(InvalidArgument):
        t.run("manifests.render", only=["Pizza"])
    with pytest.raises(InvalidArgument) as exc:
        t.plan("deploy.apply", allow=["no-such-rule"])
    assert "no-such-rule" in exc.value.message


# --- every operation of redisops/ops is in the catalogue -------------------------------------------------

#: public operation functions -> the catalogue operation that wraps them
#: (until ``Operation`` records what it wraps; then this mapping moves there)
WRAPPED: dict[str, str] = {
    "backup.create_rdb_backup": "backup.create",
    "backup.create_aof_backup": "backup.create",
    "backup.verify_backup": "backup.verify",
    "inspect.fetch_info": "info.get",
    "inspect.fetch_slowlog": "slowlog.get",
    "inspect.fetch_latency": "latency.report",
    "inspect.ping_latency": "latency.report",
    "inspect.fetch_memory": "memory.report",
    "inspect.analyze_keys": "keys.analyze",
    "inspect.fetch_clients": "clients.list",
    "health.run_health": "health.report",
    "restore.run_drill": "backup.drill",
    "restore.restore_sandbox": "restore.apply",
    "restore.undo_sandbox_restore": "restore.undo",
    "restore.plan_sandbox_undo": "restore.undo",
    "restore_k8s.restore_k8s": "restore.apply",
    "restore_k8s.undo_restore_k8s": "restore.undo",
    "deploy.deploy": "deploy.apply",
    "deploy.rollback": "deploy.rollback",
    "deploy.history": "deploy.history",
    "deploy_revisions.history": "deploy.history",
    "services.restart_services": "deploy.restart",
    "services.verify_clients": "deploy.verify_clients",
    "sandbox.sandbox_status": "sandbox.status",
    "sandbox.sandbox_up": "sandbox.up",
    "sandbox.sandbox_down": "sandbox.down",
    "rehearsal.rehearse": "rehearsal.run",
    "platform_status.kube_report": "platform.status",
    "platform_status.sandbox_report": "platform.status",
    "platform_status.kube_logs": "platform.logs",
    "platform_status.sandbox_logs": "platform.logs",
    "elasticache.snapshot_group": "elasticache.snapshot",
    "elasticache.export_snapshot": "elasticache.export",
    "cutover.run_cutover": "migrate.cutover",
    "cutover.plan_cutover": "migrate.cutover",
    "cutover_rollback.run_rollback": "migrate.rollback",
    "cutover_rollback.plan_rollback": "migrate.rollback",
    "elasticache_decommission.run_decommission": "elasticache.decommission",
    "elasticache_decommission.plan_decommission": "elasticache.decommission",
}

#: public functions of redisops/ops that are not operations, each with the reason
HELPERS: dict[str, str] = {
    "audit.default_audit_path": "the catalogue's audit log (machinery every operation goes through)",
    "audit.mask": "the catalogue's audit log (machinery every operation goes through)",
    "reference.param_rows": "renders the catalogue's parameter schemas (ops show, the operations reference)",
    "reference.render_reference": "renders the catalogue itself as docs/operations.md (redisops ops doc)",
    "restore_k8s_dance.staging_steps": "the plan's lines of restore.apply on Kubernetes (where it stages)",
    "backup.config_fingerprint": "a value in a backup manifest",
    "backup.open_store": "opens the store a target uses (Target.store)",
    "backup.pick_stream_source": "a step of backup.create",
    "backup.pod_liveness": "the lock-holder check backup operations use on Kubernetes",
    "backup.in_cluster_liveness": "the lock-holder check a backup in a pod uses (builds pod_liveness)",
    "sandbox_auth.check_same": "sandbox.up machinery: refuses other auth/TLS options on a running target",
    "sandbox_auth.security_request": "sandbox.up machinery: auth/TLS options checked before anything starts",
    "sandbox_auth.write_include": "sandbox.up machinery: the 0600 include file (hashed passwords, TLS)",
    "target_credentials.read_password_file": "credential resolution of the target (reads a password file)",
    "backup.store_for": "opens the store a target uses (Target.store)",
    "compare.canonical_value": "a step of compare_datasets",
    "compare.compare_datasets": "the migration's verify step (an operation once the migration is built)",
    "datasets.populate": "writes test data into a sandbox or test server; a harness, not an operation",
    "deploy_diff.diff_objects": "a step of the deploy plan",
    "deploy_diff.helm_release_of": "a step of the deploy plan",
    "deploy_diff.plan_deploy": "the dry-run diff inside deploy.apply's plan",
    "deploy_prepare.prepare_deploy": "the plan half of deploy.apply (its run applies it)",
    "deploy_prepare.prepare_rollback": "the plan half of deploy.rollback (its run applies it)",
    "deploy_revisions.record_revision": "records a revision inside deploy.apply/rollback",
    "deploy_revisions.release_name": "names a revision record",
    "cutover_common.appconfig_ref": "shared by migrate.cutover/rollback, decommission",
    "cutover_common.on_kubernetes": "shared by migrate.cutover/rollback, decommission",
    "cutover_common.read_back_endpoint": "shared by migrate.cutover/rollback, decommission",
    "cutover_common.state_dir_of": "shared by migrate.cutover/rollback, decommission",
    "cutover_common.wait_read_back": "shared by migrate.cutover/rollback, decommission",
    "cutover_plan.clean_object": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.elasticache_rules": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.endpoint_of": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.hcl_diff": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.helm_owner": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.helm_values_change": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.restore_patch": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.sha256": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.switch_content": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.terraform_owner": "a pure step of migrate.cutover/rollback's plan",
    "cutover_plan.without_rules": "a pure step of migrate.cutover/rollback's plan",
    "cutover_record.latest_record": "the cutover record (migrate.rollback's undo point)",
    "cutover_record.latest_verify": "the cutover record (migrate.rollback's undo point)",
    "cutover_record.migrate_dir": "the cutover record (migrate.rollback's undo point)",
    "cutover_record.save_record": "the cutover record (migrate.rollback's undo point)",
    "cutover_record.save_verify": "the cutover record (migrate.rollback's undo point)",
    "cutover_steps.restart": "a step migrate.cutover and migrate.rollback share",
    "cutover_steps.switch_appconfig": "a step migrate.cutover and migrate.rollback share",
    "cutover_steps.verify_after": "a step migrate.cutover and migrate.rollback share",
    "platform_status.parse_df": "a step of platform.status (df -P of the data volume)",
    "platform_status.pod_info": "a step of platform.status (one pod's state)",
    "health_probes.platform_probe": "a step of health.report (the pod/PVC or process/data-dir checks)",
    "elasticache.export_blockers": "a step of elasticache.export and its plan (the bucket's grants)",
    "sandbox_aws.provision": "a step of sandbox.up (the AWS resources standing for the write-up's)",
    "sandbox_aws.sandbox_aws": "opens the sandbox's AWS emulator (like sandbox_store.sandbox_s3)",
    "sandbox_aws.source_commands": "a step of sandbox.up (the source's secret command names)",
    "sandbox_aws.source_directives": "a step of sandbox.up (the source's redis.conf directives)",
    "sandbox_aws.write_emulator_config": "a step of sandbox.up (the emulator's 0600 config)",
    "migrate_source.resolve_source": "builds the migration's source endpoint and credentials "
    "(the source side of Target resolution)",
    "deploy.diff_objects": "a step of the deploy plan",
    "deploy.helm_release_of": "a step of the deploy plan",
    "deploy.plan_deploy": "the dry-run diff inside deploy.apply's plan",
    "deploy.release_name": "names a revision record",
    "deploy.verify_deployment": "a step of deploy.apply, deploy.rollback and restore.apply",
    "deploy_verify.verify_deployment": "a step of deploy.apply, deploy.rollback and restore.apply",
    "deploy_guard.backup_before_upgrade": "a step of deploy.apply",
    "deploy_guard.check_versions": "a step of deploy.apply's plan",
    "deploy_guard.compare_versions": "a step of check_versions",
    "deploy_guard.image_redis_version": "a step of check_versions",
    "deploy_guard.lint_gate": "a step of deploy.apply (lint.run is the operation)",
    "deploy_guard.oldest_release_reading": "a step of check_versions",
    "health.gather_inputs": "a step of health.report",
    "health.platform_checks": "a step of health.report",
    "health_probes.fail_fast": "a step of health.report",
    "inspect.fetch_config": "a step of health.report",
    "inspect.open_client": "opens a connection for the inspection operations",
    "inspect.refusal_reason": "explains a refused command inside the inspection operations",
    "inspect.sample_rates": "a step of info.get (rates between two INFO samples)",
    "loading.wait_loaded": "a step of restores and drills",
    "pod_redis.pod_endpoint": "opens a port-forward for the Kubernetes operations",
    "registry.catalogue": "the catalogue itself",
    "restore.expected_from_manifest": "a step of restore.apply",
    "restore.last_drill": "read by health.report (the last drill's record)",
    "restore.name_safety_backup": "error wording shared by the restores",
    "restore.resolve_backup": "a step of restore.apply",
    "restore.restore_into_data_dir": "the in-cluster restore Job's engine (redisops restore-data-dir), "
    "run inside restore.apply on Kubernetes",
    "restore.safety_note": "error wording shared by the restores",
    "restore_k8s_dance.checks_or_raise": "a step of restore.apply on Kubernetes",
    "restore_k8s_discard.add_discard_note": "what a cancelled restore.apply on Kubernetes cleaned up",
    "restore_k8s_discard.discard_staging": "the clean-up of a cancelled restore.apply on Kubernetes",
    "restore_k8s_discard.render_discard_job": "the clean-up Job of a cancelled restore.apply",
    "restore_k8s_discard.staging_folder": "the staging folder of a restore.apply on Kubernetes",
    "restore_k8s_dance.find_target": "a step of restore.apply on Kubernetes",
    "restore_k8s_dance.keyspace_counts": "a step of restore.apply on Kubernetes",
    "restore_k8s_dance.loaded_info": "a step of restore.apply on Kubernetes",
    "restore_k8s_dance.log_tail": "a step of restore.apply on Kubernetes",
    "restore_k8s_dance.ready_pod": "a step of restore.apply on Kubernetes",
    "restore_k8s_dance.redis_password": "a step of restore.apply on Kubernetes",
    "restore_local.compare_key_counts": "the key-count rule of restores and drills",
    "restore_local.restore_local": "the local half of restore.apply on the sandbox",
    "restore_local.undo_local": "the local half of restore.undo on the sandbox",
    "restore_local.wait_loaded": "a step of restores and drills",
    "sandbox.check_dependencies": "a step of sandbox.up (and its plan)",
    "sandbox.default_state_dir": "where the sandbox lives",
    "sandbox.load_state": "reads the sandbox's state file (Target resolution)",
    "sandbox.target_controls": "stop/start of the sandbox target inside restore.apply",
    "sandbox_store.export_bucket": "a step of sandbox.down",
    "sandbox_store.import_bucket": "a step of sandbox.up",
    "sandbox_store.read_export": "a step of sandbox.up's plan",
    "sandbox_store.sandbox_s3": "opens the sandbox's S3",
    "services.scan_log": "a step of deploy.verify_clients",
    "target.load_targets": "reads the targets file (Target resolution)",
    "target.resolve_target": "builds the target operations run on",
    "target.target": "builds the target operations run on",
    "target_credentials.resolve_password": "a step of target resolution",
    "targets_file.default_targets_path": "where the targets file lives",
    "targets_file.load_targets": "reads the targets file (Target resolution)",
}

#: modules that hold the catalogue's own machinery (entries, facades), not operations
MACHINERY_PREFIXES = ("entries_", "api_")


def public_functions() -> dict[str, Any]:
    """``module.name`` -> function, for every function in the ``__all__`` of a redisops/ops module."""
    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(redisops.ops.__path__):
        module = importlib.import_module(f"redisops.ops.{info.name}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_public_operation_function_is_in_the_catalogue_or_named_a_helper() -> None:
    cat = catalogue()
    functions = {k: v for k, v in public_functions().items() if not k.startswith(MACHINERY_PREFIXES)}
    unaccounted = sorted(set(functions) - set(WRAPPED) - set(HELPERS))
    assert unaccounted == [], (
        "public functions in redisops/ops that no catalogue operation wraps: add an entry (and list it "
        "in WRAPPED) or name it a helper with a reason in HELPERS"
    )
    stale = sorted((set(WRAPPED) | set(HELPERS)) - set(functions))
    assert stale == [], "listed functions that are no longer public"
    assert set(WRAPPED).isdisjoint(HELPERS)
    assert all(reason.strip() for reason in HELPERS.values())
    missing_ops = sorted({op for op in WRAPPED.values() if op not in cat})
    assert missing_ops == [], "WRAPPED names operations the catalogue does not have"
    # the mapping is true: the module that implements the operation calls the function it is said to wrap
    for qualified, op_name in WRAPPED.items():
        fn_name = qualified.split(".", 1)[1]
        source = inspect.getsource(sys.modules[cat.get(op_name).run.__module__])
        assert f"{fn_name}(" in source, (
            f"{op_name} is said to wrap {qualified}, but its module never calls it"
        )
    # and every mutating or destructive operation has a plan (the catalogue refuses one without)
    assert all(op.plan is not None for op in cat if op.kind != "read")


def test_restore_plans_on_kubernetes_change_nothing(
    cluster: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path, redis_factory: Any
) -> None:
    cfg_file = write_config(tmp_path / "c.yaml", s3_endpoint.url, s3_bucket)
    with kube_target(cluster, cfg_file) as t:
        t.run("deploy.apply", timeout=30)
        source = redis_factory(DeploymentConfig(image=IMAGE), name="source")
        populate(source.endpoint, SMALL, seed=5)
        backup = create_rdb_backup(source.endpoint, t.store(use_sandbox=False))
        populate(cluster.redis.endpoint, LATER, seed=6)  # the pod's Redis holds keys
        s3 = (s3_endpoint.client(), s3_bucket)
        before = world(kube=cluster, s3=s3, redis=cluster.redis.endpoint)
        api = RestoreAPI(t)
        refused = api.plan(backup.id, tool_image="img:1")
        assert refused.blocked and "holds 7 keys" in refused.blockers[0]
        ready = api.plan("latest", force=True, tool_image="img:1")
        assert not ready.blocked and ready.details["backup_id"] == backup.id
        assert any("scale Deployment llm-judge/redis from 1 to 0" in s for s in ready.steps)
        undo = api.plan_undo(tool_image="img:1")
        assert any("create Job redis-restore-undo-" in s for s in undo.steps)
        assert world(kube=cluster, s3=s3, redis=cluster.redis.endpoint) == before
