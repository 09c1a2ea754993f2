"""The runbook's target, bound for a run: resolved once, checked before every step.

* ``sandbox``: the local sandbox must be up (its state readable); shell steps get ``REDIS_HOST``,
  ``REDIS_PORT``, ``REDIS_URL`` (no password) and ``REDISCLI_AUTH`` (masked) for it.
* ``{context, namespace[, kubeconfig]}``: the kubeconfig's current context must be the declared one
  before every step (a ``kubectl`` in a shell step acts on the current context); shell steps get
  ``KUBECONFIG`` (when declared), ``REDISOPS_CONTEXT`` and ``REDISOPS_NAMESPACE``.
* ``none``: shell steps only see the environment; operation steps use the default target.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from redisops.errors import RedisOpsError
from redisops.runbooks.model import TargetDecl

__all__ = ["TargetBinding"]


class TargetBinding:
    """A :class:`TargetDecl` resolved against the environment (the target itself built on first use)."""

    def __init__(self, decl: TargetDecl, env: Mapping[str, str]) -> None:
        self.decl = decl
        self._env = env
        self._target: Any = None

    def _kubeconfig(self) -> Path:
        if self.decl.kubeconfig:
            return Path(self.decl.kubeconfig).expanduser()
        first = (self._env.get("KUBECONFIG") or "").split(os.pathsep)[0]
        return Path(first).expanduser() if first else Path.home() / ".kube" / "config"

    def target(self) -> Any:
        """The redisops Target for operation steps (resolved once)."""
        if self._target is None:
            from redisops.ops.target import resolve_target

            if self.decl.kind == "kube":
                self._target = resolve_target(
                    kubeconfig=self._kubeconfig(), context=self.decl.context, namespace=self.decl.namespace
                )
            else:
                self._target = resolve_target()
        return self._target

    def secret_values(self) -> list[str]:
        """Credentials the target carries (to mask)."""
        if self.decl.kind != "sandbox":
            return []
        try:
            pw = self.target().redis.password
        except RedisOpsError:
            return []
        return [pw] if pw else []

    def env(self) -> dict[str, str]:
        """What shell steps get for the target (see the module docstring)."""
        out: dict[str, str] = {}
        if self.decl.kind == "sandbox":
            try:
                ep = self.target().redis
            except RedisOpsError:
                return out
            out |= {
                "REDIS_HOST": ep.host,
                "REDIS_PORT": str(ep.port),
                "REDIS_URL": f"redis://{ep.host}:{ep.port}",
            }
            if ep.password:
                out["REDISCLI_AUTH"] = ep.password
        elif self.decl.kind == "kube":
            if self.decl.kubeconfig:
                out["KUBECONFIG"] = str(self._kubeconfig())
            out |= {
                "REDISOPS_CONTEXT": self.decl.context or "",
                "REDISOPS_NAMESPACE": self.decl.namespace or "",
            }
        return out

    def check(self) -> str | None:
        """None when the target is the declared one and usable; else what is wrong (one sentence)."""
        if self.decl.kind == "sandbox":
            from redisops.ops.sandbox import sandbox_status

            try:
                state = sandbox_status()
            except RedisOpsError as e:
                return f"the sandbox cannot be read: {e.message}"
            if state is None:
                return "the sandbox is not up (redisops sandbox up)"
            return None
        if self.decl.kind == "kube":
            path = self._kubeconfig()
            try:
                cfg = yaml.safe_load(path.read_text()) or {}
            except (OSError, yaml.YAMLError):
                return f"the kubeconfig {path} cannot be read"
            names = [c.get("name") for c in cfg.get("contexts") or [] if isinstance(c, dict)]
            if self.decl.context not in names:
                return f"the kubeconfig {path} has no context {self.decl.context}"
            current = cfg.get("current-context")
            if current != self.decl.context:
                return (
                    f"the current kube context is {current}, not the runbook's {self.decl.context} "
                    "(kubectl would act on the wrong cluster)"
                )
        return None
