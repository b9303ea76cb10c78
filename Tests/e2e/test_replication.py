"""Residency and replicas end to end: three zones in two countries (two filesystem zones in
Sweden, a moto_server provider in Finland), driven by boto3, the aws CLI and s3gw's own CLI.
What a user checks: bytes where the constraint allows and nowhere else, the right number of
copies, status visible, reads surviving a lost zone, deletes reaching every copy."""

import json
import os
import subprocess

import pytest

from conftest import Stack, client_env, filesystem_zone, new_bucket_name, provider_zone, run, s3_client, s3cmd_config, s3gw_bin, wait_until


@pytest.fixture(scope="module")
def gw(fi):
    zones = f"""{filesystem_zone("local-2", "se", "se-got", "{tmp}/zones/local-2")}{provider_zone("fi-hel-1", "fi", "fi-hel", fi.port)}
[replication]
workers = 2
max_attempts = 2
retry_base = 1
# Writes to a bucket whose primary is away answer 503 here, however long the test takes
# (test_failover.py moves primaries).
failover = "manual"
"""
    stack = Stack("replication", workers=2, storage_extra="health_interval = 1")
    stack.extra = zones.replace("{tmp}", str(stack.tmp))
    stack.start()
    yield stack
    stack.stop()
    stack.cleanup()


def headers(s3, bucket, key):
    return s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]


def wait_status(gw, s3, bucket, key, status, timeout=30):
    return wait_until(lambda: headers(s3, bucket, key).get("x-amz-replication-status") == status and
                      headers(s3, bucket, key), timeout, f"{bucket}/{key} to be {status}", gw.log_tail)


def zone_files(gw, zone):
    root = gw.tmp / "zones" / zone / "buckets"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def cli(gw, *args):
    return subprocess.run([str(s3gw_bin()), *args, "--config", str(gw.config)], capture_output=True, text=True,
                          timeout=60)


