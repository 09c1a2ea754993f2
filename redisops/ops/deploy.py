"""Deploy, verify, history and rollback of the Redis manifests on Kubernetes.

``deploy`` plans (a server-side dry-run apply per object, diffed against the live object), refuses
to fight a Helm release over field ownership unless told to take over, applies with the
``redisops`` field manager, waits for the Redis Deployment's rollout, verifies (pod ready, PVC
bound, Service endpoints, PING and ``INFO persistence`` through a port-forward) and records the
revision in the cluster: one ConfigMap per revision, ``redisops-release-<service>-v<N>``, labelled
``redisops.io/release=<service>`` and ``redisops.io/revision=<N>``, holding the applied manifests,
who, when, what and the config checksum (like Helm's release Secrets). A deploy that changes
nothing records nothing. ``rollback`` re-applies a recorded revision and records a new one.

Example::

    from redisops.adapters.kube import Kube
    from redisops.k8s import render_manifests
    with Kube.connect(context="prod") as kube:
        result = deploy(kube, cfg, render_manifests(cfg), who="alice", timeout=300)
        print(result.revision, [c.name for c in result.checks if not c.ok])
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import getpass
import gzip
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import yaml

from redisops.adapters.redis_conn import read_password
from redisops.cancel import CancelToken
from redisops.config.model import DeploymentConfig
from redisops.errors import (
    ConflictError,
    NotFoundError,
    OperationTimeout,
    PlanBlocked,
    VerificationError,
)
from redisops.ops.deploy_guard import VersionPlan, backup_before_upgrade, check_versions, lint_gate
from redisops.ops.deploy_verify import VerifyCheck, verify_deployment

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube, RolloutStatus
    from redisops.backup import BackupStore
    from redisops.lint import Finding

__all__ = [
    "CHECKSUM_ANNOTATION",
    "FIELD_MANAGER",
    "RELEASE_LABEL",
    "REVISION_LABEL",
    "DeployPlan",
    "DeployResult",
    "ObjectChange",
    "Revision",
    "VerifyCheck",
    "deploy",
    "diff_objects",
    "helm_release_of",
    "history",
    "plan_deploy",
    "release_name",
    "rollback",
    "verify_deployment",
]

FIELD_MANAGER = "redisops"
RELEASE_LABEL = "redisops.io/release"
REVISION_LABEL = "redisops.io/revision"
CHECKSUM_ANNOTATION = "redisops.io/config-checksum"
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
#: manifests larger than this are stored gzip+base64 in binaryData (a ConfigMap holds at most 1 MiB)
INLINE_LIMIT = 256 * 1024
#: kinds never deleted when a later revision drops them (data, cluster-wide objects)
_NEVER_PRUNE = {"PersistentVolumeClaim", "StorageClass", "Namespace", "PersistentVolume"}
_SERVER_META = {
    "managedFields",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "uid",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
}
_SERVER_ANNOTATIONS = {
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
}

Progress = Callable[[str], None]
Action = Literal["create", "update", "unchanged", "delete", "conflict"]


def _noop(_msg: str) -> None:
    pass


@dataclass(frozen=True)
class ObjectChange:
    """What deploying does to one object, with a readable diff for updates."""

    kind: str
    name: str
    namespace: str | None
    action: Action
    diff: list[str] = field(default_factory=list)
    helm_release: str | None = None

    @property
    def ref(self) -> str:
        """``Kind/name``."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class DeployPlan:
    """Per-object actions of a deploy; ``helm_managed`` lists objects a Helm release manages."""

    namespace: str
    changes: list[ObjectChange]
    namespace_exists: bool = True
    #: what the deploy goes ahead with or does besides applying: lint warnings, version notes, backups
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when applying would change anything."""
        return not self.namespace_exists or any(c.action != "unchanged" for c in self.changes)

    @property
    def helm_managed(self) -> list[ObjectChange]:
        """Objects that carry Helm's managed-by label or release annotation."""
        return [c for c in self.changes if c.helm_release is not None]

    def summary(self) -> str:
        """``create 2, update 1, unchanged 5`` (only the non-zero counts)."""
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.action] = counts.get(c.action, 0) + 1
        order = ("create", "update", "delete", "conflict", "unchanged")
        return ", ".join(f"{a} {counts[a]}" for a in order if counts.get(a)) or "nothing"


@dataclass(frozen=True)
class Revision:
    """One recorded revision (a ConfigMap in the namespace)."""

    number: int
    who: str
    when: str
    what: str
    status: str
    config_checksum: str
    configmap: str
    manifests: list[dict[str, Any]] = field(default_factory=list, repr=False)


