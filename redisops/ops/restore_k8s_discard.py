"""The clean-up Job of a cancelled Kubernetes restore: it removes the one staging folder the staging Job
wrote into the Redis PVC, while Redis keeps serving.

A restore that stages beside the running Redis (``restore-data-dir --stage-only --operation-id OP``)
leaves ``/data/.redisops-staging-OP/`` in the PVC until the install Job moves it into place. When the
restore is cancelled after the staging Job and before the scale to 0, :func:`discard_staging` runs a Job
on the same node (a ReadWriteOnce PVC can only be mounted there beside Redis) that runs
``rm -rf -- /data/.redisops-staging-OP`` and nothing else, waits for it (bounded) and says what it did.
A second Ctrl-C while it runs waits for it (:mod:`redisops.adapters.interrupt_shield`). It never raises:
a failure is returned as :class:`DiscardOutcome` with the folder and the command that
removes it by hand, for the caller's error.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redisops.adapters.interrupt_shield import main_shield
from redisops.errors import RedisOpsError
from redisops.restore.plan import STAGING_PREFIX

if TYPE_CHECKING:
    from redisops.ops.platform import KubePlatform

__all__ = [
    "DISCARD_TIMEOUT",
    "DiscardOutcome",
    "add_discard_note",
    "discard_staging",
    "render_discard_job",
    "staging_folder",
]

#: seconds the clean-up Job may take (it removes one folder): the cancelled restore does not hang on it
DISCARD_TIMEOUT = 120.0
_DATA = "/data"


def staging_folder(operation_id: str) -> str:
    """The staging folder of restore ``operation_id`` as the Jobs mount the PVC (``/data/...``)."""
    if not operation_id or not operation_id.replace("-", "").isalnum():
        raise ValueError(f"not an operation id: {operation_id!r}")
    return f"{_DATA}/{STAGING_PREFIX}{operation_id}"


def render_discard_job(stage_job: dict[str, Any], undo_job: dict[str, Any], folder: str) -> dict[str, Any]:
    """The clean-up Job: the undo Job's pod (the PVC at /data, Redis's user, no store credentials) on the
    staging Job's node, named after the staging Job (``...-discard``), running ``rm -rf -- <folder>``."""
    job = copy.deepcopy(undo_job)
    stage_name = str(stage_job["metadata"]["name"])
    base = stage_name[: -len("-stage")] if stage_name.endswith("-stage") else stage_name
    name = f"{base[: 63 - len('-discard')].rstrip('-')}-discard"
    job["metadata"]["name"] = name
    job["metadata"]["annotations"] = {"redisops.io/operation": "discard-staged"}
    spec = job["spec"]["template"]["spec"]
    node = stage_job["spec"]["template"]["spec"].get("nodeName")
    if node:
        spec["nodeName"] = node
    spec["activeDeadlineSeconds"] = int(DISCARD_TIMEOUT)
    container = spec["containers"][0]
    container["name"] = "restore-discard"
    container["command"] = ["rm", "-rf", "--", folder]
    container.pop("env", None)
    container.pop("envFrom", None)
    return job


@dataclass(frozen=True)
class DiscardOutcome:
    """What the clean-up did: ``removed`` the folder, or ``error`` (why not) and ``manual`` (the command
    that removes it by hand)."""

    folder: str
    job: str
    removed: bool
    error: str = ""
    manual: str = ""

    def note(self) -> str:
        """One clause for the cancelled restore's message."""
        if self.removed:
            return f"the staging folder {self.folder} was removed from the PVC (Job {self.job})"
        return (
            f"removing the staging folder {self.folder} from the PVC failed ({self.error}); remove it with: "
            f"{self.manual}"
        )


def discard_staging(
    platform: KubePlatform, stage_job: dict[str, Any], undo_job: dict[str, Any], operation_id: str
) -> DiscardOutcome:
    """Run the clean-up Job for the staging folder of ``operation_id`` and wait for it (at most
    :data:`DISCARD_TIMEOUT`); never raises (a second Ctrl-C while it runs stops the wait, not the Job)."""
    from redisops.ops.restore_k8s_dance import create_job, job_log, log_tail, wait_job

    t = platform.target
    folder = staging_folder(operation_id)
    job = render_discard_job(stage_job, undo_job, folder)
    name = str(job["metadata"]["name"])
    manual = f"kubectl -n {t.namespace} exec deploy/{t.deployment} -- rm -rf -- {folder}"
    platform.say(f"removing the staging folder {folder} with Job {name} (Redis keeps serving)")
    shield = main_shield()  # a second Ctrl-C waits for the clean-up; a third leaves it
    shield.engage(f"removing the staging folder {folder} from the PVC")
    try:
        create_job(platform.kube, job, platform.say)
        state, _ = wait_job(
            platform.kube, t.namespace, name, min(DISCARD_TIMEOUT, platform.timeout), platform.clock,
            platform.sleep,
        )  # fmt: skip
    except RedisOpsError as e:
        return DiscardOutcome(folder, name, False, e.message, manual)
    except KeyboardInterrupt:
        return DiscardOutcome(folder, name, False, "interrupted while waiting for the clean-up Job", manual)
    finally:
        shield.release()
    if state != "Complete":
        try:
            tail = log_tail(job_log(platform.kube, t.namespace, name), 3) or "no log"
        except RedisOpsError:
            tail = "no log"
        return DiscardOutcome(folder, name, False, f"Job {name} failed: {tail}", manual)
    platform.say(f"Job {name} completed: removed {folder}")
    return DiscardOutcome(folder, name, True)


def add_discard_note(error: RedisOpsError, outcome: DiscardOutcome | None) -> None:
    """Say in ``error`` (once) what the clean-up did; a failed one adds the folder and the command to the
    hint and the context."""
    if outcome is None or outcome.note() in error.message:
        return
    error.message += "; " + outcome.note()
    error.args = (error.message,)
    error.context["staging_folder"] = outcome.folder
    error.context["staging_removed"] = outcome.removed
    if not outcome.removed:
        error.context["remove_command"] = outcome.manual
        extra = f"remove the leftover staging folder: {outcome.manual}"
        error.hint = f"{error.hint}; {extra}" if error.hint else extra
