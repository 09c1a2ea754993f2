"""The AWS emulator with the real boto3 clients: every call moto lacks works and its answer parses
(botocore validates the shapes), refusals come back as AWS's error codes, and calls the emulator does
not serve reach moto."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from redisops.emulators.aws import ELASTICACHE_CANONICAL_USER
from redisops.rdb import verify_rdb_chunks
from tests.integration.aws.conftest import AwsStack


def _code(e: pytest.ExceptionInfo[ClientError]) -> str:
    return str(e.value.response["Error"]["Code"])


def test_parameter_group_applies_notify_keyspace_events_to_the_source(aws_stack: AwsStack) -> None:
    ec = aws_stack.client("elasticache")
    pg = aws_stack.emulator.backend.config.sources[aws_stack.group_id].parameter_group
    assert pg is not None
    groups = ec.describe_cache_parameter_groups(CacheParameterGroupName=pg)["CacheParameterGroups"]
    assert groups[0]["CacheParameterGroupFamily"] == "redis7"
    ec.modify_cache_parameter_group(
        CacheParameterGroupName=pg,
        ParameterNameValues=[{"ParameterName": "notify-keyspace-events", "ParameterValue": "KEA"}],
    )
    params = {
        p["ParameterName"]: p for p in ec.describe_cache_parameters(CacheParameterGroupName=pg)["Parameters"]
    }
    assert params["notify-keyspace-events"]["ParameterValue"] == "KEA"
    assert params["notify-keyspace-events"]["Source"] == "user"
    client = aws_stack.source.client(decode=True)
    got = client.execute_command(aws_stack.secrets["CONFIG"], "GET", "notify-keyspace-events")
    assert set(got[1]) == set("AKE")  # Redis normalizes KEA to AKE
    with pytest.raises(ClientError) as bad:
        ec.modify_cache_parameter_group(
            CacheParameterGroupName=pg,
            ParameterNameValues=[{"ParameterName": "notify-keyspace-events", "ParameterValue": "KE?"}],
        )
    assert _code(bad) == "InvalidParameterValue"
    with pytest.raises(ClientError) as default:
        ec.modify_cache_parameter_group(
            CacheParameterGroupName="default.redis7",
            ParameterNameValues=[{"ParameterName": "notify-keyspace-events", "ParameterValue": "KEA"}],
        )
    assert _code(default) == "InvalidParameterValue"
    with pytest.raises(ClientError) as missing:
        ec.describe_cache_parameters(CacheParameterGroupName="no-such-group")
    assert _code(missing) == "CacheParameterGroupNotFound"
    with pytest.raises(ClientError) as dup:
        ec.create_cache_parameter_group(
            CacheParameterGroupName=pg, CacheParameterGroupFamily="redis7", Description="again"
        )
    assert _code(dup) == "CacheParameterGroupAlreadyExists"


def test_replication_group_endpoint_is_the_source(aws_stack: AwsStack) -> None:
    ec = aws_stack.client("elasticache")
    group = ec.describe_replication_groups(ReplicationGroupId=aws_stack.group_id)["ReplicationGroups"][0]
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    assert (primary["Address"], primary["Port"]) == ("127.0.0.1", aws_stack.source.endpoint.port)
    with pytest.raises(ClientError) as missing:
        ec.describe_replication_groups(ReplicationGroupId="no-such-group")
    assert _code(missing) == "ReplicationGroupNotFoundFault"  # moto's answer, passed on


def _wait_available(ec: Any, name: str) -> None:
    deadline = time.monotonic() + 30
    while ec.describe_snapshots(SnapshotName=name)["Snapshots"][0]["SnapshotStatus"] != "available":
        assert time.monotonic() < deadline, f"snapshot {name} never became available"
        time.sleep(0.05)


def test_a_new_snapshot_is_creating_until_its_time_has_passed(aws_stack: AwsStack, s3_bucket: str) -> None:
    cfg = json.loads(aws_stack.config_path.read_text())
    aws_stack.config_path.write_text(json.dumps({**cfg, "snapshot_seconds": 3600}))
    os.utime(aws_stack.config_path, (time.time() + 5, time.time() + 5))  # a new mtime: re-read
    ec = aws_stack.client("elasticache")
    made = ec.create_snapshot(ReplicationGroupId=aws_stack.group_id, SnapshotName="snap-slow")["Snapshot"]
    assert made["SnapshotStatus"] == "creating"
    assert ec.describe_snapshots(SnapshotName="snap-slow")["Snapshots"][0]["SnapshotStatus"] == "creating"
    with pytest.raises(ClientError) as early:
        ec.copy_snapshot(SourceSnapshotName="snap-slow", TargetSnapshotName="x", TargetBucket=s3_bucket)
    assert _code(early) == "InvalidSnapshotState"


def _load(stack: AwsStack, n: int = 50) -> None:
    client = stack.source.client()
    for i in range(n):
        client.set(f"k:{i}", f"v{i}")
    client.hset("h", mapping={"a": "1", "b": "2"})
    client.set("ttl", "x", ex=3600)


def _exported(stack: AwsStack, bucket: str, key: str) -> Any:
    body = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    return verify_rdb_chunks(body.iter_chunks(1 << 16))


def test_copy_snapshot_refuses_a_bucket_without_grants_then_exports(
    aws_stack: AwsStack, s3_bucket: str
) -> None:
    _load(aws_stack)
    ec, s3 = aws_stack.client("elasticache"), aws_stack.client("s3")
    snap = ec.create_snapshot(ReplicationGroupId=aws_stack.group_id, SnapshotName="snap-a")["Snapshot"]
    assert snap["ReplicationGroupId"] == aws_stack.group_id
    aws_stack.source.client().set("after-snapshot", "1")  # not in the snapshot
    _wait_available(ec, "snap-a")
    with pytest.raises(ClientError) as refused:
        ec.copy_snapshot(
            SourceSnapshotName="snap-a", TargetSnapshotName="snap-a-export", TargetBucket=s3_bucket
        )
    assert _code(refused) == "InvalidParameterValue"
    assert "READ, WRITE, READ_ACP" in refused.value.response["Error"]["Message"]
    assert "Contents" not in s3.list_objects_v2(Bucket=s3_bucket)
    grantee = f"id={ELASTICACHE_CANONICAL_USER}"
    s3.put_bucket_acl(Bucket=s3_bucket, GrantRead=grantee, GrantWrite=grantee, GrantReadACP=grantee)
    out = ec.copy_snapshot(
        SourceSnapshotName="snap-a", TargetSnapshotName="snap-a-export", TargetBucket=s3_bucket
    )
    assert out["Snapshot"]["SnapshotName"] == "snap-a-export"
    rdb = _exported(aws_stack, s3_bucket, "snap-a-export-0001.rdb")
    assert rdb.db_key_counts[0].keys == 52 and rdb.db_key_counts[0].expires == 1
    with pytest.raises(ClientError) as unknown:
        ec.copy_snapshot(SourceSnapshotName="no-such", TargetSnapshotName="x", TargetBucket=s3_bucket)
    assert _code(unknown) == "SnapshotNotFoundFault"


def test_copy_snapshot_accepts_a_bucket_policy_for_the_service_principal(
    aws_stack: AwsStack, s3_bucket: str
) -> None:
    _load(aws_stack, 5)
    ec, s3 = aws_stack.client("elasticache"), aws_stack.client("s3")
    ec.create_snapshot(ReplicationGroupId=aws_stack.group_id, SnapshotName="snap-p")
    _wait_available(ec, "snap-p")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "us-east-1.elasticache-snapshot.amazonaws.com"},
                "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl"],
                "Resource": [f"arn:aws:s3:::{s3_bucket}", f"arn:aws:s3:::{s3_bucket}/*"],
            }
        ],
    }
    s3.put_bucket_policy(Bucket=s3_bucket, Policy=json.dumps(policy))
    with pytest.raises(ClientError):  # the multipart actions are missing
        ec.copy_snapshot(SourceSnapshotName="snap-p", TargetSnapshotName="snap-p-x", TargetBucket=s3_bucket)
    policy["Statement"][0]["Action"] += ["s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads"]
    s3.put_bucket_policy(Bucket=s3_bucket, Policy=json.dumps(policy))
    ec.copy_snapshot(SourceSnapshotName="snap-p", TargetSnapshotName="snap-p-x", TargetBucket=s3_bucket)
    assert _exported(aws_stack, s3_bucket, "snap-p-x-0001.rdb").db_key_counts[0].keys == 7


def test_delete_replication_group_takes_the_final_snapshot(aws_stack: AwsStack) -> None:
    _load(aws_stack, 3)
    ec = aws_stack.client("elasticache")
    out = ec.delete_replication_group(
        ReplicationGroupId=aws_stack.group_id, FinalSnapshotIdentifier="final-1"
    )
    assert out["ReplicationGroup"]["Status"] == "deleting"
    snap = ec.describe_snapshots(SnapshotName="final-1")["Snapshots"][0]
    assert snap["ReplicationGroupId"] == aws_stack.group_id
    assert (aws_stack.emulator.backend.config.data_dir / "final-1.rdb").stat().st_size > 0


def _appconfig(stack: AwsStack, content: bytes) -> tuple[str, str, str, int]:
    ac = stack.client("appconfig")
    app = ac.create_application(Name=f"app-{uuid.uuid4().hex[:6]}")["Id"]  # moto
    profile = ac.create_configuration_profile(ApplicationId=app, Name="redis", LocationUri="hosted")["Id"]
    v = ac.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=profile, Content=content, ContentType="application/json"
    )["VersionNumber"]
    env = ac.create_environment(ApplicationId=app, Name="dev")["Id"]  # emulator
    return app, profile, env, v


def _wait_complete(ac: Any, app: str, env: str, n: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        d = ac.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=n)
        if d["State"] == "COMPLETE":
            return dict(d)
        time.sleep(0.05)
    raise AssertionError("the deployment did not complete")


def test_appconfig_deployment_and_appconfigdata_read_back(aws_stack: AwsStack) -> None:
    first = json.dumps({"redis": {"host": "master.old", "port": 6379}}).encode()
    app, profile, env, v1 = _appconfig(aws_stack, first)
    ac, data = aws_stack.client("appconfig"), aws_stack.client("appconfigdata")
    assert [e["Name"] for e in ac.list_environments(ApplicationId=app)["Items"]] == ["dev"]
    assert ac.get_environment(ApplicationId=app, EnvironmentId=env)["State"] == "ReadyForDeployment"
    strategy = ac.create_deployment_strategy(
        Name="fast",
        DeploymentDurationInMinutes=1,
        FinalBakeTimeInMinutes=1,
        GrowthFactor=100.0,
        ReplicateTo="NONE",
    )["Id"]
    assert ac.get_deployment_strategy(DeploymentStrategyId=strategy)["Name"] == "fast"
    names = {s["Name"] for s in ac.list_deployment_strategies()["Items"]}
    assert {"fast", "AppConfig.AllAtOnce"} <= names
    token = data.start_configuration_session(
        ApplicationIdentifier=app, EnvironmentIdentifier="dev", ConfigurationProfileIdentifier="redis"
    )["InitialConfigurationToken"]
    nothing = data.get_latest_configuration(ConfigurationToken=token)
    assert nothing["Configuration"].read() == b""  # nothing deployed yet
    dep = ac.start_deployment(
        ApplicationId=app,
        EnvironmentId=env,
        DeploymentStrategyId=strategy,
        ConfigurationProfileId=profile,
        ConfigurationVersion=str(v1),
    )
    assert dep["State"] == "DEPLOYING" and dep["DeploymentNumber"] == 1
    done = _wait_complete(ac, app, env, 1)
    assert done["PercentageComplete"] == 100.0 and done["CompletedAt"] >= done["StartedAt"]
    got = data.get_latest_configuration(ConfigurationToken=nothing["NextPollConfigurationToken"])
    assert json.loads(got["Configuration"].read()) == {"redis": {"host": "master.old", "port": 6379}}
    assert got["ContentType"] == "application/json"
    again = data.get_latest_configuration(ConfigurationToken=got["NextPollConfigurationToken"])
    assert again["Configuration"].read() == b""  # unchanged since this session's last read
    with pytest.raises(ClientError) as used:
        data.get_latest_configuration(ConfigurationToken=token)  # tokens are single-use
    assert _code(used) == "BadRequestException"
    second = json.dumps({"redis": {"host": "redis.llm-judge.svc.cluster.local", "port": 6379}}).encode()
    v2 = ac.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=profile, Content=second, ContentType="application/json"
    )["VersionNumber"]
    ac.start_deployment(
        ApplicationId=app,
        EnvironmentId=env,
        DeploymentStrategyId="AppConfig.AllAtOnce",
        ConfigurationProfileId=profile,
        ConfigurationVersion=str(v2),
    )
    _wait_complete(ac, app, env, 2)
    newer = data.get_latest_configuration(ConfigurationToken=again["NextPollConfigurationToken"])
    assert json.loads(newer["Configuration"].read())["redis"]["host"] == "redis.llm-judge.svc.cluster.local"
    items = ac.list_deployments(ApplicationId=app, EnvironmentId=env)["Items"]
    assert [(d["DeploymentNumber"], d["State"]) for d in items] == [(2, "COMPLETE"), (1, "COMPLETE")]


def test_appconfig_refusals(aws_stack: AwsStack) -> None:
    ac, data = aws_stack.client("appconfig"), aws_stack.client("appconfigdata")
    with pytest.raises(ClientError) as no_app:
        ac.create_environment(ApplicationId="nosuch1", Name="dev")
    assert _code(no_app) == "ResourceNotFoundException"
    app, profile, env, v1 = _appconfig(aws_stack, b"{}")
    with pytest.raises(ClientError) as no_env:
        ac.get_deployment(ApplicationId=app, EnvironmentId="nosuch2", DeploymentNumber=1)
    assert _code(no_env) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as no_dep:
        ac.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=9)
    assert _code(no_dep) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as no_session:
        data.start_configuration_session(
            ApplicationIdentifier=app, EnvironmentIdentifier="prod", ConfigurationProfileIdentifier="redis"
        )
    assert _code(no_session) == "ResourceNotFoundException"
    slow = ac.create_deployment_strategy(
        Name="a-day", DeploymentDurationInMinutes=1440, GrowthFactor=10.0, ReplicateTo="NONE"
    )["Id"]
    args = {
        "ApplicationId": app,
        "EnvironmentId": env,
        "DeploymentStrategyId": slow,
        "ConfigurationProfileId": profile,
        "ConfigurationVersion": str(v1),
    }
    dep = ac.start_deployment(**args)
    with pytest.raises(ClientError) as busy:
        ac.start_deployment(**args)
    assert _code(busy) == "ConflictException"
    stopped = ac.stop_deployment(
        ApplicationId=app, EnvironmentId=env, DeploymentNumber=dep["DeploymentNumber"]
    )
    assert stopped["State"] == "ROLLED_BACK"


def test_calls_the_emulator_does_not_serve_reach_moto(aws_stack: AwsStack) -> None:
    ec, ac = aws_stack.client("elasticache"), aws_stack.client("appconfig")
    cluster = f"cc-{uuid.uuid4().hex[:8]}"
    ec.create_cache_cluster(
        CacheClusterId=cluster, Engine="redis", CacheNodeType="cache.t4g.small", NumCacheNodes=1
    )
    got = ec.describe_cache_clusters(CacheClusterId=cluster)["CacheClusters"]
    assert [c["CacheClusterId"] for c in got] == [cluster]
    app = ac.create_application(Name="forwarded")["Id"]
    assert ac.get_application(ApplicationId=app)["Name"] == "forwarded"
    with pytest.raises(ClientError) as missing:
        ec.delete_snapshot(SnapshotName="never-made")
    assert _code(missing) == "SnapshotNotFoundFault"


def test_a_source_refusal_does_not_show_the_secret_command_names(aws_stack: AwsStack) -> None:
    cfg = json.loads(aws_stack.config_path.read_text())
    wrong = "config-not-the-right-secret-name"
    cfg["sources"][aws_stack.group_id]["commands"]["CONFIG"] = wrong
    aws_stack.config_path.write_text(json.dumps(cfg))
    os.utime(aws_stack.config_path, (time.time() + 5, time.time() + 5))  # a new mtime: re-read
    ec = aws_stack.client("elasticache")
    pg = cfg["sources"][aws_stack.group_id]["parameter_group"]
    with pytest.raises(ClientError) as failed:
        ec.modify_cache_parameter_group(
            CacheParameterGroupName=pg,
            ParameterNameValues=[{"ParameterName": "notify-keyspace-events", "ParameterValue": "KEA"}],
        )
    message = failed.value.response["Error"]["Message"]
    assert "unknown command" in message and wrong not in message and "***" in message
