"""The backup key layout, backup ids and Velero placement rules (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redisops.backup.layout import (
    VELERO_TOP_LEVEL,
    Layout,
    backup_id_time,
    check_object_name,
    is_backup_id,
    new_backup_id,
    normalize_prefix,
    root_for_velero,
)
from redisops.errors import ConfigError

NOW = datetime(2026, 11, 25, 18, 45, 1, tzinfo=UTC)


def test_keys_of_the_default_layout() -> None:
    lay = Layout()
    bid = new_backup_id(NOW, "3f9a")
    assert bid == "20261125T184501Z-3f9a"
    assert lay.object_key("redis", bid, "dump.rdb") == "redisops/backups/redis/20261125T184501Z-3f9a/dump.rdb"
    assert lay.manifest_key("redis", bid) == "redisops/backups/redis/20261125T184501Z-3f9a/manifest.json"
    assert lay.object_key("redis", bid, "aof/appendonly.aof.1.incr.aof").endswith(
        f"{bid}/aof/appendonly.aof.1.incr.aof"
    )
    assert lay.lock_key("redis") == "redisops/locks/redis.lock"
    info = lay.parse_key(lay.object_key("redis", bid, "aof/x.aof"))
    assert info is not None and (info.source, info.backup_id, info.name) == ("redis", bid, "aof/x.aof")
    assert lay.parse_key(lay.manifest_key("redis", bid)).is_manifest  # type: ignore[union-attr]
    assert lay.parse_key("redisops/backups/redis/not-an-id/dump.rdb") is None
    assert lay.parse_key("velero/backups/x/y") is None
    assert lay.owns("redisops/locks/redis.lock") and not lay.owns("redisops2/x")


def test_backup_ids_sort_by_time_and_carry_it() -> None:
    a = new_backup_id(NOW)
    b = new_backup_id(NOW + timedelta(seconds=1))
    assert is_backup_id(a) and a < b
    assert backup_id_time(a) == NOW
    # a non-UTC now is converted
    cet = NOW.astimezone(timezone(timedelta(hours=1)))
    assert new_backup_id(cet, "abcd") == "20261125T184501Z-abcd"
    with pytest.raises(ValueError):
        new_backup_id(datetime(2026, 1, 1))  # naive
    with pytest.raises(ValueError):
        new_backup_id(NOW, "XYZ!")


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_backup_id_time_round_trip(ts: datetime) -> None:
    bid = new_backup_id(ts)
    assert backup_id_time(bid) == ts.replace(microsecond=0)


@pytest.mark.parametrize(
    "name", ["", "/dump.rdb", "a/../b", "../x", ".hidden", "a//b", "manifest.json", "a/", "x y"]
)
def test_bad_object_names(name: str) -> None:
    with pytest.raises(ConfigError):
        check_object_name(name)


def test_good_object_names() -> None:
    for n in ("dump.rdb", "aof/appendonly.aof.manifest", "aof/manifest.json", "a_b-c.1"):
        assert check_object_name(n) == n


def test_bad_source_and_prefix() -> None:
    with pytest.raises(ConfigError):
        Layout().source_prefix("Redis/..")
    with pytest.raises(ConfigError):
        Layout(root="")
    with pytest.raises(ConfigError):
        Layout(root="a/../b")
    assert normalize_prefix("/a/b/") == "a/b"
    assert Layout(root="/team/redisops/").root == "team/redisops"


def test_velero_sibling_and_plugins_roots() -> None:
    assert root_for_velero("velero") == "redisops"
    assert root_for_velero("/velero/") == "redisops"
    assert root_for_velero("clusters/prod/velero") == "clusters/prod/redisops"
    assert root_for_velero("velero", "plugins") == "velero/plugins/redisops"
    assert root_for_velero("a/velero", "plugins", "rops") == "a/velero/plugins/rops"


@pytest.mark.parametrize("prefix", [None, "", "/", "  "])
def test_empty_velero_prefix_is_refused(prefix: str | None) -> None:
    with pytest.raises(ConfigError, match="owns the whole bucket") as e:
        root_for_velero(prefix)
    assert "prefix" in e.value.hint
    with pytest.raises(ConfigError):
        Layout(root="redisops", velero_prefix="")


def test_roots_that_would_break_velero_are_refused() -> None:
    with pytest.raises(ConfigError):
        root_for_velero("redisops")  # the sibling would be Velero's own prefix
    for root in ("velero", "velero/redisops", "velero/backups/redisops", "velero/plugins"):
        with pytest.raises(ConfigError):
            Layout(root=root, velero_prefix="velero")
    with pytest.raises(ConfigError):
        Layout(root="x", velero_prefix="x/velero")  # the root would contain the Velero prefix
    assert Layout(root="velero/plugins/redisops", velero_prefix="velero").root == "velero/plugins/redisops"
    assert Layout(root="redisops", velero_prefix="velero").root == "redisops"
    assert Layout(root="velero2", velero_prefix="velero").root == "velero2"  # not inside 'velero/'


@given(
    st.lists(st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}", fullmatch=True), min_size=1, max_size=3).map("/".join),
    st.sampled_from(["sibling", "plugins"]),
)
def test_velero_root_never_adds_a_top_level_folder(vp: str, placement: str) -> None:
    try:
        root = root_for_velero(vp, placement)  # type: ignore[arg-type]
    except ConfigError:
        assert placement == "sibling" and vp.rpartition("/")[2] == "redisops"
        return
    lay = Layout(root=root, velero_prefix=vp)
    key = lay.object_key("redis", new_backup_id(NOW), "dump.rdb")
    if key.startswith(vp + "/"):
        assert key[len(vp) + 1 :].split("/")[0] in VELERO_TOP_LEVEL
        assert key.startswith(vp + "/plugins/")


# --- the S3 adapter's pure helpers (part sizes, error translation) ------------------------------------
TIB = 1024**4


@given(st.integers(min_value=0, max_value=5 * TIB))
def test_part_plan_fits_any_announced_size_in_10000_parts(size: int) -> None:
    from redisops.adapters.s3 import MAX_PARTS, MIB, part_size_plan

    plan = part_size_plan(size)
    assert plan.base >= 8 * MIB and plan.base % MIB == 0
    assert plan.base * 9000 >= size  # fits before any growth
    assert sum(plan.size_of(n) for n in range(1, MAX_PARTS + 1)) >= size * 1.5 or plan.base >= 5 * 1024 * MIB


def test_part_plan_for_unknown_sizes() -> None:
    from redisops.adapters.s3 import MAX_PART_SIZE, MIB, part_size_plan

    plan = part_size_plan(None)
    assert plan.size_of(1) == plan.size_of(1000) == 8 * MIB
    assert plan.size_of(1001) == 16 * MIB and plan.size_of(2001) == 32 * MIB
    assert plan.capacity() >= 5 * TIB  # S3's largest object
    assert all(plan.size_of(n) <= MAX_PART_SIZE for n in (1, 5000, 10_000))
    assert part_size_plan(100 * 1024 * MIB).base == 12 * MIB  # 100 GiB / 9000 parts, rounded up to a MiB


def test_error_translation_never_leaks_secrets() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

    from redisops.adapters.s3 import translate_error
    from redisops.errors import AuthError, ConflictError, ConnectionFailed, NotFoundError, StorageError

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    def client_error(code: str, status: int, message: str = "") -> ClientError:
        return ClientError(
            {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
            "Op",
        )

    cases = [
        (client_error("NoSuchKey", 404), NotFoundError),
        (client_error("404", 404), NotFoundError),
        (client_error("AccessDenied", 403), AuthError),
        (client_error("SignatureDoesNotMatch", 403, f"signed with {secret}"), AuthError),
        (client_error("PreconditionFailed", 412), ConflictError),
        (client_error("SlowDown", 503), StorageError),
        (client_error("InvalidArgument", 400), StorageError),
        (EndpointConnectionError(endpoint_url=f"http://user:{secret}@minio:9000/b"), ConnectionFailed),
        (ReadTimeoutError(endpoint_url="http://minio:9000"), ConnectionFailed),
        (NoCredentialsError(), AuthError),
    ]
    for exc, kind in cases:
        err = translate_error(exc, op="GetObject", bucket="b", key="k", secrets=[secret])
        assert isinstance(err, kind), (exc, err)
        assert secret not in f"{err.one_line()} {err.to_dict()}"
    assert translate_error(client_error("SlowDown", 503), op="x", bucket="b").retryable
    assert not translate_error(client_error("InvalidArgument", 400), op="x", bucket="b").retryable
