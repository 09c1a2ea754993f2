"""Restore over the platform seam (issue 13, item 7): the target serves while the backup is downloaded
and staged, and is stopped only for the install and the start; cancellation before that leaves the
same server process running on its unchanged data dir; undo over the same seam; the seam's status,
logs and staging decision; on Kubernetes the plan's staging decision per PVC access mode and, where
staging beside Redis is possible, the order stage Job -> scale to 0 in the emulator's events.

Real redis-server processes (a private sandbox), a real moto S3 server, the Kubernetes emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.redis_conn import connect
from redisops.cancel import CancelToken
from redisops.config import DeploymentConfig, config_from_mapping
from redisops.errors import Interrupted
from redisops.events import Event, Phase, Progress, Recorder, Reporter
from redisops.ops.backup import create_rdb_backup, store_for
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.platform import LocalPlatform, Platform
from redisops.ops.restore import restore_sandbox, undo_sandbox_restore
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up
from tests.harness.snapshots import dir_state

MB = 1_000_000
#: ~12 MB: a download of a dozen 1 MiB chunks
DATA = DatasetSpec(keys_per_db=1500, dbs=(0, 1), value_bytes=4096, elements=2, ttl_fraction=0)
BEFORE = DatasetSpec(keys_per_db=30, dbs=(0,), prefix="before", ttl_fraction=0)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[SandboxState, DeploymentConfig]]:
    """A private sandbox whose target persists by AOF only (``save ""``): its data dir changes only
    when redisops changes it, so it can be compared byte for byte."""
    cfg = config_from_mapping({"config": {"save": ""}})
    state = sandbox_up(tmp_path / "sandbox", config=cfg)
    yield state, cfg
    sandbox_down(tmp_path / "sandbox")


def _ping(state: SandboxState) -> bool:
    c = connect(state.target, check=False)
    try:
        return bool(c.ping())
    finally:
        c.close()


def _dbsizes(state: SandboxState) -> dict[int, int]:
    out = {}
    for db in range(4):
        c = connect(state.target.with_db(db), check=False)
        try:
            if n := int(c.dbsize()):
                out[db] = n
        finally:
            c.close()
    return out


class PingDuringDownload:
    """An event sink that records every event and, on each download progress past 0 bytes, asks the
    target for PING and records its pid: evidence (not timing) that it served during the download."""

    def __init__(
        self, state: SandboxState, cancel_after: int | None = None, token: CancelToken | None = None
    ):
        self.state, self.cancel_after, self.token = state, cancel_after, token
        self.events = Recorder()
        self.pings: list[tuple[int, bool, int]] = []  # (bytes done, PING answered, target pid)

    def __call__(self, event: Event) -> None:
        self.events(event)
        if isinstance(event, Progress) and event.phase == "downloading" and event.done > 0:
            self.pings.append((event.done, _ping(self.state), self.state.services["target"].pid))
            if self.cancel_after is not None and self.token is not None and event.done > self.cancel_after:
                self.token.cancel()


def _phases(events: Recorder) -> list[str]:
    return [e.name for e in events.of(Phase)]  # type: ignore[attr-defined]


def test_the_target_serves_during_the_download_and_is_down_only_for_install_and_start(
    redis_server: Any, sandbox: tuple[SandboxState, DeploymentConfig]
) -> None:
    state, cfg = sandbox
    store = store_for(cfg.backup, sandbox=state)
    populate(redis_server.endpoint, DATA, seed=1)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(state.target, BEFORE, seed=2)
    pid_before = state.services["target"].pid

    plan = restore_sandbox(state, cfg, store, m.id, dry_run=True, force=True, safety_backup=False)
    text = "\n".join(plan.plan)
    # the plan shows the order: stage while serving, then stop, install, start
    assert text.index("keeps serving: download, verify and fsync") < text.index("2. stop the sandbox target")
    assert text.index("2. stop the sandbox target") < text.index("3. install") < text.index("4. start")

    sink = PingDuringDownload(state)
    out = restore_sandbox(
        state, cfg, store, m.id, force=True, safety_backup=False, confirmed=True,
        reporter=Reporter("restore.apply", sink), now=datetime.now(UTC),
    )  # fmt: skip
    assert _phases(sink.events) == ["downloading", "stopping", "installing", "starting", "verifying"]
    # the target answered PING, as the same process, at every chunk of the download, the last included
    assert len(sink.pings) >= 5 and sink.pings[-1][0] == m.size
    assert all(ok and pid == pid_before for _done, ok, pid in sink.pings)
    assert state.services["target"].pid != pid_before  # restarted for the install only
    r = out.result
    assert r is not None and r.key_counts == {0: (1500, 0), 1: (1500, 0)}
    # downtime is the stop, install and start: the download (stage) lies outside it
    # (intervals of one monotonic clock: the download precedes the stop, so total covers both apart)
    assert r.downtime_seconds >= r.stop_seconds + r.install_seconds + r.start_to_loaded_seconds
    assert r.stage_seconds > 0 and r.total_seconds >= r.stage_seconds + r.downtime_seconds
    doc = out.to_dict()
    assert doc["downtime_seconds"] == doc["timings"]["downtime"] == round(r.downtime_seconds, 3)
    assert any("downtime" in line for line in out.summary())
    assert not list(state.data_dir.glob(".redisops-staging-*"))


def test_cancel_during_the_download_leaves_the_same_server_running_on_unchanged_files(
    redis_server: Any, sandbox: tuple[SandboxState, DeploymentConfig]
) -> None:
    state, cfg = sandbox
    store = store_for(cfg.backup, sandbox=state)
    populate(redis_server.endpoint, DATA, seed=3)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(state.target, BEFORE, seed=4)
    pid_before = state.services["target"].pid
    data_before, sizes_before = dir_state(state.data_dir), _dbsizes(state)

    token = CancelToken()
    sink = PingDuringDownload(state, cancel_after=3 * MB, token=token)
    with pytest.raises(Interrupted) as err:
        restore_sandbox(
            state, cfg, store, m.id, force=True, safety_backup=False, confirmed=True,
            reporter=Reporter("restore.apply", sink), cancel=token,
        )  # fmt: skip
    e = err.value
    assert e.exit_code == 130
    assert e.context["installed"] is False and e.context["server_stopped"] is False
    assert "the server kept running" in e.message
    assert _phases(sink.events) == ["downloading"]  # never "stopping"
    assert sink.pings[-1][0] < m.size  # cancelled mid-download
    # the same process, never restarted, serving the same data; the data dir byte for byte unchanged
    assert state.services["target"].pid == pid_before and _ping(state)
    assert _dbsizes(state) == sizes_before == {0: 30}
    assert dir_state(state.data_dir) == data_before


def test_undo_over_the_seam_gives_back_the_previous_data(
    redis_server: Any, sandbox: tuple[SandboxState, DeploymentConfig]
) -> None:
    state, cfg = sandbox
    store = store_for(cfg.backup, sandbox=state)
    populate(redis_server.endpoint, DATA, seed=5)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(state.target, BEFORE, seed=6)
    restore_sandbox(state, cfg, store, m.id, force=True, safety_backup=False, confirmed=True)
    assert _dbsizes(state) == {0: 1500, 1: 1500}
    undone = undo_sandbox_restore(state)
    assert undone.key_counts == {0: (30, 0)} and _dbsizes(state) == {0: 30}
    # and the undo is undoable: the restored data comes back
    again = undo_sandbox_restore(state)
    assert again.key_counts == {0: (1500, 0), 1: (1500, 0)}


def test_local_platform_status_logs_and_staging(sandbox: tuple[SandboxState, DeploymentConfig]) -> None:
    state, _cfg = sandbox
    p = LocalPlatform(state)
    assert isinstance(p, Platform) and p.kind == "sandbox" and p.data_dir == state.data_dir
    st = p.status()
    assert st.running and st.processes[0]["pid"] == state.services["target"].pid
    assert st.volume["path"] == str(state.data_dir) and st.volume["exists"]
    assert p.staging().beside_running
    assert "Ready to accept connections" in p.logs(200)
    p.stop()
    down = p.status()
    assert not down.running and any("not serving" in n for n in down.notes)
    p.start()
    assert p.wait_ready().persistence.aof_enabled
    assert p.status().running and p.status().to_dict()["platform"] == "sandbox"
