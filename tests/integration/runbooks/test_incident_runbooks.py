"""The incident runbooks against the conditions they are for, provoked for real where this machine can
(memory pressure under a small maxmemory, a busy EVAL loop, a data dir on a full tmpfs) and through the
Kubernetes API emulator otherwise (OOMKilled, a crash loop, PVC usage read with ``df`` through exec): each
diagnosis names the cause, the remedies run behind their confirmations, and a failed check after a remedy
is rolled back through its undo.

One sandbox for the module, its target's workdir (data dir, redis.conf, log) on a 48 MB tmpfs mounted
here (the tests run as root: root ignores permissions, so a full filesystem is the way to make writes fail).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_py

from redisops.adapters.redis_conn import connect
from redisops.events import Log, Recorder
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up
from redisops.runbooks import Executor, lint_file, read_runbook
from tests.integration.runbooks.shared import BOOKS, NS, book_env, deploy_redis, kube_env

pytestmark = pytest.mark.slow

INCIDENTS = sorted(BOOKS.glob("incident-*.md"))
TMPFS_MB = 48


@pytest.fixture(scope="module")
def module_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """The sandbox, its target's workdir on a small tmpfs (so its filesystem can be filled for real)."""
    state_dir = tmp_path_factory.mktemp("sandbox") / "state"
    workdir = state_dir / "target"
    workdir.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(workdir)], check=True)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("REDISOPS_STATE_DIR", str(state_dir))
            mp.setenv("REDISOPS_AUDIT_LOG", str(state_dir.parent / "audit.jsonl"))
            state = sandbox_up(state_dir)
            try:
                yield state
            finally:
                sandbox_down(state_dir, discard_backups=True)
    finally:
        subprocess.run(["umount", str(workdir)], check=True)


@pytest.fixture
def sb(module_sandbox: SandboxState, monkeypatch: pytest.MonkeyPatch) -> SandboxState:
    monkeypatch.setenv("REDISOPS_STATE_DIR", module_sandbox.state_dir)
    return module_sandbox


@pytest.fixture
def redis(sb: SandboxState) -> Iterator[Any]:
    """A client of the target; the target's memory settings and data are put back after the test."""
    c = connect(sb.target, decode_responses=True)
    saved = {k: c.config_get(k)[k] for k in ("maxmemory", "maxmemory-policy", "busy-reply-threshold")}
    yield c
    for k, v in saved.items():
        c.config_set(k, v)
    c.flushall()
    c.close()


def _fill(data_dir: Path, leave_bytes: int) -> Path:
    """Fill the data dir's filesystem up to ``leave_bytes`` free with a leftover of an old restore."""
    leftover = data_dir / ".redisops-undo" / "20261201T000000Z-0a0a" / "appendonlydir"
    leftover.mkdir(parents=True, exist_ok=True)
    st = os.statvfs(data_dir)
    size = st.f_bavail * st.f_frsize - leave_bytes
    filler = leftover / "appendonly.aof.1.base.rdb"
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, size)
    return filler


