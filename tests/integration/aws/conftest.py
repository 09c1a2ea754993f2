"""Fixtures of the AWS tests: an ElastiCache-like source whose blocked commands are renamed to secret
names, and the AWS emulator (in a thread) in front of the session's moto server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.local import elasticache_like_directives, secret_command_names
from redisops.emulators.aws import AwsEmulator
from tests.harness.plugin import RedisFactory, RedisInstance, S3Endpoint
from tests.integration.aws._cli import cli


@dataclass
class AwsStack:
    """The emulator, the moto server behind it and one replication group standing for the source."""

    emulator: AwsEmulator
    s3: S3Endpoint
    source: RedisInstance
    secrets: dict[str, str]
    group_id: str
    config_path: Path

    def client(self, service: str) -> Any:
        """A real boto3 client of ``service`` on the emulator (s3: on moto directly)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.s3.url if service == "s3" else self.emulator.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    """A private sandbox state dir for the CLI tests; the sandbox is taken down afterwards."""
    d = tmp_path / "sandbox"
    yield d
    cli(d, "sandbox", "down", "--discard-backups", check=False)


@pytest.fixture
def ec_source(redis_factory: RedisFactory) -> tuple[RedisInstance, dict[str, str]]:
    """An ElastiCache-like redis-server whose SYNC/CONFIG/BGSAVE are renamed to secret names."""
    names = secret_command_names()
    inst = redis_factory(
        {"config": {"appendonly": "no", "save": ""}},
        extra=elasticache_like_directives(names),
        name="ec-source",
    )
    return inst, names


@pytest.fixture
def aws_stack(
    tmp_path: Path, s3_endpoint: S3Endpoint, ec_source: tuple[RedisInstance, dict[str, str]]
) -> Iterator[AwsStack]:
    """The emulator (thread) on the session's moto, with a replication group for ``ec_source``."""
    source, names = ec_source
    group = f"rg-{uuid.uuid4().hex[:8]}"
    pg = f"pg-{uuid.uuid4().hex[:8]}"
    cfg = {
        "moto_url": s3_endpoint.url,
        "data_dir": str(tmp_path / "emulator"),
        "time_scale": 0.01,
        "snapshot_seconds": 0.3,
        "sources": {
            group: {
                "host": "127.0.0.1",
                "port": source.endpoint.port,
                "commands": names,
                "parameter_group": pg,
            }
        },
    }
    path = tmp_path / "emulator.json"
    path.write_text(json.dumps(cfg))
    path.chmod(0o600)
    with AwsEmulator(path) as emu:
        stack = AwsStack(emu, s3_endpoint, source, names, group, path)
        ec = stack.client("elasticache")
        ec.create_cache_parameter_group(
            CacheParameterGroupName=pg, CacheParameterGroupFamily="redis7", Description="test"
        )
        ec.create_replication_group(
            ReplicationGroupId=group,
            ReplicationGroupDescription="stands for the source",
            Engine="redis",
            CacheNodeType="cache.t4g.medium",
            NumCacheClusters=1,
            Port=source.endpoint.port,
            CacheParameterGroupName=pg,
        )
        yield stack
