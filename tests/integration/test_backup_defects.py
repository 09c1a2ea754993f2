"""Issue 12, backup area: defects found when the toolkit was tried as a new user would.

Real moto S3 over HTTP, real redis-server processes; the CLI through typer's CliRunner in-process with
an isolated environment (a config file pointing at the moto bucket, a private state dir).
"""

from __future__ import annotations

import io
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.adapters.s3 import AwsCredentials, S3Adapter, S3Settings
from redisops.backup import BackupStore, Layout
from redisops.cli.main import app
from redisops.config import BackupTarget
from redisops.errors import InvalidArgument
from redisops.ops.backup import create_rdb_backup, open_store
from tests.harness.plugin import S3Endpoint

CREDS = AwsCredentials("testing", "testing")
SHA = "ab" * 32
T0 = datetime(2026, 11, 25, 15, 53, 21, tzinfo=UTC)


def make_store(ep: S3Endpoint, bucket: str, host: str = "test-host", **kw: Any) -> BackupStore:
    settings = S3Settings(
        bucket=bucket, endpoint_url=ep.url, force_path_style=True, credentials=CREDS, max_attempts=2
    )
    return BackupStore(Layout(), S3Adapter(settings), "redis", host=host, **kw)


def put_backup(store: BackupStore, at: datetime, purpose: Any = "manual", data: bytes = b"x") -> str:
    with store.begin("rdb", at) as w:
        w.write_bytes("dump.rdb", data)
        return w.commit(now=at + timedelta(seconds=1), purpose=purpose, key_counts={0: {"keys": 3}}).id


