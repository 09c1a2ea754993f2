"""Pre-flight checks of ``deploy`` and ``rollback``, run before anything changes.

* The lint gate (:func:`lint_gate`): error-level findings block the deploy unless each is waived by
  its rule id; warnings (and waived errors) are returned so the caller can show what it goes ahead with.
* The version guard (:func:`check_versions`): the Redis version the target image names against the
  RDB version of the data, read from the running server (``INFO server`` through a port-forward) or,
  when no Redis pod is ready, from the newest backup's manifest. A target that cannot read the data's
  RDB version is refused (it would crash-loop on the files); a downgrade within one RDB version is
  allowed with a warning; an upgrade takes a backup of the running server first (unless told not to).

Both raise :class:`~redisops.errors.PlanBlocked` (exit 15) for a dry run and a real run alike: the
real run refuses before changing anything, the dry run says the real run would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from redisops.adapters.redis_conn import connect, raw_command, redis_errors
from redisops.config.model import DeploymentConfig
from redisops.errors import InvalidArgument, ParseError, PlanBlocked, RedisOpsError
from redisops.inspect import parse_info
from redisops.ops.pod_redis import pod_endpoint
from redisops.rdb.versions import max_rdb_version_for

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.backup import BackupStore, Manifest
    from redisops.lint import Finding

__all__ = [
    "DataVersion",
    "VersionPlan",
    "backup_before_upgrade",
    "check_versions",
    "compare_versions",
    "image_redis_version",
    "lint_gate",
    "oldest_release_reading",
]

#: Redis release lines, oldest first (the ones :mod:`redisops.rdb.versions` knows)
RELEASE_LINES = ("2.6", "2.8", "3.0", "3.2", "4.0", "5.0", "6.0", "6.2", "7.0", "7.2", "7.4", "8.0")

Verdict = Literal["same", "upgrade", "downgrade", "blocked", "unknown"]


# --- lint gate -----------------------------------------------------------------------------------


def lint_gate(
    cfg: DeploymentConfig, manifests: Sequence[Mapping[str, Any]], allow: Collection[str] = ()
) -> list[Finding]:
    """Lint ``cfg`` and ``manifests``; raise on error-level findings whose rule is not in ``allow``.

    Returns the findings the deploy goes ahead with: warnings and waived errors (info is left out).

    Raises:
        InvalidArgument: ``allow`` names a rule that does not exist.
        PlanBlocked: an error-level finding is not waived.
    """
    from redisops.lint import lint_config  # the rules load only for a deploy, not for history/rollback
    from redisops.lint.rules import RULES

    known = {r.id for r in RULES}
    unknown = sorted(set(allow) - known)
    if unknown:
        raise InvalidArgument(
            f"unknown lint rule(s) to allow: {', '.join(unknown)}",
            hint="`redisops lint --list-rules` lists the rule ids",
            context={"unknown": unknown},
        )
    findings = lint_config(cfg, manifests=manifests)
    blocking = [f for f in findings if f.severity == "error" and f.rule_id not in allow]
    if blocking:
        rules = sorted({f.rule_id for f in blocking})
        raise PlanBlocked(
            f"lint found {len(blocking)} error(s), so the deploy would not start: "
            + "; ".join(f"{f.rule_id} ({f.path}): {f.message}" for f in blocking),
            hint="fix the config (`redisops lint` says how), or waive a finding you accept by name: "
            + " ".join(f"--allow {r}" for r in rules),
            context={"rules": rules},
        )
    return [f for f in findings if f.severity in ("error", "warn")]


# --- versions (pure) -----------------------------------------------------------------------------

_TAG_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:$|[-_.+])")


def image_redis_version(image: str) -> str | None:
    """The Redis version an image tag names (``redis:7.0.15-alpine`` → ``7.0.15``, ``redis:7.2`` →
    ``7.2``); None for no tag, a digest only, or a tag that names no version (``latest``, ``alpine``)."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    m = _TAG_VERSION_RE.match(last.rsplit(":", 1)[1])
    if m is None:
        return None
    return ".".join(g for g in m.groups() if g is not None)


