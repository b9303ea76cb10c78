"""Never pretend: a request for a feature the gateway does not have yet (Object Lock, MFA delete,
bucket configurations), or for ACLs on a bucket whose ACLs are disabled (BucketOwnerEnforced, the
default), gets S3's error and stores nothing — no object, no blob in the zone, no bucket, no open
multipart upload. Sent by real clients (boto3, the aws CLI, s3cmd); the owner's private ACL, which
they send routinely, keeps working. ACLs where they apply: test_acl.py; encryption: test_sse.py."""

import datetime as dt
import filecmp
import os

import pytest
import requests
from botocore.exceptions import ClientError

import sigv4
from conftest import client_env, empty_and_delete_bucket, new_bucket_name, run, s3_client, s3cmd_config
from conftest import expect_error as expect_refusal

SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": b"k" * 32}
ALL_USERS = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'
LATER = dt.datetime(2040, 1, 1, tzinfo=dt.timezone.utc)

ENCRYPTION = ("NotImplemented", 501)
NO_LOCK = ("InvalidRequest", 400)
NO_ACLS = ("AccessControlListNotSupported", 400)
NO_BUCKET_ACLS = ("InvalidBucketAclWithObjectOwnership", 400)

# What each object write may ask for, and the answer while the gateway cannot honour it
# (server-side encryption is honoured: test_sse.py).
WRITE_REFUSALS = {
    "lock-mode": ({"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": LATER}, NO_LOCK),
    "legal-hold": ({"ObjectLockLegalHoldStatus": "ON"}, NO_LOCK),
    "public-read": ({"ACL": "public-read"}, NO_ACLS),
    "authenticated-read": ({"ACL": "authenticated-read"}, NO_ACLS),
    "grant-read": ({"GrantRead": ALL_USERS}, NO_ACLS),
    "grant-full-control": ({"GrantFullControl": "id=someone-else"}, NO_ACLS),
}


def blob_files(gw) -> set:
    return {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}


def expect_error(call, answer):
    return expect_refusal(call, *answer)


def assert_nothing_stored(gw, client, bucket, key, blobs_before):
    with pytest.raises(ClientError) as e:
        client.head_object(Bucket=bucket, Key=key)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert key not in [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert blob_files(gw) == blobs_before, "a refused request left a blob in the zone"


@pytest.fixture
def https_client(gw):
    # SSE-C keys only ever travel over TLS, as S3 requires.
    return s3_client(gw, "https")


@pytest.fixture
def source(gw, bucket):
    s3_client(gw).put_object(Bucket=bucket, Key="source", Body=b"source bytes")
    return "source"


@pytest.mark.parametrize("case", WRITE_REFUSALS, ids=list(WRITE_REFUSALS))
def test_put_object_refused_before_a_byte_is_stored(gw, bucket, https_client, case):
    args, answer = WRITE_REFUSALS[case]
    before = blob_files(gw)
    message = expect_error(
        lambda: https_client.put_object(Bucket=bucket, Key="k", Body=os.urandom(256 * 1024), **args), answer)
    assert message
    assert_nothing_stored(gw, https_client, bucket, "k", before)


@pytest.mark.parametrize("case", WRITE_REFUSALS, ids=list(WRITE_REFUSALS))
def test_copy_object_refused(gw, bucket, source, https_client, case):
    args, answer = WRITE_REFUSALS[case]
    before = blob_files(gw)
    expect_error(
        lambda: https_client.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": source}, **args),
        answer)
    assert_nothing_stored(gw, https_client, bucket, "k", before)


# A customer key for bytes stored without one is S3's InvalidRequest (test_sse.py has the rest).
NOT_APPLICABLE = ("InvalidRequest", 400)


def test_copy_with_a_source_customer_key_refused(gw, bucket, source, https_client):
    before = blob_files(gw)
    expect_error(lambda: https_client.copy_object(
        Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": source},
        CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=b"k" * 32), NOT_APPLICABLE)
    assert_nothing_stored(gw, https_client, bucket, "k", before)


@pytest.mark.parametrize("case", WRITE_REFUSALS, ids=list(WRITE_REFUSALS))
def test_create_multipart_upload_refused(gw, bucket, https_client, case):
    args, answer = WRITE_REFUSALS[case]
    before = blob_files(gw)
    expect_error(lambda: https_client.create_multipart_upload(Bucket=bucket, Key="k", **args), answer)
    assert_nothing_stored(gw, https_client, bucket, "k", before)


def test_upload_part_with_a_customer_key_refused(gw, bucket, https_client):
    upload = https_client.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    before = blob_files(gw)
    expect_error(lambda: https_client.upload_part(
        Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"x" * 1024, **SSE_C), NOT_APPLICABLE)
    assert https_client.list_parts(Bucket=bucket, Key="k", UploadId=upload).get("Parts", []) == []
    assert blob_files(gw) == before
    https_client.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)


