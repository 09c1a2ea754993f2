"""Deploy, verify, history and rollback of the Redis manifests on Kubernetes.

``deploy`` plans (a server-side dry-run apply per object, diffed against the live object:
:mod:`redisops.ops.deploy_diff`), refuses to fight a Helm release over field ownership unless told to
take over, applies with the ``redisops`` field manager, waits for the Redis Deployment's rollout,
verifies (pod ready, PVC bound, Service endpoints, PING and ``INFO persistence`` through a
port-forward: :mod:`redisops.ops.deploy_verify`) and records the revision in the cluster
(:mod:`redisops.ops.deploy_revisions`). A deploy that changes nothing records nothing. ``rollback``
re-applies a recorded revision and records a new one.

The checking half (lint, the diff, the version guard) is :func:`prepare_deploy` /
:func:`prepare_rollback`: a dry run returns it as a result, and a real run given the
:class:`PreparedDeploy` of its own plan (``prepared=``) applies it without computing the diff again
(the catalogue's ``deploy.apply`` plans once: its plan carries it).

Example::

    from redisops.adapters.kube import Kube
    from redisops.k8s import render_manifests
    with Kube.connect(context="prod") as kube:
        result = deploy(kube, cfg, render_manifests(cfg), who="alice", timeout=300)
        print(result.revision, [c.name for c in result.checks if not c.ok])
"""

from __future__ import annotations

import dataclasses
import getpass
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redisops.adapters.interrupt_shield import shielded
from redisops.cancel import CancelToken
from redisops.config.model import DeploymentConfig
from redisops.errors import Interrupted, OperationTimeout, RedisOpsError, VerificationError
from redisops.ops.deploy_diff import (
    FIELD_MANAGER,
    DeployPlan,
    ObjectChange,
    diff_objects,
    helm_release_of,
    plan_deploy,
)
from redisops.ops.deploy_guard import backup_before_upgrade
from redisops.ops.deploy_prepare import (
    DeployResult,
    PreparedDeploy,
    password_for,
    prepare_deploy,
    prepare_rollback,
)
from redisops.ops.deploy_revisions import (
    CHECKSUM_ANNOTATION,
    RELEASE_LABEL,
    REVISION_LABEL,
    Revision,
    history,
    record_revision,
    release_name,
)
from redisops.ops.deploy_verify import VerifyCheck, verify_deployment

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.backup import BackupStore

__all__ = [
    "CHECKSUM_ANNOTATION",
    "FIELD_MANAGER",
    "RELEASE_LABEL",
    "REVISION_LABEL",
    "DeployPlan",
    "DeployResult",
    "ObjectChange",
    "PreparedDeploy",
    "Revision",
    "VerifyCheck",
    "deploy",
    "diff_objects",
    "helm_release_of",
    "history",
    "plan_deploy",
    "release_name",
    "rollback",
    "verify_deployment",
]

Progress = Callable[[str], None]


def _noop(_msg: str) -> None:
    pass


