"""``MigrateAPI``'s typed methods take their parameters from the operations' pydantic models: every
keyword a method names is a field of its operation's model with the model's default (the model is the
one list; a renamed or re-defaulted field fails here), and each keyword reaches the operation (a bad
value is refused naming that field, before anything is connected)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from redisops.errors import InvalidArgument
from redisops.ops.api_migrate import MigrateAPI
from redisops.ops.entries_migrate import MigratePlanParams, MigrateVerifyParams
from redisops.ops.entries_migrate_copy import MigrateCopyParams
from redisops.ops.target import resolve_target

METHODS: list[tuple[str, type[BaseModel]]] = [
    ("plan", MigratePlanParams),
    ("verify", MigrateVerifyParams),
    ("copy", MigrateCopyParams),
]
NOT_PARAMETERS = {"self", "on_event", "cancel", "options"}


@pytest.mark.parametrize(("method", "model"), METHODS)
def test_each_keyword_is_a_field_of_the_model_with_its_default(method: str, model: type[BaseModel]) -> None:
    sig = inspect.signature(getattr(MigrateAPI, method))
    named = {n: p for n, p in sig.parameters.items() if n not in NOT_PARAMETERS}
    assert named and set(named) <= set(model.model_fields), set(named) - set(model.model_fields)
    for name, param in named.items():
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert param.annotation is not inspect.Parameter.empty, name
        assert param.default == model.model_fields[name].get_default(call_default_factory=True), name
    # the source's connection fields every migrate.* method takes
    assert {"source_url", "source_user", "source_password_file", "source_tls_ca"} <= set(named)


@pytest.fixture
def api(tmp_path: Path) -> MigrateAPI:
    """Into a target nobody listens on: a refused parameter never gets as far as connecting."""
    return MigrateAPI(resolve_target(url="redis://127.0.0.1:1", state_dir=tmp_path, env={}))


@pytest.mark.parametrize(
    ("method", "bad", "field"),
    [
        ("plan", {"sample": -1}, "sample"),
        ("plan", {"big_key_scan_limit": -5}, "big_key_scan_limit"),
        ("verify", {"rounds": 0}, "rounds"),
        ("verify", {"ttl_tolerance_ms": -1}, "ttl_tolerance_ms"),
        ("copy", {"ops_per_second": -1.0}, "ops_per_second"),
        ("copy", {"follow_seconds": -3.0}, "follow_seconds"),
        ("copy", {"batch_size": 0}, "batch_size"),  # through **options
        ("copy", {"no_such_option": 1}, "no_such_option"),
    ],
)
def test_each_keyword_reaches_the_operation(
    api: MigrateAPI, method: str, bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        getattr(api, method)(**bad)
    assert field in str(refused.value)
