"""Runme's fence-line attributes: ```` ```sh {"name":"x"} ```` or ```` ```sh { name=x } ````.

Follows Runme's document parser (runmedev/runme ``document/attributes.go``): the attributes span from
the first ``{`` not directly followed by ``}`` to the first ``}`` after it (so values cannot contain
``}``); JSON is tried first (a non-string value becomes its JSON text: ``true`` -> ``"true"``), then the
``{ key=value key2 }`` form split on spaces (a bare key gets ``""``). Attributes are written back in the
form they were read::

    from redisops.runbooks.attrs import parse_info, write_attributes

    info = parse_info('sh {"name":"ping","timeout":30}')
    assert (info.lang, info.attrs, info.fmt) == ("sh", {"name": "ping", "timeout": "30"}, "json")
    html = parse_info("bash { name=flush interactive=false empty }")
    assert html.attrs == {"name": "flush", "interactive": "false", "empty": ""}
    assert write_attributes(html.attrs, html.fmt) == "{ name=flush empty= interactive=false }"
"""

from __future__ import annotations

import dataclasses
import json

__all__ = [
    "FenceInfo",
    "extract_attributes",
    "parse_attributes",
    "parse_bool",
    "parse_info",
    "write_attributes",
]


@dataclasses.dataclass(frozen=True)
class FenceInfo:
    """A fence line's language, attributes and the attribute format read (``json``, ``html`` or "")."""

    lang: str
    attrs: dict[str, str]
    fmt: str


def extract_attributes(info: str) -> str | None:
    """The ``{...}`` part of a fence's info string, as Runme finds it; None when there is none."""
    start = stop = -1
    for i, ch in enumerate(info):
        if start == -1 and ch == "{" and i + 1 < len(info) and info[i + 1] != "}":
            start = i + 1
        if stop == -1 and ch == "}":
            stop = i
            break
    if start >= 0 and stop >= 0 and stop >= start - 1:
        return info[start - 1 : stop + 1].strip()
    return None


def parse_attributes(raw: str) -> tuple[dict[str, str], str]:
    """``raw`` (``{...}``) as a string mapping and its format: JSON first, then ``key=value`` words."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return {
            str(k): v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
            for k, v in parsed.items()
        }, "json"
    out: dict[str, str] = {}
    for item in raw.strip("{}").split(" "):
        key, _, value = item.partition("=")
        if key:
            out[key] = value
    return out, "html"


def parse_info(info: str) -> FenceInfo:
    """Split a fence's info string into language and attributes (a line starting with ``{``: no language)."""
    info = info.strip()
    raw = extract_attributes(info)
    lang = ""
    if info and not info.startswith("{"):
        lang = info.split(None, 1)[0].split("{", 1)[0]
    if raw is None:
        return FenceInfo(lang, {}, "")
    attrs, fmt = parse_attributes(raw)
    return FenceInfo(lang, attrs, fmt)


def write_attributes(attrs: dict[str, str], fmt: str = "json") -> str:
    """The attributes as Runme writes them: JSON with sorted keys, or ``{ name=.. k=v }`` (name first)."""
    if fmt == "html":
        keys = sorted(attrs, key=lambda k: (k != "name", k))
        return "{ " + " ".join(f"{k}={attrs[k]}" for k in keys) + " }" if keys else "{}"
    return json.dumps(dict(sorted(attrs.items())), separators=(",", ":"))


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(value: str | None, default: bool) -> bool:
    """Go's ``strconv.ParseBool`` as Runme uses it: an invalid or missing value means ``default``."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default
