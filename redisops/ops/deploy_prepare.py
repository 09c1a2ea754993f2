"""The checking half of a deploy or rollback: lint, the per-object diff and the version guard.

:func:`prepare_deploy` computes what :func:`redisops.ops.deploy.deploy` would do and what it refuses,
changing nothing; :func:`prepare_rollback` does it for a recorded revision. The :class:`PreparedDeploy`
is a dry run's answer and, handed to ``deploy(..., prepared=...)``, what the real run applies without
planning again (the catalogue's ``deploy.apply`` plans once: its plan carries it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redisops.adapters.redis_conn import read_password
from redisops.config.model import DeploymentConfig
from redisops.errors import ConflictError, NotFoundError, PlanBlocked
from redisops.ops.deploy_diff import DeployPlan, plan_deploy
from redisops.ops.deploy_guard import VersionPlan, check_versions, lint_gate
from redisops.ops.deploy_revisions import Revision, history
from redisops.ops.deploy_verify import VerifyCheck

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube, RolloutStatus
    from redisops.backup import BackupStore
    from redisops.lint import Finding

__all__ = ["DeployResult", "PreparedDeploy", "prepare_deploy", "prepare_rollback"]

Progress = Callable[[str], None]


def _noop(_msg: str) -> None:
    pass


@dataclass
class DeployResult:
    """The outcome of ``deploy`` / ``rollback``; ``revision`` is None when nothing was recorded."""

    namespace: str
    plan: DeployPlan
    dry_run: bool
    applied: bool
    revision: int | None = None
    what: str = ""
    rollouts: list[RolloutStatus] = field(default_factory=list)
    checks: list[VerifyCheck] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: lint findings the deploy went ahead with (warnings, and errors waived with ``allow``)
    lint: list[Finding] = field(default_factory=list)
    #: the backup taken before an upgrade
    backup_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when every verification check passed."""
        return all(c.ok for c in self.checks)


@dataclass(frozen=True)
class PreparedDeploy:
    """A deploy checked and planned, nothing changed yet: what :func:`deploy` computes before it acts.

    ``plan`` is the per-object diff (its ``notes`` phrased for a plan), ``findings`` the lint findings
    gone ahead with, ``versions`` the version guard's verdict (None when no Deployment rolls), and
    ``take_backup`` whether an upgrade backs up the running server first. Holds no secret.
    """

    namespace: str
    manifests: list[dict[str, Any]] = field(repr=False)
    plan: DeployPlan
    findings: list[Finding]
    versions: VersionPlan | None
    take_backup: bool
    what: str
    record_unchanged: bool
    take_over: bool

    def result(self, *, dry_run: bool, elapsed_s: float = 0.0) -> DeployResult:
        """A result not applied yet (a dry run's, or the start of a real run's)."""
        return DeployResult(
            self.namespace, self.plan, dry_run, applied=False, what=self.what, lint=self.findings,
            elapsed_s=elapsed_s,
        )  # fmt: skip


def _what(plan: DeployPlan) -> str:
    parts = [f"{c.action} {c.ref}" for c in plan.changes if c.action not in ("unchanged",)]
    return "; ".join(parts) if parts else "no changes"


def password_for(cfg: DeploymentConfig, password: str | None) -> str | None:
    """``password``, else the config's (its env variable or file) when auth is enabled."""
    if password is None and cfg.auth.enabled:
        return read_password(cfg.auth.password_env, cfg.auth.password_file)
    return password


def _versions(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]],
    plan: DeployPlan,
    store: BackupStore | None,
    password: str | None,
) -> VersionPlan | None:
    """The version check, when the plan creates or changes a Deployment (else nothing rolls)."""
    if not any(c.kind == "Deployment" and c.action in ("create", "update") for c in plan.changes):
        return None
    new_pvc = any(c.kind == "PersistentVolumeClaim" and c.action == "create" for c in plan.changes)
    pvc_exists = plan.namespace_exists and not new_pvc and cfg.persistence.enabled
    return check_versions(kube, cfg, manifests, store=store, password=password, pvc_exists=pvc_exists)


def _refuse_owned(plan: DeployPlan, take_over: bool) -> None:
    """ConflictError for objects a Helm release manages or fields another manager owns (not taken over)."""
    helm = plan.helm_managed
    if helm and not take_over:
        releases = sorted({c.helm_release or "" for c in helm})
        raise ConflictError(
            f"{len(helm)} object(s) are managed by the Helm release {', '.join(releases)}: "
            + ", ".join(c.ref for c in helm),
            hint="uninstall the Helm release, or pass --take-over to let redisops own these objects",
            context={"objects": [c.ref for c in helm], "releases": releases},
        )
    conflicts = [c for c in plan.changes if c.action == "conflict"]
    if conflicts and not take_over:
        raise ConflictError(
            "field ownership conflicts: " + "; ".join(f"{c.ref}: {c.diff[0]}" for c in conflicts),
            hint="another field manager owns these fields; pass --take-over to force",
            context={"objects": [c.ref for c in conflicts]},
        )


