"""One event stream and cancellation inside backup, restore, key analysis and rollout waits (issue 13,
items 3 and 4), against real redis-server processes, a real moto S3 server and the Kubernetes emulator.

Cancellation always comes from another thread, as a TUI button or a runbook timeout would send it. To
cancel at a known point without racing the operation, the event sink (which runs on the operation's
thread) hands the moment to a canceller thread and waits until it has called ``cancel()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from redisops.adapters.kube import Kube
from redisops.adapters.local import ManagedProcess, free_port, start_redis
from redisops.adapters.redis_conn import RedisEndpoint
from redisops.adapters.s3 import AwsCredentials
from redisops.backup import BackupStore
from redisops.cancel import CancelToken
from redisops.config import BackupTarget, DeploymentConfig, config_from_mapping, render_redis_conf
from redisops.errors import Interrupted
from redisops.events import Event, Log, Phase, Progress, Recorder, Reporter
from redisops.ops.backup import create_aof_backup, create_rdb_backup, open_store, verify_backup
from redisops.ops.compare import canonical_value
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.inspect import analyze_keys
from redisops.ops.restore import restore_sandbox
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up
from tests.harness.plugin import local_overrides
from tests.harness.snapshots import dir_state

MB = 1_000_000
#: ~200 MB of random (incompressible) values
HUGE = DatasetSpec.of_size(230 * MB, value_bytes=8192, dbs=(0, 1))  # a string is 1/4 of a collection
#: ~24 MB: a download of a couple of dozen 1 MiB chunks
MEDIUM = DatasetSpec(keys_per_db=1500, dbs=(0, 1), value_bytes=4096, elements=2, ttl_fraction=0)
SMALL = DatasetSpec(keys_per_db=200, dbs=(0, 3), value_bytes=256, elements=4, ttl_fraction=0)
BEFORE = DatasetSpec(keys_per_db=30, dbs=(0,), prefix="before", ttl_fraction=0)
CREDS = AwsCredentials("testing", "testing")


def _store(s3_endpoint: Any, bucket: str) -> BackupStore:
    return open_store(
        BackupTarget(bucket=bucket, prefix="redisops"),
        "redis",
        endpoint_url=s3_endpoint.url,
        credentials=CREDS,
    )


class CancelAt:
    """An event sink that records every event and, the first time ``when(event)`` holds, has ANOTHER
    thread cancel ``token``; the operation's thread waits until that happened (no race with the end)."""

    def __init__(self, token: CancelToken, when: Callable[[Event], bool], reason: str = "cancelled") -> None:
        self.token = token
        self.when = when
        self.reason = reason
        self.events = Recorder()
        self.fired: Event | None = None
        self._go = threading.Event()
        self._done = threading.Event()
        self.thread = threading.Thread(target=self._cancel, name="canceller", daemon=True)
        self.thread.start()

    def _cancel(self) -> None:
        if self._go.wait(300):
            self.token.cancel(self.reason)
        self._done.set()

    def __call__(self, event: Event) -> None:
        self.events(event)
        if self.fired is None and self.when(event):
            self.fired = event
            self._go.set()
            assert self._done.wait(30), "the canceller thread did not run"


def progress_over(phase: str, done: int) -> Callable[[Event], bool]:
    return lambda e: isinstance(e, Progress) and e.phase == phase and e.done > done


def phases(events: Recorder) -> list[str]:
    return [e.name for e in events.of(Phase)]  # type: ignore[attr-defined]


def assert_progress_shape(events: Recorder, phase: str, *, estimate: bool | None = None) -> list[Progress]:
    """The phase has progress; the first carries a total (exact, or an estimate when ``estimate``);
    ``done`` never decreases within it."""
    ps: list[Progress] = [e for e in events.of(Progress) if e.phase == phase]  # type: ignore[misc]
    assert ps, f"no progress in phase {phase}"
    assert ps[0].total is not None and ps[0].total > 0
    if estimate is not None:
        assert ps[0].estimate is estimate
    dones = [p.done for p in ps]
    assert dones == sorted(dones), f"done went backwards in {phase}: {dones}"
    # progress of a phase comes after its phase event and before the next one
    kinds = [(e.kind, getattr(e, "name", getattr(e, "phase", ""))) for e in events]
    first = kinds.index(("progress", phase))
    assert ("phase", phase) in kinds[:first]
    return ps


