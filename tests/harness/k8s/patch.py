"""Patch flavours (JSON merge, JSON patch, strategic merge) and server-side apply field ownership.

Strategic merge is an approximation: maps merge, lists are replaced, except the well-known lists of
objects with a merge key (``containers``, ``env``, ``ports``, ``volumes``, ...) which merge item by item.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

Path = tuple[str, ...]

_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
}


class PatchError(ValueError):
    """The patch document is malformed or cannot be applied (the API server answers 422)."""


def merge_key(field: str, items: Iterable[Any]) -> str | None:
    items = list(items)
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    if field == "ports":
        key = "containerPort" if any("containerPort" in i for i in items) else "port"
    else:
        found = _MERGE_KEYS.get(field)
        if found is None:
            return None
        key = found
    return key if all(key in i for i in items) else None


# --- JSON merge patch (RFC 7386) -------------------------------------------------------------


def json_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


# --- JSON patch (RFC 6902) ---------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: Any, parts: list[str]) -> tuple[Any, str]:
    cur = doc
    for part in parts[:-1]:
        if isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError) as exc:
                raise PatchError(f"path segment {part!r} not found") from exc
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise PatchError(f"path segment {part!r} not found")
    return cur, parts[-1]


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent, last = _container(doc, parts)
    try:
        return parent[int(last)] if isinstance(parent, list) else parent[last]
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        raise PatchError(f"path {'/'.join(parts)!r} not found") from exc


def _remove(doc: Any, parts: list[str]) -> Any:
    parent, last = _container(doc, parts)
    try:
        return parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
    except (KeyError, ValueError, IndexError) as exc:
        raise PatchError(f"unable to remove nonexistent key {last!r}") from exc


def _add(doc: Any, parts: list[str], value: Any, replace: bool = False) -> Any:
    if not parts:
        return value
    parent, last = _container(doc, parts)
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
            return doc
        try:
            index = int(last)
        except ValueError as exc:
            raise PatchError(f"invalid list index {last!r}") from exc
        if replace:
            parent[index] = value
        else:
            if index > len(parent):
                raise PatchError(f"list index {index} out of range")
            parent.insert(index, value)
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"replace operation does not apply: doc is missing key {last!r}")
        parent[last] = value
    else:
        raise PatchError(f"cannot add to {type(parent).__name__}")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation {op!r}")
        kind, parts = op["op"], _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "replace":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")), replace=True)
        elif kind == "remove":
            _remove(doc, parts)
        elif kind in ("move", "copy"):
            src = _pointer(op["from"])
            value = _remove(doc, src) if kind == "move" else copy.deepcopy(_get(doc, src))
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise PatchError(f"test operation failed at {op['path']!r}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


# --- strategic merge patch ---------------------------------------------------------------------


def strategic_merge(target: Any, patch: Any, *, deletions: bool = True) -> Any:
    """Merge ``patch`` into ``target``; ``deletions`` honours ``null`` and ``$patch: delete`` (not SSA)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if deletions and patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if deletions and patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list):
                result[name] = [v for v in result[name] if v not in (value or [])]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            if deletions:
                result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            merged = strategic_merge(current, value, deletions=deletions)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and isinstance(current, list):
            result[key] = _merge_list(key, current, value, deletions)
        else:
            cleaned = _strip_directives(value)
            result[key] = cleaned
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [
            _strip_directives(v) for v in value if not (isinstance(v, dict) and v.get("$patch") == "delete")
        ]
    return copy.deepcopy(value)


def _merge_list(field: str, current: list[Any], patch: list[Any], deletions: bool) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    key = merge_key(field, [i for i in patch if isinstance(i, dict)] + current)
    if key is None:
        return [
            _strip_directives(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "delete")
        ]
    result = copy.deepcopy(current)
    for item in patch:
        index = next((n for n, cur in enumerate(result) if cur.get(key) == item.get(key)), None)
        if deletions and item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item, deletions=deletions)
    return result


# --- server-side apply field sets --------------------------------------------------------------

# fields the server owns; never part of a manager's field set
_SERVER_FIELDS = {
    ("apiVersion",),
    ("kind",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "uid"),
    ("metadata", "resourceVersion"),
    ("metadata", "generation"),
    ("metadata", "creationTimestamp"),
    ("metadata", "managedFields"),
    ("metadata", "selfLink"),
    ("metadata", "deletionTimestamp"),
}


def _item_key(key: str, item: dict[str, Any]) -> str:
    return "k:" + json.dumps({key: item[key]}, separators=(",", ":"), sort_keys=True)


def leaf_paths(obj: Any, prefix: Path = ()) -> set[Path]:
    """The field paths a document sets, in the spirit of ``fieldsV1``."""
    out: set[Path] = set()
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        path = (*prefix, k)
        if path in _SERVER_FIELDS:
            continue
        if isinstance(v, dict) and v:
            out |= leaf_paths(v, path)
        elif isinstance(v, list) and (key := merge_key(k, v)) is not None:
            for item in v:
                ipath = (*path, _item_key(key, item))
                out.add((*ipath, "."))
                out |= leaf_paths(item, ipath)
        else:
            out.add(path)
    return out


def get_path(obj: Any, path: Path) -> Any:
    cur = obj
    for el in path:
        if el == ".":
            return cur
        if el.startswith("k:{") and isinstance(cur, list):
            (key, value), *_ = json.loads(el[2:]).items()
            cur = next((i for i in cur if isinstance(i, dict) and i.get(key) == value), None)
        elif isinstance(cur, dict):
            cur = cur.get(el)
        else:
            return None
        if cur is None:
            return None
    return cur


def remove_path(obj: Any, path: Path) -> None:
    parent = get_path(obj, path[:-1]) if path[-1] != "." else get_path(obj, path[:-2])
    if path[-1] == ".":
        if isinstance(parent, list):
            target = get_path(obj, path[:-1])
            if target is not None:
                parent.remove(target)
    elif isinstance(parent, dict):
        parent.pop(path[-1], None)


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for el in path:
            name = el if el == "." or el.startswith("k:{") else f"f:{el}"
            node = node.setdefault(name, {})
    return root


def from_fields_v1(fields: dict[str, Any] | None, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for name, sub in (fields or {}).items():
        el = name if name == "." or name.startswith("k:{") else name[2:]
        path = (*prefix, el)
        if isinstance(sub, dict) and sub:
            out |= from_fields_v1(sub, path)
        else:
            out.add(path)
    return out


def covers(owned: set[Path], path: Path) -> bool:
    """Whether ``owned`` holds ``path`` or anything below it (a ``.`` path means the list item)."""
    base = path[:-1] if path and path[-1] == "." else path
    return any(p[: len(base)] == base for p in owned)
