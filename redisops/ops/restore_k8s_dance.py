"""The cluster side of a Kubernetes restore: find the Deployment and its pods, scale to 0, create a Job on
the PVC, wait, fetch its log, scale back, and the checks after it: the steps
:class:`~redisops.ops.platform.KubePlatform` and :class:`~redisops.ops.restore_k8s_access.KubeAccess`
take inside the one restore flow (:mod:`redisops.ops.restore_flow`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redisops.adapters.redis_conn import read_password
from redisops.config.model import DeploymentConfig
from redisops.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    OperationTimeout,
    RedisOpsError,
    VerificationError,
)
from redisops.inspect import Info
from redisops.k8s import check_manifest
from redisops.ops.deploy import VerifyCheck
from redisops.ops.loading import wait_loaded
from redisops.ops.pod_redis import pod_endpoint

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.ops.platform import StagingDecision

__all__ = [
    "K8sTarget",
    "checks_or_raise",
    "find_target",
    "keyspace_counts",
    "loaded_info",
    "log_tail",
    "ready_pod",
    "redis_password",
    "staging_steps",
]

Progress = Callable[[str], None]
Clock = Callable[[], float]
Sleep = Callable[[float], None]
#: log lines of the Job's pod kept in the result and shown in errors
LOG_TAIL = 40


# --- cluster helpers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class K8sTarget:
    """The Redis Deployment a restore works on: namespace, name, PVC, selector, replicas to restore."""

    namespace: str
    deployment: str
    pvc: str
    selector: dict[str, str]
    replicas: int


def find_target(kube: Kube, cfg: DeploymentConfig) -> K8sTarget:
    """The Deployment of ``cfg`` (NotFoundError when it is not deployed)."""
    ns, name = cfg.namespace, cfg.service_name
    dep = kube.get("Deployment", name, ns)
    if dep is None:
        raise NotFoundError(
            f"Deployment {ns}/{name} not found",
            hint="deploy first (redisops deploy), or pass the right --namespace / config",
            context={"namespace": ns, "deployment": name},
        )
    spec = dep.get("spec") or {}
    selector = dict((spec.get("selector") or {}).get("matchLabels") or cfg.labels)
    replicas = spec.get("replicas")
    return K8sTarget(ns, name, f"{name}-data", selector, int(1 if replicas is None else replicas))


def ready_pod(kube: Kube, t: K8sTarget) -> str | None:
    """The name of a ready Redis pod, None when there is none."""
    from redisops.adapters.kube import is_pod_ready

    for pod in kube.pods(t.selector, t.namespace):
        if is_pod_ready(pod):
            return str(pod["metadata"]["name"])
    return None


def loaded_info(kube: Kube, cfg: DeploymentConfig, pod: str, password: str | None, timeout: float) -> Info:
    """INFO of the Redis in ``pod`` once it has loaded (through a port-forward)."""
    with pod_endpoint(kube, cfg, pod, password, socket_timeout=30.0) as ep:
        return wait_loaded(ep, timeout=timeout)


def keyspace_counts(info: Info) -> dict[int, tuple[int, int]]:
    """db -> (keys, expires) of INFO keyspace (empty dbs left out)."""
    return {db: (k.keys, k.expires) for db, k in info.keyspace.items() if k.keys}


def wait_no_pods(kube: Kube, t: K8sTarget, timeout: float, clock: Clock, sleep: Sleep) -> float:
    """Wait until no pod matches the Deployment's selector; seconds waited (OperationTimeout)."""
    start = clock()
    while True:
        pods = kube.pods(t.selector, t.namespace)
        if not pods:
            return clock() - start
        if clock() - start >= timeout:
            names = ", ".join(p["metadata"]["name"] for p in pods)
            raise OperationTimeout(
                f"the Redis pods of Deployment {t.namespace}/{t.deployment} were still there "
                f"{timeout:g}s after scaling to 0: {names}",
                hint="a pod may be stuck terminating; check `kubectl describe pod`",
                context={"pods": [p["metadata"]["name"] for p in pods]},
            )
        sleep(0.2)


