"""The AWS adapter (redisops.adapters.aws) against the emulator with the real boto3 clients: the calls
of the migration, and their failures as redisops errors without the credentials in them."""

from __future__ import annotations

import json
import uuid

import pytest

from redisops.adapters.aws import (
    ELASTICACHE_CANONICAL_USER,
    AwsAdapter,
    AwsSettings,
    missing_export_grants,
)
from redisops.adapters.local import free_port
from redisops.adapters.s3_settings import AwsCredentials
from redisops.errors import ConflictError, ConnectionFailed, NotFoundError, PlatformError
from tests.integration.aws.conftest import AwsStack

KEY_ID, SECRET = "test-key-id-not-real-0001", "test-secret-not-real"


def _adapter(stack: AwsStack) -> AwsAdapter:
    creds = AwsCredentials(KEY_ID, SECRET)
    return AwsAdapter(AwsSettings(endpoint_url=stack.emulator.url, credentials=creds, max_attempts=1))


def _no_secrets(text: str) -> None:
    assert KEY_ID not in text and SECRET not in text


def test_elasticache_calls_and_errors(aws_stack: AwsStack, s3_bucket: str) -> None:
    aws = _adapter(aws_stack)
    _no_secrets(repr(aws))
    group = aws.replication_group(aws_stack.group_id)
    assert (group.host, group.port, group.shards) == ("127.0.0.1", aws_stack.source.endpoint.port, 1)
    assert group.member_clusters
    with pytest.raises(NotFoundError) as missing:
        aws.replication_group("no-such-group")
    assert missing.value.context["code"] == "ReplicationGroupNotFoundFault" and missing.value.hint
    _no_secrets(json.dumps(missing.value.to_dict()))

    pg, events = aws.keyspace_events(aws_stack.group_id)
    assert (pg, events) == (aws_stack.emulator.backend.config.sources[aws_stack.group_id].parameter_group, "")
    aws.client("elasticache").modify_cache_parameter_group(
        CacheParameterGroupName=pg,
        ParameterNameValues=[{"ParameterName": "notify-keyspace-events", "ParameterValue": "Kx"}],
    )
    assert aws.keyspace_events(aws_stack.group_id) == (pg, "Kx")

    aws_stack.source.client().set("k", "v")
    made = aws.create_snapshot(aws_stack.group_id, "adapter-snap")
    assert made.replication_group == aws_stack.group_id
    assert aws.wait_snapshot("adapter-snap", interval=0.05).status == "available"
    assert [s.name for s in aws.snapshots(aws_stack.group_id)] == ["adapter-snap"]
    assert aws.snapshot("never-made") is None
    with pytest.raises(ConflictError):
        aws.create_snapshot(aws_stack.group_id, "adapter-snap")

    with pytest.raises(PlatformError) as refused:  # no grants on the bucket
        aws.export_snapshot("adapter-snap", "adapter-export", s3_bucket)
    assert refused.value.context["code"] == "InvalidParameterValue"
    s3 = aws_stack.client("s3")
    grantee = f"id={ELASTICACHE_CANONICAL_USER}"
    s3.put_bucket_acl(Bucket=s3_bucket, GrantRead=grantee, GrantWrite=grantee, GrantReadACP=grantee)
    assert missing_export_grants(s3.get_bucket_acl(Bucket=s3_bucket), None, "us-east-1") == []
    aws.export_snapshot("adapter-snap", "adapter-export", s3_bucket)
    assert s3.head_object(Bucket=s3_bucket, Key="adapter-export-0001.rdb")["ContentLength"] > 0

    assert aws.delete_replication_group(aws_stack.group_id, "adapter-final") == "deleting"
    assert aws.snapshot("adapter-final") is not None


def test_appconfig_calls(aws_stack: AwsStack) -> None:
    aws = _adapter(aws_stack)
    ac = aws.client("appconfig")
    app = ac.create_application(Name=f"a-{uuid.uuid4().hex[:6]}")["Id"]
    profile = ac.create_configuration_profile(ApplicationId=app, Name="redis", LocationUri="hosted")["Id"]
    env = ac.create_environment(ApplicationId=app, Name="dev")["Id"]
    old = json.dumps({"redis": {"host": "master.old", "port": 6379}}).encode()
    new = json.dumps({"redis": {"host": "redis.llm-judge.svc.cluster.local", "port": 6379}}).encode()
    v1 = aws.create_hosted_version(app, profile, old)
    d1 = aws.start_deployment(app, env, profile, v1, "AppConfig.AllAtOnce")
    assert aws.wait_deployment(app, env, d1.number, interval=0.02).state == "COMPLETE"
    assert aws.read_back(app, env, profile) == old
    v2 = aws.create_hosted_version(app, profile, new)
    d2 = aws.start_deployment(app, env, profile, v2, "AppConfig.AllAtOnce")
    aws.wait_deployment(app, env, d2.number, interval=0.02)
    assert aws.read_back(app, env, profile) == new
    assert aws.deployed_versions(app, env, profile) == [str(v2), str(v1)]  # current, previous
    assert aws.hosted_version(app, profile, v1) == (old, "application/json")
    with pytest.raises(NotFoundError):
        aws.read_back(app, "prod", profile)


def test_unreachable_endpoint_and_settings_from_env() -> None:
    aws = AwsAdapter(AwsSettings(endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1,
                                 credentials=AwsCredentials(KEY_ID, SECRET), connect_timeout=1))  # fmt: skip
    with pytest.raises(ConnectionFailed) as down:
        aws.replication_group("g")
    _no_secrets(json.dumps(down.value.to_dict()))
    s = AwsSettings.from_env({"AWS_DEFAULT_REGION": "eu-west-1", "REDISOPS_AWS_ENDPOINT_URL": "http://x:1"})
    assert (s.region, s.endpoint_url, s.profile) == ("eu-west-1", "http://x:1", None)
    assert AwsSettings.from_env({}).region == "us-east-1"


def test_missing_export_grants_reads_acl_and_policy() -> None:
    def acl(*perms: str) -> dict:
        return {"Grants": [{"Grantee": {"ID": ELASTICACHE_CANONICAL_USER}, "Permission": p} for p in perms]}

    assert missing_export_grants(acl("FULL_CONTROL"), None, "us-east-1") == []
    assert missing_export_grants(acl("READ"), None, "us-east-1") == ["ACL WRITE", "ACL READ_ACP"]
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "eu-west-1.elasticache-snapshot.amazonaws.com"},
                "Action": ["s3:PutObject", "s3:GetObject"],
            }
        ]
    }
    assert missing_export_grants(acl(), json.dumps(policy), "eu-west-1") == [
        "policy s3:ListBucket",
        "policy s3:GetBucketAcl",
        "policy s3:ListMultipartUploadParts",
        "policy s3:ListBucketMultipartUploads",
    ]
    assert missing_export_grants(acl(), json.dumps(policy), "us-east-1") == [
        "ACL READ",
        "ACL WRITE",
        "ACL READ_ACP",
    ]
    policy["Statement"][0]["Action"] = "s3:*"
    assert missing_export_grants(acl(), json.dumps(policy), "eu-west-1") == []
