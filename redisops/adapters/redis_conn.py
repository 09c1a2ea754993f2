"""Connections to Redis: URL parsing, secrets from env/file, and error translation.

The only module that imports redis-py's client. Everything above it gets a ``redis.Redis`` built by
:func:`connect` and sees only :mod:`redisops.errors` exceptions, via :func:`translate` /
:func:`redis_errors`.
"""

from __future__ import annotations

import os
import re
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
    InvalidArgument,
    OperationTimeout,
    PlatformError,
    RedisOpsError,
)

__all__ = [
    "RedisEndpoint",
    "connect",
    "raw_command",
    "read_password",
    "redis_errors",
    "request_shutdown",
    "translate",
]


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
    #: where the password came from ("REDISCLI_AUTH", "file:/run/secrets/x", "url", ...), never the
    #: password itself; named in authentication errors' hints
    password_source: str | None = field(default=None, compare=False)

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

        Raises:
            InvalidArgument: the URL is malformed (scheme, port, or a database that is not a number).
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise InvalidArgument(f"invalid Redis URL: {_redact_url(url)} ({e})", hint=_URL_HINT) from None
        if parts.scheme not in ("redis", "rediss"):
            raise InvalidArgument(
                f"invalid Redis URL scheme {parts.scheme!r} in {_redact_url(url)}", hint=_URL_HINT
            )
        db = 0
        path = parts.path.strip("/")
        if path:
            if not (path.isascii() and path.isdigit()):
                raise InvalidArgument(
                    f"invalid database {path!r} in the Redis URL: it must be a number",
                    hint="use /0 ... /15 (a server has databases 0..databases-1, 16 by default)",
                    context={"db": path},
                )
            db = int(path)
        password = unquote(parts.password) if parts.password else None
        source = "url" if password else None
        explicit = read_password(password_env, password_file)
        if explicit:
            password, source = explicit, f"file:{password_file}" if password_file else f"env:{password_env}"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port or 6379,
            db=db,
            username=unquote(parts.username) if parts.username else None,
            password=password,
            tls=parts.scheme == "rediss",
            **{"password_source": source} | kw,
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


_URL_HINT = "use redis://[user@]host[:port][/db] or rediss:// for TLS"


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
    # errors raised later (raw_command) name the endpoint as it was given, with its password source
    client._redisops_endpoint = ep  # type: ignore[attr-defined]
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


def request_shutdown(ep: RedisEndpoint) -> bool:
    """Ask the server at ``ep`` to ``SHUTDOWN`` (it saves as its config says, as on SIGTERM); True once
    it closed the connection (it is exiting), False when it could not be asked (refused, renamed, not
    allowed for the user, unreachable): the caller stops the process its own way.

    Redis acts on SIGTERM only at its next cron tick (up to 1/hz s, 100 ms by default); the command
    acts at once, which shortens a restore's downtime.
    """
    try:
        client = connect(ep, check=False)
    except RedisOpsError:
        return False
    conn = None
    try:
        conn = client.connection_pool.get_connection()
        conn.send_command("SHUTDOWN")  # type: ignore[no-untyped-call]
        conn.read_response()  # one try: redis-py's retry would reconnect to a server going away
    except rex.ConnectionError:
        return conn is not None  # the server closed the connection on its way out
    except (rex.RedisError, OSError):
        return False
    finally:
        if conn is not None:
            conn.disconnect()  # type: ignore[no-untyped-call]
        client.close()
    return False


def _endpoint_of(client: redis.Redis) -> RedisEndpoint:
    given = getattr(client, "_redisops_endpoint", None)
    if isinstance(given, RedisEndpoint):
        return given
    pool = client.connection_pool
    kw = pool.connection_kwargs
    return RedisEndpoint(
        host=str(kw.get("host", "?")),
        port=int(kw.get("port", 0)),
        db=int(kw.get("db", 0)),
        username=kw.get("username"),
        password=kw.get("password"),
        tls=issubclass(pool.connection_class, redis.SSLConnection),
        tls_ca_file=kw.get("ssl_ca_certs"),
        tls_verify=kw.get("ssl_cert_reqs") is not None,
        connect_timeout=float(kw.get("socket_connect_timeout") or 5.0),
        socket_timeout=float(kw.get("socket_timeout") or 10.0),
    )


def database_count(ep: RedisEndpoint) -> int | None:
    """``CONFIG GET databases`` on db 0 of ``ep``'s server; None when it cannot be read (no rights,
    CONFIG blocked as on ElastiCache, any connection problem)."""
    try:
        client = connect(replace(ep, db=0, connect_timeout=min(ep.connect_timeout, 2.0)), check=False)
        try:
            reply = raw_command(client, "CONFIG", "GET", "databases")
        finally:
            client.close()
        return int(reply[1])
    except (RedisOpsError, rex.RedisError, IndexError, TypeError, ValueError):
        return None


_PROTOCOL_BYTE = re.compile(r'got "(.)"')


