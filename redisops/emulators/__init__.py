"""Emulators that ship with the sandbox: stand-ins for services the local rehearsal needs.

:mod:`redisops.emulators.aws` serves the AWS control-plane calls moto lacks (ElastiCache snapshot
export, final snapshots and parameter groups; AppConfig environments, deployments and AppConfigData)
and forwards everything else to a moto server. The package sits at the bottom of the layers: it imports
nothing from redisops but :mod:`redisops.errors`.
"""
