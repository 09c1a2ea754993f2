"""``migrate.rollback``: back to ElastiCache, reverting exactly what the last cutover recorded (the
write-up's rollback plan; issue 14 item 7).

1. (Kubernetes) put back the NetworkPolicies the cutover edited (the egress to ElastiCache);
2. AppConfig: the content of the version deployed before, deployed again as a new version (versions are
   immutable; its SHA-256 is checked against the record), waiting for the read-back; in mode
   ``terraform`` the reverse diff is shown and the read-back awaited;
3. (Kubernetes) rollout restart of the Deployments the cutover restarted;
4. (Kubernetes) delete the NetworkPolicies the cutover created;
5. verify: the read-back names the previous endpoint (the sandbox PINGs the source);
6. optionally (``copy_back``) copy the writes made on the new Redis since the cutover back to the source
   with the same copy engine reversed. Redis keeps no per-key modification time (OBJECT IDLETIME is
   reset by reads too), so picking the keys changed since the cutover is not feasible: the whole
   keyspace is copied with REPLACE; keys deleted on the new Redis since the cutover stay on the source.

The record is marked rolled back; the decommission then refuses.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from redisops.errors import AbortedError, ConflictError, InvalidArgument, PlanBlocked
from redisops.ops.catalogue import OpContext, Plan
from redisops.ops.cutover_common import AppConfigRef, state_dir_of
from redisops.ops.cutover_plan import hcl_diff, restore_patch, sha256
from redisops.ops.cutover_record import CutoverRecord, latest_record, migrate_dir, save_record
from redisops.ops.cutover_steps import restart, switch_appconfig, verify_after

if TYPE_CHECKING:
    from redisops.ops.entries_cutover import RollbackParams

__all__ = ["RollbackResult", "plan_rollback", "run_rollback"]


@dataclass
class RollbackResult:
    """What ``migrate.rollback`` did."""

    record_id: str
    endpoint: str | None
    version: str | None
    network: list[dict[str, Any]]
    restarted: list[dict[str, Any]]
    clients: list[dict[str, Any]]
    copy_back: dict[str, Any] | None
    ok: bool
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _record(ctx: OpContext, p: RollbackParams) -> CutoverRecord:
    import json

    if p.record:
        path = migrate_dir(state_dir_of(ctx.target)) / f"{p.record}.json"
        try:
            rec = CutoverRecord.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"no readable cutover record {p.record} in {path.parent} ({e})") from None
        rec.path = str(path)
        return rec
    latest = latest_record(state_dir_of(ctx.target))
    if latest is None:
        # nothing to roll back is a refusal the plan finds (as restore undo with nothing to undo): 15
        raise PlanBlocked(
            f"nothing to roll back: there is no cutover record in {migrate_dir(state_dir_of(ctx.target))}",
            hint="rollback reverts what redisops migrate cutover recorded; pass --state-dir where it ran",
        )
    return latest


def _ref(rec: CutoverRecord) -> AppConfigRef:
    return AppConfigRef(rec.application, rec.environment, rec.profile, rec.strategy)


def _split(ep: str | None) -> tuple[str, int]:
    host, _, port = (ep or "").rpartition(":")
    return host, int(port or 6379)


def plan_rollback(ctx: OpContext, p: RollbackParams) -> Plan:
    """What the rollback would revert (reads only)."""
    rec = _record(ctx, p)
    blockers: list[str] = []
    warnings: list[str] = []
    if rec.rolled_back_ts is not None:
        blockers.append(f"cutover {rec.id} was rolled back already")
    if rec.previous_version is None:
        blockers.append(f"cutover {rec.id} recorded no previous AppConfig version")
    steps = []
    for n in rec.network:
        if n.action == "edited" and n.before is not None:
            steps.append(f"put NetworkPolicy {n.namespace}/{n.name} back as it was ({n.reason})")
        elif n.action == "skipped":
            warnings.append(
                f"NetworkPolicy {n.namespace}/{n.name} was left to its owner ({n.reason}): revert "
                "the release's values there"
            )
    if rec.mode == "api":
        steps.append(
            f"AppConfig {_ref(rec)}: deploy the content of version {rec.previous_version} again as a new "
            f"version (naming {rec.previous_endpoint}), wait, read back"
        )
    else:
        steps.append(
            f"print the reverse Terraform change, then wait until the read-back names {rec.previous_endpoint}"
        )
    steps += [f"rollout restart Deployment {rec.namespace}/{n}" for n in rec.restarted]
    steps += [
        f"delete NetworkPolicy {n.namespace}/{n.name} (the cutover created it)"
        for n in rec.network
        if n.action == "created"
    ]
    steps.append(f"verify: the read-back names {rec.previous_endpoint}")
    if p.copy_back:
        steps.append(
            "copy the new Redis back into the source: the whole keyspace with REPLACE (per-key change "
            "times do not exist in Redis); keys deleted since the cutover stay on the source"
        )
        warnings.append("copy_back overwrites keys on the source: it needs confirmation (--yes)")
    if not rec.kubernetes:
        steps.append("no Kubernetes here (the sandbox): no NetworkPolicy or Deployment to revert")
    details = {
        "record": rec.id,
        "cutover_at": rec.created_at,
        "mode": rec.mode,
        "endpoint": rec.previous_endpoint,
        "from": rec.new_endpoint,
    }
    if rec.mode == "terraform":
        host, port = _split(rec.new_endpoint)
        details["hcl_diff"] = hcl_diff(host, port, reverse=True)
    return Plan("migrate.rollback", tuple(steps), tuple(blockers), tuple(warnings), details, state=rec)


def _restore(ctx: OpContext, rec: CutoverRecord, action: str) -> list[dict[str, Any]]:
    kube = ctx.target.kube()
    done = []
    for n in reversed(rec.network):
        if n.action != action:
            continue
        ctx.cancel.check(f"before reverting NetworkPolicy {n.name}")
        if action == "created":
            ctx.reporter.phase("network", f"delete NetworkPolicy {n.namespace}/{n.name}")
            kube.delete("NetworkPolicy", n.name, n.namespace)
            done.append({"name": n.name, "action": "deleted"})
            continue
        assert n.before is not None
        live = kube.get("NetworkPolicy", n.name, n.namespace)
        ctx.reporter.phase("network", f"restore NetworkPolicy {n.namespace}/{n.name}")
        if live is None:
            kube.create({k: v for k, v in n.before.items()})
            done.append({"name": n.name, "action": "recreated"})
        else:
            kube.patch(
                "NetworkPolicy", n.name, restore_patch(live, n.before), n.namespace, patch_type="merge"
            )
            done.append({"name": n.name, "action": "restored"})
    return done


def run_rollback(ctx: OpContext, p: RollbackParams) -> RollbackResult:
    """``migrate.rollback`` (see the module docstring)."""
    from redisops.ops.elasticache import aws_side

    rec: CutoverRecord = ctx.plan.state if ctx.plan is not None and ctx.plan.state else _record(ctx, p)
    if p.copy_back and not ctx.confirmed:
        raise AbortedError(
            "copy_back overwrites keys on the source and needs an explicit confirmation",
            hint="pass confirm=True (CLI: --yes) after reading the plan",
        )
    aws = aws_side(ctx.target).aws
    ref = _ref(rec)
    network = _restore(ctx, rec, "edited") if rec.kubernetes else []
    assert rec.previous_version is not None
    content, _ = aws.hosted_version(ref.application, ref.profile, int(rec.previous_version))
    if rec.previous_sha256 and sha256(content) != rec.previous_sha256:
        raise ConflictError(f"version {rec.previous_version} of {ref} is not what the cutover recorded")
    host, port = _split(rec.new_endpoint)
    version = switch_appconfig(
        ctx,
        aws,
        ref,
        content,
        str(rec.previous_endpoint),
        mode=rec.mode,
        diff=hcl_diff(host, port, reverse=True),
        hcl_file=p.hcl_file,
        timeout=p.timeout,
        interval=p.poll_interval,
        why="revert the change in appconfig/main.tf and terragrunt apply",
    )
    restarted = restart(ctx, rec.namespace, rec.restarted, p.restart_timeout) if rec.namespace else []
    if rec.kubernetes:
        network += _restore(ctx, rec, "created")
    source = p.endpoint(ctx.target)
    clients, ok = verify_after(ctx, aws, ref, str(rec.previous_endpoint), False, [], ping=source)
    copied = _copy_back(ctx, source) if p.copy_back else None
    rec.rolled_back_ts = time.time()
    save_record(rec, state_dir_of(ctx.target))
    ok = ok and all(r["ok"] for r in restarted)
    return RollbackResult(rec.id, rec.previous_endpoint, version, network, restarted, clients, copied, ok)


def _copy_back(ctx: OpContext, source: Any) -> dict[str, Any]:
    from redisops.migrate.copy import CopyOptions, run_copy

    ctx.reporter.phase("copy back", "the new Redis into the source, whole keyspace with REPLACE")
    report = run_copy(ctx.target.redis, source, CopyOptions(replace=True), ctx.reporter, ctx.cancel)
    out: dict[str, Any] = report.to_dict()
    out["scope"] = "whole keyspace with REPLACE (keys deleted since the cutover stay on the source)"
    return out
