"""The emulator's object storage: a thread-safe, versioned map of JSON objects with a change log."""

from __future__ import annotations

import asyncio
import builtins
import copy
import datetime as dt
import json
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import patch as patches
from .defaults import apply_defaults
from .resources import BY_KIND, ResourceType

Obj = dict[str, Any]
_HISTORY = 50_000
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_NAME_CHARS) for _ in range(n))


class ApiError(Exception):
    """An error the API server reports as a ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def not_found(rt: ResourceType, name: str) -> ApiError:
    group = {"group": rt.group} if rt.group else {}
    what = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    return ApiError(404, "NotFound", f'{what} "{name}" not found', {"name": name, **group, "kind": rt.plural})


def invalid(rt: ResourceType, name: str, field: str, message: str, value: Any = None) -> ApiError:
    cause = {
        "reason": "FieldValueRequired" if value is None else "FieldValueInvalid",
        "message": message,
        "field": field,
    }
    group = {"group": rt.group} if rt.group else {}
    return ApiError(
        422,
        "Invalid",
        f'{rt.kind} "{name}" is invalid: {field}: {message}',
        {"name": name, **group, "kind": rt.kind, "causes": [cause]},
    )


@dataclass(frozen=True)
class Event:
    """One committed change; ``old`` is the previous state for MODIFIED and DELETED."""

    rv: int
    rt: ResourceType
    type: str
    obj: Obj
    old: Obj | None


@dataclass
class _Watcher:
    rt: ResourceType
    namespace: str | None
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event | None]


def _initial_status(kind: str) -> Obj:
    statuses: dict[str, Obj] = {
        "Pod": {"phase": "Pending", "qosClass": "BestEffort"},
        "PersistentVolumeClaim": {"phase": "Pending"},
        "PersistentVolume": {"phase": "Pending"},
        "Service": {"loadBalancer": {}},
        # the fields the API marks required (the typed clients refuse a status without them)
        "ReplicaSet": {"replicas": 0},
        "StatefulSet": {"replicas": 0, "availableReplicas": 0},
        "DaemonSet": {
            "currentNumberScheduled": 0,
            "desiredNumberScheduled": 0,
            "numberMisscheduled": 0,
            "numberReady": 0,
        },
        "HorizontalPodAutoscaler": {"currentReplicas": 0, "desiredReplicas": 0},
        "PodDisruptionBudget": {
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "disruptionsAllowed": 0,
            "expectedPods": 0,
        },
    }
    return copy.deepcopy(statuses.get(kind, {}))


class Store:
    """All objects of one emulator, keyed by resource type, namespace and name."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._rv = 1000
        self._history: deque[Event] = deque(maxlen=_HISTORY)
        self._watchers: list[_Watcher] = []
        self._listeners: list[Callable[[Event], None]] = []

    # --- plumbing --------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        with self.lock:
            return str(self._rv)

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        self._listeners.append(fn)

    def _bucket(self, rt: ResourceType) -> dict[tuple[str, str], Obj]:
        return self._objects.setdefault((rt.group, rt.plural), {})

    def _commit(self, rt: ResourceType, type_: str, obj: Obj, old: Obj | None) -> Event:
        # called with the lock held
        self._rv += 1
        if type_ != "DELETED":
            obj["metadata"]["resourceVersion"] = str(self._rv)
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if type_ == "DELETED":
            self._bucket(rt).pop(key, None)
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self._rv)
        else:
            self._bucket(rt)[key] = obj
        event = Event(self._rv, rt, type_, copy.deepcopy(obj), copy.deepcopy(old) if old else None)
        self._history.append(event)
        for w in self._watchers:
            if w.rt == rt and (w.namespace is None or w.namespace == key[0]):
                w.loop.call_soon_threadsafe(w.queue.put_nowait, event)
        return event

    def _notify(self, events: Iterable[Event]) -> None:
        for event in events:
            for fn in self._listeners:
                fn(event)

    def close_watchers(self) -> None:
        with self.lock:
            for w in self._watchers:
                if not w.loop.is_closed():
                    w.loop.call_soon_threadsafe(w.queue.put_nowait, None)

    # --- reads -----------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self.lock:
            obj = self._bucket(rt).get((namespace or "", name) if rt.namespaced else ("", name))
            if obj is None:
                raise not_found(rt, name)
            return copy.deepcopy(obj)

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        try:
            return self.get(rt, namespace, name)
        except ApiError:
            return None

    def list(
        self, rt: ResourceType, namespace: str | None = None, match: Callable[[Obj], bool] | None = None
    ) -> tuple[builtins.list[Obj], str]:
        with self.lock:
            items = [
                copy.deepcopy(o)
                for (ns, _), o in sorted(self._bucket(rt).items())
                if (namespace is None or ns == namespace) and (match is None or match(o))
            ]
            return items, str(self._rv)

    def watch(
        self, rt: ResourceType, namespace: str | None, since: int | None, loop: asyncio.AbstractEventLoop
    ) -> tuple[builtins.list[Event], _Watcher]:
        """Register a watcher; returns the events to replay first (all objects as ADDED without ``since``)."""
        with self.lock:
            if since is None:
                replay = [
                    Event(int(o["metadata"]["resourceVersion"]), rt, "ADDED", copy.deepcopy(o), None)
                    for (ns, _), o in sorted(self._bucket(rt).items())
                    if namespace is None or ns == namespace
                ]
            else:
                if since < self._rv and self._history and self._history[0].rv > since + 1:
                    raise ApiError(
                        410, "Expired", f"too old resource version: {since} ({self._history[0].rv})"
                    )
                replay = [
                    e
                    for e in self._history
                    if e.rv > since
                    and e.rt == rt
                    and (namespace is None or e.obj["metadata"].get("namespace", "") == namespace)
                ]
            watcher = _Watcher(rt, namespace, loop, asyncio.Queue())
            self._watchers.append(watcher)
            return replay, watcher

    def unwatch(self, watcher: _Watcher) -> None:
        with self.lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    # --- writes ----------------------------------------------------------------------------

    def _check_namespace(self, rt: ResourceType, namespace: str | None) -> None:
        if rt.namespaced and ("", namespace or "") not in self._bucket(BY_KIND["Namespace"]):
            raise not_found(BY_KIND["Namespace"], namespace or "")

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Obj,
        *,
        manager: str = "emulator",
        operation: str = "Update",
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> Obj:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + random_suffix()
            else:
                raise invalid(rt, "", "metadata.name", "Required value: name or generateName is required")
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        requested = copy.deepcopy(obj)
        for field in (
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "deletionTimestamp",
            "selfLink",
        ):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if rt.generation:
            meta["generation"] = 1
        if rt.has_status:
            obj["status"] = _initial_status(rt.kind)
        apply_defaults(rt.kind, obj)
        paths = patches.leaf_paths(requested) - (
            {p for p in patches.leaf_paths(requested) if p[0] == "status"} if rt.has_status else set()
        )
        _set_managed(obj, [], manager, operation, subresource, rt, paths, transfer=True)
        with self.lock:
            self._check_namespace(rt, meta.get("namespace"))
            key = (meta.get("namespace", ""), meta["name"])
            if key in self._bucket(rt):
                group = {"group": rt.group} if rt.group else {}
                what = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{what} "{meta["name"]}" already exists',
                    {"name": meta["name"], **group, "kind": rt.plural},
                )
            if dry_run:
                return obj
            event = self._commit(rt, "ADDED", obj, None)
        self._notify([event])
        return copy.deepcopy(event.obj)

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Obj | Callable[[Obj], Obj],
        *,
        manager: str = "emulator",
        subresource: str | None = None,
        operation: str = "Update",
        applied: set[patches.Path] | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> Obj:
        """Replace an object (or, with a callable, transform it) the way PUT and PATCH do."""
        with self.lock:
            old = self.get(rt, namespace, name)
            new = body(copy.deepcopy(old)) if callable(body) else copy.deepcopy(body)
            if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
                raise ApiError(400, "BadRequest", "the body of the request must be an object")
            meta = new.setdefault("metadata", {})
            sent_rv = meta.get("resourceVersion")
            if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                what = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {what} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                    {"name": name, "kind": rt.plural},
                )
            if meta.get("name", name) != name:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"the name of the object ({meta['name']}) does not match the name on the URL ({name})",
                )
            if subresource == "status":
                status = new.get("status")
                new = copy.deepcopy(old)
                if status is not None:
                    new["status"] = status
            elif rt.has_status and "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            new["apiVersion"], new["kind"] = rt.api_version, rt.kind
            requested = copy.deepcopy(new)
            meta = new["metadata"]
            for field in ("uid", "creationTimestamp", "namespace", "name", "generation", "resourceVersion"):
                if field in old["metadata"]:
                    meta[field] = old["metadata"][field]
                else:
                    meta.pop(field, None)
            meta["managedFields"] = old["metadata"].get("managedFields", [])
            apply_defaults(rt.kind, new)
            if rt.generation and new.get("spec") != old.get("spec"):
                meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
            if applied is not None:
                paths = applied
            else:
                wanted = patches.leaf_paths(requested)
                paths = {
                    p
                    for p in patches.leaf_paths(new) | patches.leaf_paths(old)
                    if p in wanted and patches.get_path(new, p) != patches.get_path(old, p)
                }
                paths |= {p for p in patches.leaf_paths(old) - patches.leaf_paths(new)}
                if subresource == "status":
                    paths = {p for p in paths if p[0] == "status"}
            _set_managed(
                new,
                old["metadata"].get("managedFields", []),
                manager,
                operation,
                subresource,
                rt,
                paths,
                transfer=applied is None or force,
            )
            if _same(new, old):
                return old
            if dry_run:
                return new
            event = self._commit(rt, "MODIFIED", new, old)
        self._notify([event])
        return copy.deepcopy(event.obj)

    def apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Obj,
        *,
        manager: str,
        force: bool = False,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Server-side apply: create when missing, else merge and track field ownership."""
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the applied configuration must be an object")
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        meta["name"] = name
        with self.lock:
            old = self.find(rt, namespace, name)
            if old is None:
                if subresource:
                    raise not_found(rt, name)
                return self.create(rt, namespace, body, manager=manager, operation="Apply", dry_run=dry_run)
            applied = patches.leaf_paths(body)
            if subresource == "status":
                applied = {p for p in applied if p[0] == "status"}
            elif rt.has_status:
                applied = {p for p in applied if p[0] != "status"}
            conflicts: list[tuple[str, patches.Path]] = []
            others: set[patches.Path] = set()
            mine: set[patches.Path] = set()
            for entry in old["metadata"].get("managedFields", []):
                owned = patches.from_fields_v1(entry.get("fieldsV1"))
                if (entry.get("subresource") == "status") != (subresource == "status"):
                    continue
                if entry.get("manager") == manager and entry.get("operation") == "Apply":
                    mine = owned
                    continue
                others |= owned
                who = f'"{entry.get("manager")}"'
                if entry.get("subresource"):
                    who += f' with subresource "{entry["subresource"]}"'
                for p in sorted(applied & owned):
                    if p[-1] != "." and patches.get_path(old, p) != patches.get_path(body, p):
                        conflicts.append((who, p))
            if conflicts and not force:
                causes = [
                    {
                        "reason": "FieldManagerConflict",
                        "message": f"conflict with {who} using {rt.api_version}",
                        "field": _render_path(p),
                    }
                    for who, p in conflicts
                ]
                lines = "\n".join(f"- {c['message']}: {c['field']}" for c in causes)
                n = len(causes)
                raise ApiError(
                    409,
                    "Conflict",
                    f"Apply failed with {n} conflict{'s' if n > 1 else ''}: {lines.lstrip('- ')}"
                    if n == 1
                    else f"Apply failed with {n} conflicts:\n{lines}",
                    {"causes": causes},
                )
            for field in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"):
                meta.pop(field, None)
            merged = patches.strategic_merge(old, body, deletions=False)
            keep = others | applied
            for p in sorted(mine - applied, key=len, reverse=True):
                if not patches.covers(keep, p):
                    patches.remove_path(merged, p)
            return self.update(
                rt,
                namespace,
                name,
                merged,
                manager=manager,
                operation="Apply",
                applied=applied,
                force=force,
                subresource=subresource,
                dry_run=dry_run,
            )

    def delete(self, rt: ResourceType, namespace: str | None, name: str, *, dry_run: bool = False) -> Obj:
        events: list[Event] = []
        with self.lock:
            old = self.get(rt, namespace, name)
            if dry_run:
                return old
            if rt.kind == "Namespace":
                for (group, plural), bucket in list(self._objects.items()):
                    for (ns, _), obj in list(bucket.items()):
                        if ns == name:
                            child_rt = BY_KIND[obj["kind"]]
                            assert (child_rt.group, child_rt.plural) == (group, plural)
                            events.append(self._commit(child_rt, "DELETED", obj, obj))
            events.append(self._commit(rt, "DELETED", old, old))
        self._notify(events)
        return old


def _render_path(path: patches.Path) -> str:
    out = ""
    for el in path:
        if el == ".":
            continue
        if el.startswith("k:{"):
            key, value = next(iter(json.loads(el[2:]).items()))
            out += f"[{key}={json.dumps(value)}]"
        else:
            out += f".{el}"
    return out


def _same(a: Obj, b: Obj) -> bool:
    def strip(o: Obj) -> Obj:
        o = copy.deepcopy(o)
        o["metadata"].pop("resourceVersion", None)
        for entry in o["metadata"].get("managedFields", []):
            entry.pop("time", None)
        return o

    return strip(a) == strip(b)


def _set_managed(
    obj: Obj,
    entries: list[Obj],
    manager: str,
    operation: str,
    subresource: str | None,
    rt: ResourceType,
    paths: set[patches.Path],
    *,
    transfer: bool,
) -> None:
    """Record ``paths`` for ``manager``; ``transfer`` takes them away from the other managers."""
    me = (manager, operation, subresource)
    out: list[Obj] = []
    mine: set[patches.Path] = set()
    my_index: int | None = None
    my_old: Obj | None = None
    for entry in entries:
        owned = patches.from_fields_v1(entry.get("fieldsV1"))
        if (entry.get("manager"), entry.get("operation"), entry.get("subresource")) == me:
            mine, my_index, my_old = owned, len(out), entry
            continue
        if transfer:
            owned -= paths
        # a field nobody sets any more is owned by nobody
        owned = {p for p in owned if patches.get_path(obj, p) is not None}
        if owned:
            out.append({**entry, "fieldsV1": patches.to_fields_v1(owned)})
    new_mine = paths if operation == "Apply" else (mine | paths)
    new_mine = {p for p in new_mine if patches.get_path(obj, p) is not None}
    if new_mine:
        fields = patches.to_fields_v1(new_mine)
        unchanged = my_old is not None and my_old.get("fieldsV1") == fields
        entry = {
            "manager": manager,
            "operation": operation,
            "apiVersion": rt.api_version,
            "time": my_old.get("time", now()) if unchanged and my_old else now(),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
        if subresource:
            entry["subresource"] = subresource
        out.insert(len(out) if my_index is None else my_index, entry)
    obj["metadata"]["managedFields"] = out
