"""Restore a backup into the Redis PVC on Kubernetes, and undo it, with the same engine as locally.

The Redis Deployment mounts an RWO volume that only a stopped Redis may have its files changed in, so
:func:`restore_k8s` does the dance:

1. resolve the backup's manifest; ``dry_run`` returns the plan as text and changes nothing;
2. through a port-forward to the Redis pod: count the keys (``INFO keyspace``); a non-empty target is
   refused (ConflictError) without ``force``; take a safety backup of it unless told not to;
3. record the replica count N (at least 1 comes back), scale the Deployment to 0 and wait until no pod
   matches its selector (a timeout scales back and raises OperationTimeout);
4. create the restore Job (:func:`redisops.k8s.render_restore_job`, checked with
   :func:`redisops.k8s.check_manifest` first): it mounts the PVC and runs ``redisops restore-data-dir``
   (the engine: stage + verify, move aside, install, record) with the backup store's credentials and
   the Redis security context; wait for ``Complete`` or ``Failed``; fetch its pod's log;
5. scale back to N and wait for the rollout, whatever the Job's outcome. A failed Job raises
   VerificationError with the log tail: the engine refuses before it moves any file and puts the files
   back when an install step fails, so the PVC holds the previous data;
6. verify (:func:`redisops.ops.deploy.verify_deployment`: pod ready, PVC bound, Service endpoints,
   PING, INFO persistence) and compare per-db key counts with the backup's through a port-forward
   (``keys - expires`` equal, ``keys`` not larger: keys with a TTL may expire meanwhile);
7. record the Job and backup id on the Deployment (annotation ``redisops.io/last-restore``).

:func:`undo_restore_k8s` runs the same dance with the undo Job (``restore-data-dir --undo``).

Example::

    with Kube.connect(context="prod") as kube:
        res = restore_k8s(kube, cfg, store, "latest", force=True, confirmed=True, progress=print)
        res.job, res.key_counts, res.timings
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redisops.backup import BackupStore, Manifest
from redisops.config.model import DeploymentConfig
from redisops.errors import (
    AbortedError,
    ConflictError,
    Interrupted,
    RedisOpsError,
    VerificationError,
)
from redisops.k8s import DEFAULT_TOOL_IMAGE, render_restore_job
from redisops.k8s.manifests import LAST_RESTORE_ANNOTATION, render_undo_job
from redisops.ops.backup import create_rdb_backup
from redisops.ops.deploy import VerifyCheck, verify_deployment
from redisops.ops.platform import KubePlatform
from redisops.ops.pod_redis import pod_endpoint
from redisops.ops.restore import expected_from_manifest, name_safety_backup, resolve_backup
from redisops.ops.restore_k8s_dance import (
    Clock,
    Dance,
    K8sTarget,
    Progress,
    Sleep,
    checks_or_raise,
    find_target,
    keyspace_counts,
    loaded_info,
    log_tail,
    ready_pod,
    redis_password,
    staging_steps,
)
from redisops.restore import memory_fit
from redisops.restore.keycounts import compare_key_counts, counts_of

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube

__all__ = [
    "K8sRestoreResult",
    "K8sUndoResult",
    "restore_k8s",
    "undo_restore_k8s",
]


def _noop(_msg: str) -> None:
    pass


@dataclass
class K8sRestoreResult:
    """The outcome of :func:`restore_k8s` (``dry_run``: only ``plan`` and the names are filled in).

    Attributes:
        plan: the steps, as text.
        previous_replicas: the replica count scaled back to (at least 1).
        target_keys: keys the target held before (None when no pod was ready to ask).
        safety_backup: id of the backup taken of the target first, None when none was taken.
        job_log: the tail of the restore Job's log.
        key_counts: db -> (keys, expires) on the restored server.
        expired_meanwhile: keys with a TTL in the backup that did not come back (expired).
        checks: the post-restore verification (pod, PVC, endpoints, PING, persistence).
        timings: seconds per phase (``scale_down``, ``job``, ``scale_up``, ``verify``, ``total``) and
            ``downtime`` (from the scale to 0 until the rollout is back).
    """

    backup_id: str
    namespace: str
    deployment: str
    pvc: str
    job: str
    dry_run: bool
    plan: list[str] = field(default_factory=list)
    previous_replicas: int = 1
    target_keys: int | None = None
    safety_backup: str | None = None
    job_log: str = ""
    key_counts: dict[int, tuple[int, int]] = field(default_factory=dict)
    expired_meanwhile: int = 0
    checks: list[VerifyCheck] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """True when the plan (dry run) found what the real run would refuse."""
        return bool(self.blockers)

    def summary(self) -> list[str]:
        """What the run did, as a few human lines (the plan for a dry run)."""
        if self.dry_run:
            return list(self.plan)
        counts = ", ".join(f"db{db} {k}" for db, (k, _x) in sorted(self.key_counts.items())) or "no keys"
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        lines = [
            f"restored backup {self.backup_id} into PVC {self.namespace}/{self.pvc} with Job {self.job}",
            f"keys loaded: {counts}",
            f"timings: {timings}",
        ]
        lines += self.notes
        if self.safety_backup:
            lines.append(
                f"safety backup of the previous data: {self.safety_backup} "
                f"(restore it with: redisops restore {self.safety_backup} --target k8s --force)"
            )
        lines.append(
            "the previous files are in the PVC's .redisops-undo folder; undo with: "
            "redisops restore undo --target k8s"
        )
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the plan and blockers for a dry run; key counts as {"keys", "expires"})."""
        doc: dict[str, Any] = {
            "backup_id": self.backup_id,
            "dry_run": self.dry_run,
            "namespace": self.namespace,
            "deployment": self.deployment,
            "pvc": self.pvc,
            "job": self.job,
            "target_keys": self.target_keys,
            "safety_backup": self.safety_backup,
        }
        if self.dry_run:
            doc.update(plan=self.plan, blocked=self.blocked, blockers=self.blockers)
            return doc
        doc.update(
            previous_replicas=self.previous_replicas,
            key_counts={str(db): {"keys": k, "expires": x} for db, (k, x) in sorted(self.key_counts.items())},
            expired_meanwhile=self.expired_meanwhile,
            checks=[{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            timings=self.timings,
            notes=self.notes,
            job_log=self.job_log,
            undo_command="redisops restore undo --target k8s",
        )
        return doc


@dataclass
class K8sUndoResult:
    """The outcome of :func:`undo_restore_k8s`."""

    namespace: str
    deployment: str
    pvc: str
    job: str
    dry_run: bool
    plan: list[str] = field(default_factory=list)
    previous_replicas: int = 1
    job_log: str = ""
    key_counts: dict[int, tuple[int, int]] = field(default_factory=dict)
    checks: list[VerifyCheck] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """What the undo did, as a few human lines (the plan for a dry run)."""
        if self.dry_run:
            return list(self.plan)
        counts = ", ".join(f"db{db} {k}" for db, (k, _x) in sorted(self.key_counts.items())) or "no keys"
        return [
            f"Job {self.job} put the previous files back in PVC {self.namespace}/{self.pvc}",
            f"keys loaded: {counts}",
            "the replaced files are in the PVC's .redisops-undo folder; to go back to them: "
            "redisops restore undo --target k8s",
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        doc: dict[str, Any] = {
            "dry_run": self.dry_run,
            "namespace": self.namespace,
            "deployment": self.deployment,
            "pvc": self.pvc,
            "job": self.job,
        }
        if self.dry_run:
            doc.update(plan=self.plan, blocked=False, blockers=[])
            return doc
        doc.update(
            previous_replicas=self.previous_replicas,
            key_counts={str(db): {"keys": k, "expires": x} for db, (k, x) in sorted(self.key_counts.items())},
            checks=[{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            timings=self.timings,
            job_log=self.job_log,
        )
        return doc


# --- restore ---------------------------------------------------------------------------------------


def restore_k8s(
    kube: Kube,
    cfg: DeploymentConfig,
    store: BackupStore,
    backup_id: str = "latest",
    *,
    tool_image: str = DEFAULT_TOOL_IMAGE,
    force: bool = False,
    safety_backup: bool = True,
    confirmed: bool = False,
    dry_run: bool = False,
    timeout: float = 600.0,
    now: datetime | None = None,
    progress: Progress | None = None,
    password: str | None = None,
    settle_timeout: float = 30.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    include_safety: bool = False,
    stage_beside_redis: bool = False,
) -> K8sRestoreResult:
    """Restore backup ``backup_id`` (or ``latest``) into the Redis PVC (see the module docstring).

    ``latest`` skips restores' safety backups unless ``include_safety``; the safety backup this run
    takes is labelled ``safety``, and every error raised after it was taken names it.

    ``timeout`` bounds each wait (pods gone, the Job, the rollout). ``confirmed`` is required unless
    ``dry_run`` (the front end asks, naming the namespace, Deployment and PVC).

    The plan says whether the backup can be staged beside the running Redis
    (:meth:`~redisops.ops.platform.KubePlatform.staging`: a ReadWriteMany PVC, or ReadWriteOnce with
    the Job pinned to Redis's node; never ReadWriteOncePod). With ``stage_beside_redis`` and where the
    access mode allows it, a staging Job (``restore-data-dir --stage-only``) downloads and verifies the
    backup while Redis serves, and only then is Redis scaled to 0 for the install Job
    (``--install-staged``): Redis is down for the install and the start, not the download. Without it
    (the default, until the tool image's ``restore-data-dir`` has those flags) one Job does both after
    the scale to 0.

    Raises:
        ConflictError: the target holds keys (or cannot be asked) and ``force`` is not set.
        AbortedError: not ``confirmed``.
        OperationTimeout: pods did not go away (scaled back), the Job did not finish (left at 0).
        VerificationError: the Job failed (PVC unchanged, scaled back; the log tail in the message),
            or the restored server does not hold the backup's key counts (undo: ``restore undo``).
    """
    say = progress or _noop
    start = clock()
    when = now or datetime.now(UTC)
    m = resolve_backup(store, backup_id, include_safety=include_safety)
    t = find_target(kube, cfg)
    back_to = max(1, t.replicas)
    t = K8sTarget(t.namespace, t.deployment, t.pvc, t.selector, back_to)
    job = render_restore_job(cfg, m.id, tool_image)
    job_name = str(job["metadata"]["name"])
    want = counts_of(m.key_counts or {})
    out = K8sRestoreResult(
        m.id, t.namespace, t.deployment, t.pvc, job_name, dry_run, previous_replicas=back_to
    )
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    out.plan = [
        f"backup {m.id} ({m.kind}, {m.size} bytes, taken {m.created_at.isoformat()})",
        f"scale Deployment {t.namespace}/{t.deployment} from {back_to} to 0 and wait until its pods are gone",
        f"create Job {job_name} mounting PVC {t.pvc} at /data, running: {command}",
        f"scale Deployment {t.deployment} back to {back_to} and wait for the rollout",
        "verify: pod ready, PVC bound, Service endpoints, PING, INFO persistence; key counts "
        + (
            json.dumps({str(k): v[0] for k, v in sorted(want.items())})
            if m.key_counts is not None
            else "(none recorded)"
        ),
        f"record the restore on Deployment {t.deployment} ({LAST_RESTORE_ANNOTATION})",
    ]
    decision = KubePlatform(kube, cfg).staging()
    stage_job: dict[str, Any] | None = None
    if stage_beside_redis and decision.beside_running:
        op = secrets.token_hex(4)
        stage_job = render_restore_job(
            cfg, m.id, tool_image, extra_args=["--stage-only", "--operation-id", op],
            node_name=decision.node, name_suffix="stage",
        )  # fmt: skip
        job = render_restore_job(cfg, m.id, tool_image, extra_args=["--install-staged", op])
        out.plan[2] = f"create Job {job_name} mounting PVC {t.pvc} at /data, running: " + " ".join(
            job["spec"]["template"]["spec"]["containers"][0]["command"]
        )
    out.plan[1:1] = staging_steps(decision, stage_job, t.pvc, stage_beside_redis)
    # refuse before scaling anything down: the Job's engine would refuse the same plan in-cluster
    too_big, tight = memory_fit(
        expected_from_manifest(m), cfg.config.maxmemory_bytes, cfg.config.maxmemory_policy
    )
    if tight is not None:
        out.plan.append(f"warning: {tight}")
    if too_big is not None:
        if not dry_run:
            raise too_big
        out.blockers.append(too_big.message)
    pw = redis_password(cfg, password)
    pod = ready_pod(kube, t)
    if pod is not None:
        say(f"counting the keys in {t.namespace}/{pod} through a port-forward")
        out.target_keys = loaded_info(kube, cfg, pod, pw, settle_timeout).total_keys
    refusal: ConflictError | None = None
    if out.target_keys is None and not force:
        refusal = ConflictError(
            f"no ready Redis pod in {t.namespace}: cannot check whether the PVC {t.pvc} holds data",
            hint="pass --force to restore anyway (no safety backup can be taken; the engine still moves "
            "the current files aside)",
            context={"namespace": t.namespace},
        )
    if out.target_keys and not force:
        refusal = ConflictError(
            f"the target {t.namespace}/{t.deployment} holds {out.target_keys} keys; a restore replaces them",
            hint="pass --force to replace them (a safety backup is taken first unless --no-safety-backup)",
            context={"keys": out.target_keys},
        )
    if dry_run:
        if out.target_keys and force and safety_backup:
            out.plan.insert(1, f"take a safety backup of the target's {out.target_keys} keys")
        if refusal is not None:
            out.blockers.append(refusal.message)
        out.plan += [f"BLOCKED: {b}" for b in out.blockers]
        out.timings["total"] = round(clock() - start, 3)
        return out
    if refusal is not None:
        raise refusal
    if not confirmed:
        raise AbortedError(
            f"restoring {m.id} into PVC {t.namespace}/{t.pvc} (Deployment {t.deployment}) needs confirmation"
        )
    if safety_backup and out.target_keys and pod is not None:
        say(f"taking a safety backup of the {out.target_keys} keys through a port-forward")
        with pod_endpoint(kube, cfg, pod, pw, namespace=t.namespace, socket_timeout=30.0) as ep:
            safety = create_rdb_backup(
                ep,
                store,
                notes=f"safety backup before restoring {m.id} into {t.namespace}/{t.deployment}",
                prefer_replica=False,
                purpose="safety",
            )
        out.safety_backup = safety.id
        say(f"safety backup {safety.id}")
    elif out.target_keys is None:
        out.notes.append("no ready pod: no safety backup taken, the target's key count is unknown")
    try:
        if stage_job is not None:
            _run_stage_job(kube, cfg, stage_job, t, out, timeout, say, clock, sleep)
        try:
            _run_restore(
                kube, cfg, t, job, m, out, want, pw, when, timeout, settle_timeout, say, clock, sleep
            )
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted after the restore Job {t.namespace}/{job_name} completed: backup {m.id} is "
                f"in the PVC {t.pvc} but was not verified; undo with: redisops restore undo --target k8s",
                context={"job": job_name, "namespace": t.namespace},
            ) from None
    except RedisOpsError as e:
        if out.safety_backup:
            name_safety_backup(e, out.safety_backup, "redisops restore --target k8s")
        raise
    out.timings["total"] = round(clock() - start, 3)
    say(f"restored {m.id}: {sum(k for k, _ in out.key_counts.values())} keys verified")
    return out


def _run_restore(
    kube: Kube,
    cfg: DeploymentConfig,
    t: K8sTarget,
    job: dict[str, Any],
    m: Manifest,
    out: K8sRestoreResult,
    want: dict[int, tuple[int, int]],
    pw: str | None,
    when: datetime,
    timeout: float,
    settle_timeout: float,
    say: Progress,
    clock: Clock,
    sleep: Sleep,
) -> None:
    """The dance after the checks and the safety backup: Job, scale back, verify, record."""
    back_to = t.replicas
    job_name = out.job
    dance = Dance(kube, cfg, t, timeout, say, clock, sleep)
    hint = (
        f"the PVC {t.pvc} is unchanged: the restore engine refuses before it moves any file and puts "
        f"the files back when installing fails; Redis was scaled back to {back_to}"
    )
    dance.run(job, "restore", hint)
    out.job_log = dance.log
    t2 = clock()
    say("verifying: pod, PVC, Service endpoints, PING, INFO persistence and key counts")
    out.checks = verify_deployment(
        kube, cfg, password=pw, settle_timeout=settle_timeout, clock=clock, sleep=sleep
    )
    undo_hint = "the previous files are in the PVC's undo folder: `redisops restore undo --target k8s`"
    checks_or_raise(out.checks, "restore", undo_hint)
    pod = ready_pod(kube, t)
    if pod is None:
        raise VerificationError("no ready Redis pod after the restore", hint=undo_hint)
    out.key_counts = keyspace_counts(loaded_info(kube, cfg, pod, pw, max(settle_timeout, 60.0)))
    if m.key_counts is None:
        out.notes.append("the backup recorded no key counts: only loading and persistence were checked")
    else:
        problems, out.expired_meanwhile = compare_key_counts(want, out.key_counts)
        if problems:
            raise VerificationError(
                "the restored server does not hold the backup's dataset: " + "; ".join(problems),
                hint=undo_hint,
                context={"problems": problems, "job": job_name},
            )
        if out.expired_meanwhile:
            out.notes.append(
                f"{out.expired_meanwhile} keys with a TTL expired between the backup and the load"
            )
    out.timings["verify"] = round(clock() - t2, 3)
    record = {"backup_id": m.id, "job": job_name, "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    kube.patch(
        "Deployment",
        t.deployment,
        {"metadata": {"annotations": {LAST_RESTORE_ANNOTATION: json.dumps(record)}}},
        t.namespace,
        patch_type="merge",
    )
    out.timings.update(dance.timings)


def _run_stage_job(
    kube: Kube,
    cfg: DeploymentConfig,
    job: dict[str, Any],
    t: K8sTarget,
    out: K8sRestoreResult,
    timeout: float,
    say: Progress,
    clock: Clock,
    sleep: Sleep,
) -> None:
    """The staging Job, while Redis keeps serving; VerificationError (Redis untouched) when it failed."""
    platform = KubePlatform(kube, cfg, timeout=timeout, say=say, clock=clock, sleep=sleep)
    name = str(job["metadata"]["name"])
    say(f"staging the backup with Job {name} while Redis keeps serving")
    state, log = platform.run_job(job, "stage")
    out.timings.update(platform.timings)
    out.job_log = log
    if state == "Failed":
        tail = log_tail(log) or "(the Job's pod left no log)"
        raise VerificationError(
            f"the staging Job {t.namespace}/{name} failed; its log ends with:\n{tail}",
            hint=f"Redis was never stopped and the PVC {t.pvc} holds its previous files (the engine removes "
            "its staging folder when it refuses)",
            context={"job": name, "namespace": t.namespace, "log_tail": tail},
        )


# --- undo ------------------------------------------------------------------------------------------


def undo_restore_k8s(
    kube: Kube,
    cfg: DeploymentConfig,
    *,
    tool_image: str = DEFAULT_TOOL_IMAGE,
    confirmed: bool = False,
    dry_run: bool = False,
    timeout: float = 600.0,
    now: datetime | None = None,
    progress: Progress | None = None,
    password: str | None = None,
    settle_timeout: float = 30.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> K8sUndoResult:
    """Put back the files the last restore (or undo) moved aside in the PVC: scale to 0, run the undo
    Job (``redisops restore-data-dir --undo``), scale back, verify Redis answers and has loaded.

    Raises:
        AbortedError: not ``confirmed`` (and not ``dry_run``).
        VerificationError: the undo Job failed (nothing to undo, or the undo folder is incomplete: the
            engine then changes nothing); Redis was scaled back.
        OperationTimeout: as for :func:`restore_k8s`.
    """
    say = progress or _noop
    start = clock()
    when = now or datetime.now(UTC)
    t = find_target(kube, cfg)
    back_to = max(1, t.replicas)
    t = K8sTarget(t.namespace, t.deployment, t.pvc, t.selector, back_to)
    job = render_undo_job(cfg, tool_image, suffix=when.astimezone(UTC).strftime("%Y%m%dt%H%M%S"))
    name = str(job["metadata"]["name"])
    out = K8sUndoResult(t.namespace, t.deployment, t.pvc, name, dry_run, previous_replicas=back_to)
    command = " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])
    out.plan = [
        f"scale Deployment {t.namespace}/{t.deployment} from {back_to} to 0 and wait until its pods are gone",
        f"create Job {name} mounting PVC {t.pvc} at /data, running: {command}",
        f"scale Deployment {t.deployment} back to {back_to} and wait for the rollout",
        "verify: pod ready, PVC bound, Service endpoints, PING, INFO persistence",
    ]
    if dry_run:
        return out
    if not confirmed:
        raise AbortedError(f"undoing the last restore in PVC {t.namespace}/{t.pvc} needs confirmation")
    pw = redis_password(cfg, password)
    dance = Dance(kube, cfg, t, timeout, say, clock, sleep)
    dance.run(job, "undo", f"nothing was changed in the PVC {t.pvc}; Redis was scaled back to {back_to}")
    out.job_log = dance.log
    t2 = clock()
    out.checks = verify_deployment(
        kube, cfg, password=pw, settle_timeout=settle_timeout, clock=clock, sleep=sleep
    )
    checks_or_raise(out.checks, "undo", "undo again (`redisops restore undo --target k8s`) to re-install")
    pod = ready_pod(kube, t)
    if pod is not None:
        out.key_counts = keyspace_counts(loaded_info(kube, cfg, pod, pw, max(settle_timeout, 60.0)))
    out.timings.update(dance.timings)
    out.timings["verify"] = round(clock() - t2, 3)
    out.timings["total"] = round(clock() - start, 3)
    return out
