"""Runbook lint, masking, the shell runner and the target check (no sandbox needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redisops.cancel import CancelToken
from redisops.runbooks import Executor, lint_text, parse_runbook
from redisops.runbooks.masking import Masker
from redisops.runbooks.model import TargetDecl
from redisops.runbooks.shell import run_shell
from redisops.runbooks.targets import TargetBinding

F = "```"


def test_lint_finds_what_would_fail_at_run_time() -> None:
    doc = f"""---
variables:
  known: 1
---
# L

{F}sh {{"name":"a","undo":"nope","requires":"ghost, bin:ls"}}
true
{F}

{F}sh {{"name":"a"}}
true
{F}

{F}sh {{"kind":"destructive","confirm":"false"}}
rm x
{F}

{F}redisops {{"name":"op","skip_if":"vars.unknown == 1"}}
op: backup.create
args: {{notes: "${{missing}} ${{known}}"}}
{F}

{F}sh
echo unnamed
{F}
"""
    got = sorted((f.line, f.severity, f.message) for f in lint_text(doc))
    assert got == [
        (
            1,
            "warning",
            "operation steps but no target in the frontmatter (target: sandbox, or {context, namespace})",
        ),
        (7, "error", "step a requires step ghost, which does not exist"),
        (7, "error", "step a: undo step nope does not exist"),
        (11, "error", "the name a is also used at line 7 (Runme renames this one a-2)"),
        (15, "error", 'step rm-x has no name of its own (add {"name":"..."})'),
        (15, "error", "step rm-x is destructive and cannot be confirm=false"),
        (19, "error", "step op uses variable missing, not declared in the frontmatter"),
        (19, "error", "step op uses variable unknown, not declared in the frontmatter"),
        (24, "warning", 'step echo-unnamed has no name of its own (add {"name":"..."})'),
    ]
    assert [(f.line, f.severity) for f in lint_text(f"# x\n\n{F}redisops\nop: nope.x\n{F}\n")] == [
        (3, "error")
    ]


def test_masker_masks_longest_first_and_skips_tiny_values() -> None:
    m = Masker.from_env(["MINE"], {"MINE": "abcdef", "REDIS_PASSWORD": "abcdefgh", "AWS_SESSION_TOKEN": "xy"})
    assert m.mask("abcdefgh abcdef xy") == "*** *** xy"
    assert m.mask_data({"abcdef": ["abcdefgh", 3, None]}) == {"***": ["***", 3, None]}


def test_shell_runs_strict_and_reads_back_exports(tmp_path: Path) -> None:
    ok = run_shell("export A=1\nB=2\necho out; echo err >&2", env={"PATH": "/usr/bin:/bin"})
    assert (ok.exit_code, ok.stdout, ok.stderr) == (0, "out\n", "err\n")
    assert ok.env is not None and ok.env["A"] == "1" and "B" not in ok.env
    failed = run_shell("false | true\necho not reached", env={"PATH": "/usr/bin:/bin"})
    assert (failed.exit_code, failed.stdout, failed.env) == (1, "", None)  # pipefail and -e, as Runme


def test_shell_cancel_kills_the_process_group(tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel("stop")
    out = run_shell(f"sleep 30 & echo $! > {tmp_path}/pid; wait", env={"PATH": "/usr/bin:/bin"}, cancel=token)
    assert out.cancelled and not out.timed_out and out.exit_code < 0


def test_kube_target_is_checked_against_the_current_context(tmp_path: Path) -> None:
    cfg = tmp_path / "kubeconfig"
    data = {"contexts": [{"name": "emu"}, {"name": "prod"}], "current-context": "prod"}
    cfg.write_text(json.dumps(data))
    b = TargetBinding(TargetDecl("kube", "emu", "llm-judge", str(cfg)), {})
    assert "current kube context is prod, not the runbook's emu" in (b.check() or "")
    cfg.write_text(json.dumps({**data, "current-context": "emu"}))
    assert b.check() is None
    assert b.env() == {"KUBECONFIG": str(cfg), "REDISOPS_CONTEXT": "emu", "REDISOPS_NAMESPACE": "llm-judge"}
    missing = TargetBinding(TargetDecl("kube", "other", "ns", str(cfg)), {})
    assert "has no context other" in (missing.check() or "")


def test_a_kube_runbook_stops_before_a_step_when_the_context_is_wrong(tmp_path: Path) -> None:
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(json.dumps({"contexts": [{"name": "emu"}], "current-context": "elsewhere"}))
    doc = (
        f'---\ntarget: {{context: emu, namespace: ns, kubeconfig: "{cfg}"}}\n---\n'
        f'{F}sh {{"name":"k","kind":"read"}}\ntouch {tmp_path}/ran\n{F}\n'
    )
    result = Executor(parse_runbook(doc), runs_dir_path=tmp_path / "runs").run()
    assert result.exit_code == 32 and not (tmp_path / "ran").exists()


@pytest.mark.parametrize(("given", "code"), [({"n": "x"}, 2), ({"nope": "1"}, 2)])
def test_bad_variables_are_usage_errors(given: dict[str, str], code: int, tmp_path: Path) -> None:
    from redisops.errors import RedisOpsError

    rb = parse_runbook("---\nvariables:\n  n: 1\n---\n# v\n")
    with pytest.raises(RedisOpsError) as e:
        Executor(rb, variables=given, runs_dir_path=tmp_path)
    assert e.value.exit_code == code
