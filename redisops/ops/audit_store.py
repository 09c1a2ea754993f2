"""The audit trail beside the backups: each operation on a backup store leaves its audit record there too.

The local audit log (:mod:`redisops.ops.audit`) is one machine's; the store is shared by everyone who
backs up or restores that Redis (the CronJob, the on-call laptop, a runbook). So every mutating or
destructive operation that acts on a store (``backup.create``, ``backup.delete``, ``backup.prune``,
``backup.gc``, ``backup.unlock``, ``backup.drill``, ``backup.schedule``, ``restore.apply``, and a
``deploy.apply`` / ``deploy.rollback`` that took a backup before an upgrade) also writes its record,
masked exactly as the local line, as one object (S3 has no append)::

    <root>/audit/YYYY/MM/DD/<YYYYMMDDTHHMMSS.mmmZ>-<op id>.json

under the store's root (:attr:`redisops.backup.layout.Layout.audit_prefix`): outside Velero's prefix,
never listed by ``backup list``, never touched by ``gc`` or ``prune``. A refusal (a blocked plan, a
missing confirmation) changed nothing and writes nothing there; a run that failed because the store
itself could not be reached does not try it again. ``audit.list`` (``redisops audit list --store``)
reads the records back, newest last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from redisops.backup import BackupStore

__all__ = ["StoreAuditTrail"]

#: errors that say the store itself failed: its audit record is not written there (the local one is)
_STORE_FAILURES = {"StorageError", "ConfigError", "ConnectionFailed", "AuthError", "DependencyMissing"}


class StoreAuditTrail:
    """The audit records kept in one backup store (see the module docstring)."""

    def __init__(self, store: BackupStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"StoreAuditTrail({self.store.layout.audit_prefix!r})"

    @property
    def where(self) -> str:
        """``s3://<bucket>/<root>/audit/`` (for people)."""
        return f"s3://{self.store.s3.bucket}/{self.store.layout.audit_prefix}"

    def append(self, line: Mapping[str, Any]) -> str:
        """Write ``line`` (an already masked audit record) as one new object; returns its key."""
        at = datetime.fromtimestamp(float(line.get("at") or datetime.now(UTC).timestamp()), UTC)
        key = self.store.layout.audit_key(at, str(line.get("op_id") or line.get("op") or "op"))
        data = (json.dumps(dict(line), sort_keys=False) + "\n").encode()
        self.store.s3.put_bytes(key, data, if_none_match=True, content_type="application/json")
        return key

    def read(self, *, limit: int = 100, op: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` records (of operations named ``op`` or starting ``op.``), oldest first."""
        keys = sorted(self.store.s3.list_keys(self.store.layout.audit_prefix))
        if op:
            keys = [k for k in keys if _key_op(k) == op or _key_op(k).startswith(op.rstrip(".") + ".")]
        out: list[dict[str, Any]] = []
        for key in keys[-limit:] if limit > 0 else []:
            data, _etag = self.store.s3.get_bytes(key)
            try:
                record = json.loads(data)
            except ValueError:
                record = {"unreadable": key}
            out.append(record if isinstance(record, dict) else {"unreadable": key})
        return out

    @staticmethod
    def store_of(op: str, target: Any, params: BaseModel, record: Mapping[str, Any]) -> BackupStore | None:
        """The store the operation ``op`` acted on (from ``target`` and its ``params``), or None when it
        acted on none or its record is not one to keep there (see the module docstring)."""
        outcome = record.get("outcome")
        if outcome == "blocked" or target is None or not hasattr(target, "store"):
            return None
        error = record.get("error")
        if outcome == "failed" and isinstance(error, Mapping) and error.get("error") in _STORE_FAILURES:
            return None
        source = getattr(params, "source", None)
        area = op.split(".", 1)[0]
        store: BackupStore | None = None
        if area == "backup":
            store = target.store(source)
        elif op == "restore.apply":
            store = target.store(source, use_sandbox=None if _on_sandbox(target, params) else False)
        elif op in ("deploy.apply", "deploy.rollback") and getattr(record.get("result"), "backup_id", None):
            store = target.store(use_sandbox=False)
        return store


def _on_sandbox(target: Any, params: BaseModel) -> bool:
    """Whether ``restore.apply`` restores into the sandbox (then its store may be the sandbox's S3)."""
    wanted = getattr(params, "platform", "auto")
    if wanted != "auto":
        return bool(wanted == "sandbox")
    if getattr(target, "kubeconfig", None) is not None or getattr(target, "context", None) is not None:
        return False
    return bool(getattr(target, "is_sandbox", False))


def _key_op(key: str) -> str:
    """The operation named in an audit key: ``.../20261207T013648.123Z-backup.create-2026...json``."""
    name = key.rsplit("/", 1)[-1].removesuffix(".json")
    op_id = name.split("-", 1)[1] if "-" in name else ""
    return op_id.split("-", 1)[0]
