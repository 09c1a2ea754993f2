"""Lint a Redis deployment: rules as data over the typed config and the manifest set (pure)."""

from redisops.lint.engine import Finding, exit_code, lint_config, summarize
from redisops.lint.rules import RULES, LintOptions, Rule, rules_by_id, rules_markdown

__all__ = [
    "RULES",
    "Finding",
    "LintOptions",
    "Rule",
    "exit_code",
    "lint_config",
    "rules_by_id",
    "rules_markdown",
    "summarize",
]
