"""The Kubernetes adapter: the only module that imports the ``kubernetes`` client.

:class:`Kube` talks to one cluster (a kubeconfig context or the in-cluster service account) and
speaks plain dicts: manifests in, API objects out. It offers what the deploy, rollback and restart
operations need: server-side apply with a field manager, get/list/delete, rollout waits that name
the pod's failure reason, scale, ``kubectl rollout restart``'s annotation, pods, events, logs, exec
and an in-process port-forward that gives a local ``(host, port)`` redis-py can connect to.

Every ``kubernetes`` exception is translated into :mod:`redisops.errors` (404 → NotFoundError,
401/403 → AuthError, 409 → ConflictError, 422 → ConfigError, connection errors → ConnectionFailed,
anything else → PlatformError). Messages carry the API server's message, never a token.

Example::

    with Kube.connect(kubeconfig="~/.kube/config", context="prod", namespace="llm-judge") as kube:
        kube.apply(manifests, field_manager="redisops")
        kube.wait_rollout("redis", timeout=300)
        with kube.port_forward("llm-judge", pod_name, 6379) as (host, port):
            ...  # redis.Redis(host=host, port=port)
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

from redisops.adapters.kube_errors import api_call as _api_call
from redisops.adapters.kube_errors import translate_api_error
from redisops.adapters.kube_stream import KubeStreams
from redisops.cancel import CancelToken
from redisops.errors import (
    ConfigError,
    NotFoundError,
    OperationTimeout,
    RedisOpsError,
)

__all__ = [
    "RESTARTED_AT_ANNOTATION",
    "ApplyResult",
    "Kube",
    "RolloutStatus",
    "is_pod_ready",
    "pod_failure_reasons",
    "translate_api_error",
]

RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
_DEPLOY_REVISION = "deployment.kubernetes.io/revision"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

#: apiVersion of the kinds redisops uses, so ``get("Deployment", ...)`` needs no apiVersion
_API_VERSIONS: dict[str, str] = {
    "Pod": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Endpoints": "v1",
    "Event": "v1",
    "Namespace": "v1",
    "PersistentVolumeClaim": "v1",
    "PersistentVolume": "v1",
    "ServiceAccount": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Ingress": "networking.k8s.io/v1",
    "StorageClass": "storage.k8s.io/v1",
    "EndpointSlice": "discovery.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
    "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
}

#: waiting reasons that are just a pod starting, not a failure
_BENIGN_WAITING = {"ContainerCreating", "PodInitializing"}

Clock = Callable[[], float]
ObjList = list[dict[str, Any]]
StrList = list[str]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class ApplyResult:
    """The outcome of applying one object: ``created``, ``configured`` or ``unchanged``."""

    kind: str
    name: str
    namespace: str | None
    action: Literal["created", "configured", "unchanged"]
    dry_run: bool = False
    object: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> str:
        """``Kind/name`` for messages."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class RolloutStatus:
    """Where a Deployment's rollout stands (the fields ``kubectl rollout status`` looks at)."""

    name: str
    namespace: str
    done: bool
    generation: int
    observed_generation: int
    replicas: int
    updated_replicas: int
    ready_replicas: int
    available_replicas: int
    message: str
    elapsed_s: float = 0.0
    pods: list[str] = field(default_factory=list)


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    """True when the pod's ``Ready`` condition is ``True``."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def pod_failure_reasons(pod: Mapping[str, Any]) -> list[str]:
    """Why a pod is not (or was not) running, one line per finding; empty when nothing is wrong.

    Looks at container waiting/terminated states (``ImagePullBackOff``, ``CrashLoopBackOff``), the
    last termination (``OOMKilled``, ``Error`` with its exit code), restarts, the pod's own reason
    (``Evicted``) and an unschedulable ``PodScheduled`` condition.
    """
    status = pod.get("status") or {}
    out: list[str] = []
    if status.get("reason"):
        out.append(f"pod {status['reason']}: {status.get('message', '')}".rstrip(": "))
    statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    for cs in statuses:
        parts: list[str] = []
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] not in _BENIGN_WAITING:
            msg = f": {waiting['message']}" if waiting.get("message") else ""
            parts.append(f"{waiting['reason']}{msg}")
        term = state.get("terminated") or {}
        if term.get("reason") and term["reason"] != "Completed":
            parts.append(f"terminated: {term['reason']} (exit code {term.get('exitCode')})")
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if last.get("reason") and last["reason"] != "Completed":
            parts.append(f"last terminated: {last['reason']} (exit code {last.get('exitCode')})")
        restarts = int(cs.get("restartCount") or 0)
        if parts and restarts:
            parts.append(f"{restarts} restarts")
        if parts:
            out.append(f"container {cs.get('name')}: " + ", ".join(parts))
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            out.append(f"unschedulable: {cond.get('reason', '')} {cond.get('message', '')}".strip())
    return out


def _check_kubeconfig_exists(path: str | None) -> None:
    """ConfigError naming the file when the kubeconfig to load does not exist (the client's own
    message, "Invalid kube-config file. No configuration found.", does not say so)."""
    if path is not None:
        candidates, origin = [path], "--kubeconfig"
    elif os.environ.get("KUBECONFIG"):
        candidates = [p for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
        origin = "KUBECONFIG"
    else:
        candidates, origin = [str(Path("~/.kube/config").expanduser())], "the default"
    if candidates and not any(Path(p).expanduser().is_file() for p in candidates):
        missing = ", ".join(candidates)
        raise ConfigError(
            f"the kubeconfig file {missing} ({origin}) does not exist",
            hint="pass an existing file with --kubeconfig, or set KUBECONFIG",
            context={"kubeconfig": candidates},
        )


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Kube(KubeStreams):
    """One Kubernetes cluster connection (see the module docstring).

    Build it with :meth:`connect`, :meth:`from_kubeconfig` or :meth:`in_cluster`; or from an
    existing ``kubernetes.client.ApiClient`` (``Kube(api_client, namespace=...)``; then the caller
    keeps ownership of that client). Use it as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        api_client: Any,
        *,
        namespace: str = "default",
        context: str | None = None,
        owns_client: bool = False,
    ) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.context = context
        self._owns_client = owns_client
        # kubernetes.stream swaps ApiClient.request while it opens a websocket: that must not race with
        # ordinary calls on the shared client, so websockets get their own client (built on first use:
        # most commands never exec or port-forward) and a lock
        self._ws_api_client: Any = None
        self._ws_lock = threading.Lock()
        self._resources: dict[tuple[str, str], tuple[str, bool]] = {}
        self._closed = False

    # --- construction ----------------------------------------------------------------------------

    @classmethod
    def from_kubeconfig(
        cls, path: str | Path | None = None, *, context: str | None = None, namespace: str | None = None
    ) -> Kube:
        """A client for ``context`` (default: the current one) of a kubeconfig (default: $KUBECONFIG
        or ~/.kube/config). ``namespace`` defaults to the context's namespace, else ``default``."""
        from kubernetes import client as k8s_client
        from kubernetes import config as k8s_config

        cfg_path = str(Path(path).expanduser()) if path else None
        _check_kubeconfig_exists(cfg_path)
        configuration = k8s_client.Configuration()
        try:
            contexts, active = k8s_config.list_kube_config_contexts(config_file=cfg_path)
            chosen = active
            if context is not None:
                chosen = next((c for c in contexts if c.get("name") == context), None)
                if chosen is None:
                    names = sorted(str(c.get("name")) for c in contexts)
                    where = cfg_path or os.environ.get("KUBECONFIG") or "~/.kube/config"
                    raise ConfigError(
                        f"no context {context!r} in the kubeconfig {where}; its contexts: "
                        + (", ".join(names) or "none"),
                        hint="pass one of them with --context (kubectl config get-contexts lists them)",
                        context={"kubeconfig": where, "contexts": names},
                    )
            k8s_config.load_kube_config(
                config_file=cfg_path,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        except RedisOpsError:
            raise
        except Exception as e:
            raise ConfigError(
                f"cannot load the kubeconfig {cfg_path or '(default)'}: {str(e).splitlines()[0][:200]}",
                hint="pass --kubeconfig/--context, or set KUBECONFIG",
            ) from None
        ns = namespace or ((chosen or {}).get("context") or {}).get("namespace") or "default"
        name = (chosen or {}).get("name")
        return cls(k8s_client.ApiClient(configuration), namespace=ns, context=name, owns_client=True)

    @classmethod
    def in_cluster(cls, *, namespace: str | None = None) -> Kube:
        """A client from the pod's service account (namespace: the pod's own unless given)."""
        from kubernetes import client as k8s_client
        from kubernetes import config as k8s_config

        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except Exception as e:
            raise ConfigError(f"not running in a Kubernetes pod: {str(e)[:200]}") from None
        ns = namespace
        if ns is None:
            try:
                ns = (SERVICE_ACCOUNT_DIR / "namespace").read_text().strip() or "default"
            except OSError:
                ns = "default"
        return cls(k8s_client.ApiClient(configuration), namespace=ns, context="in-cluster", owns_client=True)

    @classmethod
    def connect(
        cls,
        kubeconfig: str | Path | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
    ) -> Kube:
        """Like kubectl: an explicit or discoverable kubeconfig first, else the in-cluster config."""
        if kubeconfig is None and context is None:
            env = os.environ.get("KUBECONFIG")
            default = Path("~/.kube/config").expanduser()
            if not env and not default.exists() and os.environ.get("KUBERNETES_SERVICE_HOST"):
                return cls.in_cluster(namespace=namespace)
        return cls.from_kubeconfig(kubeconfig, context=context, namespace=namespace)

    def __enter__(self) -> Kube:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the API clients and their pooled sockets (idempotent)."""
        if self._closed:
            return
        self._closed = True
        ws = [self._ws_api_client] if self._ws_api_client is not None else []
        clients = [*ws, *([self.api_client] if self._owns_client else [])]
        for api in clients:
            pool_manager = getattr(getattr(api, "rest_client", None), "pool_manager", None)
            if pool_manager is not None:
                for key in list(pool_manager.pools.keys()):
                    with contextlib.suppress(KeyError):
                        pool_manager.pools[key].close()
                pool_manager.clear()
            api.close()

    # --- raw requests ------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
        content_type: str = "application/json",
        what: str,
        raw: bool = False,
        timeout: float | None = 60,
    ) -> Any:
        with _api_call(what):
            resp = self.api_client.call_api(
                path,
                method,
                {},
                list(query),
                {"Accept": "application/json", "Content-Type": content_type},
                body=body,
                post_params=[],
                files={},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=timeout,
            )
            try:
                data = resp.data
            finally:
                resp.release_conn()
        if raw:
            return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        return json.loads(data) if data else {}

    def _resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a kind, from API discovery (cached)."""
        key = (api_version, kind)
        if key not in self._resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            doc = self._request("GET", base, what=f"discovery of {api_version}")
            for res in doc.get("resources") or []:
                if "/" not in res.get("name", ""):
                    self._resources[(api_version, res.get("kind", ""))] = (
                        res["name"],
                        bool(res["namespaced"]),
                    )
            if key not in self._resources:
                raise NotFoundError(f"the cluster does not serve {kind} in {api_version}")
        return self._resources[key]

    def _path(
        self, kind: str, name: str | None, namespace: str | None, *, api_version: str | None = None
    ) -> tuple[str, bool]:
        av = api_version or _API_VERSIONS.get(kind)
        if av is None:
            raise ConfigError(f"unknown kind {kind!r}: pass api_version")
        plural, namespaced = self._resource(av, kind)
        base = "/api/v1" if av == "v1" else f"/apis/{av}"
        if namespaced:
            base += f"/namespaces/{quote(namespace or self.namespace, safe='')}"
        base += f"/{plural}"
        if name:
            base += f"/{quote(name, safe='')}"
        return base, namespaced

    # --- objects -----------------------------------------------------------------------------------

    def apply(
        self,
        manifests: Sequence[Mapping[str, Any]],
        field_manager: str = "redisops",
        force: bool = False,
        dry_run: bool = False,
    ) -> list[ApplyResult]:
        """Server-side apply each manifest in order (``dry_run``: ``dryRun=All``, nothing persists).

        ``force`` takes over fields another manager owns (``--force-conflicts``); without it such a
        field raises ConflictError naming the other manager.
        """
        results: list[ApplyResult] = []
        for m in manifests:
            kind, name = str(m.get("kind")), str((m.get("metadata") or {}).get("name"))
            ns = (m.get("metadata") or {}).get("namespace")
            path, namespaced = self._path(kind, name, ns, api_version=m.get("apiVersion"))
            if namespaced:
                ns = ns or self.namespace
                m = {**m, "metadata": {**(m.get("metadata") or {}), "namespace": ns}}
            before = self.get(kind, name, ns, api_version=m.get("apiVersion"))
            query: list[tuple[str, Any]] = [("fieldManager", field_manager), ("force", force)]
            if dry_run:
                query.append(("dryRun", "All"))
            obj = self._request(
                "PATCH",
                path,
                query=query,
                body=dict(m),
                content_type="application/apply-patch+yaml",
                what=f"apply {kind}/{name}",
            )
            action: Literal["created", "configured", "unchanged"]
            if before is None:
                action = "created"
            elif _comparable(obj) == _comparable(before):
                action = "unchanged"
            else:
                action = "configured"
            results.append(ApplyResult(kind, name, ns if namespaced else None, action, dry_run, obj))
        return results

    def get(
        self, kind: str, name: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        path, _ = self._path(kind, name, namespace, api_version=api_version)
        try:
            obj: dict[str, Any] = self._request("GET", path, what=f"get {kind}/{name}")
        except NotFoundError:
            return None
        return obj

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: str | Mapping[str, str] | None = None,
        *,
        field_selector: str | None = None,
        api_version: str | None = None,
    ) -> ObjList:
        """Objects of ``kind`` in ``namespace`` matching the selectors."""
        path, _ = self._path(kind, None, namespace, api_version=api_version)
        query: list[tuple[str, Any]] = []
        if label_selector:
            query.append(("labelSelector", selector_string(label_selector)))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        doc = self._request("GET", path, query=query, what=f"list {kind}")
        items: ObjList = doc.get("items") or []
        return items

    def create(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Create an object (ConflictError when it already exists)."""
        kind, name = str(manifest.get("kind")), str((manifest.get("metadata") or {}).get("name"))
        ns = (manifest.get("metadata") or {}).get("namespace")
        path, _ = self._path(kind, None, ns, api_version=manifest.get("apiVersion"))
        obj: dict[str, Any] = self._request("POST", path, body=dict(manifest), what=f"create {kind}/{name}")
        return obj

    def delete(
        self, kind: str, name: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> bool:
        """Delete an object; False when it was already gone."""
        path, _ = self._path(kind, name, namespace, api_version=api_version)
        try:
            self._request("DELETE", path, what=f"delete {kind}/{name}")
        except NotFoundError:
            return False
        return True

    def patch(
        self,
        kind: str,
        name: str,
        patch: Mapping[str, Any],
        namespace: str | None = None,
        *,
        patch_type: Literal["merge", "strategic"] = "strategic",
        field_manager: str = "redisops",
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """A merge or strategic-merge patch (``subresource`` e.g. ``scale``)."""
        path, _ = self._path(kind, name, namespace)
        if subresource:
            path += f"/{subresource}"
        ct = (
            "application/merge-patch+json"
            if patch_type == "merge"
            else "application/strategic-merge-patch+json"
        )
        obj: dict[str, Any] = self._request(
            "PATCH",
            path,
            query=[("fieldManager", field_manager)],
            body=dict(patch),
            content_type=ct,
            what=f"patch {kind}/{name}",
        )
        return obj

    # --- workloads ---------------------------------------------------------------------------------

    def rollout_status(self, name: str, namespace: str | None = None) -> RolloutStatus:
        """The Deployment's rollout state now (NotFoundError when it does not exist)."""
        ns = namespace or self.namespace
        dep = self.get("Deployment", name, ns)
        if dep is None:
            raise NotFoundError(f"Deployment {ns}/{name} not found", context={"namespace": ns})
        return _rollout_status(dep, ns)

    def wait_rollout(
        self,
        name: str,
        namespace: str | None = None,
        timeout: float = 300.0,
        *,
        poll: float = 0.5,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        progress: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> RolloutStatus:
        """Wait until the Deployment's rollout is complete (as ``kubectl rollout status``).

        Raises OperationTimeout when ``timeout`` passes or the Deployment reports
        ``ProgressDeadlineExceeded``; the message names the failing pods' reasons (ImagePullBackOff,
        CrashLoopBackOff, OOMKilled, ...). ``cancel`` is checked after every poll and wakes the wait
        between polls: :class:`~redisops.errors.Interrupted` then says the rollout goes on in the
        cluster (only the waiting stopped).
        """
        ns = namespace or self.namespace
        doing = f"while waiting for the rollout of Deployment {ns}/{name} (the rollout itself goes on)"
        if cancel is not None:
            cancel.check(doing)
        start = clock()
        last_msg = ""
        polls = 0
        while True:
            st = self.rollout_status(name, ns)
            elapsed = clock() - start
            if st.done:
                pods = [p["metadata"]["name"] for p in self._deployment_pods(name, ns)]
                return RolloutStatus(**{**st.__dict__, "elapsed_s": round(elapsed, 3), "pods": pods})
            if progress and st.message != last_msg:
                progress(f"{ns}/{name}: {st.message}")
                last_msg = st.message
            deadline_exceeded = "ProgressDeadlineExceeded" in st.message
            if elapsed >= timeout or deadline_exceeded:
                reasons = self.deployment_failure_reasons(name, ns)
                why = "; ".join(reasons) if reasons else "no pod reported a failure reason"
                cause = (
                    "exceeded its progress deadline" if deadline_exceeded else f"not done after {timeout:g}s"
                )
                raise OperationTimeout(
                    f"rollout of Deployment {ns}/{name} {cause}: {st.message}; pods: {why}",
                    hint=f"inspect with: kubectl -n {ns} describe pods -l {self._selector_of(name, ns)}",
                    context={"deployment": name, "namespace": ns, "reasons": reasons},
                    retryable=not reasons,
                )
            # quick first polls (pods are often ready in a moment), then every ``poll`` seconds
            interval = min(poll, 0.05 * 2**polls)
            polls += 1
            pause = max(0.01, min(interval, timeout - elapsed))
            if cancel is not None and sleep is time.sleep:
                cancel.sleep(pause, doing)
            else:
                if cancel is not None:
                    cancel.check(doing)
                sleep(pause)

    def deployment_failure_reasons(self, name: str, namespace: str | None = None) -> StrList:
        """The failure reasons of the Deployment's not-ready pods (``pod-x: container redis: ...``)."""
        ns = namespace or self.namespace
        out = []
        for pod in self._deployment_pods(name, ns):
            if is_pod_ready(pod):
                continue
            for r in pod_failure_reasons(pod):
                out.append(f"{pod['metadata']['name']}: {r}")
        return out

    def _selector_of(self, name: str, ns: str) -> str:
        dep = self.get("Deployment", name, ns) or {}
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return selector_string(labels) or f"app={name}"

    def _deployment_pods(self, name: str, ns: str) -> ObjList:
        dep = self.get("Deployment", name, ns)
        if dep is None:
            return []
        labels = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not labels:
            return []
        return self.pods(labels, ns)

    def scale(
        self, name: str, replicas: int, namespace: str | None = None, *, kind: str = "Deployment"
    ) -> None:
        """Set ``spec.replicas`` through the scale subresource."""
        self.patch(
            kind,
            name,
            {"spec": {"replicas": int(replicas)}},
            namespace,
            patch_type="merge",
            subresource="scale",
        )

    def rollout_restart(
        self, name: str, namespace: str | None = None, *, now: Callable[[], str] = _now_rfc3339
    ) -> str:
        """Restart a Deployment's pods as ``kubectl rollout restart`` does: set the pod template's
        ``kubectl.kubernetes.io/restartedAt`` annotation. Returns the value set."""
        ns = namespace or self.namespace
        dep = self.get("Deployment", name, ns)
        if dep is None:
            raise NotFoundError(f"Deployment {ns}/{name} not found", context={"namespace": ns})
        annotations = ((dep["spec"].get("template") or {}).get("metadata") or {}).get("annotations") or {}
        stamp = now()
        if annotations.get(RESTARTED_AT_ANNOTATION) == stamp:  # twice in one second: still a change
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}
        self.patch("Deployment", name, patch, ns, field_manager="redisops-rollout")
        return stamp

    # --- pods ----------------------------------------------------------------------------------------

    def pods(self, selector: str | Mapping[str, str] | None = None, namespace: str | None = None) -> ObjList:
        """Pods matching a label selector (``"app=redis"`` or ``{"app": "redis"}``), oldest first."""
        items = self.list("Pod", namespace, selector)
        return sorted(items, key=lambda p: (_meta(p).get("creationTimestamp") or "", _meta(p).get("name")))

    def events(
        self, namespace: str | None = None, involved: str | None = None, *, kind: str | None = None
    ) -> ObjList:
        """Events in ``namespace`` (about the object named ``involved``), oldest first."""
        selectors = []
        if involved:
            selectors.append(f"involvedObject.name={involved}")
        if kind:
            selectors.append(f"involvedObject.kind={kind}")
        items = self.list("Event", namespace, field_selector=",".join(selectors) or None)
        return sorted(items, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))

    def logs(
        self,
        pod: str,
        namespace: str | None = None,
        *,
        tail: int | None = 200,
        container: str | None = None,
        previous: bool = False,
    ) -> str:
        """The last ``tail`` lines of a pod's log."""
        path, _ = self._path("Pod", pod, namespace)
        query: list[tuple[str, Any]] = []
        if tail is not None:
            query.append(("tailLines", int(tail)))
        if container:
            query.append(("container", container))
        if previous:
            query.append(("previous", "true"))
        text: str = self._request("GET", path + "/log", query=query, raw=True, what=f"logs of pod {pod}")
        return text


def selector_string(selector: str | Mapping[str, str]) -> str:
    """``{"app": "redis"}`` → ``"app=redis"`` (strings pass through)."""
    if isinstance(selector, str):
        return selector
    return ",".join(f"{k}={v}" for k, v in selector.items())


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def _comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and server-maintained metadata, to tell whether an apply changed it
    (not the resourceVersion: controllers bump it meanwhile, and a dry run does not)."""
    volatile = {"managedFields", "resourceVersion", "generation"}
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in _meta(obj).items() if k not in volatile}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != _DEPLOY_REVISION}
    meta["annotations"] = annotations
    out["metadata"] = meta
    return out


def _rollout_status(dep: Mapping[str, Any], ns: str) -> RolloutStatus:
    meta, spec, status = _meta(dep), dep.get("spec") or {}, dep.get("status") or {}
    gen = int(meta.get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    replicas = int(status.get("replicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    name = str(meta.get("name"))
    progressing: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {}
    )
    done = False
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        msg = f"ProgressDeadlineExceeded: {progressing.get('message', '')}"
    elif observed < gen:
        msg = "waiting for the rollout to be observed"
    elif updated < want:
        msg = f"{updated} of {want} new replicas have been updated"
    elif replicas > updated:
        msg = f"{replicas - updated} old replicas are pending termination"
    elif available < updated:
        msg = f"{available} of {updated} updated replicas are available"
    else:
        done = True
        msg = f"successfully rolled out ({available}/{want} available)"
    return RolloutStatus(name, ns, done, gen, observed, replicas, updated, ready, available, msg)
