"""Object Lock against every removal path the product has, end to end: a lock bucket on a
residency (se,fi) with replica-count 2 over a filesystem zone and a moto_server provider zone,
a noncurrent COMPLIANCE version retained for seconds and a version under a legal hold. Each path
is tried in turn — `s3gw repair` (CLI, deep) and the admin repair route, a deep repair of a
damaged copy, the residency audit's orphan removal (CLI and admin API), a failover promotion
and back, replica-count lowering through the admin API, cancelling and retrying replication
jobs, boto3's `object_versions.delete()`, `aws s3 rb --force`, DeleteBucket, deleting the
bucket's tenant — and after each the locked versions' bytes are still in both zones (read
there directly) and read back by id byte for byte. Once the date passes the COMPLIANCE
version can be deleted and its bytes leave both zones; the held one only once its hold is OFF.

Lifecycle (Expiration + NoncurrentVersionExpiration under the agent's test clock) is
test_object_lock.py's: its clock moves days ahead, which would end these seconds-long
retentions for the agent."""

import datetime as dt
import hashlib
import hmac
import os

import boto3
import pytest
from botocore.exceptions import ClientError

from admin_api import admin
from admin_cli import as_json, cli
from conftest import Stack, client_env, filesystem_zone, new_bucket_name, provider_zone, run, s3_client, wait_until

# Long enough for every path below (they take ~5 s), short enough to wait for.
RETENTION = 25


@pytest.fixture(scope="module")
def gw(fi):
    zones = f"""{filesystem_zone("local-2", "se", "se-got", "{tmp}/zones/local-2")}{provider_zone("fi-hel-1", "fi", "fi-hel", fi.port)}
[replication]
workers = 2
max_attempts = 3
retry_base = 1
orphan_grace = 1
orphan_interval = 1
scrub_per_hour = 0
failover = "manual"
"""
    stack = Stack("lock-paths", workers=2, storage_extra="health_interval = 1")
    stack.extra = zones.replace("{tmp}", str(stack.tmp))
    stack.start()
    yield stack
    stack.stop()
    stack.cleanup()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def ok(resp, status=200):
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url} -> {resp.status_code}\n{resp.text}"
    return resp.json() if resp.content else None


def code_of(call):
    try:
        call()
        return None
    except ClientError as e:
        return e.response["Error"]["Code"]


def backend(gw, bucket, zone):
    """The bucket's name inside a zone, as the gateway derives it (HMAC of the installation secret)."""
    secret = bytes.fromhex((gw.state_dir / "installation-secret").read_text().strip())
    mac = hmac.new(secret, f"default\0{bucket}\0{zone}".encode(), hashlib.sha256).hexdigest()
    return "s3gw-" + mac[:40]


class Zones:
    """What the two zones themselves hold for one bucket, read behind the gateway's back."""

    def __init__(self, gw, fi, bucket):
        self.dir = gw.tmp / "zones" / "local-1" / "buckets" / backend(gw, bucket, "local-1")
        self.moto = fi.client()
        self.remote = backend(gw, bucket, "fi-hel-1")

    def local(self, body: bytes) -> list:
        if not self.dir.is_dir():
            return []
        def holds(p) -> bool:
            try:
                return p.is_file() and p.stat().st_size == len(body) and p.read_bytes() == body
            except FileNotFoundError:  # removed by the agent while we looked
                return False
        return [p for p in self.dir.rglob("*") if holds(p)]

    def provider(self, body: bytes) -> list:
        try:
            listed = self.moto.list_objects_v2(Bucket=self.remote).get("Contents", [])
        except ClientError:
            return []

        def holds(key: str) -> bool:
            try:
                return self.moto.get_object(Bucket=self.remote, Key=key)["Body"].read() == body
            except ClientError as e:  # removed by the agent between the listing and the read
                if e.response["Error"]["Code"] == "NoSuchKey":
                    return False
                raise
        return [o["Key"] for o in listed if o["Size"] == len(body) and holds(o["Key"])]

    def count(self, body: bytes) -> tuple[int, int]:
        return len(self.local(body)), len(self.provider(body))


