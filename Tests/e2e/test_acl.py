"""ACLs, Object Ownership and the public access block end to end (docs/ACCESS.md, "ACLs,
ownership and public access block — requests"), with boto3 and the aws CLI: canned ACLs and
grants (by canonical id and group URI, in headers and in XML) on every write and on Put*Acl read
back by Get*Acl; S3's errors; ownership controls and public access blocks put, read and removed;
who owns an object under each ownership setting; new buckets' defaults (BucketOwnerEnforced, all
four public access block settings on). Refusals store nothing. Applied: a public-read object read
by an unsigned GET (until IgnorePublicAcls or a private ACL), and another tenant's bucket read,
listed and written through `tenant:bucket` by grants to the caller's canonical id."""

import json
import os
import uuid

import botocore.handlers
import pytest
import requests

import admin_api
from conftest import client_env, empty_and_delete_bucket, expect_error, new_bucket_name, run, s3_client

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"




def grants(answer) -> list:
    """A Get*Acl answer as (grantee, permission) pairs, the grantee its ID or URI."""
    return [(g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"]) for g in answer["Grants"]]


class As:
    """The stack as another key sees it (what conftest's s3_client and client_env read)."""

    def __init__(self, stack, access_key: str, secret_key: str):
        self.stack, self.access_key, self.secret_key = stack, access_key, secret_key
        self.ca_file = stack.ca_file

    def url(self, scheme: str) -> str:
        return self.stack.url(scheme)


@pytest.fixture(scope="module")
def alice(gw):
    """A second user of the default tenant allowed everything: (boto3 client, canonical id)."""
    name = "alice-" + uuid.uuid4().hex[:8]
    r = admin_api.admin(gw, "POST", "tenants/default/users", {"name": name, "permissions": {"s3:*": ["*"]}})
    assert r.status_code == 201, r.text
    r = admin_api.admin(gw, "POST", f"tenants/default/users/{name}/credentials")
    assert r.status_code == 201, r.text
    client = s3_client(As(gw, r.json()["access_key"], r.json()["secret_key"]))
    return client, client.list_buckets()["Owner"]["ID"]


@pytest.fixture
def owner_id(gw):
    return s3_client(gw).list_buckets()["Owner"]["ID"]


def acl_bucket(client, ownership: str = "ObjectWriter") -> str:
    """A bucket whose ACLs apply, without a public access block."""
    name = new_bucket_name("acl")
    client.create_bucket(Bucket=name, ObjectOwnership=ownership)
    client.delete_public_access_block(Bucket=name)
    return name


@pytest.fixture
def open_bucket(gw):
    client = s3_client(gw)
    name = acl_bucket(client)
    client.put_object(Bucket=name, Key="src", Body=b"source bytes")
    yield name
    empty_and_delete_bucket(client, name)


def canned_grants(name: str, owner: str) -> list:
    me = (owner, "FULL_CONTROL")
    return {
        "private": [me],
        "public-read": [me, (ALL_USERS, "READ")],
        "public-read-write": [me, (ALL_USERS, "READ"), (ALL_USERS, "WRITE")],
        "authenticated-read": [me, (AUTHENTICATED, "READ")],
        "bucket-owner-read": [me, (owner, "READ")],
        "bucket-owner-full-control": [me],
        "log-delivery-write": [me, (LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP")],
    }[name]


# -- defaults ----------------------------------------------------------------------------------

def test_new_buckets_disable_acls_and_block_public_access(gw, bucket):
    client = s3_client(gw)
    rules = client.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    message = expect_error(lambda: client.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read"),
                           "AccessControlListNotSupported", 400)
    assert message == "The bucket does not allow ACLs"
    expect_error(lambda: client.create_bucket(Bucket=new_bucket_name("nope"), ACL="public-read"),
                 "InvalidBucketAclWithObjectOwnership", 400)
    # Reading ACLs still works: the owner's FULL_CONTROL.
    owner = client.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    assert grants(client.get_bucket_acl(Bucket=bucket)) == [(owner, "FULL_CONTROL")]


# -- canned ACLs and grants --------------------------------------------------------------------

@pytest.mark.parametrize("canned", ["private", "public-read", "public-read-write", "authenticated-read",
                                    "bucket-owner-read", "log-delivery-write"])
def test_canned_acl_on_every_write_is_what_get_acl_answers(gw, open_bucket, owner_id, canned):
    client = s3_client(gw)
    want = canned_grants(canned, owner_id)
    b = open_bucket
    client.put_object(Bucket=b, Key="put", Body=b"x", ACL=canned)
    assert grants(client.get_object_acl(Bucket=b, Key="put")) == want
    client.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "src"}, ACL=canned)
    assert grants(client.get_object_acl(Bucket=b, Key="copy")) == want
    up = client.create_multipart_upload(Bucket=b, Key="mpu", ACL=canned)["UploadId"]
    etag = client.upload_part(Bucket=b, Key="mpu", UploadId=up, PartNumber=1, Body=b"part")["ETag"]
    client.complete_multipart_upload(Bucket=b, Key="mpu", UploadId=up,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert grants(client.get_object_acl(Bucket=b, Key="mpu")) == want
    client.put_object_acl(Bucket=b, Key="src", ACL=canned)
    assert grants(client.get_object_acl(Bucket=b, Key="src")) == want
    client.put_bucket_acl(Bucket=b, ACL=canned)
    # On a bucket the bucket-owner canned ACLs are private (S3 ignores them there).
    assert grants(client.get_bucket_acl(Bucket=b)) == (want[:1] if canned.startswith("bucket-owner") else want)
    # A copy without an ACL is private, whatever the source's.
    client.copy_object(Bucket=b, Key="plain", CopySource={"Bucket": b, "Key": "put"})
    assert grants(client.get_object_acl(Bucket=b, Key="plain")) == [(owner_id, "FULL_CONTROL")]


def test_grants_by_id_and_uri_in_headers_and_xml(gw, open_bucket, owner_id, alice):
    client = s3_client(gw)
    _, alice_id = alice
    b = open_bucket
    for target, put, get in (({"Bucket": b}, client.put_bucket_acl, client.get_bucket_acl),
                             ({"Bucket": b, "Key": "src"}, client.put_object_acl, client.get_object_acl)):
        put(GrantFullControl=f'id="{owner_id}"', GrantRead=f'id="{alice_id}", uri="{AUTHENTICATED}"',
            GrantWriteACP=f"id={alice_id}", **target)
        assert sorted(grants(get(**target))) == sorted([
            (owner_id, "FULL_CONTROL"), (alice_id, "READ"), (AUTHENTICATED, "READ"), (alice_id, "WRITE_ACP")])
        policy = {"Owner": {"ID": owner_id}, "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": owner_id}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "CanonicalUser", "ID": alice_id}, "Permission": "READ_ACP"},
            {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}]}
        put(AccessControlPolicy=policy, **target)
        answer = get(**target)
        assert grants(answer) == [(owner_id, "FULL_CONTROL"), (alice_id, "READ_ACP"), (ALL_USERS, "READ")]
        assert answer["Owner"]["ID"] == owner_id
        # What GET answers goes back unchanged.
        put(AccessControlPolicy={"Owner": answer["Owner"], "Grants": answer["Grants"]}, **target)
        assert grants(get(**target)) == grants(answer)
        # S3's errors, nothing changed by them.
        expect_error(lambda: put(GrantRead='id="0123456789abcdef"', **target), "InvalidArgument", 400)
        expect_error(lambda: put(GrantRead='emailAddress="someone@example.com"', **target),
                     "UnresolvableGrantByEmailAddress", 400)
        expect_error(lambda: put(ACL="private", GrantRead=f'id="{alice_id}"', **target), "InvalidRequest", 400)
        assert grants(get(**target)) == grants(answer)


