"""Backups in S3: the key layout, the manifest, the store, retention and Velero placement.

``layout``, ``manifest``, ``retention`` and ``velero`` are pure; ``store`` does the I/O through
:class:`redisops.adapters.s3.S3Adapter`. See docs/backup-layout.md.
"""

from redisops.backup.layout import (
    DEFAULT_ROOT,
    MANIFEST_NAME,
    VELERO_TOP_LEVEL,
    KeyInfo,
    Layout,
    Placement,
    backup_id_time,
    is_backup_id,
    new_backup_id,
    root_for_velero,
)
from redisops.backup.manifest import (
    FORMAT,
    FORMAT_VERSION,
    PURPOSES,
    BackupKind,
    BackupPurpose,
    DbCounts,
    Manifest,
    ObjectEntry,
    SourceInfo,
    redact_address,
)
from redisops.backup.retention import BackupRef, KeptBackup, RetentionPlan, RetentionRules, plan_retention
from redisops.backup.store import (
    BackupStore,
    BackupWriter,
    GcReport,
    LockInfo,
    ObjectCheck,
    StreamVerifier,
    VerifierFactory,
    VerifyReport,
)
from redisops.backup.velero import (
    DEFAULT_CREDENTIAL,
    VeleroCredentialRef,
    VeleroLocation,
    credentials_from_secret,
    location_from_bsl,
    parse_shared_credentials,
)

__all__ = [
    "DEFAULT_CREDENTIAL",
    "DEFAULT_ROOT",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "PURPOSES",
    "VELERO_TOP_LEVEL",
    "BackupKind",
    "BackupPurpose",
    "BackupRef",
    "BackupStore",
    "BackupWriter",
    "DbCounts",
    "GcReport",
    "KeptBackup",
    "KeyInfo",
    "Layout",
    "LockInfo",
    "Manifest",
    "ObjectCheck",
    "ObjectEntry",
    "Placement",
    "RetentionPlan",
    "RetentionRules",
    "SourceInfo",
    "StreamVerifier",
    "VeleroCredentialRef",
    "VeleroLocation",
    "VerifierFactory",
    "VerifyReport",
    "backup_id_time",
    "credentials_from_secret",
    "is_backup_id",
    "location_from_bsl",
    "new_backup_id",
    "parse_shared_credentials",
    "plan_retention",
    "redact_address",
    "root_for_velero",
]
