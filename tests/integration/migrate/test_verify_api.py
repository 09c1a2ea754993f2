"""The Python API of the migration (``MigrateAPI`` over the catalogue): plan, copy with the engine, then
verify reports 0 differences; the events carry no source password."""

from __future__ import annotations

import json
from typing import Any

from redisops.events import Recorder, jsonable
from redisops.ops.api_migrate import MigrateAPI
from redisops.ops.target import resolve_target
from tests.harness.redis_sources import fill_dataset

SECRET = "api-src-secret"


def test_plan_copy_verify_through_the_api(source_factory: Any, target_factory: Any) -> None:
    source, target = source_factory(password=SECRET), target_factory()
    filled = fill_dataset(source.endpoint, keys_per_db=80, big_key_elements=1500)
    src_url = f"redis://:{SECRET}@127.0.0.1:{source.endpoint.port}"
    events = Recorder()
    with resolve_target(url=f"redis://127.0.0.1:{target.endpoint.port}", env={}) as t:
        api = MigrateAPI(t)
        plan = api.plan(source_url=src_url, sample=20, on_event=events)
        assert not plan.blockers and plan.total_keys == filled.total
        api.copy(source_url=src_url, on_event=events)
        report = api.verify(source_url=src_url, round_delay=0.0, on_event=events)
    assert report.ok, report.summary()
    assert report.compared == filled.total and all(c.match for c in report.counts)
    assert SECRET not in json.dumps([jsonable(e.to_dict()) for e in events])
