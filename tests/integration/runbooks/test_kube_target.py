"""A runbook whose target is a kube context + namespace, against the Kubernetes API emulator: operation
steps act there, shell steps get the context, and a step is refused once the current context moved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from redisops.runbooks import Executor, parse_runbook

pytestmark = pytest.mark.slow

F = "```"


def test_kube_target_runs_operations_and_is_checked_before_every_step(kube: Any, tmp_path: Path) -> None:
    doc = f"""---
target: {{context: emu, namespace: llm-judge, kubeconfig: "{kube.kubeconfig_path}"}}
---
{F}redisops {{"name":"history"}}
op: deploy.history
args: {{}}
expect: result.namespace == "llm-judge"
{F}

{F}sh {{"name":"where","kind":"read","expect":"stdout contains 'emu llm-judge'"}}
echo "$REDISOPS_CONTEXT $REDISOPS_NAMESPACE"
sed -i 's/^current-context: .*/current-context: somewhere-else/' "$KUBECONFIG"
{F}

{F}sh {{"name":"after","kind":"read"}}
touch "{tmp_path}/after-ran"
{F}
"""
    result = Executor(parse_runbook(doc), runs_dir_path=tmp_path / "runs").run()
    assert [(s.name, s.status) for s in result.steps] == [
        ("history", "ok"),
        ("where", "ok"),
        ("after", "failed"),
    ]
    assert result.exit_code == 32
    assert "current kube context is somewhere-else, not the runbook's emu" in result.error["message"]  # type: ignore[index]
    assert not (tmp_path / "after-ran").exists()
