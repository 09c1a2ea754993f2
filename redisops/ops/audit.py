"""The audit log: one JSON line per mutating or destructive operation, whichever front end ran it.

Who (user@host), what (the operation, its parameters, its plan), where (the target, without secrets),
when, and how it ended (ok / failed / interrupted, with the result or the error). The catalogue writes it
(:meth:`redisops.ops.catalogue.Catalogue.invoke`), so scripts, the CLI, runbooks and the TUI leave the
same trail. The file is ``$REDISOPS_AUDIT_LOG``, else ``<user state dir>/redisops/audit.jsonl``; lines are
appended with one ``write`` each (O_APPEND), so concurrent runs do not interleave within a line::

    import json, tempfile
    from pathlib import Path
    from redisops.ops.audit import AuditLog

    log = AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
    log.append({"op": "backup.delete", "params": {"backup_id": "b1", "password": "hunter2"}})
    (line,) = log.read()
    assert line["params"] == {"backup_id": "b1", "password": "***"} and line["user"]
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from redisops.events import jsonable

__all__ = ["AUDIT_ENV", "AuditLog", "default_audit_path", "mask"]

AUDIT_ENV = "REDISOPS_AUDIT_LOG"

#: parameter names whose values are never written (operations should not take secrets as parameters;
#: this is the belt to those braces)
_SECRET = re.compile(r"(pass(word)?|passwd|secret|token|credentials?|auth|(^|_)key)$", re.I)
_MAX_RESULT_CHARS = 4000


def default_audit_path() -> Path:
    """``$REDISOPS_AUDIT_LOG``, else ``<user state dir>/redisops/audit.jsonl``."""
    env = os.environ.get(AUDIT_ENV)
    if env:
        return Path(env)
    from platformdirs import user_state_dir

    return Path(user_state_dir("redisops")) / "audit.jsonl"


def mask(value: Any) -> Any:
    """``value`` as JSON with the values of secret-looking keys replaced by ``***`` (recursively)."""
    value = jsonable(value)
    if isinstance(value, Mapping):
        return {k: "***" if _SECRET.search(str(k)) and v is not None else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


class AuditLog:
    """Append-only JSON Lines at ``path`` (created with its folder, mode 0600)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        """The file: the one given, else :func:`default_audit_path` at the time of the write."""
        return self._path or default_audit_path()

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Write one line: ``record`` masked, plus ``at`` (epoch seconds) and ``user`` when missing."""
        line: dict[str, Any] = {"at": round(time.time(), 3), "user": _who(), **mask(record)}
        result = line.get("result")
        if result is not None and len(json.dumps(result)) > _MAX_RESULT_CHARS:
            line["result"] = {"truncated": True, "summary": str(result)[:_MAX_RESULT_CHARS]}
        data = (json.dumps(line, sort_keys=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        return line

    def read(self) -> list[dict[str, Any]]:
        """Every line, oldest first (empty when the log does not exist yet)."""
        if not self.path.exists():
            return []
        return [json.loads(x) for x in self.path.read_text(encoding="utf-8").splitlines() if x.strip()]
