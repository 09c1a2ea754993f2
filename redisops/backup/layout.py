"""The object key layout of the backup store, backup ids and Velero's placement rules. Pure: no I/O.

Every object redisops writes lives under one *root* prefix, and nowhere else::

    <root>/backups/<source>/<backup-id>/dump.rdb            (kind rdb)
    <root>/backups/<source>/<backup-id>/aof/<file>          (kind aof: the multi-part AOF directory)
    <root>/backups/<source>/<backup-id>/manifest.json       (written LAST: the commit marker)
    <root>/locks/<source>.lock                              (one writer per source)
    <root>/audit/YYYY/MM/DD/<time>-<op id>.json             (the audit trail of operations on the store)

The root is ``redisops`` by default. Sharing a bucket with a Velero BackupStorageLocation (BSL) whose
prefix is ``P``, the root is either a *sibling* of ``P`` (``redisops`` next to ``velero``; the default)
or ``P/plugins/redisops`` (opt-in). Velero marks a BSL *Unavailable* when ``P/`` holds any top-level
folder other than :data:`VELERO_TOP_LEVEL`, and owns the whole bucket when ``P`` is empty: such a BSL is
refused. See docs/backup-layout.md.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from redisops.errors import ConfigError, InvalidArgument

__all__ = [
    "BACKUP_ID_RE",
    "DEFAULT_ROOT",
    "MANIFEST_NAME",
    "VELERO_TOP_LEVEL",
    "KeyInfo",
    "Layout",
    "Placement",
    "backup_id_time",
    "check_object_name",
    "check_source_name",
    "is_backup_id",
    "new_backup_id",
    "normalize_prefix",
    "root_for_velero",
]

#: the default root prefix (no slashes)
DEFAULT_ROOT = "redisops"
#: the object that commits a backup; written last, deleted first
MANIFEST_NAME = "manifest.json"
#: the only top-level folders Velero accepts under its prefix
VELERO_TOP_LEVEL = frozenset({"backups", "restores", "kopia", "restic", "metadata", "plugins"})
#: ``20261125T184501Z-3f9a``: UTC time to the second, then a random hex suffix (sortable as text)
BACKUP_ID_RE = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{4,16})$")

Placement = Literal["sibling", "plugins"]

_SOURCE_RE = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_PREFIX_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")


def normalize_prefix(prefix: str | None) -> str:
    """``/a/b/`` -> ``a/b``; None or blank -> ``""``. Rejects ``.``/``..`` and empty segments."""
    if prefix is None:
        return ""
    p = prefix.strip().strip("/")
    if not p:
        return ""
    segments = p.split("/")
    for seg in segments:
        if seg in ("", ".", "..") or not _PREFIX_SEGMENT_RE.match(seg):
            raise ConfigError(
                f"invalid S3 prefix {prefix!r}: segment {seg!r} is not allowed",
                hint="use letters, digits, '.', '_' and '-' separated by single '/'",
                context={"prefix": prefix},
            )
    return p


def check_source_name(name: str) -> str:
    """A source name is a lower-case DNS-like label (``redis``, ``cache-eu.1``); returned unchanged."""
    if not isinstance(name, str) or not _SOURCE_RE.match(name):
        raise ConfigError(
            f"invalid backup source name {name!r}",
            hint="use 1-63 lower-case letters, digits, '.', '_' or '-', starting and ending alphanumeric",
            context={"source": name},
        )
    return name


def check_object_name(name: str) -> str:
    """An object name inside a backup folder: a relative path (``dump.rdb``, ``aof/<file>``).

    Segments are plain file names (no ``..``, no leading ``.``); ``manifest.json`` at the top is reserved.
    """
    if not isinstance(name, str) or not name or name.startswith("/") or name.endswith("/"):
        raise ConfigError(f"invalid backup object name {name!r}", context={"name": name})
    segments = name.split("/")
    if len(segments) > 4 or not all(_SEGMENT_RE.match(s) for s in segments):
        raise ConfigError(
            f"invalid backup object name {name!r}",
            hint="use at most 4 path segments of letters, digits, '.', '_' and '-', not starting with '.'",
            context={"name": name},
        )
    if name == MANIFEST_NAME:
        raise ConfigError(f"{MANIFEST_NAME!r} is reserved for the backup manifest", context={"name": name})
    return name


def new_backup_id(now: datetime, suffix: str | None = None) -> str:
    """A sortable backup id from ``now`` (converted to UTC) and a random 4-hex-digit suffix.

    ``suffix`` may be given (tests); it must be 4-16 lower-case hex digits.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (use datetime.now(UTC))")
    sfx = secrets.token_hex(2) if suffix is None else suffix
    bid = f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{sfx}"
    if not BACKUP_ID_RE.match(bid):
        raise ValueError(f"invalid backup id suffix {suffix!r}: use 4-16 lower-case hex digits")
    return bid


