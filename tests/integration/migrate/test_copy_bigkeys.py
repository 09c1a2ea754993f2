"""Big keys copied type by type: every type, a key deleted or changed mid-copy, no half key visible."""

from __future__ import annotations

import pytest

from redisops.cancel import CancelToken
from redisops.errors import Interrupted
from redisops.migrate.bigkeys import copy_by_type, temp_key_for
from redisops.migrate.walker import RateLimiter
from tests.harness.redis_sources import BIG_TYPES, SourceFactory, TargetFactory, canonical, fill_dataset


def test_every_type_in_chunks_with_ttl(source_factory: SourceFactory, target_factory: TargetFactory) -> None:
    src, tgt = source_factory(), target_factory()
    fill_dataset(src.endpoint, keys_per_db=0, dbs=(0,), big_key_elements=1000, big_value_bytes=50)
    s, t = src.client(), tgt.client()
    s.xgroup_create("big:stream", "readers", id="500-0")
    s.pexpire("big:set", 600_000)
    for kind in BIG_TYPES:
        key = f"big:{kind}".encode()
        out = copy_by_type(s, t, key, replace=False, chunk=64, chunk_bytes=4096)
        assert out.status == "copied" and out.chunks > 5, (kind, out)
        assert canonical(s, key) == canonical(t, key)
    source_ttl = s.pttl("big:set")  # read first: the target's, read later, can only be smaller
    assert 0 < t.pttl("big:set") <= source_ttl + 5 and t.pttl("big:hash") == -1
    assert t.xinfo_groups("big:stream")[0]["last-delivered-id"] == b"500-0"
    assert (
        t.xinfo_stream("big:stream")["last-generated-id"] == s.xinfo_stream("big:stream")["last-generated-id"]
    )
    # again without replace: skipped; with replace: copied
    assert copy_by_type(s, t, b"big:list", replace=False).status == "skipped"
    assert copy_by_type(s, t, b"big:list", replace=True).status == "copied"
    assert not t.keys("*__redisops_migrate_tmp__*")


def test_temp_key_keeps_the_cluster_slot() -> None:
    assert temp_key_for(b"user:{42}:cart").startswith(b"user:{42}:cart")
    assert temp_key_for(b"plain").startswith(b"{plain}")
    assert temp_key_for(b"odd{}key").startswith(b"{odd{}key}")


def test_a_key_deleted_mid_copy_is_counted_and_leaves_nothing(
    source_factory: SourceFactory, target_factory: TargetFactory
) -> None:
    """The throttle's sleep (injected) runs between two chunk reads: the key is deleted right there."""
    src, tgt = source_factory(), target_factory()
    s, t = src.client(), tgt.client()
    s.rpush("big:list", *range(2000))
    s.hset("big:hash", mapping={f"f{i}": i for i in range(2000)})
    reads: list[int] = []

    def delete_after_first_chunk(_: float) -> None:
        reads.append(1)
        if len(reads) == 2:
            s.delete("big:list")

    lim = RateLimiter(1_000_000, sleep=delete_after_first_chunk, clock=lambda: 0.0)
    out = copy_by_type(s, t, b"big:list", replace=False, chunk=100, limiter=lim)
    assert out.status == "vanished" and out.chunks >= 1
    assert t.exists("big:list") == 0 and not t.keys("*__redisops_migrate_tmp__*")

    # a type change mid-copy is a failure with its reason, nothing written
    reads.clear()

    def retype(_: float) -> None:
        reads.append(1)
        if len(reads) == 2:
            s.delete("big:hash")
            s.set("big:hash", "now a string")

    lim = RateLimiter(1_000_000, sleep=retype, clock=lambda: 0.0)
    out = copy_by_type(s, t, b"big:hash", replace=False, chunk=100, limiter=lim)
    assert out.status == "failed" and "type changed" in out.reason
    assert t.exists("big:hash") == 0 and not t.keys("*__redisops_migrate_tmp__*")


def test_cancel_mid_big_key_deletes_the_temporary_key(
    source_factory: SourceFactory, target_factory: TargetFactory
) -> None:
    src, tgt = source_factory(), target_factory()
    s, t = src.client(), tgt.client()
    s.sadd("big:set", *range(3000))
    token = CancelToken()
    calls: list[int] = []

    def cancel_on_third(_: float) -> None:
        calls.append(1)
        if len(calls) == 3:
            token.cancel("operator")

    lim = RateLimiter(1_000_000, sleep=cancel_on_third, clock=lambda: 0.0)
    with pytest.raises(Interrupted):
        copy_by_type(s, t, b"big:set", replace=False, chunk=100, limiter=lim, cancel=token)
    assert t.dbsize() == 0