def job_state(job: Mapping[str, Any]) -> str | None:
    """``Complete`` or ``Failed`` once the Job has finished, else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def wait_job(
    kube: Kube, ns: str, name: str, timeout: float, clock: Clock, sleep: Sleep
) -> tuple[str, dict[str, Any]]:
    """Wait for the Job to finish: (state, Job). On OperationTimeout Redis stays at 0 (the Job may write)."""
    start = clock()
    while True:
        job = kube.get("Job", name, ns)
        if job is None:
            raise NotFoundError(f"Job {ns}/{name} disappeared while running", context={"job": name})
        state = job_state(job)
        if state is not None:
            return state, job
        if clock() - start >= timeout:
            raise OperationTimeout(
                f"Job {ns}/{name} did not finish within {timeout:g}s",
                hint=(
                    f"it may still be writing into the PVC, so Redis was left scaled to 0: check "
                    f"`kubectl -n {ns} logs job/{name}`, then scale the Deployment back"
                ),
                context={"job": name, "namespace": ns},
                retryable=False,
            )
        sleep(0.2)


def job_log(kube: Kube, ns: str, name: str) -> str:
    """The tail of the logs of the Job's pods."""
    logs: list[str] = []
    for pod in kube.pods({"job-name": name}, ns):
        try:
            logs.append(kube.logs(pod["metadata"]["name"], ns, tail=LOG_TAIL))
        except RedisOpsError as e:
            logs.append(f"(log of {pod['metadata']['name']} not available: {e.message})")
    return "".join(logs)


def log_tail(text: str, lines: int = 15) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def create_job(kube: Kube, job: dict[str, Any], say: Progress) -> str:
    """Check and create the Job (replacing a finished one of the same name); its name."""
    issues = check_manifest(job)
    if issues:
        raise ConfigError(
            "the rendered Job is not valid: " + "; ".join(str(i) for i in issues),
            context={"issues": [str(i) for i in issues]},
        )
    ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
    old = kube.get("Job", name, ns)
    if old is not None:
        if job_state(old) is None:
            raise ConflictError(
                f"Job {ns}/{name} already exists and has not finished: another restore is running",
                hint=f"wait for it (kubectl -n {ns} get job {name}) or delete it",
                context={"job": name},
            )
        say(f"deleting the finished Job {name} of an earlier run")
        kube.delete("Job", name, ns)
        for pod in kube.pods({"job-name": name}, ns):
            kube.delete("Pod", pod["metadata"]["name"], ns)
    kube.create(job)
    return str(name)


def scale_down(
    kube: Kube,
    t: K8sTarget,
    timeout: float,
    clock: Clock,
    sleep: Sleep,
    say: Progress,
    timings: dict[str, float],
) -> None:
    """Scale the Deployment to 0 and wait until its pods are gone; ``timings["scale_down"]``."""
    say(f"scaling Deployment {t.deployment} from {t.replicas} to 0")
    t0 = clock()
    kube.scale(t.deployment, 0, t.namespace)
    wait_no_pods(kube, t, timeout, clock, sleep)
    timings["scale_down"] = round(clock() - t0, 3)


def scale_up(
    kube: Kube,
    t: K8sTarget,
    timeout: float,
    clock: Clock,
    sleep: Sleep,
    say: Progress,
    timings: dict[str, float],
) -> None:
    """Scale the Deployment back to its replica count and wait for the rollout; ``timings["scale_up"]``."""
    say(f"scaling Deployment {t.deployment} back to {t.replicas}")
    t0 = clock()
    kube.scale(t.deployment, t.replicas, t.namespace)
    kube.wait_rollout(t.deployment, t.namespace, timeout, clock=clock, sleep=sleep, progress=say)
    timings["scale_up"] = round(clock() - t0, 3)


def redis_password(cfg: DeploymentConfig, password: str | None) -> str | None:
    """The Redis password from the config's env/file when auth is on and none was given."""
    if password is None and cfg.auth.enabled:
        return read_password(cfg.auth.password_env, cfg.auth.password_file)
    return password


def checks_or_raise(checks: list[VerifyCheck], what: str, hint: str) -> None:
    """VerificationError naming the failed post-restore checks, if any."""
    failed = [c for c in checks if not c.ok]
    if failed:
        raise VerificationError(
            f"after the {what}: " + "; ".join(f"{c.name}: {c.detail}" for c in failed),
            hint=hint,
            context={"failed": [c.name for c in failed]},
        )


def staging_steps(
    decision: StagingDecision, stage_job: Mapping[str, Any] | None, pvc: str, requested: bool
) -> list[str]:
    """The plan's lines on where the backup is staged: beside the running Redis (the staging Job first,
    then the scale to 0) or after the scale to 0, and why."""
    lines = [f"staging: {decision.reason}"]
    if stage_job is not None:
        spec = stage_job["spec"]["template"]["spec"]
        on = f" on node {spec['nodeName']}" if spec.get("nodeName") else ""
        lines.append(
            f"create Job {stage_job['metadata']['name']}{on} mounting PVC {pvc} at /data while Redis keeps "
            f"serving, running: {' '.join(spec['containers'][0]['command'])}; then:"
        )
    elif decision.beside_running and not requested:
        lines.append(
            "this run stages in the restore Job after the scale to 0 (staging beside Redis not requested)"
        )
    return lines