def content(ep: RedisEndpoint) -> dict[tuple[int, bytes], Any]:
    """Every key of every db with its type, canonical value and TTL in seconds (encoding-independent:
    a restart reorders a hashtable set's DUMP payload, so DUMP bytes cannot be compared across one)."""
    from redisops.adapters.redis_conn import connect

    out: dict[tuple[int, bytes], Any] = {}
    for db in range(16):
        c = connect(ep.with_db(db), check=False)
        try:
            for key in c.scan_iter(count=1000):
                kind = c.type(key).decode()
                out[(db, key)] = (kind, canonical_value(c, key, kind), round(c.pttl(key) / 1000))
        finally:
            c.close()
    return out


def settled_dir_state(ep: RedisEndpoint, data_dir: Path) -> dict[str, str]:
    """``dir_state`` once Redis has written its AOF buffer: with ``appendfsync everysec`` Redis may hold
    writes back (up to 2 s) while a background fsync runs, and writes them at the latest on shutdown."""
    import time

    from redisops.adapters.redis_conn import connect

    c = connect(ep, check=False)
    try:
        deadline = time.monotonic() + 30
        while int(c.info("persistence").get("aof_buffer_length", 0)):
            assert time.monotonic() < deadline, "Redis never wrote its AOF buffer"
            time.sleep(0.05)
    finally:
        c.close()
    return dir_state(data_dir)


def assert_store_clean(store: BackupStore, s3_client: Any, bucket: str, listed: list[str]) -> None:
    """Only ``listed`` backups, no open multipart upload, no lock, no leftover object."""
    assert [m.id for m in store.list()] == listed
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert store.lock_info() is None
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert {k.split("/")[3] for k in keys if k.startswith("redisops/backups/")} <= set(listed), keys


# --- a 200 MB server, shared by the slow backup tests ------------------------------------------------------


@pytest.fixture(scope="module")
def huge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisEndpoint]:
    """A redis-server (no persistence: the 200 MB stays off this machine's disk) holding ~200 MB."""
    workdir = tmp_path_factory.mktemp("huge")
    data = workdir / "data"
    data.mkdir()
    port = free_port()
    cfg = config_from_mapping({"config": {"appendonly": "no", "save": ""}})
    proc: ManagedProcess = start_redis(
        render_redis_conf(cfg, local_overrides(port, data)), workdir, port=port, name="huge"
    )
    try:
        ep = RedisEndpoint(port=port)
        populate(ep, HUGE, seed=200, batch=200)
        yield ep
    finally:
        proc.stop(timeout=10)


@pytest.mark.slow
def test_cancel_a_200mb_backup_mid_stream_and_mid_upload_leaves_nothing(
    huge_server: RedisEndpoint, s3_endpoint: Any, s3_bucket: str
) -> None:
    store = _store(s3_endpoint, s3_bucket)
    s3 = s3_endpoint.client()

    # 1. mid-stream: once more than 20 MB arrived (a diskless transfer: the total is an estimate)
    token = CancelToken()
    sink = CancelAt(token, progress_over("streaming", 20 * MB))
    with pytest.raises(Interrupted) as err:
        create_rdb_backup(huge_server, store, reporter=Reporter("backup.create", sink), cancel=token)
    e = err.value
    assert e.exit_code == 130
    assert e.message == "cancelled; nothing was stored (the partial upload was aborted)"
    assert sink.fired is not None
    streamed = sink.events.of(Progress)
    assert streamed[-1].done < streamed[-1].total  # type: ignore[attr-defined]  # stopped mid-stream
    assert phases(sink.events) == ["connecting", "streaming"]
    assert_progress_shape(sink.events, "streaming", estimate=True)
    assert_store_clean(store, s3, s3_bucket, [])

    # 2. mid-upload: once S3 acknowledged the first part of the multipart upload
    open_uploads: list[Any] = []

    def first_part_uploaded(ev: Event) -> bool:
        if isinstance(ev, Log) and ev.message.startswith("uploaded"):
            open_uploads.extend(s3.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []))
            return True
        return False

    token = CancelToken()
    sink = CancelAt(token, first_part_uploaded, "step timeout")
    with pytest.raises(Interrupted) as err:
        create_rdb_backup(huge_server, store, reporter=Reporter("backup.create", sink), cancel=token)
    assert err.value.message == "step timeout; nothing was stored (the partial upload was aborted)"
    assert err.value.context["reason"] == "step timeout"
    assert sink.fired is not None and "bytes of dump.rdb" in sink.fired.message  # type: ignore[attr-defined]
    assert len(open_uploads) == 1  # the multipart upload was open when it was cancelled; it is gone now
    assert_store_clean(store, s3, s3_bucket, [])

    # 3. the next backup succeeds, all 200 MB of it
    events = Recorder()
    m = create_rdb_backup(huge_server, store, reporter=Reporter("backup.create", events))
    assert m.size > 190 * MB
    assert phases(events) == ["connecting", "streaming", "committing"]
    ps = assert_progress_shape(events, "streaming", estimate=True)
    assert ps[-1].done == m.size
    assert_store_clean(store, s3, s3_bucket, [m.id])
    store.delete(m.id)  # moto keeps objects in memory


