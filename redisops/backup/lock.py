"""The backup lock's content, and who holds it: a process on a host, and in Kubernetes a pod.

One writer per source: ``<root>/locks/<source>.lock`` is a small JSON object naming the holder. A holder
on this host is known dead when its pid is gone; a holder on another host can only be judged by asking
something that knows it. In Kubernetes that is the API: the lock then records the holder's pod
(namespace, name, uid), and a liveness callback (:data:`HolderAlive`) says whether the pod still runs.

The pod is found from the environment (the CronJob's container sets these through the downward API):

* :data:`POD_NAME_ENV` (``POD_NAME``), else the hostname when :data:`IN_CLUSTER_ENV` is set;
* :data:`POD_NAMESPACE_ENV` (``POD_NAMESPACE``), else :data:`SERVICE_ACCOUNT_NAMESPACE_FILE`;
* :data:`POD_UID_ENV` (``POD_UID``, optional): tells a pod from a later one of the same name.

"On this host" is decided by the host name, and a host name does not name one process table: containers
with host networking (``docker --network host``, ``hostNetwork: true`` pods) share the host's name but
each has its own PID namespace, and a container restarted with a fixed host name starts its pids again
from 1. So the lock also records the holder's :class:`ProcessRef` (its PID namespace and the start time
of its process), and :func:`holder_process_alive` judges a pid only inside the same PID namespace and
only as the same process (a pid now used by another process, e.g. the restarted container's own
redisops, is no holder): False = provably gone, True = runs, None = cannot be seen from here (another
PID namespace): then only the pod check, the stale age or ``backup unlock`` may free the lock.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redisops._version import __version__
from redisops.errors import ParseError

__all__ = [
    "IN_CLUSTER_ENV",
    "POD_NAMESPACE_ENV",
    "POD_NAME_ENV",
    "POD_UID_ENV",
    "SERVICE_ACCOUNT_NAMESPACE_FILE",
    "HolderAlive",
    "LockInfo",
    "PodRef",
    "ProcessRef",
    "holder_process_alive",
    "this_pod",
    "this_process",
]

#: set in every Kubernetes container: this process runs in a pod
IN_CLUSTER_ENV = "KUBERNETES_SERVICE_HOST"
#: the pod's name (downward API ``metadata.name``); default: the hostname, in a cluster
POD_NAME_ENV = "POD_NAME"
#: the pod's namespace (downward API ``metadata.namespace``); default: the service account's file
POD_NAMESPACE_ENV = "POD_NAMESPACE"
#: the pod's uid (downward API ``metadata.uid``), optional
POD_UID_ENV = "POD_UID"
#: the namespace file of a mounted service account token
SERVICE_ACCOUNT_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class PodRef:
    """A pod: namespace, name and (when known) uid."""

    namespace: str
    name: str
    uid: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def this_pod(
    environ: Mapping[str, str] | None = None,
    *,
    namespace_file: Path = SERVICE_ACCOUNT_NAMESPACE_FILE,
    hostname: str | None = None,
) -> PodRef | None:
    """The pod this process runs in, or None when that cannot be told (not in Kubernetes, no namespace)."""
    env = os.environ if environ is None else environ
    name = env.get(POD_NAME_ENV, "").strip()
    if not name and env.get(IN_CLUSTER_ENV):
        name = hostname or socket.gethostname()
    if not name:
        return None
    namespace = env.get(POD_NAMESPACE_ENV, "").strip()
    if not namespace:
        try:
            namespace = namespace_file.read_text().strip()
        except OSError:
            return None
    if not namespace:
        return None
    return PodRef(namespace, name, env.get(POD_UID_ENV, "").strip() or None)


@dataclass(frozen=True)
class ProcessRef:
    """One process, told apart from a later one with the same pid: its PID namespace
    (``pid:[4026531836]``) and its start time (clock ticks after boot, ``/proc/<pid>/stat`` field 22)."""

    pid_namespace: str
    start_ticks: int


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks after boot; None when it is gone or unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(") ", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def this_process(pid: int | None = None) -> ProcessRef | None:
    """The :class:`ProcessRef` of ``pid`` (default: this process) as seen here; None without ``/proc``."""
    pid = os.getpid() if pid is None else pid
    start = process_start(pid)
    try:
        namespace = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None
    return None if start is None else ProcessRef(namespace, start)


def holder_process_alive(holder: LockInfo, here: ProcessRef | None = None) -> bool | None:
    """Whether the process holding ``holder`` (a lock taken on this host) still runs: False when it is
    provably gone (no such pid, or the pid is another process now), True when it runs, None when its PID
    namespace is not this one (``here``, default :func:`this_process`): its pids cannot be seen from here.
    A lock of an older redisops (no process recorded) is judged by its pid alone, as it always was."""
    from redisops.adapters.local import pid_alive

    if holder.process is None:
        return pid_alive(holder.pid)
    here = this_process() if here is None else here
    if here is None or here.pid_namespace != holder.process.pid_namespace:
        return None
    if not pid_alive(holder.pid):
        return False
    start = process_start(holder.pid)
    return start is None or start == holder.process.start_ticks


@dataclass(frozen=True)
class LockInfo:
    """Who holds a source's lock, and since when (``pod``: the holder's pod, when it ran in one)."""

    source: str
    backup_id: str
    host: str
    pid: int
    started_at: datetime
    tool_version: str = __version__
    etag: str = field(default="", compare=False)
    pod: PodRef | None = None
    process: ProcessRef | None = None

    def age(self, now: datetime) -> timedelta:
        """How long the lock has been held at ``now``."""
        return now - self.started_at

    def holder(self) -> str:
        """The holder in words: ``pod ns/name (pid 7)`` or ``host (pid 7)``."""
        return f"pod {self.pod} (pid {self.pid})" if self.pod else f"{self.host} (pid {self.pid})"

    def to_json(self) -> bytes:
        """The lock object's content."""
        doc: dict[str, object] = {
            "source": self.source,
            "backup_id": self.backup_id,
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "tool_version": self.tool_version,
        }
        if self.pod is not None:
            doc["pod"] = {"namespace": self.pod.namespace, "name": self.pod.name, "uid": self.pod.uid}
        if self.process is not None:
            doc["process"] = {
                "pid_namespace": self.process.pid_namespace,
                "start_ticks": self.process.start_ticks,
            }
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, etag: str = "") -> LockInfo:
        """Parse a lock object (ParseError when it is not one); unknown fields are ignored."""
        try:
            d = json.loads(data)
            started = datetime.fromisoformat(d["started_at"])
            if started.tzinfo is None:
                raise ValueError("no time zone")
            pod_doc = d.get("pod")
            pod = None
            if isinstance(pod_doc, dict) and pod_doc.get("namespace") and pod_doc.get("name"):
                uid = pod_doc.get("uid")
                pod = PodRef(str(pod_doc["namespace"]), str(pod_doc["name"]), str(uid) if uid else None)
            proc_doc = d.get("process")
            process = None
            if isinstance(proc_doc, dict) and proc_doc.get("pid_namespace"):
                process = ProcessRef(str(proc_doc["pid_namespace"]), int(proc_doc["start_ticks"]))
            return cls(
                source=str(d["source"]),
                backup_id=str(d["backup_id"]),
                host=str(d["host"]),
                pid=int(d["pid"]),
                started_at=started.astimezone(UTC),
                tool_version=str(d.get("tool_version", "")),
                etag=etag,
                pod=pod,
                process=process,
            )
        except (ValueError, KeyError, TypeError) as e:
            raise ParseError(f"the lock object is not valid ({type(e).__name__})") from None


#: asked about a lock held by a pod on another host: True = the pod runs, False = it is gone (or has
#: terminated), None = cannot be known (API unreachable, no permission)
HolderAlive = Callable[[LockInfo], "bool | None"]


def fmt_age(age: timedelta) -> str:
    """``1h05m`` / ``4m07s``."""
    secs = max(0, int(age.total_seconds()))
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