def test_reads_with_a_customer_key_refused(gw, bucket, source, https_client):
    expect_error(lambda: https_client.get_object(Bucket=bucket, Key=source, **SSE_C), NOT_APPLICABLE)
    expect_error(lambda: https_client.head_object(Bucket=bucket, Key=source, **SSE_C), ("400", 400))  # no body


@pytest.mark.parametrize("field, value, answer", [
    ("acl", "public-read", NO_ACLS),
    ("x-amz-object-lock-legal-hold", "ON", NO_LOCK),
])
def test_post_form_fields_refused(gw, bucket, field, value, answer):
    client = s3_client(gw, signature_version="s3v4")
    form = client.generate_presigned_post(bucket, "k", Fields={field: value}, Conditions=[{field: value}])
    before = blob_files(gw)
    r = requests.post(form["url"], data=form["fields"], files={"file": ("f", os.urandom(64 * 1024))}, timeout=60)
    assert r.status_code == answer[1], r.text
    assert f"<Code>{answer[0]}</Code>" in r.text, r.text
    assert_nothing_stored(gw, client, bucket, "k", before)


# -- buckets ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, answer", [
    ({"ACL": "public-read"}, NO_BUCKET_ACLS),
    ({"ACL": "public-read-write"}, NO_BUCKET_ACLS),
    ({"GrantRead": ALL_USERS}, NO_BUCKET_ACLS),
    ({"ObjectOwnership": "Everyone"}, ("InvalidArgument", 400)),
], ids=["public-read", "public-read-write", "grant-read", "unknown-ownership"])
def test_create_bucket_refused_and_not_created(gw, args, answer):
    client = s3_client(gw)
    name = new_bucket_name("refused")
    expect_error(lambda: client.create_bucket(Bucket=name, **args), answer)
    expect_error(lambda: client.head_bucket(Bucket=name), ("404", 404))
    assert name not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_create_bucket_with_what_the_gateway_does_succeeds(gw):
    client = s3_client(gw)
    for args in ({"ACL": "private"}, {"ObjectLockEnabledForBucket": False},
                 {"ObjectLockEnabledForBucket": True}, {"ObjectOwnership": "BucketOwnerEnforced"},
                 {"ObjectOwnership": "ObjectWriter"}, {"ObjectOwnership": "BucketOwnerPreferred"}):
        name = new_bucket_name("accepted")
        client.create_bucket(Bucket=name, **args)
        client.head_bucket(Bucket=name)
        client.delete_bucket(Bucket=name)


@pytest.mark.parametrize("status", ["Enabled", "Suspended"])
def test_put_bucket_versioning_is_kept_mfa_delete_refused_never_a_create_bucket(gw, status):
    """Versioning is kept (test_versioning.py); MFA delete, which needs x-amz-mfa checked, is not."""
    client = s3_client(gw)
    name = new_bucket_name("versioning")
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    assert client.get_bucket_versioning(Bucket=name)["Status"] == status
    message = expect_error(lambda: client.put_bucket_versioning(
        Bucket=name, MFA="arn:aws:iam::1:mfa/root 123456",
        VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}), ENCRYPTION)
    assert "mfa" in message.lower(), message
    assert client.get_bucket_versioning(Bucket=name)["Status"] == status, "the refusal changed nothing"
    assert "MFADelete" not in client.get_bucket_versioning(Bucket=name)
    client.delete_bucket(Bucket=name)
    # It once fell through to CreateBucket: a bucket that does not exist must stay so.
    ghost = new_bucket_name("ghost")
    expect_error(lambda: client.put_bucket_versioning(
        Bucket=ghost, VersioningConfiguration={"Status": status}), ("NoSuchBucket", 404))
    expect_error(lambda: client.head_bucket(Bucket=ghost), ("404", 404))


def test_object_lock_operations_answer_missing_configuration(gw, bucket, source):
    client = s3_client(gw)
    expect_error(lambda: client.put_object_retention(
        Bucket=bucket, Key=source, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": LATER}), NO_LOCK)
    expect_error(lambda: client.get_object_retention(Bucket=bucket, Key=source), NO_LOCK)
    expect_error(lambda: client.put_object_legal_hold(Bucket=bucket, Key=source, LegalHold={"Status": "ON"}), NO_LOCK)
    expect_error(lambda: client.get_object_legal_hold(Bucket=bucket, Key=source), NO_LOCK)
    # Object Lock needs versioning Enabled first (test_object_lock.py: buckets created with it).
    expect_error(lambda: client.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}}), ("InvalidBucketState", 409))
    expect_error(lambda: client.get_object_lock_configuration(Bucket=bucket),
                 ("ObjectLockConfigurationNotFoundError", 404))
    # Nothing holds the object: the COMPLIANCE retention asked for above was not pretended.
    client.delete_object(Bucket=bucket, Key=source)
    expect_error(lambda: client.head_object(Bucket=bucket, Key=source), ("404", 404))