# --- event order and shape of backups (small data) -------------------------------------------------------


@pytest.mark.parametrize("diskless", [True, False], ids=["diskless-estimate", "disk-based-length"])
def test_backup_events_order_and_shape(
    redis_factory: Any, s3_endpoint: Any, s3_bucket: str, diskless: bool
) -> None:
    server = redis_factory(extra={"repl-diskless-sync": "yes" if diskless else "no"})
    populate(server.endpoint, MEDIUM, seed=3)
    store = _store(s3_endpoint, s3_bucket)
    events = Recorder()
    m = create_rdb_backup(server.endpoint, store, reporter=Reporter("backup.create", events))
    assert verify_backup(store, m.id).ok
    assert {e.kind for e in events} <= {"phase", "progress", "log", "warning"}  # the catalogue starts/ends
    names = phases(events)
    assert names[0] == "connecting" and names[-2:] == ["streaming", "committing"]
    assert set(names) <= {"connecting", "waiting", "streaming", "committing"}
    ps = assert_progress_shape(events, "streaming", estimate=diskless)
    if not diskless:  # the $<len> of the transfer: exact from the first event
        assert {p.total for p in ps} == {m.size}
    assert ps[-1].done == m.size and {p.unit for p in ps} == {"bytes"}
    assert {e.op for e in events} == {"backup.create"} and len({e.op_id for e in events}) == 1


def test_aof_backup_events_and_cancel(redis_server: Any, s3_endpoint: Any, s3_bucket: str) -> None:
    populate(redis_server.endpoint, MEDIUM, seed=4)
    store = _store(s3_endpoint, s3_bucket)
    token = CancelToken()
    sink = CancelAt(token, progress_over("copying", 2 * MB))
    with pytest.raises(Interrupted, match="nothing was stored"):
        create_aof_backup(
            redis_server.endpoint,
            redis_server.data_dir,
            store,
            reporter=Reporter("backup.create", sink),
            cancel=token,
        )
    assert_store_clean(store, s3_endpoint.client(), s3_bucket, [])
    c = redis_server.client(decode=True)
    try:  # the rewrite pause was undone
        assert c.config_get("auto-aof-rewrite-percentage")["auto-aof-rewrite-percentage"] == "100"
    finally:
        c.close()
    events = Recorder()
    m = create_aof_backup(
        redis_server.endpoint, redis_server.data_dir, store, reporter=Reporter("backup.create", events)
    )
    assert phases(events) == ["connecting", "pausing rewrites", "copying", "committing"]
    ps = assert_progress_shape(events, "copying", estimate=False)
    assert ps[-1].done == ps[-1].total == sum(o.size for o in m.objects if not o.name.endswith(".manifest"))


# --- restore: cancel during the download -----------------------------------------------------------------


@pytest.fixture
def aof_only_sandbox(tmp_path: Path) -> Iterator[tuple[SandboxState, DeploymentConfig]]:
    """A sandbox whose target persists by AOF only (``save ""``): stopping it writes no new file, so its
    data dir can be compared byte for byte across a stop and start (with save points Redis itself would
    rewrite dump.rdb on shutdown)."""
    cfg = config_from_mapping({"config": {"save": ""}})
    state = sandbox_up(tmp_path / "sandbox", config=cfg)
    yield state, cfg
    sandbox_down(tmp_path / "sandbox")


