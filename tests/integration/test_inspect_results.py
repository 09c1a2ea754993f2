"""Inspection results: ``KeyAnalysis.to_dict()`` (the ``keys.analyze`` result as JSON like every other
result — every field, nested key, type and prefix stats as plain values, and the estimates' ``scale`` and
``total_memory``, which ``-o json`` and the finished event carry without a front end adding them by
hand); the memory and latency reports degrade part by part, each refusal with its reason."""

from __future__ import annotations

import json
from typing import Any

from redisops.adapters.redis_conn import RedisEndpoint
from redisops.events import Finished, Recorder, jsonable
from redisops.ops.inspect import KeyAnalysis, fetch_latency, fetch_memory
from redisops.ops.target import resolve_target


def test_key_analysis_to_dict_is_json_with_its_estimates(redis_server: Any, tmp_path: Any) -> None:
    c = redis_server.client()
    for i in range(40):
        c.set(f"user:{i}", "x" * (i + 1))
    c.rpush("queue:1", *range(50))
    c.close()
    target = resolve_target(url=f"redis://127.0.0.1:{redis_server.endpoint.port}", state_dir=tmp_path, env={})
    events = Recorder()
    result = target.run("keys.analyze", {"sample": 0.5, "max_ops": 0, "top": 2}, on_event=events)
    assert isinstance(result, KeyAnalysis) and 0 < result.examined < result.scanned

    d = result.to_dict()
    assert json.loads(json.dumps(d)) == d  # plain JSON values all the way down
    assert d["scale"] == 2.0 and d["total_memory"] == result.total_memory > 0
    assert d["examined"] == result.examined and d["done"] is True and d["sample"] == 0.5
    assert d["types"]["string"] == {
        "keys": result.types["string"].keys,
        "memory_bytes": result.types["string"].memory_bytes,
        "length": result.types["string"].length,
    }
    assert [s["key"] for s in d["top"]["string"]] == [s.key for s in result.top["string"]]
    assert d["prefixes"][0] == {
        "prefix": result.prefixes[0].prefix,
        "keys": result.prefixes[0].keys,
        "memory_bytes": result.prefixes[0].memory_bytes,
    }
    # the library's one JSON rule uses it: the finished event's result has the estimates too
    assert jsonable(result) == d
    finished = events.of(Finished)[0].to_dict()
    assert finished["result"]["scale"] == 2.0 and finished["result"]["total_memory"] == d["total_memory"]


def test_memory_and_latency_reports_name_each_refused_part(redis_server: Any) -> None:
    c = redis_server.client()
    c.execute_command("ACL", "SETUSER", "viewer", "on", ">viewer-pw", "~*", "+@all", "-memory", "-latency")
    c.close()
    ep = RedisEndpoint(port=redis_server.endpoint.port, username="viewer", password="viewer-pw")
    mem = fetch_memory(ep)
    assert mem.info is not None and mem.info.used_memory  # INFO is allowed
    assert mem.stats is None and mem.doctor is None and set(mem.reasons) == {"stats", "doctor"}
    assert mem.reasons["stats"].startswith("MEMORY STATS refused: no permission (ACL)")
    assert mem.reasons["doctor"].startswith("MEMORY DOCTOR refused: no permission (ACL)")
    lat = fetch_latency(ep)
    assert lat.events == [] and lat.doctor is None and set(lat.reasons) == {"latest", "doctor"}
    assert lat.reasons["latest"].startswith("LATENCY LATEST refused")
    full = fetch_memory(redis_server.endpoint)
    assert full.stats is not None and full.doctor and full.reasons == {}
