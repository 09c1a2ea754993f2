"""Issue 13 item 9: what the CLI needs it reaches through the operations API. The config commands are
catalogue operations (``config.show|validate|render``); the result types and display helpers the CLI
renders are re-exported by ``redisops.ops.api_*`` (loaded on first use); the sandbox and the audit trail
have facades like the other areas."""

from __future__ import annotations

from pathlib import Path

import pytest

from redisops.errors import ConfigError, NotFoundError
from redisops.ops.api_audit import AuditAPI
from redisops.ops.api_sandbox import SandboxAPI
from redisops.ops.registry import catalogue
from redisops.ops.target import resolve_target

FIXTURE = Path(__file__).parent.parent / "fixtures" / "config" / "configuration.hcl"


def test_config_operations_read_a_file_without_a_target(tmp_path: Path) -> None:
    cat = catalogue()
    assert all(cat.get(f"config.{verb}").kind == "read" for verb in ("show", "validate", "render"))
    shown = cat.invoke("config.show", {"file": str(FIXTURE)}, target=None)
    assert shown.to_dict()["image"] == "redis:7.1-alpine"
    conf = cat.invoke("config.render", {"file": str(FIXTURE)}, target=None)
    assert "appendonly yes" in conf.redis_conf and conf.to_dict()["file"] == str(FIXTURE)
    assert cat.invoke("config.validate", {}, target=None).to_dict() == {"valid": True, "file": None}
    bad = tmp_path / "bad.yaml"
    bad.write_text("port: 0\n")
    with pytest.raises(ConfigError) as e:
        cat.invoke("config.validate", {"file": str(bad)}, target=None)
    assert e.value.exit_code == 3 and "port" in e.value.message


def test_api_modules_re_export_what_front_ends_render(tmp_path: Path) -> None:
    from redisops.lint import summarize as lint_summarize
    from redisops.ops import api_audit, api_deploy, api_inspect, api_sandbox
    from redisops.ops.deploy import DeployResult
    from redisops.ops.entries_audit import AuditList
    from redisops.ops.entries_watch import Item
    from redisops.ops.rehearsal import RehearsalReport

    assert api_deploy.DeployResult is DeployResult and api_deploy.summarize is lint_summarize
    assert api_inspect.Item is Item and api_audit.AuditList is AuditList
    assert api_sandbox.RehearsalReport is RehearsalReport
    for module in (api_audit, api_deploy, api_inspect, api_sandbox):
        assert all(getattr(module, name) is not None for name in module.__all__), module.__name__
    with pytest.raises(AttributeError):
        _ = api_deploy.NoSuchThing

    t = resolve_target(state_dir=tmp_path / "no-sandbox", env={})
    assert AuditAPI(t).list().records == []  # this test's own (empty) audit log
    with pytest.raises(NotFoundError, match="sandbox is not running"):
        SandboxAPI(t).status()
    assert SandboxAPI(t).plan_up().steps[0].startswith("start ")
