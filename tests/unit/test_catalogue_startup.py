"""Building the catalogue (what every command that runs an operation does first) registers operations
without loading the machinery they run: the backup store and S3, the restore engine, the inspection
operations, Kubernetes. Their run and plan functions import those when they run.

A fresh interpreter builds the catalogue and lists what it loaded (the timings are in the report of
issue 13, not asserted here).
"""

from __future__ import annotations

import json
import subprocess
import sys

#: loaded by no registration: each is a share of every command's start-up
NOT_AT_REGISTRATION = (
    "redisops.backup",  # the store (and its S3 adapter): result types are not named at registration
    "redisops.adapters.s3",
    "botocore",
    "boto3",
    "redisops.ops.backup",
    "redisops.ops.inspect",  # memory.report / keys.analyze results
    "redisops.ops.restore",
    "redisops.restore",
    "kubernetes",
    "textual",
    "rich",
)

SCRIPT = """
import json, sys
from redisops.ops.registry import catalogue
cat = catalogue()
print(json.dumps({"ops": [op.name for op in cat], "modules": sorted(sys.modules)}))
"""


def test_building_the_catalogue_loads_no_operation_machinery() -> None:
    p = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.loads(p.stdout)
    assert {"backup.create", "keys.analyze", "memory.report", "restore.data_dir"} <= set(doc["ops"])
    loaded = [
        m for m in doc["modules"] for name in NOT_AT_REGISTRATION if m == name or m.startswith(name + ".")
    ]
    assert loaded == [], f"building the catalogue imported {loaded}"


AREA_SCRIPT = """
import json, sys
from redisops.ops.registry import catalogue
op = catalogue().get(sys.argv[1])
areas = sorted(m for m in sys.modules if m.startswith("redisops.ops.entries_") and m.count(".") == 2)
print(json.dumps({"op": op.name, "modules": areas}))
"""


def test_asking_for_one_operation_imports_only_its_area() -> None:
    p = subprocess.run(
        [sys.executable, "-c", AREA_SCRIPT, "backup.create"], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.loads(p.stdout)
    assert doc["op"] == "backup.create"
    # the backup area (and its helper module), no other area
    assert [m for m in doc["modules"] if not m.startswith("redisops.ops.entries_backup")] == []


def test_each_area_registers_exactly_the_prefixes_the_registry_names() -> None:
    import importlib

    from redisops.ops.catalogue import Catalogue
    from redisops.ops.registry import AREAS

    for module, prefixes in AREAS.items():
        cat = Catalogue()
        importlib.import_module(module).register(cat)
        registered = {op.name.split(".", 1)[0] for op in cat}
        assert registered == set(prefixes), f"{module} registers {sorted(registered)}, AREAS says {prefixes}"


def test_a_name_of_no_area_loads_every_area_and_names_the_close_ones() -> None:
    import pytest

    from redisops.errors import NotFoundError
    from redisops.ops.catalogue import Catalogue
    from redisops.ops.registry import AREAS

    cat = Catalogue(areas=AREAS)
    with pytest.raises(NotFoundError) as e:
        cat.get("backup.nope")
    assert "backup.create" in (e.value.hint or "")
    assert "nope.x" not in cat
    assert len(cat) == len(list(cat)) and "migrate.copy" in cat
