"""Our redis.conf lets a streamed backup start at once (issue 12 item 27): it renders
``repl-diskless-sync-max-replicas 1``, Redis 7.0 accepts it, and with the default 5 s
``repl-diskless-sync-delay`` the stream neither waits nor reports a wait."""

from __future__ import annotations

from redisops.adapters.replication import ReplicationRdbStream
from redisops.config import DeploymentConfig, parse_redis_conf, render_redis_conf
from redisops.ops.datasets import DatasetSpec, populate
from redisops.rdb import verify_rdb_chunks


def test_the_rendered_conf_starts_a_single_consumer_stream_at_once(redis_factory):
    assert parse_redis_conf(render_redis_conf(DeploymentConfig()))["repl-diskless-sync-max-replicas"] == "1"
    # the harness sets the delay to 0 for speed; put Redis's default back
    server = redis_factory(extra={"repl-diskless-sync-delay": "5"})
    client = server.client(decode=True)
    try:
        got = client.config_get("repl-diskless-sync*")
    finally:
        client.close()
    assert got["repl-diskless-sync"] == "yes"
    assert got["repl-diskless-sync-delay"] == "5"
    assert got["repl-diskless-sync-max-replicas"] == "1"  # the server loaded it from the rendered file
    populate(server.endpoint, DatasetSpec(keys_per_db=50, dbs=(0,)), seed=3)
    phases: list[str] = []
    stream = ReplicationRdbStream("127.0.0.1", server.endpoint.port, on_phase=phases.append)
    with stream:
        result = verify_rdb_chunks(stream)
    assert phases == [] and stream.wait_message is None
    assert stream.keepalives <= 1  # waiting out 5 s would bring a keep-alive a second
    assert result.db_key_counts is not None and result.db_key_counts[0].keys == 50
