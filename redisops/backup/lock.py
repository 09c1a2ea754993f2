"""The backup lock's content, and who holds it: a process on a host, and in Kubernetes a pod.

One writer per source: ``<root>/locks/<source>.lock`` is a small JSON object naming the holder. A holder
on this host is known dead when its pid is gone; a holder on another host can only be judged by asking
something that knows it. In Kubernetes that is the API: the lock then records the holder's pod
(namespace, name, uid), and a liveness callback (:data:`HolderAlive`) says whether the pod still runs.

The pod is found from the environment (the CronJob's container sets these through the downward API):

* :data:`POD_NAME_ENV` (``POD_NAME``), else the hostname when :data:`IN_CLUSTER_ENV` is set;
* :data:`POD_NAMESPACE_ENV` (``POD_NAMESPACE``), else :data:`SERVICE_ACCOUNT_NAMESPACE_FILE`;
* :data:`POD_UID_ENV` (``POD_UID``, optional): tells a pod from a later one of the same name.
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
    "this_pod",
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
            return cls(
                source=str(d["source"]),
                backup_id=str(d["backup_id"]),
                host=str(d["host"]),
                pid=int(d["pid"]),
                started_at=started.astimezone(UTC),
                tool_version=str(d.get("tool_version", "")),
                etag=etag,
                pod=pod,
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
