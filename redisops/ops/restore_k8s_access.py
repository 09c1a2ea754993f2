"""The data access of the Redis PVC for the one restore flow: the engine in Jobs that mount it.

:class:`KubeAccess` is to Kubernetes what :class:`redisops.ops.restore_local.DataDirAccess` is to a local
data dir (see :mod:`redisops.ops.restore_flow`); :func:`redisops.ops.restore_k8s.restore_k8s` and
:func:`~redisops.ops.restore_k8s.undo_restore_k8s` run the flow with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redisops.adapters.interrupt_shield import main_shield
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.config.model import DeploymentConfig
from redisops.errors import ConflictError, Interrupted, OperationTimeout, RedisOpsError, VerificationError
from redisops.events import Reporter
from redisops.inspect import Info
from redisops.k8s import DEFAULT_TOOL_IMAGE, render_restore_job
from redisops.k8s.manifests import LAST_RESTORE_ANNOTATION, render_undo_job
from redisops.ops.deploy import VerifyCheck, verify_deployment
from redisops.ops.platform import KubePlatform
from redisops.ops.pod_redis import pod_endpoint
from redisops.ops.restore_flow import FlowPlan, RestoreFlow
from redisops.ops.restore_k8s_dance import (
    Clock,
    Progress,
    Sleep,
    checks_or_raise,
    loaded_info,
    log_tail,
    redis_password,
    staging_steps,
)
from redisops.ops.restore_k8s_discard import DiscardOutcome, add_discard_note
from redisops.restore import memory_fit
from redisops.restore.keycounts import counts_of

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.cancel import CancelToken

__all__ = ["UNDO_COMMAND", "KubeAccess"]

UNDO_COMMAND = "redisops restore undo --target k8s"


# --- the data access: the engine in Jobs on the PVC ------------------------------------------------


def command_of(job: dict[str, Any]) -> str:
    """The Job's command line."""
    return " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])


