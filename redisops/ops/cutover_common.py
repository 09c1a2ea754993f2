"""What the cutover, the rollback and the decommission share: the AppConfig identifiers of the target,
whether the target runs on Kubernetes, the endpoint clients read back through AppConfigData, and
waiting until they read a given endpoint."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redisops.adapters.aws import AwsAdapter
from redisops.cancel import CancelToken
from redisops.errors import InvalidArgument, OperationTimeout, RedisOpsError
from redisops.events import Reporter
from redisops.ops.cutover_plan import endpoint_of

__all__ = [
    "AppConfigRef",
    "appconfig_ref",
    "on_kubernetes",
    "read_back_endpoint",
    "state_dir_of",
    "wait_read_back",
]


@dataclass(frozen=True)
class AppConfigRef:
    """Which AppConfig application, environment and profile hold the Redis endpoint (IDs)."""

    application: str
    environment: str
    profile: str
    strategy: str

    def __str__(self) -> str:
        return f"{self.application}/{self.environment}/{self.profile}"


def _sandbox_aws(target: Any) -> dict[str, Any]:
    if not (getattr(target, "is_sandbox", False) or getattr(target, "name", None) in ("sandbox", "url")):
        return {}
    from redisops.ops.sandbox import sandbox_status

    state = sandbox_status(getattr(target, "state_dir", None))
    return dict(state.aws) if state is not None and state.aws else {}


def appconfig_ref(
    target: Any, application: str | None, environment: str | None, profile: str | None, strategy: str | None
) -> AppConfigRef:
    """The identifiers given, else the sandbox's (InvalidArgument naming what is missing)."""
    sb = _sandbox_aws(target)
    app = application or sb.get("application_id")
    env = environment or sb.get("environment_id")
    prof = profile or sb.get("profile_id")
    missing = [n for n, v in (("application", app), ("environment", env), ("profile", prof)) if not v]
    if missing:
        raise InvalidArgument(
            f"which AppConfig {', '.join(missing)}? (the sandbox's are the default only for the sandbox)",
            hint="pass --application, --environment and --profile (their IDs)",
        )
    return AppConfigRef(
        str(app), str(env), str(prof), strategy or str(sb.get("strategy") or "AppConfig.AllAtOnce")
    )


def on_kubernetes(target: Any, given: bool | None) -> bool:
    """Whether the clients run on Kubernetes: as given, else not for the sandbox, else when a cluster is
    configured (a kubeconfig or context, $KUBECONFIG, in-cluster, or ~/.kube/config)."""
    if given is not None:
        return given
    if getattr(target, "is_sandbox", False):
        return False
    if getattr(target, "kubeconfig", None) or getattr(target, "context", None):
        return True
    env = getattr(target, "env", os.environ)
    return (
        bool(env.get("KUBECONFIG") or env.get("KUBERNETES_SERVICE_HOST"))
        or (Path.home() / ".kube" / "config").exists()
    )


def state_dir_of(target: Any) -> Path | None:
    """The target's state dir (None: the default one)."""
    d = getattr(target, "state_dir", None)
    return Path(d) if d is not None else None


def read_back_endpoint(aws: AwsAdapter, ref: AppConfigRef) -> str | None:
    """The endpoint a client starting now receives."""
    return endpoint_of(aws.read_back(ref.application, ref.environment, ref.profile))


def wait_read_back(
    aws: AwsAdapter,
    ref: AppConfigRef,
    want: str,
    *,
    timeout: float,
    interval: float,
    reporter: Reporter,
    cancel: CancelToken,
    why: str,
) -> float:
    """Poll the AppConfigData read-back until it names ``want``; the seconds it took.

    Raises:
        OperationTimeout: still another endpoint after ``timeout`` (``why`` says what to do).
    """
    started = time.monotonic()
    last: str | None = None
    while True:
        try:
            seen = read_back_endpoint(aws, ref)
        except RedisOpsError as e:
            seen = f"(unreadable: {e.one_line()})"
        if seen == want:
            return round(time.monotonic() - started, 3)
        if seen != last:
            reporter.log(f"AppConfig read-back of {ref}: {seen}; waiting for {want}")
            last = seen
        if time.monotonic() - started >= timeout:
            raise OperationTimeout(
                f"the AppConfig read-back of {ref} still names {seen} after {timeout:g}s, not {want}",
                hint=why,
            )
        cancel.sleep(interval, f"while waiting for the AppConfig read-back to show {want}")
