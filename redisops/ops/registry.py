"""Every operation of redisops in one catalogue, built on first use (importing this loads no operation).

Each area registers its operations from a module of its own (``register(catalogue)``); front ends and
scripts reach them through :func:`catalogue` (or a :class:`~redisops.ops.target.Target`'s ``run`` and
``plan``)::

    from redisops.ops.registry import catalogue

    ops = catalogue()
    assert all(op.name.count(".") >= 1 for op in ops)
"""

from __future__ import annotations

import importlib
import threading

from redisops.ops.audit import AuditLog
from redisops.ops.catalogue import Catalogue

__all__ = ["AREAS", "catalogue"]

#: the modules that register operations, one per area (each has ``register(cat: Catalogue) -> None``)
AREAS: tuple[str, ...] = (
    "redisops.ops.entries_inspect",
    "redisops.ops.entries_backup",
    "redisops.ops.entries_restore",
    "redisops.ops.entries_restore_data_dir",
    "redisops.ops.entries_deploy",
    "redisops.ops.entries_sandbox",
    "redisops.ops.entries_elasticache",
    "redisops.ops.entries_audit",
    "redisops.ops.entries_config",
    "redisops.ops.entries_migrate",
    "redisops.ops.entries_migrate_copy",
    "redisops.ops.entries_cutover",
    "redisops.ops.entries_platform",
)

_lock = threading.Lock()
_built: Catalogue | None = None


def catalogue() -> Catalogue:
    """The catalogue of every operation (built once, thread-safe)."""
    global _built
    with _lock:
        if _built is None:
            cat = Catalogue(audit=AuditLog())  # $REDISOPS_AUDIT_LOG or the user state dir
            for module in AREAS:
                importlib.import_module(module).register(cat)
            _built = cat
        return _built
