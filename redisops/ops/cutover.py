"""``migrate.cutover``: point the clients at the new Redis, with a plan and an undo point (issue 14
item 6; the write-up's deployment steps 4-7 as one operation).

Order, so a client never loses both endpoints:

1. verify first (``migrate.verify`` of source and target, saved as the decommission's evidence);
   stable differences refuse (exit 22) before anything changed;
2. (Kubernetes) allow egress to the new Redis: the clients' egress NetworkPolicy ``deploy`` renders;
3. the AppConfig endpoint: mode ``api`` — a new hosted version with the new endpoint, StartDeployment,
   wait, and the AppConfigData read-back until clients would receive it; mode ``terraform`` — the
   write-up's ``appconfig/main.tf`` change as a diff (event, and the file given), then wait until the
   read-back shows the new endpoint;
4. (Kubernetes) rollout restart of the dependent services;
5. (Kubernetes) remove the egress rules to ElastiCache (IP-block rules on the source's port);
6. verify the clients: the read-back names the new endpoint; the sandbox PINGs it; on Kubernetes
   ``verify_clients`` runs in the client pods.

The :class:`~redisops.ops.cutover_record.CutoverRecord` is written before the first change and again
after each step (state dir, 0600; a copy beside the backups), so ``migrate.rollback`` reverts what was
done even after an interruption. Objects owned elsewhere (a Helm release's NetworkPolicy, a
Terraform-tagged profile) are named in the plan with the change to make there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from redisops.errors import ConflictError, PlanBlocked, RedisOpsError
from redisops.ops.catalogue import OpContext, Plan
from redisops.ops.cutover_common import (
    AppConfigRef,
    appconfig_ref,
    on_kubernetes,
    read_back_endpoint,
    state_dir_of,
)
from redisops.ops.cutover_plan import (
    clean_object,
    elasticache_rules,
    endpoint_of,
    hcl_diff,
    helm_owner,
    helm_values_change,
    sha256,
    switch_content,
    terraform_owner,
    without_rules,
)
from redisops.ops.cutover_record import CutoverRecord, NetworkChange, save_record
from redisops.ops.cutover_steps import restart, switch_appconfig, verify_after

if TYPE_CHECKING:
    from redisops.ops.entries_cutover import CutoverParams

__all__ = ["CutoverDraft", "CutoverResult", "plan_cutover", "run_cutover"]


@dataclass
class NetworkStep:
    """One NetworkPolicy change the cutover would make (``patch`` None: apply ``desired``)."""

    name: str
    namespace: str
    purpose: str  # allow-new | remove-elasticache
    before: dict[str, Any] | None
    desired: dict[str, Any] | None
    owner: str | None
    rules: list[int] = field(default_factory=list)


@dataclass
class CutoverDraft:
    """What the plan found (the run reuses it)."""

    ref: AppConfigRef
    mode: str
    kubernetes: bool
    namespace: str | None
    current_version: str | None
    current_sha256: str | None
    current_endpoint: str | None
    new_host: str
    new_port: int
    group: str | None
    source_port: int
    network: list[NetworkStep] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def new_endpoint(self) -> str:
        """``host:port`` the clients move to."""
        return f"{self.new_host}:{self.new_port}"


@dataclass
class CutoverResult:
    """What ``migrate.cutover`` did."""

    record_id: str
    saved_to: list[str]
    mode: str
    previous_endpoint: str | None
    new_endpoint: str
    previous_version: str | None
    new_version: str | None
    read_back: str | None
    network: list[dict[str, Any]]
    restarted: list[dict[str, Any]]
    clients: list[dict[str, Any]]
    verify_report: str | None
    ok: bool
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _side(ctx: OpContext) -> Any:
    from redisops.ops.elasticache import aws_side

    return aws_side(ctx.target)


def _new_endpoint(ctx: OpContext, p: CutoverParams, kubernetes: bool) -> tuple[str, int]:
    if p.host:
        return p.host, p.port or 6379
    if kubernetes:
        cfg = ctx.target.config()
        return cfg.service_dns, p.port or cfg.port
    ep = ctx.target.redis
    return ep.host, p.port or ep.port


def _network_steps(ctx: OpContext, p: CutoverParams, d: CutoverDraft) -> None:
    from redisops.k8s.objects import render_client_egress_policy

    cfg = ctx.target.config()
    kube = ctx.target.kube()
    ns = d.namespace or cfg.namespace
    desired = render_client_egress_policy(cfg)
    name = desired["metadata"]["name"]
    desired["metadata"]["namespace"] = ns
    live = kube.get("NetworkPolicy", name, ns)
    owner = helm_owner(live) if live else None
    d.network.append(NetworkStep(name, ns, "allow-new", clean_object(live), desired, owner))
    if owner:
        d.warnings.append(
            f"NetworkPolicy {ns}/{name} belongs to Helm release {owner}: "
            + (
                "edited anyway (the next helm upgrade reverts it)"
                if p.helm_owned == "edit"
                else f"left alone; add the egress to the new Redis in the release's values: "
                f"{desired['spec']['egress']}"
            )
        )
    for pol in kube.list("NetworkPolicy", ns):
        pname = pol["metadata"]["name"]
        rules = elasticache_rules(pol, d.source_port)
        if pname == name or not rules:
            continue
        powner = helm_owner(pol)
        keep = without_rules(pol, rules)
        target = clean_object(pol) or {}
        target["spec"] = {**target.get("spec", {}), "egress": keep}
        d.network.append(
            NetworkStep(pname, ns, "remove-elasticache", clean_object(pol), target, powner, rules)
        )
        if powner:
            removed = [pol["spec"]["egress"][i] for i in rules]
            change = helm_values_change(powner, f"{ns}/{pname}", removed, cfg.labels, cfg.port)
            d.warnings.append(
                change
                + (
                    " (edited here anyway: the next helm upgrade reverts it)"
                    if p.helm_owned == "edit"
                    else " (left alone here)"
                )
            )
    if not any(s.purpose == "remove-elasticache" for s in d.network):
        d.warnings.append(
            f"no NetworkPolicy in {ns} has an IP-block egress rule on port {d.source_port} (the egress to "
            "ElastiCache): nothing to remove"
        )


def draft_cutover(ctx: OpContext, p: CutoverParams) -> CutoverDraft:
    """Read AppConfig, the cluster's NetworkPolicies and Deployments; change nothing."""
    side = _side(ctx)
    ref = appconfig_ref(ctx.target, p.application, p.environment, p.profile, p.strategy)
    kubernetes = on_kubernetes(ctx.target, p.kubernetes)
    host, port = _new_endpoint(ctx, p, kubernetes)
    group = p.replication_group or side.group
    source_port = p.elasticache_port or 6379
    if group and p.elasticache_port is None:
        try:
            source_port = side.aws.replication_group(group).port or 6379
        except RedisOpsError as e:
            ctx.reporter.warning(f"could not read replication group {group}: {e.one_line()}")
    ns = ctx.target.config().namespace if kubernetes else None
    d = CutoverDraft(ref, p.mode, kubernetes, ns, None, None, None, host, port, group, source_port)
    aws = side.aws
    versions = aws.deployed_versions(ref.application, ref.environment, ref.profile)
    if not versions:
        d.blockers.append(f"nothing of profile {ref.profile} is deployed to environment {ref.environment}")
    else:
        content, _ = aws.hosted_version(ref.application, ref.profile, int(versions[0]))
        d.current_version, d.current_sha256 = versions[0], sha256(content)
        d.current_endpoint = endpoint_of(content)
        if d.current_endpoint is None:
            d.blockers.append(f"version {versions[0]} of {ref.profile} names no redis.host")
        elif d.current_endpoint == d.new_endpoint:
            d.blockers.append(f"AppConfig already names {d.new_endpoint}: there is nothing to cut over")
    try:
        owner = terraform_owner(_tags(aws, ref))
    except RedisOpsError as e:
        owner = None
        d.warnings.append(f"could not read the profile's tags ({e.one_line()}): Terraform ownership unknown")
    if owner and p.mode == "api":
        d.warnings.append(
            f"the profile looks Terraform-managed ({owner}): the next terragrunt apply reverts a change "
            "made through the API; use mode terraform, or make the same change in appconfig/main.tf"
        )
    if kubernetes:
        _network_steps(ctx, p, d)
        d.restart = list(p.restart) if p.restart is not None else list(ctx.target.config().clients.services)
        kube = ctx.target.kube()
        for name in d.restart:
            if kube.get("Deployment", name, ns) is None:
                d.warnings.append(f"Deployment {ns}/{name} does not exist: its restart would fail")
    return d


