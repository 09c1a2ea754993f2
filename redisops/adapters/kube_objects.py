"""The object half of the Kubernetes adapter: raw API requests, discovery, and server-side apply,
get, list, create, delete and patch of plain-dict objects (:class:`KubeObjects`, the base of
:class:`redisops.adapters.kube.Kube`, which adds construction, rollouts, pods and logs)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

from redisops.adapters.kube_errors import api_call as _api_call
from redisops.adapters.kube_model import API_VERSIONS, ApplyResult, comparable, selector_string
from redisops.adapters.kube_stream import KubeStreams
from redisops.errors import ConfigError, NotFoundError

__all__ = ["KubeObjects", "ObjList"]

ObjList = list[dict[str, Any]]


class KubeObjects(KubeStreams):
    """Requests and object verbs on one cluster connection (see :class:`redisops.adapters.kube.Kube`)."""

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
        av = api_version or API_VERSIONS.get(kind)
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
            elif comparable(obj) == comparable(before):
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
