"""Actions: catalogue operations run in a worker thread, their events posted to the app as messages.

One action runs at a time. Its :class:`~redisops.cancel.CancelToken` is what the Cancel button calls;
the operation stops at its next check and says what it kept. Mutating actions are planned first by the
screens (:meth:`ActionRunner.plan`), destructive ones also need the typed-name confirmation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from textual.message import Message

from redisops.cancel import CancelToken
from redisops.errors import RedisOpsError
from redisops.events import Event, EventSink, jsonable
from tui.data import DataSource

__all__ = ["ActionDone", "ActionEvent", "ActionRunner"]


class ActionEvent(Message):
    """An event of the running action (started, phase, progress, log, warning, ...)."""

    def __init__(self, action_id: int, event: Event) -> None:
        super().__init__()
        self.action_id = action_id
        self.event = event


class ActionDone(Message):
    """The action ended: ``result`` (JSON) or ``error`` (``RedisOpsError.to_dict()``)."""

    def __init__(self, action_id: int, op: str, result: Any = None, error: Mapping[str, Any] | None = None):
        super().__init__()
        self.action_id = action_id
        self.op = op
        self.result = result
        self.error = dict(error) if error is not None else None


class ActionRunner:
    """Runs one catalogue operation at a time on ``source`` in a thread worker of ``app``."""

    def __init__(self, app: Any, source: DataSource) -> None:
        self.app = app
        self.source = source
        self._ids = itertools.count(1)
        self.current: tuple[int, str] | None = None
        self.token: CancelToken | None = None

    @property
    def busy(self) -> bool:
        """An action is running."""
        return self.current is not None

    def plan(self, op: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The operation's plan (blocking: plans are quick and change nothing)."""
        return self.source.plan(op, params)

    def start(self, op: str, params: Mapping[str, Any], *, confirm: bool = False) -> int:
        """Start ``op``; returns the action's id. Raises RuntimeError when one is running."""

        def call(sink: EventSink, token: CancelToken) -> Any:
            return self.source.run(op, params, on_event=sink, cancel=token, confirm=confirm)

        return self.start_call(op, call)

    def start_call(self, name: str, call: Callable[[EventSink, CancelToken], Any]) -> int:
        """Start ``call(sink, token)`` (a runbook run: not one catalogue operation) as the action ``name``;
        its events and its end are posted as :meth:`start`'s are. Raises RuntimeError when one is running."""
        if self.current is not None:
            raise RuntimeError(f"{self.current[1]} is still running")
        op = name
        action_id = next(self._ids)
        self.current = (action_id, op)
        token = self.token = CancelToken()

        def work() -> None:
            def sink(event: Event) -> None:
                self.app.post_message(ActionEvent(action_id, event))

            try:
                result = call(sink, token)
            except RedisOpsError as e:
                self._done(ActionDone(action_id, op, error=e.to_dict()))
            except Exception as e:  # a bug: shown, not raised into the UI
                err = {"error": "InternalError", "message": f"{type(e).__name__}: {e}", "exit_code": 1}
                self._done(ActionDone(action_id, op, error=err))
            else:
                self._done(ActionDone(action_id, op, result=jsonable(result)))

        self.app.run_worker(work, thread=True, group="action", name=op, exit_on_error=False)
        return action_id

    def _done(self, msg: ActionDone) -> None:
        self.current = None
        self.token = None
        self.app.post_message(msg)

    def cancel(self, reason: str = "cancelled from the TUI") -> bool:
        """Ask the running action to stop; False when none runs."""
        if self.token is None:
            return False
        self.token.cancel(reason)
        return True
