"""Run the lint rules over a config (and a manifest set) and collect findings.

``lint_config`` never raises for a finding; it raises :class:`~redisops.errors.ConfigError` only
when the manifests cannot be rendered from the config at all. Exit codes (:func:`exit_code`, the
checks' codes of :class:`redisops.errors.ExitCode`): 0 = no errors (warnings and info do not fail),
21 = at least one error, 20 = with ``strict``, warnings but no error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from redisops.config.model import DeploymentConfig
from redisops.errors import ExitCode
from redisops.lint.rules import RULES, LintContext, LintOptions, Rule, Severity

__all__ = ["SEVERITY_ORDER", "Finding", "exit_code", "lint_config", "summarize"]

SEVERITY_ORDER: dict[Severity, int] = {"error": 0, "warn": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    """One rule firing at one place."""

    rule_id: str
    severity: Severity
    title: str
    path: str
    message: str
    rationale: str
    fix: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def lint_config(
    cfg: DeploymentConfig,
    *,
    manifests: Sequence[Mapping[str, Any]] | None = None,
    options: LintOptions | None = None,
    rules: Iterable[Rule] = RULES,
) -> list[Finding]:
    """Lint ``cfg``; manifest rules run over ``manifests`` (default: what redisops renders from ``cfg``).

    Pass the output of ``helm template`` (parsed) as ``manifests`` to lint a chart instead. Findings
    are sorted by severity (errors first), then rule order.

    Example::

        findings = lint_config(load_hcl("configuration.hcl"))
        assert exit_code(findings) == 21  # redis:7.1-alpine was never released
    """
    if manifests is None:
        from redisops.k8s.manifests import render_manifests

        manifests = render_manifests(cfg)
    ctx = LintContext(cfg=cfg, manifests=list(manifests), options=options or LintOptions())
    found: list[tuple[int, int, Finding]] = []
    for order, rule in enumerate(rules):
        for hit in rule.check(ctx):
            sev = hit.severity or rule.severity
            finding = Finding(rule.id, sev, rule.title, hit.path, hit.message, rule.rationale, rule.fix)
            found.append((SEVERITY_ORDER[sev], order, finding))
    found.sort(key=lambda t: (t[0], t[1]))
    return [f for _, _, f in found]


def summarize(findings: Iterable[Finding]) -> dict[str, int]:
    """Counts per severity: ``{"error": n, "warn": n, "info": n}``."""
    counts = {"error": 0, "warn": 0, "info": 0}
    for f in findings:
        counts[f.severity] += 1
    return counts


def exit_code(findings: Iterable[Finding], *, strict: bool = False) -> int:
    """0 when nothing fails, 21 (ExitCode.CHECK_CRITICAL) when an error is found; with ``strict``,
    20 (ExitCode.CHECK_WARNING) when the worst finding is a warning."""
    severities = {f.severity for f in findings}
    if "error" in severities:
        return int(ExitCode.CHECK_CRITICAL)
    if strict and "warn" in severities:
        return int(ExitCode.CHECK_WARNING)
    return 0
