"""Catalogue entries of the migration area: ``migrate.plan`` and ``migrate.verify`` (both ``read``).

``migrate.verify`` saves its report in the state dir (``migrate/verify-<time>.json``, 0600), where
``elasticache.decommission``'s verify rail looks for a clean, fresh one.

The target is ``ctx.target`` (:attr:`~redisops.ops.target.Target.redis`, and its deployment config for
the container's memory limit); the source comes from the ``source_*`` parameters
(:func:`~redisops.ops.migrate_source.resolve_source`: a URL, an ACL user, a password file or
``$REDISOPS_SOURCE_PASSWORD``, a CA file; default the sandbox's ElastiCache-like source). A password
written in ``source_url`` is taken out of it when the parameters are read, so events and logs never
carry it::

    from redisops.ops.catalogue import Catalogue
    from redisops.ops.entries_migrate import MigrateVerifyParams, register

    cat = Catalogue()
    register(cat)
    assert cat.get("migrate.verify").schema()["properties"]["rounds"]["default"] == 3
    p = MigrateVerifyParams(source_url="redis://app:s3cret@es.example:6379")
    assert "s3cret" not in str(p.model_dump()) and p.source_password_in_url == "s3cret"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from redisops.migrate.plan import PlanOptions
from redisops.migrate.verify import VerifyOptions
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation

if TYPE_CHECKING:
    from redisops.adapters.redis_conn import RedisEndpoint
    from redisops.migrate.plan import MigrationPlan
    from redisops.migrate.verify import VerifyReport

__all__ = ["MigratePlanParams", "MigrateVerifyParams", "SourceParams", "register"]


class SourceParams(BaseModel):
    """Where the migration's source is and with which credentials (never the password itself)."""

    model_config = ConfigDict(extra="forbid")

    source_url: str | None = Field(
        default=None,
        description="the source: redis://[user@]host:port or rediss:// (TLS); null: the sandbox's "
        "ElastiCache-like source. A password in the URL is taken out (use source_password_file or "
        "$REDISOPS_SOURCE_PASSWORD instead)",
    )
    source_user: str | None = Field(default=None, description="ACL user on the source (default: the URL's)")
    source_password_file: str | None = Field(
        default=None,
        description="file whose first line is the source's password or AUTH token "
        "(default: $REDISOPS_SOURCE_PASSWORD, else the URL's)",
    )
    source_tls_ca: str | None = Field(default=None, description="CA bundle for a rediss:// source")
    source_tls_insecure: bool = Field(default=False, description="do not verify the source's TLS certificate")
    source_timeout: float = Field(default=10.0, gt=0, le=3600, description="connect and command timeout (s)")

    _password: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _take_password_out(self) -> SourceParams:
        url = self.source_url
        if url:
            try:
                parts = urlsplit(url)
                password = parts.password
            except ValueError:
                return self  # resolve_source reports the malformed URL
            if password:
                self._password = unquote(password)
                netloc = parts.netloc.rsplit("@", 1)[1]
                if parts.username:
                    netloc = f"{parts.username}@{netloc}"
                self.source_url = parts._replace(netloc=netloc).geturl()
        return self

    @property
    def source_password_in_url(self) -> str | None:
        """The password that was in ``source_url`` (kept out of dumps, events and logs)."""
        return self._password

    def endpoint(self, target: Any) -> RedisEndpoint:
        """The source endpoint (:func:`~redisops.ops.migrate_source.resolve_source`), with the target's
        sandbox state dir and environment."""
        from redisops.ops.migrate_source import resolve_source

        return resolve_source(
            url=self.source_url,
            url_password=self._password,
            user=self.source_user,
            password_file=self.source_password_file,
            tls_ca=self.source_tls_ca,
            tls_insecure=self.source_tls_insecure,
            timeout=self.source_timeout,
            state_dir=getattr(target, "state_dir", None),
            env=getattr(target, "env", None),
        )


class MigratePlanParams(SourceParams, PlanOptions):
    """Parameters of ``migrate.plan``: the source, and what the plan samples."""

    model_config = ConfigDict(extra="forbid")

    replication_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9-]{0,254}$",
        description="the source's ElastiCache replication group: notify-keyspace-events is read from its "
        "parameter group when not given [default: the sandbox's group, for the sandbox's source]",
    )


class MigrateVerifyParams(SourceParams, VerifyOptions):
    """Parameters of ``migrate.verify``: the source, and what the verify compares."""

    model_config = ConfigDict(extra="forbid")