def _tags(aws: Any, ref: AppConfigRef) -> dict[str, str]:
    from redisops.adapters.aws_cutover import profile_tags

    return profile_tags(aws, ref.application, ref.profile)


def plan_cutover(ctx: OpContext, p: CutoverParams) -> Plan:
    """What the cutover would change and what blocks it (reads only)."""
    d = draft_cutover(ctx, p)
    steps: list[str] = []
    if p.verify:
        steps.append(
            f"verify source and target ({p.verify_mode}, {p.verify_rounds} rounds) and save the "
            "report; stable differences stop the cutover here (exit 22)"
        )
    steps.append("write the cutover record (the undo point) to the state dir and beside the backups")
    allow = [s for s in d.network if s.purpose == "allow-new"]
    for s in allow:
        verb = "leave (Helm-owned)" if s.owner and p.helm_owned == "skip" else "apply"
        steps.append(f"{verb} the clients' egress NetworkPolicy {s.namespace}/{s.name} to the new Redis")
    if p.mode == "api":
        steps.append(
            f"AppConfig {d.ref}: new hosted version naming {d.new_endpoint} (now {d.current_endpoint}, "
            f"version {d.current_version}), StartDeployment ({d.ref.strategy}), wait, read back"
        )
    else:
        steps.append(
            f"print the Terraform change to appconfig/main.tf{' into ' + p.hcl_file if p.hcl_file else ''}"
            f", then wait up to {p.timeout:g}s until the read-back of {d.ref} names {d.new_endpoint}"
        )
    for name in d.restart:
        steps.append(f"rollout restart Deployment {d.namespace}/{name} and wait")
    for s in d.network:
        if s.purpose == "remove-elasticache":
            verb = "leave (Helm-owned)" if s.owner and p.helm_owned == "skip" else "remove"
            steps.append(
                f"{verb} the egress rule(s) {s.rules} to ElastiCache (port {d.source_port}) from "
                f"NetworkPolicy {s.namespace}/{s.name}"
            )
    if not d.kubernetes:
        steps.append(
            "no Kubernetes here (the sandbox): no NetworkPolicy to change and no Deployment to restart"
        )
    steps.append(
        "verify the clients: the read-back names the new endpoint"
        + ("; verify_clients in the client pods" if d.kubernetes else "; PING it")
    )
    details = {
        "appconfig": str(d.ref),
        "mode": p.mode,
        "kubernetes": d.kubernetes,
        "current_endpoint": d.current_endpoint,
        "current_version": d.current_version,
        "new_endpoint": d.new_endpoint,
        "restart": d.restart,
        "network": [{"name": s.name, "purpose": s.purpose, "owner": s.owner} for s in d.network],
        "rollback_window_hours": p.rollback_window_hours,
    }
    if p.mode == "terraform":
        details["hcl_diff"] = hcl_diff(d.new_host, d.new_port)
    return Plan("migrate.cutover", tuple(steps), tuple(d.blockers), tuple(d.warnings), details, state=d)


