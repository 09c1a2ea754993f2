"""The CLI's rendering of the event stream (redisops/cli/_events.py) and its Ctrl-C handling."""

from __future__ import annotations

import io
import os
import signal

import pytest
from rich.console import Console

from redisops.cancel import CancelToken
from redisops.cli._events import TextEvents, interrupt_cancels, op_events
from redisops.cli.common import Output
from redisops.errors import Interrupted
from redisops.events import Reporter


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=120, color_system=None), buf


def test_phases_warnings_and_info_logs_are_lines_debug_logs_are_not():
    con, buf = _console()
    view = TextEvents("backup create", console=con)
    r = Reporter("backup.create", view)
    r.phase("streaming", "from 127.0.0.1:6379")
    r.warning("the lock will be broken first")
    r.log("backup b1 taken")
    r.log("a detail", level="debug")
    view.close()
    out = buf.getvalue()
    assert "backup create: streaming (from 127.0.0.1:6379)" in out
    assert "warning: the lock will be broken first" in out
    assert "backup b1 taken" in out
    assert "a detail" not in out


def test_bytes_progress_shows_mib_and_an_estimate_is_labelled():
    con, buf = _console()
    view = TextEvents("backup", console=con)
    r = Reporter("backup.create", view)
    r.phase("streaming")
    r.progress(3 * 1024 * 1024, 8 * 1024 * 1024, unit="bytes", estimate=True)
    view._bar.refresh()
    out = buf.getvalue()
    view.close()
    assert "(estimate)" in out and "~" in out
    assert "3.0/8.0 MiB" in out


def test_key_progress_is_a_count_with_its_unit():
    con, buf = _console()
    view = TextEvents("keys", console=con)
    r = Reporter("keys.analyze", view)
    r.phase("scanning")
    r.progress(250, 1000, unit="keys")
    view._bar.refresh()
    out = buf.getvalue()
    view.close()
    assert "250/1000" in out and "keys" in out
    assert "MiB" not in out


def test_the_copy_rates_ride_beside_the_bar():
    con, buf = _console()
    view = TextEvents("migrate copy", console=con)
    r = Reporter("migrate.copy", view)
    r.phase("copying")
    r.progress(5000, 20000, unit="keys", detail={"keys_per_second": 12400.4, "mb_per_second": 21.94})
    view._bar.refresh()
    out = buf.getvalue()
    view.close()
    assert "12,400 keys/s 21.9 MB/s" in out and "5000/20000" in out


def test_json_output_draws_nothing(capsys):
    with op_events(Output.json, "backup") as ev:
        r = Reporter("backup.create", ev.sink)
        r.phase("streaming")
        r.progress(1, 2)
        r.warning("careful")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_first_ctrl_c_cancels_the_token_the_second_raises_keyboard_interrupt():
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)
    with interrupt_cancels(token):
        os.kill(os.getpid(), signal.SIGINT)
        assert token.cancelled and token.reason == "interrupted"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous


def test_an_operation_that_ignored_the_cancel_is_reported_interrupted():
    with pytest.raises(Interrupted, match="interrupted"), op_events(Output.json) as ev:
        ev.cancel.cancel("interrupted")
