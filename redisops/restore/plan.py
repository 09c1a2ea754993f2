"""What a restore will do, decided without touching anything (the ``--dry-run`` answer).

Pure: the caller passes a listing of the data dir (see :func:`redisops.restore.engine.list_data_dir`),
the target's persistence settings, the facts recorded with the backup and the time. The engine runs
exactly the actions planned here, so a dry run shows what a real run does.

The form installed follows what the target will LOAD (reference/redis-persistence.md):

* ``appendonly yes``: Redis 7 loads only the AOF directory named by its manifest and never reads
  ``dump.rdb``. An RDB backup is installed as ``<appenddirname>/<appendfilename>.1.base.rdb`` plus the
  one-line manifest ``file <appendfilename>.1.base.rdb seq 1 type b``; no ``dump.rdb`` is placed.
* ``appendonly no``: the RDB is installed as ``<dbfilename>``.

In both cases the current ``<dbfilename>`` and ``<appenddirname>/`` are moved aside (renamed, never
deleted) into ``.redisops-undo/<timestamp>-<id>/``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from redisops.config import DeploymentConfig, parse_memory, parse_redis_conf
from redisops.errors import ConfigError, ConflictError, PlatformError, RedisOpsError

__all__ = [
    "RECORD_NAME",
    "STAGING_PREFIX",
    "UNDO_DIR_NAME",
    "Action",
    "ActionKind",
    "DataDirListing",
    "EntryInfo",
    "ExpectedBackup",
    "ExpectedFile",
    "KeyCountsLike",
    "RestorePlan",
    "TargetSettings",
    "aof_base_name",
    "aof_manifest_line",
    "aof_manifest_name",
    "memory_fit",
    "new_operation_id",
    "operation_folder_name",
    "plan_restore",
    "running_signs",
]

#: the restore record (the last restore or undo done on this data dir)
RECORD_NAME = ".redisops-restore.json"
#: the folder holding one sub-folder per restore/undo with what was moved aside
UNDO_DIR_NAME = ".redisops-undo"
#: staging dirs are ``<data_dir>/.redisops-staging-<id>/`` (same filesystem: installs are renames)
STAGING_PREFIX = ".redisops-staging-"

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

#: files Redis writes only while it runs: a bgsave / diskless load / AOF rewrite in progress
RUNNING_PATTERNS_TOP = ("temp-*.rdb", "temp-rewriteaof-*.aof", "temp-*.aof")
RUNNING_PATTERNS_AOF_DIR = ("temp-*",)


class KeyCountsLike(Protocol):
    """Per-db counts as recorded with a backup (``DbKeyCounts`` of the RDB scanner, ``DbCounts``)."""

    @property
    def keys(self) -> int: ...

    @property
    def expires(self) -> int: ...


@dataclass(frozen=True)
class TargetSettings:
    """The persistence settings of the server that will load the restored files.

    Args:
        appendonly: the target runs with ``appendonly yes``.
        appenddirname, appendfilename, dbfilename: its file names (redis.conf defaults).
        redis_version: the target's Redis version (``7.0.15``): an RDB newer than it can load is refused.
        uid, gid: chown installed files to these (the redis user, 999 in the official image); None
            leaves ownership alone.
        maxmemory: the target's maxmemory in bytes (0 = no limit); a backup whose data does not fit
            is refused (Redis would evict keys right after loading, or refuse every write).
        maxmemory_policy: the target's eviction policy (named in that refusal).
    """

    appendonly: bool
    redis_version: str
    appenddirname: str = "appendonlydir"
    appendfilename: str = "appendonly.aof"
    dbfilename: str = "dump.rdb"
    uid: int | None = None
    gid: int | None = None
    maxmemory: int = 0
    maxmemory_policy: str = "noeviction"

    def __post_init__(self) -> None:
        for name in ("appenddirname", "appendfilename", "dbfilename"):
            value = getattr(self, name)
            if not value or "/" in value or value in (".", "..") or value.startswith(".redisops"):
                raise ConfigError(f"{name} must be a plain file name, got {value!r}")
        if self.appenddirname == self.dbfilename:
            raise ConfigError("appenddirname and dbfilename must differ")

    @classmethod
    def from_config(
        cls, cfg: DeploymentConfig, redis_version: str, *, uid: int | None = None, gid: int | None = None
    ) -> TargetSettings:
        """The settings of a deployment's rendered redis.conf."""
        r = cfg.config
        return cls(
            appendonly=r.appendonly,
            redis_version=redis_version,
            appenddirname=r.appenddirname,
            appendfilename=r.appendfilename,
            dbfilename=r.dbfilename,
            uid=uid,
            gid=gid,
            maxmemory=r.maxmemory_bytes,
            maxmemory_policy=r.maxmemory_policy,
        )

    @classmethod
    def from_redis_conf(
        cls, text: str, redis_version: str, *, uid: int | None = None, gid: int | None = None
    ) -> TargetSettings:
        """The settings of the redis.conf the target will load (e.g. its ConfigMap mounted in a Job);
        Redis's defaults for the directives it does not set. ConfigError when it cannot be read."""
        try:
            conf = parse_redis_conf(text)
            maxmemory = parse_memory(conf.get("maxmemory", "0"))
        except ValueError as e:
            raise ConfigError(
                f"cannot read the target's redis.conf: {e}", hint="pass the redis.conf the target loads"
            ) from None
        appendonly = conf.get("appendonly", "no").lower()
        if appendonly not in ("yes", "no"):
            raise ConfigError(f"redis.conf: appendonly is {appendonly!r}, not yes or no")
        return cls(
            appendonly=appendonly == "yes",
            redis_version=redis_version,
            appenddirname=conf.get("appenddirname", "appendonlydir"),
            appendfilename=conf.get("appendfilename", "appendonly.aof"),
            dbfilename=conf.get("dbfilename", "dump.rdb"),
            uid=uid,
            gid=gid,
            maxmemory=maxmemory,
            maxmemory_policy=conf.get("maxmemory-policy", "noeviction"),
        )

    @property
    def managed_names(self) -> tuple[str, str]:
        """The data-dir entries a restore replaces: the RDB file and the AOF directory."""
        return (self.dbfilename, self.appenddirname)


