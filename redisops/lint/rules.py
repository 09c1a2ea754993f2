"""The lint rules, as data: id, severity, title, rationale, fix and a check function.

A check gets a :class:`LintContext` (the config, the manifest set, the options and live facts) and
yields :class:`Hit` objects (field path + message, optionally a different severity). Rules never
raise on odd input: a manifest shape they do not understand is skipped. docs/lint-rules.md is
generated from :data:`RULES` by :func:`rules_markdown` (a test keeps it in sync).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from redisops.config.model import DeploymentConfig, quantity_value
from redisops.k8s.checks import check_cron, check_manifests, selector_matches

__all__ = [
    "KNOWN_REDIS_FAMILIES",
    "RULES",
    "Hit",
    "LintContext",
    "LintOptions",
    "Rule",
    "Severity",
    "Workload",
    "rules_by_id",
    "rules_markdown",
]

Severity = Literal["error", "warn", "info"]
Workload = Literal["cache", "store"]

#: Redis release families with published images (docker.io/library/redis). Redis used odd minor
#: numbers for development branches: 7.1 was the unstable branch between 7.0 and 7.2 and was never
#: released, so ``redis:7.1-alpine`` does not exist.
KNOWN_REDIS_FAMILIES = ("6.0", "6.2", "7.0", "7.2", "7.4", "8.0", "8.2")
_KNOWN_VARIANTS = re.compile(r"^(alpine(\d+\.\d+)?|bookworm|bullseye|buster|trixie)$")


@dataclass(frozen=True)
class LintOptions:
    """What lint cannot read from the config.

    Attributes:
        workload: ``cache`` (losing keys is acceptable) or ``store`` (keys are data). None infers
            it: ``store`` when persistence (AOF or RDB save points) or scheduled backups are on,
            because then the team treats the data as worth keeping; else ``cache``.
        client_labels: live facts, Deployment name -> pod template labels of the client services
            (``clients.services``); lets ``clients-not-admitted`` name the services the ingress
            NetworkPolicy would refuse.
        fork_headroom_ratio: warn when maxmemory >= this share of the container memory limit.
    """

    workload: Workload | None = None
    client_labels: Mapping[str, Mapping[str, str]] | None = None
    fork_headroom_ratio: float = 0.5


@dataclass(frozen=True)
class LintContext:
    """Everything a rule may look at."""

    cfg: DeploymentConfig
    manifests: Sequence[Mapping[str, Any]]
    options: LintOptions = field(default_factory=LintOptions)

    @property
    def workload(self) -> tuple[Workload, str]:
        """The workload and why (``"given"`` or the inference)."""
        if self.options.workload:
            return self.options.workload, "given with --workload"
        r = self.cfg.config
        reasons = []
        if r.appendonly:
            reasons.append("appendonly yes")
        if r.save:
            reasons.append("RDB save points")
        if self.cfg.backup.schedule:
            reasons.append("a backup schedule")
        if reasons:
            return "store", f"inferred from {', '.join(reasons)}; pass --workload cache if keys may be lost"
        return "cache", "inferred: no persistence and no backups; pass --workload store if keys are data"

    @property
    def persistence_on(self) -> bool:
        """Whether Redis forks to persist (AOF rewrites or RDB saves)."""
        return self.cfg.config.appendonly or bool(self.cfg.config.save)

    def of_kind(self, kind: str) -> list[Mapping[str, Any]]:
        """The manifests of one kind."""
        return [m for m in self.manifests if isinstance(m, Mapping) and m.get("kind") == kind]

    def redis_deployments(self) -> list[Mapping[str, Any]]:
        """Deployments whose pods carry the config's Redis labels."""
        sel = {"matchLabels": dict(self.cfg.labels)}
        return [d for d in self.of_kind("Deployment") if selector_matches(sel, _template_labels(d))]


@dataclass(frozen=True)
class Hit:
    """One place a rule fires: a field path and a message (severity overrides the rule's)."""

    path: str
    message: str
    severity: Severity | None = None


@dataclass(frozen=True)
class Rule:
    """A lint rule. ``scope`` says what it reads: the config or the manifest set."""

    id: str
    severity: Severity
    title: str
    rationale: str
    fix: str
    check: Callable[[LintContext], Iterable[Hit]]
    scope: Literal["config", "manifests"] = "config"


# --- helpers -----------------------------------------------------------------------------------


def _mib(n: float) -> str:
    return f"{n / 1024**2:g} MiB"