@dataclass
class DeployResult:
    """The outcome of ``deploy`` / ``rollback``; ``revision`` is None when nothing was recorded."""

    namespace: str
    plan: DeployPlan
    dry_run: bool
    applied: bool
    revision: int | None = None
    what: str = ""
    rollouts: list[RolloutStatus] = field(default_factory=list)
    checks: list[VerifyCheck] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: lint findings the deploy went ahead with (warnings, and errors waived with ``allow``)
    lint: list[Finding] = field(default_factory=list)
    #: the backup taken before an upgrade
    backup_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when every verification check passed."""
        return all(c.ok for c in self.checks)


# --- diffs -------------------------------------------------------------------------------------


def _normalize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and the metadata the server fills in."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_META}
    ann = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _SERVER_ANNOTATIONS}
    if ann:
        meta["annotations"] = ann
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


def _key(path: str, key: str) -> str:
    if any(c in key for c in "./") or not key:
        return f'{path}["{key}"]'
    return f"{path}.{key}" if path else key


def _short(v: Any) -> str:
    text = yaml.safe_dump(v, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return text if len(text) <= 120 else text[:117] + "..."


def diff_objects(old: Any, new: Any, path: str = "") -> list[str]:
    """Readable differences ``old`` → ``new``: ``~ path: a -> b``, ``+ path: v``, ``- path: v``;
    multi-line strings (redis.conf) as unified-diff lines; lists of named items matched by name."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new), key=str):
            p = _key(path, str(k))
            if k not in old:
                out.append(f"+ {p}: {_short(new[k])}")
            elif k not in new:
                out.append(f"- {p}: {_short(old[k])}")
            else:
                out += diff_objects(old[k], new[k], p)
        return out
    if isinstance(old, list) and isinstance(new, list):
        if _named(old) and _named(new):
            olds, news = {i["name"]: i for i in old}, {i["name"]: i for i in new}
            out = []
            for name in [*olds, *(n for n in news if n not in olds)]:
                p = f'{path}["{name}"]'
                if name not in olds:
                    out.append(f"+ {p}: {_short(news[name])}")
                elif name not in news:
                    out.append(f"- {p}: {_short(olds[name])}")
                else:
                    out += diff_objects(olds[name], news[name], p)
            return out
        if len(old) == len(new):
            out = []
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                out += diff_objects(a, b, f"{path}[{i}]")
            return out
    if old == new:
        return []
    if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        body = [f"    {ln}" for ln in lines if not ln.startswith(("---", "+++", "@@"))]
        return [f"~ {path}:", *body]
    return [f"~ {path}: {_short(old)} -> {_short(new)}"]


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)


def helm_release_of(obj: Mapping[str, Any] | None) -> str | None:
    """The Helm release managing a live object (label/annotation), else None."""
    if not obj:
        return None
    meta = obj.get("metadata") or {}
    release = (meta.get("annotations") or {}).get(HELM_RELEASE_ANNOTATION)
    if release:
        return str(release)
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == "Helm":
        return "(unknown release)"
    return None


_CLUSTER_SCOPED = {"StorageClass", "Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding"}


def _ident(m: Mapping[str, Any], default_ns: str) -> tuple[str, str, str | None]:
    meta = m.get("metadata") or {}
    kind = str(m.get("kind"))
    ns = None if kind in _CLUSTER_SCOPED else str(meta.get("namespace") or default_ns)
    return kind, str(meta.get("name")), ns


# --- plan ----------------------------------------------------------------------------------------


def plan_deploy(
    kube: Kube,
    manifests: Sequence[Mapping[str, Any]],
    *,
    force: bool = False,
    previous: Sequence[Mapping[str, Any]] = (),
    namespace: str | None = None,
) -> DeployPlan:
    """What applying ``manifests`` would do, per object, from a server-side dry-run apply.

    ``previous`` (the last revision's manifests) adds ``delete`` for objects no longer rendered
    (never PVCs or StorageClasses). Objects a Helm release manages carry ``helm_release``.
    """
    ns = namespace or kube.namespace
    ns_exists = kube.get("Namespace", ns) is not None
    changes: list[ObjectChange] = []
    for m in manifests:
        kind, name, obj_ns = _ident(m, ns)
        live = (
            kube.get(kind, name, obj_ns, api_version=m.get("apiVersion")) if ns_exists or not obj_ns else None
        )
        if live is None:
            changes.append(ObjectChange(kind, name, obj_ns, "create"))
            continue
        helm = helm_release_of(live)
        try:
            dry = kube.apply([m], field_manager=FIELD_MANAGER, force=force, dry_run=True)[0].object
        except ConflictError as e:
            changes.append(ObjectChange(kind, name, obj_ns, "conflict", [e.message], helm))
            continue
        diff = diff_objects(_normalize(live), _normalize(dry))
        changes.append(ObjectChange(kind, name, obj_ns, "update" if diff else "unchanged", diff, helm))
    wanted = {_ident(m, ns) for m in manifests}
    for m in previous:
        ident = _ident(m, ns)
        if ident in wanted or ident[0] in _NEVER_PRUNE:
            continue
        if kube.get(ident[0], ident[1], ident[2], api_version=m.get("apiVersion")) is not None:
            changes.append(ObjectChange(ident[0], ident[1], ident[2], "delete"))
    return DeployPlan(ns, changes, ns_exists)


