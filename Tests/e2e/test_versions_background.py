"""Versions and the background work end to end: a versioning-Enabled bucket on a residency
policy (se,fi) with replica-count 2 over a filesystem zone and a moto_server provider zone.
Every version gets its copy at the provider, `s3gw audit residency` counts versions and delete
markers and finds nothing outside the allowed countries, and the agent's orphan sweep (a short
grace here) removes a planted orphan but leaves every version's bytes in place. The periodic scrub
runs (fast here): it finds a noncurrent version's damaged replica and another's missing primary
copy and makes them again."""

import datetime
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import time

import pytest

from conftest import NotYet, Stack, filesystem_zone, new_bucket_name, provider_zone, s3_client, s3gw_bin, wait_until

DAY = 86400
GRACE = 5


@pytest.fixture(scope="module")
def gw(fi):
    zones = f"""{filesystem_zone("local-2", "se", "se-got", "{tmp}/zones/local-2")}{provider_zone("fi-hel-1", "fi", "fi-hel", fi.port)}
[replication]
workers = 2
max_attempts = 3
retry_base = 1
orphan_grace = {GRACE}
orphan_interval = 1
# The scrub walks every version, fast: a damaged copy is found within seconds.
scrub_per_hour = 360000
failover = "manual"
"""
    stack = Stack("versions-bg", workers=2, storage_extra="health_interval = 1")
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


def backend(gw, bucket, zone):
    """The bucket's name inside a zone, as the gateway derives it (HMAC of the installation secret)."""
    secret = bytes.fromhex((gw.state_dir / "installation-secret").read_text().strip())
    mac = hmac.new(secret, f"default\0{bucket}\0{zone}".encode(), hashlib.sha256).hexdigest()
    return "s3gw-" + mac[:40]


def of(doc, bucket):
    (b,) = [b for b in doc["buckets"] if b["bucket"] == bucket]
    return b


def test_every_version_keeps_its_copies_and_the_sweep_leaves_them(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("verbg")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    r = cli(gw, "buckets", "replicas", bucket, "2")
    assert r.returncode == 0, r.stdout + r.stderr
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    bodies = {}
    for size in (1000, 2500, 40):
        body = os.urandom(size)
        vid = s3.put_object(Bucket=bucket, Key="doc", Body=body)["VersionId"]
        bodies[("doc", vid)] = body
    gone = os.urandom(700)
    bodies[("gone", s3.put_object(Bucket=bucket, Key="gone", Body=gone)["VersionId"])] = gone
    marker = s3.delete_object(Bucket=bucket, Key="gone")
    assert marker["DeleteMarker"] is True

    # Every version, the noncurrent ones too, gets its copy at the provider.
    def replicated():
        return all(
            s3.head_object(Bucket=bucket, Key=k, VersionId=v)["ResponseMetadata"]["HTTPHeaders"]
            .get("x-amz-replication-status") == "COMPLETED" for (k, v) in bodies)
    wait_until(replicated, 60, "every version to be replicated", gw.log_tail)

    # The replication status of one key lists every version, newest first.
    r = cli(gw, "replication", "status", bucket, "doc")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.strip().startswith("doc")]
    doc_versions = [v for (k, v) in bodies if k == "doc"]
    assert [line.split()[0] for line in lines] == ["doc"] * 3, r.stdout
    assert [v in line for line, v in zip(lines, reversed(doc_versions))] == [False, True, True], r.stdout
    assert all("COMPLETED" in line and "fi-hel-1=completed" in line for line in lines), r.stdout

    code, doc = audit(gw)
    assert code == 0, json.dumps(doc, indent=1)
    b = of(doc, bucket)
    assert (b["objects"], b["versions"], b["delete_markers"]) == (1, 4, 1)
    assert b["version_bytes"] == sum(len(x) for x in bodies.values())
    assert b["copies"] == {"complete": 4, "over": 0, "short": 0, "changed_during_audit": 0}
    for kind in ("violations", "missing", "orphans", "short"):
        assert b[kind]["count"] == 0, (kind, b[kind])
    # Every copy in a zone of an allowed country: the filesystem zone and the Finnish provider.
    assert [(z["zone"], z["objects"], z["blobs"]) for z in b["zones"]] == [("local-1", 4, 4), ("fi-hel-1", 4, 4)]
    assert all(z["allowed"] and z["country"] in b["allowed_countries"] for z in b["zones"])
    assert doc["summary"]["versions"] >= 4 and doc["summary"]["delete_markers"] >= 1
    text = cli(gw, "audit", "residency")
    assert text.returncode == 0 and "4 versions" in text.stdout and "1 delete markers" in text.stdout, text.stdout

    # An orphan planted a day ago next to the versions' blobs: the agent's sweep (grace 5 s)
    # removes it once every version's blobs are older than the grace too — and keeps them.
    home = gw.tmp / "zones" / "local-1" / "buckets" / backend(gw, bucket, "local-1")
    assert home.is_dir()
    orphan = secrets.token_hex(16)
    path = home / orphan[:2] / orphan
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"nobody's bytes")
    t = time.time() - DAY
    os.utime(path, (t, t))
    time.sleep(GRACE + 1)
    wait_until(lambda: not path.exists(), 30, "the agent's sweep to remove the planted orphan", gw.log_tail)
    time.sleep(2)  # another sweep or two over the versions, all past the grace now

    code, doc = audit(gw, "--remove-orphans", "--older-than", "0")
    assert code == 0, json.dumps(doc, indent=1)
    b = of(doc, bucket)
    assert b["orphans"]["count"] == 0 and b["missing"]["count"] == 0 and b["copies"]["complete"] == 4
    for (k, v), body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=k, VersionId=v)["Body"].read() == body, (k, v)
    # The latest of "gone" is still its marker.
    versions = s3.list_object_versions(Bucket=bucket, Prefix="gone")
    assert [m["IsLatest"] for m in versions.get("DeleteMarkers", [])] == [True]


