"""The target: where to act and with which credentials, resolved once for every front end.

A :class:`Target` is built by :func:`resolve_target` (also ``redisops.target(...)``) from the same
inputs whatever the front end: a named target of the targets file (:mod:`redisops.ops.targets_file`),
a Redis URL, a deployment config, a kubeconfig/context/namespace, or nothing (the local sandbox).

Password precedence (the first that is set wins)::

    password_file > password_env > the sandbox state's password file (while it exists) > the URL's
    password > the named target's password_file > its password_env > $REDISCLI_AUTH > $REDIS_PASSWORD >
    prompt (only with ask_password and a prompt)

The target records where the password came from (``password_source``), never the password: its repr,
:meth:`Target.to_dict`, its errors and logs carry no secret. A target marked ``production: true`` is
read-only unless ``allow_writes=True``; mutating operations call :meth:`Target.require_writable`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.errors import AbortedError, ConfigError, InvalidArgument, NotFoundError, RedisOpsError
from redisops.ops.target_credentials import Password, resolve_password
from redisops.ops.targets_file import SANDBOX, TargetSpec, load_targets

if TYPE_CHECKING:
    from redisops.adapters.kube import Kube
    from redisops.backup import BackupStore
    from redisops.cancel import CancelToken
    from redisops.config.model import DeploymentConfig
    from redisops.events import EventSink
    from redisops.health import HealthReport
    from redisops.ops.api_backup import BackupAPI
    from redisops.ops.api_deploy import DeployAPI
    from redisops.ops.api_inspect import InspectAPI
    from redisops.ops.api_migrate import MigrateAPI
    from redisops.ops.api_restore import RestoreAPI
    from redisops.ops.catalogue import Plan
    from redisops.ops.sandbox import SandboxState

__all__ = ["Target", "TargetSpec", "load_targets", "resolve_target", "target"]

#: the connect/command timeout when none is given (seconds)
DEFAULT_TIMEOUT = 5.0


class Target:
    """Where to act and with which credentials; built by :func:`resolve_target`, never holds a secret
    in its repr or :meth:`to_dict` (only the endpoint carries the password, hidden from its repr).

    Attributes:
        name: the named target, or ``"sandbox"`` (the implicit default) or ``"url"`` (an ad hoc --url).
        production: the target is marked ``production: true``.
        read_only: production and not ``allow_writes``; see :meth:`require_writable`.
        password_source: where the password came from (``"REDISCLI_AUTH"``, ``"file:/run/secrets/x"``,
            ``"env:MY_PW"``, ``"url"``, ``"prompt"``), or None when no password is used.
        config_path / kubeconfig / context / namespace: what :meth:`config` and :meth:`kube` use.

    The Kubernetes client (:meth:`kube`) is built once and closed by :meth:`close` (or ``with target:``).
    """

    def __init__(
        self,
        *,
        name: str,
        endpoint: RedisEndpoint | None,
        endpoint_problem: RedisOpsError | None = None,
        password_source: str | None = None,
        config_path: Path | None = None,
        kubeconfig: Path | None = None,
        context: str | None = None,
        namespace: str | None = None,
        production: bool = False,
        allow_writes: bool = False,
        state_dir: Path | None = None,
        sandbox: SandboxState | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._endpoint = endpoint
        self._endpoint_problem = endpoint_problem
        self.password_source = password_source
        self.config_path = config_path
        self.kubeconfig = kubeconfig
        self.context = context
        self._namespace = namespace
        self.production = production
        self.read_only = production and not allow_writes
        self.state_dir = state_dir
        self._sandbox = sandbox
        self._env: Mapping[str, str] = os.environ if env is None else env
        self._config: DeploymentConfig | None = None
        self._kube: Kube | None = None

    # --- what it is ------------------------------------------------------------------------------------

    @property
    def is_sandbox(self) -> bool:
        """The implicit default target: the local sandbox."""
        return self.name == SANDBOX

    @property
    def redis(self) -> RedisEndpoint:
        """The Redis endpoint (with its credentials, hidden from its repr).

        Raises:
            NotFoundError: the target is the sandbox and the sandbox is not running.
            ConfigError: the password file cannot be read, or the variable named for it is not set.
        """
        if self._endpoint_problem is not None:
            raise self._endpoint_problem
        if self._endpoint is None:
            raise NotFoundError(f"target {self.name} names no Redis")
        return self._endpoint

    @property
    def namespace(self) -> str:
        """The Kubernetes namespace: the explicit or named one, else the config's."""
        return self._namespace or self.config().namespace

    @property
    def sandbox_config_file(self) -> str | None:
        """The config file the sandbox was started with (sandbox target only)."""
        return self._sandbox.config_file if self._sandbox is not None and self.is_sandbox else None

    def __repr__(self) -> str:
        redis = self._endpoint.url() if self._endpoint is not None else None
        return (
            f"Target(name={self.name!r}, redis={redis!r}, password_source={self.password_source!r}, "
            f"read_only={self.read_only})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: where, whose, which source of password; never the password."""
        ep = self._endpoint
        return {
            "name": self.name,
            "redis": ep.url() if ep is not None else None,
            "user": ep.username if ep is not None else None,
            "tls": ep.tls if ep is not None else None,
            "password_source": self.password_source,
            "config": str(self.config_path) if self.config_path else self.sandbox_config_file,
            "kubeconfig": str(self.kubeconfig) if self.kubeconfig else None,
            "context": self.context,
            "namespace": self._namespace,
            "production": self.production,
            "read_only": self.read_only,
        }

    # --- guards ----------------------------------------------------------------------------------------

    def require_writable(self, what: str) -> None:
        """Refuse a mutating step on a read-only (production) target.

        Raises:
            AbortedError: the target is marked ``production: true`` and writes were not allowed.
        """
        if self.read_only:
            raise AbortedError(
                f"target {self.name} is marked production: read-only; pass --read-write to {what}",
                hint="--read-write (allow_writes=True) allows changes to a production target",
                context={"target": self.name, "action": what},
            )

    # --- lazy parts ------------------------------------------------------------------------------------

    def config(self) -> DeploymentConfig:
        """The deployment config, loaded once: the explicit or named config file, else the file the
        sandbox was started with (sandbox target), else the defaults; moved to :attr:`namespace` when
        one is given (``service_dns`` follows when it was derived)."""
        if self._config is None:
            from redisops.config import load_config
            from redisops.config.model import DeploymentConfig

            cfg = load_config(self.config_path or self.sandbox_config_file)
            ns = self._namespace
            if ns and ns != cfg.namespace:
                data = cfg.model_dump()
                if cfg.service_dns == f"{cfg.service_name}.{cfg.namespace}.svc.cluster.local":
                    data.pop("service_dns")  # derived again from the new namespace
                data["namespace"] = ns
                cfg = DeploymentConfig.model_validate(data)
            self._config = cfg
        return self._config

    def kube(self) -> Kube:
        """The Kubernetes API client, built once (closed by :meth:`close`): the kubeconfig and context,
        else ``$KUBECONFIG`` / ``~/.kube/config``, else in-cluster (``KUBERNETES_SERVICE_HOST``)."""
        if self._kube is None:
            from redisops.adapters.kube import Kube

            self._kube = Kube.connect(self.kubeconfig, context=self.context, namespace=self.namespace)
        return self._kube

    @property
    def env(self) -> Mapping[str, str]:
        """The environment the target was resolved with (``REDISOPS_S3_*`` overrides, password vars)."""
        return self._env

    def deployment_config(self) -> DeploymentConfig:
        """:meth:`config` with the ``REDISOPS_S3_*`` overrides of :attr:`env` applied (what the store
        and the in-cluster Jobs use)."""
        from redisops.config import apply_env

        return apply_env(self.config(), self._env)

    def store(self, source: str | None = None, *, use_sandbox: bool | None = None) -> BackupStore:
        """The backup store: the config's backup target with ``REDISOPS_S3_*`` overrides from the
        target's environment applied;
        the running sandbox's S3 when that target names no endpoint and ``use_sandbox`` allows it
        (None: for the sandbox and ad hoc ``--url`` targets, not for named targets), whether or not the
        sandbox's Redis processes run (a restore is for a stopped target too). ``source`` is the
        source name in the store (default: the config's ``service_name``).

        Raises:
            NotFoundError: the sandbox target's store while the sandbox's S3 does not run (never a fall
                back to the config's default store: that is a real AWS bucket).
        """
        from redisops.ops.backup import store_for

        cfg = self.deployment_config()
        sandbox = None
        if use_sandbox is None:
            use_sandbox = self.name in (SANDBOX, "url")
        if use_sandbox:
            from redisops.ops.sandbox import sandbox_status

            state = sandbox_status(self.state_dir)
            s3 = state.services.get("s3") if state is not None else None
            if state is not None and s3 is not None and s3.status == "running":
                sandbox = state
            elif self.name == SANDBOX and cfg.backup.endpoint_url is None:
                raise NotFoundError(
                    "the sandbox's S3 is not running" if state is not None else "the sandbox is not running",
                    hint="start it with: redisops sandbox up (the sandbox's backups live in its own S3; "
                    "to use another store, give --config with backup.endpoint_url or a named target)",
                    context={"state_dir": str(self.state_dir)} if self.state_dir else {},
                )
        return store_for(cfg.backup, sandbox=sandbox, source_name=source or cfg.service_name)

    # --- the Python API: typed facades over the catalogue's operations ------------------------------

    @property
    def inspect(self) -> InspectAPI:
        """Health and inspection: ``t.inspect.info()``, ``.slowlog()``, ``.keys()``, ... (all read-only)."""
        from redisops.ops.api_inspect import InspectAPI

        return InspectAPI(self)

    def health(self, **kwargs: Any) -> HealthReport:
        """The health report (``health.report``); same keywords as :meth:`InspectAPI.health`."""
        return self.inspect.health(**kwargs)

    @property
    def backup(self) -> BackupAPI:
        """Backups: ``t.backup.create()``, ``.list()``, ``.verify(id)``, ``.delete(id, confirm=True)``, ..."""
        from redisops.ops.api_backup import BackupAPI

        return BackupAPI(self)

    @property
    def restore(self) -> RestoreAPI:
        """Restores: ``t.restore.plan(id)``, ``t.restore.apply(id, confirm=True)``, ``t.restore.undo()``."""
        from redisops.ops.api_restore import RestoreAPI

        return RestoreAPI(self)

    @property
    def deploy(self) -> DeployAPI:
        """The Kubernetes deployment: ``t.deploy.plan()``, ``.apply()``, ``.history()``, ``.rollback()``..."""
        from redisops.ops.api_deploy import DeployAPI

        return DeployAPI(self)

    @property
    def migrate(self) -> MigrateAPI:
        """The migration into this target: ``t.migrate.plan(source_url=...)``, ``.copy()``, ``.verify()``."""
        from redisops.ops.api_migrate import MigrateAPI

        return MigrateAPI(self)

    # --- operations of the catalogue ---------------------------------------------------------------

    def run(
        self,
        op: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        confirm: bool = False,
        plan: Plan | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the catalogue operation ``op`` here (``params`` and keyword arguments merged).

        ``on_event`` receives its events, ``cancel`` stops it, ``confirm=True`` is required for a
        destructive operation; a read-only (production) target refuses anything but reads. ``plan`` is
        the plan of :meth:`plan` (same operation and parameters) that was shown and confirmed: the run
        does exactly that one instead of planning again (a blocked plan still refuses).
        """
        from redisops.ops.registry import catalogue

        merged = {**(params or {}), **kwargs}
        return catalogue().invoke(
            op, merged, target=self, on_event=on_event, cancel=cancel, confirm=confirm, plan=plan
        )

    def plan(
        self,
        op: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_event: EventSink | None = None,
        **kwargs: Any,
    ) -> Plan:
        """What the catalogue operation ``op`` would do here; changes nothing."""
        from redisops.ops.registry import catalogue

        merged = {**(params or {}), **kwargs}
        return catalogue().plan(op, merged, target=self, on_event=on_event)

    def close(self) -> None:
        """Close what was opened (the Kubernetes client); idempotent."""
        if self._kube is not None:
            self._kube.close()
            self._kube = None

    def __enter__(self) -> Target:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _path(value: str | Path | None) -> Path | None:
    return Path(value).expanduser() if value is not None and str(value) != "" else None


def resolve_target(
    name: str | None = None,
    *,
    url: str | None = None,
    user: str | None = None,
    password_file: str | Path | None = None,
    password_env: str | None = None,
    ask_password: bool = False,
    prompt: Callable[[str], str] | None = None,
    tls_ca: str | Path | None = None,
    tls_insecure: bool = False,
    timeout: float | None = None,
    config: str | Path | None = None,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    namespace: str | None = None,
    allow_writes: bool = False,
    targets_file: str | Path | None = None,
    state_dir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Target:
    """Resolve where to act and with which credentials, once.

    ``name`` picks a target of the targets file (``targets_file``, ``$REDISOPS_TARGETS`` or the user
    config dir's ``redisops/targets.yaml``); every other argument overrides the named target's value.
    Without ``name`` and ``url`` the target is the local sandbox (its state gives host and port). The
    password follows the precedence in this module's docstring; ``ask_password`` prompts through
    ``prompt`` (given by the front end) only when no other source gives one. ``env`` defaults to
    ``os.environ``. A credential that cannot be read (a missing password file, an unset variable named
    by ``password_env``) is raised when :attr:`Target.redis` is first used, so a target whose Redis
    is not needed (Kubernetes commands) still resolves.

    Raises:
        ConfigError: unknown target name (the message lists the names that exist), a bad targets file.
        InvalidArgument: a malformed URL, or ``ask_password`` without ``prompt``.
    """
    env = os.environ if env is None else env
    spec: TargetSpec | None = None
    label = SANDBOX
    if name is not None and name != SANDBOX:
        targets = load_targets(targets_file, env=env)
        if name not in targets:
            names = ", ".join([SANDBOX, *sorted(targets)])
            raise ConfigError(
                f"no target named {name!r}; the targets are: {names}",
                hint="define it in the targets file ($REDISOPS_TARGETS or "
                "~/.config/redisops/targets.yaml; docs/targets.md)",
                context={"target": name, "targets": [SANDBOX, *sorted(targets)]},
            )
        spec = targets[name]
        label = name
    elif url is not None:
        label = "url"
    the_url = url or (spec.url if spec is not None else None)
    t = DEFAULT_TIMEOUT if timeout is None else timeout
    if t <= 0:
        raise InvalidArgument(f"timeout must be greater than 0 seconds, got {t:g}")
    sdir = _path(state_dir)
    sandbox: SandboxState | None = None
    problem: RedisOpsError | None = None
    if the_url is not None:
        ep: RedisEndpoint | None = RedisEndpoint.from_url(the_url, connect_timeout=t, socket_timeout=t)
    else:
        from redisops.ops.sandbox import load_state

        sandbox = load_state(sdir)
        if sandbox is not None and "target" in sandbox.services:
            ep = dataclasses.replace(sandbox.target, connect_timeout=t, socket_timeout=t)
        else:
            ep = None
            problem = NotFoundError(
                "no Redis to act on: no --url or --target given and the sandbox is not running",
                hint="start the sandbox (redisops sandbox up), pass --url redis://host:port or --target NAME",
            )
    explicit_pw = password_file is not None or password_env is not None
    pw = Password(None, None)
    if ep is not None:
        try:
            pw = resolve_password(
                password_file=password_file,
                password_env=password_env,
                url_password=ep.password,
                spec=None if explicit_pw else spec,
                env=env,
                ask_password=ask_password,
                prompt=prompt,
                label=label if label != "url" else ep.address,
                sandbox_password_file=sandbox.password_file if sandbox is not None else None,
            )
        except ConfigError as e:  # raised when the Redis is used: a Kubernetes command needs no password
            problem = e
        username = user or ep.username or (spec.user if spec is not None else None)
        ca = tls_ca if tls_ca is not None else (spec.tls_ca if spec is not None else None)
        insecure = tls_insecure or (spec.tls_insecure if spec is not None else False)
        ep = dataclasses.replace(
            ep,
            username=username,
            password=pw.value,
            password_source=pw.source,
            tls_ca_file=str(_path(ca)) if _path(ca) is not None else ep.tls_ca_file,
            tls_verify=ep.tls_verify and not insecure,
        )

    def pick(given: str | Path | None, field: str) -> str | None:
        if given is not None:
            return str(given)
        value = getattr(spec, field) if spec is not None else None
        return str(value) if value is not None else None

    return Target(
        name=label,
        endpoint=ep,
        endpoint_problem=problem,
        password_source=pw.source,
        config_path=_path(pick(config, "config")),
        kubeconfig=_path(pick(kubeconfig, "kubeconfig")),
        context=pick(context, "context"),
        namespace=pick(namespace, "namespace"),
        production=spec.production if spec is not None else False,
        allow_writes=allow_writes,
        state_dir=sdir,
        sandbox=sandbox,
        env=env,
    )


#: ``redisops.target(...)``: the same as :func:`resolve_target`
target = resolve_target
