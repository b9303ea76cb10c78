"""The residency audit end to end: three zones in two countries (two filesystem zones in Sweden,
a moto_server provider in Finland). `s3gw audit residency` reads the zones themselves and must
report exactly what they hold; bytes planted where a bucket's constraint does not allow them, a
replica deleted at the provider and orphan blobs are found; --remove-orphans and the agent's
sweep remove old orphans only."""

import hashlib
import hmac
import json
import os
import secrets
import subprocess
import time

import pytest

from conftest import Stack, filesystem_zone, new_bucket_name, provider_zone, s3_client, s3gw_bin, wait_until

DAY = 86400


@pytest.fixture(scope="module")
def gw(fi):
    # The agent sweeps every 2 s but only orphans older than 10 days: the CLI tests' orphans
    # (2 days old) are the CLI's to find and remove.
    zones = f"""{filesystem_zone("local-2", "se", "se-got", "{tmp}/zones/local-2")}{provider_zone("fi-hel-1", "fi", "fi-hel", fi.port)}
[replication]
workers = 2
max_attempts = 2
retry_base = 1
orphan_grace = {10 * DAY}
orphan_interval = 2
# No scrub and no failover: a copy the test deletes must stay missing until the audit sees it.
scrub_per_hour = 0
failover = "manual"
"""
    stack = Stack("audit", workers=2, storage_extra="health_interval = 1")
    stack.extra = zones.replace("{tmp}", str(stack.tmp))
    stack.start()
    yield stack
    stack.stop()
    stack.cleanup()


def cli(gw, *args):
    return subprocess.run([str(s3gw_bin()), *args, "--config", str(gw.config)], capture_output=True, text=True,
                          timeout=120)


def audit(gw, *args):
    r = cli(gw, "audit", "residency", "--json", *args)
    assert r.returncode in (0, 1, 2), r.stderr
    return r.returncode, json.loads(r.stdout)


def of(doc, bucket):
    (b,) = [b for b in doc["buckets"] if b["bucket"] == bucket]
    return b


def backend(gw, bucket, zone):
    """The bucket's name inside a zone, as the gateway derives it (HMAC of the installation secret)."""
    secret = bytes.fromhex((gw.state_dir / "installation-secret").read_text().strip())
    # Buckets of the default tenant derive their names under the tenant id.
    mac = hmac.new(secret, f"default\0{bucket}\0{zone}".encode(), hashlib.sha256).hexdigest()
    return "s3gw-" + mac[:40]


def plant(gw, zone, backend_bucket, data, age):
    """A blob the gateway never wrote, `age` seconds old, in a filesystem zone."""
    blob = secrets.token_hex(16)
    path = gw.tmp / "zones" / zone / "buckets" / backend_bucket / blob[:2] / blob
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    t = time.time() - age
    os.utime(path, (t, t))
    return blob, path


def wait_completed(gw, s3, bucket, key):
    def done():
        h = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
        return h.get("x-amz-replication-status") == "COMPLETED"
    wait_until(done, 60, f"{bucket}/{key} to be replicated", gw.log_tail)


def test_a_clean_installation_is_counted_exactly(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("clean")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    s3.put_object(Bucket=bucket, Key="a", Body=os.urandom(1000), Tagging="replica-count=2")
    s3.put_object(Bucket=bucket, Key="b", Body=os.urandom(2000), Tagging="replica-count=2")
    s3.put_object(Bucket=bucket, Key="c", Body=os.urandom(300))
    # A multipart object: two part blobs in the filesystem zone, one blob at the provider.
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="replica-count=2")
    p1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=os.urandom(5 << 20))
    p2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=2, Body=os.urandom(1000))
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    for key in ("a", "b", "mp"):
        wait_completed(gw, s3, bucket, key)
    # The bucket's name in a zone of its placement is what `s3gw buckets show` says.
    assert backend(gw, bucket, "fi-hel-1") in cli(gw, "buckets", "show", bucket).stdout

    code, doc = audit(gw)
    assert code == 0, json.dumps(doc, indent=1)
    assert doc["format"] == "s3gw-residency-audit/1" and doc["clean"] is True
    b = of(doc, bucket)
    mp = (5 << 20) + 1000
    assert b["objects"] == 4 and b["bytes"] == 3300 + mp
    assert b["placement"] == ["local-1", "fi-hel-1", "local-2"] and b["allowed_countries"] == ["fi", "se"]
    assert [(z["zone"], z["country"], z["allowed"], z["objects"], z["blobs"], z["bytes"]) for z in b["zones"]] == [
        ("local-1", "se", True, 4, 5, 3300 + mp),
        ("fi-hel-1", "fi", True, 3, 3, 3000 + mp),
    ]
    assert [(c["country"], c["objects"], c["bytes"]) for c in b["countries"]] == [
        ("fi", 3, 3000 + mp), ("se", 4, 3300 + mp)]
    assert b["copies"] == {"complete": 4, "over": 0, "short": 0, "changed_during_audit": 0}
    for kind in ("violations", "missing", "orphans", "short"):
        assert b[kind]["count"] == 0, (kind, b[kind])
    assert {z["zone"]: z["readable"] for z in doc["zones"]} == {"local-1": True, "local-2": True, "fi-hel-1": True}

    text = cli(gw, "audit", "residency")
    assert text.returncode == 0, text.stdout + text.stderr
    assert f"bucket {bucket}" in text.stdout and "result: CLEAN" in text.stdout
    assert "ZONE" in text.stdout and "COUNTRY" in text.stdout


