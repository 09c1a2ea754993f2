"""The Python API of the audit trail: ``AuditAPI(target).list(...)`` over the catalogue's ``audit.list``
(this machine's audit log, or with ``store=True`` the records kept beside the target's backups), and
its result type :class:`AuditList`::

    import redisops
    from redisops.ops.api_audit import AuditAPI

    for record in AuditAPI(redisops.target()).list(store=True, operation="backup").records:
        print(record["at"], record["user"], record["op"], record["outcome"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redisops._lazy import lazy_getattr

if TYPE_CHECKING:
    from redisops.ops.entries_audit import AuditList
    from redisops.ops.target import Target

__all__ = ["AuditAPI", "AuditList"]

__getattr__ = lazy_getattr(__name__, {"AuditList": "redisops.ops.entries_audit"}, globals())


class AuditAPI:
    """Reads the audit trail of the target's changes."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"AuditAPI({self._target!r})"

    def list(
        self, *, store: bool = False, source: str | None = None, operation: str | None = None, limit: int = 50
    ) -> AuditList:
        """The newest ``limit`` records (of ``operation``, a name or an area), oldest first: this
        machine's log, or with ``store`` the ones in the target's backup store (``source`` in it)."""
        params = {"store": store, "source": source, "operation": operation, "limit": limit}
        result: AuditList = self._target.run("audit.list", params)
        return result
