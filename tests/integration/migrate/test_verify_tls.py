"""A source with in-transit encryption and an ACL user, as ElastiCache sources often are: rediss:// with
a private CA (--source-tls-ca), an ACL user (--source-user) and its password from a file; verify and
plan reach it, a wrong CA is refused, and no password shows anywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redisops.adapters.local import free_port, start_redis
from redisops.adapters.local_tls import make_tls_files
from redisops.adapters.redis_conn import RedisEndpoint, connect
from redisops.cli.main import app

PASSWORD = "tls-acl-secret"


@pytest.fixture
def tls_source(tmp_path: Path) -> Iterator[tuple[RedisEndpoint, Path]]:
    tls = make_tls_files(tmp_path / "tls")
    port = free_port()
    work = tmp_path / "tls-source"
    conf = (
        f'bind 127.0.0.1\nport 0\ntls-port {port}\ndir {work}\nsave ""\nappendonly no\n'
        f"tls-cert-file {tls.cert}\ntls-key-file {tls.key}\ntls-ca-cert-file {tls.ca_cert}\n"
        f"tls-auth-clients no\nuser default off\nuser migrator on >{PASSWORD} ~* &* +@all\n"
    )
    proc = start_redis(conf, work, port=port, name="tls-source", tls_ca=tls.ca_cert)
    try:
        yield (
            RedisEndpoint(port=port, tls=True, tls_ca_file=str(tls.ca_cert), username="migrator"),
            tls.ca_cert,
        )
    finally:
        proc.stop(timeout=5)


def test_verify_and_plan_over_tls_with_an_acl_user(
    tls_source: Any, target_factory: Any, tmp_path: Path
) -> None:
    ep, ca = tls_source
    target = target_factory()
    src = connect(
        RedisEndpoint(port=ep.port, tls=True, tls_ca_file=str(ca), username="migrator", password=PASSWORD)
    )
    dst = target.client(0)
    try:
        for c in (src, dst):
            c.set("s", "v")
            c.hset("h", mapping={"a": "1"})
            c.rpush("l", *[str(i) for i in range(1500)])  # a big key: windows read over TLS
    finally:
        src.close()
        dst.close()
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    args = [
        "--source-url", f"rediss://127.0.0.1:{ep.port}", "--source-user", "migrator",
        "--source-password-file", str(pw), "--source-tls-ca", str(ca),
        "--url", f"redis://127.0.0.1:{target.endpoint.port}",
    ]  # fmt: skip
    runner = CliRunner()
    out = runner.invoke(app, ["migrate", "verify", *args, "--rounds", "1", "-o", "json"])
    assert out.exit_code == 0, (out.stdout, out.stderr)
    assert json.loads(out.stdout)["compared"] == 3
    plan = runner.invoke(app, ["migrate", "plan", *args, "--sample", "3", "-o", "json"])
    assert plan.exit_code == 0, (plan.stdout, plan.stderr)
    assert json.loads(plan.stdout)["source"] == f"rediss://migrator@127.0.0.1:{ep.port}/0"

    wrong_ca = make_tls_files(tmp_path / "other").ca_cert
    bad = runner.invoke(app, ["migrate", "verify", *args[:-4], "--source-tls-ca", str(wrong_ca), *args[-2:]])
    assert bad.exit_code == 4 and "certificate" in bad.stderr
    for text in (out.stdout, out.stderr, plan.stdout, plan.stderr, bad.stderr):
        assert PASSWORD not in text
