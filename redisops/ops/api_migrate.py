"""The Python API of the migration: typed methods over the catalogue's ``migrate.*`` operations.

Each method validates its arguments through the operation's parameter model (a bad value is
:class:`~redisops.errors.InvalidArgument` naming the field), runs on the target it was built with (the
migration's destination), sends its events to ``on_event`` and stops on ``cancel``. The source is given
by ``source_url`` and its credentials (``source_password_file``, ``$REDISOPS_SOURCE_PASSWORD``,
``source_user``, ``source_tls_ca``); without ``source_url`` it is the sandbox's ElastiCache-like
source::

    import redisops
    from redisops.ops.api_migrate import MigrateAPI

    migrate = MigrateAPI(redisops.target())           # into the sandbox target
    # plan = migrate.plan(source_url="rediss://app@es.example:6379", source_tls_ca="ca.pem")
    # plan.raise_if_blocked()
    # migrate.copy(follow=True, follow_seconds=600)      # the bulk copy, then the dual-write window
    # report = migrate.verify(rounds=3); report.raise_if_different()   # VerifyDifferences: exit 22
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import BaseModel

    from redisops.cancel import CancelToken
    from redisops.events import EventSink
    from redisops.migrate.plan import MigrationPlan
    from redisops.migrate.verify import VerifyReport
    from redisops.ops.entries_migrate_copy import MigrateCopyResult
    from redisops.ops.target import Target

__all__ = ["MigrateAPI"]


def _params(model: type[BaseModel], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """An operation's parameters out of a method's arguments (``locals()``): every field of the
    operation's parameter model that the method takes. The model is the one list of the names; the
    methods' typed signatures are pinned to it (names and defaults) by tests/unit/test_api_migrate.py."""
    return {name: arguments[name] for name in model.model_fields if name in arguments}


class MigrateAPI:
    """Migrating a source Redis (ElastiCache) into the target: plan, copy (and follow), verify."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"MigrateAPI({self._target!r})"

    def plan(
        self,
        *,
        source_url: str | None = None,
        source_user: str | None = None,
        source_password_file: str | None = None,
        source_tls_ca: str | None = None,
        source_tls_insecure: bool = False,
        notify_keyspace_events: str | None = None,
        replication_group: str | None = None,
        sample: int = 500,
        big_key_bytes: int = 4 << 20,
        big_key_scan_limit: int = 200_000,
        max_ops: float = 0.0,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> MigrationPlan:
        """The migration plan (``migrate.plan``): versions, dbs, memory fit, big keys, keyspace
        notifications (``notify_keyspace_events``: the parameter group's value; else read from the
        parameter group of ``replication_group``, the sandbox's by default), estimated copy time.
        Writes nothing; ``.blockers`` are what the copy refuses (``.raise_if_blocked()``: exit 15)."""
        from redisops.ops.entries_migrate import MigratePlanParams

        params = _params(MigratePlanParams, locals())
        result: MigrationPlan = self._target.run("migrate.plan", params, on_event=on_event, cancel=cancel)
        return result

    def verify(
        self,
        *,
        source_url: str | None = None,
        source_user: str | None = None,
        source_password_file: str | None = None,
        source_tls_ca: str | None = None,
        source_tls_insecure: bool = False,
        dbs: list[int] | None = None,
        mode: Literal["full", "sample"] = "full",
        sample_size: int = 1000,
        ttl_tolerance_ms: int = 2000,
        rounds: int = 3,
        round_delay: float = 1.0,
        max_ops: float = 0.0,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> VerifyReport:
        """Compare the source with the target (``migrate.verify``): counts, then keys both ways, the
        differing ones re-checked ``rounds - 1`` times. The report's ``.raise_if_different()`` raises
        VerifyDifferences (exit 22) on stable differences; in-flight keys are named, not counted."""
        from redisops.ops.entries_migrate import MigrateVerifyParams

        params = _params(MigrateVerifyParams, locals())
        result: VerifyReport = self._target.run("migrate.verify", params, on_event=on_event, cancel=cancel)
        return result

    def copy(
        self,
        *,
        source_url: str | None = None,
        source_user: str | None = None,
        source_password_file: str | None = None,
        source_tls_ca: str | None = None,
        source_tls_insecure: bool = False,
        dbs: list[int] | None = None,
        replace: bool = False,
        ops_per_second: float = 0.0,
        resume: bool = False,
        checkpoint_path: str | None = None,
        follow: bool = False,
        follow_seconds: float | None = None,
        notifications: bool | None = None,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        **options: Any,
    ) -> MigrateCopyResult:
        """Copy the source into the target (``migrate.copy``, planned first: a blocked plan raises
        PlanBlocked, exit 15): SCAN + DUMP/RESTORE with TTLs, big keys in chunks, ``ops_per_second`` cap,
        a checkpoint to ``resume`` from; with ``follow`` the source's changes are applied afterwards
        until ``cancel`` (or ``follow_seconds``). ``options``: the operation's other parameters
        (``redisops ops show migrate.copy``)."""
        from redisops.ops.entries_migrate_copy import MigrateCopyParams

        params = {**_params(MigrateCopyParams, locals()), **options}
        result: MigrateCopyResult = self._target.run("migrate.copy", params, on_event=on_event, cancel=cancel)
        return result
