"""Take the backup store's S3 settings from a Velero BackupStorageLocation (BSL). Pure: no I/O.

:func:`location_from_bsl` reads a ``velero.io/v1`` BackupStorageLocation as the Kubernetes API returns it
(a dict, camelCase) and places the redisops root where Velero does not look (see
:mod:`redisops.backup.layout`): a sibling of the BSL prefix (default) or ``<prefix>/plugins/redisops``.
A BSL without a prefix is refused (Velero then owns the whole bucket).

:func:`parse_shared_credentials` reads the AWS shared-credentials INI that Velero keeps in Secret
``cloud-credentials`` (key ``cloud``). No value from it ever appears in a message, a repr or a log.
"""

from __future__ import annotations

import base64
import binascii
import configparser
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from redisops.adapters.s3 import AwsCredentials, S3Settings
from redisops.backup.layout import DEFAULT_ROOT, Layout, Placement, normalize_prefix, root_for_velero
from redisops.config.model import BackupTarget
from redisops.errors import ConfigError

__all__ = [
    "DEFAULT_CREDENTIAL",
    "VeleroCredentialRef",
    "VeleroLocation",
    "credentials_from_secret",
    "location_from_bsl",
    "parse_shared_credentials",
]

_CHECKSUMS = {"CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"}
_PROVIDERS = {"aws", "velero.io/aws"}


@dataclass(frozen=True)
class VeleroCredentialRef:
    """A key of a Secret in Velero's namespace that holds an AWS shared-credentials file."""

    secret_name: str
    key: str


#: what Velero uses when the BSL names no credential
DEFAULT_CREDENTIAL = VeleroCredentialRef("cloud-credentials", "cloud")