class KubeAccess:
    """The data access of the Redis PVC for :class:`~redisops.ops.restore_flow.RestoreFlow`: the
    engine runs in Jobs that mount it (``redisops restore-data-dir``): the staging Job beside the
    running Redis (``--stage-only``, pinned to Redis's node on a ReadWriteOnce PVC), the install Job
    (``--install-staged``) or the one restore Job after the scale to 0, the undo Job (``--undo``).
    """

    undo_command = UNDO_COMMAND
    restore_command = "redisops restore --target k8s"

    def __init__(
        self,
        platform: KubePlatform,
        cfg: DeploymentConfig,
        *,
        backup_id: str | None = None,
        tool_image: str = DEFAULT_TOOL_IMAGE,
        password: str | None = None,
        settle_timeout: float = 30.0,
        now: datetime | None = None,
        stage_requested: bool = False,
    ) -> None:
        self.platform, self.cfg, self.backup_id, self.tool_image = platform, cfg, backup_id, tool_image
        self.password, self.settle_timeout = password, settle_timeout
        self.now = now or datetime.now(UTC)
        self.stage_requested = stage_requested
        self.restarted_note = f"Redis was scaled back to {platform.target.replicas}"
        self.timings: dict[str, float] = {}
        self.log = ""
        self.mode = "restore"
        self._left_running = False
        #: the clean-up of a cancelled staging (None: none ran)
        self.discarded: DiscardOutcome | None = None
        self._staging: tuple[dict[str, Any], str] | None = None  # (the staging Job, the operation id)
        self.undo_job = render_undo_job(
            cfg, tool_image, suffix=self.now.astimezone(UTC).strftime("%Y%m%dt%H%M%S")
        )

    # -- the Jobs --

    def jobs(self, plan: FlowPlan) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the staging Job or None, the Job run after the scale to 0)."""
        bid = plan.expected.backup_id
        if not plan.beside:
            return None, render_restore_job(self.cfg, bid, self.tool_image)
        op = plan.operation_id
        stage = render_restore_job(
            self.cfg, bid, self.tool_image, extra_args=["--stage-only", "--operation-id", op],
            node_name=plan.decision.node, name_suffix="stage",
        )  # fmt: skip
        return stage, render_restore_job(self.cfg, bid, self.tool_image, extra_args=["--install-staged", op])

    def _run_job(
        self,
        job: dict[str, Any],
        what: str,
        failed_hint: str,
        timing: str,
        cancel: CancelToken | None = None,
    ) -> str:
        """Create ``job``, wait for it, say its log; VerificationError naming the log tail on Failed.
        ``cancel`` (the staging Job only) stops the wait: the Job is stopped, its folder removed."""
        from redisops.ops.restore_k8s_dance import create_job, job_log, wait_job

        p, t = self.platform, self.platform.target
        name = create_job(p.kube, job, p.say)
        p.say(f"created Job {name}: {command_of(job)}")
        t1 = p.clock()
        sleep = p.sleep if cancel is None else (lambda s: cancel.sleep(s, f"while the {what} Job {name} ran"))
        try:
            state, _ = wait_job(p.kube, t.namespace, name, p.timeout, p.clock, sleep)
        except OperationTimeout:
            self._left_running = what != "staging"  # it may still write into the PVC: Redis stays at 0
            raise
        except KeyboardInterrupt:
            self._left_running = what != "staging"
            where = (
                "Redis kept running"
                if what == "staging"
                else f"it may still be writing into the PVC {t.pvc}, so Redis is left scaled to 0: check "
                f"`kubectl -n {t.namespace} logs job/{name}`, then scale the Deployment back to {t.replicas} "
                f"(`{UNDO_COMMAND}` puts the previous files back once it has finished)"
            )
            raise Interrupted(
                f"interrupted while the {what} Job {t.namespace}/{name} was running; {where}",
                context={"job": name, "namespace": t.namespace, "pvc": t.pvc},
            ) from None
        self.timings[timing] = round(p.clock() - t1, 3)
        self.log = job_log(p.kube, t.namespace, name)
        for line in self.log.splitlines():
            p.say(f"[{name}] {line}")
        p.say(f"Job {name} {'completed' if state == 'Complete' else 'FAILED'}")
        if state == "Failed":
            tail = log_tail(self.log) or "(the Job's pod left no log)"
            raise VerificationError(
                f"the {what} Job {t.namespace}/{name} failed; its log ends with:\n{tail}",
                hint=failed_hint,
                context={"job": name, "namespace": t.namespace, "log_tail": tail},
            )
        return name

    # -- plan --

    def blockers(self, plan: FlowPlan) -> list[RedisOpsError]:
        """The dataset over the config's maxmemory (the Job's engine would refuse it in-cluster)."""
        too_big, _tight = memory_fit(
            plan.expected, self.cfg.config.maxmemory_bytes, self.cfg.config.maxmemory_policy
        )
        return [too_big] if too_big is not None else []

    def warnings(self, plan: FlowPlan) -> list[str]:
        """A dataset close to maxmemory."""
        _too_big, tight = memory_fit(
            plan.expected, self.cfg.config.maxmemory_bytes, self.cfg.config.maxmemory_policy
        )
        return [tight] if tight is not None else []

    def plan_steps(self, plan: FlowPlan) -> list[str]:
        """Where it stages (and why), the scale to 0, the Job, the scale back, verify, record."""
        t = self.platform.target
        stage, job = self.jobs(plan)
        want = counts_of(plan.expected.key_counts or {})
        lines = staging_steps(plan.decision, stage, t.pvc, self.stage_requested)
        lines += [
            f"scale Deployment {t.namespace}/{t.deployment} from {t.replicas} to 0 and wait until its pods "
            "are gone",
            f"create Job {job['metadata']['name']} mounting PVC {t.pvc} at /data, running: {command_of(job)}",
            f"scale Deployment {t.deployment} back to {t.replicas} and wait for the rollout",
            "verify: pod ready, PVC bound, Service endpoints, PING, INFO persistence; key counts "
            + (
                json.dumps({str(k): v[0] for k, v in sorted(want.items())})
                if plan.expected.key_counts is not None
                else "(none recorded)"
            ),
            f"record the restore on Deployment {t.deployment} ({LAST_RESTORE_ANNOTATION})",
        ]
        return lines + [f"warning: {w}" for w in self.warnings(plan)]

    # -- run --

    def stage(self, plan: FlowPlan, reporter: Reporter | None, cancel: CancelToken | None) -> str:
        """The staging Job, while Redis keeps serving; VerificationError (Redis untouched) when it failed."""
        stage, _job = self.jobs(plan)
        assert stage is not None
        t = self.platform.target
        if reporter is not None:
            reporter.phase("downloading", f"staging backup {plan.expected.backup_id} with a Job beside Redis")
        self.platform.say(
            f"staging the backup with Job {stage['metadata']['name']} while Redis keeps serving"
        )
        self._staging = (stage, plan.operation_id)
        try:
            return self._run_job(
                stage, "staging",
                f"Redis was never stopped and the PVC {t.pvc} holds its previous files (the engine removes "
                "its staging folder when it refuses)",
                "stage_job", cancel,
            )  # fmt: skip
        except Interrupted as e:  # stop the Job, then remove its folder; a second Ctrl-C waits for both
            name = str(stage["metadata"]["name"])
            shield = main_shield()
            shield.engage(f"stopping the staging Job {name} and removing its folder")
            try:
                self._stop_staging_job(name)
                self.discard(name)
            finally:
                shield.release()
            if "Redis kept running" not in e.message:
                e.message += "; Redis kept running"
            add_discard_note(e, self.discarded)
            raise

    def _stop_staging_job(self, name: str) -> None:
        """Delete the staging Job and its pods and wait (bounded) until they are gone, so that nothing
        writes into the staging folder any more when the clean-up Job removes it."""
        from redisops.ops.restore_k8s_discard import DISCARD_TIMEOUT

        p, ns = self.platform, self.platform.target.namespace
        p.say(f"stopping the staging Job {name}")
        try:
            p.kube.delete("Job", name, ns)
            start = p.clock()
            while pods := p.kube.pods({"job-name": name}, ns):
                if p.clock() - start >= DISCARD_TIMEOUT:
                    break
                for pod in pods:
                    p.kube.delete("Pod", pod["metadata"]["name"], ns)
                p.sleep(0.2)
        except RedisOpsError as e:  # the clean-up Job then says what is left
            p.say(f"stopping the staging Job {name} failed: {e.message}")

    def discard(self, staged: str) -> None:
        """Remove the staging folder from the PVC with the clean-up Job (Redis keeps serving); the
        outcome is in :attr:`discarded` (a failure names the folder and the command that removes it)."""
        from redisops.ops.restore_k8s_discard import discard_staging

        if self._staging is None or self.discarded is not None:
            return
        stage_job, operation_id = self._staging
        self.discarded = discard_staging(self.platform, stage_job, self.undo_job, operation_id)

    def install(
        self, plan: FlowPlan, staged: str | None, reporter: Reporter | None, cancel: CancelToken | None
    ) -> str:
        """The install Job (or the one restore Job); its name."""
        _stage, job = self.jobs(plan)
        t = self.platform.target
        if reporter is not None:
            reporter.phase("installing", f"the restore Job {job['metadata']['name']} on PVC {t.pvc}")
        return self._run_job(
            job, "restore",
            f"the PVC {t.pvc} is unchanged: the restore engine refuses before it moves any file and puts "
            "the files back when installing fails",
            "job",
        )  # fmt: skip

    def may_restart(self, error: BaseException) -> bool:
        """Not while a Job may still be writing into the PVC (it timed out or was interrupted)."""
        return not self._left_running

    def undo(self) -> str:
        """The undo Job (``restore-data-dir --undo``)."""
        self.mode = "undo"
        return self._run_job(
            self.undo_job, "undo", f"nothing was changed in the PVC {self.platform.target.pvc}", "job"
        )

    def checks(self) -> list[VerifyCheck]:
        """The checks of a deploy (pod ready, PVC bound, Service endpoints, PING, INFO persistence)."""
        p = self.platform
        t0 = p.clock()
        p.say("verifying: pod, PVC, Service endpoints, PING, INFO persistence and key counts")
        checks = verify_deployment(
            p.kube, self.cfg, password=redis_password(self.cfg, self.password),
            settle_timeout=self.settle_timeout, clock=p.clock, sleep=p.sleep,
        )  # fmt: skip
        hint = (
            f"undo again (`{UNDO_COMMAND}`) to re-install"
            if self.mode == "undo"
            else f"the previous files are in the PVC's undo folder: `{UNDO_COMMAND}`"
        )
        checks_or_raise(checks, self.mode, hint)
        self.timings["verify"] = round(p.clock() - t0, 3)
        return checks

    def verify_loaded(self, info: Info) -> list[str]:
        """Persistence was checked with the deploy's checks."""
        return []

    def record(self, plan: FlowPlan, installed: str) -> None:
        """The ``redisops.io/last-restore`` annotation on the Deployment."""
        t = self.platform.target
        when = self.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = {"backup_id": plan.expected.backup_id, "job": installed, "time": when}
        self.platform.kube.patch(
            "Deployment",
            t.deployment,
            {"metadata": {"annotations": {LAST_RESTORE_ANNOTATION: json.dumps(record)}}},
            t.namespace,
            patch_type="merge",
        )

    def undo_point(self, installed: str) -> dict[str, Any]:
        """The PVC's undo folder."""
        return {"undo_dir": "the PVC's .redisops-undo folder", "job": installed}


