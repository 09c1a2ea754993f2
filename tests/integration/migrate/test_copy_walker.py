"""The SCAN walker against a real ElastiCache-like source (CONFIG and friends renamed away)."""

from __future__ import annotations

import pytest
import redis.exceptions as rex

from redisops.adapters.redis_conn import connect
from redisops.migrate.walker import RateLimiter, dbs_in_use, keyspace_sizes, scan_batches
from tests.harness.redis_sources import BIG_TYPES, SourceFactory, fill_dataset


def test_walker_on_an_elasticache_like_source(source_factory: SourceFactory) -> None:
    src = source_factory(notify="KEA")
    filled = fill_dataset(src.endpoint, keys_per_db=120, big_key_elements=50)
    client = connect(src.endpoint)
    with pytest.raises(rex.ResponseError, match="unknown command"):  # CONFIG is blocked, as on ElastiCache
        client.execute_command("CONFIG", "GET", "notify-keyspace-events")
    assert src.admin("CONFIG", "GET", "notify-keyspace-events")[1] in (b"AKE", b"KEA")
    assert dbs_in_use(client) == [0, 1, 2]
    assert keyspace_sizes(client) == filled.keys
    lim = RateLimiter(0)
    for db in (0, 1, 2):
        seen = {k for b in scan_batches(client, db=db, count=25, limiter=lim) for k in b.keys}
        assert len(seen) == filled.keys[db]
    assert {f"big:{t}".encode() for t in BIG_TYPES} <= {
        k for b in scan_batches(client, db=0, match="big:*") for k in b.keys
    }
    assert lim.ops >= 3
