"""The public surface of ``redisops`` is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import inspect

import redisops
import redisops.errors

PINNED = {
    "AbortedError", "AuthError", "CompareResult", "ConfigError", "ConflictError", "ConnectionFailed",
    "DatasetSpec", "DependencyMissing", "DeploymentConfig", "NotFoundError", "OperationTimeout",
    "ParseError", "PlatformError", "RedisEndpoint", "RedisOpsError", "RehearsalReport", "SandboxState",
    "StorageError", "Target", "TargetSpec", "VerificationError", "__version__", "compare_datasets",
    "config_checksum",
    "config_from_mapping", "connect", "load_config", "load_hcl", "load_state", "load_targets",
    "load_yaml", "populate", "rehearse", "render_redis_conf", "resolve_target", "sandbox_down",
    "sandbox_status", "sandbox_up", "target",
}  # fmt: skip


def test_all_is_pinned():
    assert set(redisops.__all__) == PINNED


def test_every_public_name_resolves_and_is_documented():
    for name in redisops.__all__:
        obj = getattr(redisops, name)
        if name == "__version__":
            continue
        assert inspect.getdoc(obj), f"{name} has no docstring"
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, f"{name} lacks a return type"
            for p in sig.parameters.values():
                assert p.annotation is not inspect.Parameter.empty, f"{name}({p.name}) lacks a type"


def test_one_error_hierarchy():
    errors = [getattr(redisops.errors, n) for n in redisops.errors.__all__ if n != "ExitCode"]
    assert all(issubclass(e, redisops.RedisOpsError) for e in errors)
    codes = [e.exit_code for e in errors]
    assert len(codes) == len(set(codes)), "exit codes must be distinct"
    # every class's code is one of the documented codes, under the name that means it
    assert set(codes) <= {int(c) for c in redisops.errors.ExitCode}
    assert redisops.errors.InvalidArgument.exit_code == redisops.errors.ExitCode.USAGE
    for e in errors:
        err = e("boom", context={"x": 1})
        assert err.to_dict()["exit_code"] == e.exit_code
        assert isinstance(err.retryable, bool)


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError):
        _ = redisops.does_not_exist  # type: ignore[attr-defined]
