"""``redisops tui`` in a real terminal (tmux, 80x24) against the Kubernetes API emulator: Redis deployed
there (its pods' port mapped to a real redis-server; the TUI reaches Redis by --url, the cluster by
--kubeconfig/--context/-n), the dashboard shows the pod and the PVC."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from typing import Any

import pytest

from redisops.config import DeploymentConfig

from .conftest import REDISOPS
from .test_tmux import Tmux

pytestmark = [pytest.mark.slow, pytest.mark.k8s]

NS = "llm-judge"
IMAGE = "redis:7.0.15-alpine"


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def test_the_dashboard_shows_the_pod_and_the_pvc(kube: Any, redis_factory: Any, tmux: Tmux, tmp_path):
    cfg = DeploymentConfig(image=IMAGE)
    server = redis_factory(cfg)
    kube.map_port(NS, "app=redis", cfg.port, ("127.0.0.1", server.endpoint.port))
    kc = kube.kubeconfig_path
    conf = tmp_path / "redis.yaml"
    conf.write_text(f"image: {IMAGE}\n")
    env = {**os.environ, "KUBECONFIG": str(kc)}
    deployed = subprocess.run(
        [REDISOPS, "deploy", "--yes", "--timeout", "30", "-c", str(conf), "--kubeconfig", str(kc)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deployed.returncode == 0, deployed.stderr + deployed.stdout

    keep = ("REDISOPS_STATE_DIR", "REDISOPS_AUDIT_LOG", "PATH", "HOME", "AWS_ACCESS_KEY_ID")
    assigns = [f"{k}={shlex.quote(os.environ[k])}" for k in keep if k in os.environ]
    tui = [REDISOPS, "tui", "--interval", "1", "--kubeconfig", str(kc), "--context", "emu", "-n", NS]
    tui += ["-c", str(conf), "--url", f"redis://127.0.0.1:{server.endpoint.port}"]
    if server.endpoint.password:
        assigns.append(f"TUI_REDIS_PASSWORD={shlex.quote(server.endpoint.password)}")
        tui += ["--password-env", "TUI_REDIS_PASSWORD"]
    cmd = " ".join(["env", "TERM=xterm-256color", *assigns, *map(shlex.quote, tui)])
    tmux.run("new-session", "-d", "-s", "tui", "-x", "80", "-y", "24", cmd)
    tmux.wait_for("connected")
    shown = tmux.wait_for("PVC ", timeout=90)
    assert "pod redis-" in shown and "Running" in shown, shown
    assert "Bound" in shown, shown
    assert all(len(line) <= 80 for line in shown.splitlines())
    tmux.keys("q")
    end = time.monotonic() + 30
    while tmux.alive() and time.monotonic() < end:
        time.sleep(0.2)
    assert not tmux.alive(), tmux.screen()
    assert kube.errors == []