def test_lowering_the_replica_count_keeps_a_locked_versions_copy(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("verlock")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"},
                     ObjectLockEnabledForBucket=True)
    assert cli(gw, "buckets", "replicas", bucket, "2").returncode == 0
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    locked = s3.put_object(Bucket=bucket, Key="k", Body=b"locked bytes", ObjectLockMode="COMPLIANCE",
                           ObjectLockRetainUntilDate=until)["VersionId"]
    latest = s3.put_object(Bucket=bucket, Key="k", Body=b"latest")["VersionId"]
    other = s3.put_object(Bucket=bucket, Key="u", Body=b"unlocked")["VersionId"]
    versions = [("k", locked), ("k", latest), ("u", other)]

    def replicas(k, v):
        return s3.head_object(Bucket=bucket, Key=k, VersionId=v)["ResponseMetadata"]["HTTPHeaders"].get(
            "x-s3gw-replicas")
    wait_until(lambda: all(replicas(k, v) == "local-1=primary,fi-hel-1=completed" for k, v in versions), 60,
               "every version to be replicated", gw.log_tail)

    r = cli(gw, "buckets", "replicas", bucket, "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (f"bucket {bucket}: replica-count 1; 2 object(s) queued for a change of copies, "
                                "1 kept (locked)"), r.stdout
    wait_until(lambda: replicas("k", latest) in (None, "local-1=primary")
               and replicas("u", other) in (None, "local-1=primary"), 60, "the unlocked copies to go", gw.log_tail)
    assert replicas("k", locked) == "local-1=primary,fi-hel-1=completed"

    # The provider holds exactly the locked version's copy; nothing is missing or orphaned.
    def provider_blobs():
        code, doc = audit(gw)
        return {z["zone"]: z["blobs"] for z in of(doc, bucket)["zones"]}.get("fi-hel-1")
    wait_until(lambda: provider_blobs() == 1, 30, "the provider to hold only the locked copy", gw.log_tail)
    code, doc = audit(gw)
    b = of(doc, bucket)
    assert code == 0 and b["versions"] == 3 and b["missing"]["count"] == 0 and b["orphans"]["count"] == 0, b
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=locked)["Body"].read() == b"locked bytes"


def version_replicas(s3, bucket, key, version):
    return s3.head_object(Bucket=bucket, Key=key, VersionId=version)["ResponseMetadata"]["HTTPHeaders"].get(
        "x-s3gw-replicas")


def test_the_scrub_repairs_noncurrent_versions_copies(gw, fi):
    s3 = s3_client(gw)
    bucket = new_bucket_name("verscrub")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"})
    assert cli(gw, "buckets", "replicas", bucket, "2").returncode == 0
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    bodies = [os.urandom(n) for n in (3000, 4000, 5000)]
    ids = [s3.put_object(Bucket=bucket, Key="k", Body=b)["VersionId"] for b in bodies]
    wait_until(lambda: all(version_replicas(s3, bucket, "k", v) == "local-1=primary,fi-hel-1=completed" for v in ids),
               60, "every version to be replicated", gw.log_tail)

    # The first version's replica at the provider is overwritten with other bytes of its size
    # (its ETag changes); the second's primary copy on the filesystem is lost.
    m = fi.client()
    remote = backend(gw, bucket, "fi-hel-1")

    def provider_copies():
        # The scrub may replace a blob (a new key written, the damaged one deleted) between the
        # listing and a read: a key gone meanwhile is simply not there any more.
        copies = {}
        for o in m.list_objects_v2(Bucket=remote).get("Contents", []):
            try:
                copies[o["Key"]] = m.get_object(Bucket=remote, Key=o["Key"])["Body"].read()
            except m.exceptions.NoSuchKey:
                pass
        return copies

    (damaged,) = [k for k, b in provider_copies().items() if b == bodies[0]]
    garbage = os.urandom(len(bodies[0]))
    m.put_object(Bucket=remote, Key=damaged, Body=garbage)
    home = gw.tmp / "zones" / "local-1" / "buckets" / backend(gw, bucket, "local-1")

    def local_copies():
        return [p.read_bytes() for p in home.rglob("*") if p.is_file()]

    (lost,) = [p for p in home.rglob("*") if p.is_file() and p.read_bytes() == bodies[1]]
    lost.unlink()

    # The scrub comes around, finds both and makes them again from the intact copy.
    def repaired():
        at_provider = list(provider_copies().values())
        if garbage in at_provider or bodies[0] not in at_provider:
            raise NotYet(f"provider copy of {ids[0]} not repaired")
        if bodies[1] not in local_copies():
            raise NotYet(f"filesystem copy of {ids[1]} not made again")
        return True
    wait_until(repaired, 60, "the scrub to repair both noncurrent versions' copies", gw.log_tail)
    wait_until(lambda: version_replicas(s3, bucket, "k", ids[1]) == "fi-hel-1=primary,local-1=completed", 30,
               "the second version's remade copy recorded", gw.log_tail)
    assert version_replicas(s3, bucket, "k", ids[0]) == "local-1=primary,fi-hel-1=completed"
    for v, body in zip(ids, bodies):
        assert s3.get_object(Bucket=bucket, Key="k", VersionId=v)["Body"].read() == body
    assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == ids[2]
    code, doc = audit(gw)
    b = of(doc, bucket)
    assert code == 0 and b["copies"]["complete"] == 3 and b["missing"]["count"] == 0, b
