"""A small AWS control-plane emulator for what moto 5.2 lacks, shaped by botocore's service models.

It is the endpoint the real boto3 clients of ``elasticache``, ``appconfig`` and ``appconfigdata`` talk
to; it serves ElastiCache snapshot export (CopySnapshot to a bucket), final snapshots, replication
group endpoints and cache parameter groups, AppConfig environments, deployment strategies and
deployments, and the AppConfigData API, and forwards every other call to a moto server. Run it with
``python -m redisops.emulators.aws --config FILE --port PORT`` (the sandbox does) or in a thread
(:class:`AwsEmulator`).
"""

from redisops.emulators.aws.backend import EmulatorConfig
from redisops.emulators.aws.elasticache import ELASTICACHE_CANONICAL_USER
from redisops.emulators.aws.server import HEALTH_PATH, AwsEmulator

__all__ = ["ELASTICACHE_CANONICAL_USER", "HEALTH_PATH", "AwsEmulator", "EmulatorConfig"]