def test_object_acl_of_a_version(gw, open_bucket, owner_id):
    client = s3_client(gw)
    b = open_bucket
    client.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    first = client.put_object(Bucket=b, Key="v", Body=b"1")["VersionId"]
    client.put_object(Bucket=b, Key="v", Body=b"2")
    client.put_object_acl(Bucket=b, Key="v", VersionId=first, ACL="public-read")
    assert grants(client.get_object_acl(Bucket=b, Key="v", VersionId=first)) == canned_grants("public-read", owner_id)
    assert grants(client.get_object_acl(Bucket=b, Key="v")) == [(owner_id, "FULL_CONTROL")]


# -- Object Ownership --------------------------------------------------------------------------

def test_ownership_controls_put_get_delete(gw, bucket):
    client = s3_client(gw)
    for setting in ("ObjectWriter", "BucketOwnerPreferred", "BucketOwnerEnforced"):
        client.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": setting}]})
        rules = client.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": setting}]
    client.delete_bucket_ownership_controls(Bucket=bucket)
    expect_error(lambda: client.get_bucket_ownership_controls(Bucket=bucket), "OwnershipControlsNotFoundError", 404)
    # Enforcing needs a private bucket ACL: its grants would silently stop applying.
    client.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    client.delete_public_access_block(Bucket=bucket)
    client.put_bucket_acl(Bucket=bucket, ACL="authenticated-read")
    expect_error(lambda: client.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}),
        "InvalidBucketAclWithObjectOwnership", 400)
    client.put_bucket_acl(Bucket=bucket, ACL="private")
    client.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})


