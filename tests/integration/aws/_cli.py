"""Running the redisops CLI as a subprocess on a private sandbox state dir (the AWS sandbox tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REDISOPS = str(Path(sys.executable).with_name("redisops"))


def cli(
    state: Path, *args: str, check: bool = True, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``redisops ARGS`` on the sandbox in ``state``; a non-zero exit fails the test when ``check``."""
    env = {**os.environ, "REDISOPS_STATE_DIR": str(state)}
    proc = subprocess.run([REDISOPS, *args], capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"redisops {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def cli_json(state: Path, *args: str) -> Any:
    """``redisops ARGS -o json`` parsed."""
    return json.loads(cli(state, *args, "-o", "json").stdout)


def aws_client(url: str, service: str) -> Any:
    """A real boto3 client of ``service`` on ``url`` (the sandbox's dummy credentials)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def latest_configuration(data: Any, application: str, environment: str, profile: str) -> dict[str, Any]:
    """The JSON configuration a client reads through ``data`` (an appconfigdata boto3 client)."""
    token = data.start_configuration_session(
        ApplicationIdentifier=application,
        EnvironmentIdentifier=environment,
        ConfigurationProfileIdentifier=profile,
    )["InitialConfigurationToken"]
    return dict(json.loads(data.get_latest_configuration(ConfigurationToken=token)["Configuration"].read()))


def read_back(aws: dict[str, Any], url: str) -> dict[str, Any]:
    """What the clients read from AppConfig for the sandbox's ``aws`` ids, on the emulator at ``url``."""
    data = aws_client(url, "appconfigdata")
    return latest_configuration(data, aws["application_id"], aws["environment_id"], aws["profile_id"])
