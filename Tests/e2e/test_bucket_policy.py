"""Bucket policies end to end (docs/ACCESS.md): set with boto3 and the aws CLI, obeyed by unsigned
requests (requests and curl), by signed ones and by another tenant's caller addressing the
bucket as `tenant:bucket`. A public-read policy opens a bucket to unsigned GETs and
DeleteBucketPolicy closes it; aws:SourceIp is nginx's peer address; aws:SecureTransport tells
http from https; a Deny on one prefix leaves the others alone; a browser form without any
signature uploads only where the policy lets everyone put; malformed documents are refused
with nothing stored; GetBucketPolicyStatus says whether the policy is public."""

import json
import subprocess
import uuid

import pytest
import requests
from botocore.exceptions import ClientError
from botocore.handlers import validate_bucket_name

import admin_api
from conftest import Stack, client_env, new_bucket_name, run, s3_client


class As:
    """The stack as seen by another key (what s3_client reads)."""

    def __init__(self, stack: Stack, access_key: str, secret_key: str):
        self.stack, self.access_key, self.secret_key = stack, access_key, secret_key
        self.ca_file = stack.ca_file

    def url(self, scheme: str) -> str:
        return self.stack.url(scheme)


def tenant_addressing(client):
    """botocore checks bucket names before sending: `acme:photos` is not one, so a client that
    addresses another tenant's bucket drops that check (docs/ACCESS.md)."""
    client.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
    return client


@pytest.fixture(scope="module")
def stack():
    s = Stack("policy", workers=2).start()
    yield s
    s.stop()
    s.cleanup()


@pytest.fixture(scope="module")
def root(stack):
    return s3_client(stack)


@pytest.fixture
def fresh(stack, root):
    """A new bucket of the default tenant with one object `k`, and its public access block
    removed (new buckets may block public policies by default)."""
    name = new_bucket_name("pol")
    root.create_bucket(Bucket=name)
    root.delete_public_access_block(Bucket=name)
    root.put_object(Bucket=name, Key="k", Body=b"policy bytes")
    return name


def statement(**s) -> dict:
    return {"Effect": "Allow", "Principal": "*", **s}


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def public_read(bucket: str) -> str:
    return document(statement(Action="s3:GetObject", Resource=f"arn:aws:s3:::{bucket}/*"))


def error(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def code_of(r: requests.Response) -> str:
    return r.text.split("<Code>")[1].split("</Code>")[0] if "<Code>" in r.text else ""


def curl(url: str, *args: str) -> tuple[int, bytes]:
    r = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args, url], capture_output=True,
                       timeout=30, check=True)
    body, _, status = r.stdout.rpartition(b"\n")
    return int(status), body


def test_public_read_policy_opens_unsigned_gets_until_deleted(stack, root, fresh):
    url = f"{stack.http_url}/{fresh}/k"
    r = requests.get(url, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "AccessDenied")
    root.put_bucket_policy(Bucket=fresh, Policy=public_read(fresh))
    assert json.loads(root.get_bucket_policy(Bucket=fresh)["Policy"]) == json.loads(public_read(fresh))
    assert requests.get(url, timeout=10).content == b"policy bytes"
    assert curl(url) == (200, b"policy bytes")
    # Nothing else opened: listing, writing, and a missing key (no s3:ListBucket: 403, not 404).
    assert requests.get(f"{stack.http_url}/{fresh}", timeout=10).status_code == 403
    assert requests.put(f"{stack.http_url}/{fresh}/new", data=b"x", timeout=10).status_code == 403
    missing = requests.get(f"{stack.http_url}/{fresh}/missing", timeout=10)
    assert (missing.status_code, code_of(missing)) == (403, "AccessDenied")
    ghost = requests.get(f"{stack.http_url}/{new_bucket_name('ghost')}/k", timeout=10)
    assert (ghost.status_code, code_of(ghost)) == (404, "NoSuchBucket")
    assert root.get_bucket_policy_status(Bucket=fresh)["PolicyStatus"]["IsPublic"] is True

    root.delete_bucket_policy(Bucket=fresh)
    r = requests.get(url, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "AccessDenied")
    assert curl(url)[0] == 403
    assert error(lambda: root.get_bucket_policy(Bucket=fresh)) == ("NoSuchBucketPolicy", 404)
    assert root.get_object(Bucket=fresh, Key="k")["Body"].read() == b"policy bytes"


