"""Failover, repair and scrub end to end: two Swedish filesystem zones, a Finnish moto_server
provider and a German filesystem zone no bucket here may use. What a user checks: a bucket
whose primary provider dies keeps taking writes in the other country its constraint names (and
only there), the returning provider is not made primary again but gets back every copy it lacks,
an operator can move a primary by hand, and copies lost behind the gateway's back come back byte
for byte."""

import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import NotYet, Stack, new_bucket_name, provider_zone, s3_client, s3gw_bin, wait_until

ZONES = """
[[zones]]
name = "local-2"
country = "se"
region = "se-got"
kind = "filesystem"
path = "{tmp}/zones/local-2"

[[zones]]
name = "de-fra-1"
country = "de"
region = "de-fra"
kind = "filesystem"
path = "{tmp}/zones/de-fra-1"
"""


@pytest.fixture(scope="module")
def gw(fi):
    zones = ZONES + f"""{provider_zone("fi-hel-1", "fi", "fi-hel", fi.port)}
[replication]
workers = 2
# Copies towards a provider that is away keep retrying (every 1-2 s) rather than dying.
max_attempts = 100
retry_base = 1
retry_max = 2
failover = "auto"
failover_after = 3
# No periodic scrub here: `s3gw repair` is tested without the agent racing it (the pass over a
# returning zone runs regardless). The scrub has its own stack below.
scrub_per_hour = 0
"""
    stack = Stack("failover", workers=2, storage_extra="health_interval = 1")
    stack.extra = zones.replace("{tmp}", str(stack.tmp))
    stack.start()
    yield stack
    assert zone_files(stack, "de-fra-1") == [], "a byte landed in a country no constraint here names"
    stack.stop()
    stack.cleanup()


def zone_files(gw, zone):
    root = gw.tmp / "zones" / zone / "buckets"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def cli(gw, *args):
    return subprocess.run([str(s3gw_bin()), *args, "--config", str(gw.config)], capture_output=True, text=True,
                          timeout=60)


def headers(s3, bucket, key):
    return s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]


def placement(gw, bucket):
    """(zone, role, backend bucket) per zone, from `s3gw buckets show`."""
    out = cli(gw, "buckets", "show", bucket).stdout.splitlines()
    rows = []
    for i, line in enumerate(out):
        for role in ("primary zone", "replica zone", "allowed zone"):
            if line.startswith(role):
                backend = out[i + 1].split()[-1]
                rows.append((line.split()[2], role, backend))
    return rows


def primary(gw, bucket):
    return placement(gw, bucket)[0][0]


def kill(moto):
    moto.proc.send_signal(signal.SIGKILL)
    moto.proc.wait(timeout=10)


