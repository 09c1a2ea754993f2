"""Connections to Redis: URL parsing, secrets from env/file, and error translation.

The only module that imports redis-py's client. Everything above it gets a ``redis.Redis`` built by
:func:`connect` and sees only :mod:`redisops.errors` exceptions, via :func:`translate` /
:func:`redis_errors`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.exceptions as rex
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from redisops.errors import (
    AuthError,
    ConfigError,
    ConnectionFailed,
    OperationTimeout,
    PlatformError,
    RedisOpsError,
)

__all__ = ["RedisEndpoint", "connect", "raw_command", "read_password", "redis_errors", "translate"]


@dataclass(frozen=True)
class RedisEndpoint:
    """Where and how to reach one Redis server. ``password`` is never shown by ``repr`` or ``str``."""

    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    tls_ca_file: str | None = None
    tls_verify: bool = True
    connect_timeout: float = 5.0
    socket_timeout: float = 10.0

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password_env: str | None = None,
        password_file: str | Path | None = None,
        **kw: Any,
    ) -> RedisEndpoint:
        """Parse ``redis://[user[:password]@]host[:port][/db]`` or ``rediss://`` (TLS).

        A password in the URL works but is discouraged; ``password_env`` / ``password_file`` take
        precedence and keep it out of shell history and process lists.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise ConfigError(f"invalid Redis URL: {_redact_url(url)} ({e})") from None
        if parts.scheme not in ("redis", "rediss"):
            raise ConfigError(
                f"invalid Redis URL scheme {parts.scheme!r} in {_redact_url(url)}",
                hint="use redis://host:port[/db] or rediss:// for TLS",
            )
        db = 0
        path = parts.path.strip("/")
        if path:
            if not path.isdigit():
                raise ConfigError(f"invalid database {path!r} in Redis URL", hint="use /0 ... /15")
            db = int(path)
        password = unquote(parts.password) if parts.password else None
        password = read_password(password_env, password_file) or password
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port or 6379,
            db=db,
            username=unquote(parts.username) if parts.username else None,
            password=password,
            tls=parts.scheme == "rediss",
            **kw,
        )

    @property
    def address(self) -> str:
        """``host:port`` for messages (no credentials)."""
        return f"{self.host}:{self.port}"

    def url(self) -> str:
        """The URL without the password (safe to print)."""
        user = f"{self.username}@" if self.username else ""
        return f"{'rediss' if self.tls else 'redis'}://{user}{self.host}:{self.port}/{self.db}"

    def with_db(self, db: int) -> RedisEndpoint:
        """The same server, another database."""
        return replace(self, db=db)

    def __str__(self) -> str:
        return self.url()


def read_password(env: str | None, file: str | Path | None) -> str | None:
    """The password from a file (first line) or an env var; None when neither is set."""
    if file:
        try:
            return Path(file).read_text(encoding="utf-8").splitlines()[0].strip() or None
        except (OSError, IndexError) as e:
            raise ConfigError(f"cannot read the password file {file}: {type(e).__name__}") from None
    if env:
        return os.environ.get(env) or None
    return None


def _redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def connect(ep: RedisEndpoint, *, decode_responses: bool = False, check: bool = True) -> redis.Redis:
    """A redis-py client for ``ep``; with ``check`` it PINGs once so failures surface here."""
    kwargs: dict[str, Any] = dict(
        host=ep.host,
        port=ep.port,
        db=ep.db,
        username=ep.username,
        password=ep.password,
        socket_connect_timeout=ep.connect_timeout,
        socket_timeout=ep.socket_timeout,
        decode_responses=decode_responses,
        # RESP2: what every server speaks (ElastiCache 5/6 sources too); parsers accept both
        protocol=2,
        # redis-py 8 retries 10 times with backoff by default (~5 s to report a down server, and it
        # retries a wrong password too); one quick retry is enough for an operations tool
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
    )
    if ep.tls:
        kwargs.update(
            ssl=True, ssl_ca_certs=ep.tls_ca_file, ssl_cert_reqs="required" if ep.tls_verify else None
        )
    client = redis.Redis(**kwargs)
    if check:
        with redis_errors(ep):
            client.ping()
    return client


def raw_command(client: redis.Redis, *args: str | bytes | int) -> Any:
    """Run a command and return the reply exactly as the server sent it (no redis-py callbacks).

    redis-py turns INFO, CLIENT LIST, CONFIG GET ... into dicts; the pure parsers in
    :mod:`redisops.inspect` want the raw reply. Errors are translated like everywhere else.
    """
    pool = client.connection_pool
    try:
        conn = pool.get_connection()
    except rex.RedisError as e:
        raise translate(e, _endpoint_of(client)) from e
    try:
        conn.send_command(*args)  # type: ignore[no-untyped-call]
        reply = conn.read_response()
    except rex.RedisError as e:
        if not isinstance(e, rex.ResponseError):
            conn.disconnect()  # type: ignore[no-untyped-call]
        raise translate(e, _endpoint_of(client)) from e
    finally:
        pool.release(conn)
    return reply


def _endpoint_of(client: redis.Redis) -> RedisEndpoint:
    kw = client.connection_pool.connection_kwargs
    return RedisEndpoint(host=str(kw.get("host", "?")), port=int(kw.get("port", 0)), db=int(kw.get("db", 0)))


def translate(exc: Exception, ep: RedisEndpoint | None = None) -> RedisOpsError:
    """The redisops error for a redis-py exception (messages never include the password)."""
    where = ep.address if ep else "Redis"
    ctx = {"endpoint": ep.url()} if ep else {}
    text = str(exc)
    if isinstance(exc, rex.AuthenticationError | rex.AuthenticationWrongNumberOfArgsError):
        return AuthError(
            f"authentication to {where} failed: {text}",
            hint="check the username/password (REDIS_PASSWORD or --password-file)",
            context=ctx,
        )
    if isinstance(exc, rex.NoPermissionError) or text.startswith("NOPERM"):
        return AuthError(
            f"{where}: permission denied: {text}", hint="grant the ACL user the needed commands", context=ctx
        )
    if isinstance(exc, rex.TimeoutError):
        return OperationTimeout(
            f"{where} did not answer in time", hint="check the server load or raise the timeout", context=ctx
        )
    if isinstance(exc, rex.ConnectionError):
        return ConnectionFailed(f"cannot reach Redis at {where}: {text}", context=ctx)
    if isinstance(exc, rex.ResponseError):
        low = text.lower()
        if low.startswith("noauth") or "authentication required" in low:
            return AuthError(f"{where} requires a password", hint="set REDIS_PASSWORD", context=ctx)
        if "unknown command" in low:
            return PlatformError(
                f"{where} does not offer this command: {text}",
                hint="the command is renamed or blocked (e.g. ElastiCache blocks CONFIG/SYNC/DEBUG)",
                context=ctx,
            )
        return PlatformError(f"{where} refused: {text}", context=ctx)
    return RedisOpsError(f"{where}: {type(exc).__name__}: {text}", context=ctx)


@contextmanager
def redis_errors(ep: RedisEndpoint | None = None) -> Iterator[None]:
    """Translate redis-py exceptions raised inside the block."""
    try:
        yield
    except rex.RedisError as e:
        raise translate(e, ep) from e