def _pre_verify(ctx: OpContext, p: CutoverParams) -> str | None:
    from redisops.migrate.verify import VerifyOptions, run_verify
    from redisops.ops.cutover_record import save_verify

    if not p.verify:
        return None
    source = p.endpoint(ctx.target)
    target = ctx.target.redis
    ctx.reporter.phase(
        "verify", f"source {source.host}:{source.port} against target {target.host}:{target.port}"
    )
    opts = VerifyOptions(mode=p.verify_mode, rounds=p.verify_rounds, round_delay=p.verify_round_delay)
    report = run_verify(source, target, opts, reporter=ctx.reporter, cancel=ctx.cancel)
    saved = save_verify(
        report, f"{source.host}:{source.port}", f"{target.host}:{target.port}", state_dir_of(ctx.target)
    )
    ctx.reporter.log(f"verify report saved to {saved.path}")
    report.raise_if_different()
    return saved.path


def _save(ctx: OpContext, rec: CutoverRecord, store: Any) -> list[str]:
    try:
        return save_record(rec, state_dir_of(ctx.target), store)
    except RedisOpsError as e:
        ctx.reporter.warning(f"the cutover record was not copied beside the backups: {e.one_line()}")
        return save_record(rec, state_dir_of(ctx.target), None)


def _store(ctx: OpContext) -> Any:
    try:
        return ctx.target.store()
    except (RedisOpsError, OSError) as e:
        ctx.reporter.warning(f"no backup store for the cutover record's copy: {e}")
        return None


def apply_network(kube: Any, s: NetworkStep) -> dict[str, Any] | None:
    """Make the step's change; the object after it."""
    if s.purpose == "allow-new":
        assert s.desired is not None
        return clean_object(kube.apply([s.desired], force=True)[0].object)
    assert s.desired is not None
    patch = {"spec": {"egress": s.desired["spec"]["egress"]}}
    return clean_object(kube.patch("NetworkPolicy", s.name, patch, s.namespace, patch_type="merge"))


