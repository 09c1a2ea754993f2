"""Catalogue entries of the cutover, the rollback to ElastiCache and the decommission (issue 14 items
6-8): ``migrate.cutover`` and ``migrate.rollback`` (mutate: they change configuration, not data, and
each undoes the other; the rollback's ``copy_back``, which overwrites keys on the source, asks for the
confirmation a destructive run does) and ``elasticache.decommission`` (destructive: the replication
group is gone for good, only its final snapshot stays).

The source (``source_*``) is :class:`~redisops.ops.entries_migrate.SourceParams`: the sandbox's
ElastiCache-like source by default. The AppConfig application, environment and profile are IDs; the
sandbox's are the default for the sandbox target.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from redisops.ops.catalogue import Catalogue, Kind, Operation
from redisops.ops.entries_migrate import SourceParams

__all__ = ["CutoverParams", "DecommissionParams", "RollbackParams", "register"]

_NAME = r"^[A-Za-z][A-Za-z0-9-]{0,254}$"


class CutoverParams(SourceParams):
    """Parameters of ``migrate.cutover``."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["api", "terraform"] = Field(
        "api",
        description="api: deploy a new AppConfig version through the API; terraform: print the write-up's "
        "appconfig/main.tf change and wait until the read-back shows the new endpoint",
    )
    application: str | None = Field(None, description="AppConfig application ID [default: the sandbox's]")
    environment: str | None = Field(None, description="AppConfig environment ID [default: the sandbox's]")
    profile: str | None = Field(
        None, description="AppConfig configuration profile ID [default: the sandbox's]"
    )
    strategy: str | None = Field(None, description="deployment strategy [default: AppConfig.AllAtOnce]")
    host: str | None = Field(
        None, description="the new endpoint's host [default: the config's service_dns; the sandbox target's]"
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="the new endpoint's port [default: the config's]"
    )
    hcl_file: str | None = Field(None, description="terraform mode: also write the HCL diff to this file")
    timeout: float = Field(
        1800.0, ge=1, le=86400, description="seconds to wait for the deployment / read-back"
    )
    poll_interval: float = Field(2.0, ge=0.01, le=300, description="seconds between read-back polls")
    kubernetes: bool | None = Field(
        None,
        description="the clients run on Kubernetes [default: no for the sandbox, else when a cluster is set]",
    )
    helm_owned: Literal["skip", "edit"] = Field(
        "skip",
        description="NetworkPolicies a Helm release owns: skip (say what to change in the release) or edit "
        "them anyway (the next helm upgrade reverts that)",
    )
    elasticache_port: int | None = Field(
        None, ge=1, le=65535, description="port of the egress rules to ElastiCache [default: the group's]"
    )
    replication_group: str | None = Field(
        None, pattern=_NAME, description="the source's replication group [default: the sandbox's]"
    )
    restart: list[str] | None = Field(
        None, description="Deployments to restart [default: the config's clients.services]"
    )
    restart_timeout: float = Field(300.0, ge=1, le=86400, description="seconds to wait for each rollout")
    verify: bool = Field(True, description="verify source and target first (stable differences refuse)")
    verify_mode: Literal["full", "sample"] = Field("full", description="what the first verify compares")
    verify_rounds: int = Field(3, ge=1, le=20, description="re-check rounds of the first verify")
    verify_round_delay: float = Field(1.0, ge=0, le=3600, description="seconds between verify rounds")
    rollback_window_hours: float = Field(
        48.0,
        ge=0,
        le=24 * 365,
        description="hours the decommission waits after the cutover (write-up: 24-48)",
    )


class RollbackParams(SourceParams):
    """Parameters of ``migrate.rollback``."""

    model_config = ConfigDict(extra="forbid")

    record: str | None = Field(
        None,
        pattern=r"^cutover-[0-9TZ]+$",
        description="the cutover record id (cutover-<time>) [default: the newest]",
    )
    hcl_file: str | None = Field(None, description="terraform mode: also write the reverse HCL diff here")
    timeout: float = Field(
        1800.0, ge=1, le=86400, description="seconds to wait for the deployment / read-back"
    )
    poll_interval: float = Field(2.0, ge=0.01, le=300, description="seconds between read-back polls")
    restart_timeout: float = Field(300.0, ge=1, le=86400, description="seconds to wait for each rollout")
    copy_back: bool = Field(
        False,
        description="copy the new Redis back into the source (whole keyspace with REPLACE; "
        "needs confirmation)",
    )


class DecommissionParams(SourceParams):
    """Parameters of ``elasticache.decommission``."""

    model_config = ConfigDict(extra="forbid")

    replication_group: str | None = Field(
        None, pattern=_NAME, description="the replication group to delete [default: the sandbox's]"
    )
    final_snapshot: str | None = Field(
        None, pattern=_NAME, description="the final snapshot's name [default: <group>-final-<UTC time>]"
    )
    quiet_seconds: float = Field(60.0, ge=0, le=86400, description="seconds the source must have no client")
    sample_interval: float = Field(5.0, ge=0.05, le=3600, description="seconds between CLIENT LIST samples")
    verify_max_age_hours: float = Field(24.0, gt=0, le=24 * 365, description="age limit of the verify report")
    rollback_window_hours: float | None = Field(
        None, ge=0, le=24 * 365, description="hours after the cutover [default: the cutover record's]"
    )
    backup_source: str | None = Field(
        None,
        description="the backup store's source name of the new Redis [default: the config's service name]",
    )
    timeout: float = Field(3600.0, ge=1, le=86400, description="seconds to wait for the final snapshot")
    poll_interval: float = Field(5.0, ge=0.05, le=300, description="seconds between DescribeSnapshots polls")


def register(cat: Catalogue) -> None:
    """Add ``migrate.cutover``, ``migrate.rollback`` and ``elasticache.decommission``."""
    from redisops.ops.cutover import CutoverResult, plan_cutover, run_cutover
    from redisops.ops.cutover_rollback import RollbackResult, plan_rollback, run_rollback
    from redisops.ops.elasticache_decommission import DecommissionResult, plan_decommission, run_decommission

    for op in (
        Operation(
            "migrate.cutover",
            "Point the clients at the new Redis: AppConfig (API or Terraform), egress "
            "NetworkPolicies, restarts, client checks; recorded for rollback.",
            Kind.mutate,
            CutoverParams,
            run_cutover,
            plan_cutover,
            CutoverResult,
        ),
        Operation(
            "migrate.rollback",
            "Revert the last cutover: the previous AppConfig content, NetworkPolicies, "
            "restarts, checks; optionally copy the new writes back.",
            Kind.mutate,
            RollbackParams,
            run_rollback,
            plan_rollback,
            RollbackResult,
        ),
        Operation(
            "elasticache.decommission",
            "Delete the ElastiCache replication group with a final snapshot, "
            "after its guard rails (clients, verify, backup, rollback window).",
            Kind.destructive,
            DecommissionParams,
            run_decommission,
            plan_decommission,
            DecommissionResult,
        ),
    ):
        cat.register(op)
