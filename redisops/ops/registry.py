"""Every operation of redisops in one catalogue, built on first use (importing this loads no operation).

Each area registers its operations from a module of its own (``register(catalogue)``); front ends and
scripts reach them through :func:`catalogue` (or a :class:`~redisops.ops.target.Target`'s ``run`` and
``plan``)::

    from redisops.ops.registry import catalogue

    ops = catalogue()
    assert all(op.name.count(".") >= 1 for op in ops)
"""

from __future__ import annotations

import threading

from redisops.ops.audit import AuditLog
from redisops.ops.catalogue import Catalogue

__all__ = ["AREAS", "catalogue"]

#: the modules that register operations, one per area (each has ``register(cat: Catalogue) -> None``),
#: with the name prefixes each registers (``backup`` for ``backup.create``): the catalogue imports an
#: area only when one of its operations is asked for (the migration areas alone take ~0.2 s to import),
#: and every area when it is listed. ``tests/unit/test_catalogue_startup.py`` checks the prefixes.
AREAS: dict[str, tuple[str, ...]] = {
    "redisops.ops.entries_inspect": ("clients", "health", "info", "keys", "latency", "memory", "slowlog"),
    "redisops.ops.entries_backup": ("backup",),
    "redisops.ops.entries_restore": ("restore",),
    "redisops.ops.entries_restore_data_dir": ("restore",),
    "redisops.ops.entries_deploy": ("deploy", "lint", "manifests"),
    "redisops.ops.entries_sandbox": ("rehearsal", "sandbox"),
    "redisops.ops.entries_elasticache": ("elasticache",),
    "redisops.ops.entries_audit": ("audit",),
    "redisops.ops.entries_config": ("config",),
    "redisops.ops.entries_migrate": ("migrate",),
    "redisops.ops.entries_migrate_copy": ("migrate",),
    "redisops.ops.entries_cutover": ("elasticache", "migrate"),
    "redisops.ops.entries_platform": ("platform",),
}

_lock = threading.Lock()
_built: Catalogue | None = None


def catalogue() -> Catalogue:
    """The catalogue of every operation (built once, thread-safe; each area is imported on first use)."""
    global _built
    with _lock:
        if _built is None:
            _built = Catalogue(audit=AuditLog(), areas=AREAS)  # $REDISOPS_AUDIT_LOG or the state dir
        return _built
