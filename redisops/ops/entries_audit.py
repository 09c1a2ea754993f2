"""Catalogue entry of the audit trail: ``audit.list`` reads it back, from this machine's log or from the
backup store (:mod:`redisops.ops.audit`, :mod:`redisops.ops.audit_store`). Read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation

__all__ = ["AuditList", "AuditListParams", "register"]


class AuditListParams(BaseModel):
    """Parameters of ``audit.list``."""

    model_config = ConfigDict(extra="forbid")

    store: bool = Field(
        False,
        description="read the records kept beside the backups in the target's backup store instead of "
        "this machine's audit log",
    )
    source: str | None = Field(
        None, description="with store: the source name in the store [default: the config's service name]"
    )
    operation: str | None = Field(
        None,
        description="only records of this operation (backup.create) or area (backup) [default: all]",
        max_length=100,
    )
    limit: int = Field(50, ge=1, le=10000, description="the newest records to show")


@dataclass
class AuditList:
    """Audit records, oldest first, and where they were read (a file, or ``s3://bucket/<root>/audit/``)."""

    where: str
    records: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"where": ..., "count": N, "records": [...]}``."""
        return {"where": self.where, "count": len(self.records), "records": self.records}


def _matches(record: dict[str, Any], op: str | None) -> bool:
    name = str(record.get("op") or "")
    return not op or name == op or name.startswith(op.rstrip(".") + ".")


def run_audit_list(ctx: OpContext, p: AuditListParams) -> AuditList:
    """``audit.list``: the newest ``limit`` audit records (of ``operation``), oldest first."""
    if p.store:
        from redisops.ops.audit_store import StoreAuditTrail

        trail = StoreAuditTrail(ctx.target.store(p.source))
        ctx.reporter.phase("read", trail.where)
        return AuditList(trail.where, trail.read(limit=p.limit, op=p.operation))
    from redisops.ops.audit import AuditLog

    log = AuditLog()
    records = [r for r in log.read() if _matches(r, p.operation)]
    return AuditList(str(log.path), records[-p.limit :])


def register(cat: Catalogue) -> None:
    """Add ``audit.list``."""
    cat.register(
        Operation(
            "audit.list",
            "The audit trail of changes: this machine's log, or the records kept in the backup store.",
            Kind.read,
            AuditListParams,
            run_audit_list,
            result=AuditList,
        )
    )
