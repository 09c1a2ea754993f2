"""S3 settings, credentials, part sizes and the typed results of :mod:`redisops.adapters.s3`.

Pure data: nothing here talks to S3. Re-exported by :mod:`redisops.adapters.s3`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from redisops.config.model import BackupTarget

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
    "S3Settings",
    "UploadResult",
    "part_size_plan",
]

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

    def client_kwargs(self) -> dict[str, str | None]:
        """The keyword arguments that give a boto3 or botocore client these credentials (secrets: pass
        them on, never log them)."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


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
