"""The live server a backup reads: its config fingerprint and the replica to stream from.

Re-exported by :mod:`redisops.ops.backup`.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command
from redisops.errors import AuthError, PlatformError, RedisOpsError
from redisops.inspect import Info, parse_config_get

# no __all__: redisops.ops.backup is the public home of these names (it re-exports and lists them)

#: the redis.conf settings whose values make up a backup's config fingerprint
FINGERPRINT_KEYS = (
    "appendonly",
    "appendfsync",
    "save",
    "maxmemory",
    "maxmemory-policy",
    "databases",
    "aof-use-rdb-preamble",
    "appenddirname",
    "appendfilename",
)


def config_fingerprint(ep: RedisEndpoint) -> str | None:
    """SHA-256 (16 hex) of the persistence-relevant live settings; None when CONFIG is refused."""
    client = connect(ep)
    try:
        values = parse_config_get(raw_command(client, "CONFIG", "GET", "*"))
    except (PlatformError, AuthError):  # CONFIG renamed away (ElastiCache) or not granted
        return None
    finally:
        client.close()
    text = "\n".join(f"{k}={values.get(k, '')}" for k in FINGERPRINT_KEYS)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pick_stream_source(ep: RedisEndpoint, info: Info, *, max_lag: int = 10) -> RedisEndpoint:
    """A replica of ``ep`` to stream from when one is online, reachable and not lagging; else ``ep``.

    The fork for the snapshot then happens on the replica, not on the primary that serves traffic.
    A replica address that cannot be reached from here (a pod IP seen from a laptop) is skipped.
    """
    if info.replication.role != "master":
        return ep
    for replica in info.replication.replicas:
        if replica.state != "online" or (replica.lag is not None and replica.lag > max_lag):
            continue
        candidate = replace(ep, host=replica.ip, port=replica.port)
        try:
            client = connect(candidate)
            client.close()
        except RedisOpsError:
            continue
        return candidate
    return ep
