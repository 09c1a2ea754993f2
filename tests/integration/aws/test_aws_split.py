"""``redisops.adapters.aws`` split by service (clients and credentials / ElastiCache / AppConfig) keeps
its public names, and both the AWS adapter and the S3 adapter give their boto clients explicit
credentials through the one ``AwsCredentials.client_kwargs()``: what goes on the wire (seen by a real
HTTP server that records each request's signature) names the access key and carries the session token,
and no error message names either. The one polling loop of the waits (snapshot, deployment) times out,
stops on cancel and reports a rolled-back deployment."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

import redisops.adapters.aws as aws_module
from redisops.adapters.aws_appconfig import AppConfigCalls
from redisops.adapters.aws_clients import AwsClients
from redisops.adapters.aws_elasticache import ElastiCacheCalls
from redisops.adapters.s3 import S3Adapter, S3Settings
from redisops.adapters.s3_settings import AwsCredentials
from redisops.cancel import CancelToken
from redisops.errors import Interrupted, OperationTimeout, PlatformError, RedisOpsError
from tests.integration.aws.conftest import AwsStack

PUBLIC = {
    "ELASTICACHE_CANONICAL_USER", "EXPORT_ACL", "EXPORT_POLICY_ACTIONS", "AwsAdapter", "AwsSettings",
    "Deployment", "ReplicationGroup", "SnapshotInfo", "missing_export_grants",
}  # fmt: skip
CREDS = AwsCredentials("test-key-id-not-real-0002", "test-secret-not-real-2", "test-token-not-real-2")


def test_the_aws_module_keeps_its_public_names() -> None:
    assert set(aws_module.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(aws_module, name) is not None
    adapter = aws_module.AwsAdapter
    assert issubclass(adapter, ElastiCacheCalls) and issubclass(adapter, AppConfigCalls)
    assert issubclass(adapter, AwsClients)
    for method in ("replication_group", "snapshot", "export_snapshot", "keyspace_events", "deployments",
                   "start_deployment", "wait_deployment", "read_back", "client", "_call"):  # fmt: skip
        assert callable(getattr(adapter, method)), method
    assert repr(adapter(aws_module.AwsSettings(region="eu-west-1"))).startswith(
        "AwsAdapter(region='eu-west-1'"
    )


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def _answer(self) -> None:
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b'{"__type": "AccessDeniedException", "message": "recorded"}'
        self.send_response(403)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: ClassVar[list[dict[str, str]]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _signed_with_creds(headers: dict[str, str]) -> bool:
    return (
        f"Credential={CREDS.access_key_id}/" in headers.get("authorization", "")
        and headers.get("x-amz-security-token") == CREDS.session_token
    )


def test_both_adapters_sign_with_the_explicit_credentials(recorder: tuple[str, list[dict[str, str]]]) -> None:
    url, seen = recorder
    aws = aws_module.AwsAdapter(aws_module.AwsSettings(endpoint_url=url, credentials=CREDS, max_attempts=1))
    with pytest.raises(RedisOpsError) as denied:
        aws.replication_group("some-group")
    assert seen and all(_signed_with_creds(h) for h in seen), seen
    text = json.dumps(denied.value.to_dict()) + str(denied.value)
    assert all(secret not in text for secret in CREDS.secrets())

    seen.clear()
    s3 = S3Adapter(
        S3Settings(bucket="b", endpoint_url=url, force_path_style=True, credentials=CREDS, max_attempts=1)
    )
    with pytest.raises(RedisOpsError) as refused:
        s3.get_bytes("some/key")
    assert seen and all(_signed_with_creds(h) for h in seen), seen
    text = json.dumps(refused.value.to_dict()) + str(refused.value)
    assert all(secret not in text for secret in CREDS.secrets())
    assert CREDS.client_kwargs() == {
        "aws_access_key_id": CREDS.access_key_id,
        "aws_secret_access_key": CREDS.secret_access_key,
        "aws_session_token": CREDS.session_token,
    }
    assert all(secret not in repr(CREDS) for secret in CREDS.secrets())


def test_waiting_for_a_deployment_times_out_is_cancelled_or_sees_the_rollback(aws_stack: AwsStack) -> None:
    aws = aws_module.AwsAdapter(
        aws_module.AwsSettings(endpoint_url=aws_stack.emulator.url, credentials=CREDS, max_attempts=1)
    )
    ac = aws.client("appconfig")
    app = ac.create_application(Name=f"a-{uuid.uuid4().hex[:6]}")["Id"]
    profile = ac.create_configuration_profile(ApplicationId=app, Name="redis", LocationUri="hosted")["Id"]
    env = ac.create_environment(ApplicationId=app, Name="dev")["Id"]
    slow = ac.create_deployment_strategy(
        Name="a-day", DeploymentDurationInMinutes=1440, GrowthFactor=10.0, ReplicateTo="NONE"
    )["Id"]
    version = aws.create_hosted_version(app, profile, b'{"redis": {"host": "h", "port": 6379}}')
    started = aws.start_deployment(app, env, profile, version, slow)
    assert aws.deployment(app, env, started.number).state == "DEPLOYING"
    with pytest.raises(OperationTimeout, match=r"is still DEPLOYING after 0s"):
        aws.wait_deployment(app, env, started.number, timeout=0.0, interval=0.01)
    token = CancelToken()
    token.cancel("stopped by the test")
    with pytest.raises(Interrupted, match="stopped by the test"):
        aws.wait_deployment(app, env, started.number, timeout=60.0, interval=0.01, cancel=token)
    ac.stop_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=started.number)
    with pytest.raises(PlatformError, match="was rolled back"):
        aws.wait_deployment(app, env, started.number, timeout=60.0, interval=0.01)
    assert [d.number for d in aws.deployments(app, env)] == [started.number]