def _template_labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    spec = obj.get("spec") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    return labels if isinstance(labels, Mapping) else {}


def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return spec if isinstance(spec, Mapping) else {}


def _where(obj: Mapping[str, Any]) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def _split_image(image: str) -> tuple[str, str | None, bool]:
    """(repository name, tag or None, has digest) of an image reference."""
    ref, at, _digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    name, colon, tag = last.partition(":")
    return name, (tag if colon else None), bool(at)


def _family(tag: str) -> tuple[str | None, str | None]:
    """(version, variant) of a redis tag: ``7.2.5-alpine`` -> ("7.2.5", "alpine")."""
    version, _, variant = tag.partition("-")
    if re.fullmatch(r"\d+(\.\d+){0,2}", version):
        return version, variant or None
    return None, tag


# --- config rules ------------------------------------------------------------------------------


def _image_unreleased(ctx: LintContext) -> Iterator[Hit]:
    name, tag, _ = _split_image(ctx.cfg.image)
    if name != "redis" or not tag:
        return
    version, variant = _family(tag)
    if version is None:
        return
    parts = version.split(".")
    if len(parts) >= 2:
        fam = ".".join(parts[:2])
        known = [tuple(map(int, f.split("."))) for f in KNOWN_REDIS_FAMILIES]
        key = (int(parts[0]), int(parts[1]))
        if fam not in KNOWN_REDIS_FAMILIES and known[0] < key < known[-1]:
            prev = max(f for f in known if f < key)
            nxt = min(f for f in known if f > key)
            yield Hit(
                "image",
                f"{ctx.cfg.image!r}: Redis {fam} was never released (Redis went from "
                f"{prev[0]}.{prev[1]} to {nxt[0]}.{nxt[1]}); the image pull fails with ErrImagePull",
            )
        elif key > known[-1]:
            yield Hit(
                "image",
                f"{ctx.cfg.image!r}: Redis {fam} is newer than the releases redisops knows "
                f"({', '.join(KNOWN_REDIS_FAMILIES)}); check that the tag exists",
                severity="info",
            )
    if variant and not _KNOWN_VARIANTS.match(variant):
        yield Hit("image", f"{ctx.cfg.image!r}: unknown image variant {variant!r}", severity="warn")


def _image_floating(ctx: LintContext) -> Iterator[Hit]:
    name, tag, digest = _split_image(ctx.cfg.image)
    if digest or name != "redis":
        return
    version, _ = _family(tag or "latest")
    if version is None or "." not in version:
        yield Hit(
            "image",
            f"{ctx.cfg.image!r} floats across major/minor releases ({tag or 'no tag = latest'}); a pod "
            "restart can upgrade Redis (and its RDB format) without a change in git",
        )


def _fork_headroom(ctx: LintContext) -> Iterator[Hit]:
    maxmem = ctx.cfg.config.maxmemory_bytes
    limit = quantity_value(ctx.cfg.resources.limits.memory)
    ratio = ctx.options.fork_headroom_ratio
    if not ctx.persistence_on or maxmem <= 0 or maxmem >= limit or maxmem < ratio * limit:
        return
    yield Hit(
        "config.maxmemory",
        f"maxmemory {ctx.cfg.config.maxmemory} ({_mib(maxmem)}) is {maxmem / limit:.0%} of the memory "
        f"limit {ctx.cfg.resources.limits.memory} ({_mib(limit)}): a BGSAVE or AOF rewrite forks and "
        "copy-on-write can need up to 2x the dataset, on top of what maxmemory does not count "
        "(fragmentation, client and rewrite buffers); a full Redis gets OOMKilled mid-save",
    )


def _maxmemory_over_limit(ctx: LintContext) -> Iterator[Hit]:
    maxmem = ctx.cfg.config.maxmemory_bytes
    limit = quantity_value(ctx.cfg.resources.limits.memory)
    if maxmem >= limit:
        yield Hit(
            "config.maxmemory",
            f"maxmemory {ctx.cfg.config.maxmemory} ({_mib(maxmem)}) is not below the memory limit "
            f"{ctx.cfg.resources.limits.memory} ({_mib(limit)}): the kernel OOM-kills Redis before it "
            "ever evicts or refuses a write",
        )


def _maxmemory_unset(ctx: LintContext) -> Iterator[Hit]:
    if ctx.cfg.config.maxmemory_bytes == 0:
        yield Hit(
            "config.maxmemory",
            f"maxmemory is 0 (unlimited): Redis grows until the container limit "
            f"{ctx.cfg.resources.limits.memory} OOM-kills it; the eviction policy never applies",
        )


