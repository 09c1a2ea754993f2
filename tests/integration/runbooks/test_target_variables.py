"""A runbook's kube target may name its context and namespace through variables (the operator says which
cluster with ``-v context=NAME``); lint finds an undeclared one; a step that skip_if skips needs no
approval, so a destructive remedy that does not fit the cause never stops the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from redisops.runbooks import Executor, PreconditionFailed, lint_text, parse_runbook

F = "```"

BOOK = f"""---
target: {{context: "${{context}}", namespace: "${{namespace}}", kubeconfig: "${{kubeconfig}}"}}
variables:
  context: {{type: str, description: the cluster}}
  namespace: {{default: llm-judge}}
  kubeconfig: {{default: ""}}
  cause: {{default: none}}
---
{F}sh {{"name":"where","kind":"read","expect":"stdout contains 'emu llm-judge'"}}
echo "$REDISOPS_CONTEXT $REDISOPS_NAMESPACE"
{F}

{F}sh {{"name":"wipe","kind":"destructive","skip_if":"vars.cause != 'disk-full'"}}
touch "$RUNBOOK_DIR/wiped"
{F}
"""


@pytest.mark.slow
def test_the_target_takes_its_context_from_a_variable(kube: Any, tmp_path: Path) -> None:
    path = tmp_path / "book.md"
    path.write_text(BOOK)
    from redisops.runbooks import read_runbook

    rb = read_runbook(path)
    with pytest.raises(PreconditionFailed, match="variable context has no default"):
        Executor(rb)
    given = {"context": "emu", "kubeconfig": str(kube.kubeconfig_path)}
    result = Executor(rb, variables=given, runs_dir_path=tmp_path / "runs").run()
    assert (result.exit_code, [s.status for s in result.steps]) == (0, ["ok", "skipped"]), result.error
    assert not (tmp_path / "wiped").exists()  # skipped: never asked for its approval
    wrong = Executor(rb, variables={**given, "context": "prod"}, runs_dir_path=tmp_path / "runs").run()
    assert wrong.exit_code == 32 and "has no context prod" in wrong.error["message"]  # type: ignore[index]
    fits = Executor(rb, variables={**given, "cause": "disk-full"}, runs_dir_path=tmp_path / "runs").run()
    assert (fits.exit_code, fits.steps[-1].status) == (33, "declined")  # now it applies: approval by name
    assert fits.error is not None and "--approve wipe" in fits.error["hint"]


def test_lint_finds_an_undeclared_target_variable() -> None:
    assert lint_text(BOOK) == []
    findings = lint_text(BOOK.replace("  context: {type: str, description: the cluster}\n", ""))
    assert [f.message for f in findings] == ["the target uses variable context, not declared as a variable"]
    assert parse_runbook(BOOK).front.target.context == "${context}"


#: written by the migration work (issue 14): their own tests hold them to their own rules
MIGRATION_BOOKS = {"migrate-elasticache-to-k8s", "rollback-to-elasticache", "decommission-elasticache"}


def test_every_step_of_the_shipped_runbooks_says_what_it_does() -> None:
    from redisops.runbooks import read_runbook

    books = Path(__file__).resolve().parents[3] / "runbooks"
    missing = [
        f"{p.name}:{s.line} {s.name}"
        for p in sorted(books.glob("*.md"))
        if p.stem not in MIGRATION_BOOKS
        for s in read_runbook(p).steps
        if not s.cell.description
    ]
    assert missing == []
