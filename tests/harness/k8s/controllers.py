"""Tiny stand-ins for the controllers and the kubelet, running on the emulator's event loop.

They react to store changes: Deployments get ReplicaSets and Pods, StatefulSets get ordinal Pods (and PVCs
from their claim templates), Jobs get a Pod that completes, Services get Endpoints and EndpointSlices,
PVCs get Bound, and a fake kubelet moves Pods to Running/Ready after ``ready_delay`` seconds — or into a
failure mode set by the test.

The controllers are split by what they drive (``controller_base.py``: scheduling, fan-out, helpers;
``controller_workloads.py``; ``controller_jobs.py``; ``controller_services.py``; ``controller_kubelet.py``:
pods and failure injection); every name stays importable from here.
"""

from __future__ import annotations

from .controller_base import (
    DEPLOY,
    EP,
    EPS,
    EV,
    FAILURE_MODES,
    HOST_IP,
    JOB,
    NODE_NAME,
    POD,
    PV,
    PVC,
    RS,
    STS,
    SVC,
    ControllerBase,
    ControllerState,
    Failure,
    Timing,
    is_ready,
    template_hash,
)
from .controller_jobs import JobController
from .controller_kubelet import Kubelet
from .controller_services import ServiceControllers
from .controller_workloads import WorkloadControllers

__all__ = [
    "DEPLOY",
    "EP",
    "EPS",
    "EV",
    "FAILURE_MODES",
    "HOST_IP",
    "JOB",
    "NODE_NAME",
    "POD",
    "PV",
    "PVC",
    "RS",
    "STS",
    "SVC",
    "ControllerBase",
    "ControllerState",
    "Controllers",
    "Failure",
    "Timing",
    "is_ready",
    "template_hash",
]


class Controllers(WorkloadControllers, JobController, ServiceControllers, Kubelet):
    """All controllers; every method runs on the emulator loop."""
