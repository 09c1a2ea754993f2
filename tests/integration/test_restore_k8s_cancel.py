"""A cancelled Kubernetes restore that staged beside the running Redis leaves nothing in the PVC: the
clean-up Job removes exactly the staging folder of that restore (on Redis's node, while Redis serves),
Redis is never scaled to 0; a failed clean-up names the folder and the command that removes it.

The emulator runs no containers: the tests check the Jobs the cluster was asked to run (their command,
node and outcome) and the Deployment's events; the engine's own staging is tested on real dirs
(test_restore_engine.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from redisops.cancel import CancelToken
from redisops.config import DeploymentConfig
from redisops.errors import ExitCode, Interrupted
from redisops.k8s import render_restore_job
from redisops.ops.backup import create_rdb_backup
from redisops.ops.datasets import populate
from redisops.ops.restore_k8s import restore_k8s
from redisops.ops.restore_k8s_discard import render_discard_job, staging_folder
from tests.integration.test_platform_restore import K8S_SPEC, NS, _cluster, _k8s_store

pytestmark = pytest.mark.k8s


@pytest.fixture
def setup(kube: Any, redis_factory: Any, s3_endpoint: Any, s3_bucket: str) -> Any:
    """(emulator, Kube client, store, backup) with Redis deployed on an RWO PVC."""
    cfg = DeploymentConfig()
    k = _cluster(kube, redis_factory, cfg)
    store = _k8s_store(s3_endpoint, s3_bucket)
    source = redis_factory(cfg, name="source")
    populate(source.endpoint, K8S_SPEC, seed=3)
    backup = create_rdb_backup(source.endpoint, store)
    yield kube, k, store, backup
    k.close()
    assert kube.errors == []


def _restore(k: Any, store: Any, backup: Any, token: CancelToken, lines: list[str], on_line: Any) -> Any:
    def progress(line: str) -> None:
        lines.append(line)
        on_line(line)

    with pytest.raises(Interrupted) as e:
        restore_k8s(
            k, DeploymentConfig(), store, backup.id, tool_image="img:1", force=True, safety_backup=False,
            confirmed=True, timeout=20, progress=progress, stage_beside_redis=True, cancel=token,
        )  # fmt: skip
    assert e.value.exit_code == ExitCode.INTERRUPTED
    return e.value


def _jobs(kube: Any) -> dict[str, dict[str, Any]]:
    return {j["metadata"]["name"]: j for j in kube.objects("Job", NS)}


def _command(job: dict[str, Any]) -> list[str]:
    return list(job["spec"]["template"]["spec"]["containers"][0]["command"])


def _operation_id(stage_job: dict[str, Any]) -> str:
    cmd = _command(stage_job)
    return cmd[cmd.index("--operation-id") + 1]


def _redis_untouched(kube: Any, k: Any, pod_before: str) -> None:
    """The Deployment still wants 1 replica, its pod is the one from before, no ReplicaSet ever deleted a
    pod (no scale to 0) and no install Job was created."""
    assert k.get("Deployment", "redis", NS)["spec"]["replicas"] == 1
    assert [p["metadata"]["name"] for p in k.pods({"app": "redis"}, NS)] == [pod_before]
    events = kube.objects("Event", NS)
    assert not [
        e for e in events if e["reason"] == "SuccessfulDelete" and e["involvedObject"]["kind"] == "ReplicaSet"
    ]
    assert all(n.endswith(("-stage", "-discard")) for n in _jobs(kube))


def test_cancel_after_the_staging_job_removes_exactly_its_staging_folder(setup: Any) -> None:
    kube, k, store, backup = setup
    redis_pod = k.pods({"app": "redis"}, NS)[0]
    token, lines = CancelToken(), list[str]()

    def on_line(line: str) -> None:  # the staging Job finished: cancel before the scale to 0
        if line.startswith("Job ") and line.endswith("-stage completed"):
            token.cancel("interrupted")

    err = _restore(k, store, backup, token, lines, on_line)
    jobs = _jobs(kube)
    stage = next(j for n, j in jobs.items() if n.endswith("-stage"))
    discard = next(j for n, j in jobs.items() if n.endswith("-discard"))
    folder = staging_folder(_operation_id(stage))
    assert folder.startswith("/data/.redisops-staging-")
    # exactly that folder, nothing else; on Redis's node (RWO: the only node that may mount the PVC)
    assert _command(discard) == ["rm", "-rf", "--", folder]
    spec = discard["spec"]["template"]["spec"]
    assert spec["nodeName"] == redis_pod["spec"]["nodeName"]
    assert [
        v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v
    ] == ["redis-data"]
    assert "env" not in spec["containers"][0]  # no store credentials for an rm
    assert any(c["type"] == "Complete" for c in discard["status"]["conditions"])
    assert f"the staging folder {folder} was removed from the PVC" in err.message
    assert "unchanged and the server kept running" in err.message
    assert err.context["staging_removed"] is True and err.context["staging_folder"] == folder
    _redis_untouched(kube, k, redis_pod["metadata"]["name"])
    assert any(line.startswith(f"removing the staging folder {folder}") for line in lines)


def test_a_failed_clean_up_names_the_folder_and_the_command_that_removes_it(setup: Any) -> None:
    kube, k, store, backup = setup
    redis_pod = k.pods({"app": "redis"}, NS)[0]
    cfg = DeploymentConfig()
    stage_job = render_restore_job(cfg, backup.id, "img:1", name_suffix="stage")
    discard_name = render_discard_job(stage_job, stage_job, "/data/x")["metadata"]["name"]
    kube.set_failure(NS, discard_name, "fail")
    token, lines = CancelToken(), list[str]()

    def on_line(line: str) -> None:
        if line.startswith("Job ") and line.endswith("-stage completed"):
            token.cancel("interrupted")

    err = _restore(k, store, backup, token, lines, on_line)
    jobs = _jobs(kube)
    assert discard_name in jobs
    folder = staging_folder(_operation_id(jobs[stage_job["metadata"]["name"]]))
    manual = f"kubectl -n {NS} exec deploy/redis -- rm -rf -- {folder}"
    assert f"removing the staging folder {folder} from the PVC failed" in err.message
    assert manual in err.message and manual in err.hint
    assert err.context["remove_command"] == manual and err.context["staging_removed"] is False
    _redis_untouched(kube, k, redis_pod["metadata"]["name"])


def test_cancel_while_the_staging_job_runs_stops_it_then_removes_its_folder(setup: Any) -> None:
    kube, k, store, backup = setup
    redis_pod = k.pods({"app": "redis"}, NS)[0]
    stage_name = render_restore_job(DeploymentConfig(), backup.id, "img:1", name_suffix="stage")["metadata"][
        "name"
    ]
    kube.set_failure(NS, stage_name, "stuck")  # its pod never finishes: only the cancel ends the wait
    token, lines = CancelToken(), list[str]()

    def on_line(line: str) -> None:
        if line.startswith(f"created Job {stage_name}"):
            token.cancel("interrupted")

    err = _restore(k, store, backup, token, lines, on_line)
    jobs = _jobs(kube)
    assert stage_name not in jobs and kube.objects("Pod", NS, label_selector=f"job-name={stage_name}") == []
    (discard,) = (j for n, j in jobs.items() if n.endswith("-discard"))
    assert _command(discard)[:3] == ["rm", "-rf", "--"]
    assert _command(discard)[3].startswith("/data/.redisops-staging-")
    assert "while the staging Job" in err.message and "Redis kept running" in err.message
    assert "was removed from the PVC" in err.message
    _redis_untouched(kube, k, redis_pod["metadata"]["name"])
