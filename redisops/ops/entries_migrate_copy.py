"""Catalogue entry ``migrate.copy`` (``mutate``): copy the source into the target, optionally following
the source's changes afterwards (the dual-write window).

The target is ``ctx.target``; the source comes from the ``source_*`` parameters (shared with
``migrate.plan`` / ``migrate.verify``: :class:`~redisops.ops.entries_migrate.SourceParams`). The plan
reads both servers and writes nothing: the databases and key counts it would copy, the memory fit (the
migration plan's blockers: a target whose maxmemory cannot hold the data refuses, since copying would
silently evict keys or fail with OOM), a version gap (the copy then goes type by type), and whether a
checkpoint would be resumed::

    from redisops.ops.catalogue import Catalogue
    from redisops.ops.entries_migrate_copy import register

    cat = Catalogue()
    register(cat)
    props = cat.get("migrate.copy").schema()["properties"]
    assert props["big_key_bytes"]["default"] == 4 << 20 and props["follow"]["default"] is False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field

from redisops.migrate.copy import CopyOptions
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation, Plan
from redisops.ops.entries_migrate import SourceParams, container_limit

if TYPE_CHECKING:
    from redisops.adapters.redis_conn import RedisEndpoint
    from redisops.migrate.copy_report import CopyReport
    from redisops.migrate.follow import FollowReport

__all__ = ["MigrateCopyParams", "MigrateCopyResult", "register"]


class MigrateCopyParams(SourceParams, CopyOptions):
    """Parameters of ``migrate.copy``: the source, how to copy, and whether to follow afterwards."""

    model_config = ConfigDict(extra="forbid")

    follow: bool = Field(
        default=False,
        description="after the bulk copy, apply the source's changes until cancelled (or follow_seconds)",
    )
    notifications: bool | None = Field(
        default=None,
        description="the source's parameter group enables keyspace notifications (KEA): follow them; "
        "false: follow with SCAN passes; null: read CONFIG where allowed, else SCAN passes",
    )
    follow_seconds: float | None = Field(
        default=None, gt=0, description="stop following after this many seconds (null: until cancelled)"
    )
    pass_interval: float = Field(
        default=5.0, ge=0, le=3600, description="seconds between the follow's SCAN passes (scan mode)"
    )


@dataclass
class MigrateCopyResult:
    """The copy's report and, with ``follow``, the follow's report."""

    copy: CopyReport | None = None
    follow: FollowReport | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``{"copy": {...}, "follow": {...} | null}``."""
        return {
            "copy": self.copy.to_dict() if self.copy is not None else None,
            "follow": self.follow.to_dict() if self.follow is not None else None,
        }


def _copy_options(p: MigrateCopyParams) -> CopyOptions:
    return CopyOptions.model_validate(p.model_dump(include=set(CopyOptions.model_fields)))


def _label(ep: RedisEndpoint) -> str:
    return f"{ep.host}:{ep.port}"


