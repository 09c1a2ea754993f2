"""The Python API of Redis on Kubernetes: ``DeployAPI(target)`` (``target.deploy`` once the target has it).

Every method runs a catalogue operation on the target (``deploy.apply``, ``deploy.rollback``,
``deploy.restart``, ``deploy.history``, ``deploy.verify_clients``, and without a cluster
``manifests.render``, ``lint.run``, ``lint.rules``), acting on the target's config, cluster and
namespace::

    import redisops

    t = redisops.target("staging")                 # a named target with a kube context
    api = DeployAPI(t)
    print(api.plan().steps)                        # the server-side dry-run diff
    api.apply(on_event=print)
    for rev in api.history().revisions:
        print(rev.number, rev.what)
    print(api.manifests(only=["Deployment"]).to_yaml())   # no cluster needed: the config only
    print(api.lint().summary)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from redisops._lazy import lazy_getattr
from redisops.ops.catalogue import Plan

if TYPE_CHECKING:
    from redisops.cancel import CancelToken
    from redisops.events import EventSink
    from redisops.lint import Finding, summarize
    from redisops.ops.deploy import DeployResult
    from redisops.ops.entries_deploy import ClientsReport, DeployHistory, RestartReport
    from redisops.ops.entries_lint import LintReport, LintRules, RenderedManifests
    from redisops.ops.target import Target

#: the facade, and the result types front ends render (they import them from here)
__all__ = [
    "ClientsReport",
    "DeployAPI",
    "DeployHistory",
    "DeployResult",
    "Finding",
    "LintReport",
    "LintRules",
    "RenderedManifests",
    "RestartReport",
    "summarize",
]

#: loaded on first use, so a command that only deploys never loads the lint rules (and the reverse)
__getattr__ = lazy_getattr(
    __name__,
    {
        "DeployResult": "redisops.ops.deploy",
        "ClientsReport": "redisops.ops.entries_deploy",
        "DeployHistory": "redisops.ops.entries_deploy",
        "RestartReport": "redisops.ops.entries_deploy",
        "LintReport": "redisops.ops.entries_lint",
        "LintRules": "redisops.ops.entries_lint",
        "RenderedManifests": "redisops.ops.entries_lint",
        "Finding": "redisops.lint",
        "summarize": "redisops.lint",
    },
    globals(),
)


class DeployAPI:
    """Deploy, roll back and restart on the target's cluster (see the module docstring)."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"DeployAPI({self._target!r})"

    def plan(
        self,
        *,
        allow: Sequence[str] = (),
        take_over: bool = False,
        no_backup: bool = False,
        timeout: float = 300.0,
    ) -> Plan:
        """What :meth:`apply` would change (a server-side dry run against the live objects); changes
        nothing. A lint error not in ``allow``, an image whose Redis cannot read the data or objects a
        Helm release owns (without ``take_over``) are the plan's blockers."""
        params = {"allow": list(allow), "take_over": take_over, "no_backup": no_backup, "timeout": timeout}
        return self._target.plan("deploy.apply", params)

    def apply(
        self,
        *,
        allow: Sequence[str] = (),
        take_over: bool = False,
        no_backup: bool = False,
        timeout: float = 300.0,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> DeployResult:
        """Lint, apply the rendered manifests, wait for the rollout, verify, record a revision (a backup
        of the running Redis first when its image is upgraded, unless ``no_backup``).

        Raises:
            AbortedError: a read-only (production) target.
            PlanBlocked: what :meth:`plan` lists as blockers.
            OperationTimeout / VerificationError: the rollout or the checks failed (recorded as failed).
        """
        params = {"allow": list(allow), "take_over": take_over, "no_backup": no_backup, "timeout": timeout}
        result: DeployResult = self._target.run("deploy.apply", params, on_event=on_event, cancel=cancel)
        return result

    def history(self) -> DeployHistory:
        """The recorded revisions, oldest first."""
        result: DeployHistory = self._target.run("deploy.history")
        return result

    def plan_rollback(
        self,
        to: int | None = None,
        *,
        take_over: bool = False,
        no_backup: bool = False,
        timeout: float = 300.0,
    ) -> Plan:
        """What :meth:`rollback` would change; no revision to roll back to is a blocker."""
        params = {"to": to, "take_over": take_over, "no_backup": no_backup, "timeout": timeout}
        return self._target.plan("deploy.rollback", params)

    def rollback(
        self,
        to: int | None = None,
        *,
        take_over: bool = False,
        no_backup: bool = False,
        timeout: float = 300.0,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> DeployResult:
        """Re-apply revision ``to`` (default: the last successful one before the current), wait,
        verify, and record a new revision ``rollback to N``.

        Raises:
            AbortedError: a read-only (production) target.
            NotFoundError: no such revision, or none to roll back to.
            PlanBlocked: the revision's Redis cannot read the data.
        """
        params = {"to": to, "take_over": take_over, "no_backup": no_backup, "timeout": timeout}
        result: DeployResult = self._target.run("deploy.rollback", params, on_event=on_event, cancel=cancel)
        return result

    def plan_restart(self, deployments: Sequence[str] = (), *, timeout: float = 300.0) -> Plan:
        """Which Deployments :meth:`restart` would restart (missing ones are warnings)."""
        return self._target.plan("deploy.restart", {"deployments": list(deployments), "timeout": timeout})

    def restart(
        self,
        deployments: Sequence[str] = (),
        *,
        timeout: float = 300.0,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> RestartReport:
        """Rolling-restart ``deployments`` (default: the config's client services) one by one, waiting
        for each; a failure is in the report (``report.ok``) and the next one is restarted anyway."""
        params = {"deployments": list(deployments), "timeout": timeout}
        result: RestartReport = self._target.run("deploy.restart", params, on_event=on_event, cancel=cancel)
        return result

    def verify_clients(
        self, deployments: Sequence[str] = (), *, tail: int = 200, on_event: EventSink | None = None
    ) -> ClientsReport:
        """Whether each client Deployment (default: the config's client services) reaches Redis from
        inside its pod, and whether its recent logs show Redis errors (``report.ok``)."""
        params = {"deployments": list(deployments), "tail": tail}
        result: ClientsReport = self._target.run("deploy.verify_clients", params, on_event=on_event)
        return result

    # --- no cluster needed: the target's config only ----------------------------------------------

    def manifests(
        self,
        *,
        only: Sequence[str] = (),
        restore_job: str | None = None,
        tool_image: str | None = None,
        revision: str | None = None,
        include_storage_class: bool = True,
        include_client_egress: bool = True,
    ) -> RenderedManifests:
        """The Kubernetes objects of the target's config in apply order (``manifests.render``):
        ``.objects``, ``.to_yaml()`` for ``kubectl apply -f -``, ``.to_dict()`` a Kubernetes ``List``.
        ``restore_job`` renders only a restore Job for that backup id.

        Raises:
            InvalidArgument: an unknown kind in ``only``, a malformed backup id.
        """
        params = {
            "only": list(only),
            "restore_job": restore_job,
            "tool_image": tool_image,
            "revision": revision,
            "include_storage_class": include_storage_class,
            "include_client_egress": include_client_egress,
        }
        result: RenderedManifests = self._target.run("manifests.render", params)
        return result

    def lint(
        self,
        *,
        workload: Literal["cache", "store"] | None = None,
        strict: bool = False,
        manifests_file: str | None = None,
        manifests_yaml: str | None = None,
    ) -> LintReport:
        """Lint the target's config and its manifests (``lint.run``), or the manifests given (a YAML
        file or text, e.g. ``helm template`` output). ``report.exit_code`` is what the CLI exits with
        (0, 20 for warnings with ``strict``, 21 for errors)."""
        params = {
            "workload": workload,
            "strict": strict,
            "manifests_file": manifests_file,
            "manifests_yaml": manifests_yaml,
        }
        result: LintReport = self._target.run("lint.run", params)
        return result

    def lint_rules(self) -> LintRules:
        """The lint rules (``lint.rules``): id, severity, scope and title of each."""
        result: LintRules = self._target.run("lint.rules")
        return result
