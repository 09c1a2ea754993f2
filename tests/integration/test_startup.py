"""Start-up of the commands that talk to S3 or Kubernetes: what they import and how many clients they
make (issue 12, item 22). The timings themselves are in benchmarks/backup.py, not here.

Each command runs in a fresh interpreter (as a user runs it) through a small driver that, after the
command, writes the modules it loaded and the clients it built; the counts come from wrapping the
third-party constructors (botocore's ``create_client``, kubernetes' ``ApiClient``), not our code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness.plugin import S3Endpoint

DRIVER = r"""
import json, sys
counts = {"s3_clients": 0, "kube_clients": 0}
import botocore.session
_create = botocore.session.Session.create_client
def create_client(self, *a, **kw):
    counts["s3_clients"] += 1
    return _create(self, *a, **kw)
botocore.session.Session.create_client = create_client
preloaded = set(sys.modules)  # the wrapping itself loads botocore.session: not the command's doing
out_path, argv = sys.argv[1], sys.argv[2:]
sys.argv = ["redisops", *argv]
def kube_hook():
    import kubernetes.client
    _init = kubernetes.client.ApiClient.__init__
    def init(self, *a, **kw):
        counts["kube_clients"] += 1
        _init(self, *a, **kw)
    kubernetes.client.ApiClient.__init__ = init
if "--kubeconfig" in argv:
    kube_hook()
    preloaded = set(sys.modules)
from redisops.cli.main import app
code = 0
try:
    app()
except SystemExit as e:
    code = e.code or 0
with open(out_path, "w") as f:
    json.dump({"code": code, "modules": sorted(set(sys.modules) - preloaded), **counts}, f)
"""

#: never needed by these commands: each costs a share of the start-up
NEVER = (
    "boto3",  # we build botocore's client ourselves (no transfer manager)
    "s3transfer",
    "textual",
    "moto",
    "redisops.health.rules",  # the CLI's tables need only the health model
    "redisops.restore.engine",  # backups need the key-count rule, not the restore engine
    "redisops.lint.rules",
)


def run_driver(tmp_path: Path, *argv: str, env: dict[str, str]) -> dict[str, Any]:
    out = tmp_path / "driver.json"
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists(), proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    result["stdout"], result["stderr"] = proc.stdout, proc.stderr
    return result


def loaded(result: dict[str, Any], prefix: str) -> list[str]:
    return [m for m in result["modules"] if m == prefix or m.startswith(prefix + ".")]


@pytest.fixture
def s3_config(tmp_path: Path, s3_endpoint: S3Endpoint, s3_bucket: str) -> tuple[Path, dict[str, str]]:
    config = tmp_path / "deploy.yaml"
    config.write_text(
        f"service_name: redis\nbackup:\n  bucket: {s3_bucket}\n  endpoint_url: {s3_endpoint.url}\n"
        "  force_path_style: true\n"
    )
    env = {
        "REDISOPS_STATE_DIR": str(tmp_path / "no-sandbox"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return config, env


def test_backup_create_loads_what_the_work_needs_and_one_s3_client(tmp_path, redis_server, s3_config):
    config, env = s3_config
    url = f"redis://127.0.0.1:{redis_server.endpoint.port}"
    result = run_driver(
        tmp_path, "backup", "create", "--url", url, "--config", str(config), "-o", "json", env=env
    )
    assert result["code"] == 0, result["stderr"][-3000:]
    assert json.loads(result["stdout"])["id"]
    assert result["s3_clients"] == 1
    for name in (*NEVER, "kubernetes", "rich.progress"):  # JSON output: no progress bar to draw
        assert not loaded(result, name), f"backup create imported {name}"


def test_backup_list_makes_one_s3_client_and_no_kubernetes(tmp_path, s3_config):
    config, env = s3_config
    result = run_driver(tmp_path, "backup", "list", "--config", str(config), "-o", "json", env=env)
    assert result["code"] == 0, result["stderr"][-3000:]
    assert result["s3_clients"] == 1
    for name in (*NEVER, "kubernetes"):
        assert not loaded(result, name), f"backup list imported {name}"


@pytest.mark.k8s
def test_history_makes_one_kube_client_and_no_s3(tmp_path, kube):
    result = run_driver(
        tmp_path, "history", "-o", "json", "--kubeconfig", str(kube.kubeconfig_path),
        env={"REDISOPS_STATE_DIR": str(tmp_path / "no-sandbox")},
    )  # fmt: skip
    assert result["code"] == 0, result["stderr"][-3000:]
    assert result["kube_clients"] == 1
    assert result["s3_clients"] == 0
    for name in (*NEVER, "botocore.client"):
        assert not loaded(result, name), f"history imported {name}"
