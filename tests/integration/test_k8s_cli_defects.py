"""Issue 12 defects of the Kubernetes CLI commands (items 24 and 20): ``manifests -n``, a missing
kubeconfig file, an unknown context, and a malformed ``--restore-job`` backup id."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from redisops.cli.main import app

runner = CliRunner()

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:9"}
users:
- name: u
  user: {token: not-a-secret}
contexts:
- name: emu
  context: {cluster: c, user: u}
- name: staging
  context: {cluster: c, user: u, namespace: x}
current-context: emu
"""


def test_manifests_take_a_namespace(tmp_path: Path) -> None:
    r = runner.invoke(app, ["manifests", "-n", "prod"])
    assert r.exit_code == 0, r.output
    docs = list(yaml.safe_load_all(r.stdout))
    namespaced = [d for d in docs if d["kind"] != "StorageClass"]
    assert namespaced and {d["metadata"]["namespace"] for d in namespaced} == {"prod"}
    backup = next(d for d in docs if d["kind"] == "CronJob" and d["metadata"]["name"] == "redis-backup")
    command = backup["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "redis://redis.prod.svc.cluster.local:6379" in command
    binding = next(d for d in docs if d["kind"] == "RoleBinding")
    assert binding["subjects"][0]["namespace"] == "prod"
    r = runner.invoke(app, ["manifests", "--namespace", "prod", "--only", "Service", "-o", "json"])
    assert r.exit_code == 0 and '"namespace": "prod"' in r.stdout


def test_restore_job_needs_a_well_formed_backup_id() -> None:
    for bad in ("nope", "20250101T000000Z", "20250101T000000Z-XYZ!", "latest"):
        r = runner.invoke(app, ["manifests", "--restore-job", bad])
        assert r.exit_code == 2, (bad, r.output)
        assert "not a backup id" in r.output
    r = runner.invoke(app, ["manifests", "--restore-job", "20250101T000000Z-ab12"])
    assert r.exit_code == 0 and "redis-restore-20250101t000000z-ab12" in r.stdout


def test_missing_kubeconfig_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "kubeconfig"
    r = runner.invoke(app, ["history", "--kubeconfig", str(missing)])
    assert r.exit_code == 3, r.output
    assert f"the kubeconfig file {missing} (--kubeconfig) does not exist" in r.output
    r = runner.invoke(app, ["history"], env={"KUBECONFIG": str(missing), "HOME": str(tmp_path)})
    assert r.exit_code == 3 and "(KUBECONFIG) does not exist" in r.output
    r = runner.invoke(
        app, ["deploy", "--dry-run", "--kubeconfig", str(missing), "--allow", "image-tag-unreleased"]
    )
    assert r.exit_code == 3 and "does not exist" in r.output


def test_unknown_context_lists_the_existing_ones(tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    kc.write_text(KUBECONFIG)
    r = runner.invoke(app, ["history", "--kubeconfig", str(kc), "--context", "nope"])
    assert r.exit_code == 3, r.output
    assert f"no context 'nope' in the kubeconfig {kc}; its contexts: emu, staging" in r.output
    assert "not-a-secret" not in r.output
