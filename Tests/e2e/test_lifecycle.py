"""Bucket lifecycle end to end (docs/VERSIONING.md, "Lifecycle"): Put/Get/DeleteBucketLifecycle-
Configuration with boto3 and the aws CLI, S3's validation errors, `x-amz-expiration` and
`x-amz-abort-date` on object answers, and the agent applying the rules days ahead of time: the
stack's agent reads a test clock offset (S3GW_TEST_CLOCK_OFFSET_FILE, test-only) and runs a pass
every second ([lifecycle] interval = 1). With S3GW_E2E_ZONE=remote the buckets live on a moto
provider zone, and the expired versions' bytes must leave the provider."""

import datetime as dt
import hashlib
import hmac
import json
import os
import time

import pytest
import requests
from botocore.exceptions import ClientError

import sigv4
from admin_cli import as_json, cli
from conftest import (Moto, Stack, client_env, new_bucket_name, provider_zone, run, s3_client, start_with_test_clock,
                      wait_until)

DAY = 86_400


@pytest.fixture(scope="module")
def stack():
    moto = Moto("moto-lifecycle") if os.environ.get("S3GW_E2E_ZONE") == "remote" else None
    s = Stack("lifecycle", default_zone="remote-1" if moto else "local-1")
    s.moto = moto
    if moto:
        s.extra += provider_zone("remote-1", "fi", "fi-hel", moto.port, response_timeout=60)
    try:
        start_with_test_clock(s)
    except BaseException:
        if moto:
            moto.cleanup()
        raise
    yield s
    s.stop()
    s.cleanup()
    if moto:
        moto.cleanup()


def stored_blobs(stack, bucket) -> int:
    """How many blobs the bucket's zone holds for it: files in the filesystem zone, or objects at
    the moto provider (the bucket's name there is derived as the gateway does: an HMAC of the
    installation secret)."""
    zone = "remote-1" if stack.moto else "local-1"
    secret = bytes.fromhex((stack.state_dir / "installation-secret").read_text().strip())
    name = "s3gw-" + hmac.new(secret, f"default\0{bucket}\0{zone}".encode(), hashlib.sha256).hexdigest()[:40]
    if stack.moto:
        return len(stack.moto.objects().get(name, []))
    return sum(1 for p in (stack.zone_dir / "buckets" / name).rglob("*") if p.is_file())


def error_of(call) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"].get("Message", "")


def test_the_test_clock_is_announced(stack):
    """Only the agent takes the offset (workers check signatures against their clock), and says so."""
    wait_until(lambda: "TEST CLOCK ACTIVE" in stack.gateway_log.read_text(errors="replace"), 15,
               "the agent's test clock warning", detail=stack.log_tail)


RULES = [
    {"ID": "expire logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}},
    {"ID": "tmp tagged", "Status": "Disabled",
     "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "class", "Value": "scratch"}],
                        "ObjectSizeGreaterThan": 10}},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 3, "NewerNoncurrentVersions": 2}},
    {"ID": "uploads", "Status": "Enabled", "Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
]


def test_put_get_delete_with_boto3_and_the_aws_cli(stack, tmp_path):
    client = s3_client(stack)
    bucket = new_bucket_name("lc")
    client.create_bucket(Bucket=bucket)
    assert error_of(lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket))[:2] == (
        "NoSuchLifecycleConfiguration", 404)
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": RULES})
    got = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got == RULES

    # The aws CLI reads the same document, replaces it and removes it.
    env = client_env(stack, "http", tmp_path)
    api = ["aws", "--endpoint-url", stack.http_url, "s3api"]
    shown = json.loads(run(api + ["get-bucket-lifecycle-configuration", "--bucket", bucket], env=env).stdout)
    assert [r["ID"] for r in shown["Rules"]] == ["expire logs", "tmp tagged", "uploads"]
    config = tmp_path / "lifecycle.json"
    config.write_text(json.dumps({"Rules": [
        {"ID": "markers", "Status": "Enabled", "Prefix": "old/",
         "Expiration": {"ExpiredObjectDeleteMarker": True}}]}))
    run(api + ["put-bucket-lifecycle-configuration", "--bucket", bucket, "--lifecycle-configuration",
               f"file://{config}"], env=env)
    got = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got == [{"ID": "markers", "Status": "Enabled", "Prefix": "old/",
                    "Expiration": {"ExpiredObjectDeleteMarker": True}}]
    run(api + ["delete-bucket-lifecycle", "--bucket", bucket], env=env)
    assert error_of(lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket))[:2] == (
        "NoSuchLifecycleConfiguration", 404)
    changes = [r["change"] for r in as_json(cli(stack, "audit", "show", "--json", "--bucket", bucket))["records"]]
    assert changes.count("bucket.lifecycle") == 2 and changes.count("bucket.lifecycle-delete") == 1, changes


