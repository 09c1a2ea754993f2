"""The migration's source: the ElastiCache (or any Redis) the data moves from, resolved once.

The source takes the same kinds of credentials as the target (docs/targets.md): a URL
(``redis://[user@]host:port`` or ``rediss://`` for in-transit encryption), an ACL user, a CA file for
TLS, and a password from, in this order (the first that is set wins)::

    --source-password-file > $REDISOPS_SOURCE_PASSWORD > the URL's password

(never ``REDISCLI_AUTH`` / ``REDIS_PASSWORD``: those are the target's). Without a URL the source is the
sandbox's ElastiCache-like source when the sandbox runs one; otherwise :class:`NotFoundError` asks for
``--source-url``. The endpoint carries the password (hidden from its repr and URL); what is shown is
where it came from (``password_source``)::

    from redisops.ops.migrate_source import resolve_source

    ep = resolve_source(url="redis://app@10.0.0.5:6379", env={"REDISOPS_SOURCE_PASSWORD": "s3cret"})
    assert ep.password_source == "env:REDISOPS_SOURCE_PASSWORD" and "s3cret" not in repr(ep) + ep.url()
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.errors import InvalidArgument, NotFoundError
from redisops.ops.target_credentials import read_password_file

__all__ = ["SOURCE_PASSWORD_ENV", "resolve_source"]

#: the environment variable that holds the source's password (AUTH token)
SOURCE_PASSWORD_ENV = "REDISOPS_SOURCE_PASSWORD"

_NO_SOURCE_HINT = (
    "pass --source-url redis://host:6379 (rediss:// for TLS) with --source-password-file or "
    f"${SOURCE_PASSWORD_ENV}, or start the sandbox with its ElastiCache-like source (redisops sandbox up)"
)


def _sandbox_source(state_dir: Path | None) -> RedisEndpoint | None:
    """The sandbox's ElastiCache-like source when the sandbox state records one."""
    from redisops.ops.sandbox import load_state

    state = load_state(state_dir)
    if state is None or "source" not in state.services:
        return None
    return state.source


def resolve_source(
    *,
    url: str | None = None,
    url_password: str | None = None,
    user: str | None = None,
    password_file: str | Path | None = None,
    tls_ca: str | Path | None = None,
    tls_insecure: bool = False,
    timeout: float | None = None,
    state_dir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> RedisEndpoint:
    """The source endpoint with its credentials (see the module docstring for the precedence).

    ``url_password`` is a password taken out of a URL earlier (the catalogue's parameters strip it so
    that events and the audit log never carry it). ``timeout`` is the connect and command timeout.

    Raises:
        NotFoundError: no ``url`` and no sandbox source.
        ConfigError: the password file cannot be read or is empty.
        InvalidArgument: a malformed URL or a timeout <= 0.
    """
    env = os.environ if env is None else env
    if timeout is not None and timeout <= 0:
        raise InvalidArgument(f"timeout must be greater than 0 seconds, got {timeout:g}")
    if url is not None:
        ep = RedisEndpoint.from_url(url)
    else:
        found = _sandbox_source(Path(state_dir) if state_dir is not None else None)
        if found is None:
            raise NotFoundError("no migration source: no --source-url given and the sandbox runs no source",
                                hint=_NO_SOURCE_HINT)  # fmt: skip
        ep = found
    password, source = ep.password or url_password, ("url" if (ep.password or url_password) else None)
    if password_file is not None:
        password, source = (
            read_password_file(password_file, "--source-password-file"),
            f"file:{password_file}",
        )
    elif env.get(SOURCE_PASSWORD_ENV):
        password, source = env[SOURCE_PASSWORD_ENV], f"env:{SOURCE_PASSWORD_ENV}"
    t = timeout if timeout is not None else ep.socket_timeout
    return dataclasses.replace(
        ep,
        username=user or ep.username,
        password=password,
        password_source=source,
        tls_ca_file=str(Path(tls_ca).expanduser()) if tls_ca is not None else ep.tls_ca_file,
        tls_verify=ep.tls_verify and not tls_insecure,
        connect_timeout=min(ep.connect_timeout, t),
        socket_timeout=t,
    )
