"""Pure checks of the things kubernetes-validate does not look at.

kubernetes-validate checks a manifest against the OpenAPI schema only: types and known fields. The
API server validates much more, and a GitOps pipeline finds out at apply time. This module checks the
rest, offline, with the API server's rules:

* quantities (``resource.Quantity`` grammar: ``100m``, ``0.5``, ``256Mi``, ``1e3``),
* names: DNS-1123 labels and subdomains, label and annotation keys, label values,
* ports (1-65535) and named ports (IANA service names, at most 15 characters),
* cron schedules as the CronJob controller parses them (5 fields, ranges, steps, lists, month and
  day names, ``@daily``-style descriptors, ``@every <duration>``),
* label selectors (``matchLabels`` / ``matchExpressions``) and whether one selects a set of labels.

Every ``check_*`` function returns a list of problems (empty = fine) instead of raising, so callers
can collect all problems of a manifest at once. :func:`check_manifest` walks one manifest dict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Issue",
    "check_annotations",
    "check_cron",
    "check_dns1123_label",
    "check_dns1123_subdomain",
    "check_label_key",
    "check_label_value",
    "check_labels",
    "check_manifest",
    "check_manifests",
    "check_port",
    "check_quantity",
    "check_selector",
    "selector_matches",
]


@dataclass(frozen=True)
class Issue:
    """One problem in a manifest: where (``kind/name`` + a dotted field path) and what."""

    where: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.path}: {self.message}"


# --- quantities --------------------------------------------------------------------------------

# apimachinery/pkg/api/resource/quantity.go:
#   <quantity> ::= <signedNumber><suffix>; <number> ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
#   <suffix> ::= Ki|Mi|Gi|Ti|Pi|Ei | m|""|k|M|G|T|P|E | (e|E)<signedNumber>
_QUANTITY = re.compile(
    r"^(?P<sign>[+-]?)(?P<num>\d+(?:\.\d*)?|\.\d+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$"
)


def check_quantity(value: object, *, memory: bool = False) -> list[str]:
    """Problems of a resource quantity (``100m``, ``256Mi``, ``10Gi``); negative values are refused.

    With ``memory=True`` a milli suffix (``512m`` = 0.512 bytes, a classic typo for ``512Mi``) and a
    fractional byte count are reported too.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return [f"a quantity must be a string or a number, got {type(value).__name__}"]
    text = str(value)
    m = _QUANTITY.match(text)
    if not m:
        return [f"{text!r} is not a Kubernetes quantity (examples: 100m, 0.5, 256Mi, 10Gi)"]
    if m.group("sign") == "-":
        return [f"{text!r} is negative"]
    if memory and m.group("suffix") == "m":
        return [f"{text!r} is in milli-bytes ({text[:-1]}/1000 bytes); did you mean {text[:-1]}Mi?"]
    return []


# --- names -------------------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def check_dns1123_label(name: object) -> list[str]:
    """Problems of a DNS-1123 label (Service, Namespace names): lower-case a-z 0-9 '-', at most 63."""
    if not isinstance(name, str) or not name:
        return ["a name must be a non-empty string"]
    problems = []
    if len(name) > 63:
        problems.append(f"{name!r} is longer than 63 characters ({len(name)})")
    if not _DNS_LABEL.match(name):
        problems.append(
            f"{name!r} is not a DNS-1123 label "
            "(lower-case a-z, 0-9 and '-', starting and ending alphanumeric)"
        )
    return problems


def check_dns1123_subdomain(name: object) -> list[str]:
    """Problems of a DNS-1123 subdomain (most object names): dot-separated labels, at most 253."""
    if not isinstance(name, str) or not name:
        return ["a name must be a non-empty string"]
    if len(name) > 253:
        return [f"{name!r} is longer than 253 characters ({len(name)})"]
    if not all(_DNS_LABEL.match(part) for part in name.split(".")):
        return [
            f"{name!r} is not a DNS-1123 subdomain (lower-case a-z, 0-9, '-' and '.', "
            "each part starting and ending alphanumeric)"
        ]
    return []


def check_label_key(key: object) -> list[str]:
    """Problems of a label or annotation key: ``[prefix/]name``, prefix a DNS subdomain, name <= 63."""
    if not isinstance(key, str) or not key:
        return ["a label key must be a non-empty string"]
    prefix, _, name = key.rpartition("/")
    problems = []
    if "/" in key and not prefix:
        problems.append(f"{key!r}: the prefix before '/' is empty")
    if prefix:
        problems += [f"{key!r}: prefix {p}" for p in check_dns1123_subdomain(prefix)]
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        problems.append(
            f"{key!r}: the name part must be 1-63 characters of a-z A-Z 0-9 '-' '_' '.', "
            "starting and ending alphanumeric"
        )
    return problems