@dataclass(frozen=True)
class VeleroLocation:
    """The S3 settings of a BSL and the redisops root derived from its prefix.

    ``server_side_encryption`` mirrors Velero: ``aws:kms`` when ``kmsKeyId`` is set, else the BSL's
    ``serverSideEncryption``, else ``none`` (no header: the bucket's default encryption applies, and
    S3-compatibles without KMS keep working).
    """

    name: str
    namespace: str | None
    bucket: str
    velero_prefix: str
    root: str
    placement: Placement
    region: str
    endpoint_url: str | None = None
    force_path_style: bool = False
    server_side_encryption: Literal["AES256", "aws:kms", "none"] = "none"
    kms_key_id: str | None = None
    checksum_algorithm: str | None = None
    profile: str = "default"
    insecure_skip_tls_verify: bool = False
    credential: VeleroCredentialRef = DEFAULT_CREDENTIAL
    credentials_file: str | None = None
    ca_cert: str | None = field(default=None, repr=False)
    access_mode: str = "ReadWrite"

    @property
    def read_only(self) -> bool:
        """True when the BSL is ReadOnly (Velero will not write; redisops should not either)."""
        return self.access_mode == "ReadOnly"

    def layout(self) -> Layout:
        """The key layout (root checked against the Velero prefix)."""
        return Layout(root=self.root, velero_prefix=self.velero_prefix)

    def to_backup_target(self, **overrides: Any) -> BackupTarget:
        """The config model's ``backup`` section for this location (prefix = the redisops root)."""
        values: dict[str, Any] = {
            "bucket": self.bucket,
            "prefix": self.root,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "force_path_style": self.force_path_style,
            "server_side_encryption": self.server_side_encryption,
            "kms_key_id": self.kms_key_id,
            "velero_bsl": self.name,
        }
        values.update(overrides)
        try:
            return BackupTarget(**values)
        except ValueError as e:
            raise ConfigError(
                f"BackupStorageLocation {self.name} does not make a valid backup target: {e}",
                context={"bsl": self.name},
            ) from None

    def s3_settings(self, credentials: AwsCredentials | None = None, **overrides: Any) -> S3Settings:
        """S3 adapter settings: endpoint, path style, encryption, checksum, TLS, profile, credentials."""
        values: dict[str, Any] = {
            "bucket": self.bucket,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "force_path_style": self.force_path_style,
            "server_side_encryption": self.server_side_encryption,
            "kms_key_id": self.kms_key_id,
            "checksum_algorithm": self.checksum_algorithm,
            "verify_tls": not self.insecure_skip_tls_verify,
            "profile": None if credentials is not None else self.profile,
            "credentials": credentials,
        }
        values.update(overrides)
        return S3Settings(**values)


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def location_from_bsl(
    bsl: Mapping[str, Any], *, placement: Placement = "sibling", root_name: str = DEFAULT_ROOT
) -> VeleroLocation:
    """Read a BackupStorageLocation object (``apiVersion: velero.io/v1``) into a :class:`VeleroLocation`.

    Args:
        bsl: the object as the Kubernetes API returns it (``metadata``, ``spec.objectStorage``,
            ``spec.config``, ``spec.credential``).
        placement: ``sibling`` (default: ``<parent of prefix>/redisops``) or ``plugins``
            (``<prefix>/plugins/redisops``).
        root_name: the name of the redisops folder.

    Raises:
        ConfigError: not a BSL, not the AWS provider, no bucket, an empty prefix (Velero owns the bucket),
            SSE-C (not supported), an unknown checksum algorithm.
    """
    meta = bsl.get("metadata") or {}
    name = str(meta.get("name") or "<unnamed>")
    kind = bsl.get("kind")
    api = str(bsl.get("apiVersion") or "")
    if (kind is not None and kind != "BackupStorageLocation") or (api and not api.startswith("velero.io/")):
        raise ConfigError(
            f"{kind or 'object'} {name} is not a Velero BackupStorageLocation",
            context={"kind": kind, "apiVersion": api},
        )
    spec = bsl.get("spec") or {}
    provider = str(spec.get("provider") or "")
    if provider not in _PROVIDERS:
        raise ConfigError(
            f"BackupStorageLocation {name} uses provider {provider!r}; redisops backs up to S3 only",
            hint="use a BSL of provider 'aws' (also for MinIO and other S3-compatibles)",
            context={"bsl": name, "provider": provider},
        )
    storage = spec.get("objectStorage") or {}
    bucket = str(storage.get("bucket") or "")
    if not bucket:
        raise ConfigError(f"BackupStorageLocation {name} names no bucket", context={"bsl": name})
    velero_prefix = normalize_prefix(storage.get("prefix"))
    try:
        root = root_for_velero(velero_prefix, placement, root_name)
    except ConfigError as e:
        e.context["bsl"] = name
        e.message = f"BackupStorageLocation {name}: {e.message}"
        e.args = (e.message,)
        raise
    config = {str(k): v for k, v in (spec.get("config") or {}).items()}
    if config.get("customerKeyEncryptionFile") or config.get("customerKeyEncryptionSecret"):
        raise ConfigError(
            f"BackupStorageLocation {name} uses SSE-C (customer-provided keys); redisops does not support it",
            hint="use SSE-KMS (kmsKeyId) or SSE-S3 (serverSideEncryption: AES256) for the bucket",
            context={"bsl": name},
        )
    kms = str(config.get("kmsKeyId") or "") or None
    sse_raw = str(config.get("serverSideEncryption") or "")
    sse: Literal["AES256", "aws:kms", "none"]
    if kms:
        sse = "aws:kms"
    elif sse_raw in ("AES256", "aws:kms"):
        sse = "AES256" if sse_raw == "AES256" else "aws:kms"
    elif sse_raw:
        raise ConfigError(
            f"BackupStorageLocation {name}: unknown serverSideEncryption {sse_raw!r}",
            hint="use AES256 or aws:kms",
            context={"bsl": name},
        )
    else:
        sse = "none"
    checksum: str | None = None
    if "checksumAlgorithm" in config:
        checksum = str(config["checksumAlgorithm"] or "").upper()
        if checksum and checksum not in _CHECKSUMS:
            raise ConfigError(
                f"BackupStorageLocation {name}: unknown checksumAlgorithm {checksum!r}",
                hint=f"use one of {sorted(_CHECKSUMS)} or '' for none",
                context={"bsl": name},
            )
    cred = spec.get("credential") or {}
    credential = (
        VeleroCredentialRef(str(cred["name"]), str(cred["key"]))
        if cred.get("name") and cred.get("key")
        else DEFAULT_CREDENTIAL
    )
    return VeleroLocation(
        name=name,
        namespace=meta.get("namespace"),
        bucket=bucket,
        velero_prefix=velero_prefix,
        root=root,
        placement=placement,
        region=str(config.get("region") or "us-east-1"),
        endpoint_url=str(config["s3Url"]).rstrip("/") if config.get("s3Url") else None,
        force_path_style=_truthy(config.get("s3ForcePathStyle", False)),
        server_side_encryption=sse,
        kms_key_id=kms,
        checksum_algorithm=checksum,
        profile=str(config.get("profile") or "default"),
        insecure_skip_tls_verify=_truthy(config.get("insecureSkipTLSVerify", False)),
        credential=credential,
        credentials_file=str(config["credentialsFile"]) if config.get("credentialsFile") else None,
        ca_cert=str(storage["caCert"]) if storage.get("caCert") else None,
        access_mode=str(spec.get("accessMode") or "ReadWrite"),
    )


