"""Fixtures of the migration tests: the ElastiCache-like source and the target (tests/harness)."""

from tests.harness.redis_sources import source_factory, target_factory  # noqa: F401
