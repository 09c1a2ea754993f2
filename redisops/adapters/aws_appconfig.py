"""The AppConfig calls of the cutover: the content deployed to an environment, a new hosted version,
start a deployment and wait for it, the version deployed before; AppConfigData: what clients receive
now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from redisops.adapters.aws_clients import AwsClients, poll_until
from redisops.cancel import CancelToken
from redisops.errors import OperationTimeout, PlatformError

__all__ = ["AppConfigCalls", "Deployment"]


@dataclass(frozen=True)
class Deployment:
    """One AppConfig deployment."""

    number: int
    state: str
    version: str
    profile_id: str
    percentage: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class AppConfigCalls(AwsClients):
    """The AppConfig and AppConfigData calls (a part of :class:`redisops.adapters.aws.AwsAdapter`)."""

    def create_hosted_version(
        self,
        app: str,
        profile: str,
        content: bytes,
        content_type: str = "application/json",
        description: str = "",
    ) -> int:
        """A new hosted configuration version of the profile (versions are immutable); its number."""
        out = self._call(
            "appconfig",
            "create_hosted_configuration_version",
            f"{app}/{profile}",
            ApplicationId=app,
            ConfigurationProfileId=profile,
            Content=content,
            ContentType=content_type,
            Description=description,
        )
        return int(out["VersionNumber"])

    def hosted_version(self, app: str, profile: str, version: int) -> tuple[bytes, str]:
        """The content and content type of a hosted version."""
        out = self._call(
            "appconfig",
            "get_hosted_configuration_version",
            f"{app}/{profile}/{version}",
            ApplicationId=app,
            ConfigurationProfileId=profile,
            VersionNumber=version,
        )
        return out["Content"].read(), str(out.get("ContentType") or "application/octet-stream")

    def deployment(self, app: str, env: str, number: int) -> Deployment:
        """One deployment of the environment (GetDeployment)."""
        out = self._call(
            "appconfig",
            "get_deployment",
            f"{app}/{env}/{number}",
            ApplicationId=app,
            EnvironmentId=env,
            DeploymentNumber=number,
        )
        return _deployment(out)

    def deployments(self, app: str, env: str) -> list[Deployment]:
        """The environment's deployments, newest first."""
        out = self._call(
            "appconfig", "list_deployments", f"{app}/{env}", ApplicationId=app, EnvironmentId=env
        )
        found = [self.deployment(app, env, int(item["DeploymentNumber"])) for item in out.get("Items") or []]
        return sorted(found, key=lambda d: -d.number)

    def deployed_versions(self, app: str, env: str, profile: str) -> list[str]:
        """Versions of ``profile`` completely deployed to ``env``, newest first (current, previous, ...)."""
        return [
            d.version for d in self.deployments(app, env) if d.profile_id == profile and d.state == "COMPLETE"
        ]

    def start_deployment(
        self, app: str, env: str, profile: str, version: int | str, strategy: str
    ) -> Deployment:
        """StartDeployment of ``version`` of ``profile`` to ``env``."""
        out = self._call(
            "appconfig",
            "start_deployment",
            f"{app}/{env}",
            ApplicationId=app,
            EnvironmentId=env,
            DeploymentStrategyId=strategy,
            ConfigurationProfileId=profile,
            ConfigurationVersion=str(version),
        )
        return _deployment(out)

    def wait_deployment(
        self,
        app: str,
        env: str,
        number: int,
        *,
        timeout: float = 1800.0,
        interval: float = 2.0,
        cancel: CancelToken | None = None,
    ) -> Deployment:
        """Poll GetDeployment until COMPLETE (PlatformError when it is rolled back)."""

        def read() -> Deployment:
            d = self.deployment(app, env, number)
            if d.state == "ROLLED_BACK":
                raise PlatformError(
                    f"AppConfig deployment {number} to {env} was rolled back",
                    hint="see the deployment's event log (aws appconfig get-deployment) for why",
                )
            return d

        return poll_until(
            read,
            lambda d: d.state == "COMPLETE",
            timeout=timeout,
            interval=interval,
            cancel=cancel,
            late=lambda d: OperationTimeout(
                f"AppConfig deployment {number} to {env} is still {d.state} after {timeout:.0f}s",
                hint="it keeps going in AWS; check it with aws appconfig get-deployment",
            ),
        )

    def read_back(self, app: str, env: str, profile: str) -> bytes:
        """What a client starting now receives through AppConfigData (a fresh session)."""
        where = f"{app}/{env}/{profile}"
        start = self._call(
            "appconfigdata",
            "start_configuration_session",
            where,
            ApplicationIdentifier=app,
            EnvironmentIdentifier=env,
            ConfigurationProfileIdentifier=profile,
        )
        out = self._call(
            "appconfigdata",
            "get_latest_configuration",
            where,
            ConfigurationToken=start["InitialConfigurationToken"],
        )
        return bytes(out["Configuration"].read())


def _deployment(d: Mapping[str, Any]) -> Deployment:
    return Deployment(
        number=int(d["DeploymentNumber"]),
        state=str(d.get("State", "")),
        version=str(d.get("ConfigurationVersion", "")),
        profile_id=str(d.get("ConfigurationProfileId", "")),
        percentage=float(d.get("PercentageComplete") or 0.0),
    )