def test_cancel_a_sandbox_restore_during_the_download_changes_nothing(
    redis_server: Any, aof_only_sandbox: tuple[SandboxState, DeploymentConfig]
) -> None:
    from redisops.ops.backup import store_for

    sandbox, cfg = aof_only_sandbox
    store = store_for(cfg.backup, sandbox=sandbox)
    populate(redis_server.endpoint, MEDIUM, seed=5)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(sandbox.target, BEFORE, seed=6)
    data_before, redis_before = settled_dir_state(sandbox.target, sandbox.data_dir), content(sandbox.target)
    listed = [b.id for b in store.list()]

    token = CancelToken()
    sink = CancelAt(token, progress_over("downloading", 4 * MB))
    with pytest.raises(Interrupted) as err:
        restore_sandbox(
            sandbox, cfg, store, m.id, force=True, safety_backup=False, confirmed=True,
            reporter=Reporter("restore.apply", sink), cancel=token,
        )  # fmt: skip
    e = err.value
    assert e.exit_code == 130 and not e.context["installed"]
    assert e.message == (
        f"cancelled before the install; the data dir {sandbox.data_dir} is unchanged and the server kept "
        "running"
    )
    assert phases(sink.events) == ["downloading"]  # staged beside the running target: never stopped
    ps = assert_progress_shape(sink.events, "downloading")
    assert ps[-1].done < m.size  # stopped mid-download
    assert dir_state(sandbox.data_dir) == data_before  # byte for byte; no staging dir left
    assert content(sandbox.target) == redis_before  # serving the old data again
    assert [b.id for b in store.list()] == listed

    # the next restore succeeds, with its events in order
    events = Recorder()
    out = restore_sandbox(
        sandbox, cfg, store, m.id, force=True, safety_backup=False, confirmed=True,
        reporter=Reporter("restore.apply", events), now=datetime.now(UTC),
    )  # fmt: skip
    assert out.result is not None and out.result.key_counts == {0: (1500, 0), 1: (1500, 0)}
    assert phases(events) == ["downloading", "stopping", "installing", "starting", "verifying"]
    ps = assert_progress_shape(events, "downloading", estimate=False)
    assert {p.total for p in ps} == {m.size} and ps[-1].done == m.size
    assert {e.kind for e in events} <= {"phase", "progress", "log", "warning"}


def test_cancel_during_the_safety_backup_leaves_target_and_store_unchanged(
    redis_server: Any, aof_only_sandbox: tuple[SandboxState, DeploymentConfig]
) -> None:
    from redisops.ops.backup import store_for

    sandbox, cfg = aof_only_sandbox
    store = store_for(cfg.backup, sandbox=sandbox)
    populate(redis_server.endpoint, SMALL, seed=7)
    m = create_rdb_backup(redis_server.endpoint, store)
    populate(sandbox.target, MEDIUM, seed=8)  # the safety backup has something to stream
    data_before, redis_before = settled_dir_state(sandbox.target, sandbox.data_dir), content(sandbox.target)
    token = CancelToken()
    sink = CancelAt(token, progress_over("streaming", 1 * MB))
    with pytest.raises(Interrupted) as err:
        restore_sandbox(
            sandbox, cfg, store, m.id, force=True, confirmed=True, reporter=Reporter("restore.apply", sink),
            cancel=token,
        )  # fmt: skip
    assert err.value.message == (
        "cancelled; nothing was stored (the partial upload was aborted); the restore had not started: "
        "the target is unchanged"
    )
    assert phases(sink.events)[0] == "safety backup"
    assert [b.id for b in store.list()] == [m.id]
    assert store.lock_info() is None
    assert dir_state(sandbox.data_dir) == data_before and content(sandbox.target) == redis_before


# --- key analysis ----------------------------------------------------------------------------------------


def test_cancel_key_analysis_mid_scan(redis_server: Any) -> None:
    populate(
        redis_server.endpoint, DatasetSpec(keys_per_db=3000, dbs=(0,), value_bytes=16, elements=2), seed=9
    )
    token = CancelToken()
    sink = CancelAt(token, progress_over("scanning", 600))
    with pytest.raises(Interrupted) as err:
        analyze_keys(
            redis_server.endpoint, count=100, max_ops_per_sec=0, reporter=Reporter("keys.analyze", sink),
            cancel=token,
        )  # fmt: skip
    e = err.value
    assert e.context["scanned"] < 3000 and e.context["cursor"] != 0
    assert f"resume with cursor {e.context['cursor']}" in e.message and "nothing was changed" in e.message
    assert phases(sink.events) == ["scanning"]
    ps = assert_progress_shape(sink.events, "scanning")
    assert {p.unit for p in ps} == {"keys"} and ps[0].total == 3000 and ps[0].done == 0
    # resuming from the cursor finishes the scan
    rest = analyze_keys(redis_server.endpoint, count=100, max_ops_per_sec=0, cursor=e.context["cursor"])
    assert rest.done