def test_validation_errors(stack):
    client = s3_client(stack)
    bucket = new_bucket_name("lcv")
    client.create_bucket(Bucket=bucket)

    def put(*rules):
        return error_of(lambda: client.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)}))

    base = {"Status": "Enabled", "Filter": {"Prefix": ""}}
    assert put({**base, "ID": "a", "Expiration": {"Days": 1}}, {**base, "ID": "a", "Expiration": {"Days": 2}}) == (
        "InvalidArgument", 400, "Rule ID must be unique. Found same ID for more than one rule")
    assert put({**base, "ID": "x" * 256, "Expiration": {"Days": 1}}) == (
        "InvalidArgument", 400, "ID length should not exceed allowed limit of 255")
    assert put({**base, "ID": "zero", "Expiration": {"Days": 0}})[:2] == ("InvalidArgument", 400)
    assert put({**base, "ID": "noon", "Expiration": {"Date": "2030-01-01T12:00:00Z"}}) == (
        "InvalidArgument", 400, "'Date' must be at midnight GMT")
    assert put({**base, "ID": "idle"}) == (
        "InvalidRequest", 400, "At least one action needs to be specified in a rule")
    assert put({"ID": "tags", "Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})[:2] == ("InvalidRequest", 400)
    assert put({**base, "ID": "keep", "NoncurrentVersionExpiration": {
        "NoncurrentDays": 1, "NewerNoncurrentVersions": 101}})[:2] == ("InvalidArgument", 400)
    assert put({**base, "ID": "glacier", "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]})[:2] == (
        "NotImplemented", 501)
    # S3 requires the body protected by Content-MD5 or an x-amz-checksum-*.
    body = (b"<LifecycleConfiguration><Rule><ID>a</ID><Filter/><Status>Enabled</Status>"
            b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>")
    url = f"{stack.http_url}/{bucket}?lifecycle"
    s = sigv4.sign("PUT", url, stack.access_key, stack.secret_key, {}, payload_hash=sigv4.sha256_hex(body))
    r = requests.put(url, data=body, headers=s.headers, timeout=30)
    assert r.status_code == 400 and "<Code>InvalidRequest</Code>" in r.text and "Content-MD5" in r.text, r.text
    assert error_of(lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket))[0] == (
        "NoSuchLifecycleConfiguration"), "nothing was stored"


def test_expiration_and_abort_headers(stack):
    client = s3_client(stack)
    bucket = new_bucket_name("lch")
    client.create_bucket(Bucket=bucket)
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": RULES})
    put = client.put_object(Bucket=bucket, Key="logs/a", Body=b"x")
    head = client.head_object(Bucket=bucket, Key="logs/a")
    raw = head["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"]
    assert raw.startswith('expiry-date="') and raw.endswith(' 00:00:00 GMT", rule-id="expire%20logs"'), raw
    assert put["Expiration"] == head["Expiration"] == raw
    expiry = time.mktime(time.strptime(raw.split('"')[1], "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
    assert DAY < expiry - time.time() <= 2 * DAY, "a day, rounded up to the next midnight UTC"
    client.put_object(Bucket=bucket, Key="data/a", Body=b"x")
    assert "Expiration" not in client.head_object(Bucket=bucket, Key="data/a")
    up = client.create_multipart_upload(Bucket=bucket, Key="data/big")
    assert up["AbortRuleId"] == "uploads"
    assert 2 * DAY < up["AbortDate"].timestamp() - time.time() <= 3 * DAY
    client.abort_multipart_upload(Bucket=bucket, Key="data/big", UploadId=up["UploadId"])


def test_the_agent_applies_the_rules_days_ahead(stack):
    client = s3_client(stack)
    plain, versioned = new_bucket_name("lcp"), new_bucket_name("lcv")
    client.create_bucket(Bucket=plain)
    client.create_bucket(Bucket=versioned)
    client.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    rules = [{"ID": "day", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}},
             {"ID": "noncurrent", "Status": "Enabled", "Filter": {},
              "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
             {"ID": "uploads", "Status": "Enabled", "Filter": {},
              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]
    for b in (plain, versioned):
        client.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": rules})
    client.put_object(Bucket=plain, Key="old", Body=b"plain bytes")
    first = client.put_object(Bucket=versioned, Key="k", Body=b"first")["VersionId"]
    second = client.put_object(Bucket=versioned, Key="k", Body=b"second")["VersionId"]
    upload = client.create_multipart_upload(Bucket=plain, Key="pending")["UploadId"]

    # An unversioned bucket whose rules each match some objects and not others: a Date, a tag,
    # a prefix with a size bound.
    filtered = new_bucket_name("lcf")
    client.create_bucket(Bucket=filtered)
    midnight = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    client.put_bucket_lifecycle_configuration(Bucket=filtered, LifecycleConfiguration={"Rules": [
        {"ID": "dated", "Status": "Enabled", "Filter": {"Prefix": "dated/"}, "Expiration": {"Date": midnight}},
        {"ID": "scratch", "Status": "Enabled", "Filter": {"Tag": {"Key": "class", "Value": "scratch"}},
         "Expiration": {"Days": 1}},
        {"ID": "big", "Status": "Enabled", "Filter": {"And": {"Prefix": "sized/", "ObjectSizeGreaterThan": 100}},
         "Expiration": {"Days": 1}}]})
    client.put_object(Bucket=filtered, Key="dated/a", Body=b"dated")
    client.put_object(Bucket=filtered, Key="kept/a", Body=b"no rule matches")
    client.put_object(Bucket=filtered, Key="t/scratch", Body=b"scratch", Tagging="class=scratch")
    client.put_object(Bucket=filtered, Key="t/keep", Body=b"keep", Tagging="class=keep")
    client.put_object(Bucket=filtered, Key="sized/big", Body=b"b" * 200)
    client.put_object(Bucket=filtered, Key="sized/small", Body=b"s" * 10)

    # A versioned bucket for delete markers and for keeping the newest noncurrent versions.
    markers = new_bucket_name("lcm")
    client.create_bucket(Bucket=markers)
    client.put_bucket_versioning(Bucket=markers, VersioningConfiguration={"Status": "Enabled"})
    client.put_bucket_lifecycle_configuration(Bucket=markers, LifecycleConfiguration={"Rules": [
        {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": "m/"},
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
        {"ID": "marker days", "Status": "Enabled", "Filter": {"Prefix": "d/"}, "Expiration": {"Days": 1}},
        {"ID": "keep two", "Status": "Enabled", "Filter": {"Prefix": "n/"},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 2}}]})
    for key in ("m/alone", "d/alone", "m/behind"):
        v = client.put_object(Bucket=markers, Key=key, Body=b"x")["VersionId"]
        client.delete_object(Bucket=markers, Key=key)
        if key.endswith("alone"):  # the marker is left as the key's only version: an expired marker
            client.delete_object(Bucket=markers, Key=key, VersionId=v)
    behind = client.list_object_versions(Bucket=markers, Prefix="m/behind")
    n_versions = [client.put_object(Bucket=markers, Key="n/k", Body=b"n%d" % i)["VersionId"] for i in range(5)]

    def marker_listing():
        r = client.list_object_versions(Bucket=markers)
        return ([(v["Key"], v["VersionId"], v["IsLatest"]) for v in r.get("Versions", [])],
                [(m["Key"], m["VersionId"], m["IsLatest"]) for m in r.get("DeleteMarkers", [])])

    # ExpiredObjectDeleteMarker acts at once; the Days rule waits for the marker's age.
    wait_until(lambda: "m/alone" not in [k for k, _, _ in marker_listing()[1]], 30,
               "the expired delete marker removed", detail=lambda: str(marker_listing()))
    time.sleep(2)
    assert client.head_object(Bucket=plain, Key="old")["ContentLength"] == 11, "nothing is due yet"
    assert client.list_multipart_uploads(Bucket=plain).get("Uploads")
    assert [o["Key"] for o in client.list_objects_v2(Bucket=filtered)["Contents"]] == [
        "dated/a", "kept/a", "sized/big", "sized/small", "t/keep", "t/scratch"], "nothing is due yet"
    assert [k for k, _, _ in marker_listing()[1]] == ["d/alone", "m/behind"], marker_listing()
    assert len(marker_listing()[0]) == 6
    assert stored_blobs(stack, filtered) == 6 and stored_blobs(stack, markers) == 6

    # Three days on (the due moments are rounded up to midnight UTC, at most two days ahead).
    stack.offset_file.write_text(str(3 * DAY))
    try:
        def plain_gone():
            try:
                client.head_object(Bucket=plain, Key="old")
                return False
            except ClientError as e:
                return e.response["ResponseMetadata"]["HTTPStatusCode"] == 404

        wait_until(plain_gone, 30, "the expired object in the unversioned bucket removed", detail=stack.log_tail)
        wait_until(lambda: not client.list_multipart_uploads(Bucket=plain).get("Uploads"), 30, "old upload aborted")
        assert error_of(lambda: client.list_parts(Bucket=plain, Key="pending", UploadId=upload))[0] == "NoSuchUpload"

        def versions():
            r = client.list_object_versions(Bucket=versioned)
            return ([(v["VersionId"], v["IsLatest"]) for v in r.get("Versions", [])],
                    [(m["Key"], m["IsLatest"]) for m in r.get("DeleteMarkers", [])])

        # The noncurrent first version goes; the current one gets a delete marker and stays
        # as a noncurrent version (its noncurrent day has not passed on the agent's clock).
        wait_until(lambda: versions() == ([(second, False)], [("k", True)]), 30,
                   "first version removed, delete marker on top", detail=lambda: str(versions()))
        assert client.get_object(Bucket=versioned, Key="k", VersionId=second)["Body"].read() == b"second"
        assert first not in [v for v, _ in versions()[0]]

        # Only the objects a rule matches went: by Date, by tag, by prefix and size.
        survivors = ["kept/a", "sized/small", "t/keep"]
        wait_until(lambda: [o["Key"] for o in client.list_objects_v2(Bucket=filtered).get("Contents", [])]
                   == survivors, 30, "the matching objects expired",
                   detail=lambda: str(client.list_objects_v2(Bucket=filtered).get("Contents")))
        # The expired marker went with its Days rule; the marker with a version behind it stays;
        # of n/k the latest and the two newest noncurrent versions stay.
        (behind_marker,) = behind["DeleteMarkers"]
        (behind_version,) = behind["Versions"]
        want = ([("m/behind", behind_version["VersionId"], False)]
                + [("n/k", v, v == n_versions[-1]) for v in n_versions[:1:-1]],
                [("m/behind", behind_marker["VersionId"], True)])
        wait_until(lambda: marker_listing() == want, 30, "the delete marker and old noncurrent versions removed",
                   detail=lambda: str(marker_listing()))
        for i in (2, 3, 4):
            assert client.get_object(Bucket=markers, Key="n/k", VersionId=n_versions[i])["Body"].read() == b"n%d" % i
        # The bytes of what went left the zone (the provider's bucket in the remote pass).
        wait_until(lambda: (stored_blobs(stack, filtered), stored_blobs(stack, markers), stored_blobs(stack, plain),
                            stored_blobs(stack, versioned)) == (3, 4, 0, 1), 30,
                   "the removed versions' blobs deleted from the zone",
                   detail=lambda: str([stored_blobs(stack, b) for b in (filtered, markers, plain, versioned)]))
    finally:
        stack.offset_file.write_text("0")

    records = [r for b in (plain, versioned)
               for r in as_json(cli(stack, "audit", "show", "--json", "--bucket", b))["records"]
               if r["operation"] == "Lifecycle"]
    assert {r["origin"] for r in records} == {"agent"}
    changes = [r["change"] for r in records]
    # The removals (the unversioned object, the first version), the marker, the abort.
    removals = [r for r in records if r["change"] in ("object.delete", "object.version-delete")]
    expected = [(plain, "old"), (versioned, "k")]
    assert sorted((r["bucket"], r["key"]) for r in removals) == sorted(expected), changes
    assert sorted(c for c in changes if c not in ("object.delete", "object.version-delete")) == [
        "object.delete-marker", "upload.abort"], changes
