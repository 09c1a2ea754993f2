"""Render the redis.conf that both the Kubernetes ConfigMap and the local sandbox run.

One renderer, so the sandbox rehearses exactly the persistence settings production runs. Secrets are
never rendered: a password reaches Redis through ``--requirepass`` from an env var / Secret at start.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping

from redisops.config.model import DeploymentConfig

__all__ = ["config_checksum", "override_redis_conf", "parse_redis_conf", "render_redis_conf"]

#: directives that would put secrets or unsafe behaviour into a ConfigMap
_FORBIDDEN_EXTRA = {"requirepass", "masterauth", "include", "dir"}


def render_redis_conf(cfg: DeploymentConfig, overrides: Mapping[str, str] | None = None) -> str:
    """The redis.conf text for ``cfg``.

    ``overrides`` replaces or adds directives (the sandbox sets ``port``, ``bind``, ``dir``,
    ``logfile``); keys are redis.conf directive names. Order is stable so checksums are too.
    """
    r = cfg.config
    items: list[tuple[str, str]] = [
        ("bind", "0.0.0.0"),
        # without a password, protected mode refuses every non-loopback client (the pods); the
        # NetworkPolicy is what limits who may connect, and lint warns about a missing AUTH
        ("protected-mode", "yes" if cfg.auth.enabled else "no"),
        ("port", str(cfg.port)),
        ("dir", "/data"),
        ("daemonize", "no"),
        ("databases", str(r.databases)),
        ("maxclients", str(r.maxclients)),
        ("maxmemory", r.maxmemory),
        ("maxmemory-policy", r.maxmemory_policy),
        ("save", " ".join(f"{p.seconds} {p.changes}" for p in r.save) if r.save else '""'),
        ("dbfilename", r.dbfilename),
        ("rdbcompression", "yes"),
        ("rdbchecksum", "yes"),
        ("stop-writes-on-bgsave-error", "yes"),
        ("appendonly", "yes" if r.appendonly else "no"),
        ("appendfsync", r.appendfsync),
        ("appenddirname", f'"{r.appenddirname}"'),
        ("appendfilename", f'"{r.appendfilename}"'),
        ("aof-use-rdb-preamble", "yes"),
        # a streamed backup is a replica that asks for an rdb-only transfer; with the default 0 Redis
        # waits repl-diskless-sync-delay (5 s) for more replicas first. 1: the transfer starts as soon
        # as one replica waits (Redis 7.0+; trade-off in docs/config.md)
        ("repl-diskless-sync-max-replicas", "1"),
        ("slowlog-log-slower-than", str(r.slowlog_log_slower_than)),
        ("slowlog-max-len", str(r.slowlog_max_len)),
        ("latency-monitor-threshold", str(r.latency_monitor_threshold)),
    ]
    for key, value in r.extra.items():
        if key.lower() in _FORBIDDEN_EXTRA:
            raise ValueError(f"config.extra may not set {key!r}; use the dedicated setting")
        items.append((key, value))
    if overrides:
        seen = {k for k, _ in items}
        items = [(k, overrides.get(k, v)) for k, v in items]
        items += [(k, v) for k, v in overrides.items() if k not in seen]
    body = "\n".join(f"{k} {v}" for k, v in items)
    return (
        "# redis.conf rendered by redisops from the deployment config; edit the config, not this file.\n"
        f"{body}\n"
    )


def config_checksum(text: str) -> str:
    """SHA-256 of a rendered redis.conf (the pod-template annotation that rolls pods on change)."""
    return hashlib.sha256(text.encode()).hexdigest()


def parse_redis_conf(text: str) -> dict[str, str]:
    """Directive -> value of a redis.conf text (names lower-cased, quotes removed, the last one wins).

    Enough to read what a server will load (``appendonly``, ``dir``, ``maxmemory``...) from the
    ConfigMap a Job mounts; multi-valued directives (``save``) keep their last line only. ``include``
    is not followed. Raises ValueError on a line with unbalanced quotes.
    """
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line, comments=False, posix=True)
        except ValueError as e:
            raise ValueError(f"redis.conf line {number}: {e}") from None
        if words:
            out[words[0].lower()] = " ".join(words[1:])
    return out


def override_redis_conf(text: str, overrides: Mapping[str, str]) -> str:
    """``text`` with every line of an overridden directive removed and the overrides appended.

    Appending alone is not enough: Redis acts on some directives while it parses (``dir`` chdirs at
    once, so a ``dir /data`` that does not exist here stops it before a later ``dir`` is read).
    """
    names = {k.lower() for k in overrides}
    kept = []
    for line in text.splitlines():
        words = line.split(None, 1)
        if words and not words[0].startswith("#") and words[0].lower() in names:
            continue
        kept.append(line)
    kept += [f"{k} {v}" for k, v in overrides.items()]
    return "\n".join(kept) + "\n"
