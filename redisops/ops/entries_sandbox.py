"""Catalogue entries of the local sandbox: ``sandbox.status``, ``sandbox.up``, ``sandbox.down`` and
``rehearsal.run``.

They act on the sandbox of the target's state dir (``target.state_dir``, else ``$REDISOPS_STATE_DIR`` or
the user's data dir) with the target's config. Plans read the recorded state and the live processes
only: they create no directory, start or stop nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from redisops.errors import ConflictError, NotFoundError
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation, Plan
from redisops.ops.entries_util import interrupt_on_cancel, log_progress

if TYPE_CHECKING:
    from redisops.ops.rehearsal import RehearsalReport
    from redisops.ops.sandbox import SandboxDownReport, SandboxState

__all__ = ["DownParams", "RehearsalParams", "StatusParams", "UpParams", "register"]


class StatusParams(BaseModel):
    """``sandbox.status`` takes no parameters."""

    model_config = ConfigDict(extra="forbid")


class UpParams(BaseModel):
    """Parameters of ``sandbox.up``."""

    model_config = ConfigDict(extra="forbid")

    bucket: str | None = Field(
        None, min_length=3, max_length=63, description="the backup bucket [default: the config's bucket]"
    )
    password_file: Path | None = Field(
        None,
        description="the target requires the password in this file (its first line); the state records "
        "the file's path, never the password, and the sandbox target reads it",
    )
    acl_user: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="also make this ACL user (same password, ~* &* +@all) and connect as it; needs "
        "password_file",
    )
    tls: bool = Field(
        False,
        description="the target speaks TLS only, with a self-signed CA the sandbox makes in its state dir",
    )


class DownParams(BaseModel):
    """Parameters of ``sandbox.down``."""

    model_config = ConfigDict(extra="forbid")

    discard_backups: bool = Field(
        False, description="stop without exporting the backup store (backups since the last export are lost)"
    )


class RehearsalParams(BaseModel):
    """``rehearsal.run`` takes no parameters (the config is the target's)."""

    model_config = ConfigDict(extra="forbid")


def _state_dir(ctx: OpContext) -> Path:
    from redisops.ops.sandbox import default_state_dir

    d: Path | None = getattr(ctx.target, "state_dir", None)
    return d or default_state_dir()


def _config_file(target: Any) -> str | None:
    path = getattr(target, "config_path", None)
    return str(path) if path is not None else getattr(target, "sandbox_config_file", None)


def run_status(ctx: OpContext, p: StatusParams) -> SandboxState:
    """``sandbox.status``: the services with their live status.

    Raises:
        NotFoundError: the sandbox is not running.
    """
    from redisops.ops.sandbox import sandbox_status

    state = sandbox_status(_state_dir(ctx))
    if state is None:
        raise NotFoundError("the sandbox is not running", hint="start it with: redisops sandbox up")
    return state


def _survey(d: Path) -> tuple[SandboxState | None, dict[str, int]]:
    """The recorded state with live statuses, and processes it started that no state records."""
    from redisops.ops.sandbox import sandbox_status

    try:
        return sandbox_status(d), {}
    except ConflictError as e:
        return None, dict(e.context.get("orphans") or {})


def run_up(ctx: OpContext, p: UpParams) -> SandboxState:
    """``sandbox.up``: start (or repair) the sandbox; idempotent."""
    from redisops.ops.sandbox import sandbox_up

    ctx.cancel.check("before the sandbox started")
    with interrupt_on_cancel(ctx.cancel):  # sandbox_up stops what it started on KeyboardInterrupt
        return sandbox_up(
            _state_dir(ctx),
            config=ctx.target.config(),
            config_file=_config_file(ctx.target),
            bucket=p.bucket,
            progress=log_progress(ctx.reporter),
            password_file=p.password_file,
            acl_user=p.acl_user,
            tls=p.tls,
        )


def plan_up(ctx: OpContext, p: UpParams) -> Plan:
    """Which services ``sandbox.up`` would keep, start or repair.

    Raises:
        DependencyMissing: redis-server or moto[server] is missing (the hint says how to install it):
            an environment to fix rather than a plan that would refuse, so its own error (exit 12).
    """
    from redisops.ops.sandbox import SERVICES, check_dependencies
    from redisops.ops.sandbox_store import EXPORT_DIR, read_export

    d = _state_dir(ctx)
    check_dependencies()
    state, orphans = _survey(d)
    steps = [f"stop {name} (pid {pid}), left running by an interrupted run" for name, pid in orphans.items()]
    services = state.services if state is not None else {}
    for name in SERVICES:
        svc = services.get(name)
        if svc is not None and svc.status == "running":
            steps.append(f"keep {name}: running on port {svc.port} (pid {svc.pid})")
        elif svc is not None:
            steps.append(f"restart {name}: recorded on port {svc.port} but {svc.status}")
        else:
            steps.append(f"start {name}")
    s3 = services.get("s3")
    if s3 is None or s3.status != "running":
        export = read_export(d)
        bucket = p.bucket or ctx.target.config().backup.bucket
        steps.append(
            f"create bucket {bucket} and import "
            + (f"{export.backups} backups from {d / EXPORT_DIR}" if export else "nothing (no export yet)")
        )
    aws = services.get("aws")
    if (
        aws is None
        or aws.status != "running"
        or any(services.get(n) is None or services[n].status != "running" for n in ("source", "s3"))
    ):
        steps.append(
            "provision the AWS side through the emulator: a replication group and parameter group standing "
            "for the source, the export bucket, an AppConfig application/environment/profile deploying the "
            "source endpoint"
        )
    details = {"state_dir": str(d), "running": state is not None, "orphans": orphans}
    return Plan("sandbox.up", steps=tuple(steps), details=details)


def run_down(ctx: OpContext, p: DownParams) -> SandboxDownReport:
    """``sandbox.down``: export the backup store, stop the sandbox's processes (the data dir stays)."""
    from redisops.ops.sandbox import sandbox_down

    ctx.cancel.check("before the sandbox stopped")
    with interrupt_on_cancel(ctx.cancel):  # an interrupted export stops nothing
        return sandbox_down(
            _state_dir(ctx), progress=log_progress(ctx.reporter), discard_backups=p.discard_backups
        )


def plan_down(ctx: OpContext, p: DownParams) -> Plan:
    """What ``sandbox.down`` would export and stop."""
    d = _state_dir(ctx)
    state, orphans = _survey(d)
    steps: list[str] = []
    warnings: list[str] = []
    if state is None and not orphans:
        return Plan("sandbox.down", steps=("nothing to stop: the sandbox is not running",))
    if state is not None:
        s3 = state.services.get("s3")
        if s3 is not None and s3.status == "running" and not p.discard_backups:
            steps.append(f"export the backup store (bucket {state.bucket}) into {d / 's3-export'}")
        elif s3 is not None and s3.status == "running":
            warnings.append("the backup store is not exported: backups since the last export are lost")
        elif s3 is not None:
            warnings.append("s3 is not running: its backups since the last export are lost")
        for svc in state.services.values():
            steps.append(
                f"stop {svc.name} (pid {svc.pid})" if svc.status == "running" else f"{svc.name}: not running"
            )
        steps.append(f"keep the target's data dir {state.data_dir}")
    steps += [f"stop {name} (pid {pid}), not recorded in the state" for name, pid in orphans.items()]
    steps.append(f"remove the state file {d / 'state.json'}")
    return Plan("sandbox.down", steps=tuple(steps), warnings=tuple(warnings), details={"state_dir": str(d)})


def run_rehearsal(ctx: OpContext, p: RehearsalParams) -> RehearsalReport:
    """``rehearsal.run``: start the sandbox and walk the toolkit on it, step by step (a failed step is
    in the report, not raised)."""
    from redisops.ops.rehearsal import rehearse

    ctx.cancel.check("before the rehearsal started")
    with interrupt_on_cancel(ctx.cancel):
        return rehearse(_state_dir(ctx), config=ctx.target.config(), progress=log_progress(ctx.reporter))


def plan_rehearsal(ctx: OpContext, p: RehearsalParams) -> Plan:
    """The sandbox's start-up plan, then the rehearsal's steps (they write to the sandbox only)."""
    up = plan_up(ctx, UpParams.model_validate({}))
    steps = (
        *up.steps,
        "check the source refuses CONFIG; write a dataset to the source; run the runbooks "
        "migrate-elasticache-to-k8s (plan, copy, follow, verify, cutover of the sandbox's AppConfig, "
        "verify), backup-now, health-check, restore-from-backup and rollback-to-elasticache",
    )
    warnings = (
        *up.warnings,
        "the restore step replaces the sandbox target's data with the rehearsal's backup "
        "(restore.undo puts it back)",
        "the cutover switches the sandbox's AppConfig; the rollback runbook at the end switches it back",
    )
    return Plan("rehearsal.run", steps=steps, blockers=up.blockers, warnings=warnings, details=up.details)


def register(cat: Catalogue) -> None:
    """Add the sandbox operations and the rehearsal."""
    for op in (
        Operation(
            "sandbox.status",
            "The sandbox's services and their live status.",
            Kind.read,
            StatusParams,
            run_status,
        ),
        Operation(
            "sandbox.up",
            "Start (or repair) the local sandbox: target Redis, ElastiCache-like source, local S3 and AWS.",
            Kind.mutate,
            UpParams,
            run_up,
            plan_up,
        ),
        Operation(
            "sandbox.down",
            "Export the sandbox's backup store and stop its processes (the target's data dir stays).",
            Kind.mutate,
            DownParams,
            run_down,
            plan_down,
        ),
        Operation(
            "rehearsal.run",
            "Start the sandbox and rehearse the toolkit on it, step by step.",
            Kind.mutate,
            RehearsalParams,
            run_rehearsal,
            plan_rehearsal,
        ),
    ):
        cat.register(op)