# --- revisions -----------------------------------------------------------------------------------


def release_name(cfg: DeploymentConfig, number: int) -> str:
    """The ConfigMap name of revision ``number``."""
    return f"redisops-release-{cfg.service_name}-v{number}"


def _checksum_of(manifests: Sequence[Mapping[str, Any]]) -> str:
    for m in manifests:
        if m.get("kind") == "Deployment":
            tmpl = ((m.get("spec") or {}).get("template") or {}).get("metadata") or {}
            return str((tmpl.get("annotations") or {}).get(CHECKSUM_ANNOTATION, ""))
    return ""


def _revision_from(cm: Mapping[str, Any]) -> Revision:
    meta = cm.get("metadata") or {}
    data = cm.get("data") or {}
    if "manifests.gz" in (cm.get("binaryData") or {}):
        text = gzip.decompress(base64.b64decode(cm["binaryData"]["manifests.gz"])).decode()
    else:
        text = data.get("manifests", "")
    docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    return Revision(
        number=int((meta.get("labels") or {}).get(REVISION_LABEL, data.get("revision", 0))),
        who=data.get("who", ""),
        when=data.get("when", ""),
        what=data.get("what", ""),
        status=data.get("status", ""),
        config_checksum=data.get("config-checksum", ""),
        configmap=str(meta.get("name")),
        manifests=docs,
    )


def history(kube: Kube, cfg: DeploymentConfig) -> list[Revision]:
    """Recorded revisions of the deployment, oldest first."""
    items = kube.list("ConfigMap", cfg.namespace, {RELEASE_LABEL: cfg.service_name})
    return sorted((_revision_from(cm) for cm in items), key=lambda r: r.number)


def _record(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]],
    *,
    who: str,
    when: datetime,
    what: str,
    status: str,
) -> int:
    revs = history(kube, cfg)
    number = (revs[-1].number if revs else 0) + 1
    text = yaml.safe_dump_all([dict(m) for m in manifests], sort_keys=False)
    cm: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": release_name(cfg, number),
            "namespace": cfg.namespace,
            "labels": {
                RELEASE_LABEL: cfg.service_name,
                REVISION_LABEL: str(number),
                MANAGED_BY_LABEL: "redisops",
            },
        },
        "data": {
            "revision": str(number),
            "who": who,
            "when": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "what": what,
            "status": status,
            "config-checksum": _checksum_of(manifests),
        },
    }
    if len(text.encode()) > INLINE_LIMIT:
        cm["binaryData"] = {"manifests.gz": base64.b64encode(gzip.compress(text.encode())).decode()}
    else:
        cm["data"]["manifests"] = text
    try:
        kube.create(cm)
    except ConflictError as e:
        raise ConflictError(
            f"revision {number} was recorded by someone else meanwhile",
            hint="another deploy is running; check `redisops history` and try again",
            context={"configmap": release_name(cfg, number)},
        ) from e
    return number


def _default_who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _what(plan: DeployPlan) -> str:
    parts = [f"{c.action} {c.ref}" for c in plan.changes if c.action not in ("unchanged",)]
    return "; ".join(parts) if parts else "no changes"


# --- deploy / rollback ---------------------------------------------------------------------------


def _versions(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]],
    plan: DeployPlan,
    store: BackupStore | None,
    password: str | None,
) -> VersionPlan | None:
    """The version check, when the plan creates or changes a Deployment (else nothing rolls)."""
    if not any(c.kind == "Deployment" and c.action in ("create", "update") for c in plan.changes):
        return None
    new_pvc = any(c.kind == "PersistentVolumeClaim" and c.action == "create" for c in plan.changes)
    pvc_exists = plan.namespace_exists and not new_pvc and cfg.persistence.enabled
    return check_versions(kube, cfg, manifests, store=store, password=password, pvc_exists=pvc_exists)


