"""One rule for "does a loaded server hold the backup's keys?", used by every check that loads a backup.

The restore (local and Kubernetes), the restore drill and ``backup verify --deep`` all compare the
per-db key counts a server reports after loading a backup (``INFO keyspace``: keys, and keys with a TTL)
with the counts recorded with the backup (the RDB scan: keys, expires). Raw equality is wrong: a key
with a TTL that has passed since the backup is not loaded (Redis drops expired keys while loading a
snapshot), so a good backup would fail once any of its TTLs expired. The rule, per db:

* keys without a TTL (``keys - expires``) must be equal: they cannot disappear;
* ``keys`` may be lower than recorded, never higher: the difference is keys with a TTL that expired.

Pure: counts in, problems out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["KeyCounts", "compare_key_counts", "counts_of"]

KeyCounts = Mapping[int, tuple[int, int]]
"""db -> (keys, keys with a TTL)."""


class _CountsLike(Protocol):
    @property
    def keys(self) -> int: ...

    @property
    def expires(self) -> int: ...


def counts_of(counts: Mapping[int, _CountsLike]) -> dict[int, tuple[int, int]]:
    """db -> (keys, expires) of recorded counts (a manifest's ``DbCounts``, ``INFO keyspace`` entries);
    empty dbs are left out (INFO does not list them)."""
    return {db: (c.keys, c.expires) for db, c in counts.items() if c.keys}


def compare_key_counts(want: KeyCounts, live: KeyCounts) -> tuple[list[str], int]:
    """(problems, keys expired meanwhile) of a loaded server's per-db ``(keys, expires)`` (``live``)
    against the backup's (``want``), by the rule in the module docstring. No problems: the server holds
    the backup's dataset, less keys whose TTL passed since the backup."""
    problems: list[str] = []
    expired = 0
    for db in sorted(set(want) | set(live)):
        w_keys, w_exp = want.get(db, (0, 0))
        l_keys, l_exp = live.get(db, (0, 0))
        if l_keys - l_exp != w_keys - w_exp or l_keys > w_keys:
            problems.append(
                f"db{db}: {l_keys} keys ({l_exp} with TTL) loaded, "
                f"the backup holds {w_keys} ({w_exp} with TTL)"
            )
        else:
            expired += w_keys - l_keys
    return problems, expired