def test_a_copy_in_the_second_country_only_where_the_constraint_allows(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("sefi")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "se,fi"
    data = os.urandom(3 * 1024 * 1024 + 17)
    s3.put_object(Bucket=bucket, Key="doc.bin", Body=data, Tagging="replica-count=2")
    h = wait_status(gw, s3, bucket, "doc.bin", "COMPLETED")
    assert h["x-s3gw-replicas"] == "local-1=primary,fi-hel-1=completed"
    # The copy at the provider: one object under the bucket's hashed name, the same bytes.
    held = {b: keys for b, keys in fi.objects().items() if keys}
    assert len(held) == 1 and len(next(iter(held.values()))) == 1, held
    (backend, (blob,)), = held.items()
    assert backend.startswith("s3gw-") and bucket not in backend
    assert fi.client().get_object(Bucket=backend, Key=blob)["Body"].read() == data
    # Sweden's second zone is a later location: no copy there with replica-count 2.
    assert zone_files(gw, "local-2") == []
    status = json.loads(cli(gw, "replication", "status", bucket, "doc.bin", "--json").stdout)
    assert status["objects"][0]["status"] == "COMPLETED"
    assert [c["zone"] for c in status["objects"][0]["copies"]] == ["local-1", "fi-hel-1"]

    s3.delete_object(Bucket=bucket, Key="doc.bin")
    wait_until(lambda: not any(fi.objects().values()), 30, "the provider copy to be removed", gw.log_tail)
    s3.delete_bucket(Bucket=bucket)


def test_a_single_country_keeps_every_copy_at_home(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("se")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    before = {b for b, keys in fi.objects().items() if keys}
    s3.put_object(Bucket=bucket, Key="a", Body=b"home", Tagging="replica-count=2")
    wait_status(gw, s3, bucket, "a", "COMPLETED")
    assert [p.read_bytes() for p in zone_files(gw, "local-2")] == [b"home"]
    assert {b for b, keys in fi.objects().items() if keys} == before, "a Swedish bucket's byte left Sweden"
    # Two Swedish zones: three copies are more than the constraint allows, and nothing is stored.
    with pytest.raises(Exception) as e:
        s3.put_object(Bucket=bucket, Key="b", Body=b"x", Tagging="replica-count=3")
    assert "InvalidArgument" in str(e.value) and "exceeds the 2 location" in str(e.value)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    # Lowering the count removes the surplus copy.
    s3.put_object_tagging(Bucket=bucket, Key="a", Tagging={"TagSet": [{"Key": "replica-count", "Value": "1"}]})
    wait_until(lambda: zone_files(gw, "local-2") == [], 30, "the surplus copy to go", gw.log_tail)
    assert "x-amz-replication-status" not in headers(s3, bucket, "a")
    s3.delete_object(Bucket=bucket, Key="a")
    s3.delete_bucket(Bucket=bucket)


def test_bucket_replica_count_from_the_cli_and_multipart_copies(gw, tmp_path):
    s3 = s3_client(gw)
    bucket = new_bucket_name("cli")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(12 * 1024 * 1024))
    env = client_env(gw, "http", tmp_path)
    run(["aws", "configure", "set", "default.s3.addressing_style", "path"], env=env)
    # Over the CLI's 8 MiB threshold: a multipart upload.
    run(["aws", "--endpoint-url", gw.http_url, "s3", "cp", str(src), f"s3://{bucket}/big.bin"], env=env)
    r = cli(gw, "buckets", "replicas", bucket, "2")
    assert r.returncode == 0, r.stderr
    assert "1 object(s) queued" in r.stdout
    wait_status(gw, s3, bucket, "big.bin", "COMPLETED", timeout=60)
    assert [p.read_bytes() for p in zone_files(gw, "local-2")] == [src.read_bytes()]
    r = cli(gw, "buckets", "replicas", bucket, "3")
    assert r.returncode != 0 and "exceeds the 2 location" in r.stderr
    s3.delete_object(Bucket=bucket, Key="big.bin")
    wait_until(lambda: zone_files(gw, "local-2") == [], 30, "the replica to be removed", gw.log_tail)
    s3.delete_bucket(Bucket=bucket)


def test_reads_survive_a_lost_zone_and_dead_jobs_retry(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("fise")
    # Finland first: the provider holds the primary, Sweden the replica.
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi,se"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"survives", Tagging="replica-count=2")
    wait_status(gw, s3, bucket, "k", "COMPLETED")
    fi.stop()
    try:
        got = s3.get_object(Bucket=bucket, Key="k")
        assert got["Body"].read() == b"survives"
        assert got["ResponseMetadata"]["HTTPHeaders"]["x-s3gw-zone"] == "local-1"
        # Writes go to the primary, which is gone: 503 and nothing stored.
        with pytest.raises(Exception) as e:
            s3.put_object(Bucket=bucket, Key="new", Body=b"x")
        assert "ServiceUnavailable" in str(e.value) or "503" in str(e.value)
    finally:
        fi.start()

    # A copy towards a provider that is down: retried, then dead-lettered, shown, retried by hand.
    other = new_bucket_name("sefi-dead")
    s3.create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    fi.stop()
    try:
        s3.put_object(Bucket=other, Key="k", Body=b"later", Tagging="replica-count=2")
        wait_status(gw, s3, other, "k", "FAILED", timeout=60)
        text = cli(gw, "replication", "status", other).stdout
        assert "1 dead" in text and "fi-hel-1" in text, text
    finally:
        fi.start()
    r = cli(gw, "replication", "retry", "--dead")
    assert r.returncode == 0 and "1 job(s) queued again" in r.stdout, r.stdout + r.stderr
    wait_status(gw, s3, other, "k", "COMPLETED", timeout=60)
    for b in (bucket, other):
        s3.delete_object(Bucket=b, Key="k")
        s3.delete_bucket(Bucket=b)


def test_aws_cli_and_s3cmd_create_two_country_buckets(gw, tmp_path):
    # `aws s3 mb --region se,fi` cannot work: both CLIs refuse a region name with a comma before
    # sending anything. s3api's create-bucket carries the list in the body.
    env = client_env(gw, "http", tmp_path)
    run(["aws", "configure", "set", "default.s3.addressing_style", "path"], env=env)
    bucket = new_bucket_name("mb")
    run(["aws", "--endpoint-url", gw.http_url, "s3api", "create-bucket", "--bucket", bucket,
         "--create-bucket-configuration", '{"LocationConstraint": "se,fi"}'], env=env)
    assert s3_client(gw).get_bucket_location(Bucket=bucket)["LocationConstraint"] == "se,fi"
    r = cli(gw, "buckets", "show", bucket)
    assert "primary zone         local-1" in r.stdout and "allowed zone" in r.stdout, r.stdout
    s3_client(gw).delete_bucket(Bucket=bucket)

    cfg = s3cmd_config(gw, "http", tmp_path)
    other = new_bucket_name("s3cmd")
    run(["s3cmd", "-c", str(cfg), "mb", "--bucket-location=fi,se", f"s3://{other}"])
    assert s3_client(gw).get_bucket_location(Bucket=other)["LocationConstraint"] == "fi,se"
    bad = run(["s3cmd", "-c", str(cfg), "mb", "--bucket-location=fi,mars", f"s3://{new_bucket_name('bad')}"],
              check=False)
    assert bad.returncode != 0 and "InvalidLocationConstraint" in bad.stdout + bad.stderr
    s3_client(gw).delete_bucket(Bucket=other)


def test_a_hung_primary_is_read_around_within_the_bound(gw, fi):
    import signal
    import time

    s3 = s3_client(gw)
    bucket = new_bucket_name("hung")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi,se"})
    data = os.urandom(256 * 1024)
    s3.put_object(Bucket=bucket, Key="k", Body=data, Tagging="replica-count=2")
    wait_status(gw, s3, bucket, "k", "COMPLETED")
    os.killpg(fi.proc.pid, signal.SIGSTOP)  # the provider accepts connections and answers nothing
    try:
        started = time.monotonic()
        got = s3.get_object(Bucket=bucket, Key="k")
        body = got["Body"].read()
        elapsed = time.monotonic() - started
        assert body == data
        assert got["ResponseMetadata"]["HTTPHeaders"]["x-s3gw-zone"] == "local-1"
        # The default bound is 3 s; a hung provider must not hold the client longer than that.
        assert elapsed < 3 + 3, f"the read waited {elapsed:.1f}s on the hung provider"
    finally:
        os.killpg(fi.proc.pid, signal.SIGCONT)
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
