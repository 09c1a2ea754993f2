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

The object verbs live in :mod:`redisops.adapters.kube_objects`, streams in
:mod:`redisops.adapters.kube_stream`, the result types and pure pod/rollout logic in
:mod:`redisops.adapters.kube_model`; every name is importable from here.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from redisops.adapters.kube_errors import translate_api_error
from redisops.adapters.kube_model import (
    RESTARTED_AT_ANNOTATION,
    ApplyResult,
    RolloutStatus,
    is_pod_ready,
    meta_of,
    pod_failure_reasons,
    rollout_status_of,
    selector_string,
)
from redisops.adapters.kube_objects import KubeObjects, ObjList
from redisops.cancel import CancelToken
from redisops.errors import ConfigError, NotFoundError, OperationTimeout, RedisOpsError

__all__ = [
    "RESTARTED_AT_ANNOTATION",
    "ApplyResult",
    "Kube",
    "RolloutStatus",
    "is_pod_ready",
    "pod_failure_reasons",
    "selector_string",
    "translate_api_error",
]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

Clock = Callable[[], float]
StrList = list[str]
Sleep = Callable[[float], None]


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


class Kube(KubeObjects):
    """One Kubernetes cluster connection (see the module docstring).

    Build it with :meth:`connect`, :meth:`from_kubeconfig` or :meth:`in_cluster`; or from an
    existing ``kubernetes.client.ApiClient`` (``Kube(api_client, namespace=...)``; then the caller
    keeps ownership of that client). Use it as a context manager or call :meth:`close`.
    """

    # --- construction ----------------------------------------------------------------------------

    @classmethod
    def from_kubeconfig(
        cls, path: str | Path | None = None, *, context: str | None = None, namespace: str | None = None
    ) -> Kube:
        """A client for ``context`` (default: the current one) of a kubeconfig (default: $KUBECONFIG
        or ~/.kube/config). ``namespace`` defaults to the context's namespace, else ``default``."""
        from kubernetes import client as k8s_client
        from kubernetes import config as k8s_config

        _check_kubeconfig_exists(str(Path(path).expanduser()) if path else None)
        # $KUBECONFIG read now: the client library reads it once, when it is first imported, so a
        # KUBECONFIG set later (a runbook step, a test, a long-lived process) would be ignored
        cfg_path = str(Path(path).expanduser()) if path else (os.environ.get("KUBECONFIG") or None)
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

    # --- workloads ---------------------------------------------------------------------------------

    def rollout_status(self, name: str, namespace: str | None = None) -> RolloutStatus:
        """The Deployment's rollout state now (NotFoundError when it does not exist)."""
        ns = namespace or self.namespace
        dep = self.get("Deployment", name, ns)
        if dep is None:
            raise NotFoundError(f"Deployment {ns}/{name} not found", context={"namespace": ns})
        return rollout_status_of(dep, ns)

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
        return sorted(
            items, key=lambda p: (meta_of(p).get("creationTimestamp") or "", meta_of(p).get("name"))
        )

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
