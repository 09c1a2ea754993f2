"""One error hierarchy for all of redisops.

Every error carries facts, not presentation: a message (what went wrong), a hint (what to do about
it), a context mapping (the values involved, never secrets), an exit code and whether retrying can
help. Front ends render them: the CLI prints one line and exits with ``exit_code``; the runbook
executor decides on retries from ``retryable``; the TUI shows a notification.

Adapters translate third-party exceptions (redis-py, botocore, kubernetes) into these with
``raise ... from e`` so nothing above them ever sees a foreign exception type.

Exit codes are part of the public contract (documented in docs/errors.md). Every code has one meaning
for the whole tool, with and without ``--debug``; :class:`ExitCode` lists them all:

====  =========================  ==========================================================
code  class                      meaning
====  =========================  ==========================================================
1     RedisOpsError              an operation failed (generic)
2     InvalidArgument            an argument is malformed or out of range (as click's usage errors)
3     ConfigError                configuration invalid or unreadable
4     ConnectionFailed           could not reach a service (Redis, S3, Kubernetes API)
5     AuthError                  authentication or permission (NOAUTH, WRONGPASS, NOPERM)
6     NotFoundError              a named thing (backup, deployment, file) does not exist
7     ConflictError              something else holds the lock, or state disagrees
8     VerificationError          data did not verify (hash, trailer, key counts)
9     ParseError                 a reply or file could not be parsed
10    AbortedError               the user declined a confirmation, or one was required
11    OperationTimeout           a wait ran out of time
12    DependencyMissing          a program or package redisops needs is not installed
13    PlatformError              the Kubernetes API or local platform refused an action
14    StorageError               the backup store (S3) refused an action
15    PlanBlocked                a plan (dry run) found what the real run would refuse
130   Interrupted                stopped by Ctrl-C / SIGINT (the shell convention)
====  =========================  ==========================================================

Results that are not errors have codes of their own: checks (``health``, ``lint``) exit 20 when the
worst finding is a warning and 21 when it is critical (an error); 22 when a comparison (``migrate
verify``) found differences (``redisops.migrate.errors.VerifyDifferences``); 30-35 are the runbook
executor's (``redisops.runbooks.errors``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AbortedError",
    "AuthError",
    "ConfigError",
    "ConflictError",
    "ConnectionFailed",
    "DependencyMissing",
    "ExitCode",
    "Interrupted",
    "InvalidArgument",
    "NotFoundError",
    "OperationTimeout",
    "ParseError",
    "PlanBlocked",
    "PlatformError",
    "RedisOpsError",
    "StorageError",
    "VerificationError",
]


class ExitCode(enum.IntEnum):
    """Every exit code of the ``redisops`` CLI, one meaning each (docs/errors.md is the same table)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    CONFIG = 3
    CONNECTION = 4
    AUTH = 5
    NOT_FOUND = 6
    CONFLICT = 7
    VERIFICATION = 8
    PARSE = 9
    ABORTED = 10
    TIMEOUT = 11
    DEPENDENCY = 12
    PLATFORM = 13
    STORAGE = 14
    PLAN_BLOCKED = 15
    CHECK_WARNING = 20
    CHECK_CRITICAL = 21
    DIFFERENCES = 22
    RUNBOOK_STEP_FAILED = 30
    RUNBOOK_EXPECTATION_FAILED = 31
    RUNBOOK_PRECONDITION_FAILED = 32
    RUNBOOK_DECLINED = 33
    RUNBOOK_TIMEOUT = 34
    RUNBOOK_INTERRUPTED = 35
    INTERRUPTED = 130


class RedisOpsError(Exception):
    """Base of every error redisops raises on purpose.

    Args:
        message: what went wrong, one sentence, no secrets.
        hint: what the user can do about it.
        context: the facts involved (names, values); rendered by front ends, never secrets.
        retryable: override the class default (e.g. a timeout that is known to be permanent).
    """

    exit_code: ClassVar[int] = 1
    default_retryable: ClassVar[bool] = False
    default_hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        context: Mapping[str, Any] | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.context: dict[str, Any] = dict(context or {})
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        return self.message

    def one_line(self) -> str:
        """The message and hint as one line, the form the CLI prints."""
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (for ``--output json`` and transcripts)."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "context": {k: _jsonable(v) for k, v in self.context.items()},
            "exit_code": self.exit_code,
            "retryable": self.retryable,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class ConfigError(RedisOpsError):
    """Configuration is invalid, missing or unreadable."""

    exit_code = 3
    default_hint = "fix the configuration and run again"


class ConnectionFailed(RedisOpsError):
    """A service (Redis, S3, the Kubernetes API) could not be reached or dropped the connection."""

    exit_code = 4
    default_retryable = True
    default_hint = "check that the service is up and the address is right"


class AuthError(RedisOpsError):
    """Authentication failed or the user lacks a permission (NOAUTH, WRONGPASS, NOPERM, 403)."""

    exit_code = 5
    default_hint = "check the credentials and the ACL/role of the user"


class NotFoundError(RedisOpsError):
    """A named object (backup, deployment, file, key) does not exist."""

    exit_code = 6


class ConflictError(RedisOpsError):
    """Another actor holds a lock, or the live state disagrees with what the operation expects."""

    exit_code = 7


class VerificationError(RedisOpsError):
    """Data failed verification: hash mismatch, bad RDB trailer, key counts differ."""

    exit_code = 8


class ParseError(RedisOpsError):
    """A reply, file or document could not be parsed."""

    exit_code = 9


class AbortedError(RedisOpsError):
    """A confirmation was declined, or required and not given (non-interactive)."""

    exit_code = 10
    default_hint = "pass --yes to confirm non-interactively"


class OperationTimeout(RedisOpsError):
    """A wait (rollout, loading, upload) ran out of time."""

    exit_code = 11
    default_retryable = True


class DependencyMissing(RedisOpsError):
    """A program or Python package redisops needs is not installed."""

    exit_code = 12


class PlatformError(RedisOpsError):
    """The platform (Kubernetes API, local processes) refused or failed an action."""

    exit_code = 13


class StorageError(RedisOpsError):
    """The backup store (S3) refused or failed an action."""

    exit_code = 14


class InvalidArgument(RedisOpsError):
    """An argument is malformed or out of range (a bad backup id, an unknown kind, a negative count).

    The CLI exits 2 for it, the same code as click's own usage errors, so a script sees one code for
    "you called it wrong" whether the option parser or the operation noticed.
    """

    exit_code = 2
    default_hint = "check the command's arguments (--help lists them)"


class PlanBlocked(RedisOpsError):
    """A plan (a dry run) found something the real run would refuse; nothing was changed.

    Scripts use dry runs as a pre-flight gate: this is the one code that says "the real run would stop".
    """

    exit_code = 15
    default_hint = "resolve the blocking findings listed above, then run the plan again"


class Interrupted(RedisOpsError):
    """The operation was stopped by Ctrl-C (SIGINT); the message says what was kept or cleaned up."""

    exit_code = 130
    default_hint = ""
