"""Errors of the migration engine that have codes of their own.

:class:`VerifyDifferences` is exit code 22 (``ExitCode.DIFFERENCES``, "a comparison found
differences"): ``migrate verify`` found keys that differ between source and target and stayed different
through every re-check round::

    from redisops.errors import ExitCode, RedisOpsError
    from redisops.migrate.errors import VerifyDifferences

    e = VerifyDifferences("2 keys differ (missing 1, value 1)")
    assert isinstance(e, RedisOpsError) and e.exit_code == ExitCode.DIFFERENCES == 22
"""

from __future__ import annotations

from redisops.errors import RedisOpsError

__all__ = ["VerifyDifferences"]


class VerifyDifferences(RedisOpsError):
    """A comparison of source and target found stable differences (missing, extra or different keys)."""

    exit_code = 22
    default_hint = (
        "read the report's examples; copy again (migrate copy, with --replace for keys that differ), "
        "then verify again"
    )
