"""Issue 13 item 1 against real servers: every credential source works the same through the CLI and
through Python (requirepass and an ACL user), wrong credentials are one error naming where the password
came from, no output ever holds a password, TLS with --tls-ca, and a production target is read-only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from redisops.adapters.local import free_port
from redisops.adapters.redis_conn import connect
from redisops.cli.main import app
from redisops.errors import AuthError
from redisops.ops.target import resolve_target

runner = CliRunner()
SECRET = "Req-pass-S3cret-913"
ACL_SECRET = "Acl-user-S3cret-624"
WRONG = "Wrong-pass-S3cret-208"
#: what the CLI's environment must not carry unless a test sets it
CLEAN = {"REDISCLI_AUTH": None, "REDIS_PASSWORD": None, "REDISOPS_TARGETS": None, "MY_PW": None}


def invoke(args: list[str], env: dict[str, str | None] | None = None, stdin: str | None = None) -> Result:
    return runner.invoke(app, args, env={**CLEAN, **(env or {})}, input=stdin)


def everything(r: Result) -> str:
    return r.output + r.stdout + r.stderr + repr(r.exception or "")


def no_secret(text: str, *secrets: str) -> None:
    for s in secrets or (SECRET, ACL_SECRET, WRONG):
        assert s not in text


@pytest.fixture
def server(redis_factory: Any) -> Any:
    return redis_factory({"config": {"appendonly": False, "save": ""}}, password=SECRET)


def addr(inst: Any) -> str:
    return f"127.0.0.1:{inst.endpoint.port}"


def write_targets(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "targets.yaml"
    p.write_text(body)
    return p


def sources(tmp_path: Path, inst: Any, password: str) -> dict[str, tuple[list[str], dict[str, str], str]]:
    """Each credential source: CLI arguments, env, and what the error hint names as the source."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    pw_file = tmp_path / f"pw-{password[:5]}"
    pw_file.write_text(password + "\n")
    targets = write_targets(
        tmp_path,
        f"targets:\n  filed:\n    url: redis://{addr(inst)}\n    password_file: {pw_file}\n"
        f"  envd:\n    url: redis://{addr(inst)}\n    password_env: MY_PW\n",
    )
    url = f"redis://{addr(inst)}"
    return {
        "password-file": (
            ["--url", url, "--password-file", str(pw_file)],
            {},
            f"the password file {pw_file}",
        ),
        "password-env": (["--url", url, "--password-env", "MY_PW"], {"MY_PW": password}, "$MY_PW"),
        "url": (["--url", f"redis://:{password}@{addr(inst)}"], {}, "the URL"),
        "REDISCLI_AUTH": (["--url", url], {"REDISCLI_AUTH": password}, "$REDISCLI_AUTH"),
        "REDIS_PASSWORD": (["--url", url], {"REDIS_PASSWORD": password}, "$REDIS_PASSWORD"),
        "named file": (["--target", "filed"], {"REDISOPS_TARGETS": str(targets)}, "the password file"),
        "named env": (["--target", "envd"], {"REDISOPS_TARGETS": str(targets), "MY_PW": password}, "$MY_PW"),
    }


def test_every_credential_source_through_the_cli_never_printed(server: Any, tmp_path: Path) -> None:
    for name, (args, env, _) in sources(tmp_path, server, SECRET).items():
        as_json = invoke(["info", "server", *args, "-o", "json"], env)
        assert as_json.exit_code == 0, (name, as_json.output)
        assert json.loads(as_json.stdout)["info"]["server"]["redis_version"].startswith("7.")
        text = invoke(["clients", *args], env)
        assert text.exit_code == 0, (name, text.output)
        no_secret(everything(as_json) + everything(text))
    prompted = invoke(
        ["info", "server", "--url", f"redis://{addr(server)}", "--ask-password"], stdin=SECRET + "\n"
    )
    assert prompted.exit_code == 0, prompted.output
    no_secret(everything(prompted))


def test_a_wrong_password_is_one_error_naming_its_source_not_the_password(
    server: Any, tmp_path: Path
) -> None:
    for name, (args, env, label) in sources(tmp_path / "w", server, WRONG).items():
        for cmd in (["info"], ["health"]):
            r = invoke([*cmd, *args], env)
            assert r.exit_code == 5, (name, cmd, r.output)
            errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and "authentication" in errors[0], (name, r.stderr)
            assert f"it came from {label}" in " ".join(r.stderr.split()), (name, r.stderr)
            no_secret(everything(r))
        js = invoke(["health", *args, "-o", "json"], env)
        doc = json.loads(js.stdout)
        assert js.exit_code == 5 and doc["error"] == "AuthError" and doc["context"]["password_source"]
        no_secret(everything(js))
    prompted = invoke(["info", "--url", f"redis://{addr(server)}", "--ask-password"], stdin=WRONG + "\n")
    assert prompted.exit_code == 5 and "it came from the prompt" in " ".join(prompted.stderr.split())
    no_secret(everything(prompted))