def test_who_owns_an_object(gw, owner_id, alice):
    client = s3_client(gw)
    theirs, alice_id = alice
    made = []
    try:
        writer = acl_bucket(client, "ObjectWriter")
        preferred = acl_bucket(client, "BucketOwnerPreferred")
        enforced = new_bucket_name("enforced")
        client.create_bucket(Bucket=enforced)
        made = [writer, preferred, enforced]
        for b in made:
            theirs.put_object(Bucket=b, Key="plain", Body=b"x")
            theirs.put_object(Bucket=b, Key="handed", Body=b"x", ACL="bucket-owner-full-control")
        owner = {(b, k): client.get_object_acl(Bucket=b, Key=k)["Owner"]["ID"] for b in made for k in ("plain", "handed")}
        assert owner == {
            (writer, "plain"): alice_id, (writer, "handed"): alice_id,
            (preferred, "plain"): alice_id, (preferred, "handed"): owner_id,
            (enforced, "plain"): owner_id, (enforced, "handed"): owner_id,
        }
        listed = client.list_objects_v2(Bucket=writer, FetchOwner=True)["Contents"]
        assert {o["Key"]: o["Owner"]["ID"] for o in listed} == {"plain": alice_id, "handed": alice_id}
        versions = client.list_object_versions(Bucket=preferred)["Versions"]
        assert {o["Key"]: o["Owner"]["ID"] for o in versions} == {"plain": alice_id, "handed": owner_id}
        expect_error(lambda: theirs.put_object(Bucket=enforced, Key="k", Body=b"x", GrantRead=f'id="{alice_id}"'),
                     "AccessControlListNotSupported", 400)
    finally:
        for b in made:
            empty_and_delete_bucket(client, b)


# -- public access block -----------------------------------------------------------------------

def blob_files(gw) -> set:
    return {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}


