"""``-o json`` on every command that produces output: stdout parses as JSON (and nothing else is on it).

One scenario on a private sandbox and the Kubernetes API emulator drives every such command in-process
through typer's CliRunner (stdout and stderr apart); a walk of the command tree makes sure no command
with ``--output`` escapes the list. One real subprocess checks the installed entry point the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from redisops.cli.main import app

IMAGE = "redis:7.0.15-alpine"
REDISOPS = str(Path(sys.executable).with_name("redisops"))


def _commands_with_output(cmd: Any, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    subs = getattr(cmd, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _commands_with_output(sub, (*prefix, name))
    elif any("--output" in p.opts for p in cmd.params):
        yield " ".join(prefix)


class Session:
    """The CLI in-process with a private sandbox state dir; records which commands it ran."""

    def __init__(self, tmp_path: Path, kubeconfig: Path) -> None:
        self.env = {
            "REDISOPS_STATE_DIR": str(tmp_path / "sandbox"),
            "KUBECONFIG": str(kubeconfig),
            "COLUMNS": "100",
        }
        self.kubeconfig = kubeconfig
        self.ran: set[str] = set()
        self.runner = CliRunner()

    def json(self, *args: str, codes: tuple[int, ...] = (0,)) -> Any:
        """Run ``redisops ARGS -o json``; the exit code must be one of ``codes``; returns the document."""
        result = self.runner.invoke(app, [*args, "-o", "json"], env=self.env)
        assert result.exit_code in codes, (
            args,
            result.exit_code,
            result.stdout[-2000:],
            result.stderr[-2000:],
        )
        assert "Traceback" not in result.stderr, result.stderr
        path = " ".join(a for a in args[: 2 if args[0] in GROUPS else 1])
        self.ran.add(path)
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as e:  # pragma: no cover - the assertion message is the point
            raise AssertionError(
                f"redisops {' '.join(args)} -o json printed non-JSON: {result.stdout[:500]!r}"
            ) from e

    def lines(self, *args: str) -> list[Any]:
        """A --watch/--count run: one JSON document per line."""
        result = self.runner.invoke(app, [*args, "-o", "json"], env=self.env)
        assert result.exit_code in (0, 20, 21), (args, result.stdout[-2000:], result.stderr[-2000:])
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


GROUPS = {"sandbox", "config", "backup", "ops", "audit", "migrate", "elasticache", "runbook"}


@pytest.mark.slow
@pytest.mark.k8s
def test_every_command_prints_json(tmp_path: Path, kube: Any, redis_factory: Any) -> None:
    # the emulator's Redis pods answer through a real redis-server of the same config (deploy verifies)
    from redisops.config import DeploymentConfig

    pod_redis = redis_factory(DeploymentConfig(image=IMAGE))
    kube.map_port("llm-judge", "app=redis", 6379, ("127.0.0.1", pod_redis.endpoint.port))
    s = Session(tmp_path, kube.kubeconfig_path)
    conf = tmp_path / "deploy.yaml"
    conf.write_text(f"image: {IMAGE}\n")
    try:
        up = s.json("sandbox", "up")
        assert set(up["services"]) == {"target", "source", "s3"}
        assert s.json("sandbox", "status")["services"]["target"]["status"] == "running"
        assert s.json("version")["redisops"]
        listed = s.json("ops", "list")
        assert "backup.create" in json.dumps(listed)
        assert s.json("ops", "show", "backup.create")["name"] == "backup.create"
        assert s.json("config", "show")["image"]
        assert s.json("config", "validate", str(conf))["valid"] is True
        assert "appendonly" in s.json("config", "render", str(conf))["redis_conf"]

        # inspection of the sandbox target
        assert s.json("health", codes=(0, 20, 21))["checks"]
        assert len(s.lines("health", "--watch", "0.1", "--count", "2")) == 2
        assert "server" in json.dumps(s.json("info"))
        s.json("slowlog")
        s.json("latency")
        s.json("memory")
        s.json("keys")
        s.json("clients")

        # backups and restore
        made = s.json("backup", "create")
        bid = made["id"]
        assert bid in json.dumps(s.json("backup", "list"))
        assert s.json("backup", "describe", bid)["id"] == bid
        s.json("backup", "verify", bid)
        s.json("backup", "drill", bid)
        s.json("backup", "gc", "--dry-run")
        s.json("backup", "prune", "--dry-run")
        s.json("backup", "unlock", "--yes")
        s.json("backup", "schedule", "--every", "0", "--count", "1")
        plan = s.json("restore", bid, "--dry-run", codes=(0, 15))
        assert "blocked" in json.dumps(plan)
        s.json("restore", bid, "--yes", "--force")
        s.json("restore", "undo", "--dry-run")
        s.json("restore", "undo", "--yes")
        s.json("backup", "delete", bid, "--yes")
        data_dir = tmp_path / "scratch-data"
        data_dir.mkdir()
        s.json("restore-data-dir", "--adopt", "--data-dir", str(data_dir), codes=(0,))

        # where Redis runs, and who changed what
        assert s.json("status")
        s.json("logs")
        assert "backup.create" in json.dumps(s.json("audit", "list"))

        # the migration from the sandbox's ElastiCache-like source, and the source's snapshots
        s.json("migrate", "plan", "--sample", "20", codes=(0, 15))
        s.json("migrate", "copy", "--dry-run", codes=(0, 15))
        s.json("migrate", "copy", codes=(0, 15))
        s.json("migrate", "verify", "--round-delay", "0", codes=(0, 22))
        s.json("migrate", "cutover", "--dry-run", codes=(0, 15, 22))
        s.json("migrate", "rollback", "--dry-run", codes=(0, 15))
        s.json("elasticache", "snapshot", "--name", "cli-json", "--poll-interval", "0.1")
        s.json("elasticache", "export", "cli-json")
        s.json("elasticache", "decommission", "--dry-run", codes=(0, 15))

        # runbooks (the packaged ones)
        assert "health-check" in json.dumps(s.json("runbook", "list"))
        s.json("runbook", "show", "health-check")
        s.json("runbook", "lint", "health-check", codes=(0, 20))
        s.json("runbook", "plan", "health-check", codes=(0, 30, 31))
        run = s.json("runbook", "run", "health-check", "--yes", codes=(0, 30, 31))
        assert run["run_id"] in json.dumps(s.json("runbook", "runs"))
        s.json("runbook", "resume", run["run_id"], codes=(0, 7, 15, 30, 31, 32))

        s.json("rehearse")

        # the deployment: pure renderings, then the cluster (the emulator)
        s.json("lint", str(conf), codes=(0, 20, 21))
        listed_objects = s.json("manifests", "-c", str(conf))  # a Kubernetes List: kubectl applies it
        assert listed_objects["kind"] == "List" and listed_objects["items"]
        kc = ("--kubeconfig", str(kube.kubeconfig_path), "-c", str(conf))
        assert s.json("deploy", "--yes", "--timeout", "30", *kc)["revision"] == 1
        assert s.json("history", *kc)["revisions"][0]["number"] == 1
        conf.write_text(f"image: {IMAGE}\nconfig:\n  maxmemory: 128mb\n")
        assert s.json("deploy", "--yes", "--timeout", "30", *kc)["revision"] == 2
        s.json("rollback", "--to", "1", "--yes", "--timeout", "30", *kc)
        assert s.json("restart", "no-such-service", *kc, codes=(1,))["services"][0]["ok"] is False
        s.json("verify-clients", *kc, codes=(0, 1))
    finally:
        s.json("sandbox", "down", codes=(0, 6, 14))

    every = set(_commands_with_output(typer.main.get_command(app)))
    assert every - s.ran == set(), "commands with --output that this test does not run"


def test_the_installed_command_prints_json_in_a_real_process(tmp_path: Path, redis_server: Any) -> None:
    env = {**os.environ, "REDISOPS_STATE_DIR": str(tmp_path / "none")}
    url = f"redis://127.0.0.1:{redis_server.endpoint.port}"
    for args, codes in (
        (["version"], (0,)),
        (["health", "--url", url], (0, 20, 21)),
        (["info", "--url", url], (0,)),
    ):
        proc = subprocess.run(
            [REDISOPS, *args, "-o", "json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode in codes, (args, proc.stdout[-1000:], proc.stderr[-1000:])
        assert json.loads(proc.stdout)


def test_version_names_the_server_in_words(redis_server: Any) -> None:
    url = f"redis://127.0.0.1:{redis_server.endpoint.port}"
    result = CliRunner().invoke(app, ["version", "--url", url])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("server")]
    version = redis_server.client().info("server")["redis_version"]
    assert line.split(None, 1)[1] == f"Redis {version} at {url}/0"
