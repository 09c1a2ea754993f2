"""Stop and start the sandbox target in place: the restore flow's stand-in for scale 0 / scale 1 of the
Kubernetes Deployment. Re-exported by :mod:`redisops.ops.sandbox`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from redisops.adapters.local import pid_alive, start_redis, stop_pid
from redisops.ops.sandbox_auth import INCLUDE_FILE, SandboxSecurity
from redisops.ops.sandbox_state import SandboxState, is_ours, save_state

__all__: list[str] = []  # target_controls is public through redisops.ops.sandbox


def target_controls(state: SandboxState) -> tuple[Callable[[], None], Callable[[], None]]:
    """``stop`` and ``start`` for the sandbox target (the restore flow's stand-in for scale 0 / 1).

    ``start`` runs the same redis.conf on the same port and data dir, with the same local overrides
    (auth and TLS: :data:`~redisops.ops.sandbox_auth.INCLUDE_FILE`), and records the new pid.
    """
    svc = state._svc("target")
    workdir = Path(svc.workdir)
    sec = SandboxSecurity.from_dict(state.security)
    include = workdir / INCLUDE_FILE

    def stop() -> None:
        if pid_alive(svc.pid) and is_ours(svc.pid, svc.name):
            stop_pid(svc.pid, timeout=30)

    def start() -> None:
        conf = (workdir / "redis.conf").read_text()
        proc = start_redis(
            conf,
            workdir,
            port=svc.port,
            name="target",
            detach=True,
            include=include if include.is_file() else None,
            tls_ca=Path(sec.tls_ca_file) if sec.tls and sec.tls_ca_file else None,
        )
        svc.pid = proc.pid
        svc.status = "running"
        save_state(state)

    return stop, start
