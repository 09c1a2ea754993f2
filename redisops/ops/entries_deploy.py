"""Catalogue entries of Redis on Kubernetes: deploy, rollback, restart, history and client checks (the
pure ``manifests.render``, ``lint.run`` and ``lint.rules`` live in :mod:`redisops.ops.entries_lint`,
registered from here; their names are re-exported).

Each acts on the target: its config (``target.config()``, moved to the target's namespace), its cluster
(``target.kube()``) and, for the backup an upgrade takes first, its backup store (never the sandbox's
S3: a cluster's backups do not go to a laptop). Plans are server-side dry runs: a deploy's plan is the
diff against the live objects, and what the real run would refuse (a lint error not allowed, an image
whose Redis cannot read the data, objects a Helm release owns) is the plan's blockers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from redisops.errors import ConflictError, Interrupted, NotFoundError, PlanBlocked
from redisops.events import jsonable
from redisops.ops import entries_lint
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation, Plan
from redisops.ops.entries_lint import (
    LintParams,
    LintReport,
    LintRules,
    LintRulesParams,
    ManifestsParams,
    RenderedManifests,
)
from redisops.ops.entries_util import log_progress

if TYPE_CHECKING:
    from collections.abc import Callable

    from redisops.ops.deploy import DeployResult, PreparedDeploy, Revision
    from redisops.ops.services import ClientCheck, ServiceRestart

__all__ = [
    "ClientsReport",
    "DeployHistory",
    "DeployParams",
    "HistoryParams",
    "LintParams",
    "LintReport",
    "LintRules",
    "LintRulesParams",
    "ManifestsParams",
    "RenderedManifests",
    "RestartParams",
    "RestartReport",
    "RollbackParams",
    "VerifyClientsParams",
    "register",
]

_TIMEOUT_DOC = "seconds to wait for each rollout"


def _known_rules(values: list[str]) -> list[str]:
    from redisops.lint.rules import RULES

    known = {r.id for r in RULES}
    unknown = sorted({v for v in values if v not in known})
    if unknown:
        raise ValueError(f"unknown lint rule(s) {', '.join(unknown)}; lint.run (redisops lint) lists them")
    return values


class DeployParams(BaseModel):
    """Parameters of ``deploy.apply``."""

    model_config = ConfigDict(extra="forbid")

    allow: list[str] = Field(
        default_factory=list,
        description="error-level lint rules to go ahead despite (rule ids, as `redisops lint` shows them)",
    )
    take_over: bool = Field(False, description="take over objects a Helm release (or another manager) owns")
    no_backup: bool = Field(False, description="do not back up the running Redis before upgrading it")
    timeout: float = Field(300.0, ge=1, le=86400, description=_TIMEOUT_DOC)

    @field_validator("allow")
    @classmethod
    def _allow(cls, value: list[str]) -> list[str]:
        return _known_rules(value)


class RollbackParams(BaseModel):
    """Parameters of ``deploy.rollback``."""

    model_config = ConfigDict(extra="forbid")

    to: int | None = Field(
        None, ge=1, description="the revision to roll back to [default: the last successful one before]"
    )
    take_over: bool = Field(False, description="take over objects a Helm release (or another manager) owns")
    no_backup: bool = Field(False, description="do not back up the running Redis before changing its image")
    timeout: float = Field(300.0, ge=1, le=86400, description=_TIMEOUT_DOC)


class RestartParams(BaseModel):
    """Parameters of ``deploy.restart``."""

    model_config = ConfigDict(extra="forbid")

    deployments: list[str] = Field(
        default_factory=list, description="Deployments to restart [default: the config's client services]"
    )
    timeout: float = Field(300.0, ge=1, le=86400, description=_TIMEOUT_DOC)


class HistoryParams(BaseModel):
    """``deploy.history`` takes no parameters."""

    model_config = ConfigDict(extra="forbid")


class VerifyClientsParams(BaseModel):
    """Parameters of ``deploy.verify_clients``."""

    model_config = ConfigDict(extra="forbid")

    deployments: list[str] = Field(
        default_factory=list, description="client Deployments [default: the config's client services]"
    )
    tail: int = Field(200, ge=1, le=100000, description="log lines to scan per pod")


# --- results --------------------------------------------------------------------------------------------


@dataclass
class DeployHistory:
    """The recorded revisions of the deployment, oldest first."""

    namespace: str
    service: str
    revisions: list[Revision] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON: each revision without its manifests (``objects`` counts them)."""
        revs = []
        for r in self.revisions:
            doc = {f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.name != "manifests"}
            revs.append(doc | {"objects": len(r.manifests)})
        return {"namespace": self.namespace, "service": self.service, "revisions": revs}


@dataclass
class RestartReport:
    """The outcome of ``deploy.restart``: one entry per Deployment; ``ok`` when all rolled out."""

    namespace: str
    services: list[ServiceRestart] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every Deployment rolled out."""
        return all(s.ok for s in self.services)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"namespace": self.namespace, "ok": self.ok, "services": jsonable(self.services)}


@dataclass
class ClientsReport:
    """The outcome of ``deploy.verify_clients``; ``ok`` when every client reaches Redis cleanly."""

    namespace: str
    target: str
    clients: list[ClientCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every client reaches Redis and its logs show no Redis errors."""
        return all(c.ok for c in self.clients)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        clients = [jsonable(c) | {"ok": c.ok} for c in self.clients]
        return {"namespace": self.namespace, "target": self.target, "ok": self.ok, "clients": clients}