def prepare_deploy(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]],
    *,
    take_over: bool = False,
    progress: Progress | None = None,
    password: str | None = None,
    what: str | None = None,
    record_unchanged: bool = False,
    lint: bool = True,
    allow: Collection[str] = (),
    store: BackupStore | None = None,
    backup: bool = True,
    check_version: bool = True,
    dry_run: bool = True,
) -> PreparedDeploy:
    """Lint, plan (server-side dry runs) and check versions; changes nothing (see :func:`deploy` for the
    refusals it raises). ``dry_run`` only words the notes (``would take`` / ``takes`` a backup)."""
    say = progress or _noop
    ns = cfg.namespace
    findings: list[Finding] = []
    if lint:
        findings = lint_gate(cfg, manifests, allow)
        for f in findings:
            waived = " (waived with allow)" if f.severity == "error" else ""
            say(f"lint {f.severity}{waived}: {f.rule_id} ({f.path}): going ahead")
    revs = history(kube, cfg) if kube.get("Namespace", ns) is not None else []
    previous = revs[-1].manifests if revs else []
    say(f"planning {len(manifests)} objects in namespace {ns}")
    plan = plan_deploy(kube, manifests, force=take_over, previous=previous, namespace=ns)
    _refuse_owned(plan, take_over)
    password = password_for(cfg, password)
    versions = _versions(kube, cfg, manifests, plan, store, password) if check_version else None
    notes = [
        f"lint {f.severity}{' (waived)' if f.severity == 'error' else ''} {f.rule_id}: {f.message}"
        for f in findings
    ]
    notes += versions.notes if versions else []
    take_backup = versions is not None and versions.backup_pod is not None and backup
    if versions is not None and versions.backup_pod is not None and versions.data is not None:
        upgrade = f"upgrade of Redis {versions.data.redis_version} to {versions.target_version}"
        if not backup:
            notes.append(f"{upgrade} without a backup first (backup skipped on request)")
        elif store is None:
            raise PlanBlocked(
                f"the {upgrade} takes a backup first, but no backup store was given",
                hint="configure the backup store in the config, or skip the backup with --no-backup",
            )
        else:
            verb = "would take" if dry_run else "takes"
            notes.append(f"{upgrade}: {verb} a backup of pod {versions.backup_pod} first")
    plan = dataclasses.replace(plan, notes=notes)
    return PreparedDeploy(
        ns,
        [dict(m) for m in manifests],
        plan,
        findings,
        versions,
        take_backup,
        what or _what(plan),
        record_unchanged,
        take_over,
    )


def _rollback_target(revs: list[Revision], cfg: DeploymentConfig, to: int | None) -> Revision:
    if not revs:
        raise NotFoundError(
            f"no recorded revisions of {cfg.service_name} in namespace {cfg.namespace}",
            hint="deploy first with: redisops deploy",
        )
    if to is None:
        current = revs[-1].number
        candidates = [r for r in revs if r.number < current and r.status == "deployed"]
        if not candidates:
            raise NotFoundError(
                f"no successful revision before revision {current} to roll back to",
                hint="pick one with --to (see redisops history)",
            )
        return candidates[-1]
    found = [r for r in revs if r.number == to]
    if not found:
        known = ", ".join(str(r.number) for r in revs)
        raise NotFoundError(f"revision {to} is not recorded", hint=f"recorded revisions: {known}")
    return found[0]


def prepare_rollback(
    kube: Kube,
    cfg: DeploymentConfig,
    to: int | None = None,
    *,
    take_over: bool = False,
    progress: Progress | None = None,
    password: str | None = None,
    store: BackupStore | None = None,
    backup: bool = True,
    dry_run: bool = True,
) -> PreparedDeploy:
    """The revision ``to`` (default: the newest successful one before the current) prepared for
    re-applying, as :func:`prepare_deploy` does; NotFoundError when there is none. Changes nothing."""
    target = _rollback_target(history(kube, cfg), cfg, to)
    if not target.manifests:
        raise NotFoundError(f"revision {target.number} holds no manifests")
    return prepare_deploy(
        kube, cfg, target.manifests, take_over=take_over, progress=progress, password=password,
        what=f"rollback to {target.number}", record_unchanged=True, lint=False, store=store,
        backup=backup, dry_run=dry_run,
    )  # fmt: skip
