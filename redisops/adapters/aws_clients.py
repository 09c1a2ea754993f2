"""How redisops reaches the AWS control plane: :class:`AwsSettings` (region, endpoint, credentials) and
:class:`AwsClients`, the boto3 clients made from them (one session per profile for the process) whose
calls come out as :mod:`redisops.errors` errors with a hint (:mod:`redisops.adapters.aws_errors`).
Credentials never appear in messages or reprs. The service calls are in
:mod:`redisops.adapters.aws_elasticache` and :mod:`redisops.adapters.aws_appconfig`;
:class:`redisops.adapters.aws.AwsAdapter` has them all.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from redisops.adapters.aws_errors import aws_error
from redisops.adapters.s3_settings import AwsCredentials
from redisops.cancel import CancelToken

__all__ = ["AwsClients", "AwsSettings", "poll_until"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class AwsSettings:
    """How to reach the AWS control plane.

    Attributes:
        region: the AWS region.
        endpoint_url: one endpoint for elasticache, appconfig and appconfigdata (the sandbox's emulator);
            None = AWS.
        profile: a named profile of the default credential chain (ignored with ``credentials``).
        credentials: explicit credentials; None = the default chain.
        max_attempts: botocore attempts per call.
        connect_timeout, read_timeout: seconds.
    """

    region: str = "us-east-1"
    endpoint_url: str | None = None
    profile: str | None = None
    credentials: AwsCredentials | None = None
    max_attempts: int = 3
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AwsSettings:
        """From REDISOPS_AWS_ENDPOINT_URL, AWS_REGION (or AWS_DEFAULT_REGION) and REDISOPS_AWS_PROFILE."""
        e = os.environ if env is None else env
        return cls(
            region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=e.get("REDISOPS_AWS_ENDPOINT_URL") or None,
            profile=e.get("REDISOPS_AWS_PROFILE") or None,
        )

    def secrets(self) -> tuple[str, ...]:
        """Values to scrub from messages."""
        return self.credentials.secrets() if self.credentials else ()


_sessions: dict[str | None, Any] = {}
_sessions_lock = threading.RLock()


def _session(profile: str | None) -> Any:
    """One boto3 session per profile for the process: clients made from one session share its loaded
    service models (a new session per client costs about 0.5 s per client on a small machine)."""
    import boto3

    with _sessions_lock:
        if profile not in _sessions:
            _sessions[profile] = boto3.session.Session(profile_name=profile)
        return _sessions[profile]


class AwsClients:
    """boto3 clients of any AWS service, made once each from :class:`AwsSettings`, with translated errors."""

    def __init__(self, settings: AwsSettings | None = None) -> None:
        self.settings = settings or AwsSettings.from_env()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(region={self.settings.region!r}, "
            f"endpoint_url={self.settings.endpoint_url!r})"
        )

    def client(self, service: str) -> Any:
        """The boto3 client of ``service`` (made once; client creation is serialized, as boto3 needs)."""
        with _sessions_lock, self._lock:
            if service not in self._clients:
                from botocore.config import Config

                s = self.settings
                session = _session(s.profile if s.credentials is None else None)
                self._clients[service] = session.client(
                    service,
                    region_name=s.region,
                    endpoint_url=s.endpoint_url,
                    config=Config(
                        retries={"max_attempts": s.max_attempts, "mode": "standard"},
                        connect_timeout=s.connect_timeout,
                        read_timeout=s.read_timeout,
                    ),
                    **(s.credentials.client_kwargs() if s.credentials is not None else {}),
                )
            return self._clients[service]

    def _call(self, service: str, op: str, resource: str, **params: Any) -> Any:
        try:
            return getattr(self.client(service), op)(**params)
        except Exception as e:
            raise aws_error(
                e, service=service, op=op, resource=resource, secrets=self.settings.secrets()
            ) from e


def poll_until(
    read: Callable[[], _T],
    done: Callable[[_T], bool],
    *,
    timeout: float,
    interval: float,
    cancel: CancelToken | None,
    late: Callable[[_T], Exception],
) -> _T:
    """``read()`` every ``interval`` seconds until ``done`` accepts what it returned (``read`` raises
    for a state that will never get there); after ``timeout`` seconds ``late(last value)`` is raised.
    ``cancel`` stops the wait between two reads (Interrupted)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise late(value)
        if cancel is not None:
            cancel.sleep(interval)
        else:
            time.sleep(interval)