@dataclass(frozen=True)
class ExpectedFile:
    """Size and SHA-256 (lower-case hex) of one file of a backup."""

    size: int
    sha256: str

    def __post_init__(self) -> None:
        if self.size < 0 or not _SHA256_RE.match(self.sha256):
            raise ConfigError(f"invalid expected file facts: size={self.size}, sha256={self.sha256!r}")


@dataclass(frozen=True)
class ExpectedBackup:
    """The facts recorded with a backup, which the restored bytes must match.

    Build with :meth:`for_rdb` or :meth:`for_aof`. ``key_counts`` (db -> keys/expires) is checked
    against the RDB scan when present, and used by the local flow after start.
    """

    backup_id: str
    kind: Literal["rdb", "aof"]
    sha256: str | None = None
    size: int | None = None
    rdb_version: int | None = None
    key_counts: Mapping[int, KeyCountsLike] | None = None
    files: Mapping[str, ExpectedFile] | None = None
    dataset_bytes: int | None = None
    #: the RDB's structure, CRC64 and key counts were verified on these exact bytes when the backup
    #: was written (the manifest says so); the SHA-256 check proves the restored bytes are the same,
    #: so the restore checks header, version and CRC64 but does not walk every key again
    content_verified: bool = False

    def __post_init__(self) -> None:
        if self.kind == "rdb":
            if self.sha256 is None or self.size is None or not _SHA256_RE.match(self.sha256):
                raise ConfigError("an RDB restore needs the backup's sha256 (64 lower-case hex) and size")
        elif not self.files:
            raise ConfigError("an AOF restore needs the size and sha256 of every file of the backup")

    @classmethod
    def for_rdb(
        cls,
        backup_id: str,
        *,
        sha256: str,
        size: int,
        rdb_version: int | None = None,
        key_counts: Mapping[int, KeyCountsLike] | None = None,
        dataset_bytes: int | None = None,
        content_verified: bool = False,
    ) -> ExpectedBackup:
        """Facts of an RDB backup (one ``dump.rdb`` object); ``dataset_bytes``: the source's
        ``used_memory_dataset`` when the backup was taken."""
        return cls(
            backup_id,
            "rdb",
            sha256,
            size,
            rdb_version,
            key_counts,
            dataset_bytes=dataset_bytes,
            content_verified=content_verified,
        )

    @classmethod
    def for_aof(
        cls,
        backup_id: str,
        files: Mapping[str, ExpectedFile],
        *,
        key_counts: Mapping[int, KeyCountsLike] | None = None,
        dataset_bytes: int | None = None,
    ) -> ExpectedBackup:
        """Facts of an AOF backup: every file of the ``appendonlydir`` (manifest included) by name."""
        return cls(backup_id, "aof", key_counts=key_counts, files=dict(files), dataset_bytes=dataset_bytes)

    @property
    def total_size(self) -> int:
        """Bytes the restore will write."""
        if self.kind == "rdb":
            return self.size or 0
        return sum(f.size for f in (self.files or {}).values())


