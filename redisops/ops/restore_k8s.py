"""Restore a backup into the Redis PVC on Kubernetes, and undo it: the one restore flow
(:class:`redisops.ops.restore_flow.RestoreFlow`, the same as the sandbox's) over
:class:`~redisops.ops.platform.KubePlatform` (scale to 0 / back) and
:class:`~redisops.ops.restore_k8s_access.KubeAccess` (the engine in Jobs that mount the PVC).

The Redis Deployment mounts a volume that only a stopped Redis may have its files changed in, so
:func:`restore_k8s` does, in the flow's order:

1. resolve the backup's manifest; ``dry_run`` returns the plan as text and changes nothing;
2. through a port-forward to the Redis pod: count the keys (``INFO keyspace``); a non-empty target is
   refused (ConflictError) without ``force``; take a safety backup of it unless told not to;
3. where the PVC's access mode allows it and ``stage_beside_redis`` (the default of ``restore.apply``),
   the staging Job (``restore-data-dir --stage-only``; on Redis's node for a ReadWriteOnce PVC) downloads
   and verifies the backup while Redis serves; a ReadWriteOncePod PVC cannot be mounted beside Redis:
   the plan says so and the one restore Job stages after the scale to 0;
   then record the replica count N (at least 1 comes back), scale the Deployment to 0 and wait until no
   pod matches its selector (a timeout scales back and raises OperationTimeout);
4. create the restore Job (:func:`redisops.k8s.render_restore_job`, checked with
   :func:`redisops.k8s.check_manifest` first): it mounts the PVC and runs ``redisops restore-data-dir``
   (the engine: move aside, install what was staged (``--install-staged``) or stage + verify first,
   record) with the backup store's credentials and the Redis security context; wait for ``Complete`` or
   ``Failed``; fetch its pod's log;
5. scale back to N and wait for the rollout, whatever the Job's outcome. A failed Job raises
   VerificationError with the log tail: the engine refuses before it moves any file and puts the files
   back when an install step fails, so the PVC holds the previous data;
6. verify (:func:`redisops.ops.deploy.verify_deployment`: pod ready, PVC bound, Service endpoints,
   PING, INFO persistence) and compare per-db key counts with the backup's through a port-forward
   (``keys - expires`` equal, ``keys`` not larger: keys with a TTL may expire meanwhile);
7. record the Job and backup id on the Deployment (annotation ``redisops.io/last-restore``).

:func:`undo_restore_k8s` runs the same dance with the undo Job (``restore-data-dir --undo``).

A cancel while the staging Job runs (it is deleted) or after it, before the scale to 0, leaves Redis
untouched and runs the clean-up Job (:mod:`redisops.ops.restore_k8s_discard`) that removes exactly that
restore's staging folder; the Interrupted says so, or names the folder and the command that removes it.

Example::

    with Kube.connect(context="prod") as kube:
        res = restore_k8s(kube, cfg, store, "latest", force=True, confirmed=True, progress=print)
        res.job, res.key_counts, res.timings
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redisops.backup import BackupStore
from redisops.config.model import DeploymentConfig
from redisops.errors import ConflictError, RedisOpsError
from redisops.events import Reporter
from redisops.k8s import DEFAULT_TOOL_IMAGE
from redisops.ops.deploy import VerifyCheck
from redisops.ops.restore import expected_from_manifest, resolve_backup
from redisops.ops.restore_flow import FlowPlan
from redisops.ops.restore_k8s_access import command_of, flow_over
from redisops.ops.restore_k8s_dance import (
    Clock,
    Progress,
    Sleep,
)
from redisops.ops.restore_k8s_discard import add_discard_note

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.cancel import CancelToken

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
    prepared: FlowPlan | None = field(default=None, repr=False, compare=False)

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
    reporter: Reporter | None = None,
    cancel: CancelToken | None = None,
    prepared: FlowPlan | None = None,
) -> K8sRestoreResult:
    """Restore backup ``backup_id`` (or ``latest``) into the Redis PVC (see the module docstring).

    ``latest`` skips restores' safety backups unless ``include_safety``; the safety backup this run
    takes is labelled ``safety``, and every error raised after it was taken names it.

    ``timeout`` bounds each wait (pods gone, the Job, the rollout). ``confirmed`` is required unless
    ``dry_run`` (the front end asks, naming the namespace, Deployment and PVC). ``prepared``: the plan
    of a dry run (:attr:`K8sRestoreResult.prepared`), used as it is rather than computed again.

    The plan says whether the backup can be staged beside the running Redis
    (:meth:`~redisops.ops.platform.KubePlatform.staging`: a ReadWriteMany PVC, or ReadWriteOnce with
    the Job pinned to Redis's node; never ReadWriteOncePod). With ``stage_beside_redis`` and where the
    access mode allows it, a staging Job (``restore-data-dir --stage-only``) downloads and verifies the
    backup while Redis serves, and only then is Redis scaled to 0 for the install Job
    (``--install-staged``): Redis is down for the install and the start, not the download. Otherwise
    one Job does both after the scale to 0.

    Raises:
        ConflictError: the target holds keys (or cannot be asked) and ``force`` is not set.
        AbortedError: not ``confirmed``.
        OperationTimeout: pods did not go away (scaled back), the Job did not finish (left at 0).
        VerificationError: a Job failed (PVC unchanged, scaled back; the log tail in the message),
            or the restored server does not hold the backup's key counts (undo: ``restore undo``).
    """
    say = progress or _noop
    start = clock()
    when = now or datetime.now(UTC)
    m = prepared.manifest if prepared is not None and prepared.manifest is not None else None
    m = m or resolve_backup(store, backup_id, include_safety=include_safety)
    access_args = {
        "backup_id": m.id,
        "tool_image": tool_image,
        "now": when,
        "stage_requested": stage_beside_redis,
    }
    flow, platform, access = flow_over(
        kube, cfg, password, settle_timeout, timeout, say, clock, sleep, access_args
    )
    t = platform.target
    unknown = ConflictError(
        f"no ready Redis pod in {t.namespace}: cannot check whether the PVC {t.pvc} holds data",
        hint="pass --force to restore anyway (no safety backup can be taken; the engine still moves "
        "the current files aside)",
        context={"namespace": t.namespace},
    )
    if prepared is not None:
        prepared = dataclasses.replace(prepared, store=store)
    plan = prepared or flow.plan(
        m, expected_from_manifest(m), secrets.token_hex(4), force=force, safety_backup=safety_backup,
        stage_beside=stage_beside_redis, unknown_keys_refusal=unknown, store=store,
    )  # fmt: skip
    _stage, job = access.jobs(plan)
    out = K8sRestoreResult(
        m.id, t.namespace, t.deployment, t.pvc, str(job["metadata"]["name"]), dry_run,
        previous_replicas=t.replicas, target_keys=plan.target_keys, prepared=plan,
    )  # fmt: skip
    if dry_run:
        out.plan, out.blockers = plan.lines(), plan.blockers
        out.timings["total"] = round(clock() - start, 3)
        return out
    if plan.target_keys is None and not plan.errors:
        out.notes.append("no ready pod: no safety backup taken, the target's key count is unknown")
    try:
        res = flow.run(
            plan, confirmed=confirmed,
            what=f"restoring {m.id} into PVC {t.namespace}/{t.pvc} (Deployment {t.deployment})",
            reporter=reporter, cancel=cancel,
            safety_notes=f"safety backup before restoring {m.id} into {t.namespace}/{t.deployment}",
        )  # fmt: skip
    except RedisOpsError as e:  # a cancel (or failed stop) after staging: what the clean-up Job did
        add_discard_note(e, access.discarded)
        raise
    out.safety_backup = res.safety_backup
    out.job_log = access.log
    out.checks = list(res.checks)
    out.key_counts, out.expired_meanwhile = res.key_counts, res.expired_meanwhile
    out.notes += res.notes
    out.timings.update(platform.timings)
    out.timings.update(access.timings)
    out.timings.update(downtime=round(res.timings["downtime"], 3), total=round(clock() - start, 3))
    say(f"restored {m.id}: {sum(k for k, _ in out.key_counts.values())} keys verified")
    return out


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
    """Put back the files the last restore (or undo) moved aside in the PVC: the one flow's undo
    (scale to 0, the undo Job ``redisops restore-data-dir --undo``, scale back, verify Redis answers and
    has loaded).

    Raises:
        AbortedError: not ``confirmed`` (and not ``dry_run``).
        VerificationError: the undo Job failed (nothing to undo, or the undo folder is incomplete: the
            engine then changes nothing); Redis was scaled back.
        OperationTimeout: as for :func:`restore_k8s`.
    """
    from redisops.errors import AbortedError

    say = progress or _noop
    start = clock()
    access_args = {"tool_image": tool_image, "now": now or datetime.now(UTC)}
    flow, platform, access = flow_over(
        kube, cfg, password, settle_timeout, timeout, say, clock, sleep, access_args
    )
    t = platform.target
    job = access.undo_job
    name = str(job["metadata"]["name"])
    out = K8sUndoResult(t.namespace, t.deployment, t.pvc, name, dry_run, previous_replicas=t.replicas)
    out.plan = [
        f"scale Deployment {t.namespace}/{t.deployment} from {t.replicas} to 0 and wait until its pods "
        "are gone",
        f"create Job {name} mounting PVC {t.pvc} at /data, running: {command_of(job)}",
        f"scale Deployment {t.deployment} back to {t.replicas} and wait for the rollout",
        "verify: pod ready, PVC bound, Service endpoints, PING, INFO persistence",
    ]
    if dry_run:
        return out
    if not confirmed:
        raise AbortedError(f"undoing the last restore in PVC {t.namespace}/{t.pvc} needs confirmation")
    res = flow.undo()
    out.job_log = access.log
    out.checks = list(res.checks)
    out.key_counts = res.key_counts
    out.timings.update(platform.timings)
    out.timings.update(access.timings)
    out.timings.update(downtime=round(res.timings["downtime"], 3), total=round(clock() - start, 3))
    return out
