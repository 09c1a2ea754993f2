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
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

__all__ = [
    "SourceArgs",
    "SourceInsecureOpt",
    "SourcePasswordFileOpt",
    "SourceTlsCaOpt",
    "SourceUrlOpt",
    "SourceUserOpt",
    "with_source",
]

SourceUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--source-url",
        help="the source Redis (ElastiCache): redis://[user@]host[:port] or rediss:// (TLS) "
        "[default: the sandbox's ElastiCache-like source]",
        show_default=False,
    ),
]
SourceUserOpt = Annotated[
    str | None, typer.Option("--source-user", help="ACL user on the source [default: the URL's]")
]
SourcePasswordFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--source-password-file",
        help="file whose first line is the source's password or AUTH token "
        "[default: $REDISOPS_SOURCE_PASSWORD, else the URL's]",
        show_default=False,
    ),
]
SourceTlsCaOpt = Annotated[
    Path | None, typer.Option("--source-tls-ca", help="CA bundle for a rediss:// source (Amazon's CA)")
]
SourceInsecureOpt = Annotated[
    bool, typer.Option("--source-tls-insecure", help="do not verify the source's TLS certificate")
]


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


_OPTIONS: dict[str, Any] = {
    "source_url": SourceUrlOpt,
    "source_user": SourceUserOpt,
    "source_password_file": SourcePasswordFileOpt,
    "source_tls_ca": SourceTlsCaOpt,
    "source_tls_insecure": SourceInsecureOpt,
}
_DEFAULTS: dict[str, Any] = {"source_tls_insecure": False}

F = TypeVar("F", bound=Callable[..., Any])


def with_source() -> Callable[[F], F]:
    """Give a command the source options, declared here once: the command declares a keyword parameter
    ``source: SourceArgs``, replaced (in the signature typer reads) by the ``--source-*`` options, which
    come before ``--output`` in the help."""

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn, eval_str=True)
        if "source" not in sig.parameters:
            raise TypeError(f"{fn.__name__}: with_source needs a parameter `source: SourceArgs`")
        clash = sorted(set(_OPTIONS) & set(sig.parameters))
        if clash:
            raise TypeError(f"{fn.__name__}: parameters {clash} clash with the source options")
        kw = inspect.Parameter.KEYWORD_ONLY
        added = [
            inspect.Parameter(name, kw, default=_DEFAULTS.get(name), annotation=ann)
            for name, ann in _OPTIONS.items()
        ]
        own = [p.replace(kind=kw) for p in sig.parameters.values() if p.name != "source"]
        cut = next((i for i, p in enumerate(own) if p.name == "output"), len(own))
        params = own[:cut] + added + own[cut:]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in _OPTIONS}
            args = SourceArgs(
                url=given["source_url"],
                user=given["source_user"],
                password_file=given["source_password_file"],
                tls_ca=given["source_tls_ca"],
                tls_insecure=given["source_tls_insecure"],
            )
            return fn(**kwargs, source=args)

        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command  # type: ignore[return-value]

    return decorate