CONFIGURATIONS = {
    "website": lambda c, b: c.put_bucket_website(Bucket=b, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}}),
    "logging": lambda c, b: c.put_bucket_logging(Bucket=b, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": b, "TargetPrefix": "logs/"}}),
    "notification": lambda c, b: c.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={}),
    "accelerate": lambda c, b: c.put_bucket_accelerate_configuration(Bucket=b, AccelerateConfiguration={
        "Status": "Enabled"}),
    "requestPayment": lambda c, b: c.put_bucket_request_payment(Bucket=b, RequestPaymentConfiguration={
        "Payer": "Requester"}),
    "replication": lambda c, b: c.put_bucket_replication(Bucket=b, ReplicationConfiguration={
        "Role": "arn:aws:iam::1:role/r", "Rules": [{"Status": "Enabled", "Prefix": "",
                                                    "Destination": {"Bucket": "arn:aws:s3:::elsewhere"}}]}),
}


def test_lifecycle_transitions_refused_and_never_a_create_bucket(gw, bucket):
    """Lifecycle is implemented (test_lifecycle.py) except transitions to a storage class; a PUT
    on a missing bucket still never creates it."""
    client = s3_client(gw)
    transition = {"Rules": [{"ID": "t", "Status": "Enabled", "Filter": {"Prefix": ""},
                             "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]}
    expect_error(lambda: client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=transition),
                 ENCRYPTION)
    expect_error(lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket),
                 ("NoSuchLifecycleConfiguration", 404))
    ghost = new_bucket_name("ghost")
    expire = {"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]}
    expect_error(lambda: client.put_bucket_lifecycle_configuration(Bucket=ghost, LifecycleConfiguration=expire),
                 ("NoSuchBucket", 404))
    assert ghost not in [b["Name"] for b in client.list_buckets()["Buckets"]]


@pytest.mark.parametrize("name", CONFIGURATIONS, ids=list(CONFIGURATIONS))
def test_bucket_configurations_are_not_implemented_never_a_create_bucket(gw, bucket, name):
    client = s3_client(gw)
    expect_error(lambda: CONFIGURATIONS[name](client, bucket), ENCRYPTION)
    ghost = new_bucket_name("ghost")
    expect_error(lambda: CONFIGURATIONS[name](client, ghost), ("NoSuchBucket", 404))
    assert ghost not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_restore_and_unrouted_methods_never_reach_the_object(gw, bucket, source):
    client = s3_client(gw)
    expect_error(lambda: client.restore_object(Bucket=bucket, Key=source, RestoreRequest={"Days": 1}), ENCRYPTION)
    # DELETE ?acl has no route: it must not delete the object (or, on the bucket, the bucket).
    for path in (sigv4.key_path(bucket, source) + "?acl", f"/{bucket}?acl", f"/{bucket}?versioning"):
        url = gw.http_url + path
        s = sigv4.sign("DELETE", url, gw.access_key, gw.secret_key, payload_hash=sigv4.EMPTY_SHA256)
        assert requests.delete(url, headers=s.headers, timeout=30).status_code == 501, path
    assert client.get_object(Bucket=bucket, Key=source)["Body"].read() == b"source bytes"


# -- ACLs ------------------------------------------------------------------------------------

def test_acl_writes_beyond_the_owner_refused(gw, bucket, source):
    client = s3_client(gw)
    owner = client.get_bucket_acl(Bucket=bucket)["Owner"]
    public = {"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
         "Permission": "READ"}]}
    for target in ({"Bucket": bucket}, {"Bucket": bucket, "Key": source}):
        put_acl = client.put_object_acl if "Key" in target else client.put_bucket_acl
        get_acl = client.get_object_acl if "Key" in target else client.get_bucket_acl
        expect_error(lambda: put_acl(ACL="public-read", **target), NO_ACLS)
        expect_error(lambda: put_acl(GrantRead=ALL_USERS, **target), NO_ACLS)
        expect_error(lambda: put_acl(AccessControlPolicy=public, **target), NO_ACLS)
        grants = get_acl(**target)["Grants"]
        assert [(g["Grantee"].get("ID"), g["Permission"]) for g in grants] == [(owner["ID"], "FULL_CONTROL")]
        # What the gateway does is accepted: private, and the ACL it reports, sent back.
        put_acl(ACL="private", **target)
        put_acl(ACL="bucket-owner-full-control", **target)
        current = get_acl(**target)
        put_acl(AccessControlPolicy={"Owner": current["Owner"], "Grants": current["Grants"]}, **target)
    # Anonymous reads stay refused: nothing was made public.
    assert requests.get(f"{gw.http_url}{sigv4.key_path(bucket, source)}", timeout=30).status_code == 403