def check_label_value(value: object) -> list[str]:
    """Problems of a label value: empty, or at most 63 of a-z A-Z 0-9 '-' '_' '.' (alphanumeric ends)."""
    if not isinstance(value, str):
        return [f"a label value must be a string, got {type(value).__name__} ({value!r})"]
    if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
        return [
            f"{value!r} is not a valid label value (at most 63 of a-z A-Z 0-9 '-' '_' '.', "
            "starting and ending alphanumeric)"
        ]
    return []


def check_labels(labels: object) -> list[str]:
    """Problems of a labels mapping (keys and values)."""
    if not isinstance(labels, Mapping):
        return [f"labels must be a mapping, got {type(labels).__name__}"]
    problems: list[str] = []
    for k, v in labels.items():
        problems += check_label_key(k)
        problems += [f"label {k!r}: {p}" for p in check_label_value(v)]
    return problems


def check_annotations(annotations: object) -> list[str]:
    """Problems of an annotations mapping: keys like label keys, values strings, total <= 256 KiB."""
    if not isinstance(annotations, Mapping):
        return [f"annotations must be a mapping, got {type(annotations).__name__}"]
    problems: list[str] = []
    total = 0
    for k, v in annotations.items():
        problems += check_label_key(k)
        if not isinstance(v, str):
            problems.append(f"annotation {k!r}: the value must be a string, got {type(v).__name__}")
        else:
            total += len(str(k)) + len(v.encode())
    if total > 256 * 1024:
        problems.append(f"annotations total {total} bytes, more than the 256 KiB the API server allows")
    return problems


# --- ports -------------------------------------------------------------------------------------


def check_port(port: object, *, allow_name: bool = False) -> list[str]:
    """Problems of a port number (1-65535) or, with ``allow_name``, a named port (IANA_SVC_NAME)."""
    if isinstance(port, bool):
        return [f"a port must be a number, got {port!r}"]
    if isinstance(port, int):
        return [] if 1 <= port <= 65535 else [f"port {port} is outside 1-65535"]
    if isinstance(port, str) and allow_name:
        if len(port) > 15 or not _IANA_SVC_NAME.match(port) or "--" in port:
            return [f"{port!r} is not a port name (1-15 of a-z 0-9 '-', no '--', alphanumeric ends)"]
        if not re.search(r"[a-z]", port):
            return [f"port name {port!r} must contain at least one letter"]
        return []
    return [f"a port must be an integer{' or a name' if allow_name else ''}, got {port!r}"]


