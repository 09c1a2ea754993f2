"""AppConfig calls moto 5.2 lacks: environments, deployment strategies, deployments (a state machine
DEPLOYING -> BAKING -> COMPLETE on the clock, scaled by ``time_scale``) and the AppConfigData API
clients read from (StartConfigurationSession / GetLatestConfiguration: the content of the latest
completed deployment of the profile to the environment; an empty answer when the session already
received that version, as AppConfig does).

Applications, configuration profiles and hosted configuration versions stay in moto; the emulator
reads them from there.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redisops.emulators.aws.backend import Backend, fault, moto_error
from redisops.emulators.aws.protocol import ApiError

__all__ = ["DATA_HANDLERS", "HANDLERS", "PREDEFINED_STRATEGIES"]

SVC = "appconfig"
_ALNUM = string.ascii_lowercase + string.digits

#: AppConfig's predefined deployment strategies
PREDEFINED_STRATEGIES: dict[str, dict[str, Any]] = {
    "AppConfig.AllAtOnce": {
        "DeploymentDurationInMinutes": 0,
        "FinalBakeTimeInMinutes": 10,
        "GrowthFactor": 100.0,
    },
    "AppConfig.Linear50PercentEvery30Seconds": {
        "DeploymentDurationInMinutes": 1,
        "FinalBakeTimeInMinutes": 1,
        "GrowthFactor": 50.0,
    },
    "AppConfig.Canary10Percent20Minutes": {
        "DeploymentDurationInMinutes": 20,
        "FinalBakeTimeInMinutes": 10,
        "GrowthFactor": 10.0,
        "GrowthType": "EXPONENTIAL",
    },
}


def _new_id() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(7))


def _not_found(what: str) -> Exception:
    return fault(SVC, "ResourceNotFoundException", f"{what} not found")


def _moto(b: Backend, region: str, call: Callable[[Any], Any]) -> Any:
    try:
        return call(b.moto(SVC, region))
    except Exception as e:
        if getattr(e, "response", None) is not None:
            raise moto_error(SVC, e) from e
        raise


def _application(b: Backend, region: str, app_id: str) -> dict[str, Any]:
    app: dict[str, Any] = _moto(b, region, lambda c: c.get_application(ApplicationId=app_id))
    app.pop("ResponseMetadata", None)
    return app


# --- applications (moto keeps them; it has no ListApplications, so the emulator records names) -------


def _apps(b: Backend) -> dict[str, dict[str, Any]]:
    return b.area("applications")


def create_application(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    app: dict[str, Any] = _moto(b, region, lambda c: c.create_application(**p))
    app.pop("ResponseMetadata", None)
    with b.lock:
        _apps(b)[app["Id"]] = app
    return app


def list_applications(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    live = []
    for app_id in list(_apps(b)):
        try:
            live.append(_application(b, region, app_id))
        except ApiError:
            _apps(b).pop(app_id, None)  # deleted in moto
    return {"Items": [{k: a.get(k) for k in ("Id", "Name", "Description")} for a in live]}


# --- environments --------------------------------------------------------------------------------------


def _envs(b: Backend, app_id: str) -> dict[str, dict[str, Any]]:
    envs = b.area("environments")
    with b.lock:
        return envs.setdefault(app_id, {})  # type: ignore[no-any-return]


def _env(b: Backend, app_id: str, env_id: str) -> dict[str, Any]:
    env = _envs(b, app_id).get(env_id)
    if env is None:
        raise _not_found(f"Environment {env_id} of application {app_id}")
    return env


def create_environment(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    app = p["ApplicationId"]
    _application(b, region, app)
    env = {
        "ApplicationId": app,
        "Id": _new_id(),
        "Name": p["Name"],
        "Description": p.get("Description"),
        "State": "ReadyForDeployment",
        "Monitors": p.get("Monitors") or [],
        "Tags": p.get("Tags") or {},
    }
    with b.lock:
        _envs(b, app)[env["Id"]] = env
    return env


def get_environment(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    return _env(b, p["ApplicationId"], p["EnvironmentId"])


def list_environments(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    _application(b, region, p["ApplicationId"])
    return {"Items": list(_envs(b, p["ApplicationId"]).values())}


def delete_environment(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    with b.lock:
        _env(b, p["ApplicationId"], p["EnvironmentId"])
        del _envs(b, p["ApplicationId"])[p["EnvironmentId"]]
    return {}


# --- deployment strategies ------------------------------------------------------------------------------


def _strategies(b: Backend) -> dict[str, dict[str, Any]]:
    strategies = b.area("strategies")
    with b.lock:
        for sid, fields in PREDEFINED_STRATEGIES.items():
            strategies.setdefault(
                sid,
                {"Id": sid, "Name": sid, "GrowthType": "LINEAR", "ReplicateTo": "NONE", **fields},
            )
    return strategies


def _strategy(b: Backend, sid: str) -> dict[str, Any]:
    for s in _strategies(b).values():
        if sid in (s["Id"], s["Name"]):
            return s
    raise _not_found(f"Deployment strategy {sid}")


def create_strategy(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    s = {
        "Id": _new_id(),
        "Name": p["Name"],
        "Description": p.get("Description"),
        "DeploymentDurationInMinutes": int(p["DeploymentDurationInMinutes"]),
        "FinalBakeTimeInMinutes": int(p.get("FinalBakeTimeInMinutes", 0)),
        "GrowthFactor": float(p["GrowthFactor"]),
        "GrowthType": p.get("GrowthType", "LINEAR"),
        "ReplicateTo": p.get("ReplicateTo", "NONE"),
    }
    with b.lock:
        _strategies(b)[s["Id"]] = s
    return s


def get_strategy(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    return _strategy(b, p["DeploymentStrategyId"])


def list_strategies(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    return {"Items": list(_strategies(b).values())}


# --- deployments ---------------------------------------------------------------------------------------


def _deployments(b: Backend, app: str, env: str) -> list[dict[str, Any]]:
    deps = b.area("deployments")
    with b.lock:
        return deps.setdefault(f"{app}/{env}", [])  # type: ignore[no-any-return]


def _advance(b: Backend, d: dict[str, Any]) -> dict[str, Any]:
    """Move a deployment along its state machine by the (scaled) clock."""
    if d["State"] in ("COMPLETE", "ROLLED_BACK"):
        return d
    scale = b.config.time_scale  # seconds per deployment minute
    elapsed = time.time() - d["_started"]
    deploy = d["DeploymentDurationInMinutes"] * scale
    bake = d["FinalBakeTimeInMinutes"] * scale
    if elapsed >= deploy + bake:
        d["State"], d["PercentageComplete"] = "COMPLETE", 100.0
        d["CompletedAt"] = datetime.fromtimestamp(d["_started"] + deploy + bake, UTC)
        d["EventLog"].insert(0, _event("DEPLOYMENT_COMPLETED", "Deployment completed", d["CompletedAt"]))
    elif elapsed >= deploy:
        if d["State"] != "BAKING":
            d["EventLog"].insert(0, _event("BAKE_TIME_STARTED", "Bake time started", datetime.now(UTC)))
        d["State"], d["PercentageComplete"] = "BAKING", 100.0
    else:
        d["PercentageComplete"] = round(100.0 * elapsed / deploy, 1) if deploy else 100.0
    return d


def _event(kind: str, text: str, when: datetime) -> dict[str, Any]:
    return {"EventType": kind, "TriggeredBy": "APPCONFIG", "Description": text, "OccurredAt": when}


def _public(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not k.startswith("_")}


def start_deployment(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    app, env_id = p["ApplicationId"], p["EnvironmentId"]
    _application(b, region, app)
    env = _env(b, app, env_id)
    strategy = _strategy(b, p["DeploymentStrategyId"])
    profile = _moto(
        b,
        region,
        lambda c: c.get_configuration_profile(
            ApplicationId=app, ConfigurationProfileId=p["ConfigurationProfileId"]
        ),
    )
    version = str(p["ConfigurationVersion"])
    hosted = _moto(
        b,
        region,
        lambda c: c.get_hosted_configuration_version(
            ApplicationId=app, ConfigurationProfileId=profile["Id"], VersionNumber=int(version)
        ),
    )
    with b.lock:
        deps = _deployments(b, app, env_id)
        if any(_advance(b, d)["State"] in ("DEPLOYING", "BAKING") for d in deps):
            raise fault(
                SVC, "ConflictException", f"Deployment to environment {env['Name']} is already in progress"
            )
        now = datetime.now(UTC)
        d: dict[str, Any] = {
            "ApplicationId": app,
            "EnvironmentId": env_id,
            "DeploymentStrategyId": strategy["Id"],
            "ConfigurationProfileId": profile["Id"],
            "DeploymentNumber": len(deps) + 1,
            "ConfigurationName": profile["Name"],
            "ConfigurationLocationUri": profile.get("LocationUri", "hosted"),
            "ConfigurationVersion": version,
            "Description": p.get("Description"),
            "DeploymentDurationInMinutes": strategy["DeploymentDurationInMinutes"],
            "GrowthType": strategy["GrowthType"],
            "GrowthFactor": strategy["GrowthFactor"],
            "FinalBakeTimeInMinutes": strategy["FinalBakeTimeInMinutes"],
            "State": "DEPLOYING",
            "EventLog": [_event("DEPLOYMENT_STARTED", "Deployment started", now)],
            "PercentageComplete": 0.0,
            "StartedAt": now,
            "VersionLabel": hosted.get("VersionLabel"),
            "_started": time.time(),
            "_content": hosted["Content"].read(),
            "_content_type": hosted.get("ContentType") or "application/octet-stream",
        }
        deps.append(d)
        return _public(_advance(b, d))


def _deployment(b: Backend, p: dict[str, Any]) -> dict[str, Any]:
    deps = _deployments(b, p["ApplicationId"], p["EnvironmentId"])
    n = int(p["DeploymentNumber"])
    if not 1 <= n <= len(deps):
        raise _not_found(f"Deployment {n}")
    return deps[n - 1]


def get_deployment(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    _env(b, p["ApplicationId"], p["EnvironmentId"])
    with b.lock:
        return _public(_advance(b, _deployment(b, p)))


def list_deployments(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    _env(b, p["ApplicationId"], p["EnvironmentId"])
    keys = (
        "DeploymentNumber",
        "ConfigurationName",
        "ConfigurationVersion",
        "DeploymentDurationInMinutes",
        "GrowthType",
        "GrowthFactor",
        "FinalBakeTimeInMinutes",
        "State",
        "PercentageComplete",
        "StartedAt",
        "CompletedAt",
        "VersionLabel",
    )
    with b.lock:
        deps = [_advance(b, d) for d in _deployments(b, p["ApplicationId"], p["EnvironmentId"])]
        return {"Items": [{k: d.get(k) for k in keys} for d in reversed(deps)]}


def stop_deployment(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    _env(b, p["ApplicationId"], p["EnvironmentId"])
    with b.lock:
        d = _advance(b, _deployment(b, p))
        if d["State"] == "COMPLETE":
            raise fault(SVC, "BadRequestException", "This deployment has already completed")
        d["State"] = "ROLLED_BACK"
        d["EventLog"].insert(0, _event("ROLLBACK_COMPLETED", "Deployment stopped", datetime.now(UTC)))
        return _public(d)


# --- AppConfigData -------------------------------------------------------------------------------------


def _resolve(items: list[dict[str, Any]], ident: str, what: str) -> dict[str, Any]:
    for item in items:
        if ident in (item.get("Id"), item.get("Name")):
            return item
    raise fault("appconfigdata", "ResourceNotFoundException", f"{what} {ident} not found")


def _app_by_ident(b: Backend, region: str, ident: str) -> dict[str, Any]:
    try:
        return _application(b, region, ident)
    except ApiError:
        return _resolve(list(_apps(b).values()), ident, "Application")


def start_session(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    app = _app_by_ident(b, region, p["ApplicationIdentifier"])
    env = _resolve(list(_envs(b, app["Id"]).values()), p["EnvironmentIdentifier"], "Environment")
    profiles = _moto(b, region, lambda c: c.list_configuration_profiles(ApplicationId=app["Id"]))["Items"]
    profile = _resolve(profiles, p["ConfigurationProfileIdentifier"], "Configuration profile")
    token = secrets.token_urlsafe(24)
    poll = int(p.get("RequiredMinimumPollIntervalInSeconds") or 60)
    with b.lock:
        b.area("sessions")[token] = {
            "app": app["Id"],
            "env": env["Id"],
            "profile": profile["Id"],
            "seen": None,
            "poll": poll,
        }
    return {"InitialConfigurationToken": token}


def get_latest(b: Backend, p: dict[str, Any], region: str) -> dict[str, Any]:
    token = str(p.get("ConfigurationToken") or "")
    with b.lock:
        session = b.area("sessions").pop(token, None)
        if session is None:
            raise fault("appconfigdata", "BadRequestException", "Invalid or expired configuration token")
        served = None
        for d in _deployments(b, session["app"], session["env"]):
            if d["ConfigurationProfileId"] == session["profile"] and _advance(b, d)["State"] == "COMPLETE":
                served = d
        new_token = secrets.token_urlsafe(24)
        key = None if served is None else served["DeploymentNumber"]
        b.area("sessions")[new_token] = {**session, "seen": key}
    out: dict[str, Any] = {
        "NextPollConfigurationToken": new_token,
        "NextPollIntervalInSeconds": session["poll"],
        "Configuration": b"",
    }
    if served is not None and key != session["seen"]:
        out["Configuration"] = served["_content"]
        out["ContentType"] = served["_content_type"]
        if served.get("VersionLabel"):
            out["VersionLabel"] = served["VersionLabel"]
    return out


Handler = Callable[[Backend, dict[str, Any], str], dict[str, Any]]

#: AppConfig operation name -> handler(backend, params, region) -> result
HANDLERS: dict[str, Handler] = {
    "CreateApplication": create_application,
    "ListApplications": list_applications,
    "CreateEnvironment": create_environment,
    "GetEnvironment": get_environment,
    "ListEnvironments": list_environments,
    "DeleteEnvironment": delete_environment,
    "CreateDeploymentStrategy": create_strategy,
    "GetDeploymentStrategy": get_strategy,
    "ListDeploymentStrategies": list_strategies,
    "StartDeployment": start_deployment,
    "GetDeployment": get_deployment,
    "ListDeployments": list_deployments,
    "StopDeployment": stop_deployment,
}

#: AppConfigData operation name -> handler
DATA_HANDLERS: dict[str, Handler] = {
    "StartConfigurationSession": start_session,
    "GetLatestConfiguration": get_latest,
}