@pytest.fixture(scope="module")
def lock(gw, fi):
    """The bucket, its versions (all replicated to the provider) and the zones' view of it."""
    s3 = s3_client(gw)
    bucket = new_bucket_name("lockpaths")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "se,fi"},
                     ObjectLockEnabledForBucket=True)
    r = ok(admin(gw, "PATCH", f"tenants/default/buckets/{bucket}", {"replica_count": 2}))
    assert r["bucket"]["replica_count"] == 2, r
    # Whole seconds: the date the gateway keeps is the one sent.
    until = utcnow().replace(microsecond=0) + dt.timedelta(seconds=RETENTION)
    bodies = {"compliance": os.urandom(3000), "held": os.urandom(2000), "plain": os.urandom(1000)}
    compliance = s3.put_object(Bucket=bucket, Key="c", Body=bodies["compliance"], ObjectLockMode="COMPLIANCE",
                               ObjectLockRetainUntilDate=until)["VersionId"]
    # Noncurrent from now on: what lifecycle and the version sweeps look at.
    plain = s3.put_object(Bucket=bucket, Key="c", Body=bodies["plain"])["VersionId"]
    held = s3.put_object(Bucket=bucket, Key="h", Body=bodies["held"], ObjectLockLegalHoldStatus="ON")["VersionId"]
    versions = {"compliance": ("c", compliance), "plain": ("c", plain), "held": ("h", held)}

    def replicas(k, v):
        return s3.head_object(Bucket=bucket, Key=k, VersionId=v)["ResponseMetadata"]["HTTPHeaders"].get(
            "x-s3gw-replicas")
    wait_until(lambda: all(replicas(k, v) == "local-1=primary,fi-hel-1=completed" for k, v in versions.values()),
               60, "every version replicated to the provider", gw.log_tail)
    zones = Zones(gw, fi, bucket)
    for name, body in bodies.items():
        assert zones.count(body) == (1, 1), (name, zones.count(body))
    return type("Lock", (), dict(s3=s3, bucket=bucket, until=until, bodies=bodies, versions=versions,
                                 zones=zones, replicas=staticmethod(replicas)))


def assert_kept(lock, path: str, locked=("compliance", "held")):
    """The locked versions' bytes are in both zones and read back by id, byte for byte."""
    assert utcnow() < lock.until, f"the steps before {path} outlasted the retention: nothing was tried"
    for name in locked:
        key, vid = lock.versions[name]
        body = lock.bodies[name]
        local, remote = lock.zones.count(body)
        assert local >= 1 and remote >= 1, f"after {path}: {name} has {local} local and {remote} provider copies"
        assert lock.s3.get_object(Bucket=lock.bucket, Key=key, VersionId=vid)["Body"].read() == body, (path, name)
    for name in locked:
        key, vid = lock.versions[name]
        assert code_of(lambda: lock.s3.delete_object(Bucket=lock.bucket, Key=key, VersionId=vid,
                                                     BypassGovernanceRetention=True)) == "AccessDenied", (path, name)


