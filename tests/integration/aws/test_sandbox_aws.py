"""The sandbox's AWS side, as a user meets it: ``sandbox up`` runs the AWS emulator beside moto, the
ElastiCache-like source refuses what ElastiCache blocks (its commands renamed to secret names only the
0600 state file holds), a replication group stands for it, its parameter group sets its keyspace
notifications, and AppConfigData returns its endpoint in the write-up's shape."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path

import pytest
import redis

from redisops.adapters.local import ELASTICACHE_BLOCKED_COMMANDS, pid_alive
from tests.integration.aws._cli import aws_client, cli, cli_json, read_back

pytestmark = pytest.mark.slow


def test_sandbox_up_has_the_elasticache_like_source_and_its_aws_side(state: Path) -> None:
    up = cli_json(state, "sandbox", "up")
    emulator, aws = up["emulator"], up["aws"]
    assert set(up["services"]) == {"target", "source", "s3"} and emulator["status"] == "running"
    source_port = up["services"]["source"]["port"]
    url = emulator["url"]
    assert aws["replication_group_endpoint"] == f"127.0.0.1:{source_port}"

    # the source refuses every command ElastiCache blocks, by its public name
    client = redis.Redis(port=source_port, protocol=2)
    assert client.dbsize() > 0  # the sample data
    for command in ELASTICACHE_BLOCKED_COMMANDS:
        with pytest.raises(redis.ResponseError, match="unknown command"):
            client.execute_command(command, *(["GET", "maxmemory"] if command == "CONFIG" else []))
    # the secret names are in the state file (0600) only, never in the status output
    raw = json.loads((state / "state.json").read_text())
    secrets = raw["source_commands"]
    assert set(secrets) == {"SYNC", "CONFIG", "BGSAVE"}
    assert stat.S_IMODE((state / "state.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "aws" / "emulator.json").stat().st_mode) == 0o600
    shown = cli(state, "sandbox", "status", "-o", "json").stdout + cli(state, "sandbox", "status").stdout
    assert all(name not in shown for name in secrets.values())
    assert client.execute_command(secrets["CONFIG"], "GET", "maxmemory")[0] == b"maxmemory"

    # the replication group stands for the source; AppConfigData returns its endpoint
    ec = aws_client(url, "elasticache")
    group = ec.describe_replication_groups(ReplicationGroupId=aws["replication_group"])["ReplicationGroups"][
        0
    ]
    assert group["NodeGroups"][0]["PrimaryEndpoint"] == {"Address": "127.0.0.1", "Port": source_port}
    assert read_back(aws, url) == {
        "redis": {"host": "127.0.0.1", "port": source_port, "default_ttl_seconds": 604800}
    }

    # the parameter group sets the source's keyspace notifications (CONFIG SET is refused to clients)
    ec.modify_cache_parameter_group(
        CacheParameterGroupName=aws["parameter_group"],
        ParameterNameValues=[{"ParameterName": "notify-keyspace-events", "ParameterValue": "KEA"}],
    )
    events = client.execute_command(secrets["CONFIG"], "GET", "notify-keyspace-events")[1]
    assert set(events.decode()) == set("AKE")

    # down stops the emulator too; up again brings the AWS side back, the parameter group's setting kept
    down = cli_json(state, "sandbox", "down", "--discard-backups")
    assert sorted(down["stopped"]) == ["s3", "source", "target"]
    assert any("AWS emulator stopped" in n for n in down["notes"])
    assert not pid_alive(emulator["pid"])
    again = cli_json(state, "sandbox", "up")
    port = again["services"]["source"]["port"]
    assert read_back(again["aws"], again["emulator"]["url"])["redis"]["port"] == port
    assert again["aws"]["notify_keyspace_events"] == "KEA"
    config = json.loads((state / "state.json").read_text())["source_commands"]["CONFIG"]
    got = redis.Redis(port=port, protocol=2).execute_command(config, "GET", "notify-keyspace-events")
    assert set(got[1].decode()) == set("AKE")


def test_status_shows_a_dead_emulator_and_up_repairs_it(state: Path) -> None:
    up = cli_json(state, "sandbox", "up")
    emulator = up["emulator"]
    os.kill(emulator["pid"], signal.SIGKILL)
    for _ in range(200):
        if not pid_alive(emulator["pid"]):
            break
        time.sleep(0.05)
    broken = cli(state, "sandbox", "status", "-o", "json", check=False)
    assert broken.returncode == 21
    assert json.loads(broken.stdout)["emulator"]["status"] == "stopped"
    again = cli_json(state, "sandbox", "up")
    assert any(n.startswith("aws: stale state repaired") for n in again["notes"])
    assert again["emulator"]["status"] == "running" and again["emulator"]["pid"] != emulator["pid"]
    assert again["services"]["source"]["pid"] == up["services"]["source"]["pid"]
    port = again["services"]["source"]["port"]
    assert read_back(again["aws"], again["emulator"]["url"])["redis"]["port"] == port