def test_bytes_planted_in_sweden_for_a_finnish_bucket_are_a_violation(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("fionly")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "fi"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"finnish bytes")
    blob, path = plant(gw, "local-2", backend(gw, bucket, "local-2"), b"out of place", age=60)
    try:
        code, doc = audit(gw)
        assert code == 1 and doc["clean"] is False
        b = of(doc, bucket)
        assert b["violations"]["count"] == 1 and b["violations"]["bytes"] == 12
        (v,) = b["violations"]["items"]
        assert (v["zone"], v["country"], v["blob"], v["size"], v["key"]) == ("local-2", "se", blob, 12, None)
        assert [(c["country"], c["allowed"], c["bytes"]) for c in b["countries"]] == [("fi", True, 13),
                                                                                    ("se", False, 12)]
        assert doc["summary"]["violations"] >= 1
        text = cli(gw, "audit", "residency")
        assert text.returncode == 1 and "VIOLATION" in text.stdout and blob in text.stdout
        assert "result: NOT CLEAN" in text.stdout
    finally:
        path.unlink()
    code, doc = audit(gw)
    assert code == 0 and of(doc, bucket)["violations"]["count"] == 0


def test_orphans_are_reported_and_only_old_ones_removed(gw):
    s3 = s3_client(gw)
    bucket = new_bucket_name("orphans")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"keep me")
    home = backend(gw, bucket, "local-1")
    old, old_path = plant(gw, "local-1", home, b"old orphan", age=2 * DAY)
    young, young_path = plant(gw, "local-1", home, b"young", age=30)

    code, doc = audit(gw)
    assert code == 0, "orphans alone are no failure"
    b = of(doc, bucket)
    assert b["orphans"]["count"] == 2 and b["orphans"]["bytes"] == 15
    assert sorted(o["blob"] for o in b["orphans"]["items"]) == sorted([old, young])
    assert {o["blob"]: o["age_seconds"] >= 2 * DAY - 60 for o in b["orphans"]["items"]} == {old: True, young: False}
    assert cli(gw, "audit", "residency", "--strict").returncode == 1
    assert old_path.exists(), "reported, not removed"

    code, doc = audit(gw, "--remove-orphans", "--older-than", str(DAY))
    assert code == 0
    b = of(doc, bucket)
    assert b["orphans"]["removed"] == 1
    assert [o["blob"] for o in b["orphans"]["items"] if o["removed"]] == [old]
    assert not old_path.exists() and young_path.exists()
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"keep me"

    # A shorter grace takes the young one too; the object's own blob stays whatever its age.
    code, doc = audit(gw, "--remove-orphans", "--older-than", "10")
    assert code == 0 and of(doc, bucket)["orphans"]["removed"] == 1 and not young_path.exists()
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"keep me"
    code, doc = audit(gw)
    assert of(doc, bucket)["orphans"]["count"] == 0


def test_the_agent_sweeps_orphans_past_its_grace(gw):
    s3 = s3_client(gw)
    bucket = new_bucket_name("sweep")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"stays")
    home = backend(gw, bucket, "local-1")
    _, ancient = plant(gw, "local-1", home, b"ancient", age=11 * DAY)
    _, recent = plant(gw, "local-1", home, b"recent", age=2 * DAY)
    wait_until(lambda: not ancient.exists(), 30, "the agent to remove the 11-day-old orphan", gw.log_tail)
    assert recent.exists(), "younger than orphan_grace: kept"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"stays"
    recent.unlink()


def test_a_replica_deleted_at_the_provider_is_a_missing_copy(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("lost")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"two copies", Tagging="replica-count=2")
    wait_completed(gw, s3, bucket, "k")
    name = backend(gw, bucket, "fi-hel-1")
    (blob,) = fi.objects()[name]
    fi.client().delete_object(Bucket=name, Key=blob)

    code, doc = audit(gw)
    assert code == 1
    b = of(doc, bucket)
    (m,) = b["missing"]["items"]
    assert (m["key"], m["zone"], m["role"], m["reason"], m["blob"], m["backend_bucket"]) == (
        "k", "fi-hel-1", "replica", "absent", blob, name)
    (s,) = b["short"]["items"]
    assert (s["key"], s["wanted"], s["present"], s["missing"]) == ("k", 2, ["local-1"], ["fi-hel-1"])
    text = cli(gw, "audit", "residency")
    assert text.returncode == 1 and "MISSING" in text.stdout

    # Once the object is gone nothing is missing any more.
    s3.delete_object(Bucket=bucket, Key="k")
    code, doc = audit(gw)
    assert code == 0 and of(doc, bucket)["missing"]["count"] == 0


def test_a_stray_backend_bucket_is_reported_not_emptied(gw, fi):
    stray = "s3gw-" + secrets.token_hex(20)
    m = fi.client()
    m.create_bucket(Bucket=stray)
    m.put_object(Bucket=stray, Key="0123abcd", Body=b"whose?")
    try:
        code, doc = audit(gw, "--remove-orphans", "--older-than", "0")
        assert code == 0
        assert {"zone": "fi-hel-1", "backend_bucket": stray, "blobs": 1, "bytes": 6} in doc["stray_backend_buckets"]
        assert cli(gw, "audit", "residency", "--strict").returncode == 1
        assert [o["Key"] for o in m.list_objects_v2(Bucket=stray)["Contents"]] == ["0123abcd"]
    finally:
        m.delete_object(Bucket=stray, Key="0123abcd")
        m.delete_bucket(Bucket=stray)