def test_repair_through_the_cli_and_the_admin_api(gw, lock):
    r = cli(gw, "repair", lock.bucket, "--deep", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_kept(lock, "s3gw repair --deep")
    r = ok(admin(gw, "POST", f"tenants/default/buckets/{lock.bucket}/repair", {"deep": True}))
    assert r["checked"] == 3 and r["lost"] == 0 and r["queued"] == 0, r
    assert_kept(lock, "admin repair")


def test_a_damaged_copy_of_a_locked_version_is_made_again(gw, lock):
    """A deep repair hands the damaged primary's role to the provider's copy and copies it back:
    the removal it queues takes only the damaged bytes."""
    body = lock.bodies["compliance"]
    (path,) = lock.zones.local(body)
    path.write_bytes(bytes(b ^ 0xFF for b in body))
    r = ok(admin(gw, "POST", f"tenants/default/buckets/{lock.bucket}/repair", {"key": "c", "deep": True}))
    assert r["lost"] == 0 and r["queued"] >= 1, r
    key, vid = lock.versions["compliance"]
    wait_until(lambda: lock.zones.count(body) == (1, 1) and "completed" in (lock.replicas(key, vid) or ""), 30,
               "the damaged copy made again", gw.log_tail)
    wait_until(lambda: not path.exists() or path.read_bytes() == body, 30, "the damaged bytes gone", gw.log_tail)
    assert_kept(lock, "repair of a damaged copy")


def test_orphan_removal_through_the_cli_and_the_admin_api(gw, lock):
    r = cli(gw, "audit", "residency", "--json", "--remove-orphans", "--older-than", "0", check=False)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    (mine,) = [b for b in as_json(r)["buckets"] if b["bucket"] == lock.bucket]
    assert mine["orphans"].get("removed", 0) == 0 and mine["violations"]["count"] == 0, mine
    assert_kept(lock, "s3gw audit residency --remove-orphans")
    doc = ok(admin(gw, "POST", "audit/residency", {"remove_orphans": True, "older_than": 0}))
    (mine,) = [b for b in doc["buckets"] if b["bucket"] == lock.bucket]
    assert mine["orphans"].get("removed", 0) == 0 and mine["missing"]["count"] == 0, mine
    assert_kept(lock, "admin audit with orphan removal")


def test_failover_promotion_and_back(gw, lock):
    r = ok(admin(gw, "POST", "failover/promote", {"bucket": lock.bucket, "zone": "fi-hel-1"}))
    assert r["changed"] and r["primary_zone"] == "fi-hel-1", r
    # The next repair looks at every copy with the provider as the primary zone.
    r = ok(admin(gw, "POST", f"tenants/default/buckets/{lock.bucket}/repair", {"deep": True}))
    assert r["lost"] == 0, r
    assert_kept(lock, "failover promote + repair")
    r = cli(gw, "failover", "promote", lock.bucket, "local-1", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_kept(lock, "failover promote back")


def test_lowering_the_replica_count_through_the_admin_api(gw, lock):
    r = ok(admin(gw, "PATCH", f"tenants/default/buckets/{lock.bucket}", {"replica_count": 1}))
    assert r["objects_queued"] == 1 and r["objects_kept_locked"] == 2, r
    # The unlocked version's provider copy goes; the locked ones keep theirs.
    wait_until(lambda: lock.zones.count(lock.bodies["plain"]) == (1, 0), 30, "the unlocked copy removed",
               gw.log_tail)
    assert_kept(lock, "replica-count 1")
    # Back to two: the unlocked version is copied again.
    ok(admin(gw, "PATCH", f"tenants/default/buckets/{lock.bucket}", {"replica_count": 2}))
    wait_until(lambda: lock.zones.count(lock.bodies["plain"]) == (1, 1), 30, "the unlocked copy made again",
               gw.log_tail)


def test_cancelling_and_retrying_replication_jobs(gw, lock):
    jobs = ok(admin(gw, "GET", f"replication/jobs?bucket={lock.bucket}&limit=1000"))["items"]
    for job in jobs:
        if job["state"] == "pending":
            admin(gw, "DELETE", f"replication/jobs/{job['id']}")  # 204, or 409 when it started meanwhile
    ok(admin(gw, "POST", "replication/retry", {"all_dead": True}))
    r = cli(gw, "replication", "retry", "--dead", check=False)
    assert r.returncode in (0, 1) and "queued again" in r.stdout, r.stdout + r.stderr  # 1: none was dead
    assert_kept(lock, "replication cancel/retry")


def test_clients_emptying_and_deleting_the_bucket(gw, lock, tmp_path):
    s3 = lock.s3
    assert code_of(lambda: s3.delete_bucket(Bucket=lock.bucket)) == "BucketNotEmpty"
    # The aws CLI's forced removal: a marker per key, then DeleteBucket refused.
    rb = run(["aws", "--endpoint-url", gw.http_url, "s3", "rb", "--force", f"s3://{lock.bucket}"],
             env=client_env(gw, "http", tmp_path), check=False)
    assert rb.returncode != 0 and "BucketNotEmpty" in rb.stderr, rb.stdout + rb.stderr
    assert_kept(lock, "aws s3 rb --force")
    # boto3 deletes every version it lists: the unlocked ones and the markers go, the locked stay.
    res = boto3.resource("s3", endpoint_url=gw.http_url, aws_access_key_id=gw.access_key,
                         aws_secret_access_key=gw.secret_key, region_name="us-east-1")
    answers = res.Bucket(lock.bucket).object_versions.delete()
    refused = sorted((e["Key"], e["VersionId"], e["Code"]) for a in answers for e in a.get("Errors", []))
    assert refused == sorted([(*lock.versions["compliance"], "AccessDenied"),
                              (*lock.versions["held"], "AccessDenied")]), answers
    listed = s3.list_object_versions(Bucket=lock.bucket)
    assert sorted((v["Key"], v["VersionId"]) for v in listed.get("Versions", [])) == sorted(
        [lock.versions["compliance"], lock.versions["held"]]) and not listed.get("DeleteMarkers"), listed
    wait_until(lambda: lock.zones.count(lock.bodies["plain"]) == (0, 0), 30, "the unlocked version's bytes gone",
               gw.log_tail)
    assert code_of(lambda: s3.delete_bucket(Bucket=lock.bucket)) == "BucketNotEmpty"
    assert_kept(lock, "object_versions.delete() and DeleteBucket")


def test_deleting_the_tenant_of_a_locked_bucket_is_refused(gw, lock):
    """No admin path deletes a bucket; deleting a tenant is refused while it has one. The default
    tenant (this bucket's) cannot be deleted at all."""
    r = admin(gw, "DELETE", "tenants/default")
    assert r.status_code == 409, r.text
    assert_kept(lock, "DELETE tenants/default")


def test_once_the_date_passes_the_compliance_version_goes_and_the_hold_blocks_until_off(gw, lock):
    s3 = lock.s3
    key, vid = lock.versions["compliance"]
    body = lock.bodies["compliance"]
    wait_until(lambda: code_of(lambda: s3.delete_object(Bucket=lock.bucket, Key=key, VersionId=vid)) is None,
               RETENTION + 15, "the COMPLIANCE version deletable after its date", gw.log_tail, interval=0.5)
    assert utcnow() >= lock.until
    assert code_of(lambda: s3.head_object(Bucket=lock.bucket, Key=key, VersionId=vid)) == "404"
    wait_until(lambda: lock.zones.count(body) == (0, 0), 30, "the expired version's bytes gone from both zones",
               gw.log_tail)

    key, vid = lock.versions["held"]
    body = lock.bodies["held"]
    assert code_of(lambda: s3.delete_object(Bucket=lock.bucket, Key=key, VersionId=vid,
                                            BypassGovernanceRetention=True)) == "AccessDenied"
    assert lock.zones.count(body) == (1, 1)
    s3.put_object_legal_hold(Bucket=lock.bucket, Key=key, VersionId=vid, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=lock.bucket, Key=key, VersionId=vid)
    wait_until(lambda: lock.zones.count(body) == (0, 0), 30, "the released version's bytes gone from both zones",
               gw.log_tail)
    # Nothing left: the bucket goes.
    s3.delete_bucket(Bucket=lock.bucket)