def deploy(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]],
    *,
    dry_run: bool = False,
    take_over: bool = False,
    who: str | None = None,
    now: datetime | None = None,
    timeout: float = 300.0,
    progress: Progress | None = None,
    confirm: Callable[[DeployPlan], None] | None = None,
    verify: bool = True,
    password: str | None = None,
    what: str | None = None,
    record_unchanged: bool = False,
    settle_timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    lint: bool = True,
    allow: Collection[str] = (),
    store: BackupStore | None = None,
    backup: bool = True,
    check_version: bool = True,
    cancel: CancelToken | None = None,
) -> DeployResult:
    """Lint, plan, check versions, apply, wait for the rollout, verify and record a revision (see the
    module docstring).

    With ``lint`` (the default) error-level lint findings of ``cfg``/``manifests`` raise PlanBlocked
    unless their rule id is in ``allow``; the warnings gone ahead with are in ``result.lint``. With
    ``check_version`` a changed Redis Deployment is checked against the data's RDB version
    (:func:`redisops.ops.deploy_guard.check_versions`): a target that cannot load the data raises
    PlanBlocked; an upgrade of a running server first takes a backup into ``store`` (``backup=False``
    skips it; without a store an upgrade is refused). Dry runs raise the same PlanBlocked errors and
    change nothing. ``confirm(plan)`` is called before anything changes (raise AbortedError to stop).
    A deploy that changes nothing records no revision unless ``record_unchanged``. A timed-out rollout
    or a failed verification is recorded with status ``failed`` and raised (OperationTimeout,
    VerificationError). Objects managed by a Helm release raise ConflictError unless ``take_over``
    (which also forces field ownership conflicts).
    """
    say = progress or _noop
    start = clock()
    ns = cfg.namespace
    findings: list[Finding] = []
    if lint:
        findings = lint_gate(cfg, manifests, allow)
        for f in findings:
            waived = " (waived with allow)" if f.severity == "error" else ""
            say(f"lint {f.severity}{waived}: {f.rule_id} ({f.path}): going ahead")
    revs = history(kube, cfg) if kube.get("Namespace", ns) is not None else []
    previous = revs[-1].manifests if revs else []
    say(f"planning {len(manifests)} objects in namespace {ns}")
    plan = plan_deploy(kube, manifests, force=take_over, previous=previous, namespace=ns)
    helm = plan.helm_managed
    if helm and not take_over:
        releases = sorted({c.helm_release or "" for c in helm})
        raise ConflictError(
            f"{len(helm)} object(s) are managed by the Helm release {', '.join(releases)}: "
            + ", ".join(c.ref for c in helm),
            hint="uninstall the Helm release, or pass --take-over to let redisops own these objects",
            context={"objects": [c.ref for c in helm], "releases": releases},
        )
    conflicts = [c for c in plan.changes if c.action == "conflict"]
    if conflicts and not take_over:
        raise ConflictError(
            "field ownership conflicts: " + "; ".join(f"{c.ref}: {c.diff[0]}" for c in conflicts),
            hint="another field manager owns these fields; pass --take-over to force",
            context={"objects": [c.ref for c in conflicts]},
        )
    if password is None and cfg.auth.enabled:
        password = read_password(cfg.auth.password_env, cfg.auth.password_file)
    versions = _versions(kube, cfg, manifests, plan, store, password) if check_version else None
    notes = [
        f"lint {f.severity}{' (waived)' if f.severity == 'error' else ''} {f.rule_id}: {f.message}"
        for f in findings
    ]
    notes += versions.notes if versions else []
    take_backup = versions is not None and versions.backup_pod is not None and backup
    if versions is not None and versions.backup_pod is not None and versions.data is not None:
        upgrade = f"upgrade of Redis {versions.data.redis_version} to {versions.target_version}"
        if not backup:
            notes.append(f"{upgrade} without a backup first (backup skipped on request)")
        elif store is None:
            raise PlanBlocked(
                f"the {upgrade} takes a backup first, but no backup store was given",
                hint="configure the backup store in the config, or skip the backup with --no-backup",
            )
        else:
            verb = "would take" if dry_run else "takes"
            notes.append(f"{upgrade}: {verb} a backup of pod {versions.backup_pod} first")
    plan = dataclasses.replace(plan, notes=notes)
    result = DeployResult(ns, plan, dry_run, applied=False, what=what or _what(plan), lint=findings)
    if dry_run:
        result.elapsed_s = round(clock() - start, 3)
        return result
    if plan.changed or record_unchanged:
        if confirm is not None:
            confirm(plan)
        if take_backup and versions is not None and store is not None:
            manifest = backup_before_upgrade(
                kube, cfg, versions, store, password=password, timeout=timeout, progress=say
            )
            result.backup_id = manifest.id
            say(f"backup {manifest.id} taken")
        if not plan.namespace_exists:
            say(f"creating namespace {ns}")
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        say(f"applying: {plan.summary()}")
        kube.apply(manifests, field_manager=FIELD_MANAGER, force=take_over)
        for c in plan.changes:
            if c.action == "delete":
                say(f"deleting {c.ref} (no longer rendered)")
                kube.delete(c.kind, c.name, c.namespace)
        result.applied = True
    else:
        say("no changes; checking the running deployment")
    who = who or _default_who()
    when = now or datetime.now(UTC)
    record = result.applied or record_unchanged

    def _fail_record() -> None:
        if record:
            result.revision = _record(
                kube, cfg, manifests, who=who, when=when, what=result.what, status="failed"
            )

    try:
        for m in manifests:
            if m.get("kind") == "Deployment":
                name = str(m["metadata"]["name"])
                say(f"waiting for the rollout of Deployment {name} (timeout {timeout:g}s)")
                result.rollouts.append(
                    kube.wait_rollout(
                        name, ns, timeout, clock=clock, sleep=sleep, progress=say, cancel=cancel
                    )
                )
    except OperationTimeout:
        _fail_record()
        raise
    if verify:
        say("verifying: pod, PVC, Service endpoints, PING and INFO persistence")
        result.checks = verify_deployment(
            kube, cfg, manifests, password=password, settle_timeout=settle_timeout, clock=clock, sleep=sleep
        )
        failed = [c for c in result.checks if not c.ok]
        if failed:
            _fail_record()
            rev = f" (recorded as failed revision {result.revision})" if result.revision else ""
            raise VerificationError(
                f"deployment verification failed{rev}: " + "; ".join(f"{c.name}: {c.detail}" for c in failed),
                hint="check the pod (kubectl describe/logs); `redisops rollback` restores the last revision",
                context={"failed": [c.name for c in failed]},
            )
    if record:
        result.revision = _record(
            kube, cfg, manifests, who=who, when=when, what=result.what, status="deployed"
        )
        say(f"recorded revision {result.revision}")
    result.elapsed_s = round(clock() - start, 3)
    return result


