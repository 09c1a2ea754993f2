"""Issue 13 item 1: the target object resolves where to act and the password once, by one precedence,
from a named targets file, and never shows a secret (no servers: resolution only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import redisops
from redisops.errors import AbortedError, ConfigError, InvalidArgument, NotFoundError
from redisops.ops.target import Target, load_targets, resolve_target

SECRET = "S3cr3t-never-shown"
URL_SECRET = "url-pw-77"


def secrets(tmp_path: Path) -> dict[str, Path]:
    explicit = tmp_path / "explicit-pw"
    explicit.write_text("from-explicit-file\n")
    named = tmp_path / "named-pw"
    named.write_text("from-named-file\n")
    return {"explicit": explicit, "named": named}


def targets_file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "targets.yaml"
    p.write_text(body)
    return p


def write_sandbox_state(state_dir: Path, port: int = 6390) -> None:
    """A recorded sandbox (what ``sandbox up`` writes), read by the sandbox target for host/port."""
    state_dir.mkdir(parents=True, exist_ok=True)
    svc = {"name": "target", "port": port, "pid": 1, "workdir": str(state_dir), "url": "", "status": "x"}
    (state_dir / "state.json").write_text(
        json.dumps({"state_dir": str(state_dir), "services": {"target": svc}})
    )


# --- password precedence ---------------------------------------------------------------------------------


def test_password_precedence_first_set_wins(tmp_path: Path) -> None:
    f = secrets(tmp_path)
    tf = targets_file(
        tmp_path,
        f"targets:\n  prod:\n    url: redis://h:1/0\n    password_file: {f['named']}\n"
        "  envd:\n    url: redis://h:1/0\n    password_env: NAMED_PW\n",
    )
    env = {"MY_PW": "from-explicit-env", "NAMED_PW": "from-named-env", "REDISCLI_AUTH": "from-rediscli-auth"}
    env["REDIS_PASSWORD"] = "from-redis-password"
    url = f"redis://:{URL_SECRET}@h:1/0"
    cases = [
        (dict(url=url, password_file=f["explicit"], password_env="MY_PW"), "from-explicit-file", "file:"),
        (dict(url=url, password_env="MY_PW"), "from-explicit-env", "env:MY_PW"),
        (dict(url=url), URL_SECRET, "url"),
        (dict(name="prod"), "from-named-file", "file:"),
        (dict(name="envd"), "from-named-env", "env:NAMED_PW"),
        (dict(name="prod", password_env="MY_PW"), "from-explicit-env", "env:MY_PW"),  # explicit beats named
        (dict(url="redis://h:1/0"), "from-rediscli-auth", "REDISCLI_AUTH"),
    ]
    for kwargs, password, source in cases:
        name = kwargs.pop("name", None)
        t = resolve_target(name, targets_file=tf, env=env, **kwargs)  # type: ignore[arg-type]
        assert t.redis.password == password, kwargs
        assert t.password_source is not None and t.password_source.startswith(source), kwargs
        assert t.redis.password_source == t.password_source
    only_redis_password = {"REDIS_PASSWORD": "from-redis-password"}
    t = resolve_target(url="redis://h:1/0", env=only_redis_password)
    assert (t.redis.password, t.password_source) == ("from-redis-password", "REDIS_PASSWORD")
    none = resolve_target(url="redis://h:1/0", env={})
    assert none.redis.password is None and none.password_source is None


def test_the_prompt_is_last_and_only_when_the_front_end_asks() -> None:
    asked: list[str] = []

    def prompt(message: str) -> str:
        asked.append(message)
        return "typed-pw"

    t = resolve_target(url="redis://h:1/0", env={}, ask_password=True, prompt=prompt)
    assert (t.redis.password, t.password_source) == ("typed-pw", "prompt") and len(asked) == 1
    t = resolve_target(url="redis://h:1/0", env={"REDISCLI_AUTH": "env-pw"}, ask_password=True, prompt=prompt)
    assert t.redis.password == "env-pw" and len(asked) == 1  # another source was set: no prompt
    assert resolve_target(url="redis://h:1/0", env={}, prompt=prompt).redis.password is None
    with pytest.raises(InvalidArgument, match="needs a prompt"):
        resolve_target(url="redis://h:1/0", env={}, ask_password=True)


def test_username_explicit_then_url_then_named_target(tmp_path: Path) -> None:
    tf = targets_file(tmp_path, "targets:\n  a:\n    url: redis://h:1\n    user: named\n")
    assert resolve_target("a", targets_file=tf, env={}).redis.username == "named"
    assert resolve_target("a", url="redis://urluser@h:1", targets_file=tf, env={}).redis.username == "urluser"
    t = resolve_target("a", url="redis://urluser@h:1", user="cli", targets_file=tf, env={})
    assert t.redis.username == "cli"


def test_the_sandbox_target_takes_host_and_port_from_its_state_and_the_same_password_rules(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    write_sandbox_state(state, port=6390)
    t = resolve_target(state_dir=state, env={"REDISCLI_AUTH": "sandbox-pw"})
    assert t.is_sandbox and t.name == "sandbox"
    assert (t.redis.host, t.redis.port) == ("127.0.0.1", 6390)
    assert (t.redis.password, t.password_source) == ("sandbox-pw", "REDISCLI_AUTH")
    pw = tmp_path / "pw"
    pw.write_text("file-pw\n")
    assert resolve_target(state_dir=state, password_file=pw, env={}).redis.password == "file-pw"
    down = resolve_target(state_dir=tmp_path / "none", env={})
    with pytest.raises(NotFoundError, match="sandbox is not running"):
        _ = down.redis


def test_credential_problems_name_the_source_and_wait_until_redis_is_used(tmp_path: Path) -> None:
    missing = resolve_target(url="redis://h:1", password_file=tmp_path / "nope", env={})
    with pytest.raises(ConfigError, match=r"password file .*nope \(--password-file\) does not exist"):
        _ = missing.redis
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        _ = resolve_target(url="redis://h:1", password_file=empty, env={}).redis
    with pytest.raises(ConfigError, match=r"MY_PW \(--password-env\) is not set"):
        _ = resolve_target(url="redis://h:1", password_env="MY_PW", env={}).redis
    assert missing.to_dict()["redis"] == "redis://h:1/0"  # the rest of the target is usable


# --- named targets ---------------------------------------------------------------------------------------

PROD = """\
targets:
  prod:
    url: rediss://redis.prod.svc:6379/0
    user: app
    password_file: {pw}
    config: deploy/prod.yaml
    kubeconfig: ~/.kube/config
    context: prod-eks
    namespace: cache
    production: true
  staging:
    url: redis://redis.staging.svc:6379/1
