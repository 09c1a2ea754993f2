"""The streaming multipart upload writer behind :meth:`redisops.adapters.s3.S3Adapter.upload_stream`.

Parts are filled from the caller's chunks and sent by a small thread pool. Memory bound:
``part_size × (max_in_flight + 1)`` (one part being filled plus the parts being sent). Part sizes: see
:func:`redisops.adapters.s3_settings.part_size_plan`.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from redisops.adapters.interrupt_shield import shielded
from redisops.adapters.s3_settings import ProgressCallback, UploadResult, part_size_plan
from redisops.errors import RedisOpsError

if TYPE_CHECKING:
    from redisops.adapters.s3 import S3Adapter

__all__ = ["StreamUpload"]

# the adapter's logger: the split into modules does not change where its messages go
log = logging.getLogger("redisops.adapters.s3")


class StreamUpload:
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
            with shielded(f"aborting the multipart upload of s3://{self.s3.bucket}/{self.key}"):
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