def rollback(
    kube: Kube,
    cfg: DeploymentConfig,
    to: int | None = None,
    *,
    dry_run: bool = False,
    take_over: bool = False,
    who: str | None = None,
    now: datetime | None = None,
    timeout: float = 300.0,
    progress: Progress | None = None,
    confirm: Callable[[DeployPlan], None] | None = None,
    verify: bool = True,
    password: str | None = None,
    settle_timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    store: BackupStore | None = None,
    backup: bool = True,
    cancel: CancelToken | None = None,
) -> DeployResult:
    """Re-apply revision ``to`` (default: the newest successful revision before the current one),
    wait, verify, and record a new revision ``rollback to N``.

    The recorded manifests are not linted again (they are what ran); the version check of
    :func:`deploy` applies: a rollback to a Redis that cannot read the data raises PlanBlocked."""
    revs = history(kube, cfg)
    if not revs:
        raise NotFoundError(
            f"no recorded revisions of {cfg.service_name} in namespace {cfg.namespace}",
            hint="deploy first with: redisops deploy",
        )
    if to is None:
        current = revs[-1].number
        candidates = [r for r in revs if r.number < current and r.status == "deployed"]
        if not candidates:
            raise NotFoundError(
                f"no successful revision before revision {current} to roll back to",
                hint="pick one with --to (see redisops history)",
            )
        target = candidates[-1]
    else:
        found = [r for r in revs if r.number == to]
        if not found:
            known = ", ".join(str(r.number) for r in revs)
            raise NotFoundError(f"revision {to} is not recorded", hint=f"recorded revisions: {known}")
        target = found[0]
    if not target.manifests:
        raise NotFoundError(f"revision {target.number} holds no manifests")
    return deploy(
        kube,
        cfg,
        target.manifests,
        dry_run=dry_run,
        take_over=take_over,
        who=who,
        now=now,
        timeout=timeout,
        progress=progress,
        confirm=confirm,
        verify=verify,
        password=password,
        what=f"rollback to {target.number}",
        record_unchanged=True,
        settle_timeout=settle_timeout,
        clock=clock,
        sleep=sleep,
        lint=False,
        store=store,
        backup=backup,
        cancel=cancel,
    )
