"""``sandbox status`` and ``sandbox down``: the live state, and stopping what the sandbox started.

``down`` exports the backup store first (:mod:`redisops.ops.sandbox_store`; nothing is stopped when that
fails, unless told to discard), then stops the processes recorded in the state and those named by pid
files (what an interrupted ``up`` left). Re-exported by :mod:`redisops.ops.sandbox`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redisops.adapters.local import PID_FILE, pid_alive, read_pid_file, stop_pids
from redisops.errors import ConflictError, Interrupted, RedisOpsError, StorageError
from redisops.ops.sandbox_state import (
    EMULATOR,
    STATE_FILE,
    Progress,
    SandboxState,
    default_state_dir,
    fmt_time,
    is_ours,
    live_state,
    orphans,
)
from redisops.ops.sandbox_store import StoreSnapshot, export_bucket, read_export, sandbox_s3

__all__ = ["SandboxDownReport"]  # its functions are public through redisops.ops.sandbox


def sandbox_status(state_dir: Path | None = None) -> SandboxState | None:
    """The state with each service's live status (running / stopped / port-taken).

    None when the sandbox is not running. ConflictError when no state is recorded but processes the
    sandbox started still run (their pid files say so): ``sandbox down`` stops them.
    """
    d = state_dir or default_state_dir()
    state = live_state(d)
    found = orphans(d, state)
    if found:
        listed = ", ".join(f"{name} (pid {pid})" for name, pid in found.items())
        if state is None:
            raise ConflictError(
                f"no sandbox is recorded in {d}, but processes it started still run: {listed}",
                hint="stop them with: redisops sandbox down (or start over with: redisops sandbox up)",
                context={"state_dir": str(d), "orphans": found},
            )
        state.notes.append(
            f"processes not recorded in the state still run: {listed} (sandbox down stops them)"
        )
    return state


@dataclass
class SandboxDownReport:
    """What ``sandbox down`` did: the services it stopped and the export of the backup store."""

    stopped: list[str] = field(default_factory=list)
    export: StoreSnapshot | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``sandbox down --output json`` prints)."""
        return {
            "stopped": list(self.stopped),
            "export": self.export.to_dict() if self.export else None,
            "notes": list(self.notes),
        }


def sandbox_down(
    state_dir: Path | None = None, *, progress: Progress | None = None, discard_backups: bool = False
) -> SandboxDownReport:
    """Export the backup store, stop the processes the sandbox started and remove the state file.

    The processes are those recorded in the state and those named by pid files in the state dir
    (what an interrupted ``up`` left). The S3 bucket is exported into the state dir first (``up``
    imports it again); when that fails nothing is stopped and StorageError says so, unless
    ``discard_backups``. The target's data dir is kept (it is the PVC stand-in).
    """
    say = progress or (lambda _msg: None)
    d = state_dir or default_state_dir()
    state = live_state(d)
    left = orphans(d, state)
    report = SandboxDownReport()
    if state is None and not left:
        say("sandbox is not running (no state file)")
        return report
    if state is not None:
        s3 = state.services.get("s3")
        if s3 is not None and s3.status == "running" and not discard_backups:
            report.export = _export(state, d)
            e = report.export
            say(f"s3: exported {e.backups} backups ({e.objects} objects, {e.bytes} bytes) to {e.path}")
        elif s3 is not None and s3.status == "running":
            last = read_export(d)
            when = f"the export of {fmt_time(last.exported_at)}" if last else "an empty store"
            report.notes.append(f"s3: not exported (discarded); sandbox up starts from {when}")
        elif s3 is not None:
            report.notes.append("s3: was not running: its backups since the last export are lost")
    targets = [(svc.name, svc.pid) for svc in state.services.values()] if state is not None else []
    targets += list(left.items())
    alive = {pid for name, pid in targets if pid_alive(pid) and is_ours(pid, name)}
    stop_pids(sorted(alive), timeout=10)  # side by side: each exits while the others do
    for name, pid in targets:
        if pid in alive:
            if name == EMULATOR:
                report.notes.append(f"{name}: the AWS emulator stopped (pid {pid})")
            else:
                report.stopped.append(name)
            say(f"{name}: stopped (pid {pid})")
        else:
            say(f"{name}: was not running")
        if read_pid_file(d / name) == pid:
            (d / name / PID_FILE).unlink(missing_ok=True)
    for note in report.notes:
        say(note)
    (d / STATE_FILE).unlink(missing_ok=True)
    return report


def _export(state: SandboxState, d: Path) -> StoreSnapshot:
    hint = (
        "nothing was stopped; run `redisops sandbox down` again, or stop anyway and lose the "
        "backups taken since the last export with `redisops sandbox down --discard-backups`"
    )
    try:
        return export_bucket(sandbox_s3(state.s3_url, state.bucket), d)
    except RedisOpsError as e:
        why = e.message
    except OSError as e:
        why = f"cannot write into {d}: {e.strerror or e}"
    except KeyboardInterrupt:
        raise Interrupted(
            "sandbox down interrupted while exporting the backup store; nothing was stopped and the "
            "previous export is kept"
        ) from None
    raise StorageError(
        f"could not export the sandbox's backup store before stopping it: {why}",
        hint=hint,
        context={"state_dir": str(d)},
    )
