"""Pure parts of the cluster support and of the copy's RESP packing: Redis's slot function (CRC16 of the
key or its hash tag), grouping keys per node, INFO of several primaries summed; the packed commands parse
back (hiredis) to exactly the commands meant."""

from __future__ import annotations

import hiredis
import redis

from redisops.inspect import parse_info
from redisops.migrate.cluster import SLOTS, Side, _merge, slot_of
from redisops.migrate.pipeline import pack_memory_usage, pack_pttl_dump, pack_restores


def test_slots_follow_redis_cluster_spec() -> None:
    assert slot_of(b"123456789") == 0x31C3 % SLOTS  # the spec's CRC16 check value
    assert slot_of("foo") == 12182
    assert slot_of(b"{user1000}.following") == slot_of(b"{user1000}.followers") == slot_of(b"user1000")
    assert slot_of(b"foo{}{bar}") == slot_of(b"foo{}{bar}")  # an empty tag: the whole key is hashed
    assert slot_of(b"foo{}{bar}") != slot_of(b"bar")


def test_side_groups_keys_by_the_node_owning_their_slot() -> None:
    owners = [0] * 5461 + [1] * 5461 + [2] * (SLOTS - 2 * 5461)
    clients = [redis.Redis(port=1), redis.Redis(port=2), redis.Redis(port=3)]
    side = Side(clients, [], owners)
    keys = [f"k{i}".encode() for i in range(300)]
    groups = side.group(keys)
    assert sorted(k for g in groups.values() for k in g) == sorted(keys)
    for node, ks in groups.items():
        assert all(owners[slot_of(k)] == node for k in ks)
        assert side.client_for(ks[0]) is clients[node]
    assert set(groups) == {0, 1, 2}
    single = Side.single(clients[0])
    assert single.group(keys) == {0: keys} and not single.clustered


def test_info_of_primaries_is_summed() -> None:
    a = parse_info("# Memory\r\nused_memory:1000\r\nused_memory_dataset:600\r\nmaxmemory:0\r\n"
                   "# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=0\r\n")  # fmt: skip
    b = parse_info("# Memory\r\nused_memory:3000\r\nused_memory_dataset:2400\r\nmaxmemory:0\r\n"
                   "# Keyspace\r\ndb0:keys=30,expires=5,avg_ttl=0\r\n")  # fmt: skip
    m = _merge([a, b])
    assert m.memory.used_memory == 4000 and m.memory.used_memory_dataset == 3000
    assert m.keyspace[0].keys == 40 and m.keyspace[0].expires == 7
    assert not m.memory.maxmemory


def _parse(buf: bytes) -> list[object]:
    reader = hiredis.Reader()
    reader.feed(buf)
    out = []
    while (item := reader.gets()) is not False:
        out.append(item)
    return out


def test_packed_commands_parse_back_to_the_commands() -> None:
    keys = [b"a", b"key with spaces", b"\x00\xffbin\r\n"]
    assert _parse(pack_pttl_dump(keys)) == [c for k in keys for c in ([b"PTTL", k], [b"DUMP", k])]
    assert _parse(pack_memory_usage(keys)) == [[b"MEMORY", b"USAGE", k] for k in keys]
    rows = [(b"a", 0, b"\x00payload\r\n"), (b"b", 12345, b"")]
    assert _parse(pack_restores(rows)) == [[b"RESTORE", b"a", b"0", b"\x00payload\r\n"],
                                            [b"RESTORE", b"b", b"12345", b""]]  # fmt: skip
    assert _parse(pack_restores(rows[:1], replace=True)) == [[b"RESTORE", b"a", b"0", b"\x00payload\r\n",
                                                              b"REPLACE"]]  # fmt: skip
