"""Reading a Velero BackupStorageLocation and the AWS shared-credentials file (pure)."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from redisops.backup.velero import (
    DEFAULT_CREDENTIAL,
    VeleroCredentialRef,
    credentials_from_secret,
    location_from_bsl,
    parse_shared_credentials,
)
from redisops.errors import ConfigError

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS_KEY = "TESTONLYACCESSKEY001"
TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN"
CREDS = f"""
[default]
aws_access_key_id = {ACCESS_KEY}
aws_secret_access_key = {SECRET_KEY}

[profile backup]
aws_access_key_id={ACCESS_KEY}
aws_secret_access_key={SECRET_KEY}
aws_session_token={TOKEN}
"""


def bsl(prefix: str | None = "velero", config: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    storage: dict[str, Any] = {"bucket": "velero-backups"}
    if prefix is not None:
        storage["prefix"] = prefix
    return {
        "apiVersion": "velero.io/v1",
        "kind": "BackupStorageLocation",
        "metadata": {"name": "default", "namespace": "velero"},
        "spec": {
            "provider": "aws",
            "objectStorage": storage,
            "config": config if config is not None else {"region": "eu-west-1"},
            **spec,
        },
    }


def test_minimal_bsl_gives_a_sibling_root() -> None:
    loc = location_from_bsl(bsl())
    assert (loc.bucket, loc.velero_prefix, loc.root, loc.region) == (
        "velero-backups",
        "velero",
        "redisops",
        "eu-west-1",
    )
    assert loc.server_side_encryption == "none" and loc.kms_key_id is None
    assert loc.credential == DEFAULT_CREDENTIAL and loc.profile == "default"
    assert loc.endpoint_url is None and not loc.force_path_style and not loc.read_only
    target = loc.to_backup_target()
    assert (
        target.prefix == "redisops" and target.velero_bsl == "default" and target.bucket == "velero-backups"
    )
    assert loc.layout().lock_key("redis") == "redisops/locks/redis.lock"


def test_plugins_placement() -> None:
    loc = location_from_bsl(bsl(prefix="/clusters/prod/"), placement="plugins")
    assert loc.root == "clusters/prod/plugins/redisops"
    assert location_from_bsl(bsl(prefix="clusters/prod")).root == "clusters/redisops"


def test_full_aws_plugin_config() -> None:
    config = {
        "region": "minio",
        "s3Url": "http://minio.velero.svc:9000/",
        "s3ForcePathStyle": "true",
        "kmsKeyId": "alias/velero",
        "serverSideEncryption": "AES256",  # KMS wins (Velero's precedence)
        "checksumAlgorithm": "",
        "profile": "backup",
        "insecureSkipTLSVerify": "True",
        "credentialsFile": "/credentials/cloud",
        "publicUrl": "https://minio.example.com",
    }
    loc = location_from_bsl(
        bsl(config=config, credential={"name": "minio-creds", "key": "aws"}, accessMode="ReadOnly")
    )
    assert loc.endpoint_url == "http://minio.velero.svc:9000"
    assert loc.force_path_style and loc.insecure_skip_tls_verify and loc.read_only
    assert (loc.server_side_encryption, loc.kms_key_id) == ("aws:kms", "alias/velero")
    assert loc.checksum_algorithm == "" and loc.profile == "backup"
    assert loc.credential == VeleroCredentialRef("minio-creds", "aws")
    assert loc.credentials_file == "/credentials/cloud"
    s = loc.s3_settings()
    assert s.endpoint_url == "http://minio.velero.svc:9000" and s.force_path_style and not s.verify_tls
    assert s.server_side_encryption == "aws:kms" and s.kms_key_id == "alias/velero" and s.profile == "backup"
    creds = parse_shared_credentials(CREDS, "backup")
    s2 = loc.s3_settings(creds)
    assert s2.credentials == creds and s2.profile is None
    t = loc.to_backup_target()
    assert t.server_side_encryption == "aws:kms" and t.endpoint_url == "http://minio.velero.svc:9000"


def test_sse_and_checksum_values() -> None:
    assert (
        location_from_bsl(bsl(config={"serverSideEncryption": "AES256"})).server_side_encryption == "AES256"
    )
    assert location_from_bsl(bsl(config={"checksumAlgorithm": "crc32c"})).checksum_algorithm == "CRC32C"
    assert location_from_bsl(bsl(config={})).checksum_algorithm is None
    assert location_from_bsl(bsl(config={})).region == "us-east-1"
    with pytest.raises(ConfigError, match="serverSideEncryption"):
        location_from_bsl(bsl(config={"serverSideEncryption": "rot13"}))
    with pytest.raises(ConfigError, match="checksumAlgorithm"):
        location_from_bsl(bsl(config={"checksumAlgorithm": "MD5"}))
    with pytest.raises(ConfigError, match="SSE-C"):
        location_from_bsl(bsl(config={"customerKeyEncryptionFile": "/keys/k"}))


@pytest.mark.parametrize("prefix", [None, "", "/"])
def test_empty_prefix_is_refused(prefix: str | None) -> None:
    with pytest.raises(ConfigError, match="owns the whole bucket") as e:
        location_from_bsl(bsl(prefix=prefix))
    assert e.value.context["bsl"] == "default"
    assert "prefix" in e.value.hint


def test_not_a_bsl_or_not_aws() -> None:
    with pytest.raises(ConfigError, match="not a Velero"):
        location_from_bsl({**bsl(), "kind": "Backup"})
    with pytest.raises(ConfigError, match="provider"):
        location_from_bsl(bsl(provider="gcp"))
    doc = bsl()
    doc["spec"]["objectStorage"] = {"prefix": "velero"}
    with pytest.raises(ConfigError, match="no bucket"):
        location_from_bsl(doc)
    with pytest.raises(ConfigError):
        location_from_bsl(bsl(prefix="redisops"))  # the sibling would be Velero's own prefix


def test_shared_credentials() -> None:
    c = parse_shared_credentials(CREDS)
    assert (c.access_key_id, c.secret_access_key, c.session_token) == (ACCESS_KEY, SECRET_KEY, None)
    c2 = parse_shared_credentials(CREDS, "backup")
    assert c2.session_token == TOKEN
    for text in (repr(c2), str(c2)):
        assert ACCESS_KEY not in text and SECRET_KEY not in text and TOKEN not in text


@pytest.mark.parametrize(
    ("text", "profile", "match"),
    [
        (CREDS, "missing", "no profile 'missing'"),
        (
            f"aws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n",
            "default",
            "cannot be parsed",
        ),
        (f"[default]\naws_secret_access_key = {SECRET_KEY}\n", "default", "lacks aws_access_key_id"),
        (
            f"[default]\naws_access_key_id = {ACCESS_KEY}\n garbage {SECRET_KEY}\n[x\n",
            "default",
            "cannot be parsed",
        ),
    ],
)
def test_credential_errors_never_show_values(
    text: str, profile: str, match: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError, match=match) as e:
        parse_shared_credentials(text, profile)
    err = e.value
    rendered = f"{err.one_line()} {err.to_dict()} {err.__cause__!r} {err.__context__!r} {caplog.text}"
    assert ACCESS_KEY not in rendered and SECRET_KEY not in rendered
    assert err.__cause__ is None and err.__context__ is None


def test_credentials_from_secret() -> None:
    secret = {"data": {"cloud": base64.b64encode(CREDS.encode()).decode()}}
    assert credentials_from_secret(secret).access_key_id == ACCESS_KEY
    assert (
        credentials_from_secret(
            {"stringData": {"aws": CREDS}}, VeleroCredentialRef("s", "aws"), "backup"
        ).session_token
        == TOKEN
    )
    with pytest.raises(ConfigError, match="no key 'cloud'"):
        credentials_from_secret({"data": {"other": "eA=="}})
    with pytest.raises(ConfigError, match="base64"):
        credentials_from_secret({"data": {"cloud": "!!!"}})