def _not_redis(exc: Exception, where: str, ctx: dict[str, Any]) -> RedisOpsError:
    """A service on the address that does not speak the Redis protocol (HTTP, TLS, ...)."""
    m = _PROTOCOL_BYTE.search(str(exc))
    first = m.group(1) if m else ""
    if first in ("H", "<"):  # "HTTP/1.1 400 ..." or an HTML error page
        message = f"{where} is not a Redis server; it answered like HTTP"
    else:
        message = f"{where} is not a Redis server; it did not answer with the Redis protocol"
        if first:
            message += f" (first byte {first!r})"
    return ConnectionFailed(
        message,
        hint="check the host and port in --url: is it the Redis port (6379 by default), not a web service?",
        context=ctx,
        retryable=False,
    )


def _db_out_of_range(ep: RedisEndpoint | None, where: str, ctx: dict[str, Any]) -> InvalidArgument:
    db = ep.db if ep is not None else None
    count = database_count(ep) if ep is not None else None
    valid = f"0..{count - 1}" if count else "0..databases-1 (16 by default)"
    return InvalidArgument(
        f"database {db if db is not None else '?'} does not exist on {where}: valid databases are {valid}",
        hint=f"pick a database in {valid} in the URL path (redis://host:port/DB)",
        context={**ctx, "db": db, "databases": count},
    )


_NO_PASSWORD_HINT = (
    "give the password: --password-file FILE, --password-env NAME, REDISCLI_AUTH or REDIS_PASSWORD "
    "(or --ask-password)"
)


def _source_label(source: str | None) -> str:
    """``file:/x`` -> ``the password file /x``; ``env:X`` -> ``$X``; ``url`` -> ``the URL``."""
    if source is None:
        return "nowhere"
    if source.startswith("file:"):
        return f"the password file {source[5:]}"
    if source.startswith("env:"):
        return f"${source[4:]}"
    if source == "url":
        return "the URL"
    if source == "prompt":
        return "the prompt"
    return f"${source}"


def translate(exc: Exception, ep: RedisEndpoint | None = None) -> RedisOpsError:
    """The redisops error for a redis-py exception (messages never include the password)."""
    where = ep.address if ep else "Redis"
    ctx = {"endpoint": ep.url()} if ep else {}
    text = str(exc)
    if isinstance(exc, rex.AuthenticationError | rex.AuthenticationWrongNumberOfArgsError):
        source = ep.password_source if ep is not None else None
        if "without any password configured" in text:
            return AuthError(
                f"authentication to {where} failed: the server has no password, but one was sent"
                + (f" (from {_source_label(source)})" if source else ""),
                hint="do not give a password for this server"
                + (f": unset {source}" if source in ("REDISCLI_AUTH", "REDIS_PASSWORD") else ""),
                context={**ctx, "auth": "credentials", "password_source": source},
            )
        return AuthError(
            f"authentication to {where} failed: {text}",
            hint=f"check the username and the password (it came from {_source_label(source)})"
            if source
            else _NO_PASSWORD_HINT,
            context={**ctx, "auth": "credentials", "password_source": source},
        )
    if isinstance(exc, rex.NoPermissionError) or text.startswith("NOPERM"):
        return AuthError(
            f"{where}: permission denied: {text}",
            hint="grant the ACL user the needed commands",
            context={**ctx, "auth": "permission"},
        )
    if isinstance(exc, rex.TimeoutError):
        if ep is not None and ep.tls:
            return OperationTimeout(
                f"{where} did not answer in time over TLS (rediss://)",
                hint="if the server does not use TLS, use redis:// instead of rediss://; "
                "otherwise check the server load or raise --timeout",
                context=ctx,
            )
        return OperationTimeout(
            f"{where} did not answer in time", hint="check the server load or raise the timeout", context=ctx
        )
    if isinstance(exc, rex.InvalidResponse) or text.startswith("Protocol error"):
        return _not_redis(exc, where, ctx)
    if isinstance(exc, rex.ConnectionError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return ConnectionFailed(
                f"the TLS certificate of {where} could not be verified: {text}",
                hint="pass --tls-ca FILE (the CA that signed the server's certificate); "
                "--tls-insecure skips the check",
                context=ctx,
                retryable=False,
            )
        if "reset by peer" in text and ep is not None and not ep.tls:
            return ConnectionFailed(
                f"cannot reach Redis at {where}: {text}",
                hint="if this is a TLS port, use rediss:// instead of redis://; "
                "otherwise check that the service is up",
                context=ctx,
            )
        return ConnectionFailed(f"cannot reach Redis at {where}: {text}", context=ctx)
    if isinstance(exc, rex.ResponseError):
        low = text.lower()
        if low.startswith("noauth") or "authentication required" in low:
            return AuthError(
                f"{where} requires a password",
                hint=_NO_PASSWORD_HINT,
                context={**ctx, "auth": "credentials"},
            )
        if "db index is out of range" in low:
            return _db_out_of_range(ep, where, ctx)
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
