"""S3 I/O for the backup store: a thin class over a botocore S3 client. The only module that talks to S3.

Every botocore/boto3 exception is translated into the project's errors (``raise ... from e``):

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
any text taken from an exception, and URLs lose their userinfo.

Streaming upload (:meth:`S3Adapter.upload_stream`): parts are filled from the caller's chunks and sent by a
small thread pool. Memory bound: ``part_size × (max_in_flight + 1)`` (one part being filled plus the
parts being sent). Part sizes: see :func:`part_size_plan`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from redisops.errors import (
    AuthError,
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    RedisOpsError,
    StorageError,
)

if TYPE_CHECKING:
    from redisops.config.model import BackupTarget

__all__ = [
    "MAX_PARTS",
    "MIB",
    "MIN_PART_SIZE",
    "AwsCredentials",
    "ListedObject",
    "MultipartUpload",
    "ObjectHead",
    "PartSizePlan",
    "S3Adapter",
    "S3Settings",
    "UploadResult",
    "is_missing_bucket",
    "part_size_plan",
    "translate_error",
]

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: S3's minimum size of every part but the last
MIN_PART_SIZE = 5 * MIB
#: S3's maximum size of one part
MAX_PART_SIZE = 5 * 1024 * MIB
#: S3's maximum number of parts of one upload
MAX_PARTS = 10_000
#: default first part size
DEFAULT_PART_SIZE = 8 * MIB

SSE = Literal["AES256", "aws:kms", "none"]
ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class AwsCredentials:
    """Explicit AWS credentials. ``repr`` shows none of the values."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        token = "***" if self.session_token else None
        return f"AwsCredentials(access_key_id=***, secret_access_key=***, session_token={token})"

    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in a message."""
        return tuple(v for v in (self.access_key_id, self.secret_access_key, self.session_token) if v)


@dataclass(frozen=True)
class S3Settings:
    """How to reach the bucket and how to write to it.

    Attributes:
        bucket: the bucket name.
        region: AWS region.
        endpoint_url: a non-AWS endpoint (MinIO, moto, Velero's ``s3Url``).
        force_path_style: path-style addressing (``http://host/bucket/key``), needed by most S3-compatibles.
        server_side_encryption: ``AES256`` (default), ``aws:kms`` (with ``kms_key_id`` or the account
            default key) or ``none``.
        kms_key_id: the KMS key for ``aws:kms``.
        checksum_algorithm: None = botocore's default (CRC32 when supported; multipart uploads declare
            CRC32 up front, as boto3's transfer manager does, so S3 keeps a composite checksum of the
            parts instead of computing a full-object one at completion); ``""`` = only when required
            (for S3-compatibles without checksum support); ``CRC32``/``CRC32C``/``SHA1``/``SHA256`` = send it.
        verify_tls: False = accept any certificate (Velero's ``insecureSkipTLSVerify``).
        profile: a named profile of the default credential chain (ignored when ``credentials`` is given).
        credentials: explicit credentials; None = the default chain (env, files, IRSA, instance role).
        max_attempts: botocore attempts per request (standard retry mode).
        connect_timeout, read_timeout: seconds.
        part_size: a fixed first part size for multipart uploads (bytes, >= 5 MiB); None = chosen from the
            expected size (see :func:`part_size_plan`).
        min_part_size: the smallest part size the planner picks (default 8 MiB).
        max_in_flight: parts sent concurrently (the thread pool size), 1-8.
    """

    bucket: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    force_path_style: bool = False
    server_side_encryption: SSE = "AES256"
    kms_key_id: str | None = None
    checksum_algorithm: str | None = None
    verify_tls: bool = True
    profile: str | None = None
    credentials: AwsCredentials | None = None
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    part_size: int | None = None
    min_part_size: int = DEFAULT_PART_SIZE
    max_in_flight: int = 2

    def __post_init__(self) -> None:
        if self.part_size is not None and not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be between 5 MiB and 5 GiB, got {self.part_size}")
        if not MIN_PART_SIZE <= self.min_part_size <= MAX_PART_SIZE:
            raise ValueError(f"min_part_size must be between 5 MiB and 5 GiB, got {self.min_part_size}")
        if not 1 <= self.max_in_flight <= 8:
            raise ValueError(f"max_in_flight must be 1-8, got {self.max_in_flight}")
        if self.server_side_encryption not in ("AES256", "aws:kms", "none"):
            raise ValueError(f"unknown server_side_encryption {self.server_side_encryption!r}")
        if self.kms_key_id and self.server_side_encryption != "aws:kms":
            raise ValueError("kms_key_id is set but server_side_encryption is not 'aws:kms'")

    @classmethod
    def from_target(cls, target: BackupTarget, **overrides: Any) -> S3Settings:
        """Settings from the config model's ``backup`` section; ``overrides`` set any other field."""
        base = cls(
            bucket=target.bucket,
            region=target.region,
            endpoint_url=target.endpoint_url,
            force_path_style=target.force_path_style,
            server_side_encryption=target.server_side_encryption,
            kms_key_id=target.kms_key_id,
        )
        return replace(base, **overrides) if overrides else base

    def secrets(self) -> tuple[str, ...]:
        """Secret values to scrub from messages."""
        return self.credentials.secrets() if self.credentials else ()


@dataclass(frozen=True)
class ObjectHead:
    """HEAD of an object."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None
    server_side_encryption: str | None
    kms_key_id: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class ListedObject:
    """One entry of a listing."""

    key: str
    size: int
    last_modified: datetime
    etag: str


@dataclass(frozen=True)
class MultipartUpload:
    """An unfinished multipart upload."""

    key: str
    upload_id: str
    initiated: datetime | None


@dataclass(frozen=True)
class UploadResult:
    """What :meth:`S3Adapter.upload_stream` wrote."""

    key: str
    size: int
    sha256: str
    etag: str
    parts: int  # 0 = a single PUT
    part_size: int


@dataclass(frozen=True)
class PartSizePlan:
    """Part sizes of a multipart upload: ``base`` for the first ``grow_after`` parts, then doubling every
    ``grow_every`` parts (capped at 5 GiB)."""

    base: int
    grow_after: int
    grow_every: int

    def size_of(self, part_number: int) -> int:
        """Size of part ``part_number`` (1-based)."""
        if part_number <= self.grow_after:
            return self.base
        doublings = 1 + (part_number - self.grow_after - 1) // self.grow_every
        return int(min(MAX_PART_SIZE, self.base * 2 ** min(doublings, 20)))

    def capacity(self) -> int:
        """The most bytes 10,000 parts of this plan can hold."""
        return sum(self.size_of(n) for n in range(1, MAX_PARTS + 1))


def part_size_plan(
    expected_size: int | None, *, min_part_size: int = DEFAULT_PART_SIZE, fixed: int | None = None
) -> PartSizePlan:
    """Choose part sizes so that 10,000 parts are never exceeded.

    * Known size S: constant parts of ``max(min_part_size, ceil(S / 9000))`` rounded up to a MiB, so S
      fits in 9,000 parts; should the stream run longer than announced, parts double every 250 parts
      after that (room for about 1.8 × S).
    * Unknown size: ``min_part_size`` (8 MiB) for the first 1,000 parts (8 GiB), then doubling every
      1,000 parts: small streams need little memory and 10,000 parts hold about 8 TiB (S3's object limit
      is 5 TiB). Memory grows with the part size only for big streams.
    * ``fixed``: that size as the base (tests, tuning), with the unknown-size growth rule.
    """
    if fixed is not None:
        return PartSizePlan(base=fixed, grow_after=1000, grow_every=1000)
    if expected_size is None:
        return PartSizePlan(base=min_part_size, grow_after=1000, grow_every=1000)
    needed = -(-expected_size // 9000)
    needed = -(-needed // MIB) * MIB
    return PartSizePlan(base=min(MAX_PART_SIZE, max(min_part_size, needed)), grow_after=9000, grow_every=250)


_DONE = object()


def _read_ahead(chunks: Iterator[bytes], depth: int) -> Iterator[bytes]:
    """Yield ``chunks`` while a thread reads up to ``depth`` of them ahead.

    The reader's exception is re-raised here, in order. When the consumer stops early (an error of its
    own, ``close()``), the reader is told to stop and joined before this returns, so the caller can
    close the underlying stream safely.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, which raises it in its own thread
            put(e)

    thread = threading.Thread(target=reader, name="s3-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            if not isinstance(item, bytes):  # _DONE
                return
            yield item
    finally:
        stop.set()
        # the reader finishes the chunk it is reading; a stalled read is cut by the caller closing the body
        thread.join(timeout=5)


# --- error translation --------------------------------------------------------------------------------
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


def _scrub(text: str, secrets: Sequence[str]) -> str:
    out = _URL_USERINFO.sub(r"\1", text)
    for s in secrets:
        if s:
            out = out.replace(s, "***")
    return out


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
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code", "")) or "Unknown"
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        detail = _scrub(str(err.get("Message", "") or ""), secrets)
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
        detail = _scrub(str(exc), secrets)
        return ConnectionFailed(
            f"S3 {op} {where}: connection failed ({type(exc).__name__}: {detail})", context=ctx
        )
    if isinstance(exc, bx.BotoCoreError):
        detail = _scrub(str(exc), secrets)
        return StorageError(f"S3 {op} {where} failed: {type(exc).__name__}: {detail}", context=ctx)
    return StorageError(f"S3 {op} {where} failed: {type(exc).__name__}", context=ctx)


def _is_foreign(exc: BaseException) -> bool:
    """True for botocore/urllib3/socket errors (translate them); False for the caller's own exceptions."""
    mod = type(exc).__module__
    return mod.startswith(("botocore", "boto3", "urllib3", "s3transfer")) or isinstance(exc, OSError)


# --- the adapter ---------------------------------------------------------------------------------------
class S3Adapter:
    """S3 operations on one bucket, with errors translated and no secrets in messages.

    Args:
        settings: the connection and write settings.
        client: an existing boto3 S3 client (tests); by default one is built from ``settings``.
    """

    def __init__(self, settings: S3Settings, *, client: Any = None) -> None:
        self.settings = settings
        self._secrets = settings.secrets()
        self._client: Any = client if client is not None else self._make_client()

    def _make_client(self) -> Any:
        # botocore's own session, not boto3's: the client is the same botocore client, and a command
        # that talks to S3 does not pay for importing boto3 and s3transfer (we never use the transfer
        # manager: uploads and downloads are our own streaming multipart code).
        import botocore.session
        from botocore.config import Config

        s = self.settings
        cfg: dict[str, Any] = {
            "region_name": s.region,
            "retries": {"max_attempts": s.max_attempts, "mode": "standard"},
            "connect_timeout": s.connect_timeout,
            "read_timeout": s.read_timeout,
            "max_pool_connections": max(10, s.max_in_flight * 2),
            "s3": {"addressing_style": "path" if s.force_path_style else "auto"},
        }
        if s.checksum_algorithm == "":
            cfg["request_checksum_calculation"] = "when_required"
            cfg["response_checksum_validation"] = "when_required"
        kwargs: dict[str, Any] = {}
        if s.credentials is not None:
            kwargs = {
                "aws_access_key_id": s.credentials.access_key_id,
                "aws_secret_access_key": s.credentials.secret_access_key,
                "aws_session_token": s.credentials.session_token,
            }
        try:
            session = botocore.session.Session(
                profile=s.profile if s.credentials is None and s.profile else None
            )
            return session.create_client(
                "s3",
                region_name=s.region,
                endpoint_url=s.endpoint_url,
                verify=s.verify_tls,
                config=Config(**cfg),
                **kwargs,
            )
        except Exception as e:
            raise self._translate(e, "connect") from None

    # --- helpers ---------------------------------------------------------------------------------------
    @property
    def bucket(self) -> str:
        """The bucket name."""
        return self.settings.bucket

    @property
    def client(self) -> Any:
        """The underlying boto3 client (for tests and diagnostics)."""
        return self._client

    def _translate(self, exc: BaseException, op: str, key: str | None = None) -> RedisOpsError:
        return translate_error(exc, op=op, bucket=self.bucket, key=key, secrets=self._secrets)

    def _call(self, op: str, key: str | None, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(Bucket=self.bucket, **kwargs)
        except Exception as e:
            if _is_foreign(e):
                raise self._translate(e, op, key) from e
            raise

    def _sse_args(self) -> dict[str, str]:
        s = self.settings
        if s.server_side_encryption == "AES256":
            return {"ServerSideEncryption": "AES256"}
        if s.server_side_encryption == "aws:kms":
            args = {"ServerSideEncryption": "aws:kms"}
            if s.kms_key_id:
                args["SSEKMSKeyId"] = s.kms_key_id
            return args
        return {}

    def _checksum_args(self) -> dict[str, str]:
        alg = self.settings.checksum_algorithm
        return {"ChecksumAlgorithm": alg.upper()} if alg else {}

    def _multipart_checksum_args(self) -> dict[str, str]:
        # botocore's default already sends a CRC32 with every part; declaring it on the upload keeps
        # the parts and the upload consistent (a composite checksum, cheap to complete)
        if self.settings.checksum_algorithm is None:
            return {"ChecksumAlgorithm": "CRC32"}
        return self._checksum_args()

    # --- single objects --------------------------------------------------------------------------------
    def put_bytes(
        self,
        key: str,
        data: bytes | bytearray,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Write ``data`` to ``key`` in one PUT; returns the ETag.

        ``if_none_match=True`` writes only when ``key`` does not exist (ConflictError otherwise);
        ``if_match`` only when its ETag is the given one.
        """
        kwargs: dict[str, Any] = {
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            **self._sse_args(),
            **self._checksum_args(),
        }
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if metadata:
            kwargs["Metadata"] = metadata
        resp = self._call("PutObject", key, self._client.put_object, **kwargs)
        return str(resp.get("ETag", ""))

    def get_bytes(self, key: str) -> tuple[bytes, str]:
        """The whole object ``key`` and its ETag (for small objects: manifests, locks)."""
        resp = self._call("GetObject", key, self._client.get_object, Key=key)
        body = resp["Body"]
        try:
            data = body.read()
        except Exception as e:
            raise self._translate(e, "GetObject", key) from e
        finally:
            body.close()
        return bytes(data), str(resp.get("ETag", ""))

    def iter_chunks(self, key: str, *, chunk_size: int = MIB, read_ahead: int = 0) -> Iterator[bytes]:
        """Stream object ``key`` as chunks of up to ``chunk_size`` bytes.

        The GET is sent on the first ``next()``; a connection cut mid-stream raises ConnectionFailed.
        Close the iterator (or exhaust it) to release the connection. ``read_ahead`` > 0 reads up to
        that many chunks ahead on a thread, so the network wait overlaps the consumer's work (hashing,
        writing); memory stays bounded by ``(read_ahead + 2) × chunk_size``.
        """
        resp = self._call("GetObject", key, self._client.get_object, Key=key)
        body = resp["Body"]
        try:
            chunks: Iterator[bytes] = body.iter_chunks(chunk_size)
            yield from (_read_ahead(chunks, read_ahead) if read_ahead > 0 else chunks)
        except Exception as e:
            if _is_foreign(e):
                raise self._translate(e, "GetObject", key) from e
            raise
        finally:
            body.close()

    def head(self, key: str) -> ObjectHead:
        """HEAD ``key`` (NotFoundError when absent)."""
        r = self._call("HeadObject", key, self._client.head_object, Key=key)
        return ObjectHead(
            key=key,
            size=int(r.get("ContentLength", 0)),
            etag=str(r.get("ETag", "")),
            last_modified=r.get("LastModified"),
            server_side_encryption=r.get("ServerSideEncryption"),
            kms_key_id=r.get("SSEKMSKeyId"),
            metadata=dict(r.get("Metadata") or {}),
        )

    def exists(self, key: str) -> bool:
        """True when ``key`` exists."""
        try:
            self.head(key)
        except NotFoundError:
            return False
        return True

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete one key (absent keys are fine); ``if_match`` deletes only that version (ConflictError)."""
        kwargs: dict[str, Any] = {"Key": key}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        self._call("DeleteObject", key, self._client.delete_object, **kwargs)

    # --- listings and batch delete -----------------------------------------------------------------------
    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Every object under ``prefix`` (paginated, in key order)."""
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for o in page.get("Contents", []) or []:
                    yield ListedObject(
                        key=o["Key"],
                        size=int(o.get("Size", 0)),
                        last_modified=o["LastModified"],
                        etag=o.get("ETag", ""),
                    )
        except Exception as e:
            if _is_foreign(e):
                raise self._translate(e, "ListObjectsV2", prefix) from e
            raise

    def list_keys(self, prefix: str) -> list[str]:
        """The keys under ``prefix``."""
        return [o.key for o in self.list_objects(prefix)]

    def list_prefixes(self, prefix: str, delimiter: str = "/") -> list[str]:
        """The "folders" directly under ``prefix`` (CommonPrefixes), e.g. ``velero/backups/``."""
        out: list[str] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter=delimiter
            )
            for page in pages:
                out.extend(p["Prefix"] for p in page.get("CommonPrefixes", []) or [])
        except Exception as e:
            if _is_foreign(e):
                raise self._translate(e, "ListObjectsV2", prefix) from e
            raise
        return out

    def delete_keys(self, keys: Iterable[str]) -> int:
        """Delete ``keys`` in batches of 1,000; returns how many were deleted. StorageError names failures."""
        batch: list[str] = []
        done = 0
        for k in keys:
            batch.append(k)
            if len(batch) == 1000:
                done += self._delete_batch(batch)
                batch = []
        if batch:
            done += self._delete_batch(batch)
        return done

    def _delete_batch(self, keys: list[str]) -> int:
        resp = self._call(
            "DeleteObjects",
            keys[0],
            self._client.delete_objects,
            Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
        )
        errors = resp.get("Errors") or []
        if errors:
            first = errors[0]
            raise StorageError(
                f"S3 DeleteObjects s3://{self.bucket}: {len(errors)} of {len(keys)} keys were not deleted "
                f"(first: {first.get('Key')}: {first.get('Code')})",
                context={"bucket": self.bucket, "failed": [e.get("Key") for e in errors][:20]},
            )
        return len(keys)

    # --- multipart -----------------------------------------------------------------------------------------
    def list_multipart_uploads(self, prefix: str) -> list[MultipartUpload]:
        """Unfinished multipart uploads under ``prefix``."""
        out: list[MultipartUpload] = []
        try:
            pages = self._client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for u in page.get("Uploads", []) or []:
                    out.append(
                        MultipartUpload(key=u["Key"], upload_id=u["UploadId"], initiated=u.get("Initiated"))
                    )
        except Exception as e:
            if _is_foreign(e):
                raise self._translate(e, "ListMultipartUploads", prefix) from e
            raise
        return out

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Abort one multipart upload (an upload that is already gone is fine)."""
        with contextlib.suppress(NotFoundError):
            self._call(
                "AbortMultipartUpload", key, self._client.abort_multipart_upload, Key=key, UploadId=upload_id
            )

    def upload_stream(
        self,
        key: str,
        chunks: Iterable[bytes | bytearray | memoryview],
        *,
        expected_size: int | None = None,
        on_progress: ProgressCallback | None = None,
        if_none_match: bool = False,
        content_type: str = "application/octet-stream",
    ) -> UploadResult:
        """Upload ``chunks`` to ``key`` with bounded memory; returns the size and SHA-256 of what was sent.

        Less than one part goes in a single PUT; more as a multipart upload whose parts are sent by a pool
        of ``settings.max_in_flight`` threads while the next part fills. On ANY failure (an S3 error, the
        chunk iterator raising, KeyboardInterrupt, GeneratorExit) the multipart upload is aborted and the
        error re-raised (botocore errors translated; the caller's own exceptions unchanged).

        Args:
            key: destination key.
            chunks: the data, in chunks of any size.
            expected_size: the size if known (chooses the part size; see :func:`part_size_plan`).
            on_progress: called with the total bytes acknowledged by S3 so far, from this thread.
            if_none_match: fail with ConflictError if ``key`` exists (PUT / CompleteMultipartUpload).
            content_type: the object's Content-Type.
        """
        return _StreamUpload(self, key, expected_size, on_progress, if_none_match, content_type).run(chunks)


class _StreamUpload:
    """One streaming upload (state of :meth:`S3Adapter.upload_stream`)."""

    def __init__(
        self,
        s3: S3Adapter,
        key: str,
        expected_size: int | None,
        on_progress: ProgressCallback | None,
        if_none_match: bool,
        content_type: str,
    ) -> None:
        self.s3 = s3
        self.key = key
        self.plan = part_size_plan(
            expected_size, min_part_size=s3.settings.min_part_size, fixed=s3.settings.part_size
        )
        self.on_progress = on_progress
        self.if_none_match = if_none_match
        self.content_type = content_type
        self.sha = hashlib.sha256()
        self.size = 0
        self.sent = 0
        self.upload_id: str | None = None
        self.parts: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def run(self, chunks: Iterable[bytes | bytearray | memoryview]) -> UploadResult:
        pool: cf.ThreadPoolExecutor | None = None
        pending: set[cf.Future[int]] = set()
        it = iter(chunks)
        try:
            part_no = 1
            target = self.plan.size_of(part_no)
            buf: bytearray | None = None  # allocated when data arrives: at most one part being filled
            filled = 0
            for chunk in it:
                mv = memoryview(chunk).cast("B")
                self.sha.update(mv)
                self.size += len(mv)
                pos = 0
                while pos < len(mv):
                    if buf is None:
                        buf, filled = bytearray(target), 0
                    take = min(len(mv) - pos, target - filled)
                    buf[filled : filled + take] = mv[pos : pos + take]
                    filled += take
                    pos += take
                    if filled < target:
                        continue
                    # a full part: the first one opens the multipart upload
                    if pool is None:
                        self._create()
                        pool = cf.ThreadPoolExecutor(
                            max_workers=self.s3.settings.max_in_flight, thread_name_prefix="s3-part"
                        )
                    pending = self._wait_room(pending)
                    pending.add(pool.submit(self._upload_part, part_no, buf))
                    buf = None
                    part_no += 1
                    target = self.plan.size_of(part_no)
                del mv
            tail = bytearray() if buf is None else buf
            del tail[filled:]
            buf = None
            if pool is None:  # everything fits in one part: one PUT
                etag = self.s3.put_bytes(
                    self.key, tail, if_none_match=self.if_none_match, content_type=self.content_type
                )
                self._progress(len(tail))
                return UploadResult(self.key, self.size, self.sha.hexdigest(), etag, 0, self.plan.base)
            if tail:
                pending = self._wait_room(pending)
                pending.add(pool.submit(self._upload_part, part_no, tail))
            else:
                part_no -= 1
            del tail
            while pending:
                finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for f in finished:
                    self._progress(f.result())
            etag = self._complete(part_no)
            return UploadResult(self.key, self.size, self.sha.hexdigest(), etag, part_no, self.plan.base)
        except BaseException as e:
            for f in pending:
                f.cancel()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                pool = None
            self._abort()
            close = getattr(it, "close", None)
            if callable(close) and not isinstance(e, GeneratorExit):
                try:
                    close()
                except Exception:  # the caller's generator failing to close must not hide the cause
                    log.debug("closing the chunk iterator failed", exc_info=True)
            raise  # S3 errors are already translated (_call); the caller's own errors pass unchanged
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def _progress(self, n: int) -> None:
        self.sent += n
        if self.on_progress is not None:
            self.on_progress(self.sent)

    def _wait_room(self, pending: set[cf.Future[int]]) -> set[cf.Future[int]]:
        """Block until fewer than max_in_flight parts are being sent; re-raise a failed part's error."""
        done = {f for f in pending if f.done()}
        pending = pending - done
        while len(pending) >= self.s3.settings.max_in_flight:
            finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            done |= finished
        for f in done:
            self._progress(f.result())
        return pending

    def _create(self) -> None:
        resp = self.s3._call(
            "CreateMultipartUpload",
            self.key,
            self.s3._client.create_multipart_upload,
            Key=self.key,
            ContentType=self.content_type,
            **self.s3._sse_args(),
            **self.s3._multipart_checksum_args(),
        )
        self.upload_id = str(resp["UploadId"])

    def _upload_part(self, number: int, data: bytearray) -> int:
        resp = self.s3._call(
            "UploadPart",
            self.key,
            self.s3._client.upload_part,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
            **self.s3._multipart_checksum_args(),
        )
        entry: dict[str, Any] = {"PartNumber": number, "ETag": resp["ETag"]}
        for k in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1", "ChecksumSHA256", "ChecksumCRC64NVME"):
            if k in resp:
                entry[k] = resp[k]
        n = len(data)
        with self._lock:
            self.parts[number] = entry
        return n

    def _complete(self, last_part: int) -> str:
        parts = [self.parts[n] for n in range(1, last_part + 1)]
        kwargs: dict[str, Any] = {
            "Key": self.key,
            "UploadId": self.upload_id,
            "MultipartUpload": {"Parts": parts},
        }
        if self.if_none_match:
            kwargs["IfNoneMatch"] = "*"
        resp = self.s3._call(
            "CompleteMultipartUpload", self.key, self.s3._client.complete_multipart_upload, **kwargs
        )
        self.upload_id = None
        return str(resp.get("ETag", ""))

    def _abort(self) -> None:
        if self.upload_id is None:
            return
        upload_id, self.upload_id = self.upload_id, None
        try:
            self.s3.abort_multipart_upload(self.key, upload_id)
        except Exception as e:  # the original error matters more; gc removes what is left
            log.warning(
                "could not abort multipart upload of s3://%s/%s: %s (run backup gc later)",
                self.s3.bucket,
                self.key,
                e if isinstance(e, RedisOpsError) else type(e).__name__,
            )
