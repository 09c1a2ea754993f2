"""The typed deployment config: defaults equal the write-up, YAML/HCL loading, every error path, rendering."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redisops.config import (
    DeploymentConfig,
    config_checksum,
    config_from_mapping,
    load_config,
    load_hcl,
    load_yaml,
    parse_memory,
    render_redis_conf,
)
from redisops.errors import ConfigError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "config"


def test_defaults_equal_the_write_up():
    c = DeploymentConfig()
    assert c.image == "redis:7.1-alpine"
    assert c.service_name == "redis"
    assert c.service_dns == "redis.llm-judge.svc.cluster.local"
    assert c.namespace == "llm-judge"
    assert c.port == 6379
    assert c.default_ttl_seconds == 604800
    assert (c.resources.requests.cpu, c.resources.requests.memory) == ("100m", "256Mi")
    assert (c.resources.limits.cpu, c.resources.limits.memory) == ("500m", "512Mi")
    p = c.persistence
    assert (p.enabled, p.storage_class, p.access_mode, p.size) == (True, "gp3", "ReadWriteOnce", "10Gi")
    assert p.encrypted and p.reclaim_policy == "Delete"
    r = c.config
    assert (r.maxmemory, r.maxmemory_policy, r.appendonly, r.appendfsync) == (
        "256mb",
        "allkeys-lru",
        True,
        "everysec",
    )
    assert [(s.seconds, s.changes) for s in r.save] == [(900, 1), (300, 10), (60, 10000)]
    assert c.security_context.run_as_user == 999 and c.security_context.drop_capabilities == ["ALL"]
    assert c.clients.match_labels == {"app": "redis-service"}
    assert len(c.clients.services) == 5


def test_hcl_of_the_write_up_loads_to_the_defaults():
    assert load_hcl(FIXTURES / "configuration.hcl") == DeploymentConfig()
    assert load_config(FIXTURES / "configuration.hcl") == DeploymentConfig()


def test_yaml_overrides_and_derived_dns(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("namespace: cache\nconfig:\n  maxmemory: 1gb\n  save: ''\n  appendonly: 'no'\n")
    c = load_yaml(f)
    assert c.namespace == "cache"
    assert c.service_dns == "redis.cache.svc.cluster.local"
    assert c.config.maxmemory_bytes == 1024**3
    assert c.config.save == [] and c.config.appendonly is False


def test_yaml_in_the_write_up_shape(tmp_path):
    f = tmp_path / "c.yml"
    f.write_text("redis_k8s_config:\n  image: redis:7.2-alpine\n  port: 6380\n")
    c = load_config(f)
    assert (c.image, c.port) == ("redis:7.2-alpine", 6380)


def test_empty_yaml_is_the_defaults(tmp_path):
    f = tmp_path / "empty.yaml"
    f.write_text("")
    assert load_yaml(f) == DeploymentConfig()
    assert load_config(None) == DeploymentConfig()


@pytest.mark.parametrize(
    ("yaml_text", "field", "line"),
    [
        ("port: 99999\n", "port", 1),
        ("namespace: llm-judge\nconfig:\n  maxmemory_policy: allkeys-lr\n", "config.maxmemory_policy", 3),
        ("config:\n  save: '900'\n", "config.save", 2),
        ("config:\n  save: '900 x'\n", "config.save", 2),
        ("config:\n  maxmemory: lots\n", "config.maxmemory", 2),
        ("config:\n  appendfsync: sometimes\n", "config.appendfsync", 2),
        ("config:\n  appendfilename: a/b\n", "config.appendfilename", 2),
        ("namespace: Not_A_Label\n", "namespace", 1),
        ("service_name: ''\n", "service_name", 1),
        ("image: 'redis 7'\n", "image", 1),
        ("resources:\n  limits:\n    cpu: 500m\n    memory: lots\n", "resources.limits.memory", 4),
        ("resources:\n  requests:\n    cpu: 2\n    memory: 1Gi\n", "resources", 1),
        ("persistence:\n  size: ten\n", "persistence.size", 2),
        ("persistence:\n  access_mode: RWO\n", "persistence.access_mode", 2),
        ("backup:\n  bucket: B\n", "backup.bucket", 2),
        ("backup:\n  kms_key_id: k\n", "backup", 1),
        ("security_context:\n  run_as_user: -1\n", "security_context.run_as_user", 2),
        ("typo_field: 1\n", "typo_field", 1),
    ],
)
def test_validation_errors_name_field_value_file_and_line(tmp_path, yaml_text, field, line):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml_text)
    with pytest.raises(ConfigError) as ei:
        load_yaml(f)
    err = ei.value
    assert f"{f}:{line}: {field} = " in err.message, err.message
    assert err.exit_code == 3
    assert err.hint


def test_invalid_yaml_syntax_names_the_line(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("namespace: a\nconfig: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: invalid YAML"):
        load_yaml(f)


def test_top_level_must_be_a_mapping(tmp_path):
    f = tmp_path / "list.yaml"
    f.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_yaml(f)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    other = tmp_path / "c.toml"
    other.write_text("")
    with pytest.raises(ConfigError, match="unknown config format"):
        load_config(other)


def test_hcl_errors(tmp_path):
    bad = tmp_path / "bad.hcl"
    bad.write_text("locals {\n  redis_k8s_config = {\n")
    with pytest.raises(ConfigError, match="invalid HCL"):
        load_hcl(bad)
    none = tmp_path / "none.hcl"
    none.write_text('locals {\n  other = "x"\n}\n')
    with pytest.raises(ConfigError, match="no `redis_k8s_config"):
        load_hcl(none)
    wrong = tmp_path / "wrong.hcl"
    wrong.write_text('locals {\n  redis_k8s_config = {\n    port = "abc"\n  }\n}\n')
    with pytest.raises(ConfigError, match=r"wrong.hcl:2: port = 'abc'"):
        load_hcl(wrong)


def test_several_problems_are_all_reported():
    with pytest.raises(ConfigError) as ei:
        config_from_mapping({"port": 0, "namespace": "BAD"}, source="x.yaml")
    assert len(ei.value.context["problems"]) == 2
    assert "+1 more" in ei.value.message


def test_render_redis_conf_carries_the_persistence_settings():
    text = render_redis_conf(DeploymentConfig())
    lines = dict(line.split(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert lines["save"] == "900 1 300 10 60 10000"
    assert lines["appendonly"] == "yes"
    assert lines["appendfsync"] == "everysec"
    assert lines["maxmemory"] == "256mb"
    assert lines["maxmemory-policy"] == "allkeys-lru"
    assert lines["dir"] == "/data"
    assert lines["appenddirname"] == '"appendonlydir"'
    assert "requirepass" not in text


def test_render_overrides_and_no_rdb_saves():
    cfg = config_from_mapping({"config": {"save": "", "appendonly": "no", "extra": {"hz": "20"}}})
    text = render_redis_conf(cfg, {"port": "7000", "dir": "/tmp/x", "logfile": '""'})  # noqa: S108
    assert "port 7000\n" in text and "dir /tmp/x\n" in text and 'logfile ""\n' in text
    assert 'save ""\n' in text and "appendonly no\n" in text and "hz 20\n" in text


def test_render_refuses_secrets_in_extra():
    cfg = config_from_mapping({"config": {"extra": {"requirepass": "x"}}})
    with pytest.raises(ValueError, match="requirepass"):
        render_redis_conf(cfg)


def test_checksum_changes_with_the_config():
    a = render_redis_conf(DeploymentConfig())
    b = render_redis_conf(config_from_mapping({"config": {"maxmemory": "300mb"}}))
    assert config_checksum(a) != config_checksum(b)
    assert config_checksum(a) == config_checksum(render_redis_conf(DeploymentConfig()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("1k", 1000), ("1kb", 1024), ("256mb", 256 * 1024**2), ("2GB", 2 * 1024**3), ("5", 5)],
)
def test_parse_memory_units(text, expected):
    assert parse_memory(text) == expected


@given(st.text(max_size=20))
def test_parse_memory_only_raises_value_error(text):
    with contextlib.suppress(ValueError):
        assert parse_memory(text) >= 0


@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, 10**6)), max_size=5))
def test_save_points_round_trip_through_redis_conf_text(points):
    text = " ".join(f"{s} {c}" for s, c in points)
    cfg = config_from_mapping({"config": {"save": text}})
    assert [(p.seconds, p.changes) for p in cfg.config.save] == points
    rendered = render_redis_conf(cfg)
    assert (f"save {text}\n" if points else 'save ""\n') in rendered