# --- deploy and rollback ------------------------------------------------------------------------------


def _prepared(ctx: OpContext) -> PreparedDeploy | None:
    """The dry run the catalogue's plan of this very run computed (``ctx.plan.state``), if any."""
    from redisops.ops.deploy_prepare import PreparedDeploy

    state = ctx.plan.state if ctx.plan is not None else None
    return state if isinstance(state, PreparedDeploy) else None


def _prepare_deploy(ctx: OpContext, p: DeployParams) -> PreparedDeploy:
    from redisops.k8s import render_manifests
    from redisops.ops.deploy_prepare import prepare_deploy

    target = ctx.target
    ctx.cancel.check("before the deploy started")
    cfg = target.config()
    return prepare_deploy(
        target.kube(),
        cfg,
        render_manifests(cfg),
        take_over=p.take_over,
        progress=log_progress(ctx.reporter),
        allow=p.allow,
        store=target.store(use_sandbox=False),
        backup=not p.no_backup,
    )


def _prepare_rollback(ctx: OpContext, p: RollbackParams) -> PreparedDeploy:
    from redisops.ops.deploy_prepare import prepare_rollback

    target = ctx.target
    ctx.cancel.check("before the rollback started")
    return prepare_rollback(
        target.kube(),
        target.config(),
        p.to,
        take_over=p.take_over,
        progress=log_progress(ctx.reporter),
        store=target.store(use_sandbox=False),
        backup=not p.no_backup,
    )


def _as_plan(op: str, compute: Callable[[], PreparedDeploy]) -> Plan:
    """The dry run as a plan (``state``: the dry run, for the run to apply as it is); a refusal of the
    dry run (lint, versions, Helm, nothing to roll back to) is the plan's blocker."""
    try:
        prepared = compute()
    except (PlanBlocked, ConflictError, NotFoundError) as e:
        if isinstance(e, NotFoundError) and op != "deploy.rollback":
            raise
        return Plan(op, blockers=(e.message,), details={"error": e.to_dict()})
    plan = prepared.plan
    steps: list[str] = []
    if not plan.namespace_exists:
        steps.append(f"create Namespace/{plan.namespace}")
    steps += [f"{c.action} {c.ref}" for c in plan.changes if c.action != "unchanged"]
    if plan.changed or op == "deploy.rollback":
        steps.append(
            f"apply ({plan.summary()}), wait for the rollout, verify, record a revision: {prepared.what}"
        )
    else:
        steps.append("nothing to apply; check the running deployment (no revision recorded)")
    details = {
        "namespace": prepared.namespace,
        "summary": plan.summary(),
        "changed": plan.changed,
        "what": prepared.what,
        "changes": jsonable(plan.changes),
        "lint": [f.to_dict() for f in prepared.findings],
    }
    return Plan(op, steps=tuple(steps), warnings=tuple(plan.notes), details=details, state=prepared)


def run_deploy(ctx: OpContext, p: DeployParams) -> DeployResult:
    """``deploy.apply``: lint, apply, wait for the rollout, verify, record a revision (applying the
    dry run of its plan, not computing it again)."""
    from redisops.ops.deploy import deploy

    prepared = _prepared(ctx) or _prepare_deploy(ctx, p)
    ctx.cancel.check("before the deploy changed anything")
    target = ctx.target
    return deploy(
        target.kube(),
        target.config(),
        prepared.manifests,
        timeout=p.timeout,
        progress=log_progress(ctx.reporter),
        store=target.store(use_sandbox=False),
        cancel=ctx.cancel,
        prepared=prepared,
    )


def plan_deploy_op(ctx: OpContext, p: DeployParams) -> Plan:
    """The server-side dry-run diff of ``deploy.apply``; changes nothing."""
    return _as_plan("deploy.apply", lambda: _prepare_deploy(ctx, p))


def run_rollback(ctx: OpContext, p: RollbackParams) -> DeployResult:
    """``deploy.rollback``: re-apply a recorded revision, wait, verify, record ``rollback to N``."""
    from redisops.ops.deploy import rollback

    prepared = _prepared(ctx) or _prepare_rollback(ctx, p)
    ctx.cancel.check("before the rollback changed anything")
    target = ctx.target
    return rollback(
        target.kube(),
        target.config(),
        p.to,
        timeout=p.timeout,
        progress=log_progress(ctx.reporter),
        store=target.store(use_sandbox=False),
        cancel=ctx.cancel,
        prepared=prepared,
    )


def plan_rollback(ctx: OpContext, p: RollbackParams) -> Plan:
    """The diff a rollback would apply; no revision to roll back to is a blocker."""
    return _as_plan("deploy.rollback", lambda: _prepare_rollback(ctx, p))


