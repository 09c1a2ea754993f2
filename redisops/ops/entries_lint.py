"""Catalogue entries that need no cluster: ``manifests.render``, ``lint.run`` and ``lint.rules``.

They read the target's config only (``target.config()``, moved to the target's namespace)::

    import redisops

    t = redisops.target(config="deploy.yaml", namespace="prod")
    docs = t.run("manifests.render", only=["Deployment"])   # RenderedManifests: .objects, .to_yaml()
    report = t.run("lint.run", workload="store")             # LintReport: findings, summary, exit_code
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from redisops.errors import InvalidArgument
from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation

if TYPE_CHECKING:
    from redisops.lint import Finding

__all__ = [
    "LintParams",
    "LintReport",
    "LintRules",
    "LintRulesParams",
    "ManifestsParams",
    "RenderedManifests",
    "register",
]


class ManifestsParams(BaseModel):
    """Parameters of ``manifests.render``."""

    model_config = ConfigDict(extra="forbid")

    only: list[str] = Field(
        default_factory=list, description="only objects of these kinds (e.g. Deployment) [default: all]"
    )
    restore_job: str | None = Field(None, description="render only a restore Job for this backup id")
    tool_image: str | None = Field(
        None, description="the redisops image of the backup/restore pods [default: the release's image]"
    )
    revision: str | None = Field(None, description="recorded as redisops.io/revision on every object")
    include_storage_class: bool = Field(True, description="include the cluster-scoped StorageClass")
    include_client_egress: bool = Field(True, description="include the clients' egress NetworkPolicy")

    @field_validator("restore_job")
    @classmethod
    def _backup_id(cls, value: str | None) -> str | None:
        from redisops.backup.layout import is_backup_id

        if value is not None and not is_backup_id(value):
            raise ValueError(
                f"{value!r} is not a backup id (YYYYMMDDTHHMMSSZ-hex, e.g. 20250101T000000Z-ab12)"
            )
        return value


class LintParams(BaseModel):
    """Parameters of ``lint.run``."""

    model_config = ConfigDict(extra="forbid")

    workload: Literal["cache", "store"] | None = Field(
        None, description="cache (losing keys is fine) or store [default: inferred from the config]"
    )
    strict: bool = Field(False, description="warnings count: exit code 20 when there are warnings")
    manifests_file: str | None = Field(
        None,
        description="lint the manifests in this YAML file (e.g. helm template output) instead of the "
        "ones redisops renders",
    )
    manifests_yaml: str | None = Field(
        None,
        description="lint these manifests, given as YAML text (multi-document, or a List), instead of "
        "the ones redisops renders (not with manifests_file)",
    )

    @model_validator(mode="after")
    def _one_source(self) -> LintParams:
        if self.manifests_file is not None and self.manifests_yaml is not None:
            raise ValueError("give the manifests either as manifests_file or as manifests_yaml, not both")
        return self


class LintRulesParams(BaseModel):
    """``lint.rules`` takes no parameters."""

    model_config = ConfigDict(extra="forbid")


# --- results ---


@dataclass
class RenderedManifests:
    """The Kubernetes objects of the config, in apply order."""

    objects: list[dict[str, Any]] = field(default_factory=list)

    def to_yaml(self) -> str:
        """A multi-document YAML stream (for ``kubectl apply -f -``)."""
        from redisops.k8s import to_yaml

        return to_yaml(self.objects)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: a Kubernetes ``List`` (``kubectl apply -f`` takes it as it is)."""
        return {"apiVersion": "v1", "kind": "List", "items": self.objects}


@dataclass
class LintRules:
    """The lint rules (id, severity, scope, title); details in docs/lint-rules.md."""

    rules: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"rules": [...]}``."""
        return {"rules": [dict(r) for r in self.rules]}


@dataclass
class LintReport:
    """Lint findings (errors first), counts per severity, and the exit code a front end uses."""

    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    exit_code: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what ``redisops lint -o json`` prints)."""
        return {
            "findings": [f.to_dict() for f in self.findings],
            "summary": dict(self.summary),
            "exit_code": self.exit_code,
        }