def _network(
    ctx: OpContext, p: CutoverParams, d: CutoverDraft, rec: CutoverRecord, purpose: str, store: Any
) -> None:
    kube = ctx.target.kube()
    for s in d.network:
        if s.purpose != purpose:
            continue
        ctx.cancel.check(f"before changing NetworkPolicy {s.name}")
        if s.owner and p.helm_owned == "skip":
            rec.network.append(
                NetworkChange(
                    s.name, s.namespace, "skipped", s.before, s.before, f"owned by Helm release {s.owner}"
                )
            )
            continue
        ctx.reporter.phase("network", f"{purpose}: NetworkPolicy {s.namespace}/{s.name}")
        after = apply_network(kube, s)
        action = "created" if s.before is None else "edited"
        rec.network.append(NetworkChange(s.name, s.namespace, action, s.before, after, purpose))
        _save(ctx, rec, store)
    _save(ctx, rec, store)


def run_cutover(ctx: OpContext, p: CutoverParams) -> CutoverResult:
    """``migrate.cutover`` (see the module docstring)."""
    d: CutoverDraft = ctx.plan.state if ctx.plan is not None and ctx.plan.state else draft_cutover(ctx, p)
    if d.blockers:
        raise PlanBlocked("migrate.cutover is blocked: " + "; ".join(d.blockers))
    verify_path = _pre_verify(ctx, p)
    aws = _side(ctx).aws
    store = _store(ctx)
    source = p.endpoint(ctx.target)
    rec = CutoverRecord.new(
        mode=p.mode,
        application=d.ref.application,
        environment=d.ref.environment,
        profile=d.ref.profile,
        strategy=d.ref.strategy,
        previous_version=d.current_version,
        previous_sha256=d.current_sha256,
        previous_endpoint=d.current_endpoint,
        new_endpoint=d.new_endpoint,
        kubernetes=d.kubernetes,
        namespace=d.namespace,
        replication_group=d.group,
        source=f"{source.host}:{source.port}",
        rollback_window_hours=p.rollback_window_hours,
        verify_report=verify_path,
    )
    saved = _save(ctx, rec, store)
    ctx.reporter.log(f"cutover record {rec.id} saved to {', '.join(saved)}")
    if d.kubernetes:
        _network(ctx, p, d, rec, "allow-new", store)
    ctx.cancel.check("before the AppConfig switch")
    assert d.current_version is not None
    content, _ = aws.hosted_version(d.ref.application, d.ref.profile, int(d.current_version))
    if sha256(content) != d.current_sha256:
        raise ConflictError(f"version {d.current_version} of {d.ref} changed since the plan")
    new = switch_content(content, d.new_host, d.new_port)
    rec.new_version = switch_appconfig(
        ctx,
        aws,
        d.ref,
        new,
        d.new_endpoint,
        mode=p.mode,
        diff=hcl_diff(d.new_host, d.new_port),
        hcl_file=p.hcl_file,
        timeout=p.timeout,
        interval=p.poll_interval,
        why="make the change in appconfig/main.tf and terragrunt apply, or use mode api; "
        "the record is kept: redisops migrate rollback undoes what was done",
    )
    rec.new_sha256 = sha256(new) if p.mode == "api" else None
    saved = _save(ctx, rec, store)
    restarted: list[dict[str, Any]] = []
    if d.kubernetes and d.namespace:
        restarted = restart(ctx, d.namespace, d.restart, p.restart_timeout)
        rec.restarted = list(d.restart)
        saved = _save(ctx, rec, store)
        _network(ctx, p, d, rec, "remove-elasticache", store)
    clients, ok = verify_after(ctx, aws, d.ref, d.new_endpoint, d.kubernetes, d.restart)
    ok = ok and all(r["ok"] for r in restarted)
    warnings = list(d.warnings)
    if not ok:
        warnings.append("the clients do not all check out: see clients; undo with: redisops migrate rollback")
        ctx.reporter.warning(warnings[-1])
    return CutoverResult(
        rec.id,
        saved,
        p.mode,
        d.current_endpoint,
        d.new_endpoint,
        d.current_version,
        rec.new_version,
        read_back_endpoint(aws, d.ref),
        [n.to_dict() | {"before": None, "after": None} for n in rec.network],
        restarted,
        clients,
        verify_path,
        ok,
        warnings,
    )
