"""The options that say where to act, shared by every command, and the one function that builds the
:class:`~redisops.ops.target.Target` from them (so every command resolves targets and credentials the
same way: docs/targets.md).

``--target NAME`` picks a named target of the targets file; ``--url``, ``--user``, the password
options, ``--config``, ``--kubeconfig``, ``--context`` and ``-n`` override its values. Without
``--target`` and ``--url`` the target is the local sandbox. ``--read-write`` lifts the read-only guard
of a target marked ``production: true``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

from redisops.cli.common import ConfigOpt, StateDirOpt

if TYPE_CHECKING:
    from redisops.ops.target import Target

__all__ = [
    "MAX_SECONDS",
    "ConfigOpt",
    "ContextOpt",
    "KubeconfigOpt",
    "NamespaceOpt",
    "ReadWriteOpt",
    "StateDirOpt",
    "TargetArgs",
    "TargetOpt",
    "TimeoutOpt",
    "build_target",
    "connection_options",
    "positive",
    "seconds_option",
    "with_options",
    "with_target",
]

#: the longest --timeout/--watch/--interval accepted (a day): anything longer is a typo
MAX_SECONDS = 86_400.0


def positive(value: float | None) -> float | None:
    """A typer callback: seconds must be > 0 (typer's ``min=`` cannot say "greater than")."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be greater than 0 seconds, got {value:g}")
    return value


def seconds_option(*flags: str, help: str) -> Any:
    """A typer option of seconds: > 0 (:func:`positive`), at most :data:`MAX_SECONDS`; the one
    declaration of ``--timeout``, ``--watch``, ``--interval`` ...:
    ``Annotated[float, seconds_option("--interval", help=...)]``."""
    return typer.Option(*flags, help=help, max=MAX_SECONDS, callback=positive)


TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="a named target of the targets file ($REDISOPS_TARGETS or ~/.config/redisops/targets.yaml) "
        "[default: the sandbox]",
        show_default=False,
    ),
]
#: each connection option: its value's type and the typer.Option settings besides its flag and help
_CONNECTION: dict[str, tuple[Any, dict[str, Any]]] = {
    "url": (str | None, {"show_default": False}),
    "user": (str | None, {}),
    "password_file": (Path | None, {"show_default": False}),
    "password_env": (str | None, {"metavar": "NAME", "show_default": False}),
    "ask_password": (bool, {}),
    "tls_ca": (Path | None, {}),
    "tls_insecure": (bool, {}),
}


def connection_options(prefix: str, helps: Mapping[str, str]) -> dict[str, Any]:
    """The options that say how to reach a Redis, one factory for every Redis a command names: the
    target's ``--url``, ``--user``, ``--password-file`` ... (``prefix`` ""; ``--url`` also ``-u``) and
    a migration's source's ``--source-url``, ``--source-user`` ... (``prefix`` "source-").

    ``helps`` chooses the options (url, user, password_file, password_env, ask_password, tls_ca,
    tls_insecure) and gives each its help; returns parameter name (``source_url``) -> annotated type."""
    out: dict[str, Any] = {}
    for name, text in helps.items():
        kind, settings = _CONNECTION[name]
        flags = [f"--{prefix}{name.replace('_', '-')}"] + (["-u"] if name == "url" and not prefix else [])
        option = typer.Option(*flags, help=text, **settings)
        out[prefix.replace("-", "_") + name] = cast(Any, Annotated)[kind, option]
    return out


_REDIS = connection_options(
    "",
    {
        "url": "redis://[user@]host[:port][/db] or rediss:// (TLS) [default: the target's, else the sandbox]",
        "user": "ACL user name [default: the URL's]",
        "password_file": "file whose first line is the password",
        "password_env": "env var holding the password [default: the URL's password, else REDISCLI_AUTH, "
        "else REDIS_PASSWORD]",
        "ask_password": "prompt for the password (not echoed) when no other source gives one",
        "tls_ca": "CA bundle for rediss:// (TLS)",
        "tls_insecure": "do not verify the TLS certificate",
    },
)
TimeoutOpt = Annotated[
    float, seconds_option("--timeout", help="connect and command timeout in seconds (> 0)")
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
    state_dir: Path | None = None,
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
        state_dir=state_dir,
    )


