"""Fixtures of the migration tests: the ElastiCache-like source and the target (tests/harness)."""

from tests.harness.redis_cluster import cluster_factory  # noqa: F401
from tests.harness.redis_sources import source_factory, target_factory  # noqa: F401