def _wait(pred: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _pod_status(kube: Any) -> dict[str, Any]:
    pods = kube.objects("Pod", NS, label_selector="app=redis")
    return (
        pods[0]["status"]["containerStatuses"][0]
        if pods and pods[0]["status"].get("containerStatuses")
        else {}
    )


@pytest.mark.parametrize("path", INCIDENTS, ids=lambda p: p.name)
def test_the_incident_runbooks_lint_clean(path: Path) -> None:
    assert lint_file(path) == []


def test_the_five_incident_runbooks_exist() -> None:
    assert [p.stem for p in INCIDENTS] == [
        "incident-memory-pressure",
        "incident-persistence-failing",
        "incident-pod-crashloop",
        "incident-pvc-nearly-full",
        "incident-slow-commands",
    ]


# --- memory pressure ---------------------------------------------------------------------------------


def _evict(redis: Any) -> int:
    """A small maxmemory and writes past it: Redis evicts (allkeys-lru). Returns the maxmemory set."""
    redis.flushall()
    redis.config_set("maxmemory-policy", "allkeys-lru")
    small = int(redis.info("memory")["used_memory"]) + 2 * 1024 * 1024
    redis.config_set("maxmemory", str(small))
    pipe = redis.pipeline(transaction=False)
    for i in range(600):
        pipe.set(f"cache:item:{i}", "x" * 10_000)
    pipe.execute()
    assert int(redis.info("stats")["evicted_keys"]) > 0
    return small


def test_memory_pressure_names_evictions_and_oomkilled_and_raises_the_limits(
    sb: Any, redis: Any, kube: Any
) -> None:
    small = _evict(redis)
    deploy_redis(kube)
    kube.set_failure(NS, "redis", "oomkilled")
    _wait(
        lambda: _pod_status(kube).get("lastState", {}).get("terminated", {}).get("reason") == "OOMKilled",
        "OOMKilled",
    )
    asked: list[str] = []

    def confirm(step: Any, question: str) -> bool:
        asked.append(step.name)
        if step.name == "raise-limit":
            kube.set_failure(NS, "redis", None)  # the new limit is enough: the pods run again
        return True

    events = Recorder()
    result = Executor(
        read_runbook(BOOKS / "incident-memory-pressure.md"),
        env=kube_env(kube),
        confirm=confirm,
        on_event=events,
        variables={"context": "emu", "new_memory_limit": "2Gi"},
    ).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    assert "cause=evicting: at maxmemory, Redis deletes keys (allkeys-lru)" in steps["diagnose"].stdout
    assert "cause=oomkilled" in steps["pod"].stdout and "last=OOMKilled" in steps["pod"].stdout
    assert steps["biggest"].result is not None
    # the operator sees the diagnosis as it runs (a log event with the step's output), not only in the report
    assert any(isinstance(e, Log) and "  cause=evicting" in e.message for e in events)
    assert asked == ["raise-maxmemory", "raise-limit"]  # the remedies asked first
    assert int(redis.config_get("maxmemory")["maxmemory"]) == int(small * 1.5)
    container = kube.get("Deployment", "redis", NS)["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["memory"] == "2Gi"
    assert "status=ok" in steps["check"].stdout


def test_memory_pressure_undoes_a_raise_that_does_not_help(sb: Any, redis: Any) -> None:
    small = _evict(redis)
    result = Executor(
        read_runbook(BOOKS / "incident-memory-pressure.md"),
        yes=True,
        variables={"raise_factor": "1.01"},
        offer_undo=lambda steps: True,
    ).run()
    assert (result.status, result.exit_code) == ("failed", 31)
    assert [(s.name, s.status) for s in result.steps][-4:] == [
        ("raise-maxmemory", "ok"),
        ("raise-limit", "skipped"),
        ("check", "failed"),
        ("restore-maxmemory", "undone"),
    ]
    assert next(s for s in result.steps if s.name == "pod").status == "skipped"  # no kube context given
    assert result.undone == ["restore-maxmemory"]
    assert int(redis.config_get("maxmemory")["maxmemory"]) == small  # put back


# --- slow commands -----------------------------------------------------------------------------------

BUSY_LOOP = (
    "local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] "
    "while true do local n = redis.call('TIME') if n[1] * 1e6 + n[2] - s > tonumber(ARGV[1]) * 1000 "
    "then break end end return 1"
)


def test_slow_commands_finds_the_busy_script_kills_it_and_names_eval(sb: Any, redis: Any) -> None:
    redis.config_set("busy-reply-threshold", "200")
    for _ in range(3):
        redis.eval(BUSY_LOOP, 0, 40)  # three slow EVALs of 40 ms
    outcome: list[str] = []

    def runaway() -> None:
        c = connect(sb.target, decode_responses=True)
        try:
            c.eval(BUSY_LOOP, 0, 60_000)
            outcome.append("finished")
        except redis_py.ResponseError as e:
            outcome.append(str(e))
        finally:
            c.close()

    thread = threading.Thread(target=runaway, daemon=True)
    thread.start()

    def busy() -> bool:
        try:
            redis.ping()
        except redis_py.exceptions.BusyLoadingError:
            return True
        except redis_py.ResponseError as e:
            return "BUSY" in str(e)
        return False

    _wait(busy, "the script to make Redis busy")
    asked: list[str] = []
    try:
        result = Executor(
            read_runbook(BOOKS / "incident-slow-commands.md"),
            env=book_env(),
            confirm=lambda step, q: asked.append(step.name) or True,
        ).run()
    finally:
        if thread.is_alive() and not asked:  # the runbook never got to kill it: do not block the module
            subprocess.run(["redis-cli", "-p", str(sb.target.port), "SCRIPT", "KILL"], check=False)
        thread.join(10)
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    assert "busy=yes cause=script-running" in steps["busy"].stdout
    assert asked == ["kill-script"] and steps["kill-script"].status == "ok"
    assert outcome and "killed" in outcome[0].lower()  # the runaway script's caller got the error
    assert redis.ping() is True
    assert "cause=slow-script: EVAL" in steps["diagnose"].stdout
    assert any(g["key"].upper().startswith("EVAL") for g in steps["slowlog"].result["by_shape"])
    # nothing busy any more: the kill is skipped, the diagnosis still names the slow script
    again = Executor(read_runbook(BOOKS / "incident-slow-commands.md"), env=book_env()).run()
    assert again.exit_code == 0 and again.steps[1].status == "skipped"


# --- persistence failing: a full tmpfs ---------------------------------------------------------------


def test_persistence_failing_on_a_full_disk_names_it_frees_space_and_saves_again(sb: Any, redis: Any) -> None:
    for i in range(400):
        redis.set(f"order:{i}", os.urandom(500).hex())  # incompressible: the snapshot needs ~400 KB
    filler = _fill(sb.data_dir, leave_bytes=16 * 1024)
    redis.bgsave()
    _wait(lambda: redis.info("persistence")["rdb_last_bgsave_status"] == "err", "the BGSAVE to fail")
    with pytest.raises(redis_py.ResponseError, match="MISCONF"):
        redis.set("refused", "1")
    rb = read_runbook(BOOKS / "incident-persistence-failing.md")
    # the plan runs the diagnosis for real and decides from its output which remedies would run
    planned = Executor(rb, variables={"min_free_mb": "4"}).plan()
    assert [(s.name, s.status) for s in planned.steps][4:6] == [
        ("remove-leftovers", "would-run"), ("bgsave", "would-run")
    ]  # fmt: skip
    assert filler.exists() and redis.info("persistence")["rdb_last_bgsave_status"] == "err"
    declined = Executor(rb, yes=True, variables={"min_free_mb": "4"}).run()
    assert (declined.exit_code, declined.steps[-1].name) == (33, "remove-leftovers")  # destructive: by name
    assert filler.exists()
    result = Executor(
        rb, yes=True, approve_destructive={"remove-leftovers"}, variables={"min_free_mb": "4"}
    ).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    assert "rdb_last_bgsave_status:err" in steps["status"].stdout
    assert steps["writes"].stdout.startswith("writes=refused: MISCONF")
    assert any("No space left on device" in line for line in steps["log"].result["lines"])
    assert "cause=disk-full" in steps["diagnose"].stdout and "leftovers=yes" in steps["diagnose"].stdout
    assert not filler.exists()
    assert "rdb_last_bgsave_status:ok" in steps["bgsave"].stdout
    assert redis.set("accepted", "1") is True


# --- PVC nearly full: df through exec on the emulator ------------------------------------------------


def _pod_commands(kube: Any, data_dir: Path) -> None:
    """The Redis pod's ``df``, ``du`` and ``rm`` run for real on the sandbox's data dir, as ``/data``."""

    @kube.on_exec
    def data_commands(pod: dict[str, Any], container: str, argv: list[str], stdin: bytes) -> Any:
        if argv[:1] not in (["df"], ["du"], ["rm"]):
            return None
        real = [str(data_dir) + a[len("/data") :] if a.startswith("/data") else a for a in argv]
        out = subprocess.run(real, capture_output=True, text=True, timeout=30)
        return out.stdout.replace(str(data_dir), "/data"), out.stderr, out.returncode


def test_pvc_nearly_full_measures_in_the_pod_frees_space_and_grows_the_claim(
    sb: Any, redis: Any, kube: Any
) -> None:
    deploy_redis(kube)
    kube.map_port(NS, "app=redis", 6379, ("127.0.0.1", sb.target.port))
    _pod_commands(kube, sb.data_dir)
    filler = _fill(sb.data_dir, leave_bytes=512 * 1024)
    _wait(lambda: _pod_status(kube).get("ready") is True, "the Redis pod")
    result = Executor(
        read_runbook(BOOKS / "incident-pvc-nearly-full.md"),
        yes=True,
        approve_destructive={"remove-leftovers"},
        env=kube_env(kube),
        variables={"context": "emu", "new_size": "20Gi"},
    ).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    volume = steps["claim"].result["volume"]
    assert (volume["name"], volume["phase"], volume["capacity"]) == ("redis-data", "Bound", "10Gi")
    assert "allowVolumeExpansion=" in steps["expansion"].stdout
    assert "cause=pvc-nearly-full: status=crit" in steps["usage"].stdout
    assert "/data/.redisops-undo" in steps["what"].stdout
    assert not filler.exists()
    assert "Background append only file rewriting started" in steps["rewrite-aof"].stdout
    assert (
        kube.get("PersistentVolumeClaim", "redis-data", NS)["spec"]["resources"]["requests"]["storage"]
        == "20Gi"
    )
    assert "status=ok" in steps["check"].stdout


# --- pod crash loop: the emulator's pod status and previous log --------------------------------------

CONFIG_ERROR_LOG = """
*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
Reading the configuration file, at line 12
>>> 'maxmemory-policy allkeys-lfu-typo'
argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu
"""
AOF_LOG = (
    "1:M 07 Dec 2026 03:00:00.000 # Bad file format reading the append only file appendonly.aof.1.incr.aof: "
    "make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>\n"
)


def _crash(kube: Any, mode: str, log: str) -> None:
    kube.set_failure(NS, "redis", mode)
    kube.set_logs(NS, "redis", log, previous=True)
    _wait(lambda: (_pod_status(kube).get("restartCount") or 0) >= 1, "a restart")


def _deploy_recorded(kube: Any, redis_factory: Any, tmp_path: Path) -> None:
    """Two recorded revisions, as ``redisops deploy`` writes them: v1 (allkeys-lru), then v2 (a change of
    maxmemory-policy); the Redis pods' port is a real redis-server (the rollouts verify it)."""
    from redisops.config import DeploymentConfig
    from redisops.ops.target import resolve_target

    image = "redis:7.0.15-alpine"
    server = redis_factory(DeploymentConfig(image=image))
    kube.map_port(NS, "app=redis", 6379, ("127.0.0.1", server.endpoint.port))
    for rev, policy in ((1, "allkeys-lru"), (2, "noeviction")):
        cfg = tmp_path / f"v{rev}.yaml"
        cfg.write_text(f"image: {image}\nconfig:\n  maxmemory_policy: {policy}\n")
        with resolve_target(config=cfg, kubeconfig=kube.kubeconfig_path, context="emu", env={}) as t:
            done = t.run("deploy.apply", {"timeout": 30, "no_backup": True})
            assert (done.revision, done.ok) == (rev, True)


def _policy(kube: Any) -> str:
    conf = kube.get("ConfigMap", "redis-config", NS)["data"]["redis.conf"]
    return next(line.split()[1] for line in conf.splitlines() if line.startswith("maxmemory-policy "))


def test_pod_crashloop_names_a_config_error_and_rolls_back(
    kube: Any, redis_factory: Any, tmp_path: Path
) -> None:
    _deploy_recorded(kube, redis_factory, tmp_path)
    assert _policy(kube) == "noeviction"
    _crash(kube, "crash", CONFIG_ERROR_LOG)
    asked: list[str] = []

    def confirm(step: Any, question: str) -> bool:
        asked.append(step.name)
        kube.set_failure(NS, "redis", None)  # the previous revision's redis.conf is good
        return True

    rb = read_runbook(BOOKS / "incident-pod-crashloop.md")
    result = Executor(rb, env=kube_env(kube), confirm=confirm, variables={"context": "emu"}).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    [pod] = steps["pods"].result["pods"]
    assert (pod["waiting_reason"], pod["last_terminated_reason"]) == ("CrashLoopBackOff", "Error")
    assert "BackOff" in {e["reason"] for e in steps["pods"].result["events"]}
    assert any("FATAL CONFIG FILE ERROR" in line for line in steps["previous-log"].result["lines"])
    assert (
        "cause=config-error" in steps["diagnose"].stdout
        and "2 recorded revision(s)" in steps["diagnose"].stdout
    )
    assert asked == ["rollback"] and steps["restart"].status == "skipped"
    assert steps["rollback"].result["what"] == "rollback to 1"
    assert _policy(kube) == "allkeys-lru"  # the whole revision back, its redis.conf included
    assert steps["check"].result["running"] is True


def test_pod_crashloop_restarts_after_a_cause_fixed_by_hand(kube: Any) -> None:
    deploy_redis(kube)
    _crash(kube, "crash", "1:M 07 Dec 2026 03:00:00.000 # Fatal: something nobody expected\n")
    before = {p["metadata"]["name"] for p in kube.objects("Pod", NS, label_selector="app=redis")}

    def confirm(step: Any, question: str) -> bool:
        kube.set_failure(NS, "redis", None)  # fixed by hand before saying yes
        return step.name == "restart"

    rb = read_runbook(BOOKS / "incident-pod-crashloop.md")
    result = Executor(rb, env=kube_env(kube), confirm=confirm, variables={"context": "emu"}).run()
    assert (result.status, result.exit_code) == ("ok", 0), result.error
    steps = {s.name: s for s in result.steps}
    assert "cause=unknown-crash" in steps["diagnose"].stdout
    assert steps["rollback"].status == "skipped" and steps["restart"].result["ok"] is True
    after = {p["metadata"]["name"] for p in kube.objects("Pod", NS, label_selector="app=redis")}
    assert after and not (after & before)  # new pods


@pytest.mark.parametrize(
    ("mode", "log", "cause"),
    [("oomkilled", "", "cause=oomkilled"), ("crash", AOF_LOG, "cause=aof-corrupt")],
    ids=["oomkilled", "aof-corrupt"],
)
def test_pod_crashloop_diagnosis_names_the_cause(kube: Any, mode: str, log: str, cause: str) -> None:
    deploy_redis(kube)
    _crash(kube, mode, log)
    rb = read_runbook(BOOKS / "incident-pod-crashloop.md")
    result = Executor(rb, env=kube_env(kube), variables={"context": "emu"}).run(step="diagnose")
    assert result.exit_code == 0, result.error
    assert cause in result.steps[0].stdout
    if mode == "oomkilled":
        return
    # the full run: no remedy here fits a damaged AOF (a restore does), so the pods stay not ready
    full = Executor(rb, env=kube_env(kube), variables={"context": "emu"}).run()
    assert (full.exit_code, full.steps[-1].name) == (31, "check")
    assert [s.status for s in full.steps if s.name in ("rollback", "restart")] == ["skipped", "skipped"]
