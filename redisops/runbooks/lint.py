"""``redisops runbook lint``: what would make a runbook fail or surprise at 3 a.m., found before it runs.

Errors: the document does not parse (with its line), two steps declare the same name, an ``undo`` or a
``requires`` names no step, a variable is used but not declared, a destructive step cannot be
confirmed (``confirm=false`` or no name of its own to ``--approve``), an operation or its arguments are
invalid. Warnings: a step without a name of its own, operation steps without a declared target, a
``background`` cell with an ``expect`` (never checked: the run does not wait for it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from redisops.runbooks.conditions import Condition, ConditionSyntaxError
from redisops.runbooks.errors import RunbookError
from redisops.runbooks.model import Runbook, StepKind
from redisops.runbooks.parse import parse_runbook, variable_refs

__all__ = ["LintFinding", "lint_file", "lint_runbook", "lint_text"]


@dataclasses.dataclass(frozen=True)
class LintFinding:
    """One problem: ``error`` or ``warning``, where (line, step) and what."""

    severity: str
    line: int
    message: str
    step: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dataclasses.asdict(self)


def _condition_vars(text: str | None) -> set[str]:
    if not text:
        return set()
    try:
        cond = Condition.parse(text)
    except ConditionSyntaxError:
        return set()
    return _vars_of(cond.tree)


def _vars_of(node: Any) -> set[str]:
    if not isinstance(node, tuple) or not node:
        return set()
    if node[0] == "name":
        path = node[1]
        return {str(path[1])} if path[0] == "vars" and len(path) > 1 else set()
    out: set[str] = set()
    for part in node[1:]:
        if isinstance(part, tuple):
            out |= _vars_of(part)
        elif isinstance(part, list):
            for item in part:
                out |= _vars_of(item)
    return out


def lint_runbook(rb: Runbook) -> list[LintFinding]:
    """The findings for a parsed runbook, by line."""
    out: list[LintFinding] = []
    names = {s.name for s in rb.steps}
    declared_names: dict[str, int] = {}
    for cell in rb.cells:
        if cell.named:
            given = cell.attrs.get("name", "")
            if given in declared_names:
                out.append(
                    LintFinding(
                        "error",
                        cell.line,
                        f"the name {given} is also used at line "
                        f"{declared_names[given]} (Runme renames this one {cell.name})",
                        cell.name,
                    )
                )
            declared_names.setdefault(given, cell.line)
    declared_vars = {v.name for v in rb.front.variables}
    decl = rb.front.target
    for var in sorted(variable_refs([decl.context, decl.namespace, decl.kubeconfig]) - declared_vars):
        out.append(LintFinding("error", 1, f"the target uses variable {var}, not declared as a variable"))
    has_ops = False
    for s in rb.steps:
        has_ops = has_ops or s.op is not None
        if not s.cell.named:
            sev = "error" if s.kind is StepKind.destructive else "warning"
            out.append(
                LintFinding(
                    sev, s.line, f'step {s.name} has no name of its own (add {{"name":"..."}})', s.name
                )
            )
        if s.undo and s.undo not in names:
            out.append(
                LintFinding("error", s.line, f"step {s.name}: undo step {s.undo} does not exist", s.name)
            )
        if s.undo == s.name:
            out.append(LintFinding("error", s.line, f"step {s.name} cannot undo itself", s.name))
        for req in s.requires:
            if ":" not in req and req not in names:
                out.append(
                    LintFinding(
                        "error", s.line, f"step {s.name} requires step {req}, which does not exist", s.name
                    )
                )
        used = variable_refs(dict(s.args)) | _condition_vars(s.skip_if)
        used |= _condition_vars(s.expect.condition.text if s.expect.condition else None)
        for var in sorted(used - declared_vars):
            out.append(
                LintFinding(
                    "error",
                    s.line,
                    f"step {s.name} uses variable {var}, not declared in the frontmatter",
                    s.name,
                )
            )
        if s.background and (s.cell.attrs.get("expect") or s.expect.condition is not None):
            out.append(
                LintFinding(
                    "warning",
                    s.line,
                    f"step {s.name} runs in the background: its expect is never checked (the run does "
                    "not wait for it; check what it provides in the next step)",
                    s.name,
                )
            )
        if s.background and not s.is_shell:
            out.append(
                LintFinding(
                    "warning", s.line, f"step {s.name}: background applies to shell cells only", s.name
                )
            )
        if s.kind is StepKind.destructive and s.confirm is False:
            out.append(
                LintFinding(
                    "error", s.line, f"step {s.name} is destructive and cannot be confirm=false", s.name
                )
            )
    if has_ops and rb.front.target.kind == "none":
        out.append(
            LintFinding(
                "warning",
                1,
                "operation steps but no target in the frontmatter (target: sandbox, or {context, namespace})",
            )
        )
    return sorted(out, key=lambda f: (f.line, f.severity))


def lint_text(text: str, path: Path | None = None) -> list[LintFinding]:
    """Parse and lint ``text``; a parse error is one finding with its line."""
    try:
        rb = parse_runbook(text, path=path)
    except RunbookError as e:
        return [LintFinding("error", e.line, e.message, e.step)]
    return lint_runbook(rb)


def lint_file(path: str | Path) -> list[LintFinding]:
    """Lint the runbook at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return [LintFinding("error", 0, f"cannot read {p}: {e.strerror}")]
    return lint_text(text, p)
