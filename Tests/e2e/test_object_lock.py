"""Object Lock end to end with boto3 and the aws CLI: a bucket created with lock has versioning on
for good; its lock configuration and default retention; a COMPLIANCE version survives every
client attempt to remove it until its date passes (seconds ahead), then goes; GOVERNANCE yields
only to the bypass header together with s3:BypassGovernanceRetention; a legal hold blocks until
it is OFF; S3's digest rule holds for clients that send none (real SDKs send one). Of the
background paths, the orphan sweep (`s3gw audit residency --remove-orphans`) and the lifecycle
runner (agent clock moved days ahead) are tried here; replica-count lowering and repair are the
agent's tests."""

import datetime as dt
import json
import os

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

import sigv4
from admin_api import admin
from admin_cli import cli
from conftest import Stack, client_env, new_bucket_name, run, s3_client, start_with_test_clock, wait_until

DIGEST_RULE = "Content-MD5 OR x-amz-checksum- HTTP header is required"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def error(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def code_or_none(call):
    try:
        call()
        return None
    except ClientError as e:
        return e.response["Error"]["Code"]


@pytest.fixture(scope="module")
def client(gw):
    return s3_client(gw)


@pytest.fixture
def locked(client):
    name = new_bucket_name("lock")
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.fixture(scope="module")
def clerk(gw):
    """A user of the default tenant who may do everything with objects but bypass governance."""
    name = "clerk-" + new_bucket_name("u")[-8:]
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObjectVersion",
               "s3:PutObjectRetention", "s3:GetObjectRetention", "s3:PutObjectLegalHold", "s3:GetObjectLegalHold",
               "s3:ListBucket", "s3:ListBucketVersions"]
    r = admin(gw, "POST", "tenants/default/users", {"name": name, "permissions": {a: ["*"] for a in actions}})
    assert r.status_code == 201, r.text
    key = admin(gw, "POST", f"tenants/default/users/{name}/credentials")
    assert key.status_code == 201, key.text
    made = key.json()
    return boto3.client("s3", endpoint_url=gw.http_url, aws_access_key_id=made["access_key"],
                        aws_secret_access_key=made["secret_key"], region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def test_create_bucket_with_lock_turns_versioning_on_for_good(client, locked):
    assert client.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    assert error(lambda: client.put_bucket_versioning(
        Bucket=locked, VersioningConfiguration={"Status": "Suspended"})) == ("InvalidBucketState", 409)
    assert client.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    config = client.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}


def test_lock_configuration_round_trip(client, locked):
    client.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 1}}})
    got = client.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert got == {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 1}}}
    assert error(lambda: client.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}})) == (
        "InvalidArgument", 400)
    # The default applies to a write that names no lock.
    before = utcnow()
    v = client.put_object(Bucket=locked, Key="defaulted", Body=b"x")["VersionId"]
    head = client.head_object(Bucket=locked, Key="defaulted", VersionId=v)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert before + dt.timedelta(days=364) < until < utcnow() + dt.timedelta(days=366), until
    # Remove it again with the bypass (root holds every permission).
    client.delete_object(Bucket=locked, Key="defaulted", VersionId=v, BypassGovernanceRetention=True)