def test_a_dead_primary_fails_over_within_the_constraint_and_is_repaired_when_back(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("fise")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi,se"})
    only_fi = new_bucket_name("fi")
    s3.create_bucket(Bucket=only_fi, CreateBucketConfiguration={"LocationConstraint": "fi"})
    assert [z for z, _, _ in placement(gw, bucket)] == ["fi-hel-1", "local-1", "local-2"]
    data = {}
    for i in range(3):
        data[f"before-{i}"] = os.urandom(200_000 + i)
        s3.put_object(Bucket=bucket, Key=f"before-{i}", Body=data[f"before-{i}"], Tagging="replica-count=2")
    wait_until(lambda: all(headers(s3, bucket, k).get("x-amz-replication-status") == "COMPLETED" for k in data),
               30, "the first copies to complete", gw.log_tail)
    files_before = {z: zone_files(gw, z) for z in ("local-1", "local-2")}

    kill(fi)
    try:
        # Three failed checks a second apart, then the next allowed zone in placement order.
        wait_until(lambda: primary(gw, bucket) == "local-1", 30, "local-1 to be promoted", gw.log_tail)
        assert [z for z, _, _ in placement(gw, bucket)] == ["local-1", "fi-hel-1", "local-2"]
        for i in range(3):
            data[f"during-{i}"] = os.urandom(150_000 + i)
            s3.put_object(Bucket=bucket, Key=f"during-{i}", Body=data[f"during-{i}"], Tagging="replica-count=2")
            h = headers(s3, bucket, f"during-{i}")
            assert h["x-s3gw-replicas"] == "local-1=primary,fi-hel-1=pending", h
        for key, body in data.items():
            assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body

        # A bucket whose only allowed zone is down answers 503 at once and stores nothing.
        assert primary(gw, only_fi) == "fi-hel-1"
        local = {z: zone_files(gw, z) for z in ("local-1", "local-2")}
        t0 = time.monotonic()
        with pytest.raises(Exception) as e:
            s3.put_object(Bucket=only_fi, Key="k", Body=b"nowhere to go")
        assert "ServiceUnavailable" in str(e.value) or "503" in str(e.value)
        assert time.monotonic() - t0 < 2
        assert s3.list_objects_v2(Bucket=only_fi)["KeyCount"] == 0
        assert {z: zone_files(gw, z) for z in local} == local, "a Finnish bucket's write was stored in Sweden"
        assert zone_files(gw, "local-2") == files_before["local-2"], "a write went to a zone it was not meant for"
    finally:
        fi.start()  # empty: moto keeps nothing across a restart

    # Back, but not primary again: the copies it lacks are made again there. The objects written
    # before lost their primary copy with the provider's restart: the Swedish replica takes over
    # and Finland gets a replica.
    def repaired():
        copies = {key: headers(s3, bucket, key)["x-s3gw-replicas"] for key in data}
        if any(c != "local-1=primary,fi-hel-1=completed" for c in copies.values()):
            raise NotYet(str(copies))
        return True

    wait_until(repaired, 60, "every copy to be back in fi-hel-1", gw.log_tail)
    assert primary(gw, bucket) == "local-1"
    backend = next(b for z, _, b in placement(gw, bucket) if z == "fi-hel-1")
    m = fi.client()
    held = [m.get_object(Bucket=backend, Key=o["Key"])["Body"].read()
            for o in m.list_objects_v2(Bucket=backend).get("Contents", [])]
    assert sorted(held) == sorted(data.values()), "the provider does not hold exactly one copy of each object"
    assert zone_files(gw, "local-2") == files_before["local-2"]

    for key in data:
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
    s3.delete_bucket(Bucket=only_fi)


def test_an_operator_promotes_by_hand_and_is_refused_outside_the_placement(gw):
    s3 = s3_client(gw)
    bucket = new_bucket_name("manual")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    assert primary(gw, bucket) == "local-1"
    r = cli(gw, "failover", "promote", bucket, "local-2")
    assert r.returncode == 0, r.stderr
    assert f"bucket {bucket}: primary zone local-2 (was local-1)" in r.stdout
    assert [z for z, _, _ in placement(gw, bucket)] == ["local-2", "local-1", "fi-hel-1"]
    before = zone_files(gw, "local-1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"to the new primary")
    assert [p.read_bytes() for p in zone_files(gw, "local-2")] == [b"to the new primary"]
    assert zone_files(gw, "local-1") == before
    assert headers(s3, bucket, "k")["x-s3gw-zone"] == "local-2"

    refused = cli(gw, "failover", "promote", bucket, "de-fra-1")
    assert refused.returncode == 1
    assert f"zone de-fra-1 is not in bucket {bucket}'s placement" in refused.stderr
    assert "LocationConstraint 'se,fi' does not allow it" in refused.stderr
    refused = cli(gw, "failover", "promote", bucket, "mars-1")
    assert refused.returncode == 1 and "no zone of that name is configured" in refused.stderr
    nope = new_bucket_name("nope")
    refused = cli(gw, "failover", "promote", nope, "local-1")
    assert refused.returncode == 1 and f"bucket {nope} of tenant default does not exist" in refused.stderr
    assert primary(gw, bucket) == "local-2"
    again = cli(gw, "failover", "promote", bucket, "local-2")
    assert again.returncode == 0 and "already is the primary zone" in again.stdout
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_repair_restores_a_deleted_or_damaged_replica_byte_for_byte(gw):
    s3 = s3_client(gw)
    bucket = new_bucket_name("repair")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    data = os.urandom(2 * 1024 * 1024 + 5)
    s3.put_object(Bucket=bucket, Key="doc", Body=data, Tagging="replica-count=2")
    wait_until(lambda: headers(s3, bucket, "doc").get("x-amz-replication-status") == "COMPLETED", 30,
               "the replica", gw.log_tail)
    (replica,) = zone_files(gw, "local-2")
    replica.unlink()

    r = cli(gw, "repair", bucket)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{bucket}/doc: replica in local-2 is missing: copy queued" in r.stdout
    assert "checked 1 object(s): 1 copy queued, 0 without an intact copy, 0 copies not checked" in r.stdout
    wait_until(lambda: [p.read_bytes() for p in zone_files(gw, "local-2")] == [data], 30,
               "the replica to be back", gw.log_tail)
    wait_until(lambda: headers(s3, bucket, "doc").get("x-amz-replication-status") == "COMPLETED", 30,
               "the replica to be recorded", gw.log_tail)
    r = cli(gw, "repair", bucket, "doc")
    assert r.returncode == 0 and "0 copies queued" in r.stdout, r.stdout

    # Same size, other bytes: only reading them tells.
    (replica,) = zone_files(gw, "local-2")
    replica.write_bytes(bytes(len(data)))
    assert "0 copies queued" in cli(gw, "repair", bucket).stdout
    r = cli(gw, "repair", bucket, "--deep")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{bucket}/doc: replica in local-2 reads as ETag " in r.stdout
    wait_until(lambda: [p.read_bytes() for p in zone_files(gw, "local-2")] == [data], 30,
               "the damaged replica to be replaced", gw.log_tail)

    # The primary copy lost too, with no other copy: reported, exit status 1.
    s3.put_object(Bucket=bucket, Key="single", Body=b"one copy")
    single = [p for p in zone_files(gw, "local-1") if p.read_bytes() == b"one copy"]
    single[0].unlink()
    r = cli(gw, "repair", bucket, "single")
    assert r.returncode == 1
    assert "primary copy in local-1 is missing, and no intact replica to repair it from" in r.stdout
    nope = new_bucket_name("nope")
    missing = cli(gw, "repair", nope)
    assert missing.returncode == 1 and f"bucket {nope} of tenant default does not exist" in missing.stderr
    for key in ("doc", "single"):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


def test_the_scrub_finds_and_repairs_a_lost_copy_by_itself():
    stack = Stack("scrub", workers=1, storage_extra="health_interval = 1")
    stack.extra = (ZONES + "\n[replication]\nretry_base = 1\nscrub_per_hour = 360000\n").replace(
        "{tmp}", str(stack.tmp))
    stack.start()
    try:
        s3 = s3_client(stack)
        bucket = new_bucket_name("scrub")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
        data = os.urandom(300_000)
        s3.put_object(Bucket=bucket, Key="k", Body=data, Tagging="replica-count=2")
        wait_until(lambda: headers(s3, bucket, "k").get("x-amz-replication-status") == "COMPLETED", 30,
                   "the replica", stack.log_tail)
        (primary_copy,) = zone_files(stack, "local-1")
        primary_copy.unlink()
        # The replica in local-2 becomes the primary copy and local-1 gets a copy again.
        wait_until(lambda: [p.read_bytes() for p in zone_files(stack, "local-1")] == [data], 30,
                   "the scrub to restore the lost copy", stack.log_tail)
        wait_until(lambda: headers(s3, bucket, "k").get("x-s3gw-replicas") == "local-2=primary,local-1=completed",
                   30, "the restored copy to be recorded", stack.log_tail)
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == data
        # Where the scrub is stays in the metadata store.
        db = sqlite3.connect(stack.state_dir / "metadata.sqlite")
        try:
            assert db.execute("SELECT COUNT(*) FROM agent_state WHERE key = 'scrub'").fetchone() == (1,)
        finally:
            db.close()
        s3.delete_object(Bucket=bucket, Key="k")
        s3.delete_bucket(Bucket=bucket)
    finally:
        stack.stop()
        stack.cleanup()
