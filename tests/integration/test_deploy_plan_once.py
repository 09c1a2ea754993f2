"""Issue 13: a mutating operation run through the catalogue plans once, and its run reuses that plan.

``deploy.apply`` and ``deploy.rollback`` compute their dry run (lint, one server-side dry-run apply per
object diffed against the live object, the version guard) in the catalogue's plan; the run applies that
plan (``ctx.plan.state``) instead of computing it again. The deploy reports each planning as a
``planning N objects`` log event, so the events count the dry runs, against the Kubernetes emulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from redisops.config import DeploymentConfig
from redisops.errors import InvalidArgument
from redisops.events import Log, Recorder
from redisops.ops.audit import AuditLog
from redisops.ops.registry import catalogue
from redisops.ops.target import resolve_target

pytestmark = pytest.mark.k8s

NS = "llm-judge"
IMAGE = "redis:7.0.15-alpine"


@pytest.fixture
def cluster(kube: Any, redis_factory: Any) -> Any:
    """The emulator with the Redis pods' port mapped to a real redis-server."""
    server = redis_factory(DeploymentConfig(image=IMAGE))
    kube.map_port(NS, "app=redis", 6379, ("127.0.0.1", server.endpoint.port))
    yield kube
    assert kube.errors == []


def write_config(path: Path, s3_url: str, bucket: str, policy: str = "allkeys-lru") -> Path:
    path.write_text(
        f"image: {IMAGE}\nbackup:\n  bucket: {bucket}\n  endpoint_url: {s3_url}\n  force_path_style: true\n"
        f"config:\n  maxmemory_policy: {policy}\n"
    )
    return path


def plannings(events: Recorder) -> list[str]:
    return [e.message for e in events.of(Log) if e.message.startswith("planning ")]


def test_deploy_and_rollback_through_the_catalogue_plan_once(
    cluster: Any, s3_endpoint: Any, s3_bucket: str, tmp_path: Path
) -> None:
    v1 = write_config(tmp_path / "v1.yaml", s3_endpoint.url, s3_bucket)
    v2 = write_config(tmp_path / "v2.yaml", s3_endpoint.url, s3_bucket, policy="noeviction")
    target = dict(kubeconfig=cluster.kubeconfig_path, context="emu", env={})
    with resolve_target(config=v1, **target) as t:
        events = Recorder()
        first = t.run("deploy.apply", timeout=30, on_event=events)
        assert first.applied and first.revision == 1 and first.ok
        assert len(plannings(events)) == 1, plannings(events)
        assert any(e.message.startswith("reusing the plan of ") for e in events.of(Log))
        # the audit line records the plan the run applied
        (line,) = [x for x in AuditLog().read() if x["op"] == "deploy.apply"]
        assert line["outcome"] == "ok" and line["plan"]["details"]["what"] == first.what

    with resolve_target(config=v2, **target) as t:
        # a plan computed and shown first (as the CLI does before asking) is the one run: no dry run again
        cat = catalogue()
        shown = cat.plan("deploy.apply", {"timeout": 30}, target=t)
        assert "update ConfigMap/redis-config" in shown.steps
        events = Recorder()
        second = cat.invoke("deploy.apply", {"timeout": 30}, target=t, on_event=events, plan=shown)
        assert second.revision == 2 and second.what == shown.details["what"]
        assert plannings(events) == []
        with pytest.raises(InvalidArgument):
            cat.invoke("deploy.rollback", {}, target=t, plan=shown)

        events = Recorder()
        rolled = t.run("deploy.rollback", timeout=30, on_event=events)
        assert rolled.revision == 3 and rolled.what == "rollback to 1"
        assert len(plannings(events)) == 1, plannings(events)