def _request_below_maxmemory(ctx: LintContext) -> Iterator[Hit]:
    maxmem = ctx.cfg.config.maxmemory_bytes
    req = quantity_value(ctx.cfg.resources.requests.memory)
    if maxmem > 0 and req <= maxmem:
        yield Hit(
            "resources.requests.memory",
            f"requests.memory {ctx.cfg.resources.requests.memory} ({_mib(req)}) does not exceed maxmemory "
            f"{ctx.cfg.config.maxmemory} ({_mib(maxmem)}): with a full dataset the pod uses more than it "
            "requested (RSS = dataset + overhead), and under node memory pressure the kubelet evicts "
            "pods above their request first",
        )


def _reclaim_delete(ctx: LintContext) -> Iterator[Hit]:
    p = ctx.cfg.persistence
    if p.enabled and p.reclaim_policy == "Delete":
        backups = (
            f"backups run on {ctx.cfg.backup.schedule!r}, so writes since the last one are lost"
            if ctx.cfg.backup.schedule
            else "and there are no scheduled backups: the volume is the only copy"
        )
        yield Hit(
            "persistence.reclaim_policy",
            f"reclaimPolicy Delete: deleting the PVC (helm uninstall, a namespace delete, a renamed "
            f"claim) deletes the EBS volume; {backups}",
        )


def _pvc_unencrypted(ctx: LintContext) -> Iterator[Hit]:
    if ctx.cfg.persistence.enabled and not ctx.cfg.persistence.encrypted:
        yield Hit("persistence.encrypted", "the data volume (and its snapshots) are not encrypted at rest")


def _has_ingress_policy(ctx: LintContext) -> bool:
    pod_labels: Mapping[str, str] = dict(ctx.cfg.labels)
    deps = ctx.redis_deployments()
    if deps:
        pod_labels = _template_labels(deps[0])
    for np in ctx.of_kind("NetworkPolicy"):
        spec = np.get("spec") or {}
        types = spec.get("policyTypes") or ["Ingress"]
        if "Ingress" in types and selector_matches(spec.get("podSelector") or {}, pod_labels):
            return True
    return False


def _auth_disabled(ctx: LintContext) -> Iterator[Hit]:
    if ctx.cfg.auth.enabled:
        return
    if _has_ingress_policy(ctx):
        yield Hit(
            "auth.enabled",
            "no AUTH: the ingress NetworkPolicy is the only guard, and it only works where the CNI "
            "enforces policies (on EKS the VPC CNI needs its network-policy agent enabled); any pod "
            "that gets through can read every key, FLUSHALL or CONFIG SET",
        )
    else:
        yield Hit(
            "auth.enabled",
            "no AUTH and no ingress NetworkPolicy: every pod in the cluster can read and write every "
            "key, FLUSHALL or CONFIG SET",
            severity="error",
        )


def _backup_unscheduled(ctx: LintContext) -> Iterator[Hit]:
    if not ctx.cfg.backup.schedule:
        yield Hit(
            "backup.schedule",
            "no backup schedule: the PVC is the only copy (the write-up's step 7, 'set up automated "
            "backups', is still open)",
        )


def _backup_schedule_invalid(ctx: LintContext) -> Iterator[Hit]:
    if ctx.cfg.backup.schedule:
        for problem in check_cron(ctx.cfg.backup.schedule):
            yield Hit("backup.schedule", problem)


def _eviction_drops_data(ctx: LintContext) -> Iterator[Hit]:
    workload, why = ctx.workload
    policy = ctx.cfg.config.maxmemory_policy
    if workload == "store" and policy.startswith("allkeys-") and ctx.cfg.config.maxmemory_bytes > 0:
        ttl = ctx.cfg.default_ttl_seconds
        note = (
            f" The apps write keys with a default TTL ({ttl}s), so volatile-{policy.split('-')[1]} "
            "evicts those the same way and protects keys written without a TTL."
            if ttl > 0 and policy != "allkeys-random"
            else ""
        )
        yield Hit(
            "config.maxmemory_policy",
            f"{policy} silently deletes any key, with or without a TTL, when maxmemory is reached; "
            f"the workload is treated as a store ({why}).{note}",
        )


