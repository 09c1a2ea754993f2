"""Translation of ``kubernetes`` client exceptions into :mod:`redisops.errors` (no headers, no tokens).

404 → NotFoundError, 401/403 → AuthError, 409 → ConflictError, 422 → ConfigError, connection errors →
ConnectionFailed, anything else → PlatformError. Used by :mod:`redisops.adapters.kube` and
:mod:`redisops.adapters.kube_stream`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from redisops.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    PlatformError,
    RedisOpsError,
)

__all__ = ["api_call", "translate_api_error"]


def translate_api_error(exc: BaseException, what: str = "Kubernetes API") -> RedisOpsError:
    """The redisops error for a ``kubernetes`` client exception (no headers, no tokens)."""
    status = getattr(exc, "status", None)
    if status is None or status == 0:
        text = str(getattr(exc, "reason", "") or exc).split("\n")[0][:300]
        if _is_connection_error(exc) or status == 0:
            return ConnectionFailed(
                f"cannot reach the Kubernetes API for {what}: {text}",
                hint="check the kubeconfig context and that the cluster is reachable",
            )
        return PlatformError(f"{what}: {type(exc).__name__}: {text}")
    message = _api_message(exc)
    ctx = {"status": status}
    if status == 404:
        return NotFoundError(f"{what}: not found ({message})", context=ctx)
    if status in (401, 403):
        return AuthError(
            f"{what}: the Kubernetes API refused access ({status}): {message}",
            hint="check the kubeconfig user and its RBAC role",
            context=ctx,
        )
    if status == 409:
        return ConflictError(f"{what}: conflict: {message}", context=ctx)
    if status == 422:
        return ConfigError(f"{what}: the API server rejected the object: {message}", context=ctx)
    return PlatformError(f"{what}: the Kubernetes API answered {status}: {message}", context=ctx)


def _api_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            doc = json.loads(body)
        except ValueError:
            return body[:300]
        if isinstance(doc, dict) and doc.get("message"):
            return str(doc["message"])[:500]
    return str(getattr(exc, "reason", "") or "")[:300]


def _is_connection_error(exc: BaseException) -> bool:
    names = {"MaxRetryError", "NewConnectionError", "ProtocolError", "ConnectionError", "TimeoutError"}
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ in names or isinstance(seen, OSError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextlib.contextmanager
def api_call(what: str) -> Iterator[None]:
    """Translate ``kubernetes``/urllib3/websocket exceptions raised in the block."""
    try:
        yield
    except RedisOpsError:
        raise
    except Exception as e:
        raise translate_api_error(e, what) from e


_api_call = api_call
