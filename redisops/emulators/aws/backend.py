"""The emulator's configuration and state, and its boto3 clients to the moto server it extends.

The configuration is a JSON file (mode 0600: it names the source's secret command names), re-read
when it changes::

    {"moto_url": "http://127.0.0.1:PORT", "data_dir": "/path", "time_scale": 0.05,
     "sources": {"<replication group id>": {"host": "127.0.0.1", "port": 6380,
                 "commands": {"SYNC": "<secret>", "CONFIG": "<secret>"},
                 "parameter_group": "<cache parameter group name>"}}}

``time_scale`` is the seconds one AppConfig deployment minute lasts here (deployments reach COMPLETE
after ``(duration + bake) * time_scale`` seconds); ``snapshot_seconds`` how long a new snapshot stays
``creating`` (DescribeSnapshots says so) before it is ``available``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redisops.emulators.aws.protocol import ApiError, service_model
from redisops.emulators.aws.source import SourceNode

__all__ = ["Backend", "EmulatorConfig", "fault"]


def fault(service: str, shape: str, message: str) -> ApiError:
    """An ApiError for the model's error shape ``shape`` (its code and HTTP status from the model)."""
    meta = service_model(service).shape_for(shape).metadata.get("error") or {}
    return ApiError(str(meta.get("code", shape)), message, int(meta.get("httpStatusCode", 400)))


@dataclass
class SourceEntry:
    """A replication group the emulator can reach: its node and parameter group."""

    node: SourceNode
    parameter_group: str | None = None


@dataclass
class EmulatorConfig:
    """What the emulator serves against (see the module docstring)."""

    moto_url: str
    data_dir: Path
    time_scale: float = 0.05
    sources: dict[str, SourceEntry] = field(default_factory=dict)
    #: seconds a new snapshot stays ``creating`` before it is ``available``
    snapshot_seconds: float = 0.0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EmulatorConfig:
        """Parse the JSON config."""
        return cls(
            moto_url=str(raw["moto_url"]),
            data_dir=Path(str(raw["data_dir"])),
            time_scale=float(raw.get("time_scale", 0.05)),
            snapshot_seconds=float(raw.get("snapshot_seconds", 0.0)),
            sources={
                str(k): SourceEntry(SourceNode.from_dict(v), v.get("parameter_group"))
                for k, v in dict(raw.get("sources") or {}).items()
            },
        )


class Backend:
    """Configuration (re-read when its file changes), the emulator's own state, and moto clients."""

    def __init__(self, config: EmulatorConfig | Path) -> None:
        self.lock = threading.RLock()
        self._path = config if isinstance(config, Path) else None
        self._mtime = 0.0
        self._config = config if isinstance(config, EmulatorConfig) else None
        self._clients: dict[tuple[str, str, str], Any] = {}
        #: emulator-owned state, by area (elasticache.py and appconfig.py fill it)
        self.state: dict[str, Any] = {}
        self.config  # noqa: B018 - read it now: a bad file fails at start-up

    @property
    def config(self) -> EmulatorConfig:
        """The configuration (re-read when the file changed)."""
        if self._path is not None:
            mtime = self._path.stat().st_mtime
            if self._config is None or mtime != self._mtime:
                self._config = EmulatorConfig.from_dict(json.loads(self._path.read_text()))
                self._mtime = mtime
        assert self._config is not None
        self._config.data_dir.mkdir(parents=True, exist_ok=True)
        return self._config

    def moto(self, service: str, region: str) -> Any:
        """A boto3 client of ``service`` on the moto server (dummy credentials; a new one when the config
        names another moto)."""
        url = self.config.moto_url
        key = (service, region, url)
        with self.lock:
            if key not in self._clients:
                import boto3
                from botocore.config import Config

                self._clients[key] = boto3.client(
                    service,
                    endpoint_url=url,
                    region_name=region,
                    aws_access_key_id="emulator",
                    aws_secret_access_key="emulator",
                    config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
                )
            return self._clients[key]

    def warm(self, region: str = "us-east-1") -> None:
        """Make the moto clients and have moto load its services now (the first calls then answer
        quickly); failures are left for the real calls to report."""
        probes: tuple[tuple[str, str, dict[str, str]], ...] = (
            ("elasticache", "describe_cache_clusters", {}),
            ("appconfig", "get_application", {"ApplicationId": "warmup"}),
            ("s3", "list_buckets", {}),
        )
        for service, op, params in probes:
            try:
                getattr(self.moto(service, region), op)(**params)
            except Exception:  # a warm-up only: the real call reports
                continue

    def area(self, name: str) -> dict[str, Any]:
        """The state dict of one area (created empty)."""
        with self.lock:
            return self.state.setdefault(name, {})  # type: ignore[no-any-return]


def moto_error(service: str, e: Exception) -> ApiError:
    """moto's ClientError as the ApiError to pass on (same code, message and status)."""
    resp = getattr(e, "response", None) or {}
    err = resp.get("Error") or {}
    status = int((resp.get("ResponseMetadata") or {}).get("HTTPStatusCode", 400))
    return ApiError(str(err.get("Code", "InternalFailure")), str(err.get("Message", e)), status)
