"""The steps the cutover and the rollback share: switch the AppConfig endpoint (api: a new hosted version
deployed and awaited; terraform: the diff shown, the read-back awaited), restart Deployments
(``deploy.restart``'s engine) and check the clients' view afterwards."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from redisops.errors import RedisOpsError
from redisops.ops.catalogue import OpContext
from redisops.ops.cutover_common import AppConfigRef, read_back_endpoint, wait_read_back

__all__ = ["restart", "switch_appconfig", "verify_after"]


def switch_appconfig(
    ctx: OpContext,
    aws: Any,
    ref: AppConfigRef,
    content: bytes,
    want: str,
    *,
    mode: str,
    diff: str,
    hcl_file: str | None,
    timeout: float,
    interval: float,
    why: str,
) -> str | None:
    """Deploy ``content`` (api) or show the Terraform ``diff`` (terraform), then wait until the read-back
    names ``want``; the version now deployed."""
    if mode == "api":
        version = aws.create_hosted_version(
            ref.application, ref.profile, content, description=f"redisops: redis endpoint {want}"
        )
        ctx.reporter.phase("appconfig", f"deploying version {version} of {ref} ({ref.strategy})")
        dep = aws.start_deployment(ref.application, ref.environment, ref.profile, version, ref.strategy)
        aws.wait_deployment(
            ref.application,
            ref.environment,
            dep.number,
            timeout=timeout,
            interval=interval,
            cancel=ctx.cancel,
        )
    else:
        if hcl_file:
            from pathlib import Path

            Path(hcl_file).write_text(diff)
            ctx.reporter.log(f"the Terraform change is in {hcl_file}")
        ctx.reporter.log("make this change in appconfig/main.tf and run terragrunt apply:\n" + diff)
        ctx.reporter.phase("appconfig", f"waiting for the read-back of {ref} to name {want}")
    wait_read_back(
        aws, ref, want, timeout=timeout, interval=interval, reporter=ctx.reporter, cancel=ctx.cancel, why=why
    )
    versions = aws.deployed_versions(ref.application, ref.environment, ref.profile)
    return versions[0] if versions else None


def restart(ctx: OpContext, namespace: str, names: list[str], timeout: float) -> list[dict[str, Any]]:
    """Rollout restart each Deployment (``deploy.restart``'s engine); one dict per Deployment."""
    from redisops.ops.entries_util import log_progress
    from redisops.ops.services import restart_services

    out = []
    for i, name in enumerate(names):
        ctx.cancel.check(f"before restarting {name}")
        ctx.reporter.phase("restart", f"Deployment {namespace}/{name}")
        for r in restart_services(
            ctx.target.kube(), namespace, [name], timeout=timeout, progress=log_progress(ctx.reporter)
        ):
            out.append(asdict(r))
        ctx.reporter.progress(i + 1, len(names), unit="deployments")
    return out


def verify_after(
    ctx: OpContext,
    aws: Any,
    ref: AppConfigRef,
    want: str,
    kubernetes: bool,
    names: list[str],
    ping: Any = None,
) -> tuple[list[dict[str, Any]], bool]:
    """The clients' view after a switch: the read-back, then PING (sandbox) or verify_clients (Kubernetes)."""
    from redisops.adapters.redis_conn import connect

    ctx.reporter.phase("verify clients", f"read-back of {ref}, expecting {want}")
    seen = read_back_endpoint(aws, ref)
    checks: list[dict[str, Any]] = [{"check": "appconfig-read-back", "ok": seen == want, "detail": seen}]
    if kubernetes:
        from redisops.ops.services import verify_clients

        for c in verify_clients(ctx.target.kube(), ctx.target.config(), names):
            checks.append(
                {
                    "check": f"client:{c.service}",
                    "ok": c.ok,
                    "detail": c.problem or c.connect_output or "; ".join(c.log_errors),
                }
            )
    else:
        ep = ping if ping is not None else ctx.target.redis
        try:
            client = connect(ep)
            client.close()
            checks.append({"check": "ping", "ok": True, "detail": f"PONG from {ep.host}:{ep.port}"})
        except RedisOpsError as e:
            checks.append({"check": "ping", "ok": False, "detail": e.one_line()})
    return checks, all(c["ok"] for c in checks)
