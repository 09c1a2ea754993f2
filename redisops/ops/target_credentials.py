"""The password of a target by one precedence, and where it came from (see :mod:`redisops.ops.target`).

``password_file > password_env > the sandbox state's password file > the URL's password > the named
target's password_file > its password_env > $REDISCLI_AUTH > $REDIS_PASSWORD > prompt`` (the prompt
only when asked, through a callable the front end gives: the library never reads the terminal). The
sandbox state's password file (``sandbox up --password-file``) counts only while it exists: a file
removed since is skipped, and the next source is asked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from redisops.errors import ConfigError, InvalidArgument
from redisops.ops.targets_file import TargetSpec

__all__ = ["PASSWORD_ENVS", "Password", "read_password_file", "resolve_password"]

#: env vars read for the password when nothing explicit is given, in this order (redis-cli's first)
PASSWORD_ENVS = ("REDISCLI_AUTH", "REDIS_PASSWORD")


@dataclasses.dataclass(frozen=True)
class Password:
    """A resolved password and where it came from (the source is safe to show, the value is not)."""

    value: str | None = dataclasses.field(repr=False)
    source: str | None


def resolve_password(
    *,
    password_file: str | Path | None,
    password_env: str | None,
    url_password: str | None,
    spec: TargetSpec | None,
    env: Mapping[str, str],
    ask_password: bool,
    prompt: Callable[[str], str] | None,
    label: str,
    sandbox_password_file: str | Path | None = None,
) -> Password:
    """The password by the documented precedence, and where it came from."""
    if password_file is not None:
        return Password(_read_file(password_file, "--password-file"), f"file:{password_file}")
    if password_env is not None:
        return Password(_read_env(env, password_env, "--password-env"), f"env:{password_env}")
    if sandbox_password_file is not None and Path(sandbox_password_file).is_file():
        what = "the sandbox's password file (sandbox up --password-file)"
        return Password(_read_file(sandbox_password_file, what), f"file:{sandbox_password_file}")
    if url_password:
        return Password(url_password, "url")
    if spec is not None and spec.password_file:
        path = Path(spec.password_file).expanduser()
        return Password(_read_file(path, f"target {label}: password_file"), f"file:{path}")
    if spec is not None and spec.password_env:
        return Password(
            _read_env(env, spec.password_env, f"target {label}: password_env"), f"env:{spec.password_env}"
        )
    for name in PASSWORD_ENVS:
        if env.get(name):
            return Password(env[name], name)
    if ask_password:
        if prompt is None:
            raise InvalidArgument(
                "ask_password needs a prompt: the library never reads the terminal itself",
                hint="pass prompt=getpass.getpass (or the front end's own prompt)",
            )
        answer = prompt(f"Redis password for {label}")
        return Password(answer or None, "prompt" if answer else None)
    return Password(None, None)


def read_password_file(path: str | Path, what: str) -> str:
    """The password in ``path`` (its first line, stripped).

    Raises:
        ConfigError: the file does not exist, cannot be read, or its first line is empty.
    """
    return _read_file(path, what)


def _read_file(path: str | Path, what: str) -> str:
    p = Path(path).expanduser()
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(
            f"the password file {p} ({what}) does not exist", hint="check the path", context={"file": str(p)}
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"cannot read the password file {p} ({what}): {type(e).__name__}", context={"file": str(p)}
        ) from None
    value = lines[0].strip() if lines else ""
    if not value:
        raise ConfigError(
            f"the password file {p} ({what}) is empty",
            hint="its first line must be the password",
            context={"file": str(p)},
        )
    return value


def _read_env(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name)
    if not value:
        raise ConfigError(
            f"the environment variable {name} ({what}) is not set",
            hint=f"export {name}=... or name another variable",
            context={"env": name},
        )
    return value
