"""Translation of botocore exceptions of the ElastiCache / AppConfig / AppConfigData calls into the
project's errors (``raise ... from e``).

======================================================================  ====================================
AWS / botocore                                                          redisops
======================================================================  ====================================
ReplicationGroupNotFoundFault, SnapshotNotFoundFault, CacheCluster-      NotFoundError
NotFound, CacheParameterGroupNotFound, ResourceNotFoundException, 404
AccessDenied*, UnrecognizedClient, InvalidClientTokenId, 403,            AuthError
missing credentials
ConflictException, *AlreadyExists*, Invalid*State*, 409                 ConflictError
InvalidParameterValue, InvalidParameterCombination, BadRequest,         PlatformError (AWS refused the
ValidationException                                                     request: its message, a hint)
Throttling, 5xx                                                         PlatformError (retryable)
EndpointConnectionError, timeouts                                       ConnectionFailed (retryable)
======================================================================  ====================================

Messages name the operation and the resource, never credentials (known secret values are scrubbed from
any text taken from an exception; URLs lose their userinfo).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redisops.adapters.s3_errors import client_error_parts, scrub
from redisops.errors import (
    AuthError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    PlatformError,
    RedisOpsError,
)

__all__ = ["aws_error"]

_NOT_FOUND = {
    "ReplicationGroupNotFoundFault",
    "SnapshotNotFoundFault",
    "CacheClusterNotFound",
    "CacheParameterGroupNotFound",
    "ResourceNotFoundException",
    "NoSuchBucket",
}
_AUTH = {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId"}
_CONFLICT = {"ConflictException", "InvalidSnapshotState", "InvalidReplicationGroupState"}
_REFUSED = {
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "BadRequestException",
    "ValidationException",
}


def aws_error(
    exc: BaseException, *, service: str, op: str, resource: str, secrets: Sequence[str] = ()
) -> RedisOpsError:
    """The redisops error for a botocore exception raised by ``service``'s ``op`` on ``resource``."""
    import botocore.exceptions as bx

    if isinstance(exc, RedisOpsError):
        return exc
    ctx: dict[str, Any] = {"service": service, "operation": op, "resource": resource}
    where = f"{service} {op} ({resource})"
    if isinstance(exc, bx.ClientError):
        code, status, detail = client_error_parts(exc, secrets)
        ctx.update(code=code, http_status=status)
        msg = f"{where} failed: {code}" + (f": {detail}" if detail else "")
        if code in _NOT_FOUND or status == 404:
            return NotFoundError(
                f"{where}: {resource} does not exist ({code})",
                hint="check the name and the AWS region (AWS_REGION) the command talks to",
                context=ctx,
            )
        if code in _AUTH or status == 403:
            return AuthError(
                msg,
                hint=f"check the AWS credentials and that the IAM policy allows {service}:{op}",
                context=ctx,
            )
        if code in _CONFLICT or "AlreadyExists" in code or status == 409:
            return ConflictError(
                msg,
                hint="another change is in progress or the name is taken; wait or pick another name",
                context=ctx,
            )
        if code in _REFUSED or status == 400:
            return PlatformError(msg, hint="AWS refused the request as given: see its message", context=ctx)
        retryable = status >= 500 or "Throttl" in code
        return PlatformError(
            msg, hint="retry later; AWS or the endpoint failed", context=ctx, retryable=retryable
        )
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError | bx.CredentialRetrievalError):
        return AuthError(
            f"{where}: no usable AWS credentials ({type(exc).__name__})",
            hint="provide credentials (env, shared credentials file, IRSA, instance role)",
            context=ctx,
        )
    if isinstance(
        exc, bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ReadTimeoutError | bx.ConnectionError
    ):
        return ConnectionFailed(
            f"{where}: cannot reach the endpoint ({type(exc).__name__})",
            hint="check the network and REDISOPS_AWS_ENDPOINT_URL / the sandbox (redisops sandbox status)",
            context=ctx,
        )
    detail = scrub(str(exc), secrets)
    return PlatformError(f"{where} failed: {type(exc).__name__}: {detail}", context=ctx)