def _parts(version: str) -> tuple[int, ...]:
    m = re.match(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?", version)
    if m is None:
        raise ParseError(f"not a Redis version: {version!r}")
    return tuple(int(g) for g in m.groups() if g is not None)


def oldest_release_reading(rdb_version: int) -> str | None:
    """The oldest Redis release line that loads RDB version ``rdb_version`` (None: none known does)."""
    for line in RELEASE_LINES:
        if max_rdb_version_for(line) >= rdb_version:
            return line
    return None


@dataclass(frozen=True)
class DataVersion:
    """What wrote the data now on the volume, and where redisops learned it."""

    rdb_version: int
    redis_version: str | None
    source: str
    pod: str | None = None  # the running pod the version was read from, when it was


def compare_versions(target: str, data: DataVersion) -> Verdict:
    """``blocked`` when Redis ``target`` cannot load the data's RDB version, else whether ``target`` is
    an ``upgrade``, a ``downgrade`` (same RDB version) or the ``same`` release as the data's writer
    (``unknown`` when the writer's version is not known). A target without a patch number (``7.2``)
    compares on major.minor only."""
    if data.rdb_version > max_rdb_version_for(target):
        return "blocked"
    if not data.redis_version:
        return "unknown"
    want = _parts(target)
    have = _parts(data.redis_version)[: len(want)]
    if want > have:
        return "upgrade"
    if want < have:
        return "downgrade"
    return "same"


# --- versions (against the cluster and the store) ------------------------------------------------


@dataclass
class VersionPlan:
    """The outcome of :func:`check_versions`: the verdict and what the deploy tells the user."""

    target_image: str
    target_version: str | None
    data: DataVersion | None
    verdict: Verdict
    notes: list[str] = field(default_factory=list)

    @property
    def backup_pod(self) -> str | None:
        """The running pod to back up before an upgrade (None: no backup to take)."""
        return self.data.pod if self.verdict == "upgrade" and self.data is not None else None


def _redis_image(manifests: Sequence[Mapping[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    for m in manifests:
        if m.get("kind") != "Deployment":
            continue
        containers = ((m.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        for c in containers:
            if c.get("name") == "redis" or len(containers) == 1:
                return str(c.get("image", "")), dict(m)
    return None


def _running_version(
    kube: Kube, cfg: DeploymentConfig, deployment: Mapping[str, Any], password: str | None
) -> tuple[DataVersion | None, str | None]:
    """The version of the ready Redis pod's server, or (None, why not)."""
    from redisops.adapters.kube import is_pod_ready

    selector = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or cfg.labels
    ready = [p["metadata"]["name"] for p in kube.pods(dict(selector), cfg.namespace) if is_pod_ready(p)]
    if not ready:
        return None, "no Redis pod is ready"
    pod = str(ready[0])
    try:
        with pod_endpoint(kube, cfg, pod, password) as ep:
            client = connect(ep, check=False)
            try:
                with redis_errors(ep):
                    info = parse_info(raw_command(client, "INFO", "server"))
            finally:
                client.close()
    except RedisOpsError as e:
        return None, f"INFO through a port-forward to {pod} failed: {e.message}"
    version = info.server.redis_version
    if not version:
        return None, f"pod {pod} did not report redis_version"
    rdb = max_rdb_version_for(version)
    return DataVersion(rdb, version, f"the running server (pod {pod})", pod), None


def _newest_backup(store: BackupStore) -> Manifest | None:
    found = [m for m in store.list() if m.rdb_version is not None or m.redis_version]
    return max(found, key=lambda m: m.created_at) if found else None


def _backup_version(m: Manifest) -> DataVersion:
    rdb = m.rdb_version if m.rdb_version is not None else max_rdb_version_for(str(m.redis_version))
    return DataVersion(rdb, m.redis_version, f"the newest backup {m.id}")


def _blocked(target_image: str, target: str, data: DataVersion, store: BackupStore | None) -> PlanBlocked:
    limit = max_rdb_version_for(target)
    newer = oldest_release_reading(data.rdb_version)
    readable: list[Manifest] = []
    if store is not None:
        try:
            readable = [m for m in store.list() if m.rdb_version is not None and m.rdb_version <= limit]
        except RedisOpsError:
            readable = []
    way = f"deploy an image >= redis:{newer}" if newer else "deploy a newer Redis image"
    if readable:
        m = max(readable, key=lambda b: b.created_at)
        hint = (
            f"restore a backup written by Redis {m.redis_version or '?'} (backup ID {m.id}) after the "
            f"rollback, or {way}"
        )
    else:
        hint = f"{way}; no backup in the store was written by a Redis that {target} can load"
    writer = f"Redis {data.redis_version}" if data.redis_version else "a newer Redis"
    return PlanBlocked(
        f"{target_image} (Redis {target}) loads RDB versions up to {limit}, but the data is RDB "
        f"version {data.rdb_version}, written by {writer} (from {data.source}): Redis would crash-loop "
        "on files it cannot read",
        hint=hint,
        context={
            "target_image": target_image,
            "target_rdb_max": limit,
            "data_rdb_version": data.rdb_version,
            "data_redis_version": data.redis_version,
            "source": data.source,
        },
    )


def check_versions(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]],
    *,
    store: BackupStore | None = None,
    password: str | None = None,
    pvc_exists: bool = True,
) -> VersionPlan | None:
    """Compare the target image's Redis with the data's RDB version (see the module docstring).

    Returns None when ``manifests`` hold no Redis Deployment. The data's version comes from the ready
    Redis pod (``INFO server`` through a port-forward), else from the newest backup in ``store`` when
    the data volume exists (``pvc_exists``), else it is unknown (nothing to protect, or nothing known).

    Raises:
        PlanBlocked: the target cannot load the data's RDB version.
    """
    found = _redis_image(manifests)
    if found is None:
        return None
    image, deployment = found
    target = image_redis_version(image)
    data, why = _running_version(kube, cfg, deployment, password)
    notes: list[str] = []
    if data is None and store is not None and pvc_exists:
        try:
            newest = _newest_backup(store)
        except RedisOpsError as e:
            newest = None
            notes.append(f"the backup store could not be read ({e.message})")
        if newest is not None:
            data = _backup_version(newest)
    if target is None:
        notes.append(f"cannot tell the Redis version of image {image!r}; the version check was skipped")
        return VersionPlan(image, None, data, "unknown", notes)
    if data is None:
        notes.append(f"the data's Redis version is unknown ({why}; no backup says); version check skipped")
        return VersionPlan(image, target, None, "unknown", notes)
    try:
        verdict = compare_versions(target, data)
    except ParseError:
        notes.append(f"cannot compare {target} with {data.redis_version!r}; the version check was skipped")
        return VersionPlan(image, target, data, "unknown", notes)
    if verdict == "blocked":
        raise _blocked(image, target, data, store)
    if verdict == "downgrade":
        notes.append(
            f"downgrade from Redis {data.redis_version} to {target}: both use RDB version "
            f"{data.rdb_version}, so the data stays readable"
        )
    elif verdict == "upgrade" and data.pod is None:
        notes.append(
            f"upgrade from Redis {data.redis_version} ({data.source}) to {target}: no running server "
            "to back up first"
        )
    return VersionPlan(image, target, data, verdict, notes)


def backup_before_upgrade(
    kube: Kube,
    cfg: DeploymentConfig,
    plan: VersionPlan,
    store: BackupStore,
    *,
    password: str | None = None,
    timeout: float = 300.0,
    progress: Callable[[str], None] | None = None,
) -> Manifest:
    """Back up the running server (an RDB through a port-forward to its pod) before an upgrade.

    The backup is streamed, verified and listed like ``redisops backup create``'s, labelled ``safety``.
    """
    from redisops.ops.backup import create_rdb_backup

    pod = plan.backup_pod
    if pod is None or plan.data is None:
        raise InvalidArgument("no running Redis pod to back up before the upgrade")
    say = progress or (lambda _m: None)
    say(f"backing up pod {pod} (Redis {plan.data.redis_version}) before upgrading to {plan.target_version}")
    with pod_endpoint(kube, cfg, pod, password, socket_timeout=30.0) as ep:
        return create_rdb_backup(
            ep,
            store,
            notes=f"before upgrading Redis {plan.data.redis_version} to {plan.target_version} "
            f"({plan.target_image})",
            timeout=timeout,
            prefer_replica=False,
            purpose="safety",  # taken to undo a change, like a restore's backup of what it replaces
        )
