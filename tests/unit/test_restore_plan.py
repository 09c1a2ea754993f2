"""The restore plan (pure), the restore record format and the AOF checks of the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from redisops.config import config_from_mapping, override_redis_conf, parse_redis_conf, render_redis_conf
from redisops.errors import ConfigError, ConflictError, ParseError, PlatformError, VerificationError
from redisops.restore import (
    RECORD_NAME,
    DataDirListing,
    EntryInfo,
    ExpectedBackup,
    ExpectedFile,
    InstalledFile,
    MovedEntry,
    RestoreRecord,
    TargetSettings,
    memory_fit,
    plan_restore,
    running_signs,
)
from redisops.restore.checks import AofChecker as _AofChecker
from redisops.restore.checks import parse_aof_manifest
from redisops.restore.plan import aof_manifest_line, operation_folder_name

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
SHA = "ab" * 32
RDB = ExpectedBackup.for_rdb("bk-1", sha256=SHA, size=1000)
AOF_ON = TargetSettings(appendonly=True, redis_version="7.0.15")
AOF_OFF = TargetSettings(appendonly=False, redis_version="7.0.15")


def _listing(entries: dict[str, EntryInfo] | None = None, **kw: object) -> DataDirListing:
    default = {
        "dump.rdb": EntryInfo("file", 10),
        "appendonlydir": EntryInfo(
            "dir",
            children=("appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"),
        ),
    }
    return DataDirListing("/data", default if entries is None else entries, **kw)  # type: ignore[arg-type]


def _kinds(plan) -> list[tuple[str, str, str]]:
    return [(a.kind, a.source, a.target) for a in plan.actions]


def test_appendonly_yes_installs_the_aof_form_and_no_dump_rdb():
    plan = plan_restore(_listing(), AOF_ON, RDB, NOW, "op1")
    undo = ".redisops-undo/20250301T120000Z-op1"
    assert plan.form == "aof" and plan.installed == ("appendonlydir",)
    assert _kinds(plan) == [
        ("stage", "", ".redisops-staging-op1/appendonlydir/appendonly.aof.1.base.rdb"),
        ("write_manifest", "", ".redisops-staging-op1/appendonlydir/appendonly.aof.manifest"),
        ("write_record", "", RECORD_NAME),
        ("move_aside", "dump.rdb", f"{undo}/dump.rdb"),
        ("move_aside", "appendonlydir", f"{undo}/appendonlydir"),
        ("install", ".redisops-staging-op1/appendonlydir", "appendonlydir"),
        ("write_record", "", RECORD_NAME),
        ("remove_staging", "", ".redisops-staging-op1"),
    ]
    assert plan.moved_aside == ("dump.rdb", "appendonlydir")
    assert not plan.blockers
    assert any("no dump.rdb is placed" in w for w in plan.warnings)
    plan.raise_if_blocked()


def test_manifest_line_is_exactly_what_redis_7_expects():
    assert aof_manifest_line("appendonly.aof") == "file appendonly.aof.1.base.rdb seq 1 type b\n"


def test_appendonly_no_installs_dump_rdb():
    plan = plan_restore(_listing(), AOF_OFF, RDB, NOW, "op1")
    assert plan.form == "rdb" and plan.installed == ("dump.rdb",)
    assert ("install", ".redisops-staging-op1/dump.rdb", "dump.rdb") in _kinds(plan)
    # a stale appendonlydir is moved aside too: enabling appendonly later must not resurrect it
    assert plan.moved_aside == ("dump.rdb", "appendonlydir")


def test_custom_file_names_follow_the_config():
    cfg = config_from_mapping(
        {"config": {"appenddirname": "aof", "appendfilename": "x.aof", "dbfilename": "snap.rdb"}}
    )
    settings = TargetSettings.from_config(cfg, "7.0.15", uid=999, gid=999)
    plan = plan_restore(_listing({"snap.rdb": EntryInfo("file", 3)}), settings, RDB, NOW, "op1")
    targets = [a.target for a in plan.actions]
    assert ".redisops-staging-op1/aof/x.aof.1.base.rdb" in targets
    assert ".redisops-staging-op1/aof/x.aof.manifest" in targets
    assert plan.moved_aside == ("snap.rdb",)
    assert ("chown", "", "aof") in _kinds(plan)


def test_empty_data_dir_moves_nothing():
    plan = plan_restore(_listing({}), AOF_ON, RDB, NOW, "op1")
    assert plan.moved_aside == ()
    assert not any(a.kind == "move_aside" for a in plan.actions)


def test_plan_is_deterministic_and_describable():
    a = plan_restore(_listing(), AOF_ON, RDB, NOW, "op1")
    b = plan_restore(_listing(), AOF_ON, RDB, NOW, "op1")
    assert a == b
    lines = a.describe()
    assert lines[0].startswith("restore bk-1 as aof form")
    assert any("move_aside" in line and "dump.rdb ->" in line for line in lines)


@pytest.mark.parametrize(
    ("entries", "processes", "sign"),
    [
        ({"temp-123.rdb": EntryInfo("file")}, (), "temp-123.rdb"),
        ({"temp-rewriteaof-bg-77.aof": EntryInfo("file")}, (), "temp-rewriteaof-bg-77.aof"),
        (
            {"appendonlydir": EntryInfo("dir", children=("temp-appendonly.aof.manifest",))},
            (),
            "appendonlydir/temp-appendonly.aof.manifest",
        ),
        ({}, (4242,), "process 4242"),
    ],
)
def test_signs_of_a_running_redis_block_the_restore(entries, processes, sign):
    listing = _listing(entries, processes=processes)
    assert any(sign in s for s in running_signs(listing, "appendonlydir"))
    plan = plan_restore(listing, AOF_ON, RDB, NOW, "op1")
    assert plan.blockers
    with pytest.raises(ConflictError, match="running"):
        plan.raise_if_blocked()


def test_not_enough_space_blocks():
    plan = plan_restore(_listing(free_bytes=500), AOF_ON, RDB, NOW, "op1")
    with pytest.raises(PlatformError, match="free space"):
        plan.raise_if_blocked()
    assert not plan_restore(_listing(free_bytes=10 << 20), AOF_ON, RDB, NOW, "op1").blockers


def test_taken_folder_names_and_odd_entries_block():
    undo = EntryInfo("dir", children=("20250301T120000Z-op1",))
    assert plan_restore(_listing({".redisops-undo": undo}), AOF_ON, RDB, NOW, "op1").blockers
    assert plan_restore(
        _listing({".redisops-staging-op1": EntryInfo("dir")}), AOF_ON, RDB, NOW, "op1"
    ).blockers
    assert plan_restore(_listing({"dump.rdb": EntryInfo("other")}), AOF_ON, RDB, NOW, "op1").blockers
    stale = plan_restore(_listing({".redisops-staging-old": EntryInfo("dir")}), AOF_ON, RDB, NOW, "op1")
    assert not stale.blockers and any("leftover staging" in w for w in stale.warnings)


def _aof_expected(manifest: str = "appendonly.aof.manifest") -> ExpectedBackup:
    f = ExpectedFile(10, SHA)
    return ExpectedBackup.for_aof(
        "bk-aof", {manifest: f, "appendonly.aof.1.base.rdb": f, "appendonly.aof.1.incr.aof": f}
    )


def test_aof_backup_plan():
    plan = plan_restore(_listing(), AOF_ON, _aof_expected(), NOW, "op1")
    assert plan.form == "aof" and not plan.blockers
    staged = [a.target for a in plan.actions if a.kind == "stage"]
    assert staged == [
        ".redisops-staging-op1/appendonlydir/appendonly.aof.1.base.rdb",
        ".redisops-staging-op1/appendonlydir/appendonly.aof.1.incr.aof",
        ".redisops-staging-op1/appendonlydir/appendonly.aof.manifest",
    ]


def test_aof_backup_into_appendonly_no_is_refused():
    with pytest.raises(ConfigError, match="appendonly yes"):
        plan_restore(_listing(), AOF_OFF, _aof_expected(), NOW, "op1").raise_if_blocked()


def test_aof_backup_with_another_appendfilename_is_refused():
    with pytest.raises(ConfigError, match="manifest"):
        plan_restore(_listing(), AOF_ON, _aof_expected("other.aof.manifest"), NOW, "op1").raise_if_blocked()


def test_expected_backup_and_settings_validation():
    with pytest.raises(ConfigError):
        ExpectedBackup.for_rdb("bk", sha256="nothex", size=1)
    with pytest.raises(ConfigError):
        ExpectedBackup.for_aof("bk", {})
    with pytest.raises(ConfigError):
        TargetSettings(appendonly=True, redis_version="7.0.15", dbfilename="../x")
    with pytest.raises(ConfigError):
        plan_restore(_listing(), AOF_ON, RDB, NOW, "../evil")


def test_undo_folder_name_is_utc_and_sortable():
    cest = timezone(timedelta(hours=2))
    assert operation_folder_name(datetime(2025, 3, 1, 14, 0, tzinfo=cest), "x") == "20250301T120000Z-x"


# -- the record --------------------------------------------------------------------------------


def _record(**kw: object) -> RestoreRecord:
    base: dict[str, object] = dict(
        operation="restore",
        operation_id="op1",
        backup_id="bk-1",
        time=NOW,
        status="complete",
        form="aof",
        managed=("dump.rdb", "appendonlydir"),
        undo_dir=".redisops-undo/20250301T120000Z-op1",
        moved_aside=(MovedEntry("dump.rdb", ".redisops-undo/20250301T120000Z-op1/dump.rdb", "file"),),
        installed=(InstalledFile("appendonlydir/appendonly.aof.1.base.rdb", 10, SHA),),
    )
    base.update(kw)
    return RestoreRecord(**base)  # type: ignore[arg-type]


def test_record_round_trips_through_json():
    rec = _record()
    again = RestoreRecord.from_json(rec.to_json())
    assert again == rec
    assert rec.with_status("installing").status == "installing"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(format=99),
        lambda d: d.update(operation="delete"),
        lambda d: d.update(undo_dir="/etc"),
        lambda d: d.update(managed=["../x"]),
        lambda d: d["moved_aside"][0].update(to="../../etc/passwd"),
        lambda d: d.pop("time"),
    ],
)
def test_damaged_records_are_refused(mutate):
    doc = _record().to_dict()
    mutate(doc)
    with pytest.raises(ParseError):
        RestoreRecord.from_dict(doc)


def test_record_that_is_not_json():
    with pytest.raises(ParseError):
        RestoreRecord.from_json(b"{nope")


# -- AOF checks --------------------------------------------------------------------------------

GOOD_AOF = (
    b"#TS:1700000000\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
    b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$0\r\n\r\n"
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_aof_checker_accepts_complete_commands_in_any_chunking(size):
    checker = _AofChecker("x.incr.aof")
    for i in range(0, len(GOOD_AOF), size):
        checker.feed(GOOD_AOF[i : i + size])
    checker.finish()


@pytest.mark.parametrize(
    "data",
    [
        GOOD_AOF[:-1],  # truncated in the final CRLF
        GOOD_AOF[:-10],  # truncated in a command
        GOOD_AOF.replace(b"$5\r\nvalue\r\n", b"$5\r\nvalueX\r\n"),  # bulk length wrong
        b"SET k v\r\n",  # inline commands are not AOF
        b"*1\r\n:5\r\n",
    ],
)
def test_aof_checker_refuses_broken_files(data):
    checker = _AofChecker("x.incr.aof")
    with pytest.raises(VerificationError):
        checker.feed(data)
        checker.finish()


def test_manifest_parsing():
    kinds = parse_aof_manifest(
        b"file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.base.rdb seq 1 type h\n"
        b"file appendonly.aof.3.incr.aof seq 3 type i\n",
        "m",
    )
    assert kinds == {
        "appendonly.aof.2.base.rdb": "b",
        "appendonly.aof.1.base.rdb": "h",
        "appendonly.aof.3.incr.aof": "i",
    }
    for bad in (
        b"garbage\n",
        b"file ../x seq 1 type b\n",
        b"",
        b"file a seq 1 type b\nfile b seq 2 type b\n",
    ):
        with pytest.raises(VerificationError):
            parse_aof_manifest(bad, "m")


# -- maxmemory: a restore that cannot fit would lose data right after loading ---------------------
MIB = 1024 * 1024


def test_memory_fit_refuses_a_dataset_bigger_than_maxmemory() -> None:
    big = ExpectedBackup.for_rdb("bk-big", sha256=SHA, size=100 * MIB, dataset_bytes=300 * MIB)
    err, warn = memory_fit(big, 256 * MIB, "allkeys-lru")
    assert err is not None and warn is None
    assert "300 MiB" in err.message and "256 MiB" in err.message and "evict" in err.message
    assert "maxmemory" in err.hint
    err, _ = memory_fit(big, 256 * MIB, "noeviction")
    assert err is not None and "refuse every write" in err.message
    assert memory_fit(big, 0, "allkeys-lru") == (None, None)  # no limit
    assert memory_fit(big, 512 * MIB, "allkeys-lru") == (None, None)


def test_memory_fit_without_a_recorded_dataset_uses_the_rdb_size_as_a_lower_bound() -> None:
    err, _ = memory_fit(ExpectedBackup.for_rdb("bk", sha256=SHA, size=300 * MIB), 256 * MIB)
    assert err is not None and "at least" in err.message
    assert memory_fit(ExpectedBackup.for_rdb("bk", sha256=SHA, size=10 * MIB), 256 * MIB) == (None, None)
    aof = ExpectedBackup.for_aof("bk", {"appendonly.aof.manifest": ExpectedFile(10, SHA)})
    assert memory_fit(aof, 1) == (None, None)  # unknown: nothing to say


def test_memory_fit_warns_when_the_dataset_nearly_fills_maxmemory() -> None:
    tight = ExpectedBackup.for_rdb("bk", sha256=SHA, size=MIB, dataset_bytes=240 * MIB)
    err, warn = memory_fit(tight, 256 * MIB, "allkeys-lru")
    assert err is None and warn is not None and "94%" in warn and "evict" in warn


def test_plan_is_blocked_when_the_backup_does_not_fit_the_target() -> None:
    small_target = TargetSettings(
        appendonly=True, redis_version="7.0.15", maxmemory=64 * MIB, maxmemory_policy="allkeys-lru"
    )
    big = ExpectedBackup.for_rdb("bk-big", sha256=SHA, size=1000, dataset_bytes=100 * MIB)
    plan = plan_restore(_listing(), small_target, big, NOW, "op1")
    assert any("does not fit" in b for b in plan.blockers)
    with pytest.raises(ConfigError, match="does not fit"):
        plan.raise_if_blocked()
    assert not plan_restore(_listing(), small_target, RDB, NOW, "op2").blockers


def test_target_settings_from_config_carry_maxmemory() -> None:
    cfg = config_from_mapping({"config": {"maxmemory": "1gb", "maxmemory_policy": "noeviction"}})
    s = TargetSettings.from_config(cfg, "7.0.15")
    assert (s.maxmemory, s.maxmemory_policy) == (1024**3, "noeviction")


# -- the target's settings from the redis.conf it loads (the ConfigMap mounted in the Jobs) -------
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"appendonly": "no", "dbfilename": "snap.rdb", "maxmemory": "2gb", "maxmemory_policy": "noeviction"},
        {"appenddirname": "aof", "appendfilename": "x.aof", "maxmemory": "0"},
    ],
)
def test_target_settings_from_the_rendered_redis_conf_equal_those_from_the_config(settings) -> None:
    cfg = config_from_mapping({"config": settings})
    text = render_redis_conf(cfg)
    assert TargetSettings.from_redis_conf(text, "7.0.15", uid=999, gid=999) == TargetSettings.from_config(
        cfg, "7.0.15", uid=999, gid=999
    )


def test_redis_conf_parsing_defaults_quotes_comments_and_errors() -> None:
    conf = parse_redis_conf(
        '# comment\n\nAppendOnly yes\nsave 900 1\nsave 60 100\ndbfilename "my dump.rdb"\n'
    )
    assert conf == {"appendonly": "yes", "save": "60 100", "dbfilename": "my dump.rdb"}
    bare = TargetSettings.from_redis_conf("port 6379\n", "7.0.15")  # Redis's own defaults
    assert (bare.appendonly, bare.dbfilename, bare.maxmemory, bare.maxmemory_policy) == (
        False,
        "dump.rdb",
        0,
        "noeviction",
    )
    for bad in ('dbfilename "open\n', "maxmemory lots\n", "appendonly maybe\n"):
        with pytest.raises(ConfigError, match=r"redis\.conf"):
            TargetSettings.from_redis_conf(bad, "7.0.15")


def test_override_redis_conf_replaces_directives_instead_of_repeating_them() -> None:
    text = "bind 0.0.0.0\nDIR /data\n# dir /commented\nsave 900 1\nport 6379\n"
    out = override_redis_conf(text, {"dir": "/srv/x", "port": "7000"})
    assert out == "bind 0.0.0.0\n# dir /commented\nsave 900 1\ndir /srv/x\nport 7000\n"