def test_aws_cli_sets_an_ip_restricted_policy(stack, root, fresh, tmp_path):
    """aws:SourceIp is the address nginx accepted the connection from: 127.0.0.1 here, whatever
    X-Forwarded-For claims."""
    url = f"{stack.http_url}/{fresh}/k"
    only_private = document(statement(Action="s3:GetObject", Resource=f"arn:aws:s3:::{fresh}/*",
                                      Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(only_private)
    env = client_env(stack, "http", tmp_path)
    run(["aws", "--endpoint-url", stack.http_url, "s3api", "put-bucket-policy", "--bucket", fresh,
         "--policy", f"file://{policy_file}"], env=env, stack=stack)
    shown = run(["aws", "--endpoint-url", stack.http_url, "s3api", "get-bucket-policy", "--bucket", fresh],
                env=env, stack=stack)
    assert json.loads(json.loads(shown.stdout)["Policy"]) == json.loads(only_private)
    status = run(["aws", "--endpoint-url", stack.http_url, "s3api", "get-bucket-policy-status", "--bucket", fresh],
                 env=env, stack=stack)
    assert json.loads(status.stdout)["PolicyStatus"]["IsPublic"] is False
    assert requests.get(url, timeout=10).status_code == 403
    assert requests.get(url, headers={"X-Forwarded-For": "10.1.2.3"}, timeout=10).status_code == 403

    policy_file.write_text(document(statement(Action="s3:GetObject", Resource=f"arn:aws:s3:::{fresh}/*",
                                              Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})))
    run(["aws", "--endpoint-url", stack.http_url, "s3api", "put-bucket-policy", "--bucket", fresh,
         "--policy", f"file://{policy_file}"], env=env, stack=stack)
    assert requests.get(url, timeout=10).content == b"policy bytes"


def test_tls_only_policy(stack, root, fresh):
    """A Deny when aws:SecureTransport is false: http is refused to everyone (the owner too),
    https served; the owner can still manage the policy over http."""
    tls_only = document(
        statement(Action="s3:GetObject", Resource=f"arn:aws:s3:::{fresh}/*"),
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{fresh}", f"arn:aws:s3:::{fresh}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    root.put_bucket_policy(Bucket=fresh, Policy=tls_only)
    assert requests.get(f"{stack.http_url}/{fresh}/k", timeout=10).status_code == 403
    assert requests.get(f"{stack.https_url}/{fresh}/k", verify=stack.ca_file, timeout=10).content == b"policy bytes"
    assert curl(f"{stack.https_url}/{fresh}/k", "--cacert", stack.ca_file) == (200, b"policy bytes")
    assert error(lambda: root.get_object(Bucket=fresh, Key="k"))[1] == 403
    secure = s3_client(stack, "https")
    assert secure.get_object(Bucket=fresh, Key="k")["Body"].read() == b"policy bytes"
    secure.put_object(Bucket=fresh, Key="over-tls", Body=b"t")
    assert error(lambda: root.put_object(Bucket=fresh, Key="over-http", Body=b"h")) == ("AccessDenied", 403)
    root.delete_bucket_policy(Bucket=fresh)
    assert root.get_object(Bucket=fresh, Key="over-tls")["Body"].read() == b"t"


def test_tls_version_and_signature_age_conditions(stack, root, fresh):
    """s3:TlsVersion is the TLS version nginx negotiated (its SSL_PROTOCOL param): an Allow for
    TLS 1.2 or later serves https and refuses http (no TLS, no key). A Deny on old signatures
    (s3:signatureAge, measured from X-Amz-Date) lets a fresh presigned URL through (the refusal
    of an old one is a handler test: a client cannot sign in the past)."""
    root.put_bucket_policy(Bucket=fresh, Policy=document(
        statement(Action="s3:GetObject", Resource=f"arn:aws:s3:::{fresh}/*",
                  Condition={"NumericGreaterThanEquals": {"s3:TlsVersion": "1.2"}}),
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{fresh}/*",
         "Condition": {"NumericGreaterThan": {"s3:signatureAge": "600000"}}}))
    assert requests.get(f"{stack.https_url}/{fresh}/k", verify=stack.ca_file, timeout=10).content == b"policy bytes"
    r = requests.get(f"{stack.http_url}/{fresh}/k", timeout=10)
    assert (r.status_code, code_of(r)) == (403, "AccessDenied")
    fresh_url = root.generate_presigned_url("get_object", Params={"Bucket": fresh, "Key": "k"}, ExpiresIn=3600)
    assert requests.get(fresh_url, timeout=10).content == b"policy bytes"


def test_tagged_writes_need_put_object_tagging(stack, root, fresh):
    """A policy letting everyone put (s3:PutObject alone) admits untagged uploads only: tags
    need s3:PutObjectTagging as well, as in S3."""
    root.put_bucket_policy(Bucket=fresh, Policy=document(
        statement(Action="s3:PutObject", Resource=f"arn:aws:s3:::{fresh}/*")))
    r = requests.put(f"{stack.http_url}/{fresh}/anon", data=b"a", headers={"x-amz-tagging": "a=1"}, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "AccessDenied")
    assert requests.put(f"{stack.http_url}/{fresh}/anon", data=b"a", timeout=10).status_code == 200
    root.put_bucket_policy(Bucket=fresh, Policy=document(
        statement(Action=["s3:PutObject", "s3:PutObjectTagging"], Resource=f"arn:aws:s3:::{fresh}/*")))
    r = requests.put(f"{stack.http_url}/{fresh}/tagged", data=b"t", headers={"x-amz-tagging": "a=1"}, timeout=10)
    assert r.status_code == 200, r.text
    assert root.get_object_tagging(Bucket=fresh, Key="tagged")["TagSet"] == [{"Key": "a", "Value": "1"}]


def test_deny_one_prefix(stack, root, fresh):
    root.put_bucket_policy(Bucket=fresh, Policy=document(
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": f"arn:aws:s3:::{fresh}/locked/*"}))
    assert error(lambda: root.put_object(Bucket=fresh, Key="locked/a", Body=b"x")) == ("AccessDenied", 403)
    root.put_object(Bucket=fresh, Key="open/a", Body=b"y")
    assert root.get_object(Bucket=fresh, Key="open/a")["Body"].read() == b"y"
    assert root.get_object(Bucket=fresh, Key="k")["Body"].read() == b"policy bytes"
    keys = [o["Key"] for o in root.list_objects_v2(Bucket=fresh)["Contents"]]
    assert "locked/a" not in keys and "open/a" in keys


def test_cross_tenant_access_by_policy(stack, root):
    """acme's bucket, addressed as `acme:<bucket>` by the default tenant's root: denied until
    acme's policy names the default tenant, then readable and listable (not writable)."""
    tenant = "acme" + uuid.uuid4().hex[:6]
    assert admin_api.admin(stack, "POST", "tenants", {"id": tenant}).status_code == 201
    assert admin_api.admin(stack, "POST", f"tenants/{tenant}/users",
                           {"name": "admin", "permissions": {"s3:*": ["*"]}}).status_code == 201
    made = admin_api.admin(stack, "POST", f"tenants/{tenant}/users/admin/credentials").json()
    owner = s3_client(As(stack, made["access_key"], made["secret_key"]))
    name = new_bucket_name("shared")
    owner.create_bucket(Bucket=name)
    owner.delete_public_access_block(Bucket=name)
    owner.put_object(Bucket=name, Key="doc.txt", Body=b"acme's doc")

    other = tenant_addressing(s3_client(stack))
    address = f"{tenant}:{name}"
    assert error(lambda: other.get_object(Bucket=address, Key="doc.txt")) == ("AccessDenied", 403)
    assert error(lambda: other.get_object(Bucket=f"{tenant}:nothing-{name}", Key="doc.txt"))[0] == "NoSuchBucket"
    # A bare name is the caller's own tenant's: no such bucket there.
    assert error(lambda: other.get_object(Bucket=name, Key="doc.txt"))[0] == "NoSuchBucket"

    arn = f"arn:aws:s3:::{tenant}:{name}"
    owner.put_bucket_policy(Bucket=name, Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::default:root"}, "Action": "s3:GetObject",
         "Resource": f"{arn}/*"},
        {"Effect": "Allow", "Principal": {"AWS": "default"}, "Action": "s3:ListBucket", "Resource": arn}))
    assert other.get_object(Bucket=address, Key="doc.txt")["Body"].read() == b"acme's doc"
    assert [o["Key"] for o in other.list_objects_v2(Bucket=address)["Contents"]] == ["doc.txt"]
    assert error(lambda: other.get_object(Bucket=address, Key="missing"))[0] == "NoSuchKey"
    assert error(lambda: other.put_object(Bucket=address, Key="x", Body=b"x")) == ("AccessDenied", 403)
    # Copy from the other tenant's bucket into one's own.
    mine = new_bucket_name("mine")
    root.create_bucket(Bucket=mine)
    other.copy_object(Bucket=mine, Key="copy", CopySource={"Bucket": address, "Key": "doc.txt"})
    assert root.get_object(Bucket=mine, Key="copy")["Body"].read() == b"acme's doc"
    # Policy management stays acme's, whatever a policy grants; unsigned readers get nothing.
    assert error(lambda: other.get_bucket_policy(Bucket=address)) == ("AccessDenied", 403)
    assert requests.get(f"{stack.http_url}/{address}/doc.txt", timeout=10).status_code == 403
    owner.delete_bucket_policy(Bucket=name)
    assert error(lambda: other.get_object(Bucket=address, Key="doc.txt")) == ("AccessDenied", 403)


def unsigned_form(stack: Stack, bucket: str, key: str, data: bytes) -> requests.Response:
    return requests.post(f"{stack.http_url}/{bucket}", data={"key": key},
                         files={"file": ("f.txt", data, "text/plain")}, timeout=10)


def test_unsigned_browser_post(stack, root, fresh):
    r = unsigned_form(stack, fresh, "uploads/a.txt", b"from a browser")
    assert (r.status_code, code_of(r)) == (403, "AccessDenied")
    root.put_bucket_policy(Bucket=fresh, Policy=document(
        statement(Action="s3:PutObject", Resource=f"arn:aws:s3:::{fresh}/uploads/*")))
    r = unsigned_form(stack, fresh, "uploads/a.txt", b"from a browser")
    assert r.status_code == 204, r.text
    assert root.get_object(Bucket=fresh, Key="uploads/a.txt")["Body"].read() == b"from a browser"
    r = unsigned_form(stack, fresh, "elsewhere.txt", b"no")
    assert (r.status_code, code_of(r)) == (403, "AccessDenied")
    assert error(lambda: root.head_object(Bucket=fresh, Key="elsewhere.txt"))[1] == 404


def test_malformed_policies_are_refused(stack, root, fresh):
    cases = {
        "not json": "{not json",
        "no statement": json.dumps({"Version": "2012-10-17"}),
        "another bucket": document(statement(Action="s3:GetObject", Resource="arn:aws:s3:::elsewhere/*")),
        "unknown action": document(statement(Action="s3:Teleport", Resource=f"arn:aws:s3:::{fresh}/*")),
        "allow with NotPrincipal": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::default:root"}, "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{fresh}/*"}]}),
    }
    for why, doc in cases.items():
        assert error(lambda: root.put_bucket_policy(Bucket=fresh, Policy=doc)) == ("MalformedPolicy", 400), why
    assert error(lambda: root.get_bucket_policy(Bucket=fresh)) == ("NoSuchBucketPolicy", 404)
    assert error(lambda: root.get_bucket_policy_status(Bucket=fresh)) == ("NoSuchBucketPolicy", 404)
