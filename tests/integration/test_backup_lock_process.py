"""The store's lock on "this host" (host name equal): a lock left by an earlier process whose pid is now
another one (a container restarted with a fixed host name starts its pids again: the new redisops may
even have the same pid) is broken as provably gone, instead of blocking every backup for 6 hours; a
lock held in another PID namespace under the same host name (host-network containers) is not broken on
the strength of a pid this process cannot see. Real moto S3, real /proc."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from redisops.backup.lock import LockInfo, ProcessRef, this_process
from redisops.errors import ConflictError
from tests.integration.test_backup_defects import make_store

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _leave_lock(store, pid: int, process: ProcessRef | None) -> str:
    bid = "20261207T075900Z-0a0a"
    lock = LockInfo("redis", bid, store.host, pid, T0, process=process)
    store.s3.put_bytes(store.layout.lock_key("redis"), lock.to_json(), content_type="application/json")
    return bid


def test_a_lock_of_an_earlier_process_with_this_pid_is_broken(s3_endpoint, s3_bucket) -> None:
    store = make_store(s3_endpoint, s3_bucket, host="backup-host")
    me = this_process()
    assert me is not None
    # the crashed container's redisops had this very pid, but it started before this process
    _leave_lock(store, os.getpid(), ProcessRef(me.pid_namespace, me.start_ticks - 1))
    with store.begin("rdb", T0) as w:
        assert store.lock_info().process == me  # the new lock records this process
        w.abort()
    assert store.lock_info() is None


def test_a_lock_in_another_pid_namespace_of_this_host_name_is_not_broken(s3_endpoint, s3_bucket) -> None:
    store = make_store(s3_endpoint, s3_bucket, host="backup-host")
    bid = _leave_lock(store, 999_999_999, ProcessRef("pid:[1]", 42))  # no such pid here: not "gone"
    with pytest.raises(ConflictError, match="already running"):
        store.begin("rdb", T0)
    assert store.lock_info().backup_id == bid


def test_a_lock_of_an_older_redisops_is_still_judged_by_its_pid(s3_endpoint, s3_bucket) -> None:
    store = make_store(s3_endpoint, s3_bucket, host="backup-host")
    _leave_lock(store, 999_999_999, None)  # no process recorded, pid gone: broken as before
    with store.begin("rdb", T0) as w:
        w.abort()
