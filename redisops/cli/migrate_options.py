"""The options that say where the migration's source is, shared by every ``migrate`` command (as
:mod:`redisops.cli.options` does for the target).

``--source-url`` (``redis://[user@]host:port`` or ``rediss://`` for TLS), ``--source-user``,
``--source-password-file`` (else ``$REDISOPS_SOURCE_PASSWORD``, else the URL's password),
``--source-tls-ca`` and ``--source-tls-insecure``. Without ``--source-url`` the source is the sandbox's
ElastiCache-like source. A command declares ``source: SourceArgs`` and is decorated with
:func:`with_source`; ``source.params()`` are the ``source_*`` parameters of the ``migrate.*``
operations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from redisops.cli.options import connection_options, with_options

__all__ = [
    "SourceArgs",
    "with_source",
]

_OPTIONS = connection_options(
    "source-",
    {
        "url": "the source Redis (ElastiCache): redis://[user@]host[:port] or rediss:// (TLS) "
        "[default: the sandbox's ElastiCache-like source]",
        "user": "ACL user on the source [default: the URL's]",
        "password_file": "file whose first line is the source's password or AUTH token "
        "[default: $REDISOPS_SOURCE_PASSWORD, else the URL's]",
        "tls_ca": "CA bundle for a rediss:// source (Amazon's CA)",
        "tls_insecure": "do not verify the source's TLS certificate",
    },
)


@dataclasses.dataclass(frozen=True)
class SourceArgs:
    """The source options as one command line gave them (what :func:`with_source` passes as ``source``)."""

    url: str | None = None
    user: str | None = None
    password_file: Path | None = None
    tls_ca: Path | None = None
    tls_insecure: bool = False

    def params(self) -> dict[str, Any]:
        """The ``source_*`` parameters of the ``migrate.*`` operations (a password stays in the URL
        only until the operation's parameters take it out)."""
        return {
            "source_url": self.url,
            "source_user": self.user,
            "source_password_file": str(self.password_file) if self.password_file is not None else None,
            "source_tls_ca": str(self.tls_ca) if self.tls_ca is not None else None,
            "source_tls_insecure": self.tls_insecure,
        }


_DEFAULTS: dict[str, Any] = {"source_tls_insecure": False}

F = TypeVar("F", bound=Callable[..., Any])


def with_source() -> Callable[[F], F]:
    """Give a command the source options, declared here once: the command declares a keyword parameter
    ``source: SourceArgs``, replaced (in the signature typer reads) by the ``--source-*`` options, which
    come before ``--output`` in the help."""
    return with_options(
        "source",
        _OPTIONS,
        _DEFAULTS,
        lambda given: SourceArgs(**{k.removeprefix("source_"): v for k, v in given.items()}),
    )
