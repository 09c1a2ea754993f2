"""The backup manifest: what a backup holds, written LAST as its commit marker. Pure: no I/O.

A manifest is JSON (UTF-8, sorted keys) with ``format`` = ``redisops-backup-manifest`` and
``format_version`` = 1. Compatibility rules (docs/backup-layout.md):

* a field this version does not know (added by a newer redisops) is optional by definition: it is kept
  (:attr:`Manifest.extra`, written back by :meth:`Manifest.to_dict`) and otherwise ignored;
* a change an older reader must not ignore bumps ``format_version``; a reader refuses a newer version
  with "written by redisops X; upgrade to read it";
* new optional fields are written only when they differ from their default (``purpose`` is absent for
  manual backups), so older readers keep reading what they can.

Errors:

* :class:`~redisops.errors.ParseError`: not JSON, not an object, wrong types, unknown format or version.
* :class:`~redisops.errors.VerificationError`: well-formed but inconsistent (bad sha256, negative size,
  duplicate object names, an address with credentials, completed before created, id/time mismatch).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn, cast
from urllib.parse import urlsplit, urlunsplit

from redisops._version import __version__
from redisops.backup.layout import MANIFEST_NAME, check_object_name, is_backup_id
from redisops.errors import ConfigError, ParseError, VerificationError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PURPOSES",
    "BackupKind",
    "BackupPurpose",
    "DbCounts",
    "Manifest",
    "ObjectEntry",
    "SourceInfo",
    "redact_address",
]

FORMAT = "redisops-backup-manifest"
FORMAT_VERSION = 1

BackupKind = Literal["rdb", "aof"]
#: why a backup was taken: by someone (manual), by the schedule (CronJob), or by a restore before it
#: replaced the data (safety; ``latest`` skips those unless asked)
BackupPurpose = Literal["manual", "scheduled", "safety"]
PURPOSES: tuple[BackupPurpose, ...] = ("manual", "scheduled", "safety")

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_CRC64_RE = re.compile(r"^[0-9a-f]{16}$")
#: a purpose a newer redisops may add is read as written (a lower-case word)
_PURPOSE_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_OBJECT_FIELDS = {"name", "size", "sha256", "crc64", "verified"}
_FIELDS = {
    "purpose",
    "used_memory_dataset",
    "format",
    "format_version",
    "id",
    "created_at",
    "completed_at",
    "source",
    "kind",
    "redis_version",
    "rdb_version",
    "objects",
    "key_counts",
    "config_fingerprint",
    "tool_version",
    "notes",
}


def redact_address(address: str) -> str:
    """``address`` without credentials: ``redis://user:pw@host:6379/0`` -> ``redis://host:6379/0``.

    Plain ``host:port`` forms are returned unchanged; a ``user:pw@host`` without scheme loses its userinfo.
    """
    if "://" in address:
        parts = urlsplit(address)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    return address.rpartition("@")[2]


def _bad(message: str, **context: Any) -> NoReturn:
    raise VerificationError(
        f"backup manifest is invalid: {message}",
        hint="the manifest was altered or written by a broken tool; do not restore from this backup",
        context=context,
    )


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class SourceInfo:
    """The Redis a backup was taken from: a name and an address without credentials."""

    name: str
    address: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            _bad("source.name is empty")
        if self.address is not None and redact_address(self.address) != self.address:
            _bad("source.address carries credentials", source=self.name)


@dataclass(frozen=True)
class DbCounts:
    """Keys and keys with an expiry in one database."""

    keys: int
    expires: int = 0

    def __post_init__(self) -> None:
        if self.keys < 0 or self.expires < 0 or self.expires > self.keys:
            _bad("key counts must satisfy 0 <= expires <= keys", keys=self.keys, expires=self.expires)


@dataclass(frozen=True)
class ObjectEntry:
    """One object of a backup.

    Attributes:
        name: relative to the backup folder (``dump.rdb``, ``aof/appendonly.aof.1.base.rdb``).
        size: bytes.
        sha256: lower-case hex SHA-256 of the whole object.
        crc64: the RDB trailer CRC-64 as 16 hex digits (RDB objects), if known.
        verified: True when a content verifier (e.g. the RDB trailer check) passed while it was written;
            None when none ran.
        extra: fields a newer redisops wrote that this one does not know (kept, ignored).
    """

    name: str
    size: int
    sha256: str
    crc64: str | None = None
    verified: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            check_object_name(self.name)
        except ConfigError:
            _bad(f"object name {self.name!r} is not allowed", name=self.name)
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            _bad(f"object {self.name!r} has an invalid size", name=self.name)
        if not isinstance(self.sha256, str) or not _SHA256_RE.match(self.sha256):
            _bad(f"object {self.name!r} has an invalid sha256 (64 lower-case hex digits)", name=self.name)
        if self.crc64 is not None and not _CRC64_RE.match(self.crc64):
            _bad(f"object {self.name!r} has an invalid crc64 (16 lower-case hex digits)", name=self.name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            **self.extra,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "crc64": self.crc64,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class Manifest:
    """A committed backup. Build one with keyword arguments; it validates itself (VerificationError).

    ``purpose`` says why it was taken (:data:`PURPOSES`; a newer redisops may write others, read as
    written). ``extra`` holds the fields a newer redisops wrote that this one does not know.
    """

    id: str
    created_at: datetime
    completed_at: datetime
    source: SourceInfo
    kind: BackupKind
    objects: tuple[ObjectEntry, ...]
    tool_version: str
    redis_version: str | None = None
    rdb_version: int | None = None
    key_counts: Mapping[int, DbCounts] | None = None
    config_fingerprint: str | None = None
    notes: str = ""
    used_memory_dataset: int | None = None
    purpose: str = "manual"
    extra: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = field(default=FORMAT_VERSION)

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        if self.key_counts is not None:
            object.__setattr__(self, "key_counts", dict(sorted(self.key_counts.items())))
        if self.format_version != FORMAT_VERSION:
            _bad(f"format_version {self.format_version} is not {FORMAT_VERSION}")
        if not is_backup_id(self.id):
            _bad(f"id {self.id!r} is not a backup id", id=self.id)
        for name, ts in (("created_at", self.created_at), ("completed_at", self.completed_at)):
            if not isinstance(ts, datetime) or ts.tzinfo is None:
                _bad(f"{name} must be a timezone-aware time", id=self.id)
        if self.completed_at < self.created_at:
            _bad("completed_at is before created_at", id=self.id)
        if self.kind not in ("rdb", "aof"):
            _bad(f"kind {self.kind!r} is not 'rdb' or 'aof'", id=self.id)
        if not self.objects:
            _bad("a backup has at least one object", id=self.id)
        names = [o.name for o in self.objects]
        if len(set(names)) != len(names):
            _bad("object names are not unique", id=self.id)
        if not isinstance(self.purpose, str) or not _PURPOSE_RE.match(self.purpose):
            _bad(f"purpose {self.purpose!r} is not a lower-case word", id=self.id)
        if self.used_memory_dataset is not None and self.used_memory_dataset < 0:
            _bad(f"used_memory_dataset {self.used_memory_dataset} is negative", id=self.id)
        if self.rdb_version is not None and not 1 <= self.rdb_version <= 255:
            _bad(f"rdb_version {self.rdb_version} is out of range", id=self.id)
        if self.key_counts is not None:
            for db in self.key_counts:
                if not isinstance(db, int) or db < 0:
                    _bad(f"database number {db!r} is invalid", id=self.id)

    # --- derived ---------------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Total bytes over all objects."""
        return sum(o.size for o in self.objects)

    @property
    def verified(self) -> bool:
        """True when every object passed a content verifier while it was written."""
        return all(o.verified is True for o in self.objects)

    @property
    def is_safety(self) -> bool:
        """True for a backup a restore took of the data it was about to replace."""
        return self.purpose == "safety"

    @property
    def total_keys(self) -> int | None:
        """Keys over all databases, or None when counts are unknown."""
        return None if self.key_counts is None else sum(c.keys for c in self.key_counts.values())

    def object(self, name: str) -> ObjectEntry:
        """The entry named ``name`` (KeyError when there is none)."""
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(name)

    # --- JSON ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (with ``purpose`` always; :meth:`to_json` omits it for manual backups)."""
        return {
            **self.extra,
            "format": FORMAT,
            "format_version": self.format_version,
            "id": self.id,
            "created_at": _iso(self.created_at),
            "completed_at": _iso(self.completed_at),
            "source": {"name": self.source.name, "address": self.source.address},
            "kind": self.kind,
            "redis_version": self.redis_version,
            "rdb_version": self.rdb_version,
            "objects": [o.to_dict() for o in self.objects],
            "key_counts": None
            if self.key_counts is None
            else {str(db): {"keys": c.keys, "expires": c.expires} for db, c in self.key_counts.items()},
            "config_fingerprint": self.config_fingerprint,
            "used_memory_dataset": self.used_memory_dataset,
            "tool_version": self.tool_version,
            "notes": self.notes,
            "purpose": self.purpose,
        }

    def to_json(self) -> bytes:
        """UTF-8 JSON, indented, keys sorted (stable bytes for the same manifest).

        ``purpose`` is left out for a manual backup (its default), so redisops versions that predate
        the field still read it.
        """
        doc = self.to_dict()
        if self.purpose == "manual":
            del doc["purpose"]
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes | str, *, where: str = MANIFEST_NAME) -> Manifest:
        """Parse and validate a manifest (``where`` names it in error messages)."""
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise ParseError(
                f"{where} is not valid JSON: {type(e).__name__} at {getattr(e, 'pos', '?')}",
                hint="the manifest is corrupt; this backup cannot be used",
                context={"where": where},
            ) from None
        if not isinstance(doc, dict):
            raise ParseError(f"{where} is not a JSON object", context={"where": where})
        return cls.from_dict(doc, where=where)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, where: str = MANIFEST_NAME) -> Manifest:
        """Validate a decoded manifest document."""
        r = _Reader(doc, where)
        if doc.get("format") != FORMAT:
            r.fail(f"format is {doc.get('format')!r}, not {FORMAT!r}")
        version = doc.get("format_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            writer = doc.get("tool_version")
            by = f"redisops {writer}" if isinstance(writer, str) and writer else "a newer redisops"
            raise ParseError(
                f"{where} has format_version {version}: written by {by}; upgrade to read it "
                f"(this redisops {__version__} reads format_version {FORMAT_VERSION})",
                hint=f"upgrade redisops to {writer} or later to read this backup"
                if isinstance(writer, str) and writer
                else "upgrade redisops to read this backup",
                context={"where": where, "format_version": version, "written_by": writer},
            )
        if type(version) is not int or version != FORMAT_VERSION:
            raise ParseError(
                f"{where} has format_version {version!r}; this redisops reads version {FORMAT_VERSION}",
                hint="the manifest is corrupt; this backup cannot be used",
                context={"where": where, "format_version": version},
            )
        extra = {k: v for k, v in doc.items() if k not in _FIELDS}
        src = r.req_obj("source")
        objects_raw = r.req_list("objects")
        objects = []
        for i, o in enumerate(objects_raw):
            if not isinstance(o, dict):
                r.fail(f"objects[{i}] is not an object entry")
            orr = _Reader(o, f"{where} objects[{i}]")
            objects.append(
                ObjectEntry(
                    name=orr.req_str("name"),
                    size=orr.req_int("size"),
                    sha256=orr.req_str("sha256"),
                    crc64=orr.opt_str("crc64"),
                    verified=orr.opt_bool("verified"),
                    extra={k: v for k, v in o.items() if k not in _OBJECT_FIELDS},
                )
            )
        counts_raw = doc.get("key_counts")
        key_counts: dict[int, DbCounts] | None = None
        if counts_raw is not None:
            if not isinstance(counts_raw, dict):
                r.fail("key_counts is not an object")
            key_counts = {}
            for db, c in counts_raw.items():
                if not (isinstance(db, str) and db.isdigit()) or not isinstance(c, dict):
                    r.fail(f"key_counts[{db!r}] is invalid")
                cr = _Reader(c, f"{where} key_counts[{db}]")
                key_counts[int(db)] = DbCounts(keys=cr.req_int("keys"), expires=cr.req_int("expires"))
        sr = _Reader(src, f"{where} source")
        kind = r.req_str("kind")
        if kind not in ("rdb", "aof"):
            r.fail(f"kind {kind!r} is not 'rdb' or 'aof'")
        return cls(
            id=r.req_str("id"),
            created_at=r.req_time("created_at"),
            completed_at=r.req_time("completed_at"),
            source=SourceInfo(name=sr.req_str("name"), address=sr.opt_str("address")),
            kind=cast(BackupKind, kind),
            objects=tuple(objects),
            tool_version=r.req_str("tool_version"),
            redis_version=r.opt_str("redis_version"),
            rdb_version=r.opt_int("rdb_version"),
            key_counts=key_counts,
            config_fingerprint=r.opt_str("config_fingerprint"),
            notes=r.opt_str("notes") or "",
            used_memory_dataset=r.opt_int("used_memory_dataset"),
            purpose=r.opt_str("purpose") or "manual",
            extra=extra,
        )


class _Reader:
    """Typed field access that raises ParseError naming the field."""

    def __init__(self, doc: Mapping[str, Any], where: str) -> None:
        self.doc = doc
        self.where = where

    def fail(self, message: str) -> NoReturn:
        raise ParseError(
            f"{self.where}: {message}",
            hint="the manifest is corrupt or from an incompatible tool; this backup cannot be used",
            context={"where": self.where},
        )

    def _get(self, key: str, types: type | tuple[type, ...], optional: bool) -> Any:
        if key not in self.doc:
            if optional:
                return None
            self.fail(f"missing field {key!r}")
        value = self.doc[key]
        if value is None and optional:
            return None
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
            self.fail(f"field {key!r} has the wrong type ({type(value).__name__})")
        return value

    def req_str(self, key: str) -> str:
        return cast(str, self._get(key, str, False))

    def opt_str(self, key: str) -> str | None:
        return cast("str | None", self._get(key, str, True))

    def req_int(self, key: str) -> int:
        return cast(int, self._get(key, int, False))

    def opt_int(self, key: str) -> int | None:
        return cast("int | None", self._get(key, int, True))

    def opt_bool(self, key: str) -> bool | None:
        return cast("bool | None", self._get(key, bool, True))

    def req_obj(self, key: str) -> Mapping[str, Any]:
        return cast("Mapping[str, Any]", self._get(key, dict, False))

    def req_list(self, key: str) -> Sequence[Any]:
        return cast("Sequence[Any]", self._get(key, list, False))

    def req_time(self, key: str) -> datetime:
        raw = self.req_str(key)
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            self.fail(f"field {key!r} is not an ISO 8601 time")
        if ts.tzinfo is None:
            self.fail(f"field {key!r} has no time zone")
        return ts.astimezone(UTC)


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)