def test_compliance_version_survives_every_client_attempt_until_its_date(client, locked):
    until = utcnow() + dt.timedelta(seconds=8)
    put = client.put_object(Bucket=locked, Key="k", Body=b"kept bytes", ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=until)
    v = put["VersionId"]
    retention = client.get_object_retention(Bucket=locked, Key="k", VersionId=v)["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    assert abs((retention["RetainUntilDate"] - until).total_seconds()) < 1

    assert error(lambda: client.delete_object(Bucket=locked, Key="k", VersionId=v)) == ("AccessDenied", 403)
    assert error(lambda: client.delete_object(Bucket=locked, Key="k", VersionId=v,
                                              BypassGovernanceRetention=True)) == ("AccessDenied", 403)
    result = client.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "k", "VersionId": v}]})
    assert [(e["Key"], e["Code"]) for e in result.get("Errors", [])] == [("k", "AccessDenied")], result
    assert error(lambda: client.put_object_retention(
        Bucket=locked, Key="k", VersionId=v, BypassGovernanceRetention=True,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until - dt.timedelta(seconds=5)})) == ("AccessDenied", 403)
    assert error(lambda: client.put_object_retention(
        Bucket=locked, Key="k", VersionId=v, BypassGovernanceRetention=True,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until + dt.timedelta(days=1)})) == ("AccessDenied", 403)
    assert error(lambda: client.delete_bucket(Bucket=locked)) == ("BucketNotEmpty", 409)
    # A DELETE without a version id only adds a marker: the version and its bytes stay.
    client.delete_object(Bucket=locked, Key="k")
    assert client.get_object(Bucket=locked, Key="k", VersionId=v)["Body"].read() == b"kept bytes"

    # Once the date passes, the version can go.
    wait_until(lambda: code_or_none(lambda: client.delete_object(Bucket=locked, Key="k", VersionId=v)) is None,
               timeout=30, what="the COMPLIANCE version deletable after its date", interval=0.5)
    assert error(lambda: client.head_object(Bucket=locked, Key="k", VersionId=v))[1] == 404


def test_governance_yields_only_to_the_bypass_with_its_permission(client, clerk, locked):
    later = utcnow() + dt.timedelta(days=1)
    v = client.put_object(Bucket=locked, Key="g", Body=b"g", ObjectLockMode="GOVERNANCE",
                          ObjectLockRetainUntilDate=later)["VersionId"]
    assert error(lambda: client.delete_object(Bucket=locked, Key="g", VersionId=v)) == ("AccessDenied", 403)
    # The header without the permission is not enough.
    assert error(lambda: clerk.delete_object(Bucket=locked, Key="g", VersionId=v,
                                             BypassGovernanceRetention=True)) == ("AccessDenied", 403)
    assert error(lambda: clerk.put_object_retention(
        Bucket=locked, Key="g", VersionId=v, BypassGovernanceRetention=True,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later - dt.timedelta(hours=1)})) == ("AccessDenied", 403)
    # Extending, and GOVERNANCE → COMPLIANCE, need no bypass... (on another version, which stays)
    v2 = client.put_object(Bucket=locked, Key="g2", Body=b"g2", ObjectLockMode="GOVERNANCE",
                           ObjectLockRetainUntilDate=utcnow() + dt.timedelta(seconds=5))["VersionId"]
    clerk.put_object_retention(Bucket=locked, Key="g2", VersionId=v2, Retention={
        "Mode": "COMPLIANCE", "RetainUntilDate": utcnow() + dt.timedelta(seconds=6)})
    assert client.get_object_retention(Bucket=locked, Key="g2", VersionId=v2)["Retention"]["Mode"] == "COMPLIANCE"
    # ...while the header with the permission removes a GOVERNANCE version.
    client.delete_object(Bucket=locked, Key="g", VersionId=v, BypassGovernanceRetention=True)
    assert error(lambda: client.head_object(Bucket=locked, Key="g", VersionId=v))[1] == 404


