"""Issue 13 items 1 and 6 through the CLI: backup and restore build the target from the shared options
(every password source, against a real redis-server with requirepass and a real moto bucket), a
production named target refuses changes without --read-write, no output holds the password, and
``redisops ops list|show`` prints the catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pydantic import BaseModel, ConfigDict, Field
from typer.testing import CliRunner

from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.cli.main import app
from redisops.errors import ExitCode
from redisops.ops.reference import param_rows
from redisops.ops.registry import catalogue
from tests.harness.plugin import S3Endpoint

runner = CliRunner()
SECRET = "Cli-target-S3cret-517"
WRONG = "Cli-wrong-S3cret-962"
#: what the CLI's environment must not carry unless a test sets it
CLEAN = {"REDISCLI_AUTH": None, "REDIS_PASSWORD": None, "REDISOPS_TARGETS": None, "MY_PW": None}


def everything(r: Result) -> str:
    return r.output + r.stdout + r.stderr + repr(r.exception or "")


def no_secret(*results: Result) -> None:
    for r in results:
        text = everything(r)
        assert SECRET not in text and WRONG not in text


def one_line(text: str) -> str:
    return " ".join(text.split())


class Env:
    """``redisops`` in-process with a deploy config naming one moto bucket and no sandbox."""

    def __init__(self, tmp_path: Path, s3: S3Endpoint, bucket: str) -> None:
        self.config = tmp_path / "deploy.yaml"
        self.config.write_text(
            "service_name: redis\n"
            f"backup:\n  bucket: {bucket}\n  endpoint_url: {s3.url}\n  force_path_style: true\n"
        )
        self.env: dict[str, str | None] = {
            **CLEAN,
            "REDISOPS_STATE_DIR": str(tmp_path / "no-sandbox"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "KUBERNETES_SERVICE_HOST": "",
        }

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        return runner.invoke(app, list(args), env={**self.env, **(env or {})})


@pytest.fixture
def cli(tmp_path: Path, s3_endpoint: S3Endpoint, s3_bucket: str) -> Env:
    return Env(tmp_path, s3_endpoint, s3_bucket)


@pytest.fixture
def server(redis_factory: Any) -> Any:
    inst = redis_factory({"config": {"appendonly": False, "save": ""}}, password=SECRET)
    inst.client().set("k", "v")
    return inst


def test_backup_create_takes_every_password_source(cli: Env, server: Any, tmp_path: Path) -> None:
    addr = f"127.0.0.1:{server.endpoint.port}"
    url = f"redis://{addr}"
    pw_file = tmp_path / "redis-password"
    pw_file.write_text(SECRET + "\n")
    sources: dict[str, tuple[list[str], dict[str, str | None]]] = {
        "REDIS_PASSWORD": (["--url", url], {"REDIS_PASSWORD": SECRET}),
        "REDISCLI_AUTH": (["--url", url], {"REDISCLI_AUTH": SECRET}),
        # REDISCLI_AUTH comes first: a --password-env default of REDIS_PASSWORD would send the wrong one
        "REDISCLI_AUTH over REDIS_PASSWORD": (
            ["--url", url],
            {"REDISCLI_AUTH": SECRET, "REDIS_PASSWORD": WRONG},
        ),
        "--password-file": (["--url", url, "--password-file", str(pw_file)], {"REDIS_PASSWORD": WRONG}),
        "--password-env": (["--url", url, "--password-env", "MY_PW"], {"MY_PW": SECRET}),
        "URL": (["--url", f"redis://:{SECRET}@{addr}"], {}),
    }
    ids = []
    for name, (args, env) in sources.items():
        r = cli("backup", "create", *args, "--config", str(cli.config), "-o", "json", env=env)
        assert r.exit_code == 0, (name, r.output)
        doc = json.loads(r.stdout)
        assert doc["key_counts"]["0"]["keys"] == 1, name
        ids.append(doc["id"])
        no_secret(r)
    listed = cli("backup", "list", "--config", str(cli.config), "-o", "json")
    assert listed.exit_code == 0, listed.output
    assert sorted(m["id"] for m in json.loads(listed.stdout)["backups"]) == sorted(ids)
    # a wrong password is one authentication error naming where it came from, never the password
    wrong = cli("backup", "create", "--url", url, "--config", str(cli.config), env={"REDISCLI_AUTH": WRONG})
    assert wrong.exit_code == ExitCode.AUTH, wrong.output
    assert "it came from $REDISCLI_AUTH" in one_line(wrong.stderr)
    unreadable = cli(
        "backup", "create", "--url", url, "--password-file", str(tmp_path / "missing"),
        "--config", str(cli.config),
    )  # fmt: skip
    assert unreadable.exit_code == ExitCode.CONFIG, unreadable.output
    no_secret(listed, wrong, unreadable)


def test_production_target_refuses_backup_changes_and_restore_without_read_write(
    cli: Env, server: Any, tmp_path: Path
) -> None:
    pw_file = tmp_path / "prod-password"
    pw_file.write_text(SECRET + "\n")
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "targets:\n  prod:\n"
        f"    url: redis://127.0.0.1:{server.endpoint.port}\n"
        f"    password_file: {pw_file}\n"
        f"    config: {cli.config}\n"
        "    production: true\n"
    )
    env: dict[str, str | None] = {"REDISOPS_TARGETS": str(targets)}
    refused = {
        "take a backup": cli("backup", "create", "--target", "prod", env=env),
        "restore": cli("restore", "latest", "--target", "prod", "--force", "--yes", env=env),
        "undo a restore": cli("restore", "undo", "--target", "prod", "--yes", env=env),
        "prune backups": cli("backup", "prune", "--target", "prod", "--keep-last", "1", "--yes", env=env),
    }
    for what, r in refused.items():
        assert r.exit_code == ExitCode.ABORTED, (what, r.output)
        assert f"target prod is marked production: read-only; pass --read-write to {what}" in one_line(
            r.stderr
        ), what
    assert (
        json.loads(cli("backup", "list", "--target", "prod", "-o", "json", env=env).stdout)["backups"] == []
    )
    # reading needs no flag; with --read-write the same commands go ahead
    made = cli("backup", "create", "--target", "prod", "--read-write", "-o", "json", env=env)
    assert made.exit_code == 0, made.output
    backup_id = json.loads(made.stdout)["id"]
    listed = cli("backup", "list", "--target", "prod", "-o", "json", env=env)
    assert [m["id"] for m in json.loads(listed.stdout)["backups"]] == [backup_id]
    dry = cli("backup", "prune", "--target", "prod", "--keep-last", "1", "--dry-run", "-o", "json", env=env)
    assert dry.exit_code == 0, dry.output
    delete = cli("backup", "delete", backup_id, "--target", "prod", "--yes", env=env)
    assert delete.exit_code == ExitCode.ABORTED, delete.output
    assert "pass --read-write to delete a backup" in one_line(delete.stderr)
    assert (
        json.loads(cli("backup", "list", "--target", "prod", "-o", "json", env=env).stdout)["backups"] != []
    )
    # the newest verified backup goes only with --force (the plan refuses: exit 15)
    kept = cli("backup", "delete", backup_id, "--target", "prod", "--read-write", "--yes", env=env)
    assert kept.exit_code == ExitCode.PLAN_BLOCKED, kept.output
    deleted = cli(
        "backup", "delete", backup_id, "--target", "prod", "--read-write", "--yes", "--force", env=env
    )
    assert deleted.exit_code == 0, deleted.output
    assert (
        json.loads(cli("backup", "list", "--target", "prod", "-o", "json", env=env).stdout)["backups"] == []
    )
    no_secret(made, listed, dry, delete, deleted, *refused.values())


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from redisops.ops.sandbox import sandbox_down, sandbox_up

    state_dir = tmp_path_factory.mktemp("targets-sandbox")
    state = sandbox_up(state_dir)
    yield state
    sandbox_down(state_dir, discard_backups=True)


def test_restore_dry_run_reaches_the_sandbox_redis_with_the_password_file(
    sandbox: Any, tmp_path: Path
) -> None:
    env: dict[str, str | None] = {**CLEAN, "REDISOPS_STATE_DIR": sandbox.state_dir}
    made = runner.invoke(app, ["backup", "create", "-o", "json"], env=env)
    assert made.exit_code == 0, made.output
    backup_id = json.loads(made.stdout)["id"]
    pw_file = tmp_path / "pw"
    pw_file.write_text(SECRET + "\n")
    target: RedisEndpoint = sandbox.target
    client = connect(target)
    client.set("restore-me", "1")
    client.config_set("requirepass", SECRET)  # the sandbox target now wants a password
    client.close()
    try:
        plan = runner.invoke(
            app,
            ["restore", backup_id, "--dry-run", "--force", "--password-file", str(pw_file), "-o", "json"],
            env=env,
        )
        assert plan.exit_code == 0, plan.output
        doc = json.loads(plan.stdout)
        details = doc["details"]
        assert details["dry_run"] and details["backup_id"] == backup_id and doc["blocked"] is False
        admin = connect(RedisEndpoint(port=target.port, password=SECRET))
        keys = admin.dbsize()
        admin.close()
        assert f"take a safety backup of the target's {keys} keys" in doc["steps"]
        by_env = runner.invoke(
            app, ["restore", backup_id, "--dry-run", "--force"], env={**env, "REDISCLI_AUTH": SECRET}
        )
        assert by_env.exit_code == 0, by_env.output
        # without a password the key count is refused: one authentication error, nothing changed
        bare = runner.invoke(app, ["restore", backup_id, "--dry-run", "--force"], env=env)
        assert bare.exit_code == ExitCode.AUTH, bare.output
        wrong_file = tmp_path / "wrong"
        wrong_file.write_text(WRONG + "\n")
        wrong = runner.invoke(
            app, ["restore", backup_id, "--dry-run", "--password-file", str(wrong_file)], env=env
        )
        assert wrong.exit_code == ExitCode.AUTH, wrong.output
        assert f"it came from the password file {wrong_file}" in one_line(wrong.stderr)
        # --url must be the sandbox's target: a restore works on the sandbox's data dir
        elsewhere = runner.invoke(
            app, ["restore", backup_id, "--dry-run", "--url", "redis://127.0.0.1:1"], env=env
        )
        assert elsewhere.exit_code == ExitCode.USAGE, elsewhere.output
        no_secret(made, plan, by_env, bare, wrong, elsewhere)
    finally:
        admin = connect(RedisEndpoint(port=target.port, password=SECRET))
        admin.config_set("requirepass", "")
        admin.delete("restore-me")
        admin.close()


# --- redisops ops list | show ---------------------------------------------------------------------------


def test_ops_list_and_show_print_the_catalogue_with_schemas() -> None:
    ops = list(catalogue())
    assert len(ops) >= 1
    listed = runner.invoke(app, ["ops", "list", "-o", "json"])
    assert listed.exit_code == 0, listed.output
    docs = json.loads(listed.stdout)["operations"]  # one JSON object per command
    assert [d["name"] for d in docs] == [op.name for op in ops]
    for d in docs:
        assert d["kind"] in ("read", "mutate", "destructive") and d["summary"]
        assert d["params"]["type"] == "object" and "title" in d["params"]
        if d["kind"] != "read":
            assert d["plans"] is True  # a mutating or destructive operation always has a plan
    text = runner.invoke(app, ["ops", "list"], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    for op in ops:
        assert f"{op.name} " in text.stdout and str(op.kind) in text.stdout
    for op in ops:
        shown = runner.invoke(app, ["ops", "show", op.name, "-o", "json"])
        assert shown.exit_code == 0, shown.output
        doc = json.loads(shown.stdout)
        assert doc == json.loads(json.dumps(op.describe()))
        assert doc["params"]["title"] == op.params.__name__
        readable = runner.invoke(app, ["ops", "show", op.name], env={"COLUMNS": "200"})
        assert readable.exit_code == 0, readable.output
        assert op.summary in one_line(readable.stdout) and f"kind:  {op.kind}" in readable.stdout
        for name in doc["params"].get("properties", {}):
            assert f"  {name}: " in readable.stdout, (op.name, name)
    missing = runner.invoke(app, ["ops", "show", "no.such-op"])
    assert missing.exit_code == ExitCode.NOT_FOUND and "no operation called 'no.such-op'" in missing.stderr


class _Demo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="what to call it")
    count: int = Field(3, ge=1, le=10, description="how many")
    mode: str | None = Field(None, description="optional mode")
    tags: list[str] = Field(default_factory=list, description="labels")


def test_param_rows_read_a_json_schema_for_people() -> None:
    rows = {r["name"]: r for r in param_rows(_Demo.model_json_schema())}
    assert rows["name"] == {
        "name": "name", "type": "str", "default": "(required)", "bounds": "",
        "description": "what to call it",
    }  # fmt: skip
    assert rows["count"]["type"] == "int" and rows["count"]["default"] == "3"
    assert rows["count"]["bounds"] == ">= 1, <= 10"
    assert rows["mode"]["type"] == "str | null" and rows["mode"]["default"] == "null"
    assert rows["tags"]["type"] == "list[str]" and rows["tags"]["default"] == ""