def _persistence_off(ctx: LintContext) -> Iterator[Hit]:
    workload, why = ctx.workload
    if workload != "store":
        return
    r = ctx.cfg.config
    if not r.appendonly and not r.save:
        yield Hit(
            "config.appendonly",
            f'appendonly no and save "": nothing is ever written to disk, a restart empties Redis '
            f"(workload: store, {why})",
        )
    if not ctx.cfg.persistence.enabled:
        yield Hit(
            "persistence.enabled",
            "no PVC: the data dir is an emptyDir, so a rescheduled pod starts empty "
            f"(workload: store, {why})",
        )


def _clients_not_admitted(ctx: LintContext) -> Iterator[Hit]:
    sel = {"matchLabels": dict(ctx.cfg.clients.match_labels)}
    services = ctx.cfg.clients.services
    facts = ctx.options.client_labels
    if facts is None:
        if services:
            yield Hit(
                "clients.services",
                f"{len(services)} client services are restarted on cutover ({', '.join(services)}), but "
                "the ingress NetworkPolicy admits only pods labelled "
                + ",".join(f"{k}={v}" for k, v in ctx.cfg.clients.match_labels.items())
                + "; "
                "any of them that talks to Redis without that label gets connection timeouts",
            )
        return
    for name in services:
        labels = facts.get(name)
        if labels is not None and not selector_matches(sel, labels):
            yield Hit(
                "clients.match_labels",
                f"Deployment {name} (pod labels {dict(labels)}) is not admitted by the ingress "
                f"NetworkPolicy (from: {ctx.cfg.clients.match_labels})",
                severity="warn",
            )


# --- manifest rules ----------------------------------------------------------------------------


def _rwo_rolling_update(ctx: LintContext) -> Iterator[Hit]:
    pvc_modes: dict[str, list[str]] = {
        str((p.get("metadata") or {}).get("name")): list((p.get("spec") or {}).get("accessModes") or [])
        for p in ctx.of_kind("PersistentVolumeClaim")
    }
    for dep in ctx.of_kind("Deployment"):
        strategy = ((dep.get("spec") or {}).get("strategy") or {}).get("type")
        if strategy == "Recreate":
            continue
        for i, vol in enumerate(_pod_spec(dep).get("volumes") or []):
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            modes = pvc_modes.get(claim, [ctx.cfg.persistence.access_mode])
            if not {"ReadWriteOnce", "ReadWriteOncePod"} & set(modes):
                continue
            how = f"strategy {strategy}" if strategy else "no strategy (Kubernetes defaults to RollingUpdate)"
            yield Hit(
                f"{_where(dep)}.spec.strategy",
                f"{how} with the {'/'.join(modes)} claim {claim!r} (volume {i}): the new pod starts "
                "before the old one stops; on another node it hangs in ContainerCreating (Multi-Attach "
                "error) and the rollout never finishes, on the same node two Redis processes write one AOF",
            )


def _readiness_missing(ctx: LintContext) -> Iterator[Hit]:
    for dep in ctx.redis_deployments():
        for i, c in enumerate(_pod_spec(dep).get("containers") or []):
            if not c.get("readinessProbe"):
                yield Hit(
                    f"{_where(dep)}.spec.template.spec.containers[{i}].readinessProbe",
                    f"container {c.get('name')!r} has no readiness probe: the Service sends clients to a "
                    "Redis that is still loading its AOF/RDB (every command fails with -LOADING)",
                )


def _network_policy_missing(ctx: LintContext) -> Iterator[Hit]:
    if not _has_ingress_policy(ctx):
        yield Hit(
            "NetworkPolicy",
            f"no NetworkPolicy with policyTypes Ingress selects the Redis pods ({dict(ctx.cfg.labels)}): "
            "every pod in the cluster can connect",
        )


def _manifest_invalid(ctx: LintContext) -> Iterator[Hit]:
    for issue in check_manifests(ctx.manifests):
        yield Hit(f"{issue.where}.{issue.path}", issue.message)


