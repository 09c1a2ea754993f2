"""Translation of botocore/boto3/urllib3 exceptions into the project's errors (``raise ... from e``).

=============================================================  ==========================================
S3 / botocore                                                  redisops
=============================================================  ==========================================
NoSuchKey, NoSuchBucket, NoSuchUpload, 404                      NotFoundError (a missing bucket: named,
                                                               with how to create it; is_missing_bucket)
AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, 403,   AuthError
ExpiredToken, missing credentials
PreconditionFailed, 412, ConditionalRequestConflict (409)       ConflictError
EndpointConnectionError, ConnectionClosedError, timeouts,       ConnectionFailed (retryable)
a download stream cut off
SlowDown, InternalError, 5xx                                    StorageError (retryable)
anything else                                                   StorageError
=============================================================  ==========================================

Messages carry the operation, bucket and key, never credentials: known secret values are scrubbed from
any text taken from an exception, and URLs lose their userinfo. Re-exported by :mod:`redisops.adapters.s3`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from redisops.errors import (
    AuthError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    RedisOpsError,
    StorageError,
)

__all__ = ["client_error_parts", "is_foreign", "is_missing_bucket", "scrub", "translate_error"]

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound", "404"}
_AUTH = {
    "AccessDenied",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AllAccessDisabled",
    "AccountProblem",
    "KMS.AccessDeniedException",
}
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "OperationAborted"}
_URL_USERINFO = re.compile(r"(\w+://)[^/@\s]+@")


def scrub(text: str, secrets: Sequence[str]) -> str:
    out = _URL_USERINFO.sub(r"\1", text)
    for s in secrets:
        if s:
            out = out.replace(s, "***")
    return out


def client_error_parts(exc: Any, secrets: Sequence[str] = ()) -> tuple[str, int, str]:
    """A botocore ``ClientError``'s code ("Unknown" if none), HTTP status (0 if none) and message (with
    ``secrets`` scrubbed)."""
    err = exc.response.get("Error", {}) or {}
    code = str(err.get("Code", "")) or "Unknown"
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status, scrub(str(err.get("Message", "") or ""), secrets)


def is_missing_bucket(error: RedisOpsError) -> bool:
    """True for the NotFoundError of a bucket that does not exist (not of a key in it)."""
    return isinstance(error, NotFoundError) and error.context.get("code") == "NoSuchBucket"


def translate_error(
    exc: BaseException, *, op: str, bucket: str, key: str | None = None, secrets: Sequence[str] = ()
) -> RedisOpsError:
    """The redisops error for a botocore/boto3/urllib3 exception raised by ``op`` (never with secrets)."""
    import botocore.exceptions as bx

    where = f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"
    ctx: dict[str, Any] = {"operation": op, "bucket": bucket}
    if key is not None:
        ctx["key"] = key
    if isinstance(exc, RedisOpsError):
        return exc
    if isinstance(exc, bx.ClientError):
        code, status, detail = client_error_parts(exc, secrets)
        ctx.update(code=code, http_status=status)
        msg = f"S3 {op} {where} failed: {code}" + (f" ({detail})" if detail else "")
        if code == "NoSuchBucket":
            return NotFoundError(
                f"the S3 bucket {bucket!r} does not exist (S3 {op})",
                hint=f"create it (aws s3 mb s3://{bucket}) or point the config's backup.bucket "
                "(env REDISOPS_S3_BUCKET) at the bucket that holds the backups",
                context=ctx,
            )
        if code in _NOT_FOUND or status == 404:
            return NotFoundError(f"S3 {op}: {where} does not exist ({code})", context=ctx)
        if code in _AUTH or status == 403:
            return AuthError(
                msg,
                hint="check the credentials and that the IAM policy allows this action on the bucket/prefix",
                context=ctx,
            )
        if code in _CONFLICT or status in (409, 412):
            return ConflictError(msg, context=ctx)
        retryable = status >= 500 or code in (
            "SlowDown",
            "InternalError",
            "RequestTimeout",
            "ServiceUnavailable",
        )
        return StorageError(msg, context=ctx, retryable=retryable)
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError | bx.CredentialRetrievalError):
        return AuthError(
            f"S3 {op} {where}: no usable AWS credentials ({type(exc).__name__})",
            hint="provide credentials (env, shared credentials file, IRSA, or Velero's cloud-credentials)",
            context=ctx,
        )
    if isinstance(exc, bx.ConnectTimeoutError | bx.ReadTimeoutError):
        return ConnectionFailed(
            f"S3 {op} {where}: timed out talking to the endpoint ({type(exc).__name__})", context=ctx
        )
    connection_types: tuple[type[BaseException], ...] = (
        bx.EndpointConnectionError,
        bx.ConnectionClosedError,
        bx.ConnectionError,
        bx.HTTPClientError,
        bx.IncompleteReadError,
        bx.ResponseStreamingError,
        ConnectionError,
        TimeoutError,
    )
    try:
        import urllib3.exceptions as ux

        connection_types += (ux.HTTPError,)
    except ImportError:  # pragma: no cover - urllib3 always comes with botocore
        pass
    if isinstance(exc, connection_types):
        detail = scrub(str(exc), secrets)
        return ConnectionFailed(
            f"S3 {op} {where}: connection failed ({type(exc).__name__}: {detail})", context=ctx
        )
    if isinstance(exc, bx.BotoCoreError):
        detail = scrub(str(exc), secrets)
        return StorageError(f"S3 {op} {where} failed: {type(exc).__name__}: {detail}", context=ctx)
    return StorageError(f"S3 {op} {where} failed: {type(exc).__name__}", context=ctx)


def is_foreign(exc: BaseException) -> bool:
    """True for botocore/urllib3/socket errors (translate them); False for the caller's own exceptions."""
    mod = type(exc).__module__
    return mod.startswith(("botocore", "boto3", "urllib3", "s3transfer")) or isinstance(exc, OSError)
