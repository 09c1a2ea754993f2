"""A Kubernetes API emulator for tests: real HTTP on a loopback port, for the official client and kubectl.

See README.md beside this file for what it supports.
"""

from .emulator import (
    DEFAULT_NAMESPACES,
    ExecHandler,
    KubeEmulator,
    close_api_client,
    close_websocket,
    running_emulator,
)
from .server import ExecResult
from .store import ApiError

__all__ = [
    "DEFAULT_NAMESPACES",
    "ApiError",
    "ExecHandler",
    "ExecResult",
    "KubeEmulator",
    "close_api_client",
    "close_websocket",
    "running_emulator",
]
