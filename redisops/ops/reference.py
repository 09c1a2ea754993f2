"""The operations reference: the catalogue rendered for people (``docs/operations.md``, ``ops show``).

Reads each operation's parameter JSON Schema (a pydantic model's) into rows: name, type, default (or
``(required)``), bounds and description. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from redisops.ops.catalogue import Operation

__all__ = ["param_rows", "render_reference"]

#: JSON Schema bounds shown beside a parameter's type, with how they read
_BOUNDS = (
    ("minimum", ">="),
    ("exclusiveMinimum", ">"),
    ("maximum", "<="),
    ("exclusiveMaximum", "<"),
    ("minLength", "length >="),
    ("maxLength", "length <="),
    ("minItems", "items >="),
    ("maxItems", "items <="),
    ("pattern", "matches"),
)


def _ref(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a local ``$ref`` (``#/$defs/Name``) resolved."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return {**node, **{k: v for k, v in schema.items() if k != "$ref"}} if isinstance(node, dict) else {}


def _type(schema: dict[str, Any], root: dict[str, Any]) -> str:
    """A parameter's type for people: ``int``, ``str | null``, ``rdb|aof``, ``list[str]``, ``path``."""
    s = _ref(schema, root)
    if "enum" in s:
        return "|".join(str(v) for v in s["enum"])
    if "const" in s:
        return repr(s["const"])
    for key in ("anyOf", "oneOf"):
        if key in s:
            return " | ".join(dict.fromkeys(_type(sub, root) for sub in s[key]))
    t = s.get("type")
    if isinstance(t, list):
        return " | ".join(str(x) for x in t)
    if t == "array":
        items = s.get("items")
        return f"list[{_type(items, root)}]" if isinstance(items, dict) else "list"
    if t == "object":
        return str(s.get("title") or "object")
    if t == "string" and s.get("format"):
        return str(s["format"])
    names = {"integer": "int", "number": "float", "string": "str", "boolean": "bool", "null": "null"}
    return names.get(str(t), str(t or s.get("title") or "any"))


def _bounds(schema: dict[str, Any], root: dict[str, Any]) -> str:
    s = _ref(schema, root)
    parts = [f"{word} {s[key]}" for key, word in _BOUNDS if key in s]
    for key in ("anyOf", "oneOf"):
        for sub in s.get(key, []):
            if isinstance(sub, dict) and (inner := _bounds(sub, root)):
                parts.append(inner)
    return ", ".join(parts)


def param_rows(schema: dict[str, Any]) -> list[dict[str, str]]:
    """One row per parameter of a JSON Schema (a pydantic model's): name, type, default (or
    ``(required)``), bounds and description."""
    required = set(schema.get("required", []))
    rows = []
    for name, prop in (schema.get("properties") or {}).items():
        if name in required:
            default = "(required)"
        elif "default" in prop:
            default = json.dumps(prop["default"])
        else:
            default = ""
        rows.append(
            {
                "name": name,
                "type": _type(prop, schema),
                "default": default,
                "bounds": _bounds(prop, schema),
                "description": str(prop.get("description") or _ref(prop, schema).get("description") or ""),
            }
        )
    return rows


_KIND_WORDS = {
    "read": "read — changes nothing",
    "mutate": "mutate — changes something; planned first (a blocked plan refuses)",
    "destructive": "destructive — replaces or deletes data; planned first and needs an explicit confirmation",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_reference(ops: Iterable[Operation[Any, Any]]) -> str:
    """The Markdown reference of ``ops``: one section per operation, its kind and a parameter table.

    ``docs/operations.md`` is this text for the built catalogue (``redisops ops doc``); a test keeps
    it current.
    """
    ops = sorted(ops, key=lambda o: o.name)
    out = [
        "# Operations reference",
        "",
        "<!-- generated: redisops ops doc > docs/operations.md (a test keeps it current) -->",
        "",
        "Every operation redisops runs, whichever front end asks: the CLI, scripts (`redisops.target()."
        "run(NAME, ...)` or the typed facades `t.health()`, `t.backup`, `t.restore`, `t.deploy`), runbooks "
        "and the terminal UI. Parameters are validated by the same model everywhere; a mutating or "
        "destructive operation is planned first (`redisops ops show NAME`, `target.plan(NAME, ...)`), "
        "and every run of one leaves a line in the audit log.",
        "",
        "| operation | kind | summary |",
        "|---|---|---|",
    ]
    out += [f"| [`{o.name}`](#{o.name.replace('.', '')}) | {o.kind} | {_cell(o.summary)} |" for o in ops]
    for o in ops:
        out += [
            "",
            f"## {o.name}",
            "",
            _cell(o.summary),
            "",
            f"Kind: {_KIND_WORDS.get(str(o.kind), o.kind)}.",
        ]
        rows = param_rows(o.schema())
        if not rows:
            out += ["", "No parameters."]
            continue
        out += ["", "| parameter | type | default | bounds | description |", "|---|---|---|---|---|"]
        for r in rows:
            default = f"`{r['default']}`" if r["default"] and r["default"] != "(required)" else r["default"]
            out.append(
                f"| `{r['name']}` | {_cell(r['type'])} | {_cell(default)} | {_cell(r['bounds'])} | "
                f"{_cell(r['description'])} |"
            )
    return "\n".join(out) + "\n"