def _default_who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def deploy(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]],
    *,
    dry_run: bool = False,
    take_over: bool = False,
    who: str | None = None,
    now: datetime | None = None,
    timeout: float = 300.0,
    progress: Progress | None = None,
    confirm: Callable[[DeployPlan], None] | None = None,
    verify: bool = True,
    password: str | None = None,
    what: str | None = None,
    record_unchanged: bool = False,
    settle_timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    lint: bool = True,
    allow: Collection[str] = (),
    store: BackupStore | None = None,
    backup: bool = True,
    check_version: bool = True,
    cancel: CancelToken | None = None,
    prepared: PreparedDeploy | None = None,
) -> DeployResult:
    """Lint, plan, check versions, apply, wait for the rollout, verify and record a revision (see the
    module docstring).

    With ``lint`` (the default) error-level lint findings of ``cfg``/``manifests`` raise PlanBlocked
    unless their rule id is in ``allow``; the warnings gone ahead with are in ``result.lint``. With
    ``check_version`` a changed Redis Deployment is checked against the data's RDB version
    (:func:`redisops.ops.deploy_guard.check_versions`): a target that cannot load the data raises
    PlanBlocked; an upgrade of a running server first takes a backup into ``store`` (``backup=False``
    skips it; without a store an upgrade is refused). Dry runs raise the same PlanBlocked errors and
    change nothing. ``confirm(plan)`` is called before anything changes (raise AbortedError to stop).
    A deploy that changes nothing records no revision unless ``record_unchanged``. A timed-out rollout
    or a failed verification is recorded with status ``failed`` and raised (OperationTimeout,
    VerificationError). Objects managed by a Helm release raise ConflictError unless ``take_over``
    (which also forces field ownership conflicts).

    ``prepared`` (from :func:`prepare_deploy` with the same arguments, e.g. the catalogue's plan) is
    applied as it is: lint, the diff and the version check are not computed again, and the
    ``manifests``, ``take_over``, ``what``, ``record_unchanged``, ``lint``, ``allow``, ``backup`` and
    ``check_version`` it was prepared with win.
    """
    say = progress or _noop
    start = clock()
    if prepared is None:
        prepared = prepare_deploy(
            kube, cfg, manifests, take_over=take_over, progress=say, password=password, what=what,
            record_unchanged=record_unchanged, lint=lint, allow=allow, store=store, backup=backup,
            check_version=check_version, dry_run=dry_run,
        )  # fmt: skip
    else:
        say(f"reusing the plan of {len(prepared.manifests)} objects in namespace {prepared.namespace}")
    if dry_run:
        return prepared.result(dry_run=True, elapsed_s=round(clock() - start, 3))
    return _apply(
        kube, cfg, prepared, who=who, now=now, timeout=timeout, say=say, confirm=confirm, verify=verify,
        password=password_for(cfg, password), settle_timeout=settle_timeout, clock=clock, sleep=sleep,
        store=store, cancel=cancel, start=start,
    )  # fmt: skip


def _apply(
    kube: Kube,
    cfg: DeploymentConfig,
    prepared: PreparedDeploy,
    *,
    who: str | None,
    now: datetime | None,
    timeout: float,
    say: Progress,
    confirm: Callable[[DeployPlan], None] | None,
    verify: bool,
    password: str | None,
    settle_timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    store: BackupStore | None,
    cancel: CancelToken | None,
    start: float,
) -> DeployResult:
    """The acting half of :func:`deploy`: back up, apply, wait, verify, record."""
    ns, plan, manifests, versions = prepared.namespace, prepared.plan, prepared.manifests, prepared.versions
    notes = [n.replace(": would take a backup", ": takes a backup") for n in plan.notes]
    plan = dataclasses.replace(plan, notes=notes)
    result = dataclasses.replace(prepared.result(dry_run=False), plan=plan)
    if plan.changed or prepared.record_unchanged:
        if confirm is not None:
            confirm(plan)
        if prepared.take_backup and versions is not None and store is not None:
            manifest = backup_before_upgrade(
                kube, cfg, versions, store, password=password, timeout=timeout, progress=say
            )
            result.backup_id = manifest.id
            say(f"backup {manifest.id} taken")
        if not plan.namespace_exists:
            say(f"creating namespace {ns}")
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        say(f"applying: {plan.summary()}")
        kube.apply(manifests, field_manager=FIELD_MANAGER, force=prepared.take_over)
        for c in plan.changes:
            if c.action == "delete":
                say(f"deleting {c.ref} (no longer rendered)")
                kube.delete(c.kind, c.name, c.namespace)
        result.applied = True
    else:
        say("no changes; checking the running deployment")
    who = who or _default_who()
    when = now or datetime.now(UTC)
    record = result.applied or prepared.record_unchanged

    def _record(status: str) -> None:
        result.revision = record_revision(
            kube, cfg, manifests, who=who, when=when, what=result.what, status=status
        )

    stage = "cancelled"  # what a cancel now leaves: applied, the rollout not awaited
    try:
        for m in manifests:
            if m.get("kind") == "Deployment":
                name = str(m["metadata"]["name"])
                say(f"waiting for the rollout of Deployment {name} (timeout {timeout:g}s)")
                result.rollouts.append(
                    kube.wait_rollout(
                        name, ns, timeout, clock=clock, sleep=sleep, progress=say, cancel=cancel
                    )
                )
        if verify:
            stage = "unverified"  # rolled out, not verified
            if cancel is not None:
                cancel.check("after the rollout, before the verification")
            say("verifying: pod, PVC, Service endpoints, PING and INFO persistence")
            result.checks = verify_deployment(
                kube, cfg, manifests, password=password, settle_timeout=settle_timeout, clock=clock,
                sleep=sleep,
            )  # fmt: skip
    except OperationTimeout:
        if record:
            _record("failed")
        raise
    except (Interrupted, KeyboardInterrupt) as e:
        raise _cancelled(e, stage, _record if record else None, result) from None
    if verify:
        failed = [c for c in result.checks if not c.ok]
        if failed:
            if record:
                _record("failed")
            rev = f" (recorded as failed revision {result.revision})" if result.revision else ""
            raise VerificationError(
                f"deployment verification failed{rev}: " + "; ".join(f"{c.name}: {c.detail}" for c in failed),
                hint="check the pod (kubectl describe/logs); `redisops rollback` restores the last revision",
                context={"failed": [c.name for c in failed]},
            )
    if record:
        _record("deployed")
        say(f"recorded revision {result.revision}")
    result.elapsed_s = round(clock() - start, 3)
    return result