RULES: tuple[Rule, ...] = (
    Rule(
        "image-tag-unreleased",
        "error",
        "Redis image tag that was never released",
        "Redis went from 7.0 to 7.2: odd minor numbers were development branches and never got an "
        "image. The pod stays in ErrImagePull/ImagePullBackOff, so the deployment never starts.",
        "Use a released family: redis:7.2-alpine (closest to the intended 7.x) or redis:7.4-alpine, "
        "ideally pinned to a patch or digest (redis:7.2.5-alpine).",
        _image_unreleased,
    ),
    Rule(
        "image-tag-floating",
        "warn",
        "Redis image tag floats across releases",
        "latest (or a major-only tag) changes under you: a pod restart can upgrade Redis and its RDB "
        "format; an older Redis cannot load a newer RDB, so a rollback then fails.",
        "Pin at least the minor release (redis:7.2-alpine), better a patch or a digest.",
        _image_floating,
    ),
    Rule(
        "maxmemory-over-limit",
        "error",
        "maxmemory at or above the container memory limit",
        "Eviction starts at maxmemory; the kernel kills the container at the limit. When maxmemory is "
        "not below the limit the OOM killer always wins and Redis never evicts.",
        "Set maxmemory to at most half the memory limit when persistence is on (see fork-headroom), "
        "or raise limits.memory.",
        _maxmemory_over_limit,
    ),
    Rule(
        "fork-headroom",
        "warn",
        "maxmemory leaves no room for the fork of a save or AOF rewrite",
        "BGSAVE and BGREWRITEAOF fork; copy-on-write can need up to 2x the dataset (redis.io admin "
        "guide), and maxmemory does not count fragmentation, client output buffers or the rewrite "
        "buffer. The boundary is inclusive: at exactly half the limit the worst case already reaches "
        "the limit before those overheads (the write-up's 256mb with a 512Mi limit is exactly half).",
        "Keep maxmemory at or below about 40% of limits.memory (e.g. maxmemory 200mb for 512Mi), or "
        "raise limits.memory to about 2.5x maxmemory (640Mi for 256mb).",
        _fork_headroom,
    ),
    Rule(
        "maxmemory-unset",
        "warn",
        "maxmemory is 0 (unlimited)",
        "Without maxmemory Redis grows until the container limit, where it is OOM-killed instead of "
        "evicting keys or refusing writes; the configured eviction policy never applies.",
        "Set an explicit maxmemory below half of limits.memory.",
        _maxmemory_unset,
    ),
    Rule(
        "request-below-maxmemory",
        "warn",
        "Memory request does not exceed maxmemory",
        "Under node memory pressure the kubelet evicts pods that use more than their request first. "
        "A full Redis uses maxmemory plus overhead, so a request equal to maxmemory is already "
        "exceeded (the boundary is inclusive for that reason).",
        "Request what Redis uses at full size: requests.memory = limits.memory (memory is not "
        "compressible; this also makes the OOM-kill order predictable).",
        _request_below_maxmemory,
    ),
    Rule(
        "reclaim-delete",
        "warn",
        "reclaimPolicy Delete on the data volume",
        "With Delete, removing the PVC (helm uninstall, a namespace delete, a renamed claim) deletes "
        "the EBS volume and every write since the last backup.",
        "Use reclaim_policy Retain for the data's StorageClass (delete released volumes by hand), and "
        "keep scheduled backups.",
        _reclaim_delete,
    ),
    Rule(
        "pvc-unencrypted",
        "warn",
        "Data volume not encrypted at rest",
        "EBS volumes and their snapshots hold every key in plain text unless encryption is on.",
        "Set persistence.encrypted: true (a new StorageClass; existing volumes need a migration).",
        _pvc_unencrypted,
    ),
    Rule(
        "auth-disabled",
        "warn",
        "No AUTH password",
        "Without AUTH the only guard is the NetworkPolicy, which is enforced only by a CNI that "
        "implements it (on EKS the VPC CNI's network-policy agent must be enabled). Reported as an "
        "error when the manifest set has no ingress NetworkPolicy for the Redis pods either.",
        "Create a Secret with the password and set auth.enabled: true (auth.secret_name / "
        "auth.secret_key); clients read it from the same Secret.",
        _auth_disabled,
    ),
    Rule(
        "backup-unscheduled",
        "warn",
        "No backup schedule",
        "Without scheduled backups the PVC is the only copy of the data; a deleted claim, a bad "
        "FLUSHALL or a corrupted AOF is unrecoverable.",
        "Set backup.schedule (cron, e.g. '0 */6 * * *') and deploy the backup CronJob.",
        _backup_unscheduled,
    ),
    Rule(
        "backup-schedule-invalid",
        "error",
        "Backup schedule is not a valid CronJob schedule",
        "The API server refuses a CronJob with an invalid schedule, so no backup ever runs.",
        "Use 5 fields (minute hour day-of-month month day-of-week, day of week 0-6) or a descriptor "
        "such as @daily.",
        _backup_schedule_invalid,
    ),
    Rule(
        "eviction-drops-data",
        "warn",
        "allkeys-* eviction on a store",
        "allkeys-lru/lfu/random delete any key when maxmemory is reached, silently: the client gets "
        "no error. Fine for a cache, data loss for a store. The workload is inferred (persistence or "
        "backups on = store) unless given with --workload.",
        "For a store use noeviction (writes fail loudly at maxmemory) or volatile-lru (only keys with "
        "a TTL are evicted); for a cache pass --workload cache.",
        _eviction_drops_data,
    ),
    Rule(
        "persistence-off",
        "error",
        "No persistence for a store",
        'With appendonly no and save "" (or no PVC) a restart, eviction or node failure empties Redis.',
        "Enable appendonly yes (appendfsync everysec) and/or RDB save points, with persistence.enabled.",
        _persistence_off,
    ),
    Rule(
        "clients-not-admitted",
        "info",
        "Client services the ingress NetworkPolicy may not admit",
        "The write-up restarts five services on cutover but its policy admits only app=redis-service "
        "pods; a service that uses Redis without that label times out. Give the client labels as "
        "live facts to turn this into per-service warnings.",
        "Give every client a common label (e.g. redis-client: 'true') and use it as clients.match_labels.",
        _clients_not_admitted,
    ),
    Rule(
        "rwo-rolling-update",
        "error",
        "RollingUpdate with a ReadWriteOnce volume",
        "RollingUpdate starts the new pod before stopping the old one. An RWO volume cannot attach "
        "to a second node (the rollout hangs on a Multi-Attach error); on the same node both Redis "
        "processes open the same AOF. A Deployment without a strategy gets RollingUpdate, which is "
        "what the write-up's Helm chart rendered.",
        "Set spec.strategy.type: Recreate (redisops's manifests do), or use a StatefulSet.",
        _rwo_rolling_update,
        "manifests",
    ),
    Rule(
        "readiness-probe-missing",
        "warn",
        "Redis container without a readiness probe",
        "Redis accepts connections while loading its data and answers -LOADING to every command; "
        "without a readiness probe the Service sends clients there during every restart.",
        "Add an exec readiness probe that requires PONG from redis-cli ping (redisops's manifests do).",
        _readiness_missing,
        "manifests",
    ),
    Rule(
        "network-policy-missing",
        "warn",
        "No ingress NetworkPolicy for the Redis pods",
        "Without an ingress policy every pod in the cluster can connect to Redis.",
        "Apply an ingress NetworkPolicy that admits only the clients (redisops manifests --only "
        "NetworkPolicy).",
        _network_policy_missing,
        "manifests",
    ),
    Rule(
        "manifest-invalid",
        "error",
        "Manifest fails checks the schema does not make",
        "kubernetes-validate checks types and fields only; the API server also refuses bad names, "
        "label values, quantities, ports and cron schedules.",
        "Fix the named field.",
        _manifest_invalid,
        "manifests",
    ),
)