# --- CLI harness ----------------------------------------------------------------------------------------
class Cli:
    """``redisops`` in-process against one moto bucket, with an isolated environment."""

    def __init__(self, tmp_path: Path, ep: S3Endpoint, bucket: str) -> None:
        self.bucket, self.endpoint = bucket, ep.url
        self.config = tmp_path / "deploy.yaml"
        self.config.write_text(
            "service_name: redis\n"
            "backup:\n"
            f"  bucket: {bucket}\n"
            f"  endpoint_url: {ep.url}\n"
            "  force_path_style: true\n"
        )
        self.env = {
            "REDISOPS_STATE_DIR": str(tmp_path / "no-sandbox"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "KUBERNETES_SERVICE_HOST": "",
        }

    def __call__(self, *args: str, columns: int = 120) -> Any:
        runner = CliRunner()
        env = {**self.env, "COLUMNS": str(columns)}
        return runner.invoke(app, ["backup", *args, "--config", str(self.config)], env=env)


@pytest.fixture
def cli(tmp_path: Path, s3_endpoint: S3Endpoint, s3_bucket: str) -> Cli:
    return Cli(tmp_path, s3_endpoint, s3_bucket)


# --- item 6: safety backups are labelled and `latest` skips them -----------------------------------------
def test_latest_skips_safety_backups_unless_asked(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    meant = put_backup(store, T0)
    scheduled = put_backup(store, T0 + timedelta(minutes=1), "scheduled")
    safety = put_backup(store, T0 + timedelta(minutes=2), "safety")
    assert [m.purpose for m in store.list()] == ["safety", "scheduled", "manual"]
    assert store.get(safety).is_safety and not store.get(meant).is_safety
    # a refused `restore latest --force` left a safety backup: latest is still the backup meant
    latest = store.latest()
    assert latest is not None and latest.id == scheduled
    with_safety = store.latest(include_safety=True)
    assert with_safety is not None and with_safety.id == safety
    # a manual backup's manifest has no purpose field at all (older readers keep reading it)
    data, _ = store.s3.get_bytes(store.layout.manifest_key("redis", meant))
    assert "purpose" not in json.loads(data)
    assert store.get(meant).purpose == "manual"
    with pytest.raises(InvalidArgument, match="purpose"):
        put_backup(store, T0 + timedelta(minutes=3), "nightly")
    assert store.lock_info() is None


def test_backup_operation_labels_its_backup(
    redis_server: Any, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    store = open_store(
        BackupTarget(bucket=s3_bucket), "redis", endpoint_url=s3_endpoint.url, credentials=CREDS
    )
    redis_server.client().set("k", "v")
    safety = create_rdb_backup(redis_server.endpoint, store, purpose="safety")
    assert store.get(safety.id).purpose == "safety"
    assert store.latest() is None  # only a safety backup: nothing the operator took
    manual = create_rdb_backup(redis_server.endpoint, store)
    assert store.get(manual.id).purpose == "manual"


def test_cli_list_shows_the_purpose(cli: Cli, s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    put_backup(store, T0)
    put_backup(store, T0 + timedelta(minutes=1), "safety")
    r = cli("list", "-o", "json")
    assert r.exit_code == 0, r.output
    assert [d["purpose"] for d in json.loads(r.stdout)["backups"]] == ["safety", "manual"]
    text = cli("list")
    assert text.exit_code == 0, text.output
    assert re.search(r"\bsafety\b", text.stdout) and re.search(r"\bmanual\b", text.stdout)


def test_cli_create_and_schedule_label_scheduled(
    cli: Cli, redis_server: Any, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    url = f"redis://127.0.0.1:{redis_server.endpoint.port}"
    r = cli("create", "--url", url, "--purpose", "scheduled", "-o", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["purpose"] == "scheduled"
    r = cli("schedule", "--url", url, "--count", "1", "-o", "json")
    assert r.exit_code == 0, r.output
    taken = json.loads(r.stdout)["runs"][0]["id"]  # one object: {"runs": [...]}
    assert make_store(s3_endpoint, s3_bucket).get(taken).purpose == "scheduled"
    r = cli("create", "--url", url)
    assert r.exit_code == 0, r.output
    assert "(manual)" in r.stdout


# --- item 5: manifests stay readable across versions ------------------------------------------------------
def test_store_reads_a_backup_written_by_a_newer_version(
    s3_endpoint: S3Endpoint, s3_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    from redisops.errors import ParseError

    store = make_store(s3_endpoint, s3_bucket)
    bid = put_backup(store, T0)
    key = store.layout.manifest_key("redis", bid)
    doc = json.loads(store.s3.get_bytes(key)[0])
    doc.update(tool_version="2.0.0", used_memory_peak=123, compression={"algorithm": "zstd"})
    store.s3.put_bytes(key, json.dumps(doc).encode())
    m = store.get(bid)
    assert m.tool_version == "2.0.0" and m.extra["compression"] == {"algorithm": "zstd"}
    assert [b.id for b in store.list()] == [bid]

    newer = put_backup(store, T0 + timedelta(minutes=5))
    key = store.layout.manifest_key("redis", newer)
    doc = json.loads(store.s3.get_bytes(key)[0])
    doc.update(format_version=2, tool_version="3.0.0")
    store.s3.put_bytes(key, json.dumps(doc).encode())
    with pytest.raises(ParseError, match=r"written by redisops 3\.0\.0; upgrade to read it"):
        store.get(newer)
    with caplog.at_level("WARNING"):
        assert [b.id for b in store.list()] == [bid]
    assert f"skipping backup {newer}" in caplog.text and "upgrade" in caplog.text


# --- item 7: a lock left by a dead backup pod is broken when the Kubernetes API says the pod is gone --------
NS = "default"


def pod_manifest(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "redisops-backup"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "backup", "image": "redisops"}]},
    }


def lock_of_pod(store: BackupStore, pod: str, at: datetime, uid: str | None = None) -> str:
    """Leave a lock as a backup pod on another node would (then it dies)."""
    from redisops.backup import LockInfo, PodRef, new_backup_id

    bid = new_backup_id(at)
    lock = LockInfo("redis", bid, pod, 1, at, "0.1.0", pod=PodRef(NS, pod, uid))
    store.s3.put_bytes(store.layout.lock_key("redis"), lock.to_json(), if_none_match=True)
    return bid


def wait_phase(kube: Any, name: str, phase: str) -> None:
    import time

    for _ in range(200):
        if ((kube.get("Pod", name, NS) or {}).get("status") or {}).get("phase") == phase:
            return
        time.sleep(0.02)
    raise AssertionError(f"pod {name} never reached {phase}")


def test_lock_of_a_pod_is_kept_while_it_runs_and_broken_when_it_is_gone(
    kube: Any, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    from redisops.adapters.kube import Kube
    from redisops.errors import ConflictError
    from redisops.ops.backup import pod_liveness

    notices: list[str] = []
    with Kube.from_kubeconfig(kube.kubeconfig_path, namespace=NS) as client:
        store = make_store(
            s3_endpoint,
            s3_bucket,
            host="backup-next-pod",
            holder_alive=pod_liveness(client),
            on_notice=notices.append,
        )
        now = datetime.now(UTC)
        kube.create(pod_manifest("backup-running"))
        wait_phase(kube, "backup-running", "Running")
        held = lock_of_pod(store, "backup-running", now - timedelta(minutes=3))
        # the pod exists and runs: the lock is kept, the error says so
        with pytest.raises(ConflictError, match="is still running") as e:
            store.begin("rdb", now)
        assert e.value.context["pod_alive"] is True and "kubectl -n default get pod" in e.value.hint
        assert store.lock_info() is not None and store.lock_info().backup_id == held  # type: ignore[union-attr]
        assert notices == []

        # the pod is gone (OOMKilled and deleted, node lost): the next backup breaks the lock and says so
        kube.delete("Pod", "backup-running", NS)
        w = store.begin("rdb", now)
        gone = "its pod default/backup-running no longer exists (or has terminated)"
        assert notices == [f"broke the lock of backup {held}: {gone}"]
        w.abort()
        assert store.lock_info() is None

        # evicted: the pod object stays, phase Failed: it no longer runs
        kube.create(pod_manifest("backup-evicted"))
        wait_phase(kube, "backup-evicted", "Running")
        kube.patch_status("Pod", "backup-evicted", NS, {"phase": "Failed", "reason": "Evicted"})
        wait_phase(kube, "backup-evicted", "Failed")
        evicted = lock_of_pod(store, "backup-evicted", now)
        with store.begin("rdb", now) as w2:
            w2.write_bytes("dump.rdb", b"x")
            w2.commit()
        assert f"broke the lock of backup {evicted}" in notices[-1]

        # same name, another pod (uid differs): the holder is gone
        kube.create(pod_manifest("backup-reused"))
        lock_of_pod(store, "backup-reused", now, uid="00000000-0000-0000-0000-000000000000")
        store.begin("rdb", now + timedelta(seconds=1)).abort()
        assert "backup-reused" in notices[-1]


def test_lock_of_a_pod_is_refused_when_the_api_cannot_tell(
    kube: Any, tmp_path: Path, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    import yaml

    from redisops.adapters.kube import Kube
    from redisops.adapters.local import free_port
    from redisops.errors import ConflictError
    from redisops.ops.backup import pod_liveness

    cfg = kube.kubeconfig(context="gone", namespace=NS)
    cfg["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
    path = tmp_path / "unreachable"
    path.write_text(yaml.safe_dump(cfg))
    notices: list[str] = []
    with Kube.from_kubeconfig(path) as client:
        store = make_store(
            s3_endpoint,
            s3_bucket,
            host="backup-next-pod",
            holder_alive=pod_liveness(client),
            on_notice=notices.append,
        )
        now = datetime.now(UTC)
        held = lock_of_pod(store, "backup-gone", now - timedelta(hours=8))  # stale, and the pod is gone
        with pytest.raises(ConflictError, match="could not be checked") as e:
            store.begin("rdb", now)
    assert e.value.context["pod_alive"] is None
    assert "backup unlock" in e.value.hint and "kubectl -n default get pod backup-gone" in e.value.hint
    assert store.lock_info().backup_id == held and notices == []  # type: ignore[union-attr]
    # without a liveness callback (outside the cluster) it is refused as well
    plain = make_store(s3_endpoint, s3_bucket, host="laptop")
    with pytest.raises(ConflictError, match="could not be checked"):
        plain.begin("rdb", now)


def test_the_lock_records_the_pod_from_the_environment(tmp_path: Path) -> None:
    from redisops.backup import LockInfo, PodRef, this_pod

    ns_file = tmp_path / "namespace"
    assert this_pod({}, namespace_file=ns_file) is None
    assert this_pod({"POD_NAME": "b-1"}, namespace_file=ns_file) is None  # namespace unknown
    ns_file.write_text("llm-judge\n")
    assert this_pod(
        {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, namespace_file=ns_file, hostname="b-2"
    ) == PodRef("llm-judge", "b-2")
    env = {"POD_NAME": "b-3", "POD_NAMESPACE": "prod", "POD_UID": "u-1"}
    pod = this_pod(env, namespace_file=ns_file)
    assert pod == PodRef("prod", "b-3", "u-1")
    lock = LockInfo("redis", "20261125T155321Z-3f9a", "b-3", 7, T0, pod=pod)
    assert LockInfo.from_json(lock.to_json()) == lock
    old = LockInfo("redis", "20261125T155321Z-3f9a", "h", 7, T0)  # written before pods were recorded
    assert LockInfo.from_json(old.to_json()).pod is None


def test_cli_in_a_pod_without_api_access_refuses_with_a_hint(
    cli: Cli, redis_server: Any, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    held = lock_of_pod(store, "backup-29000000-abcde", datetime.now(UTC) - timedelta(hours=1))
    cli.env["KUBERNETES_SERVICE_HOST"] = "10.96.0.1"  # in a pod, but no service account token mounted
    r = cli("create", "--url", f"redis://127.0.0.1:{redis_server.endpoint.port}")
    # the catalogue plans first: the lock's holder blocks the plan (exit 15, PlanBlocked; was 7)
    assert r.exit_code == 15, r.output
    said = " ".join(r.stderr.split())
    assert "whether its pod default/backup-29000000-abcde still runs could not be checked" in said
    assert "kubectl -n default get pod backup-29000000-abcde" in said and "backup unlock" in said
    assert store.lock_info().backup_id == held  # type: ignore[union-attr]


# --- item 12: no command prints a repr ------------------------------------------------------------------
REPR = re.compile(r"\b[A-Z][A-Za-z]+\([a-z_]+=")


def test_gc_prints_a_summary_not_a_repr(cli: Cli, s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    r = cli("gc")
    assert r.exit_code == 0, r.output
    assert not REPR.search(r.stdout) and "removed:" not in r.stdout
    assert "nothing to remove" in r.stdout and "older than 24h00m" in r.stdout
    store = make_store(s3_endpoint, s3_bucket)
    w = store.begin("rdb", T0 - timedelta(days=3))
    w.write_bytes("dump.rdb", b"half a backup")
    store._release(w.lock)  # the writer died after its first object: an incomplete backup
    young = cli("gc")
    assert f"kept redisops/backups/redis/{w.backup_id}/: incomplete backup younger than" in young.stdout
    dry = cli("gc", "--dry-run", "--grace-hours", "0")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines()[0] == "would remove 1 incomplete backup (1 objects)"
    assert f"redisops/backups/redis/{w.backup_id}/" in dry.stdout
    done = cli("gc", "--grace-hours", "0", "-o", "json")
    assert json.loads(done.stdout)["incomplete_backups"] == [f"redisops/backups/redis/{w.backup_id}/"]


def test_every_backup_command_prints_text_not_reprs(
    cli: Cli, redis_server: Any, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    url = f"redis://127.0.0.1:{redis_server.endpoint.port}"
    redis_server.client().set("k", "v")
    outputs = {}
    for args in (
        ("create", "--url", url),
        ("schedule", "--url", url, "--count", "1"),
        ("list",),
        ("describe", "latest"),
        ("verify", "latest"),
        ("prune", "--keep-last", "1", "--yes"),
        ("gc",),
        ("unlock", "--yes"),
    ):
        r = cli(*args)
        assert r.exit_code == 0, (args, r.output)
        outputs[args[0]] = r.stdout
        assert not REPR.search(r.stdout), (args, r.stdout)
    latest = make_store(s3_endpoint, s3_bucket).latest()
    assert latest is not None
    r = cli("delete", latest.id, "--yes", "--force")  # the newest verified backup: only with --force
    assert r.exit_code == 0 and not REPR.search(r.stdout)
    assert (
        r.stdout.strip() == f"deleted backup {latest.id} of redis (2 objects)" or "deleted backup" in r.stdout
    )
    assert outputs["describe"].startswith(f"backup {latest.id} of redis (scheduled, rdb)")
    assert "keys       1 (db0 1 (0 with TTL))" in outputs["describe"]
    assert outputs["prune"].splitlines()[0] == "deleted 1 backup; kept 1"


# --- item 17: unlock is idempotent; a missing bucket is named --------------------------------------------
def test_unlock_without_a_lock_is_fine_and_twice_too(
    cli: Cli, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    r = cli("unlock", "--yes")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "nothing to unlock: no backup lock is held for redis"
    store = make_store(s3_endpoint, s3_bucket)
    w = store.begin("rdb", T0)
    first = cli("unlock", "--yes", "-o", "json")  # another host's holder: cannot be checked, broken
    assert first.exit_code == 0 and json.loads(first.stdout)["broken"] == w.backup_id
    again = cli("unlock", "--yes", "-o", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["broken"] is None


@pytest.mark.parametrize("args", [("unlock", "--yes"), ("list",), ("create", "--url", "REDIS")])
def test_a_missing_bucket_is_named_with_a_hint(
    tmp_path: Path, s3_endpoint: S3Endpoint, redis_server: Any, args: tuple[str, ...]
) -> None:
    cli = Cli(tmp_path, s3_endpoint, "redisops-nobody-made-this")
    args = tuple(f"redis://127.0.0.1:{redis_server.endpoint.port}" if a == "REDIS" else a for a in args)
    r = cli(*args)
    err = " ".join(r.stderr.split())
    assert "the S3 bucket 'redisops-nobody-made-this' does not exist" in err
    assert "lock key" not in err  # not "the lock key does not exist"
    assert "REDISOPS_S3_BUCKET" in err
    if args[0] == "list":
        assert r.exit_code == 6, r.output
        assert "hint: create it (aws s3 mb s3://redisops-nobody-made-this)" in err
    else:  # a change plans first: the unreadable store blocks the plan (exit 15), with the same words
        assert r.exit_code == 15, r.output
        assert "create it (aws s3 mb s3://redisops-nobody-made-this)" in err


# --- item 20: arguments out of range are usage errors (exit 2), never "unexpected error" --------------------
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("gc", "--grace-hours", "-5"), "--grace-hours"),
        (("prune", "--keep-last", "0"), "--keep-last"),
        (("prune", "--daily", "-1"), "--daily"),
        (("prune", "--weekly", "-1"), "--weekly"),
        (("prune", "--monthly", "-1"), "--monthly"),
        (("schedule", "--count", "-1"), "--count"),
        (("schedule", "--every", "-60"), "--every"),
        (("create", "--kind", "zip"), "--kind"),
        (("describe", "not-an-id"), "not a backup id"),
        (("verify", "2026-11-25"), "not a backup id"),
        (("delete", "latest", "--yes"), "by its id"),
        (("delete", "../etc", "--yes"), "not a backup id"),
        (("list", "--source", "Bad_Name!"), "invalid backup source name"),
    ],
)
def test_bad_arguments_exit_2(cli: Cli, args: tuple[str, ...], says: str) -> None:
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert says in " ".join(r.output.split())
    assert "unexpected error" not in r.output and "Traceback" not in r.output


def test_the_library_raises_invalid_argument(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    from redisops.backup import RetentionRules

    store = make_store(s3_endpoint, s3_bucket)
    with pytest.raises(InvalidArgument, match="must not be negative"):
        store.gc(T0, timedelta(hours=-5))
    with pytest.raises(InvalidArgument, match="not a backup id"):
        store.get("2026-11-25")
    with pytest.raises(InvalidArgument, match="unknown backup kind"):
        store.begin("zip", T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="keep_last must be at least 1"):
        store.prune(RetentionRules(keep_last=0))


# --- item 21: backup list renders at 80 columns without cutting anything ---------------------------------
@pytest.mark.parametrize("width", [80, 120])
def test_list_table_fits_without_cutting(width: int) -> None:
    from rich.console import Console

    from redisops.backup import DbCounts, Manifest, ObjectEntry, SourceInfo
    from redisops.cli.backup_cmd import _manifest_table

    def manifest(i: int, purpose: str, verified: bool) -> Manifest:
        at = T0 - timedelta(hours=i)
        return Manifest(
            id=f"{at:%Y%m%dT%H%M%SZ}-3f9{i}",
            created_at=at,
            completed_at=at + timedelta(seconds=40),
            source=SourceInfo("cache-eu.1"),
            kind="aof" if i % 2 else "rdb",
            objects=(ObjectEntry("dump.rdb", 1023 * 1024 * 1024 + 990_000, SHA, verified=verified),),
            tool_version="0.1.0",
            redis_version="7.0.15",
            key_counts={0: DbCounts(123_456_789)},
            purpose=purpose,
        )

    items = [manifest(0, "scheduled", True), manifest(1, "safety", False), manifest(2, "manual", True)]
    out = Console(width=width, record=True, file=io.StringIO())
    out.print(_manifest_table(items, width, "cache-eu.1"))
    text = out.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    rows = [line.split() for line in text.splitlines() if line.strip().startswith("2026")]
    assert len(rows) == 3
    for row, m in zip(rows, items, strict=True):
        assert row[0] == m.id
        assert {m.kind, "1023.9", "MiB", "123456789", "7.0.15", m.purpose} <= set(row)
        assert ("yes" if m.verified else "no") in row
        if width >= 100:
            assert m.created_at.strftime("%Y-%m-%d") in row and m.created_at.strftime("%H:%M:%S") in row
    if width < 100:
        assert "ids start with the creation time (UTC)" in text


def test_cli_list_at_80_columns_is_whole(cli: Cli, s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    store = make_store(s3_endpoint, s3_bucket)
    bid = put_backup(store, T0, "scheduled")
    r = cli("list", columns=80)
    assert r.exit_code == 0, r.output
    assert "…" not in r.stdout and bid in r.stdout and "scheduled" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


# --- item 19: Ctrl-C during `backup create` aborts the upload and says so ----------------------------------
class StallingProxy:
    """Relays one TCP service; the server→client direction holds after ``limit`` bytes until released."""

    def __init__(self, target: tuple[str, int], limit: int) -> None:
        import socket
        import threading

        self.target, self.limit, self.sent = target, limit, 0
        self.stalled, self.release = threading.Event(), threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.socks: list[Any] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.socks += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src: Any, dst: Any, count: bool) -> None:
        try:
            while data := src.recv(65536):
                if count:
                    self.sent += len(data)
                    if self.sent >= self.limit and not self.release.is_set():
                        self.stalled.set()
                        self.release.wait()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                s.close()

    def close(self) -> None:
        self.release.set()
        self.listener.close()
        for s in self.socks:
            s.close()


def test_ctrl_c_during_backup_create_aborts_the_upload(
    tmp_path: Path, redis_server: Any, s3_endpoint: S3Endpoint, s3_bucket: str
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from redisops.ops.datasets import DatasetSpec, populate

    # ~30 MB of incompressible values: the stream stalls after 12 MiB, one 8 MiB part already uploaded
    populate(redis_server.endpoint, DatasetSpec(keys_per_db=900, dbs=(0, 1), value_bytes=4096, elements=4))
    proxy = StallingProxy(("127.0.0.1", redis_server.endpoint.port), limit=12 * 1024 * 1024)
    cli = Cli(tmp_path, s3_endpoint, s3_bucket)
    redisops = str(Path(sys.executable).with_name("redisops"))
    proc = subprocess.Popen(
        [
            redisops,
            "backup",
            "create",
            "--url",
            f"redis://127.0.0.1:{proxy.port}",
            "--config",
            str(cli.config),
        ],
        env={**os.environ, **cli.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proxy.stalled.wait(120), "the backup never streamed 12 MiB"
        store = make_store(s3_endpoint, s3_bucket)
        # mid-backup: locked, upload under way (the transfer starts first and the lock is taken while
        # Redis writes, so wait for both: the first 8 MiB part opens a multipart upload)
        for _ in range(400):
            if store.lock_info() is not None and store.s3.list_multipart_uploads(""):
                break
            time.sleep(0.05)
        assert store.lock_info() is not None
        assert store.s3.list_multipart_uploads("")
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)  # let the signal land before the stream moves again (not an assertion)
        proxy.release.set()
        out, err = proc.communicate(timeout=120)
    finally:
        proxy.close()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reaps it and closes its pipes, also when an assertion above failed
    assert proc.returncode == 130, (out, err)
    assert "interrupted; nothing was stored (the partial upload was aborted)" in " ".join(err.split())
    assert "Traceback" not in err
    assert store.list() == [] and store.lock_info() is None
    assert store.s3.list_multipart_uploads("") == []
    assert store.s3.list_keys(store.layout.backups_prefix) == []


# --- item 27: say so while Redis holds the diskless transfer back ------------------------------------------
def test_backup_create_says_why_it_waits_for_the_stream(cli: Cli, redis_factory: Any) -> None:
    # as a server not configured by us: the default single-replica shortcut is off, the delay is on
    server = redis_factory(extra={"repl-diskless-sync-delay": "2", "repl-diskless-sync-max-replicas": "0"})
    r = cli("create", "--url", f"redis://127.0.0.1:{server.endpoint.port}")
    assert r.exit_code == 0, r.output
    assert "waiting for Redis to start the stream (repl-diskless-sync-delay, up to 2s)" in r.stderr
    # the operation reports it as a phase of its own, with the sentence (scripts and the JSON timings)
    store_events: list[Any] = []
    from redisops.ops.backup import BackupProgress

    store = open_store(BackupTarget(bucket=cli.bucket, endpoint_url=cli.endpoint, force_path_style=True),
                       "redis", credentials=CREDS)  # fmt: skip
    create_rdb_backup(server.endpoint, store, progress=store_events.append)
    waiting = [p for p in store_events if isinstance(p, BackupProgress) and p.phase == "waiting"]
    assert len(waiting) == 1 and "repl-diskless-sync-delay" in waiting[0].message
