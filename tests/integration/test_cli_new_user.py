"""What a new user met on the command line (the P7 pass): the installed ``redisops`` command, at 80 columns.

* ``lint`` at 80 columns keeps rule ids whole and indents its detail paragraphs (#3);
* ``--help`` names a bounded number option's value (``SECONDS``, ``N``), not typer's ``<float range>`` (#4);
* usage errors honour ``-o json``: the error object on stdout, exit 2 (#5);
* ``sandbox up`` / ``status`` say what the backup store was once, and ``status`` with a service down
  exits 21 with one line naming it and the repair (#6, #9);
* the cluster commands on a machine without a kubeconfig say that they need a cluster (#26).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redisops.adapters.local import port_in_use
from redisops.cli.common import range_metavar, wants_json
from redisops.migrate.plan_rules import mb

ROOT = Path(__file__).resolve().parents[2]
REDISOPS = str(Path(sys.executable).with_name("redisops"))
HCL = ROOT / "tests" / "fixtures" / "config" / "configuration.hcl"


def run(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``redisops ARGS`` at 80 columns, with no sandbox and no kubeconfig unless ``env`` gives them."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "REDISOPS_CONFIG")}
    base |= {"COLUMNS": "80", "HOME": str(home), "REDISOPS_STATE_DIR": str(tmp_path / "no-sandbox")}
    return subprocess.run(
        [REDISOPS, *args], capture_output=True, text=True, env=base | env, timeout=120, cwd=tmp_path
    )


# --- #3 lint at 80 columns ------------------------------------------------------------------------------


def test_lint_at_80_columns_keeps_rule_ids_whole_and_indents_the_details(tmp_path):
    proc = run("lint", "-c", str(HCL), tmp_path=tmp_path)
    assert proc.returncode == 21, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    table = [line for line in lines if line.startswith("│")]
    rule_cells = [line.split("│")[3].strip() for line in table]
    for rule in (
        "image-tag-unreleased",
        "request-below-maxmemory",
        "eviction-drops-data",
        "clients-not-admitted",
    ):
        assert rule in rule_cells, rule_cells
    assert all(cell == "" or re.fullmatch(r"[a-z0-9-]+", cell) for cell in rule_cells)
    # below the table: "N. rule (field)" headers, every other line under them indented by 3
    details = lines[lines.index(next(line for line in lines if line.startswith("└"))) + 1 : -1]
    assert details[0].startswith("1. image-tag-unreleased")
    for line in details:
        assert re.match(r"\d+\. [a-z0-9-]+ \(", line) or line.startswith("   "), line
    assert sum(line.startswith("   fix: ") for line in details) == 7


# --- #4 help metavars -----------------------------------------------------------------------------------


def test_range_metavar_names_the_value():
    assert range_metavar("repeat every SECONDS (> 0) until Ctrl-C", float) == "SECONDS"
    assert range_metavar("connect and command timeout in seconds (> 0)", float) == "SECONDS"
    assert range_metavar("keep orphans younger than this many hours", float) == "HOURS"
    assert range_metavar("stop after N rounds", int) == "N"
    assert range_metavar("cap on commands per second (0 = none)", int) == "N"
    assert range_metavar("MEMORY USAGE (MB) of a big key", float) == "NUMBER"
    assert range_metavar(None, float) == "NUMBER"
    assert range_metavar("cap on commands per second (0 = none)", float) == "NUMBER"
    assert range_metavar("age limit of the verify report", float, ["--verify-max-age-hours"]) == "HOURS"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["health"], ["-w, --watch SECONDS", "--count N", "--timeout SECONDS"]),
        (["keys"], ["--top N", "--max-ops NUMBER"]),
        (["migrate", "verify"], ["--rounds N", "--round-delay SECONDS"]),
    ],
)
def test_help_names_bounded_values_instead_of_the_range_type(tmp_path, command, expected):
    proc = run(*command, "--help", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert " range>" not in proc.stdout
    for shown in expected:
        assert shown in proc.stdout, proc.stdout


# --- #5 usage errors honour -o json ---------------------------------------------------------------------


def test_wants_json_reads_every_spelling_before_a_double_dash():
    for args in (
        ["-o", "json"],
        ["-o", "JSON"],
        ["-ojson"],
        ["-o=json"],
        ["--output", "json"],
        ["--output=json"],
    ):
        assert wants_json(["health", *args, "--bogus"]), args
    for args in ([], ["-o", "text"], ["--output"], ["--", "-o", "json"], ["--out", "json"]):
        assert not wants_json(["health", *args]), args


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["health", "-o", "json", "--bogus"], "No such option: --bogus"),
        (["keys", "--top", "-3", "-o", "json"], "Invalid value for '--top'"),
        (["backup", "list", "--output=json", "--bogus"], "No such option: --bogus"),
    ],
)
def test_usage_errors_are_a_json_object_on_stdout_with_o_json(tmp_path, args, message):
    proc = run(*args, tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == ""
    err = json.loads(proc.stdout)
    assert err["error"] == "InvalidArgument" and err["exit_code"] == 2
    assert message in err["message"]
    assert "--help" in err["hint"]


def test_usage_errors_stay_text_on_stderr_without_o_json(tmp_path):
    proc = run("health", "--bogus", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "No such option: --bogus" in proc.stderr and "Usage: redisops health" in proc.stderr


# --- #17 migrate plan in MiB ----------------------------------------------------------------------------


def test_migrate_plan_sizes_are_mib():
    assert mb(256 << 20) == "256.0 MiB"  # maxmemory 256mb
    assert mb(943_718) == "0.9 MiB"


# --- #26 cluster commands without a kubeconfig ----------------------------------------------------------


@pytest.mark.parametrize("command", [["history"], ["deploy", "--dry-run"], ["verify-clients"]])
def test_cluster_commands_without_a_kubeconfig_say_they_need_a_cluster(tmp_path, command):
    proc = run(*command, tmp_path=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "error: the kubeconfig file" in proc.stderr and "does not exist" in proc.stderr
    hint = proc.stderr[proc.stderr.index("hint:") :]
    assert "need a Kubernetes cluster (--kubeconfig/--context" in hint
    assert "the local sandbox has none" in hint
    assert "Traceback" not in proc.stderr


def test_cluster_command_hint_also_in_json(tmp_path):
    proc = run("history", "-o", "json", tmp_path=tmp_path)
    assert proc.returncode == 3
    err = json.loads(proc.stdout)
    assert err["error"] == "ConfigError" and "the local sandbox has none" in err["hint"]


# --- #6 / #9 sandbox up and status ----------------------------------------------------------------------


@pytest.mark.slow
def test_sandbox_store_line_and_a_stopped_service(tmp_path):
    state = {"REDISOPS_STATE_DIR": str(tmp_path / "sandbox")}
    try:
        up = run("sandbox", "up", tmp_path=tmp_path, **state)
        assert up.returncode == 0, up.stderr
        flat = " ".join(up.stdout.split())
        assert "backup store: new and empty (there was no export of a `sandbox down` to restore)" in flat
        assert "backup store: the backup store" not in flat
        status = run("sandbox", "status", tmp_path=tmp_path, **state)
        assert status.returncode == 0 and status.stderr == ""
        # status says when it knew: what `up` found, not what the store holds now
        assert "backup store at the last `sandbox up`: new and empty" in " ".join(status.stdout.split())

        target = json.loads(run("sandbox", "status", "-o", "json", tmp_path=tmp_path, **state).stdout)
        target = target["services"]["target"]
        os.kill(target["pid"], signal.SIGKILL)
        for _ in range(100):
            if not port_in_use(target["port"]):
                break
            time.sleep(0.05)
        broken = run("sandbox", "status", tmp_path=tmp_path, **state)
        assert broken.returncode == 21
        assert broken.stderr.splitlines() == [
            "error: sandbox service not running: target (stopped)",
            "hint: repair with: redisops sandbox up (it restarts only what is down; data and backups are "
            "kept)",
        ]
        as_json = run("sandbox", "status", "-o", "json", tmp_path=tmp_path, **state)
        assert as_json.returncode == 21 and as_json.stderr == ""
        assert json.loads(as_json.stdout)["services"]["target"]["status"] == "stopped"
        assert run("sandbox", "up", tmp_path=tmp_path, **state).returncode == 0
        assert run("sandbox", "status", tmp_path=tmp_path, **state).returncode == 0
    finally:
        run("sandbox", "down", "--discard-backups", tmp_path=tmp_path, **state)
