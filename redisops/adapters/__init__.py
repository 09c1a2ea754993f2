"""Adapters: the only code that talks to Redis, Kubernetes, S3/AWS, or starts processes."""
