"""``elasticache.decommission``: delete the ElastiCache replication group once nothing needs it (issue 14
item 8; the write-up's optional step 8, "terragrunt destroy").

Guard rails first, each refusal naming its rail (PlanBlocked, exit 15):

* **clients** — no client on the source (CLIENT LIST, our own connection and replicas excluded): the
  plan samples once, the run samples every ``sample_interval`` for ``quiet_seconds``;
* **verify** — a saved ``migrate.verify`` report of this source with 0 differences, newer than
  ``verify_max_age_hours`` (:func:`~redisops.ops.cutover_record.latest_verify`; ``migrate.verify``
  and ``migrate.cutover`` save one);
* **backup** — the newest backup of the new Redis, taken after the cutover, verified when written; the
  run re-reads it (size and SHA-256 of every object) before deleting;
* **rollback window** — the last cutover (its record) is not rolled back and its window is over: after
  the deletion a rollback to ElastiCache is impossible, and the plan says so.

Then DeleteReplicationGroup with a FinalSnapshotIdentifier, and the final snapshot is checked to exist
(and waited for until available). The replication group is usually Terragrunt's: the plan says to
remove it there too, or the next ``terragrunt apply`` recreates it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from redisops.adapters.redis_conn import connect, raw_command, redis_errors
from redisops.errors import NotFoundError, PlanBlocked, RedisOpsError
from redisops.ops.catalogue import OpContext, Plan
from redisops.ops.cutover_common import state_dir_of
from redisops.ops.cutover_record import latest_record, latest_verify

if TYPE_CHECKING:
    from redisops.ops.entries_cutover import DecommissionParams

__all__ = ["DecommissionResult", "plan_decommission", "run_decommission"]


@dataclass
class DecommissionResult:
    """What ``elasticache.decommission`` did."""

    replication_group: str
    status: str
    final_snapshot: str
    final_snapshot_status: str
    rails: dict[str, str]
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class _Draft:
    group: str
    final: str
    endpoint: str | None
    rails: dict[str, str] = field(default_factory=dict)
    blockers: list[str] = field(default_factory=list)
    backup_id: str | None = None


def client_connections(ep: Any) -> list[str]:
    """The source's clients other than this connection and replicas (``addr name cmd age``)."""
    client = connect(ep)
    try:
        with redis_errors(ep):
            mine = int(raw_command(client, "CLIENT", "ID"))
            raw = raw_command(client, "CLIENT", "LIST")
    finally:
        client.close()
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    out = []
    for line in text.splitlines():
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if int(f.get("id", -1)) == mine or any(x in f.get("flags", "") for x in ("S", "M")):
            continue
        out.append(f"{f.get('addr')} name={f.get('name') or '-'} cmd={f.get('cmd')} age={f.get('age')}s")
    return out


def _group_and_final(ctx: OpContext, p: DecommissionParams) -> tuple[Any, str, str]:
    from redisops.errors import InvalidArgument
    from redisops.ops.elasticache import aws_side

    side = aws_side(ctx.target)
    group = p.replication_group or side.group
    if not group:
        raise InvalidArgument("which replication group?", hint="pass --replication-group ID")
    final = p.final_snapshot or f"{group}-final-{time.strftime('%Y%m%dT%H%MZ', time.gmtime())}"
    return side.aws, group, final


def _rails(ctx: OpContext, p: DecommissionParams, aws: Any, d: _Draft) -> None:
    def fail(rail: str, why: str) -> None:
        d.rails[rail] = f"refused: {why}"
        d.blockers.append(f"[{rail}] {why}")

    try:
        rg = aws.replication_group(d.group)
        d.endpoint = f"{rg.host}:{rg.port}"
        if rg.status != "available":
            fail("group", f"replication group {d.group} is {rg.status}, not available")
    except NotFoundError as e:
        fail("group", e.message)
    if aws.snapshot(d.final) is not None:
        fail("group", f"a snapshot named {d.final} exists already: pick another final snapshot name")
    try:
        clients = client_connections(p.endpoint(ctx.target))
        if clients:
            fail("clients", f"{len(clients)} client(s) connected to the source: " + "; ".join(clients[:5]))
        else:
            d.rails["clients"] = "ok: no client connected now (the run watches for quiet_seconds)"
    except RedisOpsError as e:
        fail("clients", f"CLIENT LIST on the source failed: {e.one_line()}")
    sd = state_dir_of(ctx.target)
    source = p.endpoint(ctx.target)
    saved = latest_verify(sd, f"{source.host}:{source.port}")
    if saved is None:
        fail(
            "verify",
            f"no saved verify report of source {source.host}:{source.port}: run migrate verify",
        )
    elif not saved.ok:
        fail(
            "verify",
            f"the newest verify report ({saved.path}) found {saved.differences} difference(s): "
            "run migrate verify again once source and target match",
        )
    elif saved.age_hours > p.verify_max_age_hours:
        fail(
            "verify",
            f"the newest clean verify report is {saved.age_hours:.1f}h old "
            f"(more than {p.verify_max_age_hours:g}h): verify again",
        )
    else:
        d.rails["verify"] = f"ok: {saved.path}, 0 differences, {saved.age_hours:.2f}h old"
    rec = latest_record(sd)
    if rec is None:
        fail("rollback-window", "no cutover record: the clients were never cut over by redisops here")
    elif rec.rolled_back_ts is not None:
        fail("rollback-window", f"cutover {rec.id} was rolled back: the clients use ElastiCache")
    else:
        hours = rec.rollback_window_hours if p.rollback_window_hours is None else p.rollback_window_hours
        ends = rec.created_ts + hours * 3600
        if time.time() < ends:
            fail(
                "rollback-window",
                f"cutover {rec.id} ({rec.created_at}) is inside its {hours:g}h rollback "
                f"window for {(ends - time.time()) / 3600:.2f}h more",
            )
        else:
            d.rails["rollback-window"] = f"ok: cutover {rec.id} at {rec.created_at}, {hours:g}h window over"
    try:
        store = ctx.target.store(p.backup_source)
        latest = store.latest()
        if latest is None:
            fail("backup", f"no backup of {store.source}: take one (redisops backup create)")
        elif not latest.verified:
            fail("backup", f"the newest backup {latest.id} was not verified when written")
        elif rec is not None and latest.created_at.timestamp() < rec.created_ts:
            fail("backup", f"the newest backup {latest.id} is older than the cutover: take one now")
        else:
            d.backup_id = latest.id
            d.rails["backup"] = f"ok: {latest.id} of {store.source} (re-read before the deletion)"
    except RedisOpsError as e:
        fail("backup", f"the backup store cannot be read: {e.one_line()}")


