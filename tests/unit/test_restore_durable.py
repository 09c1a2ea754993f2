"""Durable staged writes of the restore engine, on real files (tmp_path)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from redisops.errors import VerificationError
from redisops.rdb import RdbVerification
from redisops.restore.durable import BackgroundSync, stage_file, write_atomic
from redisops.restore.plan import ExpectedFile


class Recorder:
    """A content checker that keeps what it was fed."""

    def __init__(self) -> None:
        self.fed = bytearray()
        self.finished = False

    def feed(self, chunk: bytes) -> None:
        self.fed += chunk

    def finish(self) -> RdbVerification | None:
        self.finished = True
        return None


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def expected(data: bytes) -> ExpectedFile:
    return ExpectedFile(len(data), hashlib.sha256(data).hexdigest())


def test_stage_file_writes_exact_bytes_and_reports_progress(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    checker = Recorder()
    seen: list[int] = []
    stage_file(chunks_of(data, 65536), tmp_path / "f", expected(data), checker, "f", seen.append)
    assert (tmp_path / "f").read_bytes() == data
    assert bytes(checker.fed) == data and checker.finished
    assert sum(seen) == len(data)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d[:-1], "truncated"),
        (lambda d: d + b"x", "more bytes"),
        (lambda d: bytes([d[0] ^ 1]) + d[1:], "sha256"),
    ],
)
def test_stage_file_refuses_other_bytes(
    tmp_path: Path, mutate: Callable[[bytes], bytes], message: str
) -> None:
    data = os.urandom(200_000)
    with pytest.raises(VerificationError, match=message):
        stage_file(
            chunks_of(mutate(data), 4096), tmp_path / "f", expected(data), Recorder(), "f", lambda n: None
        )


def test_background_sync_runs_while_writing(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        sync = BackgroundSync(fd, every=1024)
        for _ in range(20):
            os.write(fd, b"x" * 4096)
            sync.wrote(4096)
        sync.close()
        assert sync.syncs >= 1
    finally:
        os.close(fd)


def test_background_sync_error_is_raised_on_close() -> None:
    r, w = os.pipe()  # fdatasync on a pipe fails (EINVAL) on the thread, like a failing disk would
    try:
        sync = BackgroundSync(w, every=1)
        sync.wrote(10)
        with pytest.raises(OSError):
            sync.close()
        assert sync.syncs == 0
    finally:
        os.close(r)
        os.close(w)


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]