def plan_copy(ctx: OpContext, p: MigrateCopyParams) -> Plan:
    """What the copy would do; reads INFO of both servers, writes nothing."""
    from redisops.migrate.checkpoint import load_checkpoint
    from redisops.migrate.cluster import merged_info
    from redisops.migrate.plan import check_blockers

    source = p.endpoint(ctx.target)
    target = ctx.target.redis
    # a Redis Cluster on either side: every primary's keys summed (INFO of one node holds its shard only)
    src_sizes, tgt_sizes = (
        {db: ks.keys for db, ks in merged_info(ep, "keyspace").keyspace.items() if ks.keys > 0}
        for ep in (source, target)
    )
    versions = [_version(ep) for ep in (source, target)]
    dbs = sorted(p.dbs) if p.dbs is not None else sorted(src_sizes)
    keys = {db: src_sizes.get(db, 0) for db in dbs}
    steps = [
        f"copy {sum(keys.values())} keys from {_label(source)} to {_label(target)}: "
        + ", ".join(f"db {db} {n}" for db, n in keys.items()),
        f"SCAN COUNT {p.batch_size}, DUMP/RESTORE in pipelines of {p.pipeline_depth} keys"
        + ("" if not p.by_type else " (type by type: by_type)")
        + f"; keys over {p.big_key_bytes} bytes type by type in chunks of {p.chunk_size}",
        "existing target keys are replaced" if p.replace else "existing target keys are skipped (BUSYKEY)",
    ]
    if p.ops_per_second:
        steps.append(f"at most {p.ops_per_second:g} commands per second on the source")
    if p.follow:
        steps.append(
            "then follow the source's changes "
            + (f"for {p.follow_seconds:g} s" if p.follow_seconds else "until cancelled")
        )
    warnings: list[str] = []
    busy = {db: tgt_sizes[db] for db in dbs if tgt_sizes.get(db)}
    if busy and not p.replace:
        warnings.append(
            "the target already holds keys ("
            + ", ".join(f"db {db} {n}" for db, n in busy.items())
            + "): keys of the same name are skipped, not replaced"
        )
    if versions[0] and versions[1] and _newer(versions[0], versions[1]) and not p.by_type:
        warnings.append(
            f"the source runs Redis {versions[0]}, the target {versions[1]}: payloads the target refuses "
            "are copied type by type (slower)"
        )
    if p.checkpoint_path is not None:
        cp = load_checkpoint(p.checkpoint_path, source=_label(source), target=_label(target))
        if cp is not None:
            if not p.resume:
                warnings.append(
                    f"a checkpoint exists at {p.checkpoint_path}: the copy refuses without resume"
                )
            else:
                done = [db for db, e in cp.dbs.items() if e.done]
                steps.insert(0, f"resume from the checkpoint {p.checkpoint_path} (done: db {done or 'none'})")
    blockers = [
        f.message
        for f in check_blockers(
            source, target, container_limit=container_limit(ctx.target), during=bool(busy)
        )
    ]
    details = {
        "source": _label(source),
        "target": _label(target),
        "keys": {str(db): n for db, n in keys.items()},
        "target_keys": {str(db): n for db, n in tgt_sizes.items()},
        "versions": {"source": versions[0], "target": versions[1]},
    }
    return Plan("migrate.copy", steps=tuple(steps), blockers=tuple(blockers), warnings=tuple(warnings),
                details=details)  # fmt: skip


def _version(ep: RedisEndpoint) -> str | None:
    from redisops.errors import RedisOpsError
    from redisops.migrate.cluster import merged_info

    try:
        return merged_info(ep, "server").server.redis_version
    except RedisOpsError:  # a server that hides INFO server: the version is unknown
        return None


def _newer(a: str, b: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split(".")[:3] if x.isdigit())

    return parts(a) > parts(b)


def run_copy_op(ctx: OpContext, p: MigrateCopyParams) -> MigrateCopyResult:
    """Copy (and with ``follow`` keep following) the source into the target."""
    from redisops.migrate.copy import run_copy
    from redisops.migrate.follow import FollowOptions, run_follow

    source = p.endpoint(ctx.target)
    target = ctx.target.redis
    options = _copy_options(p)
    if not p.follow:
        return MigrateCopyResult(copy=run_copy(source, target, options, ctx.reporter, ctx.cancel))
    out = MigrateCopyResult()

    def bulk() -> CopyReport:
        out.copy = run_copy(source, target, options, ctx.reporter, ctx.cancel)
        return out.copy

    follow = FollowOptions(
        dbs=p.dbs,
        pass_interval=p.pass_interval,
        ops_per_second=p.ops_per_second,
        big_key_bytes=p.big_key_bytes,
        chunk_size=p.chunk_size,
        by_type=p.by_type,
        duration_seconds=p.follow_seconds,
    )
    followed = run_follow(source, target, follow, ctx.reporter, ctx.cancel, notifications=p.notifications,
                          bulk=bulk)  # fmt: skip
    out.follow = followed
    return out


def register(cat: Catalogue) -> None:
    """Add ``migrate.copy`` to ``cat``."""
    cat.register(
        Operation("migrate.copy", "Copy the source (ElastiCache) into the target: SCAN + DUMP/RESTORE with "
                  "TTLs, big keys in chunks, throttled, resumable; optionally follow the source's changes.",
                  Kind.mutate, MigrateCopyParams, run_copy_op, plan=plan_copy, result=MigrateCopyResult)
    )  # fmt: skip
