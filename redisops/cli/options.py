"""The options that say where to act, shared by every command, and the one function that builds the
:class:`~redisops.ops.target.Target` from them (so every command resolves targets and credentials the
same way: docs/targets.md).

``--target NAME`` picks a named target of the targets file; ``--url``, ``--user``, the password
options, ``--config``, ``--kubeconfig``, ``--context`` and ``-n`` override its values. Without
``--target`` and ``--url`` the target is the local sandbox. ``--read-write`` lifts the read-only guard
of a target marked ``production: true``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from redisops.cli.common import ConfigOpt

if TYPE_CHECKING:
    from redisops.ops.target import Target

__all__ = [
    "MAX_SECONDS",
    "AskPasswordOpt",
    "ConfigOpt",
    "ContextOpt",
    "InsecureOpt",
    "KubeconfigOpt",
    "NamespaceOpt",
    "PasswordEnvOpt",
    "PasswordFileOpt",
    "ReadWriteOpt",
    "TargetOpt",
    "TimeoutOpt",
    "TlsCaOpt",
    "UrlOpt",
    "UserOpt",
    "build_target",
    "positive",
]

#: the longest --timeout/--watch/--interval accepted (a day): anything longer is a typo
MAX_SECONDS = 86_400.0


def positive(value: float | None) -> float | None:
    """A typer callback: seconds must be > 0 (typer's ``min=`` cannot say "greater than")."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be greater than 0 seconds, got {value:g}")
    return value


TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="a named target of the targets file ($REDISOPS_TARGETS or ~/.config/redisops/targets.yaml) "
        "[default: the sandbox]",
        show_default=False,
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        "-u",
        help="redis://[user@]host[:port][/db] or rediss:// (TLS) [default: the target's, else the sandbox]",
        show_default=False,
    ),
]
UserOpt = Annotated[str | None, typer.Option("--user", help="ACL user name [default: the URL's]")]
PasswordFileOpt = Annotated[
    Path | None, typer.Option("--password-file", help="file whose first line is the password")
]
PasswordEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--password-env",
        metavar="NAME",
        help="env var holding the password [default: the URL's password, else REDISCLI_AUTH, "
        "else REDIS_PASSWORD]",
        show_default=False,
    ),
]
AskPasswordOpt = Annotated[
    bool,
    typer.Option(
        "--ask-password", help="prompt for the password (not echoed) when no other source gives one"
    ),
]
TlsCaOpt = Annotated[Path | None, typer.Option("--tls-ca", help="CA bundle for rediss:// (TLS)")]
InsecureOpt = Annotated[bool, typer.Option("--tls-insecure", help="do not verify the TLS certificate")]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout", help="connect and command timeout in seconds (> 0)", max=MAX_SECONDS, callback=positive
    ),
]
KubeconfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig", help="kubeconfig file [default: $KUBECONFIG, ~/.kube/config, else in-cluster]"
    ),
]
ContextOpt = Annotated[str | None, typer.Option("--context", help="kubeconfig context [default: current]")]
NamespaceOpt = Annotated[
    str | None, typer.Option("--namespace", "-n", help="namespace [default: the config's namespace]")
]
ReadWriteOpt = Annotated[
    bool,
    typer.Option(
        "--read-write", help="allow changes to a target marked production: true (read-only otherwise)"
    ),
]


def _prompt(message: str) -> str:
    return str(typer.prompt(message, hide_input=True, default="", show_default=False))


def build_target(
    *,
    target: str | None = None,
    url: str | None = None,
    user: str | None = None,
    password_file: Path | None = None,
    password_env: str | None = None,
    ask_password: bool = False,
    tls_ca: Path | None = None,
    tls_insecure: bool = False,
    timeout: float | None = None,
    config: Path | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    namespace: str | None = None,
    read_write: bool = False,
) -> Target:
    """The :class:`~redisops.ops.target.Target` for the shared options (``--ask-password`` prompts on
    the terminal, never echoed). Call it inside the command's error boundary."""
    from redisops.ops.target import resolve_target

    return resolve_target(
        target,
        url=url,
        user=user,
        password_file=password_file,
        password_env=password_env,
        ask_password=ask_password,
        prompt=_prompt,
        tls_ca=tls_ca,
        tls_insecure=tls_insecure,
        timeout=timeout,
        config=config,
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        allow_writes=read_write,
    )
