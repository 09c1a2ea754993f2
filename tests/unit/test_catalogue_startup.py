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
