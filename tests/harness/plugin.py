"""pytest plugin: the real-service test harness, reusable by every test module.

Fixtures
--------
``redis_factory``      start real redis-server processes (own port, dir and config from the typed model);
                       all are stopped at test end, even on failure; their logs are attached to failures.
``redis_server``       one server with the production persistence settings (save points + appendonly yes).
``elasticache_like``   a server with SYNC/PSYNC/CONFIG/DEBUG/... renamed away, as ElastiCache blocks them.
``s3_endpoint``        one moto S3 server process for the session (real HTTP on a free port).
``s3_bucket``          a fresh, uniquely named bucket on it for the test; boto3 via ``endpoint_url``.
``tmp_state``          a private sandbox state dir (REDISOPS_STATE_DIR) for CLI/sandbox tests.
``kube``               a Kubernetes API emulator over real HTTP (tests/harness/k8s, see its README),
                       with a kubeconfig written to ``kube.kubeconfig_path`` (context ``emu``).

Loaded with ``-p tests.harness.plugin`` (see pyproject's pytest addopts).
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.local import (
    ManagedProcess,
    elasticache_like_directives,
    free_port,
    start_moto,
    start_redis,
)
from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.config import DeploymentConfig, config_from_mapping, render_redis_conf


@dataclass
class RedisInstance:
    """A running test redis-server: its endpoint, data dir, process and the config it runs."""

    endpoint: RedisEndpoint
    data_dir: Path
    workdir: Path
    process: ManagedProcess
    config: DeploymentConfig
    conf_text: str

    def client(self, db: int = 0, decode: bool = False) -> Any:
        """A redis-py client on ``db``."""
        return connect(self.endpoint.with_db(db), decode_responses=decode)

    def restart(self) -> None:
        """Stop (SIGTERM: Redis saves on shutdown) and start again on the same port and dir."""
        self.process.stop()
        self.process = start_redis(
            self.conf_text, self.workdir, port=self.endpoint.port, password=self.endpoint.password
        )


def local_overrides(port: int, data_dir: Path) -> dict[str, str]:
    """The redis.conf directives that make a rendered config run on this machine."""
    return {
        "bind": "127.0.0.1",
        "port": str(port),
        "dir": str(data_dir),
        "protected-mode": "no",
        "logfile": '""',
        "repl-diskless-sync-delay": "0",
    }


RedisFactory = Callable[..., RedisInstance]


@pytest.fixture
def redis_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RedisFactory]:
    """Start redis-server processes: ``redis_factory(config=..., extra={...}, password=...)``.

    ``config`` is a DeploymentConfig or a mapping of its fields (default: the production settings).
    ``extra`` adds or replaces redis.conf directives (e.g. ``{"enable-debug-command": "yes"}``).
    """
    started: list[RedisInstance] = []

    def start(
        config: DeploymentConfig | Mapping[str, Any] | None = None,
        *,
        extra: Mapping[str, str] | None = None,
        password: str | None = None,
        name: str | None = None,
    ) -> RedisInstance:
        cfg = config if isinstance(config, DeploymentConfig) else config_from_mapping(config or {})
        port = free_port()
        workdir = tmp_path / (name or f"redis-{len(started)}")
        data_dir = workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        conf = render_redis_conf(cfg, {**local_overrides(port, data_dir), **(extra or {})})
        proc = start_redis(conf, workdir, port=port, name=name or "test-redis", password=password)
        inst = RedisInstance(
            endpoint=RedisEndpoint(port=port, password=password),
            data_dir=data_dir,
            workdir=workdir,
            process=proc,
            config=cfg,
            conf_text=conf,
        )
        started.append(inst)
        return inst

    yield start
    failed = getattr(request.node, "rep_call", None)
    for inst in started:
        if failed is not None and failed.failed:
            request.node.add_report_section(
                "call", f"redis log {inst.process.name}", inst.process.log_tail(40)
            )
        # SIGKILL: the test is over and its data dir is thrown away, so nothing is gained by SIGTERM's
        # save on shutdown (a final RDB of the test's dataset, after up to one 100 ms cron tick)
        inst.process.stop(timeout=5, sig=signal.SIGKILL)


@pytest.fixture
def redis_server(redis_factory: RedisFactory) -> RedisInstance:
    """A redis-server running the production persistence config (save points + appendonly yes)."""
    return redis_factory()


@pytest.fixture
def elasticache_like(redis_factory: RedisFactory) -> RedisInstance:
    """A redis-server that refuses what ElastiCache blocks (SYNC, CONFIG, DEBUG, SAVE, ...)."""
    return redis_factory(
        {"config": {"appendonly": "no", "save": ""}}, extra=elasticache_like_directives(), name="elasticache"
    )


@dataclass
class S3Endpoint:
    """A moto S3 server: its URL and a boto3 client factory."""

    url: str
    process: ManagedProcess

    def client(self) -> Any:
        """A boto3 S3 client for the endpoint (dummy credentials, us-east-1)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """One moto S3 server process for the whole session."""
    port = free_port()
    proc = start_moto(tmp_path_factory.mktemp("moto"), port=port)
    yield S3Endpoint(url=f"http://127.0.0.1:{port}", process=proc)
    proc.stop(timeout=5)


@pytest.fixture
def s3_bucket(s3_endpoint: S3Endpoint) -> str:
    """A fresh bucket for this test (valid S3 name)."""
    name = f"redisops-test-{uuid.uuid4().hex[:12]}"
    s3_endpoint.client().create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def _private_audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every process it starts) writes the audit log into its own tmp dir, never into
    the user's state dir; and sees no sandbox but its own (a sandbox the developer left running in the
    default state dir must not change what a test's commands find)."""
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("REDISOPS_AUDIT_LOG", str(path))
    monkeypatch.setenv("REDISOPS_STATE_DIR", str(tmp_path / "no-default-sandbox"))
    return path


@pytest.fixture
def tmp_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private sandbox state dir, exported as REDISOPS_STATE_DIR for code and subprocesses."""
    state = tmp_path / "state"
    monkeypatch.setenv("REDISOPS_STATE_DIR", str(state))
    return state


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[Any]:
    """A Kubernetes API emulator (pods ready after 50 ms) and a kubeconfig for it."""
    from tests.harness.k8s import KubeEmulator

    with KubeEmulator(ready_delay=0.05) as emulator:
        path = tmp_path / "kubeconfig"
        emulator.write_kubeconfig(path, context="emu", namespace="llm-judge")
        emulator.kubeconfig_path = path
        yield emulator


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item so fixtures can attach logs to failures."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def pytest_configure(config: pytest.Config) -> None:
    """Fail fast with the install hint when redis-server is missing (tests need the real thing)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