def _cancelled(
    e: Interrupted | KeyboardInterrupt,
    status: str,
    record: Callable[[str], None] | None,
    result: DeployResult,
) -> Interrupted:
    """The Interrupted of a deploy cancelled after it applied: the revision is recorded as ``status``
    (``cancelled``: the rollout was not awaited; ``unverified``: not verified) with what was applied, so
    ``history`` shows it and ``rollback`` (the newest ``deployed`` revision before it) goes back. The
    record is written even when Ctrl-C is pressed again meanwhile."""
    message = e.message if isinstance(e, Interrupted) else f"interrupted ({status} deploy)"
    context: dict[str, Any] = dict(e.context) if isinstance(e, Interrupted) else {}
    hint = "see `redisops history`; `redisops rollback` re-applies the last deployed revision before it"
    if record is None:
        return Interrupted(message, hint=hint, context=context)
    try:
        with shielded("recording the revision of the cancelled deploy"):
            record(status)
    except RedisOpsError as err:
        message += f"; the applied manifests could not be recorded as a revision ({err.message})"
        return Interrupted(message, hint=hint, context=context)
    message += f"; the applied manifests are recorded as revision {result.revision} ({status})"
    context.update(revision=result.revision, status=status)
    return Interrupted(message, hint=hint, context=context)


def rollback(
    kube: Kube,
    cfg: DeploymentConfig,
    to: int | None = None,
    *,
    dry_run: bool = False,
    take_over: bool = False,
    who: str | None = None,
    now: datetime | None = None,
    timeout: float = 300.0,
    progress: Progress | None = None,
    confirm: Callable[[DeployPlan], None] | None = None,
    verify: bool = True,
    password: str | None = None,
    settle_timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    store: BackupStore | None = None,
    backup: bool = True,
    cancel: CancelToken | None = None,
    prepared: PreparedDeploy | None = None,
) -> DeployResult:
    """Re-apply revision ``to`` (default: the newest successful revision before the current one),
    wait, verify, and record a new revision ``rollback to N``.

    The recorded manifests are not linted again (they are what ran); the version check of
    :func:`deploy` applies: a rollback to a Redis that cannot read the data raises PlanBlocked.
    ``prepared`` (from :func:`prepare_rollback`) is applied without planning again."""
    if prepared is None:
        prepared = prepare_rollback(
            kube, cfg, to, take_over=take_over, progress=progress, password=password, store=store,
            backup=backup, dry_run=dry_run,
        )  # fmt: skip
    return deploy(
        kube, cfg, prepared.manifests, dry_run=dry_run, who=who, now=now, timeout=timeout,
        progress=progress, confirm=confirm, verify=verify, password=password,
        settle_timeout=settle_timeout, clock=clock, sleep=sleep, store=store, cancel=cancel,
        prepared=prepared,
    )  # fmt: skip
