"""The copy's checkpoint file: atomic writes, refusal of another copy's or a damaged checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redisops.errors import InvalidArgument
from redisops.migrate.checkpoint import Checkpoint, load_checkpoint, save_checkpoint


def test_round_trip_and_no_temporary_file_left(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "copy.ckpt"
    cp = Checkpoint(source="es:6379", target="redis:6379")
    cp.db(0).cursor, cp.db(0).counters = 1234, {"copied": 10}
    cp.db(2).done = True
    save_checkpoint(path, cp)
    save_checkpoint(path, cp)
    assert [p.name for p in path.parent.iterdir()] == ["copy.ckpt"]
    back = load_checkpoint(path, source="es:6379", target="redis:6379")
    assert back is not None and back.dbs[0].cursor == 1234 and back.dbs[0].counters == {"copied": 10}
    assert back.dbs[2].done and not back.dbs[0].done
    assert load_checkpoint(tmp_path / "none", source="a", target="b") is None


def test_another_copys_or_a_damaged_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "copy.ckpt"
    save_checkpoint(path, Checkpoint(source="es:6379", target="redis:6379"))
    with pytest.raises(InvalidArgument, match="belongs to the copy es:6379 -> redis:6379") as e:
        load_checkpoint(path, source="other:6379", target="redis:6379")
    assert "remove it" in e.value.hint
    path.write_text("{not json")
    with pytest.raises(InvalidArgument, match="not a copy checkpoint"):
        load_checkpoint(path, source="es:6379", target="redis:6379")
    path.write_text(json.dumps({"version": 99, "source": "es:6379", "target": "redis:6379"}))
    with pytest.raises(InvalidArgument, match="not a copy checkpoint"):
        load_checkpoint(path, source="es:6379", target="redis:6379")