def test_every_credential_source_through_python_never_shown(server: Any, tmp_path: Path) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text(SECRET + "\n")
    targets = write_targets(
        tmp_path, f"targets:\n  t:\n    url: redis://{addr(server)}\n    password_env: MY_PW\n"
    )
    url = f"redis://{addr(server)}"
    made = [
        resolve_target(url=url, password_file=pw_file, env={}),
        resolve_target(url=url, password_env="MY_PW", env={"MY_PW": SECRET}),
        resolve_target(url=f"redis://:{SECRET}@{addr(server)}", env={}),
        resolve_target(url=url, env={"REDISCLI_AUTH": SECRET}),
        resolve_target(url=url, env={"REDIS_PASSWORD": SECRET}),
        resolve_target(url=url, env={}, ask_password=True, prompt=lambda _m: SECRET),
        resolve_target("t", targets_file=targets, env={"MY_PW": SECRET}),
    ]
    for t in made:
        client = connect(t.redis)
        assert client.ping()
        client.close()
        no_secret(repr(t) + json.dumps(t.to_dict()) + repr(t.redis) + str(t.redis))
    wrong = resolve_target(url=url, env={"REDISCLI_AUTH": WRONG})
    with pytest.raises(AuthError) as err:
        connect(wrong.redis)
    assert "it came from $REDISCLI_AUTH" in err.value.hint
    no_secret(str(err.value) + err.value.hint + json.dumps(err.value.to_dict()) + repr(err.value))


def test_an_acl_user_by_option_url_or_named_target(redis_factory: Any, tmp_path: Path) -> None:
    inst = redis_factory(
        {"config": {"appendonly": False, "save": ""}}, extra={"user": f"app on >{ACL_SECRET} ~* +@all"}
    )
    targets = write_targets(tmp_path, f"targets:\n  acl:\n    url: redis://{addr(inst)}\n    user: app\n")
    ways = [
        (["--url", f"redis://{addr(inst)}", "--user", "app"], {"REDISCLI_AUTH": ACL_SECRET}),
        (["--url", f"redis://app:{ACL_SECRET}@{addr(inst)}"], {}),
        (["--target", "acl"], {"REDISOPS_TARGETS": str(targets), "REDIS_PASSWORD": ACL_SECRET}),
    ]
    for args, env in ways:
        r = invoke(["clients", *args, "-o", "json"], env)
        assert r.exit_code == 0, (args, r.output)
        users = {c["user"] for c in json.loads(r.stdout)["clients"]}
        assert "app" in users  # the connection is the ACL user's
        no_secret(everything(r))
    wrong_user = invoke(
        ["info", "--url", f"redis://{addr(inst)}", "--user", "bob"], {"REDISCLI_AUTH": ACL_SECRET}
    )
    assert wrong_user.exit_code == 5 and "$REDISCLI_AUTH" in wrong_user.stderr
    no_secret(everything(wrong_user))
    t = resolve_target("acl", targets_file=targets, env={"REDIS_PASSWORD": ACL_SECRET})
    client = connect(t.redis, decode_responses=True)
    assert client.acl_whoami() == "app"
    client.close()


def test_a_password_sent_to_a_server_without_one_names_the_variable(redis_factory: Any) -> None:
    inst = redis_factory({"config": {"appendonly": False, "save": ""}})
    r = invoke(["info", "--url", f"redis://{addr(inst)}"], {"REDIS_PASSWORD": WRONG})
    assert r.exit_code == 5, r.output
    text = " ".join(r.stderr.split())
    assert "the server has no password, but one was sent (from $REDIS_PASSWORD)" in text
    assert "unset REDIS_PASSWORD" in text
    no_secret(everything(r))


# --- TLS ------------------------------------------------------------------------------------------------