def parse_shared_credentials(text: str, profile: str = "default") -> AwsCredentials:
    """The credentials of ``profile`` in an AWS shared-credentials INI (``[name]`` or ``[profile name]``).

    Raises:
        ConfigError: unparsable, the profile is missing, or it lacks a key. Messages name profiles, keys
            and line numbers, never values.
    """
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00no-default\x00", strict=False)
    failure: tuple[str, int | None] | None = None
    try:
        parser.read_string(text, source="credentials")
    except configparser.Error as e:  # its message quotes the offending line: never let it out
        failure = (type(e).__name__, getattr(e, "lineno", None))
    if failure is not None:  # raised outside the except block: no __context__ holding the text
        raise ConfigError(
            "the AWS credentials file cannot be parsed"
            + (f" (line {failure[1]})" if failure[1] else "")
            + f": {failure[0]}",
            hint="an INI file with [profile] sections and aws_access_key_id / aws_secret_access_key",
        )
    sections = {s.strip(): s for s in parser.sections()}
    section = sections.get(profile) or sections.get(f"profile {profile}")
    if section is None:
        names = sorted(s.removeprefix("profile ").strip() for s in sections)
        raise ConfigError(
            f"the AWS credentials file has no profile {profile!r}",
            hint=f"profiles found: {', '.join(names) or 'none'}; set the BSL's config.profile",
            context={"profile": profile, "profiles": names},
        )
    values = {k.lower(): v.strip() for k, v in parser.items(section)}
    missing = [k for k in ("aws_access_key_id", "aws_secret_access_key") if not values.get(k)]
    if missing:
        raise ConfigError(
            f"profile {profile!r} of the AWS credentials file lacks {', '.join(missing)}",
            context={"profile": profile, "missing": missing},
        )
    return AwsCredentials(
        access_key_id=values["aws_access_key_id"],
        secret_access_key=values["aws_secret_access_key"],
        session_token=values.get("aws_session_token") or None,
    )


def credentials_from_secret(
    secret: Mapping[str, Any], ref: VeleroCredentialRef = DEFAULT_CREDENTIAL, profile: str = "default"
) -> AwsCredentials:
    """Credentials from a Secret object (``data`` base64 as the API returns it, or ``stringData``)."""
    string_data = secret.get("stringData") or {}
    data = secret.get("data") or {}
    if ref.key in string_data:
        text = str(string_data[ref.key])
    elif ref.key in data:
        try:
            text = base64.b64decode(str(data[ref.key]), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ConfigError(
                f"key {ref.key!r} of Secret {ref.secret_name} is not base64 UTF-8 text",
                context={"secret": ref.secret_name, "key": ref.key},
            ) from None
    else:
        raise ConfigError(
            f"Secret {ref.secret_name} has no key {ref.key!r}",
            hint="check the BSL's spec.credential (default: cloud-credentials / cloud)",
            context={"secret": ref.secret_name, "key": ref.key, "keys": sorted({*data, *string_data})},
        )
    return parse_shared_credentials(text, profile)
