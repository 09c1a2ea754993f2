"""The migration's source endpoint: the credential precedence (--source-password-file >
$REDISOPS_SOURCE_PASSWORD > the URL's), TLS and ACL user, the password kept out of the operation's
parameters, and the error without a source."""

from __future__ import annotations

from pathlib import Path

import pytest

from redisops.errors import ConfigError, InvalidArgument, NotFoundError
from redisops.ops.entries_migrate import MigratePlanParams, MigrateVerifyParams
from redisops.ops.migrate_source import SOURCE_PASSWORD_ENV, resolve_source


def test_precedence_file_then_env_then_url(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("from-file\n")
    url = "redis://app:from-url@es.example:6380/0"
    env = {SOURCE_PASSWORD_ENV: "from-env", "REDISCLI_AUTH": "target-only", "REDIS_PASSWORD": "target-only"}
    by_file = resolve_source(url=url, password_file=pw, env=env)
    assert (by_file.password, by_file.password_source) == ("from-file", f"file:{pw}")
    by_env = resolve_source(url=url, env=env)
    assert (by_env.password, by_env.password_source) == ("from-env", f"env:{SOURCE_PASSWORD_ENV}")
    by_url = resolve_source(url=url, env={"REDISCLI_AUTH": "target-only"})
    assert (by_url.password, by_url.password_source) == ("from-url", "url")
    assert (by_url.host, by_url.port, by_url.username) == ("es.example", 6380, "app")
    none = resolve_source(url="redis://es.example:6379", env={"REDISCLI_AUTH": "target-only"})
    assert none.password is None and none.password_source is None  # the target's variables are not used
    for ep in (by_file, by_env, by_url):
        assert "from-" not in repr(ep) and "from-" not in ep.url()


def test_tls_user_and_a_password_taken_out_of_the_url(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ep = resolve_source(
        url="rediss://es.example:6379", url_password="tok", user="migrator", tls_ca=ca, timeout=3, env={}
    )
    assert ep.tls and ep.tls_ca_file == str(ca) and ep.tls_verify and ep.username == "migrator"
    assert (ep.password, ep.password_source, ep.socket_timeout) == ("tok", "url", 3)
    assert not resolve_source(url="rediss://es.example:6379", tls_insecure=True, env={}).tls_verify


def test_errors_name_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as e:
        resolve_source(state_dir=tmp_path / "no-sandbox", env={})
    assert "--source-url" in e.value.hint and "sandbox up" in e.value.hint
    with pytest.raises(ConfigError):
        resolve_source(url="redis://h:1", password_file=tmp_path / "missing", env={})
    with pytest.raises(InvalidArgument):
        resolve_source(url="http://h:1", env={})
    with pytest.raises(InvalidArgument):
        resolve_source(url="redis://h:1", timeout=0, env={})


def test_parameters_never_carry_the_password() -> None:
    for cls in (MigratePlanParams, MigrateVerifyParams):
        p = cls(source_url="rediss://app:p%40ss@es.example:6379/0")
        assert p.source_url == "rediss://app@es.example:6379/0" and p.source_password_in_url == "p@ss"
        assert "p@ss" not in str(p.model_dump(mode="json")) and "p%40ss" not in repr(p)
    assert MigrateVerifyParams(source_url="redis://:tok@h:1").source_url == "redis://h:1"
    with pytest.raises(ValueError):
        MigrateVerifyParams(source_password="x")  # type: ignore[call-arg]
