"""The lock's holder on "this host" is judged by its process, not by a bare pid: inside the same PID
namespace a pid that is gone, or that is another process now (a restarted container with a fixed host
name starts its pids again), is no holder; a holder in another PID namespace (host-network containers
share the host name) cannot be seen from here and is not declared dead. Real processes, real /proc."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from redisops.backup.lock import LockInfo, ProcessRef, holder_process_alive, this_process

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def _lock(pid: int, process: ProcessRef | None) -> LockInfo:
    return LockInfo("redis", "20261207T080000Z-3f9a", "this-host", pid, T0, process=process)


def test_a_running_holder_is_alive_and_gone_once_it_has_exited(child: subprocess.Popen[bytes]) -> None:
    ref = this_process(child.pid)
    assert ref is not None and ref.pid_namespace.startswith("pid:[")
    lock = _lock(child.pid, ref)
    assert holder_process_alive(lock) is True
    child.kill()
    child.wait()
    assert holder_process_alive(lock) is False


def test_a_pid_that_is_another_process_now_is_no_holder() -> None:
    """The restarted container: the lock names pid P, and P is now (say) this very process."""
    me = this_process()
    assert me is not None
    earlier = ProcessRef(me.pid_namespace, me.start_ticks - 1)  # the same pid, started before: not us
    assert holder_process_alive(_lock(os.getpid(), earlier)) is False
    assert holder_process_alive(_lock(os.getpid(), me)) is True  # the same process: it holds it


def test_a_holder_in_another_pid_namespace_cannot_be_judged_from_here(child: subprocess.Popen[bytes]) -> None:
    """A host-network container with the same host name: its pid means nothing in our process table."""
    other = ProcessRef("pid:[1]", 12345)
    assert holder_process_alive(_lock(999_999_999, other)) is None  # no such pid here, yet not "gone"
    assert holder_process_alive(_lock(child.pid, other)) is None


def test_a_lock_of_an_older_redisops_is_judged_by_its_pid_as_before(child: subprocess.Popen[bytes]) -> None:
    assert holder_process_alive(_lock(child.pid, None)) is True
    assert holder_process_alive(_lock(999_999_999, None)) is False


def test_the_process_is_recorded_in_the_lock_object_and_older_objects_still_parse() -> None:
    me = this_process()
    lock = _lock(os.getpid(), me)
    again = LockInfo.from_json(lock.to_json())
    assert again == lock and again.process == me
    older = _lock(7, None).to_json()
    assert b"process" not in older and LockInfo.from_json(older).process is None