def test_public_access_block_put_get_delete_and_block_public_acls(gw):
    client = s3_client(gw)
    b = new_bucket_name("pab")
    client.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter")
    try:
        before = blob_files(gw)
        expect_error(lambda: client.put_object(Bucket=b, Key="k", Body=os.urandom(1024), ACL="public-read"),
                     "AccessDenied", 403)
        expect_error(lambda: client.create_multipart_upload(Bucket=b, Key="k", ACL="public-read-write"),
                     "AccessDenied", 403)
        expect_error(lambda: client.put_bucket_acl(Bucket=b, ACL="public-read"), "AccessDenied", 403)
        expect_error(lambda: client.put_object(Bucket=b, Key="k", Body=b"x", GrantRead=f'uri="{AUTHENTICATED}"'),
                     "AccessDenied", 403)
        assert blob_files(gw) == before
        assert "Contents" not in client.list_objects_v2(Bucket=b)
        assert client.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
        client.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
            "BlockPublicAcls": False, "IgnorePublicAcls": True})
        assert client.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": False, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False}
        client.put_object(Bucket=b, Key="k", Body=b"x", ACL="public-read")
        assert (ALL_USERS, "READ") in grants(client.get_object_acl(Bucket=b, Key="k"))
        client.delete_public_access_block(Bucket=b)
        expect_error(lambda: client.get_public_access_block(Bucket=b), "NoSuchPublicAccessBlockConfiguration", 404)
        client.put_bucket_acl(Bucket=b, ACL="public-read")
        # A public ACL in CreateBucket meets the new bucket's default block (S3's own error).
        message = expect_error(lambda: client.create_bucket(Bucket=new_bucket_name("pub"), ObjectOwnership="ObjectWriter",
                                                            ACL="public-read"),
                               "InvalidBucketAclWithBlockPublicAccessError", 400)
        assert message == "Bucket cannot have public ACLs set with BlockPublicAccess enabled"
        # CopyObject and an object's PutObjectAcl are held to BlockPublicAcls too.
        client.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
        expect_error(lambda: client.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "k"},
                                                ACL="public-read"), "AccessDenied", 403)
        expect_error(lambda: client.put_object_acl(Bucket=b, Key="k", GrantRead=f'uri="{AUTHENTICATED}"'),
                     "AccessDenied", 403)
        assert "copy" not in {o["Key"] for o in client.list_objects_v2(Bucket=b)["Contents"]}
    finally:
        empty_and_delete_bucket(client, b)


# -- the aws CLI -------------------------------------------------------------------------------

