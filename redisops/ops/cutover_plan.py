"""The pure parts of the cutover: the AppConfig content with the new endpoint, the write-up's Terraform
change as a diff, who owns an object (Terraform tags, Helm labels), which egress rules reach ElastiCache,
and the patch that puts a NetworkPolicy back as it was.

    import json
    from redisops.ops.cutover_plan import endpoint_of, switch_content

    old = json.dumps({"redis": {"host": "es.example", "port": 6379, "default_ttl_seconds": 604800}})
    new = switch_content(old.encode(), "redis.llm-judge.svc.cluster.local", 6379)
    assert endpoint_of(new) == "redis.llm-judge.svc.cluster.local:6379"
    assert json.loads(new)["redis"]["default_ttl_seconds"] == 604800
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from redisops.errors import InvalidArgument

__all__ = [
    "HELM_MANAGED_LABEL",
    "HELM_RELEASE_ANNOTATION",
    "clean_object",
    "elasticache_rules",
    "endpoint_of",
    "hcl_diff",
    "helm_owner",
    "helm_values_change",
    "restore_patch",
    "sha256",
    "switch_content",
    "terraform_owner",
    "without_rules",
]

HELM_MANAGED_LABEL = "app.kubernetes.io/managed-by"
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"
#: the write-up's Terraform file holding the AppConfig content
MAIN_TF = "deploy/iac/terraform/appconfig/main.tf"


def sha256(content: bytes) -> str:
    """Hex SHA-256 of AppConfig content (what the record keeps instead of the content)."""
    return hashlib.sha256(content).hexdigest()


def _doc(content: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(content)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("redis"), dict):
        raise InvalidArgument(
            "the AppConfig content is not JSON with a 'redis' object (the write-up's shape: "
            '{"redis": {"host", "port", "default_ttl_seconds"}})',
            hint="check the profile with: aws appconfig get-hosted-configuration-version",
        )
    return doc


def endpoint_of(content: bytes) -> str | None:
    """``host:port`` named by the content's ``redis`` object (None when it names none)."""
    try:
        redis = _doc(content)["redis"]
    except InvalidArgument:
        return None
    if "host" not in redis:
        return None
    return f"{redis['host']}:{redis.get('port', 6379)}"


def switch_content(content: bytes, host: str, port: int) -> bytes:
    """The content with ``redis.host`` and ``redis.port`` set to the new endpoint, everything else kept."""
    doc = _doc(content)
    doc["redis"] = {**doc["redis"], "host": host, "port": port}
    return json.dumps(doc, indent=2).encode()


def hcl_diff(host: str, port: int, *, reverse: bool = False) -> str:
    """The write-up's change to ``appconfig/main.tf`` (the endpoint through Terraform) as a unified
    diff; ``reverse`` for the rollback."""
    old = ["  host = var.redis_endpoint", "  port = var.redis_port"]
    new = [f'  host = "{host}"', f"  port = {port}"]
    minus, plus = (new, old) if reverse else (old, new)
    lines = [
        f"--- a/{MAIN_TF}",
        f"+++ b/{MAIN_TF}",
        "@@ redis = { @@",
        " redis = {",
        *(f"-{x}" for x in minus),
        *(f"+{x}" for x in plus),
        "   default_ttl_seconds = var.appconfig_config.configuration_content.redis.default_ttl_seconds",
        " }",
    ]
    return "\n".join(lines) + "\n"


def terraform_owner(tags: Mapping[str, str]) -> str | None:
    """Why the tags say Terraform (or Terragrunt) manages the resource, or None."""
    for key, value in tags.items():
        k, v = key.lower(), str(value).lower()
        if "terraform" in k or "terragrunt" in k:
            return f"tag {key}={value}"
        if k.replace("_", "").replace("-", "").replace(":", "") in ("managedby", "manager", "createdby") and (
            "terraform" in v or "terragrunt" in v
        ):
            return f"tag {key}={value}"
    return None


def helm_owner(obj: Mapping[str, Any]) -> str | None:
    """The Helm release owning ``obj`` (its labels/annotations say so), else None."""
    meta = obj.get("metadata") or {}
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    if notes.get(HELM_RELEASE_ANNOTATION):
        return str(notes[HELM_RELEASE_ANNOTATION])
    if str(labels.get(HELM_MANAGED_LABEL, "")).lower() == "helm":
        return str(labels.get("app.kubernetes.io/instance") or "a Helm release")
    return None


def _ports(rule: Mapping[str, Any]) -> list[Any]:
    return [p.get("port") for p in rule.get("ports") or []]


def elasticache_rules(policy: Mapping[str, Any], port: int) -> list[int]:
    """Indexes of the egress rules that reach an IP block on ``port`` (the egress to ElastiCache, as in
    the write-up's ``ipBlock 10.0.0.0/16`` rule)."""
    spec = policy.get("spec") or {}
    if "Egress" not in (spec.get("policyTypes") or []):
        return []
    out = []
    for i, rule in enumerate(spec.get("egress") or []):
        blocks = [peer for peer in rule.get("to") or [] if "ipBlock" in peer]
        if blocks and (port in _ports(rule) or str(port) in [str(p) for p in _ports(rule)]):
            out.append(i)
    return out


def without_rules(policy: Mapping[str, Any], indexes: list[int]) -> list[dict[str, Any]]:
    """The policy's egress rules without those at ``indexes``."""
    rules = (policy.get("spec") or {}).get("egress") or []
    return [copy.deepcopy(r) for i, r in enumerate(rules) if i not in indexes]


_SERVER_META = ("name", "namespace", "labels", "annotations")


def clean_object(obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The object without server-filled metadata (uid, resourceVersion, managedFields, ...) or status."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    out: dict[str, Any] = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {k: copy.deepcopy(meta[k]) for k in _SERVER_META if k in meta},
    }
    if "spec" in obj:
        out["spec"] = copy.deepcopy(obj["spec"])
    return out


def restore_patch(current: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning ``current`` back into ``before`` (spec, labels and annotations; keys
    added since are nulled, lists replaced whole)."""

    def diff(now: Mapping[str, Any], was: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {k: None for k in now if k not in was}
        for k, v in was.items():
            if isinstance(v, Mapping) and isinstance(now.get(k), Mapping):
                out[k] = diff(now[k], v)
            else:
                out[k] = copy.deepcopy(v)
        return out

    meta_now, meta_was = current.get("metadata") or {}, before.get("metadata") or {}
    return {
        "metadata": {
            "labels": diff(meta_now.get("labels") or {}, meta_was.get("labels") or {}),
            "annotations": diff(meta_now.get("annotations") or {}, meta_was.get("annotations") or {}),
        },
        "spec": diff(current.get("spec") or {}, before.get("spec") or {}),
    }


def helm_values_change(
    release: str, name: str, removed: list[dict[str, Any]], selector: Mapping[str, str], port: int
) -> str:
    """The change to make in the Helm release's values instead (the write-up's redis-service-values)."""
    before = json.dumps(removed)
    after = json.dumps(
        [
            {
                "to": [{"podSelector": {"matchLabels": dict(selector)}}],
                "ports": [{"port": port, "protocol": "TCP"}],
            }
        ]
    )
    return (
        f"NetworkPolicy {name} belongs to Helm release {release}: in its values replace the egress "
        f"rule(s) {before} with {after}, then helm upgrade {release}"
    )