def test_private_canned_acls_are_accepted_on_writes(gw, bucket, source):
    client = s3_client(gw)
    for acl in ("private", "bucket-owner-full-control"):
        client.put_object(Bucket=bucket, Key=f"put-{acl}", Body=b"x", ACL=acl)
        client.copy_object(Bucket=bucket, Key=f"copy-{acl}", CopySource={"Bucket": bucket, "Key": source}, ACL=acl)
        upload = client.create_multipart_upload(Bucket=bucket, Key=f"mpu-{acl}", ACL=acl)["UploadId"]
        client.abort_multipart_upload(Bucket=bucket, Key=f"mpu-{acl}", UploadId=upload)
        assert client.get_object(Bucket=bucket, Key=f"put-{acl}")["Body"].read() == b"x"


# -- command-line clients --------------------------------------------------------------------

# `aws s3 cp --sse` works (test_sse.py).
@pytest.mark.parametrize("flags, code", [
    (["--acl", "public-read"], "AccessControlListNotSupported"),
], ids=["public-read"])
def test_aws_cli_cp_refused(gw, bucket, tmp_path, flags, code):
    env = client_env(gw, "http", tmp_path)
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(1024))
    before = blob_files(gw)
    r = run(["aws", "--endpoint-url", gw.http_url, "s3", "cp", str(src), f"s3://{bucket}/k", *flags],
            env=env, check=False)
    assert r.returncode != 0 and code in r.stderr, r.stdout + r.stderr
    assert_nothing_stored(gw, s3_client(gw), bucket, "k", before)


def test_aws_cli_cp_with_private_acl_works(gw, bucket, tmp_path):
    env = client_env(gw, "http", tmp_path)
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(1024))
    run(["aws", "--endpoint-url", gw.http_url, "s3", "cp", str(src), f"s3://{bucket}/k", "--acl", "private"],
        env=env, stack=gw)
    assert s3_client(gw).get_object(Bucket=bucket, Key="k")["Body"].read() == src.read_bytes()


def test_s3cmd_put_and_cp_round_trip_their_acl(gw, tmp_path):
    """s3cmd `cp` reads the source's ACL (GET ?acl) and writes it to the copy (PUT ?acl): the
    owner's FULL_CONTROL must go back through. `put -P` (public) and `setacl --acl-public` fail."""
    s3cmd = ["s3cmd", "-c", str(s3cmd_config(gw, "http", tmp_path))]
    bucket = new_bucket_name("s3cmd-acl")
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(100 * 1024 + 3))
    run(s3cmd + ["mb", f"s3://{bucket}"], stack=gw)
    try:
        run(s3cmd + ["put", str(src), f"s3://{bucket}/a.bin"], stack=gw)
        out = run(s3cmd + ["-d", "cp", f"s3://{bucket}/a.bin", f"s3://{bucket}/b.bin"], stack=gw)
        assert "set_acl(" in out.stderr, "s3cmd cp no longer sends the ACL back; this test checks nothing"
        run(s3cmd + ["get", f"s3://{bucket}/b.bin", str(tmp_path / "back.bin")], stack=gw)
        assert filecmp.cmp(src, tmp_path / "back.bin", shallow=False)

        before = blob_files(gw)
        r = run(s3cmd + ["put", "-P", str(src), f"s3://{bucket}/public.bin"], check=False)
        assert r.returncode != 0 and "AccessControlListNotSupported" in r.stderr, r.stdout + r.stderr
        assert_nothing_stored(gw, s3_client(gw), bucket, "public.bin", before)
        r = run(s3cmd + ["setacl", "--acl-public", f"s3://{bucket}/a.bin"], check=False)
        assert r.returncode != 0 and "AccessControlListNotSupported" in r.stderr, r.stdout + r.stderr
        assert requests.get(f"{gw.http_url}/{bucket}/a.bin", timeout=30).status_code == 403
    finally:
        empty_and_delete_bucket(s3_client(gw), bucket)


def test_put_bucket_policy_on_a_missing_bucket_never_creates_it(gw):
    """PutBucketPolicy is implemented (test_bucket_policy.py); on a missing bucket it is
    NoSuchBucket and creates nothing."""
    client = s3_client(gw)
    ghost = new_bucket_name("ghost")
    expect_error(lambda: client.put_bucket_policy(Bucket=ghost, Policy='{"Version":"2012-10-17","Statement":[]}'),
                 ("NoSuchBucket", 404))
    assert ghost not in [b["Name"] for b in client.list_buckets()["Buckets"]]