# --- pure ----------------------------------------------------------------------------------------------


def run_render(ctx: OpContext, p: ManifestsParams) -> RenderedManifests:
    """``manifests.render``: the objects of the target's config (or one restore Job)."""
    from redisops.k8s import DEFAULT_TOOL_IMAGE, RenderOptions, render_manifests, render_restore_job
    from redisops.k8s.common import APPLY_ORDER

    cfg = ctx.target.config()
    opts = RenderOptions(
        tool_image=p.tool_image or DEFAULT_TOOL_IMAGE,
        include_storage_class=p.include_storage_class,
        include_client_egress=p.include_client_egress,
    )
    if p.restore_job is not None:
        docs = [render_restore_job(cfg, p.restore_job, opts.tool_image, options=opts)]
    else:
        docs = render_manifests(cfg, revision=p.revision, options=opts)
    if p.only:
        known = {k.lower(): k for k in (*APPLY_ORDER, "Job")}
        wanted = {k.strip().lower() for item in p.only for k in item.split(",") if k.strip()}
        unknown = sorted(wanted - set(known))
        if unknown:
            raise InvalidArgument(
                f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(known.values())}",
                context={"only": p.only},
            )
        docs = [d for d in docs if str(d["kind"]).lower() in wanted]
    return RenderedManifests([dict(d) for d in docs])


def run_lint(ctx: OpContext, p: LintParams) -> LintReport:
    """``lint.run``: lint the target's config and its manifests."""
    from redisops.lint import LintOptions, exit_code, lint_config, summarize

    docs = None
    if p.manifests_file is not None:
        docs = _load_manifests(p.manifests_file)
    elif p.manifests_yaml is not None:
        docs = _parse_manifests(p.manifests_yaml, "the manifests given")
    findings = lint_config(ctx.target.config(), manifests=docs, options=LintOptions(workload=p.workload))
    return LintReport(findings, summarize(findings), exit_code(findings, strict=p.strict))


def run_rules(ctx: OpContext, p: LintRulesParams) -> LintRules:
    """``lint.rules``: every lint rule, in the order lint applies them."""
    from redisops.lint.rules import RULES

    rules = [{"id": r.id, "severity": r.severity, "scope": r.scope, "title": r.title} for r in RULES]
    return LintRules(rules)


def _load_manifests(path: str) -> list[dict[str, Any]]:
    from pathlib import Path

    from redisops.errors import ConfigError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read manifests from {path}: {e}", context={"file": path}) from e
    return _parse_manifests(text, path)


def _parse_manifests(text: str, path: str) -> list[dict[str, Any]]:
    """Kubernetes objects of a YAML stream (a ``List`` is unpacked)."""
    import yaml

    from redisops.errors import ConfigError

    try:
        raw = list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise ConfigError(f"cannot read manifests from {path}: {e}", context={"file": path}) from e
    docs: list[dict[str, Any]] = []
    for doc in raw:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            docs += [d for d in doc.get("items") or [] if isinstance(d, dict)]
        elif isinstance(doc, dict):
            docs.append(doc)
        elif doc is not None:
            raise ConfigError(f"{path}: every YAML document must be a Kubernetes object (a mapping)")
    return docs


def register(cat: Catalogue) -> None:
    """Add ``manifests.render``, ``lint.rules`` and ``lint.run``."""
    for op in (
        Operation(
            "manifests.render",
            "The Kubernetes objects for the config (or one restore Job).",
            Kind.read,
            ManifestsParams,
            run_render,
            result=RenderedManifests,
        ),
        Operation(
            "lint.rules",
            "The lint rules (id, severity, scope, title).",
            Kind.read,
            LintRulesParams,
            run_rules,
            result=LintRules,
        ),
        Operation(
            "lint.run",
            "Lint the config and its manifests against the rules of docs/lint-rules.md.",
            Kind.read,
            LintParams,
            run_lint,
            result=LintReport,
        ),
    ):
        cat.register(op)
