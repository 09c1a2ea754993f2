"""The one restore flow through the catalogue: the run takes the plan it was shown (not planned again),
and on Kubernetes ``restore.apply`` stages with a Job beside Redis before the scale to 0 by default.

Real redis-server processes (a private sandbox), a real moto S3 server, the Kubernetes emulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from redisops.events import Phase, Recorder
from redisops.ops.backup import create_rdb_backup
from redisops.ops.datasets import DatasetSpec, populate
from redisops.ops.sandbox import SandboxState, sandbox_down, sandbox_up
from redisops.ops.target import resolve_target

SPEC = DatasetSpec(keys_per_db=40, dbs=(0,), value_bytes=64, elements=2, ttl_fraction=0)


@pytest.fixture
def sandbox(tmp_path: Path) -> Any:
    state = sandbox_up(tmp_path / "sandbox")
    yield state
    sandbox_down(tmp_path / "sandbox", discard_backups=True)


def test_the_run_takes_the_plan_it_was_shown(redis_server: Any, sandbox: SandboxState) -> None:
    """The catalogue plans, then runs with that plan (ctx.plan.state): the run restores under the
    operation id its plan named (the undo folder's name), recorded in the audit line beside the result;
    a separate plan is a new one."""
    import json
    import os

    t = resolve_target(state_dir=sandbox.state_dir, env={})
    populate(redis_server.endpoint, SPEC, seed=31)
    first = create_rdb_backup(redis_server.endpoint, t.store())
    events = Recorder()
    res = t.run("restore.apply", backup_id="latest", confirm=True, on_event=events)
    assert res.backup_id == first.id and res.result is not None
    (line,) = [
        json.loads(x) for x in Path(os.environ["REDISOPS_AUDIT_LOG"]).read_text().splitlines() if x.strip()
    ]
    planned = line["plan"]["details"]["operation_id"]
    assert line["outcome"] == "ok" and line["result"]["operation_id"] == planned == res.operation_id
    assert res.result.engine.undo_dir.name.endswith(planned)
    assert [e.name for e in events.of(Phase)][:1] == ["downloading"]
    again = t.plan("restore.apply", backup_id="latest", force=True)
    assert again.details["operation_id"] != planned
