"""Waiting for a Redis server to finish loading its data (after a start, a restore, a drill)."""

from __future__ import annotations

import time

from redisops.adapters.redis_conn import RedisEndpoint, connect, raw_command
from redisops.errors import ConnectionFailed, OperationTimeout, RedisOpsError
from redisops.inspect import Info, parse_info

__all__ = ["wait_loaded"]


def wait_loaded(endpoint: RedisEndpoint, *, timeout: float = 300.0, interval: float = 0.05) -> Info:
    """Poll ``INFO everything`` until the server answers with ``loading:0``; return that INFO.

    The first polls come 5 ms apart, growing to ``interval`` (a small dataset loads in milliseconds: the
    wait, part of a restore's downtime, should not round it up to the next ``interval``).

    Raises:
        OperationTimeout: still loading (or unreachable) after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last_error: RedisOpsError | None = None
    pause = min(0.005, interval)
    while True:
        try:
            client = connect(endpoint, check=False)
            try:
                info = parse_info(raw_command(client, "INFO", "everything"))
            finally:
                client.close()
            if info.persistence.loading is False:
                return info
        except (ConnectionFailed, RedisOpsError) as e:
            last_error = e
        if time.monotonic() >= deadline:
            raise OperationTimeout(
                f"Redis at {endpoint} did not finish loading within {timeout:.0f} s"
                + (f" (last error: {last_error.message})" if last_error else ""),
                hint="a large dataset loads slowly; wait and check INFO persistence, or raise the timeout",
                context={"endpoint": str(endpoint)},
            )
        time.sleep(pause)
        pause = min(pause * 2, interval)
