"""The Python API of the cutover, the rollback to ElastiCache and the decommission: typed methods over
``migrate.cutover``, ``migrate.rollback`` and ``elasticache.decommission``::

    import redisops
    from redisops.ops.api_cutover import CutoverAPI

    api = CutoverAPI(redisops.target())              # the sandbox: its AppConfig and source by default
    # print(api.plan_cutover().steps)                # what would change (changes nothing)
    # result = api.cutover()                         # verify, switch, restart, check; recorded
    # api.rollback()                                 # back to ElastiCache, exactly what was recorded
    # api.decommission(confirm=True)                 # after the guard rails; refusals name the rail

Each keyword is a field of the operation's parameter model (``redisops ops show migrate.cutover``);
a bad value is :class:`~redisops.errors.InvalidArgument` naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.events import EventSink
    from redisops.ops.catalogue import Plan
    from redisops.ops.cutover import CutoverResult
    from redisops.ops.cutover_rollback import RollbackResult
    from redisops.ops.elasticache_decommission import DecommissionResult
    from redisops.ops.target import Target

__all__ = ["CutoverAPI"]


class CutoverAPI:
    """Cutover, rollback and decommission on a target (the migration's destination)."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"CutoverAPI({self._target!r})"

    def plan_cutover(self, **params: Any) -> Plan:
        """The plan of ``migrate.cutover`` (reads only)."""
        return self._target.plan("migrate.cutover", params)

    def cutover(
        self, *, on_event: EventSink | None = None, cancel: CancelToken | None = None, **params: Any
    ) -> CutoverResult:
        """``migrate.cutover``: verify, switch AppConfig (``mode`` api or terraform), NetworkPolicies,
        restarts, client checks; the record is the undo point."""
        result: CutoverResult = self._target.run("migrate.cutover", params, on_event=on_event, cancel=cancel)
        return result

    def plan_rollback(self, **params: Any) -> Plan:
        """The plan of ``migrate.rollback`` (reads only)."""
        return self._target.plan("migrate.rollback", params)

    def rollback(
        self,
        *,
        confirm: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        **params: Any,
    ) -> RollbackResult:
        """``migrate.rollback`` of the newest (or ``record``) cutover; ``copy_back`` needs ``confirm``."""
        result: RollbackResult = self._target.run(
            "migrate.rollback", params, on_event=on_event, cancel=cancel, confirm=confirm
        )
        return result

    def plan_decommission(self, **params: Any) -> Plan:
        """The guard rails and steps of ``elasticache.decommission`` (reads only)."""
        return self._target.plan("elasticache.decommission", params)

    def decommission(
        self,
        *,
        confirm: bool = False,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        **params: Any,
    ) -> DecommissionResult:
        """``elasticache.decommission`` (destructive: ``confirm=True``); PlanBlocked names the failed rail."""
        result: DecommissionResult = self._target.run(
            "elasticache.decommission", params, on_event=on_event, cancel=cancel, confirm=confirm
        )
        return result