def test_legal_hold_blocks_until_off(client, locked):
    v = client.put_object(Bucket=locked, Key="held", Body=b"h", ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert client.get_object_legal_hold(Bucket=locked, Key="held", VersionId=v)["LegalHold"]["Status"] == "ON"
    assert client.head_object(Bucket=locked, Key="held", VersionId=v)["ObjectLockLegalHoldStatus"] == "ON"
    assert error(lambda: client.delete_object(Bucket=locked, Key="held", VersionId=v,
                                              BypassGovernanceRetention=True)) == ("AccessDenied", 403)
    client.put_object_legal_hold(Bucket=locked, Key="held", VersionId=v, LegalHold={"Status": "OFF"})
    assert client.get_object_legal_hold(Bucket=locked, Key="held", VersionId=v)["LegalHold"]["Status"] == "OFF"
    client.delete_object(Bucket=locked, Key="held", VersionId=v)
    assert error(lambda: client.head_object(Bucket=locked, Key="held", VersionId=v))[1] == 404


def test_multipart_and_copy_carry_the_lock_they_name(client, locked):
    until = utcnow() + dt.timedelta(seconds=5)
    mp = client.create_multipart_upload(Bucket=locked, Key="mp", ObjectLockMode="COMPLIANCE",
                                        ObjectLockRetainUntilDate=until)
    part = client.upload_part(Bucket=locked, Key="mp", UploadId=mp["UploadId"], PartNumber=1, Body=b"p" * 1024)
    done = client.complete_multipart_upload(Bucket=locked, Key="mp", UploadId=mp["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    head = client.head_object(Bucket=locked, Key="mp", VersionId=done["VersionId"])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert error(lambda: client.delete_object(Bucket=locked, Key="mp", VersionId=done["VersionId"]))[1] == 403
    copy = client.copy_object(Bucket=locked, Key="copy", CopySource={"Bucket": locked, "Key": "mp"},
                              ObjectLockLegalHoldStatus="ON")
    head = client.head_object(Bucket=locked, Key="copy", VersionId=copy["VersionId"])
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    assert "ObjectLockMode" not in head, "the copy does not inherit its source's retention"
    client.put_object_legal_hold(Bucket=locked, Key="copy", VersionId=copy["VersionId"], LegalHold={"Status": "OFF"})


def test_requests_without_a_digest_are_refused(gw, locked):
    """boto3 and the CLI add a checksum themselves; a hand-made PUT with lock headers and none is refused."""
    url = f"{gw.http_url}/{locked}/raw"
    body = b"raw bytes"
    s = sigv4.sign("PUT", url, gw.access_key, gw.secret_key, payload_hash=sigv4.sha256_hex(body),
                   headers={"x-amz-object-lock-legal-hold": "ON"})
    r = requests.put(url, data=body, headers=s.headers, timeout=30)
    assert r.status_code == 400 and "<Code>InvalidRequest</Code>" in r.text and DIGEST_RULE in r.text, r.text
    retention = b"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2040-01-01T00:00:00Z</RetainUntilDate></Retention>"
    s = sigv4.sign("PUT", url + "?retention", gw.access_key, gw.secret_key, payload_hash=sigv4.sha256_hex(retention))
    r = requests.put(url + "?retention", data=retention, headers=s.headers, timeout=30)
    assert r.status_code == 400 and DIGEST_RULE in r.text, r.text


def test_aws_cli_sets_and_reads_retention_and_legal_hold(gw, client, locked, tmp_path):
    env = client_env(gw, "http", tmp_path)
    base = ["aws", "--endpoint-url", gw.http_url, "s3api"]
    src = tmp_path / "f"
    src.write_bytes(b"cli bytes")
    until = (utcnow() + dt.timedelta(seconds=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = json.loads(run(base + ["put-object", "--bucket", locked, "--key", "cli", "--body", str(src),
                                 "--object-lock-mode", "GOVERNANCE", "--object-lock-retain-until-date", until],
                         env=env).stdout)
    v = out["VersionId"]
    got = json.loads(run(base + ["get-object-retention", "--bucket", locked, "--key", "cli", "--version-id", v],
                         env=env).stdout)
    assert got["Retention"]["Mode"] == "GOVERNANCE"
    run(base + ["put-object-legal-hold", "--bucket", locked, "--key", "cli", "--version-id", v,
                "--legal-hold", "Status=ON"], env=env)
    head = json.loads(run(base + ["head-object", "--bucket", locked, "--key", "cli", "--version-id", v],
                          env=env).stdout)
    assert head["ObjectLockLegalHoldStatus"] == "ON" and head["ObjectLockMode"] == "GOVERNANCE", head
    denied = run(base + ["delete-object", "--bucket", locked, "--key", "cli", "--version-id", v,
                         "--bypass-governance-retention"], env=env, check=False)
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr, denied.stderr
    run(base + ["put-object-legal-hold", "--bucket", locked, "--key", "cli", "--version-id", v,
                "--legal-hold", "Status=OFF"], env=env)
    run(base + ["delete-object", "--bucket", locked, "--key", "cli", "--version-id", v,
                "--bypass-governance-retention"], env=env)
    cfg = json.loads(run(base + ["get-object-lock-configuration", "--bucket", locked], env=env).stdout)
    assert cfg["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    made = new_bucket_name("clilock")
    run(base + ["create-bucket", "--bucket", made, "--object-lock-enabled-for-bucket"], env=env)
    run(base + ["put-object-lock-configuration", "--bucket", made, "--object-lock-configuration",
                '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}'], env=env)
    assert client.get_object_lock_configuration(Bucket=made)["ObjectLockConfiguration"]["Rule"] == {
        "DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}
    client.delete_bucket(Bucket=made)


def test_post_form_fields_set_the_lock(client, locked):
    until = (utcnow() + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = {"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": until,
              "x-amz-object-lock-legal-hold": "OFF"}
    form = client.generate_presigned_post(locked, "posted", Fields=fields,
                                          Conditions=[{k: v} for k, v in fields.items()])
    r = requests.post(form["url"], data=form["fields"], files={"file": ("f", b"form bytes")}, timeout=30)
    assert r.status_code == 204, r.text
    head = client.head_object(Bucket=locked, Key="posted")
    assert head["ObjectLockMode"] == "COMPLIANCE", head
    assert error(lambda: client.delete_object(Bucket=locked, Key="posted", VersionId=head["VersionId"]))[1] == 403


def test_aws_cli_cp_into_a_bucket_with_a_default_retention(gw, client, locked, tmp_path):
    """The default retention makes every write a lock write: the CLI's own checksum satisfies S3's rule."""
    client.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    env = client_env(gw, "http", tmp_path)
    src = tmp_path / "f"
    src.write_bytes(b"copied by the cli")
    run(["aws", "--endpoint-url", gw.http_url, "s3", "cp", str(src), f"s3://{locked}/cp"], env=env)
    head = client.head_object(Bucket=locked, Key="cp")
    assert head["ObjectLockMode"] == "GOVERNANCE", head
    assert error(lambda: client.delete_object(Bucket=locked, Key="cp", VersionId=head["VersionId"]))[1] == 403
    client.delete_object(Bucket=locked, Key="cp", VersionId=head["VersionId"], BypassGovernanceRetention=True)
    # Large enough for a multipart upload: each part carries the CLI's checksum too.
    big = tmp_path / "big"
    big.write_bytes(b"m" * (9 * 1024 * 1024))
    run(["aws", "--endpoint-url", gw.http_url, "s3", "cp", str(big), f"s3://{locked}/big"], env=env)
    head = client.head_object(Bucket=locked, Key="big")
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ContentLength"] == 9 * 1024 * 1024, head
    client.delete_object(Bucket=locked, Key="big", VersionId=head["VersionId"], BypassGovernanceRetention=True)


# -- background paths that exist on main: the orphan sweep and the lifecycle runner --------------

def test_the_orphan_sweep_keeps_a_locked_noncurrent_version(gw, client, locked):
    v1 = client.put_object(Bucket=locked, Key="k", Body=b"locked old bytes", ObjectLockMode="COMPLIANCE",
                           ObjectLockRetainUntilDate=utcnow() + dt.timedelta(seconds=8))["VersionId"]
    client.put_object(Bucket=locked, Key="k", Body=b"newer")
    client.delete_object(Bucket=locked, Key="k")
    r = cli(gw, "audit", "residency", "--json", "--remove-orphans", "--older-than", "0")
    assert r.returncode in (0, 1, 2), r.stderr
    mine = [b for b in json.loads(r.stdout)["buckets"] if b["bucket"] == locked]
    assert mine and mine[0]["orphans"].get("removed", 0) == 0, mine
    assert client.get_object(Bucket=locked, Key="k", VersionId=v1)["Body"].read() == b"locked old bytes"


@pytest.fixture(scope="module")
def lifecycle_stack():
    """A gateway whose agent runs lifecycle every second on a clock the test moves ahead."""
    s = start_with_test_clock(Stack("lock-lifecycle"))
    yield s
    s.stop()
    s.cleanup()


def test_lifecycle_never_removes_a_locked_version(lifecycle_stack):
    stack = lifecycle_stack
    client = s3_client(stack)
    bucket = new_bucket_name("lock-lc")
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    kept = client.put_object(Bucket=bucket, Key="k", Body=b"compliance bytes", ObjectLockMode="COMPLIANCE",
                             ObjectLockRetainUntilDate=utcnow() + dt.timedelta(days=30))["VersionId"]
    held = client.put_object(Bucket=bucket, Key="h", Body=b"held bytes", ObjectLockLegalHoldStatus="ON")["VersionId"]
    client.put_object(Bucket=bucket, Key="k", Body=b"k2")
    client.put_object(Bucket=bucket, Key="h", Body=b"h2")
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "everything", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})
    stack.offset_file.write_text(str(3 * 86_400))
    # Every pass from now on finds both old versions due and keeps them.
    wait_until(lambda: "2 locked versions kept" in stack.gateway_log.read_text(errors="replace"), 30,
               "a lifecycle pass keeping both locked versions", detail=stack.log_tail)
    assert client.get_object(Bucket=bucket, Key="k", VersionId=kept)["Body"].read() == b"compliance bytes"
    assert client.get_object(Bucket=bucket, Key="h", VersionId=held)["Body"].read() == b"held bytes"
    # Released from its hold, the noncurrent version goes with the next pass.
    client.put_object_legal_hold(Bucket=bucket, Key="h", VersionId=held, LegalHold={"Status": "OFF"})

    def gone():
        versions = client.list_object_versions(Bucket=bucket, Prefix="h").get("Versions", [])
        return held not in [v["VersionId"] for v in versions]
    wait_until(gone, 30, "the lifecycle runner to remove the released version", detail=stack.log_tail)
    assert client.get_object(Bucket=bucket, Key="k", VersionId=kept)["Body"].read() == b"compliance bytes"


def test_the_audit_chain_records_each_versioning_and_lock_change(gw, client):
    from admin_cli import as_json

    bucket = new_bucket_name("lock-audit")
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    client.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    v1 = client.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = client.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    marker = client.delete_object(Bucket=bucket, Key="k")["VersionId"]
    client.put_object_retention(Bucket=bucket, Key="k", VersionId=v2, Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": utcnow() + dt.timedelta(days=1)})
    client.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=v2, LegalHold={"Status": "ON"})
    client.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=v2, LegalHold={"Status": "OFF"})
    client.delete_object(Bucket=bucket, Key="k", VersionId=v1)

    records = as_json(cli(gw, "audit", "show", "--json", "--limit", "1000", "--bucket", bucket))["records"]
    records.sort(key=lambda r: r["seq"])

    def detail(r):
        return json.loads(r.get("detail") or "{}")

    got = [(r["change"], r.get("key") or "", detail(r).get("version_id", "")) for r in records]
    assert got == [
        ("bucket.create", "", ""), ("bucket.versioning", "", ""),
        ("bucket.object-lock", "", ""), ("bucket.object-lock", "", ""),
        ("object.put", "k", v1), ("object.put", "k", v2), ("object.delete-marker", "k", marker),
        ("object.retention", "k", v2), ("object.legal-hold", "k", v2), ("object.legal-hold", "k", v2),
        ("object.delete", "k", v1)], json.dumps(records, indent=1)
    by_change = {r["change"]: detail(r) for r in records}
    assert by_change["bucket.versioning"]["status"] == "Enabled"
    assert [detail(r) for r in records if r["change"] == "bucket.object-lock"] == [
        {"mode": "GOVERNANCE", "days": 1}, {}]
    assert by_change["object.retention"]["mode"] == "GOVERNANCE"
    assert [detail(r)["status"] for r in records if r["change"] == "object.legal-hold"] == ["ON", "OFF"]
    assert {(r["origin"], r["access_key_id"]) for r in records} == {("s3", gw.access_key)}
    r = cli(gw, "audit", "verify", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout + r.stderr
