"""The migration engine: one throttled, resumable SCAN walker, the online copy (DUMP/RESTORE with big
keys in chunks, checkpoints), the follow loop of the dual-write window and the verify that compares
source and target. Below :mod:`redisops.ops`; it never prints, it reports through a Reporter."""
