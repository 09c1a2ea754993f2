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
import difflib
import getpass
import gzip
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import yaml

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command, read_password, redis_errors
from redisops.config.model import DeploymentConfig
from redisops.errors import (
    ConflictError,
    NotFoundError,
    OperationTimeout,
    RedisOpsError,
    VerificationError,
)
from redisops.inspect import parse_info

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube, RolloutStatus

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
class VerifyCheck:
    """One post-deploy check."""

    name: str
    ok: bool
    detail: str


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


# --- verification --------------------------------------------------------------------------------


def _conf_directives(manifests: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The persistence directives of the redis.conf in the manifests' ConfigMap."""
    for m in manifests:
        if m.get("kind") == "ConfigMap" and "redis.conf" in (m.get("data") or {}):
            out: dict[str, str] = {}
            for line in str(m["data"]["redis.conf"]).splitlines():
                parts = line.strip().split(None, 1)
                if len(parts) == 2 and parts[0].lower() in ("appendonly", "appendfsync", "save"):
                    value = parts[1].strip()
                    out[parts[0].lower()] = "" if value in ('""', "''") else value
            return out
    return {}


def _expected(cfg: DeploymentConfig, manifests: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    r = cfg.config
    expected = {
        "appendonly": "yes" if r.appendonly else "no",
        "appendfsync": r.appendfsync,
        "save": " ".join(f"{p.seconds} {p.changes}" for p in r.save),
    }
    expected.update(_conf_directives(manifests))
    return expected


def _deployment_of(cfg: DeploymentConfig, manifests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    for m in manifests:
        if m.get("kind") == "Deployment":
            return dict(m)
    return {
        "metadata": {"name": cfg.service_name},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(cfg.labels)}},
    }


def _k8s_checks(
    kube: Kube, cfg: DeploymentConfig, manifests: Sequence[Mapping[str, Any]]
) -> tuple[list[VerifyCheck], str | None]:
    from redisops.adapters.kube import is_pod_ready

    ns = cfg.namespace
    dep = _deployment_of(cfg, manifests)
    selector = dep["spec"]["selector"]["matchLabels"]
    want = int(dep["spec"].get("replicas", 1))
    pods = kube.pods(selector, ns)
    ready = [p["metadata"]["name"] for p in pods if is_pod_ready(p)]
    checks = [
        VerifyCheck(
            "pod-ready",
            len(ready) >= want and len(pods) == len(ready),
            f"{len(ready)}/{want} ready: {', '.join(ready) or 'none'}"
            + (f" ({len(pods) - len(ready)} not ready)" if len(pods) > len(ready) else ""),
        )
    ]
    pvcs = [str(m["metadata"]["name"]) for m in manifests if m.get("kind") == "PersistentVolumeClaim"]
    if not manifests and cfg.persistence.enabled:
        pvcs = [f"{cfg.service_name}-data"]
    for name in pvcs:
        pvc = kube.get("PersistentVolumeClaim", name, ns)
        phase = ((pvc or {}).get("status") or {}).get("phase", "missing")
        checks.append(VerifyCheck(f"pvc-bound:{name}", phase == "Bound", f"PVC {name} is {phase}"))
    services = [str(m["metadata"]["name"]) for m in manifests if m.get("kind") == "Service"]
    for name in services or [cfg.service_name]:
        ep = kube.get("Endpoints", name, ns) or {}
        addrs = [a.get("ip", "?") for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
        detail = (
            f"Service {name} endpoints: {', '.join(addrs)}" if addrs else f"Service {name} has no endpoints"
        )
        checks.append(VerifyCheck(f"service-endpoints:{name}", bool(addrs), detail))
    return checks, (ready[0] if ready else None)


def _redis_checks(
    kube: Kube,
    cfg: DeploymentConfig,
    pod: str,
    expected: Mapping[str, str],
    password: str | None,
) -> list[VerifyCheck]:
    with kube.port_forward(cfg.namespace, pod, cfg.port) as (host, port):
        ep = RedisEndpoint(
            host=host,
            port=port,
            username=cfg.auth.username,
            password=password,
            connect_timeout=5.0,
            socket_timeout=10.0,
        )
        client = connect(ep, check=False)
        try:
            with redis_errors(ep):
                client.ping()
            checks = [VerifyCheck("redis-ping", True, f"PONG from pod {pod} through a port-forward")]
            info = parse_info(raw_command(client, "INFO", "persistence"))
            problems: list[str] = []
            aof = info.persistence.aof_enabled
            want_aof = expected.get("appendonly", "yes") == "yes"
            if aof is not None and aof != want_aof:
                problems.append(
                    f"aof_enabled is {int(aof)}, the config says appendonly {expected['appendonly']}"
                )
            notes = [f"aof_enabled:{int(bool(aof))}"]
            try:
                live = _config_get(client, ("appendfsync", "save"))
            except RedisOpsError as e:
                notes.append(f"CONFIG GET not allowed ({e.message}); save points not checked")
                live = {}
            for name in ("appendfsync", "save"):
                if name in live and name in expected and live[name] != expected[name]:
                    problems.append(f"{name} is {live[name]!r}, the config says {expected[name]!r}")
                elif name in live:
                    notes.append(f"{name}={live[name]!r}")
            detail = "; ".join(problems) if problems else ", ".join(notes)
            checks.append(VerifyCheck("persistence", not problems, detail))
            return checks
        finally:
            client.close()


def _config_get(client: Any, names: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        reply = raw_command(client, "CONFIG", "GET", name)
        items = [x.decode() if isinstance(x, bytes) else str(x) for x in reply or []]
        out.update(dict(zip(items[::2], items[1::2], strict=True)))
    return out


def verify_deployment(
    kube: Kube,
    cfg: DeploymentConfig,
    manifests: Sequence[Mapping[str, Any]] = (),
    *,
    password: str | None = None,
    settle_timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[VerifyCheck]:
    """Check the running deployment: pod ready, PVC bound, Service endpoints, PING and ``INFO
    persistence`` (plus ``CONFIG GET appendfsync/save`` when allowed) through a port-forward.

    Expected persistence settings come from the redis.conf in ``manifests`` (else from ``cfg``).
    Failing checks are retried until ``settle_timeout`` (endpoints and PVCs can lag the rollout).
    """
    if password is None and cfg.auth.enabled:
        password = read_password(cfg.auth.password_env, cfg.auth.password_file)
    expected = _expected(cfg, manifests)
    deadline = clock() + settle_timeout
    while True:
        checks, pod = _k8s_checks(kube, cfg, manifests)
        if pod is None:
            checks.append(VerifyCheck("redis-ping", False, "no ready Redis pod to forward to"))
        else:
            try:
                checks += _redis_checks(kube, cfg, pod, expected, password)
            except RedisOpsError as e:
                checks.append(
                    VerifyCheck("redis-ping", False, f"through a port-forward to {pod}: {e.message}")
                )
        if all(c.ok for c in checks) or clock() >= deadline:
            return checks
        sleep(0.5)


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
) -> DeployResult:
    """Plan, apply, wait for the rollout, verify and record a revision (see the module docstring).

    ``confirm(plan)`` is called before anything changes (raise AbortedError to stop). A deploy that
    changes nothing records no revision unless ``record_unchanged``. A timed-out rollout or a failed
    verification is recorded with status ``failed`` and raised (OperationTimeout, VerificationError).
    Objects managed by a Helm release raise ConflictError unless ``take_over`` (which also forces
    field ownership conflicts).
    """
    say = progress or _noop
    start = clock()
    ns = cfg.namespace
    revs = history(kube, cfg) if kube.get("Namespace", ns) is not None else []
    previous = revs[-1].manifests if revs else []
    say(f"planning {len(manifests)} objects in namespace {ns}")
    plan = plan_deploy(kube, manifests, force=take_over, previous=previous, namespace=ns)
    result = DeployResult(ns, plan, dry_run, applied=False, what=what or _what(plan))
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
    if dry_run:
        result.elapsed_s = round(clock() - start, 3)
        return result
    if plan.changed or record_unchanged:
        if confirm is not None:
            confirm(plan)
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
                    kube.wait_rollout(name, ns, timeout, clock=clock, sleep=sleep, progress=say)
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
) -> DeployResult:
    """Re-apply revision ``to`` (default: the newest successful revision before the current one),
    wait, verify, and record a new revision ``rollback to N``."""
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
    )
