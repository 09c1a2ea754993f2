"""The CLI's one plan renderer (redisops/cli/_oprun.py): lines wrapped on words at the width, hanging
under their text; the usual plan lines (title, steps, notes, blockers). Pure: a rich Console on a buffer."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from redisops.cli._oprun import Line, plan_lines, print_lines, wrap_line
from redisops.ops.catalogue import Plan

STEP = (
    "1. while the sandbox target 127.0.0.1:43679 (pid 31328) keeps serving: download, verify and fsync "
    "into .redisops-staging-2c8eace1"
)
COLUMN = (
    "  stage           .redisops-staging-2c8eace1/appendonlydir/appendonly.aof.1.base.rdb  "
    "(172 bytes, verify sha256 + RDB)"
)
NOTE = (
    "  warning: appendonly yes: the RDB is installed as the AOF base; no dump.rdb is placed (Redis would "
    "ignore it and overwrite it at its next save)"
)


def _words(lines: list[str]) -> list[str]:
    return "".join(line.strip() + " " for line in lines).split()


def test_a_line_that_fits_is_returned_whole_with_its_spaces() -> None:
    line = "    move_aside      appendonlydir -> .redisops-undo/x/appendonlydir"
    assert wrap_line(line, 80) == [line]
    assert wrap_line(line, len(line)) == [line]


@pytest.mark.parametrize("width", [40, 60, 80, 100])
@pytest.mark.parametrize("text", [STEP, COLUMN, NOTE])
def test_no_wrapped_line_is_wider_than_the_width_and_no_word_is_lost(text: str, width: int) -> None:
    out = wrap_line("  " + text, width)
    assert all(len(line) <= width for line in out), out
    assert len(out) > 1 or len(text) + 2 <= width
    # every word is there, in order (a word cut in two is joined again)
    assert "".join(_words(out)) == "".join(text.split())


def test_continuation_lines_hang_under_the_text_of_their_line() -> None:
    step = wrap_line("  " + STEP, 80)
    assert step[0].startswith("  1. while") and all(line.startswith("     ") for line in step[1:])
    assert not step[1][5].isspace()  # under "while", not further in
    note = wrap_line(NOTE, 80)
    assert note[1].startswith(" " * len("  warning: ")) and not note[1][len("  warning: ")].isspace()
    plain = wrap_line("backup " + "x" * 30 + " " + "y" * 60, 60)
    assert plain[1].startswith("  y")


def test_a_path_too_long_for_a_line_is_cut_after_a_slash_beside_its_column() -> None:
    out = wrap_line(COLUMN, 80)
    assert out[0] == "  stage           .redisops-staging-2c8eace1/appendonlydir/"
    assert out[1].startswith(" " * 18 + "appendonly.aof.1.base.rdb  (172 bytes")
    word = wrap_line("x " + "z" * 150, 40)
    # 38 z beside the x, then 38 a line under it (two columns in): 38 + 38 + 38 + 36 = 150
    assert [len(line) for line in word] == [40, 40, 40, 38]
    assert word[0] == "x " + "z" * 38 and all(line == "  " + "z" * (len(line) - 2) for line in word[1:])


def test_print_lines_wraps_at_the_console_width_with_each_lines_style() -> None:
    buf = io.StringIO()
    con = Console(file=buf, width=80, color_system=None, force_terminal=False)
    print_lines([Line(NOTE, "yellow"), "[not markup] " + "w " * 50], con, style="dim")
    out = buf.getvalue().splitlines()
    assert len(out) == 4 and all(len(line) <= 80 for line in out)
    assert out[2].startswith("[not markup] w w")


def test_plan_lines_title_steps_notes_and_blockers() -> None:
    plan = Plan("backup.delete", steps=("delete manifest", "delete 2 objects"), blockers=("newest",),
                warnings=("slow",))  # fmt: skip
    assert plan_lines(plan) == [
        Line("plan (backup.delete):"),
        Line("  delete manifest"),
        Line("  delete 2 objects"),
        Line("  note: slow", "yellow"),
        Line("  BLOCKED: newest", "bold red"),
    ]
    assert plan_lines(plan, "plan (here):")[0] == Line("plan (here):")
    body = plan_lines(plan, body=[Line("+ Namespace/x (create)", "green")])
    assert [str(x[0]) for x in body] == ["+ Namespace/x (create)", "  note: slow", "  BLOCKED: newest"]
