"""Immutable snapshots: what a probe saw at one moment, as plain JSON (recorded and replayed as is).

A :class:`Snapshot` is one probe's answer (``health``, ``info``, ``slowlog``, ``backups``, ``keys``) or
its failure (``error`` and ``hint``, never a secret: they are the library's error messages). A recording
is a JSON Lines file with one snapshot per line, in the order they arrived::

    snap = Snapshot(probe="info", at=1796617773.5, data={"info": {...}})
    line = snap.to_json()
    assert Snapshot.from_json(line) == snap
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from redisops.errors import InvalidArgument

__all__ = ["RECORDING_FORMAT", "RecordingWriter", "Snapshot", "read_recording"]

#: the first line of a recording names its format (so a wrong file is refused with a clear message)
RECORDING_FORMAT = "redisops-tui-recording"


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One probe's answer at ``at`` (epoch seconds): ``data`` (read-only JSON) or ``error`` + ``hint``.

    ``disconnected`` marks a failure to reach the server (as opposed to a probe that failed on its own,
    e.g. a backup store that is not configured).
    """

    probe: str
    at: float
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    error: str | None = None
    hint: str | None = None
    disconnected: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _freeze(self.data))

    @property
    def ok(self) -> bool:
        """The probe answered."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        out: dict[str, Any] = {"probe": self.probe, "at": self.at, "data": _thaw(self.data)}
        if self.error is not None:
            out |= {"error": self.error, "hint": self.hint, "disconnected": self.disconnected}
        return out

    def to_json(self) -> str:
        """One line of a recording."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Snapshot:
        """The snapshot of :meth:`to_dict`."""
        return cls(
            probe=str(d["probe"]),
            at=float(d["at"]),
            data=d.get("data") or {},
            error=d.get("error"),
            hint=d.get("hint"),
            disconnected=bool(d.get("disconnected", False)),
        )

    @classmethod
    def from_json(cls, line: str) -> Snapshot:
        """The snapshot of one recording line."""
        return cls.from_dict(json.loads(line))


class RecordingWriter:
    """Appends snapshots to a JSON Lines file (thread-safe; flushed per line so a crash keeps them).

    Raises:
        InvalidArgument: the file cannot be created (exit 2 before the UI starts).
    """

    def __init__(self, path: Path, *, target: str) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("w", encoding="utf-8")
        except OSError as e:  # before the UI starts: one error line, exit 2, not "unexpected error"
            raise InvalidArgument(
                f"cannot write the recording {path}: {e.strerror or e}",
                hint="give --record a file in a directory you can write to",
                context={"path": str(path)},
            ) from e
        self._lock = threading.Lock()
        header = {"format": RECORDING_FORMAT, "version": 1, "target": target}
        self._fh.write(json.dumps(header, sort_keys=True) + "\n")
        self._fh.flush()
        self.count = 0

    def write(self, snap: Snapshot) -> None:
        """Append one snapshot."""
        with self._lock:
            if self._fh.closed:
                return
            self._fh.write(snap.to_json() + "\n")
            self._fh.flush()
            self.count += 1

    def close(self) -> None:
        """Close the file; idempotent."""
        with self._lock:
            self._fh.close()


def read_recording(path: Path) -> tuple[dict[str, Any], list[Snapshot]]:
    """The header and the snapshots of a recording.

    Raises:
        ValueError: the file is not a recording (the message says which line is wrong).
    """
    header: dict[str, Any] = {}
    snaps: list[Snapshot] = []
    for n, line in enumerate(_lines(path), start=1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {n} is not JSON ({e.msg})") from None
        if n == 1:
            if not isinstance(obj, dict) or obj.get("format") != RECORDING_FORMAT:
                raise ValueError(f"{path} is not a redisops tui recording (its first line names no format)")
            header = obj
            continue
        try:
            snaps.append(Snapshot.from_dict(obj))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: line {n} is not a snapshot") from None
    if not header:
        raise ValueError(f"{path} is empty: not a redisops tui recording")
    return header, snaps


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line
