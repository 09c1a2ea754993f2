"""A second Ctrl-C during a backup's clean-up: the clean-up finishes (the multipart upload aborted, the lock
released), then ``redisops backup create`` exits 130 with one line.

A real ``redisops`` subprocess, a real redis-server behind a proxy that holds the stream mid-backup (so
the first SIGINT lands mid-upload), and a real moto S3 server behind an HTTP proxy that holds one
clean-up request (the abort of the multipart upload, or the release of the lock) until the test has sent
the second SIGINT. Without the shield the second SIGINT raised KeyboardInterrupt inside that request and
the process left: the held request was then dropped, so the lock stayed held (or the upload open).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from redisops.ops.datasets import DatasetSpec, populate
from tests.integration.test_backup_defects import Cli, StallingProxy, make_store

pytestmark = pytest.mark.slow

REDISOPS = str(Path(sys.executable).with_name("redisops"))


class HoldOneRequest(StallingProxy):
    """Relays HTTP to ``target``; the first request whose request line ``matches`` is held until
    ``release`` is set, then forwarded only if its client is still connected (a client that left has
    given up on it: the request is dropped, as it would be lost on the wire). ``stalled``: it is held."""

    def __init__(self, target: tuple[str, int], matches: Callable[[bytes], bool]) -> None:
        self.matches, self.dropped = matches, False
        super().__init__(target, limit=1 << 62)  # the responses are relayed as they come
        self.url = f"http://127.0.0.1:{self.port}"

    def _pipe(self, src: Any, dst: Any, count: bool) -> None:
        # count: server -> client, relayed as it comes; client -> server reads through the hold
        super()._pipe(src if count else _Holding(src, self), dst, count)


class _Holding:
    """The client's socket as the proxy reads it: the matching request waits for ``release``; a client
    gone by then reads as closed (its request is dropped)."""

    def __init__(self, sock: socket.socket, proxy: HoldOneRequest) -> None:
        self.sock, self.proxy = sock, proxy

    def recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        p = self.proxy
        if data and not p.stalled.is_set() and p.matches(data.split(b"\r\n", 1)[0]):
            p.stalled.set()
            p.release.wait()
            readable, _, _ = select.select([self.sock], [], [], 0)
            if readable and self.sock.recv(1, socket.MSG_PEEK) == b"":
                p.dropped = True
                return b""
        return data

    def close(self) -> None:
        self.sock.close()


def _abort_upload(line: bytes) -> bool:
    return line.startswith(b"DELETE ") and b"uploadId=" in line


def _release_lock(line: bytes) -> bool:
    return line.startswith(b"DELETE ") and b"/locks/redis.lock" in line


def _wait_until_uploading(store: Any) -> None:
    """Until the backup holds the lock and its first part has opened a multipart upload."""
    for _ in range(400):
        if store.lock_info() is not None and store.s3.list_multipart_uploads(""):
            return
        time.sleep(0.05)
    raise AssertionError("the backup never took the lock and opened a multipart upload")


@pytest.mark.parametrize("held", [_abort_upload, _release_lock], ids=["abort-upload", "release-lock"])
def test_a_second_ctrl_c_during_the_clean_up_finishes_it_then_exits_130(
    tmp_path: Path, redis_server: Any, s3_endpoint: Any, s3_bucket: str, held: Callable[[bytes], bool]
) -> None:
    # ~30 MB of incompressible values: the stream holds after 12 MiB, one 8 MiB part already uploaded
    populate(redis_server.endpoint, DatasetSpec(keys_per_db=900, dbs=(0, 1), value_bytes=4096, elements=4))
    redis_proxy = StallingProxy(("127.0.0.1", redis_server.endpoint.port), limit=12 * 1024 * 1024)
    s3_host, s3_port = s3_endpoint.url.removeprefix("http://").split(":")
    s3_proxy = HoldOneRequest((s3_host, int(s3_port)), held)
    cli = Cli(tmp_path, s3_endpoint, s3_bucket)
    cli.config.write_text(cli.config.read_text().replace(s3_endpoint.url, s3_proxy.url))
    store = make_store(s3_endpoint, s3_bucket)  # the test looks at the bucket directly, not through the proxy
    url = f"redis://127.0.0.1:{redis_proxy.port}"
    argv = [REDISOPS, "backup", "create", "--url", url, "--config", str(cli.config)]
    pipes: dict[str, Any] = {
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "stdin": subprocess.DEVNULL,
    }
    proc = subprocess.Popen(argv, env={**os.environ, **cli.env}, text=True, **pipes)
    try:
        assert redis_proxy.stalled.wait(120), "the backup never streamed 12 MiB"
        _wait_until_uploading(store)
        proc.send_signal(signal.SIGINT)  # the first Ctrl-C: cancel; the clean-up starts
        assert s3_proxy.stalled.wait(60), "the clean-up request never came"
        proc.send_signal(signal.SIGINT)  # the second Ctrl-C, while the clean-up request is held
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=2)  # an unshielded clean-up leaves now (not an assertion: the state says)
        s3_proxy.release.set()
        redis_proxy.release.set()
        out, err = proc.communicate(timeout=120)
    finally:
        redis_proxy.close()
        s3_proxy.close()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reaps it and closes its pipes, also when an assertion above failed
    assert not s3_proxy.dropped, "the process left while its clean-up request was held"
    assert store.lock_info() is None
    assert store.s3.list_multipart_uploads("") == []
    assert store.s3.list_keys(store.layout.backups_prefix) == []
    assert proc.returncode == 130, (out, err)
    # the progress lines, the one note that the clean-up goes on, then one error line
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert [line for line in lines if line.startswith("Ctrl-C:")] == [
        "Ctrl-C: aborting the backup's upload and releasing its lock first, then stopping (Ctrl-C again to "
        "leave it unfinished)"
    ]
    assert [line for line in lines if "error" in line.lower()] == [lines[-1]]
    assert lines[-1] == "error: interrupted; nothing was stored (the partial upload was aborted)"
