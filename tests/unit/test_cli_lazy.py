"""A command line naming a command loads only the CLI module of that command (start-up is part of every
command and of every runbook step that runs one), and that slim app behaves as the full one for it."""

from __future__ import annotations

import json
import subprocess
import sys

import typer.main

from redisops.cli.main import COMMANDS, build_app


def _names(app: typer.Typer) -> set[str]:
    group = typer.main.get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


OWN = {"version", "completion"}


def test_every_command_of_the_full_app_is_in_the_table_and_nothing_else() -> None:
    assert _names(build_app()) - OWN == set(COMMANDS)


def test_each_area_adds_the_commands_the_table_gives_it() -> None:
    for area in set(COMMANDS.values()):
        added = _names(build_app([area])) - OWN
        assert {n for n, a in COMMANDS.items() if a == area} <= added, area
        assert all(COMMANDS[n] == area or area == "backup" for n in added), (area, added)


def test_backup_drill_is_added_once_however_often_an_app_is_built() -> None:
    build_app(["backup"])
    build_app()
    group = typer.main.get_command(build_app(["backup"]))
    backup = group.commands["backup"]  # type: ignore[attr-defined]
    assert "drill" in backup.commands
    from redisops.cli import backup_cmd

    assert [c.name for c in backup_cmd.app.registered_commands].count("drill") == 1


SCRIPT = """
import json, sys
sys.argv = ["redisops", "backup", "create", "--help"]
from redisops.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("redisops.cli."))), file=sys.stderr)
"""


def test_backup_create_imports_no_other_command_module() -> None:
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert "--kind" in p.stdout, p.stdout + p.stderr
    loaded = json.loads(p.stderr.strip().splitlines()[-1])
    cmd_modules = {m for m in loaded if m.endswith("_cmd")}
    assert cmd_modules == {"redisops.cli.backup_cmd", "redisops.cli.restore_cmd"}, cmd_modules