def flow_over(
    kube: Kube, cfg: DeploymentConfig, password: str | None, settle_timeout: float,
    timeout: float, say: Progress, clock: Clock, sleep: Sleep, access_args: dict[str, Any],
) -> tuple[RestoreFlow, KubePlatform, KubeAccess]:  # fmt: skip
    """The one restore flow over the Deployment of ``cfg``: its platform and its data access."""
    platform = KubePlatform(kube, cfg, password=password, timeout=timeout, say=say, clock=clock, sleep=sleep)
    access = KubeAccess(platform, cfg, password=password, settle_timeout=settle_timeout, **access_args)
    pw = redis_password(cfg, password)
    t = platform.target

    def live_keys() -> int | None:
        pod = platform.ready_pod()
        if pod is None:
            return None
        name = str(pod["metadata"]["name"])
        say(f"counting the keys in {t.namespace}/{name} through a port-forward")
        return loaded_info(kube, cfg, name, pw, settle_timeout).total_keys

    @contextmanager
    def endpoint() -> Iterator[RedisEndpoint]:
        pod = platform.ready_pod()
        if pod is None:
            raise ConflictError(f"no ready Redis pod in {t.namespace} for the safety backup")
        with pod_endpoint(
            kube, cfg, str(pod["metadata"]["name"]), pw, namespace=t.namespace, socket_timeout=30.0
        ) as ep:
            yield ep

    flow = RestoreFlow(
        platform, access, live_keys=live_keys, redis_endpoint=endpoint,
        load_timeout=max(settle_timeout, 60.0), say=say, clock=clock,
        target_name=f"the target {t.namespace}/{t.deployment}",
    )  # fmt: skip
    return flow, platform, access
