"""Load a :class:`DeploymentConfig` from YAML or from the write-up's HCL ``configuration.hcl``.

Validation errors become one :class:`ConfigError` that names every bad field, its value, the file,
and (for YAML) the line, e.g.::

    config.yaml:12: config.maxmemory_policy = 'allkeys-lr': Input should be 'noeviction', ...
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from redisops.config.model import DeploymentConfig
from redisops.errors import ConfigError

__all__ = ["apply_env", "config_from_mapping", "load_config", "load_hcl", "load_yaml", "read_redis_conf"]

#: env vars that override the backup target (what the backup CronJob / restore Job pods set)
ENV_BACKUP_FIELDS = {
    "REDISOPS_S3_BUCKET": "bucket",
    "REDISOPS_S3_PREFIX": "prefix",
    "AWS_REGION": "region",
    "REDISOPS_S3_ENDPOINT_URL": "endpoint_url",
    "REDISOPS_S3_FORCE_PATH_STYLE": "force_path_style",
    "REDISOPS_S3_SSE": "server_side_encryption",
    "REDISOPS_S3_KMS_KEY_ID": "kms_key_id",
    "REDISOPS_BACKUP_KEEP_LAST": "keep_last",
}


def apply_env(cfg: DeploymentConfig, env: Mapping[str, str]) -> DeploymentConfig:
    """``cfg`` with the backup target overridden by ``REDISOPS_S3_*`` env vars (empty values ignored).

    The in-cluster backup CronJob and restore Job get their S3 settings this way (see the manifests).
    """
    updates: dict[str, Any] = {
        field: env[name] for name, field in ENV_BACKUP_FIELDS.items() if env.get(name, "").strip()
    }
    if not updates:
        return cfg
    data = cfg.model_dump(mode="json")
    data["backup"] = {**data["backup"], **updates}
    return config_from_mapping(data, source="environment (REDISOPS_S3_*)")


#: the HCL attribute that holds the write-up's Redis block
HCL_BLOCK = "redis_k8s_config"
_SECRET_FIELDS = ("password", "secret_access_key", "token")


def load_config(path: str | Path | None) -> DeploymentConfig:
    """Load a config file by extension (``.yaml``/``.yml``/``.json`` or ``.hcl``); None -> defaults."""
    if path is None:
        return DeploymentConfig()
    p = Path(path)
    if p.suffix == ".hcl":
        return load_hcl(p)
    if p.suffix in (".yaml", ".yml", ".json"):
        return load_yaml(p)
    raise ConfigError(
        f"{p}: unknown config format {p.suffix!r}",
        hint="use a .yaml/.yml file or the write-up's configuration.hcl",
        context={"file": str(p)},
    )


def _read(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {p}", hint="check the path (or omit it to use the defaults)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {p}: {e}", context={"file": str(p)}) from e


def load_yaml(path: str | Path) -> DeploymentConfig:
    """Load YAML; errors carry the line of the offending field."""
    p = Path(path)
    text = _read(p)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{where}: invalid YAML: {problem}", context={"file": str(p)}) from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}:1: the top level must be a mapping of settings, got {type(data).__name__}")
    # accept the write-up's shape too: {redis_k8s_config: {...}}
    lines = _yaml_lines(node) if node is not None else {}
    if set(data) == {HCL_BLOCK} and isinstance(data[HCL_BLOCK], dict):
        data = data[HCL_BLOCK]
        lines = {k[1:]: v for k, v in lines.items() if k[:1] == (HCL_BLOCK,)}
    return config_from_mapping(data, source=str(p), lines=lines)


def _yaml_lines(node: yaml.Node, path: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], int]:
    """Map every key path in a composed YAML tree to its 1-based line."""
    out: dict[tuple[str | int, ...], int] = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            for sub, line in _yaml_lines(value_node, (*path, key)).items():
                out.setdefault(sub, line)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(_yaml_lines(item, (*path, i)))
    return out


def load_hcl(path: str | Path) -> DeploymentConfig:
    """Load the ``redis_k8s_config`` block of an HCL file such as the write-up's configuration.hcl.

    The block may sit at the top level, inside ``locals { }`` or inside ``inputs = { }``.
    """
    p = Path(path)
    text = _read(p)
    try:
        import hcl2
    except ImportError as e:  # pragma: no cover - a declared dependency
        from redisops.errors import DependencyMissing

        raise DependencyMissing("python-hcl2 is not installed", hint="pip install python-hcl2") from e
    try:
        tree = hcl2.loads(text)
    except Exception as e:  # lark raises many types; all mean "not valid HCL"
        raise ConfigError(f"{p}: invalid HCL: {str(e).splitlines()[0]}", context={"file": str(p)}) from e
    block = _find_block(tree)
    if block is None:
        raise ConfigError(
            f"{p}: no `{HCL_BLOCK} = {{...}}` block found",
            hint=f"point at the file that defines {HCL_BLOCK} (the write-up's configuration.hcl)",
        )
    data = _unquote(block)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: `{HCL_BLOCK}` must be an object")
    line = _hcl_block_line(text)
    return config_from_mapping(data, source=str(p), lines={(): line} if line else {})


def _find_block(tree: Any) -> Any:
    if isinstance(tree, dict):
        if HCL_BLOCK in tree:
            return tree[HCL_BLOCK]
        for v in tree.values():
            found = _find_block(v)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for v in tree:
            found = _find_block(v)
            if found is not None:
                return found
    return None


def _unquote(value: Any) -> Any:
    """python-hcl2 may keep string quotes or wrap expressions as ``${...}``; normalise to plain values."""
    if isinstance(value, dict):
        return {str(_unquote(k)): _unquote(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        return value
    return value


def _hcl_block_line(text: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(HCL_BLOCK):
            return i
    return None


def config_from_mapping(
    data: Mapping[str, Any],
    *,
    source: str = "<config>",
    lines: Mapping[tuple[str | int, ...], int] | None = None,
) -> DeploymentConfig:
    """Validate a plain mapping; on failure raise one ConfigError listing every problem."""
    try:
        return DeploymentConfig.model_validate(dict(data))
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            where = source
            line = _closest_line(loc, lines or {})
            if line:
                where = f"{source}:{line}"
            field = ".".join(str(x) for x in loc) or "(top level)"
            value = err.get("input")
            shown = "<hidden>" if any(s in field for s in _SECRET_FIELDS) else _short(value)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown setting (check the spelling; see docs/config.md)"
            problems.append(f"{where}: {field} = {shown}: {msg}")
        first = problems[0]
        more = f" (+{len(problems) - 1} more: " + "; ".join(problems[1:]) + ")" if len(problems) > 1 else ""
        raise ConfigError(
            f"invalid config: {first}{more}",
            hint="fix the named field(s); docs/config.md lists every setting and its default",
            context={"source": source, "problems": problems},
        ) from None


def _closest_line(loc: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]) -> int | None:
    for n in range(len(loc), -1, -1):
        if tuple(loc[:n]) in lines:
            return lines[tuple(loc[:n])]
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_redis_conf(path: Path | None) -> str | None:
    """The text of the redis.conf the target loads (the Jobs mount the ConfigMap's), None without a path.

    Raises:
        ConfigError: the file cannot be read (names it and where the Jobs mount it).
    """
    if path is None:
        return None
    try:
        return Path(path).read_text()
    except OSError as e:
        raise ConfigError(
            f"cannot read the redis.conf {path}: {e.strerror or e}",
            hint="pass the path where the Redis ConfigMap is mounted (/etc/redis/redis.conf in the Jobs)",
        ) from None