@dataclass(frozen=True)
class EntryInfo:
    """One entry of the data dir: a file, a directory (with its entry names) or something else."""

    kind: Literal["file", "dir", "other"]
    size: int = 0
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataDirListing:
    """What is in the data dir now (from :func:`redisops.restore.engine.list_data_dir`).

    Args:
        path: the data dir (as text, for messages).
        entries: top-level name -> entry; directories carry their children's names.
        free_bytes: free space of its filesystem, None when unknown.
        processes: pids of processes whose working directory is the data dir (redis-server chdirs
            into its ``dir``), as far as this host can see.
    """

    path: str
    entries: Mapping[str, EntryInfo]
    free_bytes: int | None = None
    processes: tuple[int, ...] = ()


ActionKind = Literal[
    "stage", "write_manifest", "write_record", "move_aside", "install", "chown", "remove_staging"
]


@dataclass(frozen=True)
class Action:
    """One step: ``kind`` with paths relative to the data dir."""

    kind: ActionKind
    target: str
    source: str = ""
    detail: str = ""

    def describe(self) -> str:
        """One human line, e.g. ``move_aside dump.rdb -> .redisops-undo/.../dump.rdb``."""
        arrow = f"{self.source} -> {self.target}" if self.source else self.target
        return f"{self.kind:<15} {arrow}" + (f"  ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class RestorePlan:
    """The actions of one restore, in order, and what would stop it.

    Attributes:
        operation_id: the id of this restore (also in the staging and undo folder names).
        form: ``aof`` (an AOF directory is installed) or ``rdb`` (``dbfilename`` is installed).
        staging_dir, undo_dir: relative to the data dir.
        moved_aside: the existing entries that will be moved into ``undo_dir``.
        installed: the entries that will be installed (top-level names).
        blockers: reasons the restore must not run (Redis running, no space...); empty when clear.
        warnings: things worth knowing that do not stop it.
    """

    operation_id: str
    backup_id: str
    form: Literal["aof", "rdb"]
    staging_dir: str
    undo_dir: str
    actions: tuple[Action, ...]
    moved_aside: tuple[str, ...]
    installed: tuple[str, ...]
    blockers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    _errors: tuple[RedisOpsError, ...] = field(default=(), repr=False, compare=False)

    def describe(self) -> list[str]:
        """The plan as lines (for ``--dry-run``)."""
        lines = [f"restore {self.backup_id} as {self.form} form (operation {self.operation_id})"]
        lines += [f"  {a.describe()}" for a in self.actions]
        lines += [f"  BLOCKED: {b}" for b in self.blockers]
        lines += [f"  warning: {w}" for w in self.warnings]
        return lines

    def raise_if_blocked(self) -> None:
        """Raise the first blocker's error (ConflictError, PlatformError or ConfigError)."""
        if self._errors:
            raise self._errors[0]


def new_operation_id(token: str) -> str:
    """Validate an operation id (letters, digits, ``_.-``; the random part of folder names)."""
    if not _ID_RE.match(token):
        raise ConfigError(f"invalid operation id {token!r}")
    return token


def operation_folder_name(now: datetime, operation_id: str) -> str:
    """``<UTC timestamp>-<id>``, e.g. ``20250101T120000Z-1a2b3c4d``; sorts by time."""
    stamp = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{operation_id}"


def aof_base_name(appendfilename: str) -> str:
    """The base file name Redis 7 uses for sequence 1 with an RDB preamble."""
    return f"{appendfilename}.1.base.rdb"


def aof_manifest_name(appendfilename: str) -> str:
    """The manifest file name inside the AOF directory."""
    return f"{appendfilename}.manifest"


def aof_manifest_line(appendfilename: str) -> str:
    """The one-line manifest that makes Redis load a lone RDB base file."""
    return f"file {aof_base_name(appendfilename)} seq 1 type b\n"


def running_signs(listing: DataDirListing, appenddirname: str) -> list[str]:
    """Signs that a redis-server is using the data dir: a process there, temp files of a save/rewrite."""
    signs = [f"process {pid} has the data dir as its working directory" for pid in listing.processes]
    for name, entry in sorted(listing.entries.items()):
        if entry.kind == "file" and any(fnmatch.fnmatchcase(name, p) for p in RUNNING_PATTERNS_TOP):
            signs.append(f"{name} exists: a save or AOF rewrite is in progress (or was interrupted)")
    aof = listing.entries.get(appenddirname)
    if aof is not None and aof.kind == "dir":
        for child in aof.children:
            if any(fnmatch.fnmatchcase(child, p) for p in RUNNING_PATTERNS_AOF_DIR):
                signs.append(f"{appenddirname}/{child} exists: an AOF rewrite is in progress")
    return signs


#: a restored dataset above this share of maxmemory is reported (writes will soon evict or fail)
MEMORY_WARN_SHARE = 0.9


def memory_fit(
    expected: ExpectedBackup, maxmemory: int, policy: str = "noeviction"
) -> tuple[ConfigError | None, str | None]:
    """Whether the backup's data fits a target's ``maxmemory`` (bytes, 0 = no limit) under eviction
    ``policy``: (refusal, warning), at most one of them set.

    The need is the source's ``used_memory_dataset`` when the backup recorded it; otherwise the RDB's
    size, a lower bound (values are at least as big in memory as in the compressed file). Loading
    ignores maxmemory, so an oversized restore loads completely and then, on the first command, Redis
    evicts keys until it fits (``allkeys-*``/``volatile-*``) or refuses every write (``noeviction``).
    """
    limit = maxmemory
    if limit <= 0:
        return None, None
    if expected.dataset_bytes is not None:
        need, what = expected.dataset_bytes, "used"
    elif expected.kind == "rdb" and expected.size:
        need, what = expected.size, "needs at least (its RDB size)"
    else:
        return None, None
    mib = 1024 * 1024
    if need > limit:
        effect = (
            "refuse every write (noeviction)"
            if policy == "noeviction"
            else f"evict keys right after loading ({policy}): data would be lost"
        )
        return (
            ConfigError(
                f"backup {expected.backup_id} does not fit the target: its data {what} {need / mib:.0f} MiB, "
                f"the target's maxmemory is {limit / mib:.0f} MiB, so Redis would {effect}",
                hint=f"raise maxmemory (config.maxmemory) to more than {need / mib:.0f} MiB, deploy that, "
                "then restore; or restore into a bigger scratch server to extract what you need",
                context={"need_bytes": need, "maxmemory": limit, "policy": policy},
            ),
            None,
        )
    if need > limit * MEMORY_WARN_SHARE:
        soon = "fail" if policy == "noeviction" else "evict keys"
        return None, (
            f"the restored data ({need / mib:.0f} MiB) fills {need / limit:.0%} of maxmemory "
            f"({limit / mib:.0f} MiB): new writes will soon {soon}"
        )
    return None, None


def plan_restore(
    listing: DataDirListing,
    settings: TargetSettings,
    expected: ExpectedBackup,
    now: datetime,
    operation_id: str,
    *,
    aof_file_names: tuple[str, ...] = (),
    server_running: bool = False,
    staged: bool = False,
) -> RestorePlan:
    """The actions that restore ``expected`` into the data dir described by ``listing``.

    Args:
        listing: the data dir now.
        settings: the target's persistence settings.
        expected: the backup's facts (kind ``rdb`` or ``aof``).
        now: the time of the restore (names the undo folder).
        operation_id: a short unique id (names the staging and undo folders).
        aof_file_names: for an AOF backup, the file names that will be staged (default: those of
            ``expected.files``).
        server_running: plan only the staging, which runs beside the running server (it writes into
            its own folder only): the signs of a running Redis are not blockers then. The install is
            planned again, with ``staged``, once the server is stopped.
        staged: the staging folder is already there and verified (the install's plan): it is expected,
            and the free space it took is not asked for again.
    """
    op = new_operation_id(operation_id)
    folder = operation_folder_name(now, op)
    staging = f"{STAGING_PREFIX}{op}"
    undo = f"{UNDO_DIR_NAME}/{folder}"
    errors: list[RedisOpsError] = []
    warnings: list[str] = []

    signs = [] if server_running else running_signs(listing, settings.appenddirname)
    if signs:
        errors.append(
            ConflictError(
                f"Redis appears to be running on {listing.path}: " + "; ".join(signs),
                hint="stop the redis-server that uses this data dir (scale the Deployment to 0, or stop "
                "the local process) and run the restore again; remove stale temp-* files of a crashed "
                "server only after checking it is down",
                context={"data_dir": listing.path, "signs": signs},
            )
        )
    for name in (staging, UNDO_DIR_NAME):
        entry = listing.entries.get(name)
        if name == staging and entry is not None and not staged:
            errors.append(ConflictError(f"staging dir {name} already exists", hint="use a new operation id"))
        if name == UNDO_DIR_NAME and entry is not None and entry.kind != "dir":
            errors.append(ConflictError(f"{UNDO_DIR_NAME} exists and is not a directory"))
        if name == UNDO_DIR_NAME and entry is not None and folder in entry.children:
            errors.append(ConflictError(f"undo folder {undo} already exists", hint="use a new operation id"))
    stale = sorted(n for n in listing.entries if n.startswith(STAGING_PREFIX) and n != staging)
    if stale:
        warnings.append(
            f"leftover staging dirs of an interrupted restore (safe to delete): {', '.join(stale)}"
        )
    if staged and staging not in listing.entries:
        errors.append(ConflictError(f"staging dir {staging} is missing: nothing was staged to install"))
    needed = 0 if staged else expected.total_size + (1 << 20)
    if listing.free_bytes is not None and listing.free_bytes < needed:
        errors.append(
            PlatformError(
                f"not enough free space in {listing.path}: {listing.free_bytes} bytes free, "
                f"the restore stages {expected.total_size} bytes next to the current files",
                hint="grow the volume, or delete old folders under .redisops-undo after checking them",
                context={"free_bytes": listing.free_bytes, "needed": expected.total_size},
            )
        )
    too_big, tight = memory_fit(expected, settings.maxmemory, settings.maxmemory_policy)
    if too_big is not None:
        errors.append(too_big)
    if tight is not None:
        warnings.append(tight)
    for name in settings.managed_names:
        entry = listing.entries.get(name)
        if entry is not None and entry.kind == "other":
            errors.append(ConflictError(f"{name} in {listing.path} is neither a file nor a directory"))

    actions: list[Action] = []
    if expected.kind == "rdb":
        if settings.appendonly:
            form: Literal["aof", "rdb"] = "aof"
            top = settings.appenddirname
            base = f"{top}/{aof_base_name(settings.appendfilename)}"
            actions.append(
                Action("stage", f"{staging}/{base}", detail=f"{expected.size} bytes, verify sha256 + RDB")
            )
            actions.append(
                Action(
                    "write_manifest",
                    f"{staging}/{top}/{aof_manifest_name(settings.appendfilename)}",
                    detail=aof_manifest_line(settings.appendfilename).strip(),
                )
            )
        else:
            form, top = "rdb", settings.dbfilename
            actions.append(
                Action("stage", f"{staging}/{top}", detail=f"{expected.size} bytes, verify sha256 + RDB")
            )
    else:
        form, top = "aof", settings.appenddirname
        if not settings.appendonly:
            errors.append(
                ConfigError(
                    "an AOF backup can only be restored into a target running appendonly yes "
                    "(with appendonly no Redis ignores the AOF directory and would start empty)",
                    hint="restore an RDB backup, or enable appendonly on the target first",
                )
            )
        names = aof_file_names or tuple(sorted(expected.files or {}))
        manifests = [n for n in names if n.endswith(".manifest")]
        want = aof_manifest_name(settings.appendfilename)
        if manifests != [want]:
            errors.append(
                ConfigError(
                    f"the AOF backup's manifest is {manifests or 'missing'}, the target expects {want!r}",
                    hint="the backup's appendfilename must match the target's appendfilename",
                    context={"files": list(names)},
                )
            )
        for n in names:
            if "/" in n or n in ("", ".", ".."):
                errors.append(ConfigError(f"invalid AOF file name {n!r} in the backup"))
            size = (expected.files or {}).get(n)
            actions.append(
                Action(
                    "stage",
                    f"{staging}/{top}/{n}",
                    detail=f"{size.size if size else '?'} bytes, verify sha256"
                    + ("" if size else " (unknown)"),
                )
            )

    actions.append(Action("write_record", RECORD_NAME, detail="status installing"))
    moved: list[str] = []
    for name in settings.managed_names:
        if name in listing.entries:
            moved.append(name)
            actions.append(Action("move_aside", f"{undo}/{name}", source=name))
    actions.append(Action("install", top, source=f"{staging}/{top}", detail="rename"))
    if settings.uid is not None or settings.gid is not None:
        actions.append(Action("chown", top, detail=f"{settings.uid}:{settings.gid}"))
    actions.append(Action("write_record", RECORD_NAME, detail="status complete"))
    actions.append(Action("remove_staging", staging))
    if form == "aof" and expected.kind == "rdb":
        warnings.append(
            f"appendonly yes: the RDB is installed as the AOF base; no {settings.dbfilename} is placed "
            "(Redis would ignore it and overwrite it at its next save)"
        )
    return RestorePlan(
        operation_id=op,
        backup_id=expected.backup_id,
        form=form,
        staging_dir=staging,
        undo_dir=undo,
        actions=tuple(actions),
        moved_aside=tuple(moved),
        installed=(top,),
        blockers=tuple(e.message for e in errors),
        warnings=tuple(warnings),
        _errors=tuple(errors),
    )