def container_limit(target: Any) -> int | None:
    """The target container's memory limit (bytes) from its deployment config, when the target has one
    (a config file, or the sandbox, which rehearses the config it was started with)."""
    from redisops.config.model import quantity_value

    if getattr(target, "config_path", None) is None and not getattr(target, "is_sandbox", False):
        return None
    return int(quantity_value(target.config().resources.limits.memory))


def migrate_plan(ctx: OpContext, p: MigratePlanParams) -> MigrationPlan:
    """Read the source and the target and plan the migration (writes nothing to either)."""
    from redisops.migrate.plan import build_plan

    source = p.endpoint(ctx.target)
    target = ctx.target.redis
    ctx.reporter.phase("connecting", f"source {source.url()}, target {target.url()}")
    options = PlanOptions.model_validate(p.model_dump(include=set(PlanOptions.model_fields)))
    parameter_group = None
    if options.notify_keyspace_events is None:
        parameter_group, value = _parameter_group_events(ctx, p)
        options = options.model_copy(update={"notify_keyspace_events": value})
    return build_plan(
        source, target, options, container_limit=container_limit(ctx.target), parameter_group=parameter_group,
        reporter=ctx.reporter, cancel=ctx.cancel,
    )  # fmt: skip


def _parameter_group_events(ctx: OpContext, p: MigratePlanParams) -> tuple[str | None, str | None]:
    """``(parameter group, notify-keyspace-events)`` of the source's replication group through the AWS
    adapter: the group named, else the sandbox's for the sandbox's source; ``(None, None)`` when there
    is none or AWS cannot be read (a warning says why)."""
    from redisops.errors import RedisOpsError

    group = p.replication_group
    if group is None and p.source_url is not None:
        return None, None  # a source given by URL: its group is not the sandbox's
    try:
        from redisops.ops.elasticache import aws_side

        side = aws_side(ctx.target)
        group = group or side.group
        if group is None:
            return None, None
        ctx.reporter.phase("parameter group", f"notify-keyspace-events of replication group {group}")
        return side.aws.keyspace_events(group)
    except RedisOpsError as e:
        ctx.reporter.warning(f"could not read the source's parameter group: {e.one_line()}")
        return None, None


def migrate_verify(ctx: OpContext, p: MigrateVerifyParams) -> VerifyReport:
    """Compare the source with the target: counts, keys both ways in rounds; the plan's blockers again."""
    from redisops.migrate.plan import check_blockers
    from redisops.migrate.verify import run_verify

    source = p.endpoint(ctx.target)
    target = ctx.target.redis
    ctx.reporter.phase("connecting", f"source {source.url()}, target {target.url()}")
    options = VerifyOptions.model_validate(p.model_dump(include=set(VerifyOptions.model_fields)))
    report = run_verify(source, target, options, reporter=ctx.reporter, cancel=ctx.cancel)
    for finding in check_blockers(source, target, container_limit=container_limit(ctx.target)):
        report.warnings.append(f"the plan's blocker holds: {finding.message}")
        ctx.reporter.warning(f"the plan's blocker holds: {finding.message}")
    _save_report(ctx, report, source, target)
    return report


def _save_report(ctx: OpContext, report: VerifyReport, source: RedisEndpoint, target: RedisEndpoint) -> None:
    """Save the report where ``elasticache.decommission``'s verify rail looks for it
    (:func:`~redisops.ops.cutover_record.save_verify`); a failure to save is a warning, not a failed
    verify."""
    from redisops.ops.cutover_common import state_dir_of
    from redisops.ops.cutover_record import save_verify

    try:
        saved = save_verify(
            report, f"{source.host}:{source.port}", f"{target.host}:{target.port}", state_dir_of(ctx.target)
        )
    except OSError as e:
        ctx.reporter.warning(
            f"the verify report was not saved ({e.strerror or e}): decommission will not see it"
        )
        return
    ctx.reporter.log(f"verify report saved to {saved.path}")


def register(cat: Catalogue) -> None:
    """Add the migration operations to ``cat``."""
    from redisops.migrate.plan import MigrationPlan
    from redisops.migrate.verify import VerifyReport

    for op in (
        Operation("migrate.plan", "Plan a migration into the target: versions, memory fit, big keys, "
                  "keyspace notifications, estimated copy time (writes nothing).", Kind.read,
                  MigratePlanParams, migrate_plan, result=MigrationPlan),
        Operation("migrate.verify", "Compare the source with the target: counts, then type, value and TTL of "
                  "every (or sampled) key both ways, re-checked in rounds.", Kind.read,
                  MigrateVerifyParams, migrate_verify, result=VerifyReport),
    ):  # fmt: skip
        cat.register(op)
