"""The clean-up shield: SIGINT is deferred while shielded (main thread), raised once the block has finished
without an error of its own, dropped when an error goes on; the next Ctrl-C while shielded escapes; the
previous handler is back afterwards. Real signals to this process (pytest runs tests in the main thread)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from redisops.adapters.interrupt_shield import main_shield, shielded


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_a_ctrl_c_inside_waits_until_the_block_has_finished() -> None:
    previous = signal.getsignal(signal.SIGINT)
    done = []
    with pytest.raises(KeyboardInterrupt), shielded("aborting the upload") as shield:
        _ctrl_c()
        done.append("after the signal")  # still running: the signal was deferred
        assert shield.deferred == 1
    assert done == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is previous


def test_nothing_is_raised_without_a_signal_and_an_error_in_flight_goes_on_unchanged() -> None:
    with shielded():
        pass
    with pytest.raises(ValueError, match="the cause"), shielded():
        _ctrl_c()
        raise ValueError("the cause")
    with pytest.raises(ValueError, match="handled"):
        try:
            raise ValueError("handled")
        except ValueError:
            with shielded():  # the clean-up of an error: the error goes on, not a KeyboardInterrupt
                _ctrl_c()
            raise


def test_the_next_ctrl_c_while_shielded_escapes() -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt), shielded():
        _ctrl_c()
        _ctrl_c()
        reached.append("not here")
    assert reached == []


def test_engaged_from_a_cancel_and_nested_shields_release_once() -> None:
    previous = signal.getsignal(signal.SIGINT)
    shield = main_shield()
    shield.engage("the backup's clean-up")
    try:
        with shielded("aborting the upload"):  # nested: the outer engagement decides
            _ctrl_c()
        assert shield.active and shield.deferred == 1 and shield.doing == "the backup's clean-up"
    finally:
        shield.release()
    assert not shield.active and signal.getsignal(signal.SIGINT) is previous


def test_outside_the_main_thread_it_changes_nothing() -> None:
    previous = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def worker() -> None:
        with shielded() as shield:
            seen.append(shield.active)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [False] and signal.getsignal(signal.SIGINT) is previous