# --- the shared options, declared once -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TargetArgs:
    """The shared target options as one command line gave them (what :func:`with_target` passes to the
    command as ``where``); :meth:`build` resolves the :class:`~redisops.ops.target.Target`.

    Options a command does not take stay at their defaults (None / False)."""

    target_name: str | None = None
    url: str | None = None
    user: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    ask_password: bool = False
    tls_ca: Path | None = None
    tls_insecure: bool = False
    timeout: float | None = None
    config: Path | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str | None = None
    read_write: bool = False
    state_dir: Path | None = None

    def build(self, *, writing: str | None = None, **overrides: Any) -> Target:
        """:func:`build_target` with these options (``overrides`` replace some, e.g. ``url=``).

        ``writing`` names the change the command is about to make: a read-only (production) target
        then refuses with :class:`~redisops.errors.AbortedError` (exit 10) before anything is opened.
        """
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        given["target"] = given.pop("target_name")
        t = build_target(**{**given, **overrides})
        if writing is not None:
            t.require_writable(writing)
        return t


#: the option groups :func:`with_target` adds: parameter name -> its annotated type
_KUBE: dict[str, Any] = {"kubeconfig": KubeconfigOpt, "context": ContextOpt, "namespace": NamespaceOpt}
_DEFAULTS: dict[str, Any] = {"ask_password": False, "tls_insecure": False, "read_write": False}

F = TypeVar("F", bound=Callable[..., Any])


def with_target(
    *,
    redis: bool = True,
    timeout: float | None = None,
    config: bool = True,
    kube: bool = False,
    read_write: bool = False,
    state_dir: bool = False,
) -> Callable[[F], F]:
    """Give a command the shared target options, declared here once.

    The command declares a keyword parameter ``where: TargetArgs``; the decorator replaces it, in the
    signature typer reads, by ``--target`` and the chosen groups: ``redis`` (``--url``, ``--user``,
    the password options, ``--tls-ca``, ``--tls-insecure``), ``timeout`` (``--timeout`` with this
    default), ``config`` (``--config``), ``kube`` (``--kubeconfig``, ``--context``, ``-n``),
    ``read_write`` (``--read-write``) and ``state_dir`` (``--state-dir``). They come before
    ``--output`` in the help. The command builds the target with ``where.build()`` inside its error
    boundary.
    """
    chosen: dict[str, Any] = {"target_name": TargetOpt}
    if redis:
        chosen |= _REDIS
    if timeout is not None:
        chosen["timeout"] = TimeoutOpt
    if config:
        chosen["config"] = ConfigOpt
    if kube:
        chosen |= _KUBE
    if read_write:
        chosen["read_write"] = ReadWriteOpt
    if state_dir:
        chosen["state_dir"] = StateDirOpt
    defaults = {**_DEFAULTS, "timeout": timeout}
    return with_options("where", chosen, defaults, lambda given: TargetArgs(**given))


def with_options(
    param: str, chosen: Mapping[str, Any], defaults: Mapping[str, Any], make: Callable[[dict[str, Any]], Any]
) -> Callable[[F], F]:
    """Replace a command's keyword parameter ``param`` (in the signature typer reads) by the options
    ``chosen`` (parameter name -> annotated type; ``defaults`` their defaults, else None), placed
    before ``--output`` in the help; the command gets ``param=make(<the options' values>)``.
    :func:`with_target` and the migration's ``with_source`` are this."""

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn, eval_str=True)
        if param not in sig.parameters:
            raise TypeError(f"{fn.__name__}: needs a parameter `{param}` for its options")
        clash = sorted(set(chosen) & set(sig.parameters))
        if clash:
            raise TypeError(f"{fn.__name__}: parameters {clash} clash with the options of `{param}`")
        kw = inspect.Parameter.KEYWORD_ONLY
        added = [
            inspect.Parameter(name, kw, default=defaults.get(name), annotation=ann)
            for name, ann in chosen.items()
        ]
        own = [p.replace(kind=kw) for p in sig.parameters.values() if p.name != param]
        cut = next((i for i, p in enumerate(own) if p.name == "output"), len(own))
        params = own[:cut] + added + own[cut:]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in chosen}
            return fn(**kwargs, **{param: make(given)})

        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command  # type: ignore[return-value]

    return decorate
