"""Examples in the docs run: README's Python blocks execute, every YAML config example validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from redisops.config import DeploymentConfig, config_from_mapping

ROOT = Path(__file__).resolve().parents[2]


def _blocks(path: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(), flags=re.S)


def test_readme_python_examples_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    blocks = _blocks(ROOT / "README.md", "python")
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


@pytest.mark.parametrize("block", _blocks(ROOT / "docs" / "config.md", "yaml"))
def test_config_doc_examples_validate(block):
    cfg = config_from_mapping(yaml.safe_load(block) or {}, source="docs/config.md")
    assert isinstance(cfg, DeploymentConfig)


def test_config_doc_lists_the_current_defaults():
    first = _blocks(ROOT / "docs" / "config.md", "yaml")[0]
    assert yaml.safe_load(first) == DeploymentConfig().model_dump(mode="json"), (
        "docs/config.md is stale: regenerate its defaults block from DeploymentConfig().model_dump()"
    )


@pytest.mark.parametrize("doc", sorted((ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_docs_python_examples_run(doc, monkeypatch):
    monkeypatch.chdir(ROOT)
    for code in _blocks(doc, "python"):
        exec(compile(code, str(doc), "exec"), {})


def test_errors_doc_lists_every_exit_code_once():
    from redisops.errors import ExitCode

    text = (ROOT / "docs" / "errors.md").read_text()
    rows = re.findall(r"^\| (\d+)(?:–(\d+))? \|", text, flags=re.M)
    documented: list[int] = []
    for first, last in rows:
        documented.extend(range(int(first), int(last or first) + 1))
    assert len(documented) == len(set(documented)), "a code has two rows"
    assert set(documented) == {int(c) for c in ExitCode}


def test_operations_reference_is_current():
    from redisops.ops.reference import render_reference
    from redisops.ops.registry import catalogue

    current = (ROOT / "docs" / "operations.md").read_text()
    assert current == render_reference(catalogue()), (
        "docs/operations.md is stale: regenerate it with `redisops ops doc > docs/operations.md`"
    )


def test_backup_layout_manifest_example_parses():
    from redisops.backup.manifest import Manifest

    blocks = _blocks(ROOT / "docs/backup-layout.md", "json")
    manifests = [b for b in blocks if "redisops-backup-manifest" in b]
    assert manifests, "docs/backup-layout.md shows a manifest"
    for block in manifests:
        m = Manifest.from_json(block)
        assert m.objects and all(o.sha256 for o in m.objects)
