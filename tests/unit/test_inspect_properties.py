"""Property-based tests of redisops.inspect: arbitrary input raises ParseError or nothing, and generated
replies parse back to what generated them."""

from __future__ import annotations

import string
from dataclasses import fields
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from redisops.errors import ParseError
from redisops.inspect import (
    ClientInfo,
    ClientsInfo,
    ClusterInfo,
    CpuInfo,
    MemoryInfo,
    PersistenceInfo,
    ReplicationInfo,
    ServerInfo,
    StatsInfo,
    key_pattern,
    parse_client_list,
    parse_config_get,
    parse_info,
    parse_latency_doctor,
    parse_latency_history,
    parse_latency_latest,
    parse_memory_stats,
    parse_memory_usage,
    parse_slowlog,
    shape_of,
)
from redisops.inspect._common import coerce_scalar

FAST = settings(max_examples=100, deadline=None)
LOWER = string.ascii_lowercase


def word(first: str, rest: str, max_size: int) -> st.SearchStrategy[str]:
    """A cheap regex-free ``[first][rest]{0,max_size}`` strategy."""
    return st.builds(str.__add__, st.sampled_from(first), st.text(st.sampled_from(rest), max_size=max_size))


# --- anything in, ParseError or a result out --------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=20),
    st.text(max_size=20),
)
nested = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.tuples(children, children),
        st.dictionaries(st.one_of(st.binary(max_size=8), st.text(max_size=8)), children, max_size=4),
    ),
    max_leaves=25,
)
# text that looks a little like INFO / CLIENT LIST, to get past the first checks
info_alphabet = st.sampled_from(list("#:=,. \r\n\t_|-dbcmdstaerrorlatency0123456789keysexpiresavg_ttl"))
info_like = st.one_of(
    st.text(info_alphabet, max_size=200),
    st.lists(
        st.tuples(
            st.sampled_from(["db0", "db12", "cmdstat_get", "errorstat_ERR", "latency_percentiles_usec_x",
                             "slave0", "module", "used_memory", "loading", "used_cpu_sys", "redis_version",
                             "role", "", "x y"]),
            st.text(st.sampled_from(list("=,:0123456789.-abkeysptlcounname\r")), max_size=30),
        ),
        max_size=8,
    ).map(lambda items: "\r\n".join(f"{k}:{v}" for k, v in items)),
)  # fmt: skip
PARSERS = [
    parse_info,
    parse_slowlog,
    parse_latency_latest,
    parse_latency_history,
    parse_latency_doctor,
    parse_memory_stats,
    parse_memory_usage,
    parse_client_list,
    parse_config_get,
]


def only_parse_error(parser: Any, value: Any) -> None:
    try:
        parser(value)
    except ParseError as e:
        assert len(e.context.get("excerpt", "")) <= 80


@FAST
@given(value=nested)
def test_nested_replies_never_raise_foreign_errors(value: Any) -> None:
    for parser in PARSERS:
        only_parse_error(parser, value)


@FAST
@given(value=st.one_of(st.text(max_size=300), st.binary(max_size=300), info_like))
def test_text_replies_never_raise_foreign_errors(value: Any) -> None:
    for parser in (parse_info, parse_client_list, parse_latency_doctor, parse_slowlog):
        only_parse_error(parser, value)


slowlog_entry_like = st.lists(
    st.one_of(st.integers(-5, 2**70), st.binary(max_size=8), st.lists(st.binary(max_size=5), max_size=4)),
    min_size=3,
    max_size=7,
)


@FAST
@given(value=st.lists(slowlog_entry_like, max_size=4))
def test_slowlog_like_never_raises_foreign_errors(value: Any) -> None:
    only_parse_error(parse_slowlog, value)
    only_parse_error(parse_latency_latest, value)
    only_parse_error(parse_memory_stats, [x for entry in value for x in entry[:2]])


# --- round trips ----------------------------------------------------------------------------------------

_TYPED_NAMES = {
    f.name
    for cls in (ServerInfo, ClientsInfo, MemoryInfo, PersistenceInfo, StatsInfo, ReplicationInfo, CpuInfo,
                ClusterInfo)
    for f in fields(cls)
}  # fmt: skip


def _plain_key(key: str) -> bool:
    structured = key.startswith(("cmdstat_", "errorstat_", "latency_percentiles_usec_", "db", "slave"))
    return not structured and key not in _TYPED_NAMES and key != "module"


field_names = word(LOWER, LOWER + string.digits + "_", 15).filter(_plain_key)
values = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.builds("{}.{}".format, st.integers(-(10**6), 10**6), st.integers(0, 9999)),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30),
)
sections = st.dictionaries(
    word(LOWER, LOWER, 9),
    st.dictionaries(field_names, values, max_size=6),
    max_size=5,
)