def test_cancel_wakes_the_key_analysis_throttle(redis_server: Any) -> None:
    """At 0.1 op/s the first batch (1 SCAN + 3 per key) is followed by a sleep of about 310 s, longer than
    the test's timeout: the scan stops only because the cancellation wakes that sleep."""
    populate(
        redis_server.endpoint, DatasetSpec(keys_per_db=200, dbs=(0,), value_bytes=16, elements=2), seed=10
    )
    token = CancelToken()

    def sink(ev: Event) -> None:
        if isinstance(ev, Progress) and ev.done == 0:  # the scan starts: cancel it once it sleeps
            threading.Timer(1.0, token.cancel).start()

    with pytest.raises(Interrupted) as err:
        analyze_keys(
            redis_server.endpoint, count=10, max_ops_per_sec=0.1, reporter=Reporter("keys.analyze", sink),
            cancel=token,
        )  # fmt: skip
    assert err.value.context["scanned"] > 0 and "resume with cursor" in err.value.message


# --- rollout waits ---------------------------------------------------------------------------------------

NS = "llm-judge"


def _deployment() -> list[dict[str, Any]]:
    labels = {"app": "redis"}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "redis", "namespace": NS, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "redis", "image": "redis:7.2"}]},
                },
            },
        }
    ]


@pytest.mark.k8s
def test_cancel_a_stuck_rollout_wait(kube: Any) -> None:
    """An image that never pulls: the wait (an hour's timeout) stops with Interrupted when cancelled."""
    kube.set_failure(NS, "redis", "stuck", reason="ImagePullBackOff")
    with Kube.from_kubeconfig(kube.kubeconfig_path) as k:
        k.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        k.apply(_deployment())
        token = CancelToken()
        messages: list[str] = []

        def progress(message: str) -> None:
            messages.append(message)
            if len(messages) == 1:  # the wait is under way: cancel it from another thread a moment later
                threading.Timer(0.5, token.cancel, args=("runbook step timeout",)).start()

        with pytest.raises(Interrupted) as err:
            k.wait_rollout("redis", NS, timeout=3600, poll=3600, progress=progress, cancel=token)
        assert err.value.message == (
            f"runbook step timeout while waiting for the rollout of Deployment {NS}/redis "
            "(the rollout itself goes on)"
        )
        assert messages and not k.rollout_status("redis", NS).done
    assert kube.errors == []


def test_cancel_wakes_a_backup_waiting_for_the_diskless_delay(
    redis_factory: Any, s3_endpoint: Any, s3_bucket: str
) -> None:
    """Redis holds the transfer back for 600 s (repl-diskless-sync-delay): the read blocked on its
    keep-alives wakes when cancelled (the socket is shut down), long before the delay or the test's
    timeout; nothing is stored and the lock is released."""
    wait = {
        "repl-diskless-sync": "yes",
        "repl-diskless-sync-delay": "600",
        "repl-diskless-sync-max-replicas": "0",
    }
    server = redis_factory(extra=wait)
    populate(server.endpoint, SMALL, seed=11)
    store = _store(s3_endpoint, s3_bucket)
    token = CancelToken()
    sink = CancelAt(token, lambda ev: isinstance(ev, Phase) and ev.name == "waiting")
    with pytest.raises(Interrupted) as err:
        create_rdb_backup(server.endpoint, store, reporter=Reporter("backup.create", sink), cancel=token)
    assert err.value.message == "cancelled; nothing was stored (the partial upload was aborted)"
    assert phases(sink.events) == ["connecting", "waiting"]
    assert "repl-diskless-sync-delay, up to 600s" in sink.fired.detail  # type: ignore[union-attr]
    assert_store_clean(store, s3_endpoint.client(), s3_bucket, [])


@pytest.mark.k8s
def test_deploy_passes_cancel_to_its_rollout_wait(kube: Any) -> None:
    from redisops.k8s import render_manifests
    from redisops.ops.deploy import deploy

    cfg = DeploymentConfig(image="redis:7.0.15-alpine")
    kube.set_failure(NS, "redis", "stuck", reason="ImagePullBackOff")
    token = CancelToken()

    def say(message: str) -> None:
        if message.startswith("waiting for the rollout"):
            threading.Timer(0.3, token.cancel, args=("interrupted",)).start()

    with Kube.from_kubeconfig(kube.kubeconfig_path) as k, pytest.raises(Interrupted) as err:
        deploy(k, cfg, render_manifests(cfg), timeout=3600, progress=say, check_version=False, cancel=token)
    assert err.value.message.startswith("interrupted while waiting for the rollout of Deployment")
    assert kube.errors == []
