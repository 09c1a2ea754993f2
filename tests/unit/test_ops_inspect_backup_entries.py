"""The inspection and backup entries without servers: module examples, the parameter models' bounds are
the CLI options' bounds (one validation for every front end), and the facades' signatures."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import typer

from redisops.cli.main import app
from redisops.errors import InvalidArgument
from redisops.ops import entries_backup, entries_inspect
from redisops.ops.api_backup import BackupAPI
from redisops.ops.api_inspect import InspectAPI
from redisops.ops.catalogue import Catalogue, Kind
from tests.unit.test_events_cancel import _docstring_example


@pytest.mark.parametrize("module", [entries_inspect, entries_backup], ids=lambda m: m.__name__)
def test_module_examples_run(module: Any) -> None:
    exec(compile(_docstring_example(module), module.__name__, "exec"), {})


def _catalogue() -> Catalogue:
    cat = Catalogue()
    entries_inspect.register(cat)
    entries_backup.register(cat)
    return cat


def _cli_bounds(*path: str) -> dict[str, tuple[Any, Any]]:
    cmd: Any = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return {p.name: (getattr(p, "min", None), getattr(p, "max", None)) for p in cmd.params}


def _op_bounds(cat: Catalogue, op: str) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    for field, spec in cat.get(op).schema()["properties"].items():
        variants = spec.get("anyOf", [spec])
        lo = next((v.get("minimum", v.get("exclusiveMinimum")) for v in variants if "type" in v), None)
        hi = next((v.get("maximum") for v in variants if "type" in v), None)
        out[field] = (lo, hi)
    return out


# (CLI command path, catalogue op, {CLI parameter: model field})
SAME_BOUNDS = [
    (("keys",), "keys.analyze", {"top": "top", "prefix_depth": "prefix_depth", "prefixes": "prefixes",
                                 "scan_count": "scan_count", "max_ops": "max_ops", "cursor": "cursor",
                                 "max_keys": "max_keys"}),
    (("slowlog",), "slowlog.get", {"n": "count"}),
    (("latency",), "latency.report", {"pings": "pings"}),
    (("backup", "gc"), "backup.gc", {"grace_hours": "grace_hours"}),
    (("backup", "prune"), "backup.prune", {"keep_last": "keep_last", "daily": "daily", "weekly": "weekly",
                                           "monthly": "monthly"}),
    (("backup", "schedule"), "backup.schedule", {"every": "every", "count": "count"}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "op", "fields"), SAME_BOUNDS, ids=[s[1] for s in SAME_BOUNDS])
def test_parameter_bounds_are_the_cli_options_bounds(
    path: tuple[str, ...], op: str, fields: dict[str, str]
) -> None:
    cli, model = _cli_bounds(*path), _op_bounds(_catalogue(), op)
    for cli_name, field in fields.items():
        assert cli[cli_name] == model[field], (op, field, cli[cli_name], model[field])


def test_sample_is_a_share_and_unknown_fields_are_refused() -> None:
    keys = _catalogue().get("keys.analyze")
    assert keys.parse({"sample": 1}).sample == 1
    for bad in ({"sample": 0}, {"sample": 1.01}, {"cursor": 2**64}, {"surprise": True}):
        with pytest.raises(InvalidArgument):
            keys.parse(bad)


def test_every_mutating_or_destructive_backup_op_plans() -> None:
    for op in _catalogue():
        assert (op.plan is None) == (op.kind is Kind.read), op.name


def test_facade_methods_are_typed_take_on_event_and_cancel_and_confirm_where_destructive() -> None:
    cat = _catalogue()
    for api, prefix, methods in (
        (InspectAPI, "", ("health", "info", "slowlog", "latency", "memory", "keys", "clients")),
        (BackupAPI, "backup.", ("create", "list", "describe", "verify", "drill", "unlock", "delete", "gc",
                                "prune", "schedule")),
    ):  # fmt: skip
        for name in methods:
            fn = getattr(api, name)
            sig = inspect.signature(fn)
            assert fn.__doc__ and sig.return_annotation is not inspect.Signature.empty, name
            assert {"on_event", "cancel"} <= set(sig.parameters), name
            if prefix:
                destructive = cat.get(prefix + name).kind is Kind.destructive
                assert ("confirm" in sig.parameters) == destructive, name
    assert "op_name" in inspect.signature(BackupAPI.plan).parameters