# --- cron --------------------------------------------------------------------------------------

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# (name, low, high, names); the CronJob controller uses robfig/cron's standard parser: dow is 0-6
_CRON_FIELDS: tuple[tuple[str, int, int, Mapping[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")


def _cron_value(
    text: str, low: int, high: int, names: Mapping[str, int], what: str
) -> tuple[int, str | None]:
    if text.lower() in names:
        return names[text.lower()], None
    if not text.isdigit():
        return 0, f"{what}: {text!r} is not a number{' or a name' if names else ''}"
    n = int(text)
    if not low <= n <= high:
        extra = (
            " (the CronJob controller does not accept 7 for Sunday; use 0)" if what == "day of week" else ""
        )
        return n, f"{what}: {n} is outside {low}-{high}{extra}"
    return n, None


def _check_cron_field(text: str, what: str, low: int, high: int, names: Mapping[str, int]) -> list[str]:
    problems: list[str] = []
    for part in text.split(","):
        if not part:
            problems.append(f"{what}: empty list element in {text!r}")
            continue
        base, slash, step = part.partition("/")
        if slash:
            if not step.isdigit() or int(step) == 0:
                problems.append(f"{what}: step {step!r} in {part!r} must be a positive integer")
            elif int(step) > high - low + 1:
                problems.append(f"{what}: step {step} in {part!r} is larger than the range {low}-{high}")
        if base in ("*", "?"):
            if base == "?" and what not in ("day of month", "day of week"):
                problems.append(f"{what}: '?' is only allowed for day of month and day of week")
            continue
        start_text, dash, end_text = base.partition("-")
        start, err = _cron_value(start_text, low, high, names, what)
        if err:
            problems.append(err)
            continue
        if dash:
            end, err = _cron_value(end_text, low, high, names, what)
            if err:
                problems.append(err)
            elif end < start:
                problems.append(f"{what}: range {base!r} runs backwards")
    return problems


def check_cron(schedule: object) -> list[str]:
    """Problems of a CronJob schedule: 5 fields, a ``@daily``-style descriptor or ``@every <duration>``.

    ``TZ=``/``CRON_TZ=`` prefixes are refused (the API server does: use ``spec.timeZone``).
    """
    if not isinstance(schedule, str) or not schedule.strip():
        return ["a schedule must be a non-empty string"]
    text = schedule.strip()
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        return [f"{text!r}: TZ/CRON_TZ in the schedule is not allowed; set spec.timeZone instead"]
    if text.startswith("@"):
        if text.lower() in _DESCRIPTORS:
            return []
        if text.lower().startswith("@every "):
            duration = text[len("@every ") :].strip()
            return [] if _GO_DURATION.match(duration) else [f"{text!r}: {duration!r} is not a Go duration"]
        return [f"{text!r} is not a known descriptor ({', '.join(sorted(_DESCRIPTORS))}, @every <duration>)"]
    fields = text.split()
    if len(fields) != 5:
        return [
            f"{text!r} has {len(fields)} fields; a CronJob schedule has 5 "
            "(minute hour day-of-month month day-of-week)"
        ]
    problems: list[str] = []
    for field, (what, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        problems += _check_cron_field(field, what, low, high, names)
    return problems


# --- selectors ---------------------------------------------------------------------------------

_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


def check_selector(selector: object) -> list[str]:
    """Problems of a LabelSelector (``matchLabels`` and ``matchExpressions``)."""
    if not isinstance(selector, Mapping):
        return [f"a selector must be a mapping, got {type(selector).__name__}"]
    problems: list[str] = []
    unknown = set(selector) - {"matchLabels", "matchExpressions"}
    if unknown:
        problems.append(f"unknown selector fields: {sorted(unknown)}")
    problems += check_labels(selector.get("matchLabels") or {})
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        if not isinstance(expr, Mapping):
            problems.append(f"matchExpressions[{i}] must be a mapping")
            continue
        problems += [f"matchExpressions[{i}]: {p}" for p in check_label_key(expr.get("key"))]
        op, values = expr.get("operator"), expr.get("values") or []
        if op not in _OPERATORS:
            problems.append(f"matchExpressions[{i}]: operator {op!r} is not one of {sorted(_OPERATORS)}")
        elif op in ("In", "NotIn") and not values:
            problems.append(f"matchExpressions[{i}]: operator {op} needs at least one value")
        elif op in ("Exists", "DoesNotExist") and values:
            problems.append(f"matchExpressions[{i}]: operator {op} takes no values")
        for v in values:
            problems += [f"matchExpressions[{i}]: {p}" for p in check_label_value(v)]
    return problems


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a LabelSelector selects an object with ``labels`` (an empty selector selects all)."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


# --- whole manifests ---------------------------------------------------------------------------

_CLUSTER_SCOPED = {"StorageClass", "Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
#: kinds whose names must be DNS-1123 labels (the rest are subdomains)
_LABEL_NAMED = {"Service", "Namespace"}
#: the CronJob controller appends an 11-character suffix to Job names (which must stay <= 63)
_CRONJOB_NAME_MAX = 52


def _pod_spec(obj: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        return "spec", spec
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return "spec.template.spec", (spec.get("template") or {}).get("spec") or {}
    if kind == "CronJob":
        tmpl = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        return "spec.jobTemplate.spec.template.spec", tmpl.get("spec") or {}
    return None


def _check_metadata(meta: Mapping[str, Any], kind: str, path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if "labels" in meta:
        out += [(f"{path}.labels", p) for p in check_labels(meta["labels"])]
    if "annotations" in meta:
        out += [(f"{path}.annotations", p) for p in check_annotations(meta["annotations"])]
    return out


def _check_containers(pod_path: str, pod: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(pod.get(group) or []):
            cpath = f"{pod_path}.{group}[{i}]"
            out += [(f"{cpath}.name", p) for p in check_dns1123_label(c.get("name"))]
            if c.get("name") in names:
                out.append((f"{cpath}.name", f"duplicate container name {c.get('name')!r}"))
            names.add(c.get("name"))
            for j, port in enumerate(c.get("ports") or []):
                out += [
                    (f"{cpath}.ports[{j}].containerPort", p) for p in check_port(port.get("containerPort"))
                ]
                if "name" in port:
                    out += [
                        (f"{cpath}.ports[{j}].name", p) for p in check_port(port["name"], allow_name=True)
                    ]
            for section in ("requests", "limits"):
                for res, q in ((c.get("resources") or {}).get(section) or {}).items():
                    is_mem = res in ("memory", "ephemeral-storage")
                    out += [
                        (f"{cpath}.resources.{section}.{res}", p) for p in check_quantity(q, memory=is_mem)
                    ]
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                tcp = (c.get(probe) or {}).get("tcpSocket")
                if tcp:
                    ppath = f"{cpath}.{probe}.tcpSocket.port"
                    out += [(ppath, p) for p in check_port(tcp.get("port"), allow_name=True)]
    for i, v in enumerate(pod.get("volumes") or []):
        out += [(f"{pod_path}.volumes[{i}].name", p) for p in check_dns1123_label(v.get("name"))]
        size = (v.get("emptyDir") or {}).get("sizeLimit")
        if size is not None:
            out += [
                (f"{pod_path}.volumes[{i}].emptyDir.sizeLimit", p) for p in check_quantity(size, memory=True)
            ]
    return out


def _check_kind_specific(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    out: list[tuple[str, str]] = []
    if kind == "PersistentVolumeClaim":
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        out += [("spec.resources.requests.storage", p) for p in check_quantity(storage, memory=True)]
    elif kind == "Service":
        for i, port in enumerate(spec.get("ports") or []):
            out += [(f"spec.ports[{i}].port", p) for p in check_port(port.get("port"))]
            if "targetPort" in port:
                out += [
                    (f"spec.ports[{i}].targetPort", p)
                    for p in check_port(port["targetPort"], allow_name=True)
                ]
        out += [("spec.selector", p) for p in check_labels(spec.get("selector") or {})]
    elif kind == "CronJob":
        out += [("spec.schedule", p) for p in check_cron(spec.get("schedule"))]
        name = (obj.get("metadata") or {}).get("name") or ""
        if len(name) > _CRONJOB_NAME_MAX:
            out.append(("metadata.name", f"a CronJob name may have at most {_CRONJOB_NAME_MAX} characters"))
    elif kind == "NetworkPolicy":
        out += [("spec.podSelector", p) for p in check_selector(spec.get("podSelector") or {})]
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            for i, rule in enumerate(spec.get(direction) or []):
                for j, peer in enumerate(rule.get(peers_key) or []):
                    for sel_key in ("podSelector", "namespaceSelector"):
                        if sel_key in peer:
                            ppath = f"spec.{direction}[{i}].{peers_key}[{j}].{sel_key}"
                            out += [(ppath, p) for p in check_selector(peer[sel_key])]
                for j, port in enumerate(rule.get("ports") or []):
                    if "port" in port:
                        ppath = f"spec.{direction}[{i}].ports[{j}].port"
                        out += [(ppath, p) for p in check_port(port["port"], allow_name=True)]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        sel = spec.get("selector") or {}
        out += [("spec.selector", p) for p in check_selector(sel)]
        tmpl_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector_matches(sel, tmpl_labels):
            out.append(("spec.selector", "does not select the pod template's labels"))
    return out


def check_manifest(obj: Mapping[str, Any]) -> list[Issue]:
    """All problems of one manifest that the schema does not catch (names, labels, quantities, ...)."""
    kind = str(obj.get("kind") or "?")
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    where = f"{kind}/{name}"
    found: list[tuple[str, str]] = []
    if kind in _LABEL_NAMED:
        found += [("metadata.name", p) for p in check_dns1123_label(name)]
    else:
        found += [("metadata.name", p) for p in check_dns1123_subdomain(name)]
    ns = meta.get("namespace")
    if kind in _CLUSTER_SCOPED and ns is not None:
        found.append(("metadata.namespace", f"{kind} is cluster-scoped and takes no namespace"))
    elif kind not in _CLUSTER_SCOPED and ns is not None:
        found += [("metadata.namespace", p) for p in check_dns1123_label(ns)]
    found += _check_metadata(meta, kind, "metadata")
    pod = _pod_spec(obj)
    if pod is not None:
        pod_path, pod_spec = pod
        tmpl_path = pod_path.removesuffix(".spec") + ".metadata"
        if pod_path != "spec":
            spec = obj.get("spec") or {}
            tmpl = spec.get("template") or ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
            found += _check_metadata((tmpl or {}).get("metadata") or {}, "Pod", tmpl_path)
        found += _check_containers(pod_path, pod_spec)
    found += _check_kind_specific(obj)
    return [Issue(where, path, message) for path, message in found]


def check_manifests(objs: Iterable[Mapping[str, Any]]) -> list[Issue]:
    """:func:`check_manifest` over several manifests, plus duplicate kind/namespace/name triples."""
    issues: list[Issue] = []
    seen: set[tuple[str, str, str]] = set()
    for obj in objs:
        issues += check_manifest(obj)
        meta = obj.get("metadata") or {}
        key = (str(obj.get("kind")), str(meta.get("namespace")), str(meta.get("name")))
        if key in seen:
            issues.append(Issue(f"{key[0]}/{key[2]}", "metadata.name", "duplicate object in the set"))
        seen.add(key)
    return issues
