from tests.harness.snapshots import world


def test_snapshots_see_changes(redis_server, s3_endpoint, s3_bucket, tmp_path):
    c = redis_server.client()
    c.set("a", "1")
    c.set("b", "2", px=50000)
    s3 = s3_endpoint.client()
    before = world(redis=redis_server.endpoint, s3=(s3, s3_bucket), data_dir=tmp_path)
    assert world(redis=redis_server.endpoint, s3=(s3, s3_bucket), data_dir=tmp_path) == before
    c.set("a", "changed")
    assert world(redis=redis_server.endpoint) != {"redis": before["redis"]}
    s3.put_object(Bucket=s3_bucket, Key="x", Body=b"1")
    assert world(s3=(s3, s3_bucket))["s3"] != before["s3"]
    (tmp_path / "f").write_text("x")
    assert world(data_dir=tmp_path)["data_dir"] != before["data_dir"]


def test_redis_snapshot_is_the_data_not_its_encoding(redis_server):
    c = redis_server.client()
    c.sadd("big-set", *[f"member-{i}" for i in range(600)])  # a hash table set: re-encoded on load
    c.hset("h", mapping={f"f{i}": i for i in range(300)})
    before = world(redis=redis_server.endpoint)
    c.close()
    redis_server.restart()
    assert world(redis=redis_server.endpoint) == before
