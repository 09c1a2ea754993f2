"""The restore, Kubernetes and sandbox entries without servers: kinds, documented parameter schemas,
validation, where a restore goes, and read-only targets refusing changes before touching anything."""

from __future__ import annotations

from pathlib import Path

import pytest

import redisops.ops.entries_util as entries_util
from redisops.errors import AbortedError, InvalidArgument
from redisops.ops.registry import catalogue
from redisops.ops.target import resolve_target
from tests.unit.test_events_cancel import _docstring_example

KINDS = {
    "restore.apply": "destructive",
    "restore.undo": "destructive",
    "deploy.apply": "mutate",
    "deploy.rollback": "mutate",
    "deploy.restart": "mutate",
    "deploy.history": "read",
    "deploy.verify_clients": "read",
    "manifests.render": "read",
    "lint.run": "read",
    "sandbox.status": "read",
    "sandbox.up": "mutate",
    "sandbox.down": "mutate",
    "rehearsal.run": "mutate",
}


def test_the_entries_exist_with_their_kinds_and_plans() -> None:
    cat = catalogue()
    for name, kind in KINDS.items():
        op = cat.get(name)
        assert str(op.kind) == kind, name
        assert (op.plan is not None) == (kind != "read"), name
        assert op.summary.endswith("."), name


def test_every_parameter_is_documented_and_unknown_ones_are_refused() -> None:
    cat = catalogue()
    for name in KINDS:
        schema = cat.get(name).schema()
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"
        assert schema.get("additionalProperties") is False, name
    t = resolve_target(url="redis://127.0.0.1:1/0", env={})
    with pytest.raises(InvalidArgument) as exc:
        t.plan("restore.apply", backup_id="latest", surprise=1)
    assert "surprise" in exc.value.message
    with pytest.raises(InvalidArgument) as exc:
        t.plan("deploy.restart", timeout=0)
    assert "timeout" in exc.value.message


def test_a_restore_needs_to_know_where_redis_runs() -> None:
    t = resolve_target(url="redis://127.0.0.1:1/0", env={})
    with pytest.raises(InvalidArgument) as exc:
        t.plan("restore.apply", backup_id="latest")
    assert "is not the sandbox" in exc.value.message and "kubeconfig or context" in exc.value.message
    with pytest.raises(InvalidArgument):
        t.plan("restore.undo")


def test_a_production_target_refuses_every_change_before_touching_anything(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "targets:\n  prod:\n    url: redis://127.0.0.1:1/0\n    context: nowhere\n"
        f"    kubeconfig: {tmp_path / 'missing-kubeconfig'}\n    production: true\n"
    )
    prod = resolve_target("prod", targets_file=targets, env={})
    for name, kind in KINDS.items():
        if kind == "read":
            continue
        with pytest.raises(AbortedError) as exc:
            prod.run(name, confirm=True)
        assert "prod" in exc.value.message, name


def test_progress_adapters_example_runs() -> None:
    exec(compile(_docstring_example(entries_util), "entries_util", "exec"), {})
