"""Catalogue entries of the deployment config itself (all ``read``, no target needed): ``config.show``
(the effective config: the file's values over the write-up's defaults), ``config.validate`` (every
problem named: ConfigError, exit 3) and ``config.render`` (the redis.conf the config renders to)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from redisops.ops.catalogue import Catalogue, Kind, OpContext, Operation

__all__ = ["ConfigFileParams", "ConfigShown", "ConfigValidation", "RedisConf", "register"]


class ConfigFileParams(BaseModel):
    """Parameters of ``config.show``, ``config.validate`` and ``config.render``."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = Field(
        None,
        description="the config file (.yaml or the write-up's configuration.hcl) [default: the write-up's "
        "defaults]",
    )


@dataclass(frozen=True)
class ConfigShown:
    """``config.show``: the effective config as JSON."""

    file: str | None
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The config itself (as ``redisops config show -o json`` has always printed it)."""
        return self.config


@dataclass(frozen=True)
class ConfigValidation:
    """``config.validate``: the file is valid (an invalid one raises ConfigError naming every problem)."""

    file: str | None
    valid: bool = True

    def to_dict(self) -> dict[str, Any]:
        """``{"valid": true, "file": ...}``."""
        return {"valid": self.valid, "file": self.file}


@dataclass(frozen=True)
class RedisConf:
    """``config.render``: the redis.conf text (the ConfigMap's content)."""

    file: str | None
    redis_conf: str

    def to_dict(self) -> dict[str, Any]:
        """``{"file": ..., "redis_conf": ...}``."""
        return {"file": self.file, "redis_conf": self.redis_conf}


def config_show(ctx: OpContext, p: ConfigFileParams) -> ConfigShown:
    """The effective config (file values over the defaults)."""
    from redisops.config import load_config

    return ConfigShown(p.file, load_config(p.file).model_dump(mode="json"))


def config_validate(ctx: OpContext, p: ConfigFileParams) -> ConfigValidation:
    """Load and check the config; ConfigError (exit 3) names every problem."""
    from redisops.config import load_config

    load_config(p.file)
    return ConfigValidation(p.file)


def config_render(ctx: OpContext, p: ConfigFileParams) -> RedisConf:
    """The redis.conf the config renders to."""
    from redisops.config import load_config, render_redis_conf

    return RedisConf(p.file, render_redis_conf(load_config(p.file)))


def register(cat: Catalogue) -> None:
    """Add ``config.show``, ``config.validate`` and ``config.render``."""
    read = Kind.read
    for op in (
        Operation("config.show", "The effective deployment config (file values over the defaults).", read,
                  ConfigFileParams, config_show, result=ConfigShown),
        Operation("config.validate", "Check a deployment config file; every problem named.", read,
                  ConfigFileParams, config_validate, result=ConfigValidation),
        Operation("config.render", "The redis.conf a deployment config renders to.", read,
                  ConfigFileParams, config_render, result=RedisConf),
    ):  # fmt: skip
        cat.register(op)