"""


def prod_file(tmp_path: Path) -> Path:
    pw = tmp_path / "redis-pw"
    pw.write_text(SECRET + "\n")
    return targets_file(tmp_path, PROD.format(pw=pw))


def test_named_targets_load_and_explicit_options_override(tmp_path: Path) -> None:
    tf = prod_file(tmp_path)
    specs = load_targets(tf)
    assert sorted(specs) == ["prod", "staging"] and specs["prod"].production
    t = resolve_target("prod", targets_file=tf, env={})
    assert t.name == "prod" and t.redis.tls and t.redis.username == "app" and t.redis.db == 0
    assert t.redis.password == SECRET and t.password_source == f"file:{tmp_path / 'redis-pw'}"
    assert (t.context, t.namespace, t.config_path) == ("prod-eks", "cache", Path("deploy/prod.yaml"))
    assert t.kubeconfig == Path("~/.kube/config").expanduser()
    o = resolve_target(
        "prod", targets_file=tf, env={}, namespace="other", context="c2", url="redis://x:2/3", user="u"
    )
    assert (o.namespace, o.context, o.redis.host, o.redis.db, o.redis.username) == (
        "other",
        "c2",
        "x",
        3,
        "u",
    )
    assert not o.redis.tls


def test_the_targets_file_comes_from_the_env_or_the_user_config_dir(tmp_path: Path) -> None:
    tf = prod_file(tmp_path)
    assert sorted(load_targets(env={"REDISOPS_TARGETS": str(tf)})) == ["prod", "staging"]
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_targets(env={"REDISOPS_TARGETS": str(tmp_path / "missing.yaml")})
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_targets(tmp_path / "missing.yaml")


def test_an_unknown_target_lists_the_ones_that_exist(tmp_path: Path) -> None:
    tf = prod_file(tmp_path)
    with pytest.raises(ConfigError) as err:
        resolve_target("nope", targets_file=tf, env={})
    assert "no target named 'nope'; the targets are: sandbox, prod, staging" in err.value.message


def test_unknown_keys_and_written_passwords_are_refused_with_file_and_line(tmp_path: Path) -> None:
    tf = targets_file(tmp_path, "targets:\n  prod:\n    url: redis://h:1\n    namespce: cache\n")
    with pytest.raises(ConfigError) as err:
        load_targets(tf)
    assert f"{tf}:4: targets.prod.namespce" in err.value.message and "unknown setting" in err.value.message
    tf = targets_file(tmp_path, f"targets:\n  prod:\n    url: redis://h:1\n    password: {SECRET}\n")
    with pytest.raises(ConfigError) as err:
        load_targets(tf)
    assert f"{tf}:4:" in err.value.message and "password_file or password_env" in err.value.message
    assert SECRET not in str(err.value.to_dict())
    tf = targets_file(tmp_path, f"targets:\n  prod:\n    url: redis://app:{SECRET}@h:1\n")
    with pytest.raises(ConfigError) as err:
        load_targets(tf)
    assert f"{tf}:3:" in err.value.message and SECRET not in str(err.value.to_dict())
    tf = targets_file(tmp_path, "targets:\n  sandbox:\n    url: redis://h:1\n")
    with pytest.raises(ConfigError, match="implicit default target"):
        load_targets(tf)
    tf = targets_file(tmp_path, "targetz:\n  a: {}\n")
    with pytest.raises(ConfigError, match="one mapping, `targets:`"):
        load_targets(tf)


# --- production guard and secrets ------------------------------------------------------------------------


def test_a_production_target_is_read_only_unless_writes_are_allowed(tmp_path: Path) -> None:
    tf = prod_file(tmp_path)
    prod = resolve_target("prod", targets_file=tf, env={})
    assert prod.read_only and prod.production
    with pytest.raises(AbortedError) as err:
        prod.require_writable("deploy")
    assert err.value.message == "target prod is marked production: read-only; pass --read-write to deploy"
    assert err.value.exit_code == 10
    writable = resolve_target("prod", targets_file=tf, env={}, allow_writes=True)
    assert not writable.read_only
    writable.require_writable("deploy")
    staging = resolve_target("staging", targets_file=tf, env={})
    assert not staging.read_only
    staging.require_writable("deploy")


def test_repr_and_to_dict_name_the_source_never_the_password(tmp_path: Path) -> None:
    t = resolve_target(url=f"redis://app:{URL_SECRET}@h:1/2", env={})
    assert t.redis.password == URL_SECRET
    for shown in (repr(t), str(t.to_dict()), repr(t.redis), str(t.redis), json.dumps(t.to_dict())):
        assert URL_SECRET not in shown
    assert t.to_dict()["password_source"] == "url" and "password_source='url'" in repr(t)
    t = resolve_target(url="redis://h:1", env={"REDISCLI_AUTH": SECRET})
    assert t.to_dict()["password_source"] == "REDISCLI_AUTH"
    assert SECRET not in repr(t) + json.dumps(t.to_dict()) + repr(t.redis)


def test_the_top_level_convenience_is_the_same_function() -> None:
    assert redisops.target is redisops.resolve_target
    t = redisops.target(url="redis://h:1", env={})
    assert isinstance(t, Target) and isinstance(t, redisops.Target)
    with t:
        pass


def test_the_documented_targets_file_is_valid() -> None:
    import re

    from redisops.ops.targets_file import parse_targets

    doc = Path(__file__).resolve().parents[2] / "docs" / "targets.md"
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(), flags=re.S)
    specs = parse_targets(blocks[0], source="docs/targets.md")
    assert sorted(specs) == ["prod", "staging"] and specs["prod"].production
    assert specs["prod"].tls_ca == "/etc/ssl/redis-ca.pem"