@FAST
@given(generated=sections, crlf=st.booleans(), as_bytes=st.booleans())
def test_info_round_trip(generated: dict[str, dict[str, str]], crlf: bool, as_bytes: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    text = "".join(
        f"# {name.capitalize()}{eol}" + "".join(f"{k}:{v}{eol}" for k, v in body.items()) + eol
        for name, body in generated.items()
    )
    info = parse_info(text.encode("utf-8") if as_bytes else text)
    assert {name: dict(sec.fields) for name, sec in info.sections.items()} == generated
    for name, body in generated.items():
        for key, value in body.items():
            loose = info.sections[name].get(key)
            assert loose == coerce_scalar(value)
            assert str(loose) == value or not isinstance(loose, int)  # int coercion is lossless


keyspace = st.dictionaries(
    st.integers(0, 15),
    st.tuples(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 5)),
    max_size=6,
)


@FAST
@given(dbs=keyspace)
def test_keyspace_round_trip(dbs: dict[int, tuple[int, int, int, int]]) -> None:
    text = "# Keyspace\r\n" + "".join(
        f"db{n}:keys={k},expires={e},avg_ttl={t}" + ("" if not x else f",subexpiry={x}") + "\r\n"
        for n, (k, e, t, x) in dbs.items()
    )
    info = parse_info(text)
    assert {n: (d.keys, d.expires, d.avg_ttl) for n, d in info.keyspace.items()} == {
        n: (k, e, t) for n, (k, e, t, _) in dbs.items()
    }
    assert info.total_keys == sum(k for k, _, _, _ in dbs.values())
    for n, (_, _, _, x) in dbs.items():
        assert info.keyspace[n].extra == ({"subexpiry": str(x)} if x else {})


command_names = st.builds(
    str.__add__, word(LOWER, LOWER + "-", 10), st.one_of(st.just(""), word("|", LOWER + "-", 10))
)


@FAST
@given(
    stats=st.dictionaries(command_names, st.tuples(st.integers(1, 10**9), st.integers(0, 10**9)), max_size=6)
)
def test_commandstats_round_trip(stats: dict[str, tuple[int, int]]) -> None:
    text = "# Commandstats\n" + "".join(
        f"cmdstat_{name}:calls={c},usec={u},usec_per_call={u / c:.2f},rejected_calls=0,failed_calls=1\n"
        for name, (c, u) in stats.items()
    )
    parsed = parse_info(text).commandstats
    assert {n: (s.calls, s.usec, s.failed_calls) for n, s in parsed.items()} == {
        n: (c, u, 1) for n, (c, u) in stats.items()
    }
    for name, stat in parsed.items():
        assert stat.command == name.partition("|")[0]


client_values = st.text(st.characters(codec="utf-8", exclude_characters=" \r\n="), max_size=12)
client_fields = st.dictionaries(word(LOWER, LOWER + "-", 8), client_values, max_size=8)


@FAST
@given(lines=st.lists(st.tuples(st.integers(0, 2**63), client_fields), max_size=5))
def test_client_list_round_trip(lines: list[tuple[int, dict[str, str]]]) -> None:
    int_fields = {f.name.replace("_", "-") for f in fields(ClientInfo) if str(f.type).startswith("int")}
    rows = [{"id": str(i), **{k: v for k, v in extra.items() if k not in int_fields}} for i, extra in lines]
    text = "".join(" ".join(f"{k}={v}" for k, v in row.items()) + "\n" for row in rows)
    clients = parse_client_list(text)
    assert [dict(c.raw) for c in clients] == rows
    assert [c.id for c in clients] == [i for i, _ in lines]


@FAST
@given(config=st.dictionaries(st.binary(min_size=1, max_size=10), st.binary(max_size=10), max_size=10))
def test_config_get_round_trip(config: dict[bytes, bytes]) -> None:
    flat = [x for kv in config.items() for x in kv]
    parsed = parse_config_get(flat)
    assert parsed == parse_config_get(config)
    assert len(parsed) <= len(config)  # distinct bytes can decode to one str (backslashreplace)


@FAST
@given(
    prefix=word(LOWER, LOWER, 7).map(lambda w: w + ":"),
    first=st.integers(0, 10**12),
    second=st.integers(0, 10**12),
    hexes=st.uuids(),
)
def test_key_pattern_ignores_ids(prefix: str, first: int, second: int, hexes: Any) -> None:
    assert key_pattern(f"{prefix}{first}") == key_pattern(f"{prefix}{second}") == f"{prefix}*"
    assert key_pattern(f"{prefix}{hexes}:x{first}") == f"{prefix}*:x*"
    assert shape_of(["get", f"{prefix}{first}"]) == f"GET {prefix}*"


@FAST
@given(key=st.text(max_size=40))
def test_key_pattern_idempotent(key: str) -> None:
    once = key_pattern(key)
    assert key_pattern(once) == once
    assert not any(ch in string.digits for ch in once)
