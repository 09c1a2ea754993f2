"""The pure part of the key comparison: canonical values, TTL tolerance, head differences, fingerprints,
and the verify report's verdict and JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redisops.errors import ExitCode
from redisops.migrate.compare import (
    ABSENT,
    BIG_STRING_BYTES,
    KeyHead,
    canonical,
    fingerprint,
    head_difference,
    is_big,
    ttl_differs,
    values_differ,
)
from redisops.migrate.errors import VerifyDifferences
from redisops.migrate.verify import DbCount, KeyDifference, VerifyOptions, VerifyReport


def test_canonical_values_ignore_encoding_order() -> None:
    assert canonical("hash", [b"b", b"2", b"a", b"1"]) == canonical("hash", [b"a", b"1", b"b", b"2"])
    assert canonical("set", [b"y", b"x"]) == (b"x", b"y")
    assert canonical("list", [b"y", b"x"]) == (b"y", b"x")  # order matters for lists
    # scores as numbers: "1.5" and "1.50" are the same score whatever the server's formatting
    assert canonical("zset", [b"m", b"1.5"]) == canonical("zset", [b"m", b"1.50"]) == ((b"m", 1.5),)
    assert canonical("stream", [[b"1-0", [b"f", b"v"]]]) == ((b"1-0", (b"f", b"v")),)
    assert canonical("string", b"abc") == b"abc"
    assert canonical("ReJSON-RL", b"?") is None


@given(st.lists(st.tuples(st.binary(max_size=8), st.binary(max_size=8)), unique_by=lambda p: p[0]))
def test_canonical_hash_is_the_same_in_any_order(pairs: list[tuple[bytes, bytes]]) -> None:
    flat = [x for p in pairs for x in p]
    flat_rev = [x for p in reversed(pairs) for x in p]
    assert canonical("hash", flat) == canonical("hash", flat_rev)


@pytest.mark.parametrize(
    ("src", "dst", "tol", "differs"),
    [
        (-1, -1, 0, False),
        (5000, 4000, 1000, False),
        (5000, 3999, 1000, True),
        (5000, -1, 10_000, True),  # a TTL dropped is a difference whatever the tolerance
        (-1, 5000, 10_000, True),
    ],
)
def test_ttl_tolerance(src: int, dst: int, tol: int, differs: bool) -> None:
    assert ttl_differs(src, dst, tol) is differs


def test_head_differences() -> None:
    s = KeyHead("hash", -1, 10)
    assert head_difference(s, s, ttl_tolerance_ms=0) is None
    assert head_difference(s, ABSENT, ttl_tolerance_ms=0) == ("missing", "hash absent from the target")
    assert head_difference(s, KeyHead("list", -1, 10), ttl_tolerance_ms=0) == (
        "type",
        "source hash, target list",
    )
    kind, detail = head_difference(s, KeyHead("hash", -1, 9), ttl_tolerance_ms=0) or ("", "")
    assert kind == "value" and "source 10 elements, target 9" in detail
    assert head_difference(KeyHead("string", 9000, 3), KeyHead("string", -1, 3), ttl_tolerance_ms=100) == (
        "ttl",
        "source 9000 ms, target no TTL",
    )
    # about to expire on the source: not missing (it would be gone before anyone reads it)
    assert head_difference(KeyHead("string", 50, 3), ABSENT, ttl_tolerance_ms=100) is None
    # gone from the source: the target-side pass decides whether it is extra
    assert head_difference(ABSENT, s, ttl_tolerance_ms=0) is None


def test_big_keys_and_value_descriptions() -> None:
    assert is_big(KeyHead("hash", -1, 1001), chunk=1000) and not is_big(KeyHead("hash", -1, 1000), chunk=1000)
    assert is_big(KeyHead("string", -1, BIG_STRING_BYTES + 1)) and not is_big(KeyHead("string", -1, 10**5))
    assert values_differ("set", (b"a", b"b"), (b"a", b"c")) == (
        "set: 1 element(s) only on the source side, 1 only on the target side"
    )
    assert values_differ("list", (b"a",), (b"a",)) is None


def test_fingerprints_ignore_the_ttl_countdown_but_not_the_value() -> None:
    assert fingerprint(KeyHead("string", 5000, 3), b"abc") == fingerprint(KeyHead("string", 4000, 3), b"abc")
    assert fingerprint(KeyHead("string", 5000, 3), b"abc") != fingerprint(KeyHead("string", -1, 3), b"abc")
    assert fingerprint(KeyHead("string", -1, 3), b"abc") != fingerprint(KeyHead("string", -1, 3), b"abd")


def test_report_verdict_json_and_exit_code() -> None:
    report = VerifyReport("full", 3, 2000, counts=[DbCount(0, 10, 2, 9, 2)])
    assert report.ok and report.to_dict()["counts_match"] is False
    report.differences["missing"] = 1
    report.examples.append(KeyDifference(0, b"k\xff", "missing", "string absent from the target"))
    report.in_flight.append(KeyDifference(0, b"hot", "value", "changing"))
    report.in_flight_count = 1
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and data["examples"][0]["key"] == "k\\xff"
    assert data["in_flight"][0]["key"] == "hot"
    with pytest.raises(VerifyDifferences) as e:
        report.raise_if_different()
    assert e.value.exit_code == ExitCode.DIFFERENCES
    assert "1 key differ" in e.value.message and e.value.hint


def test_options_are_bounded_and_strict() -> None:
    assert VerifyOptions().rounds == 3
    with pytest.raises(ValueError):
        VerifyOptions(rounds=0)
    with pytest.raises(ValueError):
        VerifyOptions(nope=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        VerifyOptions(dbs=[-1])
    assert VerifyOptions.model_json_schema()["properties"]["mode"]["description"]