def test_a_rediss_target_with_a_ca(redis_factory: Any, tmp_path: Path) -> None:
    """Debian's redis-server 7.0 is built with TLS: a rediss:// target verifies against --tls-ca."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)),
            *("-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    tls_port = free_port()
    inst = redis_factory(
        {"config": {"appendonly": False, "save": ""}},
        password=SECRET,
        extra={
            "tls-port": str(tls_port),
            "tls-cert-file": str(cert),
            "tls-key-file": str(key),
            "tls-ca-cert-file": str(cert),
            "tls-auth-clients": "no",
        },
    )
    assert inst.endpoint.port != tls_port
    url = f"rediss://127.0.0.1:{tls_port}"
    env = {"REDISCLI_AUTH": SECRET}
    ok = invoke(["info", "server", "--url", url, "--tls-ca", str(cert), "-o", "json"], env)
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["info"]["server"]["tcp_port"] == inst.endpoint.port
    unverified = invoke(["info", "server", "--url", url, "--timeout", "2"], env)
    assert unverified.exit_code == 4, unverified.output
    assert "certificate of 127.0.0.1" in unverified.stderr and "--tls-ca FILE" in unverified.stderr
    plain = invoke(["info", "server", "--url", f"redis://127.0.0.1:{tls_port}", "--timeout", "2"], env)
    assert plain.exit_code == 4 and "use rediss://" in " ".join(plain.stderr.split()), plain.output
    insecure = invoke(["info", "server", "--url", url, "--tls-insecure"], env)
    assert insecure.exit_code == 0, insecure.output
    targets = write_targets(tmp_path, f"targets:\n  tls:\n    url: {url}\n    tls_ca: {cert}\n")
    named = invoke(["health", "--target", "tls", "-o", "json"], {**env, "REDISOPS_TARGETS": str(targets)})
    assert named.exit_code in (0, 20), named.output  # a fresh server: restarted recently is a warning
    assert {c["name"] for c in json.loads(named.stdout)["checks"]} >= {"ping"}
    for r in (ok, unverified, plain, insecure, named):
        no_secret(everything(r))


# --- production targets are read-only -------------------------------------------------------------------


def client_deployment(name: str, ns: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
            },
        },
    }


def test_a_production_target_is_read_only_unless_read_write(kube: Any, tmp_path: Path) -> None:
    from redisops.adapters.kube import Kube

    targets = write_targets(
        tmp_path,
        f"targets:\n  prod:\n    kubeconfig: {kube.kubeconfig_path}\n    context: emu\n"
        "    namespace: cache\n    production: true\n",
    )
    env = {"REDISOPS_TARGETS": str(targets), "KUBECONFIG": None}
    with Kube.from_kubeconfig(kube.kubeconfig_path) as k:
        k.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cache"}}])
        k.apply([client_deployment("gateway-service", "cache")])
        k.wait_rollout("gateway-service", "cache", timeout=10)
    refused = invoke(["restart", "--target", "prod", "gateway-service"], env)
    assert refused.exit_code == 10, refused.output
    assert "target prod is marked production: read-only; pass --read-write to restart" in refused.stderr
    deploy = invoke(["deploy", "--target", "prod", "--yes", "--allow", "image-tag-unreleased"], env)
    assert deploy.exit_code == 10 and "pass --read-write to deploy" in deploy.stderr, deploy.output
    rollback = invoke(["rollback", "--target", "prod", "--yes"], env)
    assert rollback.exit_code == 10 and "pass --read-write to roll back" in rollback.stderr
    with Kube.from_kubeconfig(kube.kubeconfig_path) as k:
        assert k.get("StatefulSet", "redis", "cache", api_version="apps/v1") is None  # nothing deployed
        assert k.get("Deployment", "redis", "cache", api_version="apps/v1") is None
    # reading needs no --read-write, and the target's kubeconfig, context and namespace are used
    history = invoke(["history", "--target", "prod"], env)
    assert history.exit_code == 0 and "recorded in namespace cache" in history.stdout, history.output
    other = invoke(["history", "--target", "prod", "-n", "elsewhere"], env)
    assert other.exit_code == 0 and "recorded in namespace elsewhere" in other.stdout, other.output
    allowed = invoke(["restart", "--target", "prod", "--read-write", "gateway-service", "-o", "json"], env)
    assert allowed.exit_code == 0, allowed.output
    doc = json.loads(allowed.stdout)
    assert doc["namespace"] == "cache" and [s["name"] for s in doc["services"]] == ["gateway-service"]


def test_an_unknown_target_is_a_config_error_listing_the_names(tmp_path: Path) -> None:
    targets = write_targets(tmp_path, "targets:\n  prod:\n    url: redis://h:1\n  staging: {}\n")
    for cmd in (["info"], ["health"], ["history"]):
        r = invoke([*cmd, "--target", "nope"], {"REDISOPS_TARGETS": str(targets)})
        assert r.exit_code == 3, (cmd, r.output)
        assert "no target named 'nope'; the targets are: sandbox, prod, staging" in r.stderr


# --- the lazy parts: config, backup store, Kubernetes client ---------------------------------------------


def test_the_target_opens_the_configured_store_and_cluster(
    s3_endpoint: Any, s3_bucket: str, kube: Any, tmp_path: Path
) -> None:
    from redisops.errors import NotFoundError

    cfg = tmp_path / "deploy.yaml"
    cfg.write_text(
        f"namespace: cache\nbackup:\n  bucket: {s3_bucket}\n  endpoint_url: {s3_endpoint.url}\n"
        "  force_path_style: true\n  server_side_encryption: none\n"
    )
    targets = write_targets(
        tmp_path,
        f"targets:\n  prod:\n    config: {cfg}\n    kubeconfig: {kube.kubeconfig_path}\n    context: emu\n",
    )
    with resolve_target("prod", targets_file=targets, env={}) as t:
        assert t.config() is t.config() and t.config().namespace == "cache" and t.namespace == "cache"
        assert t.store().list() == []  # the configured bucket on the configured endpoint
        kube_client = t.kube()
        assert kube_client is t.kube() and kube_client.context == "emu"
        assert kube_client.get("Namespace", "cache", None, api_version="v1") is None
    # REDISOPS_S3_* from the target's environment override the config, as in the backup pods
    env = {"REDISOPS_S3_BUCKET": "redisops-no-such-bucket"}
    missing = resolve_target("prod", targets_file=targets, env=env)
    with pytest.raises(NotFoundError, match="redisops-no-such-bucket"):
        missing.store().list()