def is_backup_id(text: str) -> bool:
    """True when ``text`` has the form of a backup id."""
    return bool(BACKUP_ID_RE.match(text))


def backup_id_time(backup_id: str) -> datetime:
    """The UTC time encoded in a backup id (ValueError when it is not one)."""
    m = BACKUP_ID_RE.match(backup_id)
    if not m:
        raise ValueError(f"not a backup id: {backup_id!r}")
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class KeyInfo:
    """What a key under ``<root>/backups/`` denotes: its source, backup id and object name."""

    source: str
    backup_id: str
    name: str

    @property
    def is_manifest(self) -> bool:
        """True for the commit marker."""
        return self.name == MANIFEST_NAME


def root_for_velero(
    velero_prefix: str | None, placement: Placement = "sibling", name: str = DEFAULT_ROOT
) -> str:
    """The redisops root for a bucket shared with a Velero BSL whose prefix is ``velero_prefix``.

    ``sibling``: ``name`` next to the Velero prefix (``velero`` -> ``redisops``;
    ``team/velero`` -> ``team/redisops``). ``plugins``: ``<prefix>/plugins/<name>``.

    Raises:
        ConfigError: the BSL has no prefix (Velero then owns the whole bucket), or the sibling would
            collide with the Velero prefix.
    """
    vp = normalize_prefix(velero_prefix)
    if not vp:
        raise ConfigError(
            "the Velero BackupStorageLocation has no prefix: Velero owns the whole bucket",
            hint="give the BSL a prefix (spec.objectStorage.prefix, e.g. 'velero') or use another bucket "
            "for redisops backups",
            context={"velero_prefix": velero_prefix or ""},
        )
    if placement == "plugins":
        root = f"{vp}/plugins/{name}"
    elif placement == "sibling":
        parent, _, _ = vp.rpartition("/")
        root = f"{parent}/{name}" if parent else name
    else:  # pragma: no cover - guarded by the Literal type
        raise ConfigError(f"unknown placement {placement!r}", hint="use 'sibling' or 'plugins'")
    Layout(root, velero_prefix=vp)  # validates the result
    return root


