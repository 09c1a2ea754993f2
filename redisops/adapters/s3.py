"""S3 I/O for the backup store: a thin class over a botocore S3 client. The only module that talks to S3.

The module is split by responsibility; every name stays importable from here:

* :mod:`redisops.adapters.s3_settings` — settings, credentials, part sizes, typed results;
* :mod:`redisops.adapters.s3_errors` — error translation (the table of what becomes what);
* :mod:`redisops.adapters.s3_multipart` — the streaming multipart upload writer;
* this module — the adapter itself and the read-ahead download stream.

Every botocore/boto3 exception is translated into the project's errors (``raise ... from e``); the table
of what becomes what is in :mod:`redisops.adapters.s3_errors`. Messages never carry credentials.

Streaming upload (:meth:`S3Adapter.upload_stream`): parts are filled from the caller's chunks and sent by a
small thread pool. Memory bound: ``part_size × (max_in_flight + 1)`` (one part being filled plus the
parts being sent). Part sizes: see :func:`part_size_plan`.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from redisops.adapters.s3_errors import is_foreign, is_missing_bucket, translate_error
from redisops.adapters.s3_multipart import StreamUpload
from redisops.adapters.s3_settings import (
    DEFAULT_PART_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIB,
    MIN_PART_SIZE,
    SSE,
    AwsCredentials,
    ListedObject,
    MultipartUpload,
    ObjectHead,
    PartSizePlan,
    ProgressCallback,
    S3Settings,
    UploadResult,
    part_size_plan,
)
from redisops.errors import NotFoundError, RedisOpsError, StorageError

__all__ = [
    "DEFAULT_PART_SIZE",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIB",
    "MIN_PART_SIZE",
    "SSE",
    "AwsCredentials",
    "ListedObject",
    "MultipartUpload",
    "ObjectHead",
    "PartSizePlan",
    "ProgressCallback",
    "S3Adapter",
    "S3Settings",
    "UploadResult",
    "is_missing_bucket",
    "part_size_plan",
    "translate_error",
]

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


# --- the adapter ---------------------------------------------------------------------------------------
class S3Adapter:
    """S3 operations on one bucket, with errors translated and no secrets in messages.

    Args:
        settings: the connection and write settings.
        client: an existing boto3 S3 client (tests); by default one is built from ``settings`` on first use
            (one per adapter; a settings error such as a bad endpoint URL surfaces there).
    """

    def __init__(self, settings: S3Settings, *, client: Any = None) -> None:
        self.settings = settings
        self._secrets = settings.secrets()
        # built on first use: a command that plans before it runs (backup create) can start the Redis
        # transfer first and build the client while the server's child writes the snapshot
        self._client_obj: Any = client
        self._client_lock = threading.Lock()

    @property
    def _client(self) -> Any:
        client = self._client_obj
        if client is None:
            with self._client_lock:  # the part uploader's threads may ask at the same time
                if self._client_obj is None:
                    self._client_obj = self._make_client()
                client = self._client_obj
        return client

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
        kwargs = s.credentials.client_kwargs() if s.credentials is not None else {}
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
            if is_foreign(e):
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
            if is_foreign(e):
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
            if is_foreign(e):
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
            if is_foreign(e):
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
            if is_foreign(e):
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
        return StreamUpload(self, key, expected_size, on_progress, if_none_match, content_type).run(chunks)