def test_aws_cli_ownership_public_access_block_and_acls(gw, tmp_path, owner_id):
    env = client_env(gw, "http", tmp_path)
    b = new_bucket_name("cli-acl")

    def s3api(*args, check=True):
        return run(["aws", "--endpoint-url", gw.http_url, "s3api", *args], env=env, check=check, stack=gw)

    s3api("create-bucket", "--bucket", b, "--object-ownership", "BucketOwnerPreferred")
    try:
        got = json.loads(s3api("get-bucket-ownership-controls", "--bucket", b).stdout)
        assert got["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
        s3api("put-public-access-block", "--bucket", b, "--public-access-block-configuration",
              "BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=true,RestrictPublicBuckets=true")
        got = json.loads(s3api("get-public-access-block", "--bucket", b).stdout)["PublicAccessBlockConfiguration"]
        assert got == {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
                       "RestrictPublicBuckets": True}
        src = tmp_path / "f.bin"
        src.write_bytes(os.urandom(2048))
        run(["aws", "--endpoint-url", gw.http_url, "s3", "cp", str(src), f"s3://{b}/f.bin", "--acl", "public-read"],
            env=env, stack=gw)
        got = json.loads(s3api("get-object-acl", "--bucket", b, "--key", "f.bin").stdout)
        assert grants(got) == canned_grants("public-read", owner_id)
        s3api("put-object-acl", "--bucket", b, "--key", "f.bin", "--acl", "private")
        got = json.loads(s3api("get-object-acl", "--bucket", b, "--key", "f.bin").stdout)
        assert grants(got) == [(owner_id, "FULL_CONTROL")]
        s3api("delete-public-access-block", "--bucket", b)
        r = s3api("get-public-access-block", "--bucket", b, check=False)
        assert r.returncode != 0 and "NoSuchPublicAccessBlockConfiguration" in r.stderr, r.stderr
        s3api("delete-bucket-ownership-controls", "--bucket", b)
        r = s3api("get-bucket-ownership-controls", "--bucket", b, check=False)
        assert r.returncode != 0 and "OwnershipControlsNotFoundError" in r.stderr, r.stderr
    finally:
        empty_and_delete_bucket(s3_client(gw), b)


# -- ACLs applied (the anonymous caller and tenant:bucket addressing, docs/ACCESS.md) ------------

def tenant_client(gw, tenant: str, user: str):
    """A user allowed everything in a new tenant, whose client may name `tenant:bucket`."""
    for method, path, body in (("POST", "tenants", {"id": tenant}),
                               ("POST", f"tenants/{tenant}/users", {"name": user, "permissions": {"s3:*": ["*"]}})):
        r = admin_api.admin(gw, method, path, body)
        assert r.status_code == 201, r.text
    r = admin_api.admin(gw, "POST", f"tenants/{tenant}/users/{user}/credentials")
    assert r.status_code == 201, r.text
    client = naming_tenants(s3_client(As(gw, r.json()["access_key"], r.json()["secret_key"])))
    return client, client.list_buckets()["Owner"]["ID"]


def naming_tenants(client):
    """botocore refuses `tenant:bucket` as a bucket name before sending (docs/ACCESS.md)."""
    client.meta.events.unregister("before-parameter-build.s3", botocore.handlers.validate_bucket_name)
    return client


def test_public_read_object_acl_lets_an_unsigned_get_in(gw, open_bucket):
    client = s3_client(gw)
    b = open_bucket
    client.put_object(Bucket=b, Key="public", Body=b"for everyone", ACL="public-read")
    client.put_object(Bucket=b, Key="private", Body=b"not for you")
    assert requests.get(f"{gw.http_url}/{b}/public", timeout=30).content == b"for everyone"
    assert requests.get(f"{gw.http_url}/{b}/private", timeout=30).status_code == 403
    # The ACL can be taken back, and IgnorePublicAcls stops it without changing it.
    client.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert requests.get(f"{gw.http_url}/{b}/public", timeout=30).status_code == 403
    client.delete_public_access_block(Bucket=b)
    assert requests.get(f"{gw.http_url}/{b}/public", timeout=30).status_code == 200
    client.put_object_acl(Bucket=b, Key="public", ACL="private")
    assert requests.get(f"{gw.http_url}/{b}/public", timeout=30).status_code == 403


def test_another_tenants_user_reads_and_writes_by_acl_grant(gw, owner_id):
    """Tenant t's bucket, read and written by the default tenant's root through `t:bucket`
    because t's ACLs grant it by canonical id; an object it writes there is its own."""
    tenant = "t" + uuid.uuid4().hex[:8]
    theirs, their_id = tenant_client(gw, tenant, "owner")
    mine = naming_tenants(s3_client(gw))
    b = acl_bucket(theirs, "ObjectWriter")
    addressed = f"{tenant}:{b}"
    try:
        theirs.put_object(Bucket=b, Key="shared", Body=b"shared bytes", GrantRead=f'id="{owner_id}"')
        theirs.put_object(Bucket=b, Key="kept", Body=b"kept bytes")
        assert mine.get_object(Bucket=addressed, Key="shared")["Body"].read() == b"shared bytes"
        expect_error(lambda: mine.get_object(Bucket=addressed, Key="kept"), "AccessDenied", 403)
        expect_error(lambda: mine.list_objects_v2(Bucket=addressed), "AccessDenied", 403)
        expect_error(lambda: mine.put_object(Bucket=addressed, Key="mine", Body=b"x"), "AccessDenied", 403)
        # A bucket grant of READ and WRITE: list and write; the written object is the writer's.
        theirs.put_bucket_acl(Bucket=b, GrantFullControl=f'id="{their_id}"',
                              GrantRead=f'id="{owner_id}"', GrantWrite=f'id="{owner_id}"')
        assert {o["Key"] for o in mine.list_objects_v2(Bucket=addressed)["Contents"]} == {"shared", "kept"}
        # Writing with an ACL also needs s3:PutObjectAcl, which no ACL grants: t's policy allows
        # it for bucket-owner-full-control only (AWS's cross-account pattern).
        expect_error(lambda: mine.put_object(Bucket=addressed, Key="mine", Body=b"x", ACL="bucket-owner-full-control"),
                     "AccessDenied", 403)
        theirs.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::default:root"}, "Action": "s3:PutObjectAcl",
            "Resource": f"arn:aws:s3:::{tenant}:{b}/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}))
        expect_error(lambda: mine.put_object(Bucket=addressed, Key="mine", Body=b"x", ACL="public-read"),
                     "AccessDenied", 403)
        mine.put_object(Bucket=addressed, Key="mine", Body=b"written across", ACL="bucket-owner-full-control")
        acl = theirs.get_object_acl(Bucket=b, Key="mine")
        assert acl["Owner"]["ID"] == owner_id
        assert sorted(grants(acl)) == sorted([(owner_id, "FULL_CONTROL"), (their_id, "FULL_CONTROL")])
        assert theirs.get_object(Bucket=b, Key="mine")["Body"].read() == b"written across"
        # The initiator of an upload may list its parts and abort it; the bucket owner sees it as
        # the Initiator.
        upload = mine.create_multipart_upload(Bucket=addressed, Key="mpu")["UploadId"]
        mine.upload_part(Bucket=addressed, Key="mpu", UploadId=upload, PartNumber=1, Body=b"part")
        parts = mine.list_parts(Bucket=addressed, Key="mpu", UploadId=upload)
        assert parts["Initiator"]["ID"] == owner_id and [p["PartNumber"] for p in parts["Parts"]] == [1]
        listed = theirs.list_multipart_uploads(Bucket=b)["Uploads"]
        assert [(u["Key"], u["Initiator"]["ID"], u["Owner"]["ID"]) for u in listed] == [("mpu", owner_id, owner_id)]
        mine.abort_multipart_upload(Bucket=addressed, Key="mpu", UploadId=upload)
        assert theirs.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
    finally:
        empty_and_delete_bucket(theirs, b)


def test_writes_with_an_acl_need_put_object_acl(gw, open_bucket):
    """A user allowed s3:PutObject alone writes without an ACL; with one (even `private`) it
    also needs s3:PutObjectAcl, and nothing is stored."""
    name = "putter-" + uuid.uuid4().hex[:8]
    r = admin_api.admin(gw, "POST", "tenants/default/users",
                        {"name": name, "permissions": {"s3:PutObject": [open_bucket], "s3:GetObject": [open_bucket]}})
    assert r.status_code == 201, r.text
    r = admin_api.admin(gw, "POST", f"tenants/default/users/{name}/credentials")
    assert r.status_code == 201, r.text
    putter = s3_client(As(gw, r.json()["access_key"], r.json()["secret_key"]))
    putter.put_object(Bucket=open_bucket, Key="plain", Body=b"x")
    expect_error(lambda: putter.put_object(Bucket=open_bucket, Key="acl", Body=b"x", ACL="private"), "AccessDenied", 403)
    expect_error(lambda: putter.create_multipart_upload(Bucket=open_bucket, Key="acl", ACL="bucket-owner-full-control"),
                 "AccessDenied", 403)
    client = s3_client(gw)
    assert {o["Key"] for o in client.list_objects_v2(Bucket=open_bucket)["Contents"]} >= {"plain"}
    assert "acl" not in {o["Key"] for o in client.list_objects_v2(Bucket=open_bucket)["Contents"]}
    assert client.list_multipart_uploads(Bucket=open_bucket).get("Uploads", []) == []


def test_deleted_ownership_controls_behave_as_object_writer(gw, owner_id, alice):
    """No ownership controls left: GET answers 404, and the bucket behaves as S3's do without
    them (ObjectWriter): ACLs apply, writers own their objects."""
    client = s3_client(gw)
    theirs, alice_id = alice
    b = acl_bucket(client, "BucketOwnerPreferred")
    try:
        client.delete_bucket_ownership_controls(Bucket=b)
        expect_error(lambda: client.get_bucket_ownership_controls(Bucket=b), "OwnershipControlsNotFoundError", 404)
        theirs.put_object(Bucket=b, Key="handed", Body=b"x", ACL="bucket-owner-full-control")
        acl = client.get_object_acl(Bucket=b, Key="handed")
        assert acl["Owner"]["ID"] == alice_id
        client.put_object(Bucket=b, Key="read", Body=b"x", GrantRead=f'id="{alice_id}"')
        assert grants(client.get_object_acl(Bucket=b, Key="read")) == [(alice_id, "READ")]
    finally:
        empty_and_delete_bucket(client, b)