@dataclass(frozen=True)
class Layout:
    """The key layout under one root prefix.

    Args:
        root: the root prefix (slashes at either end are stripped); must not be empty.
        velero_prefix: the prefix of a Velero BSL in the same bucket, if any: the root is then checked
            to be a sibling of it or ``<velero_prefix>/plugins/<name>``, never inside Velero's folders.
    """

    root: str = DEFAULT_ROOT
    velero_prefix: str | None = None

    def __post_init__(self) -> None:
        root = normalize_prefix(self.root)
        if not root:
            raise ConfigError(
                "the backup root prefix is empty: redisops never writes at the top of a bucket",
                hint="set backup.prefix, e.g. 'redisops'",
            )
        object.__setattr__(self, "root", root)
        if self.velero_prefix is not None:
            vp = normalize_prefix(self.velero_prefix)
            if not vp:
                root_for_velero(vp)  # raises the empty-prefix ConfigError
            object.__setattr__(self, "velero_prefix", vp)
            _check_velero_placement(root, vp)

    # --- prefixes and keys -------------------------------------------------------------------------
    @property
    def prefix(self) -> str:
        """``<root>/``: everything redisops owns."""
        return f"{self.root}/"

    @property
    def backups_prefix(self) -> str:
        """``<root>/backups/``."""
        return f"{self.root}/backups/"

    @property
    def locks_prefix(self) -> str:
        """``<root>/locks/``."""
        return f"{self.root}/locks/"

    @property
    def audit_prefix(self) -> str:
        """``<root>/audit/``: one object per audit record of an operation on this store (S3 has no
        append); never listed as a backup, never touched by gc or prune, outside Velero's prefix."""
        return f"{self.root}/audit/"

    def audit_key(self, at: datetime, op_id: str) -> str:
        """``<root>/audit/YYYY/MM/DD/<YYYYMMDDTHHMMSS.mmmZ>-<op id>.json`` for a record written at ``at``
        (sortable by time as text)."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware (use datetime.now(UTC))")
        t = at.astimezone(UTC)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", op_id)[:120] or "op"
        stamp = f"{t:%Y%m%dT%H%M%S}.{t.microsecond // 1000:03d}Z"
        return f"{self.audit_prefix}{t:%Y/%m/%d}/{stamp}-{safe}.json"

    def source_prefix(self, source: str) -> str:
        """``<root>/backups/<source>/``."""
        return f"{self.backups_prefix}{check_source_name(source)}/"

    def backup_prefix(self, source: str, backup_id: str) -> str:
        """``<root>/backups/<source>/<backup-id>/``."""
        if not is_backup_id(backup_id):
            raise InvalidArgument(
                f"not a backup id: {backup_id!r}",
                hint="ids look like 20261125T184501Z-3f9a (see `redisops backup list`)",
                context={"backup_id": backup_id},
            )
        return f"{self.source_prefix(source)}{backup_id}/"

    def object_key(self, source: str, backup_id: str, name: str) -> str:
        """The key of object ``name`` of a backup."""
        return self.backup_prefix(source, backup_id) + check_object_name(name)

    def manifest_key(self, source: str, backup_id: str) -> str:
        """The key of a backup's manifest (its commit marker)."""
        return self.backup_prefix(source, backup_id) + MANIFEST_NAME

    def lock_key(self, source: str) -> str:
        """``<root>/locks/<source>.lock``."""
        return f"{self.locks_prefix}{check_source_name(source)}.lock"

    def parse_key(self, key: str) -> KeyInfo | None:
        """The source, backup id and name of a key under ``<root>/backups/``; None for any other key."""
        if not key.startswith(self.backups_prefix):
            return None
        parts = key[len(self.backups_prefix) :].split("/", 2)
        if len(parts) != 3 or not _SOURCE_RE.match(parts[0]) or not is_backup_id(parts[1]) or not parts[2]:
            return None
        return KeyInfo(source=parts[0], backup_id=parts[1], name=parts[2])

    def owns(self, key: str) -> bool:
        """True when ``key`` is under the root (the only place redisops writes or deletes)."""
        return key.startswith(self.prefix)


def _check_velero_placement(root: str, velero_prefix: str) -> None:
    """Refuse a root that would put a folder Velero does not accept under its prefix (or overlap it)."""
    vp = velero_prefix
    if root == vp or vp.startswith(root + "/"):
        raise ConfigError(
            f"the backup root {root!r} would contain the Velero prefix {vp!r}",
            hint="use the default sibling root (e.g. 'redisops') or the opt-in '<prefix>/plugins/redisops'",
            context={"root": root, "velero_prefix": vp},
        )
    if root.startswith(vp + "/"):
        rest = root[len(vp) + 1 :].split("/")
        if rest[0] != "plugins" or len(rest) < 2:
            raise ConfigError(
                f"the backup root {root!r} is inside the Velero prefix {vp!r} but not under "
                f"'{vp}/plugins/': Velero would mark the BackupStorageLocation Unavailable",
                hint=f"use a sibling root (e.g. 'redisops') or '{vp}/plugins/redisops'",
                context={"root": root, "velero_prefix": vp},
            )