def rules_by_id() -> dict[str, Rule]:
    """The rules keyed by id."""
    return {r.id: r for r in RULES}


def rules_markdown() -> str:
    """docs/lint-rules.md, generated from :data:`RULES`."""
    lines = [
        "# Lint rules",
        "",
        "<!-- generated from redisops/lint/rules.py by redisops.lint.rules_markdown(); do not edit -->",
        "",
        "`redisops lint [CONFIG]` runs these rules over the deployment config and the manifests",
        "redisops renders from it (or a manifest file given with `--manifests`, e.g. `helm template`",
        "output). Exit code: 0 when there is no error (warnings and info do not fail), 21 when at least",
        "one error is found, 20 with `--strict` when warnings (and no error) are found, 3 when the",
        "config cannot be loaded. `redisops deploy` runs the same rules first and refuses error findings",
        "(exit 15) unless each is waived with `--allow RULE`.",
        "",
        "| id | severity | scope | title |",
        "|---|---|---|---|",
    ]
    lines += [f"| [`{r.id}`](#{r.id}) | {r.severity} | {r.scope} | {r.title} |" for r in RULES]
    for r in RULES:
        lines += [
            "",
            f"## {r.id}",
            "",
            f"**{r.title}** - severity `{r.severity}`, scope `{r.scope}`",
            "",
            f"Why: {r.rationale}",
            "",
            f"Fix: {r.fix}",
        ]
    return "\n".join(lines) + "\n"