def _draft(ctx: OpContext, p: DecommissionParams) -> _Draft:
    aws, group, final = _group_and_final(ctx, p)
    d = _Draft(group, final, None)
    _rails(ctx, p, aws, d)
    return d


def plan_decommission(ctx: OpContext, p: DecommissionParams) -> Plan:
    """The guard rails and what the deletion does (reads only)."""
    d = _draft(ctx, p)
    steps = (
        f"watch the source's CLIENT LIST every {p.sample_interval:g}s for {p.quiet_seconds:g}s: no client",
        f"re-read the newest backup {d.backup_id} of the new Redis (size and SHA-256 of every object)",
        f"DeleteReplicationGroup {d.group} with FinalSnapshotIdentifier {d.final}",
        f"check that snapshot {d.final} exists, waiting up to {p.timeout:g}s until it is available",
    )
    warnings = (
        f"after this, rollback to ElastiCache is impossible: replication group {d.group} is gone "
        f"(only the final snapshot {d.final} remains)",
        "if Terragrunt owns the group (the write-up's dev/elasticache), remove it there too "
        "(terragrunt destroy), or the next terragrunt apply recreates it",
    )
    details = {
        "replication_group": d.group,
        "endpoint": d.endpoint,
        "final_snapshot": d.final,
        "rails": d.rails,
        "backup": d.backup_id,
    }
    return Plan("elasticache.decommission", steps, tuple(d.blockers), warnings, details, state=d)


def _watch_clients(ctx: OpContext, p: DecommissionParams) -> None:
    ep = p.endpoint(ctx.target)
    started = time.monotonic()
    ctx.reporter.phase("clients", f"watching CLIENT LIST on {ep.host}:{ep.port} for {p.quiet_seconds:g}s")
    while True:
        clients = client_connections(ep)
        if clients:
            raise PlanBlocked(
                f"elasticache.decommission is blocked: [clients] {len(clients)} client(s) connected to the "
                "source: " + "; ".join(clients[:5]),
                hint="point them elsewhere (migrate cutover) and run it again",
            )
        waited = time.monotonic() - started
        ctx.reporter.progress(int(min(waited, p.quiet_seconds)), int(p.quiet_seconds), unit="seconds")
        if waited >= p.quiet_seconds:
            return
        ctx.cancel.sleep(
            min(p.sample_interval, p.quiet_seconds - waited), "while watching the source's clients"
        )


def run_decommission(ctx: OpContext, p: DecommissionParams) -> DecommissionResult:
    """``elasticache.decommission`` (see the module docstring)."""
    started = time.monotonic()
    d: _Draft = ctx.plan.state if ctx.plan is not None and ctx.plan.state else _draft(ctx, p)
    if d.blockers:
        raise PlanBlocked("elasticache.decommission is blocked: " + "; ".join(d.blockers))
    _watch_clients(ctx, p)
    store = ctx.target.store(p.backup_source)
    assert d.backup_id is not None
    ctx.reporter.phase("backup", f"re-reading backup {d.backup_id}")
    report = store.verify(d.backup_id)
    if not report.ok:
        raise PlanBlocked(
            f"elasticache.decommission is blocked: [backup] backup {d.backup_id} does not verify",
            hint="take a new backup (redisops backup create) and run it again",
        )
    aws = _group_and_final(ctx, p)[0]
    ctx.cancel.check("before DeleteReplicationGroup")
    ctx.reporter.phase("deleting", f"DeleteReplicationGroup {d.group}, final snapshot {d.final}")
    status = aws.delete_replication_group(d.group, d.final)
    snap = aws.snapshot(d.final)
    if snap is None:
        from redisops.errors import VerificationError

        raise VerificationError(
            f"replication group {d.group} is {status}, but its final snapshot {d.final} does not exist",
            hint="check the ElastiCache console: the group cannot be recovered without it",
        )
    if snap.status != "available":
        snap = aws.wait_snapshot(d.final, timeout=p.timeout, interval=p.poll_interval, cancel=ctx.cancel)
    ctx.reporter.log(f"final snapshot {d.final} is {snap.status}")
    return DecommissionResult(
        d.group, status, d.final, snap.status, d.rails, round(time.monotonic() - started, 3)
    )