# --- restart, history, clients -------------------------------------------------------------------------


def _restart_names(ctx: OpContext, p: RestartParams) -> tuple[str, list[str]]:
    """The namespace and the Deployments: those the plan of this run named, else from the config."""
    state = ctx.plan.state if ctx.plan is not None else None
    if isinstance(state, tuple) and len(state) == 2:
        return state[0], list(state[1])
    cfg = ctx.target.config()
    return cfg.namespace, list(p.deployments) or list(cfg.clients.services)


def run_restart(ctx: OpContext, p: RestartParams) -> RestartReport:
    """``deploy.restart``: rolling-restart each Deployment and wait for it, one after the other (a
    failure is reported for that Deployment and the next one is restarted anyway)."""
    from redisops.ops.services import restart_services

    ns, names = _restart_names(ctx, p)
    kube = ctx.target.kube()
    report = RestartReport(ns)
    for i, name in enumerate(names):
        ctx.cancel.check(f"before restarting {name}" + (f" ({i} restarted)" if i else ""))
        ctx.reporter.phase("restart", f"Deployment {ns}/{name}")
        try:
            report.services += restart_services(
                kube, ns, [name], timeout=p.timeout, progress=log_progress(ctx.reporter), cancel=ctx.cancel
            )
        except Interrupted as e:
            done = [s.name for s in report.services]
            raise Interrupted(
                f"{e.message}; restarted before it: {', '.join(done) if done else 'none'}; not restarted: "
                + (", ".join(names[i + 1 :]) or "none"),
                hint="see the rollout with: redisops status; restart the rest with redisops restart",
                context={
                    **e.context,
                    "restarted": done,
                    "waiting_for": name,
                    "not_restarted": names[i + 1 :],
                },
            ) from None
        ctx.reporter.progress(i + 1, len(names), unit="deployments")
    return report


def plan_restart(ctx: OpContext, p: RestartParams) -> Plan:
    """Which Deployments would restart (a missing one is a warning: its restart would fail)."""
    ns, names = _restart_names(ctx, p)
    kube = ctx.target.kube()
    steps: list[str] = []
    warnings: list[str] = []
    found: dict[str, int | None] = {}
    for name in names:
        dep = kube.get("Deployment", name, ns)
        if dep is None:
            warnings.append(f"Deployment {ns}/{name} does not exist: its restart would fail")
            found[name] = None
            continue
        replicas = (dep.get("spec") or {}).get("replicas")
        found[name] = replicas
        steps.append(f"restart Deployment {ns}/{name} ({replicas} replicas) and wait up to {p.timeout:g}s")
    if not names:
        warnings.append("no Deployments to restart (the config lists no client services)")
    return Plan(
        "deploy.restart",
        steps=tuple(steps),
        warnings=tuple(warnings),
        details={"namespace": ns, "found": found},
        state=(ns, tuple(names)),
    )


def run_history(ctx: OpContext, p: HistoryParams) -> DeployHistory:
    """``deploy.history``: the recorded revisions, oldest first."""
    from redisops.ops.deploy import history

    cfg = ctx.target.config()
    return DeployHistory(cfg.namespace, cfg.service_name, history(ctx.target.kube(), cfg))


def run_verify_clients(ctx: OpContext, p: VerifyClientsParams) -> ClientsReport:
    """``deploy.verify_clients``: each client reaches Redis from inside its pod; no Redis errors in logs."""
    from redisops.ops.services import verify_clients

    cfg = ctx.target.config()
    checks = verify_clients(
        ctx.target.kube(), cfg, p.deployments or None, tail=p.tail, progress=log_progress(ctx.reporter)
    )
    return ClientsReport(cfg.namespace, f"{cfg.service_dns}:{cfg.port}", checks)


def register(cat: Catalogue) -> None:
    """Add the Kubernetes deployment operations, then ``manifests.render`` and ``lint.*``
    (:mod:`redisops.ops.entries_lint`)."""
    for op in (
        Operation(
            "deploy.apply",
            "Lint, apply the rendered manifests, wait for the rollout, verify, record a revision.",
            Kind.mutate,
            DeployParams,
            run_deploy,
            plan_deploy_op,
        ),
        Operation(
            "deploy.rollback",
            "Re-apply a recorded revision, wait, verify, record 'rollback to N'.",
            Kind.mutate,
            RollbackParams,
            run_rollback,
            plan_rollback,
        ),
        Operation(
            "deploy.restart",
            "Rolling-restart Deployments (the Redis clients) one by one and wait for each.",
            Kind.mutate,
            RestartParams,
            run_restart,
            plan_restart,
            RestartReport,
        ),
        Operation(
            "deploy.history",
            "The recorded revisions (who, when, what) of the deployment.",
            Kind.read,
            HistoryParams,
            run_history,
            result=DeployHistory,
        ),
        Operation(
            "deploy.verify_clients",
            "Check that client pods reach Redis and their logs show no Redis errors.",
            Kind.read,
            VerifyClientsParams,
            run_verify_clients,
            result=ClientsReport,
        ),
    ):
        cat.register(op)
    entries_lint.register(cat)
