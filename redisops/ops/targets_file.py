"""Named targets: a YAML file that names where to act, as kubeconfig names its contexts.

The file is ``$REDISOPS_TARGETS`` or ``<user config dir>/redisops/targets.yaml``::

    targets:
      prod:
        url: rediss://redis.prod.svc:6379/0     # no password here: use password_file / password_env
        user: app
        password_file: /run/secrets/redis
        config: deploy/prod.yaml
        kubeconfig: ~/.kube/config
        context: prod-eks
        namespace: cache
        production: true

Unknown keys are refused with the file and line (like the config loader); a password written into the
file (a ``password:`` key or a password in ``url``) is refused too: the file names where secrets are,
never the secrets themselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from redisops.config.loaders import _closest_line, _short, _yaml_lines
from redisops.errors import ConfigError

__all__ = ["TARGETS_ENV", "TargetSpec", "default_targets_path", "load_targets"]

#: the env var naming the targets file
TARGETS_ENV = "REDISOPS_TARGETS"
#: the implicit default target (the local sandbox); no named target may take this name
SANDBOX = "sandbox"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class TargetSpec(BaseModel):
    """One named target of the targets file: where to act, and where its credentials are.

    Every field is optional; options given on the command line (or to :func:`resolve_target`) override
    the named target's values. Secrets are never stored here, only where to find them
    (``password_file``, ``password_env``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    user: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    tls_ca: str | None = None
    tls_insecure: bool = False
    config: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    production: bool = False

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
        except ValueError as e:
            raise ValueError(f"not a URL ({e})") from None
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("must be redis://[user@]host[:port][/db] or rediss://")
        if parts.password:
            raise ValueError(
                "a password does not belong in the targets file: use password_file or password_env"
            )
        return value


def default_targets_path(env: Mapping[str, str] | None = None) -> Path:
    """``$REDISOPS_TARGETS`` or ``<platformdirs user_config_dir("redisops")>/targets.yaml``."""
    env = os.environ if env is None else env
    explicit = env.get(TARGETS_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("redisops")) / "targets.yaml"


def load_targets(
    path: str | Path | None = None, *, env: Mapping[str, str] | None = None
) -> dict[str, TargetSpec]:
    """The named targets of the targets file (``path``, else :func:`default_targets_path`).

    A missing file at the default place means no named targets (an empty dict); a missing file that
    was named (``path`` or ``$REDISOPS_TARGETS``) is a :class:`~redisops.errors.ConfigError`.

    Raises:
        ConfigError: the file is unreadable, not YAML, or has an unknown key / bad value (with its line).
    """
    env = os.environ if env is None else env
    named = path is not None or bool(env.get(TARGETS_ENV, "").strip())
    p = Path(path).expanduser() if path is not None else default_targets_path(env)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not named:
            return {}
        source = "" if path is not None else f" (${TARGETS_ENV})"
        raise ConfigError(
            f"the targets file {p}{source} does not exist",
            hint="create it (docs/targets.md shows its shape) or fix the path",
            context={"file": str(p)},
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"cannot read the targets file {p}: {type(e).__name__}", context={"file": str(p)}
        ) from None
    return parse_targets(text, source=str(p))


def parse_targets(text: str, *, source: str = "<targets>") -> dict[str, TargetSpec]:
    """Validate the text of a targets file (see :func:`load_targets`)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: invalid YAML: {getattr(e, 'problem', None) or e}") from None
    lines = _yaml_lines(node) if node is not None else {}
    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) - {"targets"}:
        extra = sorted(str(k) for k in data) if isinstance(data, dict) else []
        raise ConfigError(
            f"{source}:1: the targets file holds one mapping, `targets:`"
            + (f" (found {', '.join(extra)})" if extra else ""),
            hint="see docs/targets.md for the file's shape",
            context={"file": source},
        )
    targets = data.get("targets") or {}
    if not isinstance(targets, dict):
        raise ConfigError(f"{source}:{lines.get(('targets',), 1)}: `targets` must map names to targets")
    out: dict[str, TargetSpec] = {}
    problems: list[str] = []
    for name, body in targets.items():
        key = str(name)
        line = lines.get(("targets", name), 1)
        if not _NAME.match(key) or key == SANDBOX:
            why = "is the implicit default target" if key == SANDBOX else "is not a valid target name"
            problems.append(f"{source}:{line}: targets.{key}: {why}")
            continue
        if body is not None and not isinstance(body, dict):
            problems.append(f"{source}:{line}: targets.{key}: must be a mapping of settings")
            continue
        try:
            out[key] = TargetSpec.model_validate(body or {})
        except ValidationError as e:
            problems.extend(_problems(e, source, ("targets", name), lines))
    if problems:
        more = f" (+{len(problems) - 1} more: " + "; ".join(problems[1:]) + ")" if len(problems) > 1 else ""
        raise ConfigError(
            f"invalid targets file: {problems[0]}{more}",
            hint="fix the named field(s); docs/targets.md lists every setting",
            context={"file": source, "problems": problems},
        )
    return out


def _problems(
    e: ValidationError, source: str, prefix: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]
) -> list[str]:
    out = []
    for err in e.errors():
        loc = (*prefix, *err["loc"])
        line = _closest_line(loc, lines)
        where = f"{source}:{line}" if line else source
        field = ".".join(str(x) for x in loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            if err["loc"][-1] == "password":
                msg = "a password does not belong in the targets file: use password_file or password_env"
            else:
                msg = "unknown setting (check the spelling; see docs/targets.md)"
        secret = err["loc"][-1] in ("password", "url")
        shown = "<hidden>" if secret else _short(err.get("input"))
        out.append(f"{where}: {field} = {shown}: {msg}")
    return out
