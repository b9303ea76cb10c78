"""Temporary credentials from the gateway's STS endpoint, driven by the aws CLI and boto3:
`aws sts get-session-token` / `aws sts assume-role` against --endpoint-url, boto3 sessions with
the token, presigned URLs and POST forms carrying it, a session policy that only narrows, a short
session (the stack's [sts] min_duration_seconds is 5) that expires into ExpiredToken, a tampered
token (InvalidToken), and a parent key deactivated through the admin API taking its sessions with
it. At the end, neither the gateway's and nginx's logs nor the metadata database hold any
secret or token handed out."""

import json
import time
import uuid

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

import admin_api
from conftest import REGION, Stack, client_env, empty_and_delete_bucket, new_bucket_name, run, s3_client, wait_until

# Every secret and token the tests obtained; the last test looks for each in the logs.
HANDED_OUT: list[str] = []


@pytest.fixture(scope="module")
def stack():
    s = Stack("sts", extra="\n[sts]\nmin_duration_seconds = 5\n").start()
    yield s
    s.stop()
    s.cleanup()


def remember(creds: dict) -> dict:
    """Credentials as STS answers carry them (boto3 and aws CLI JSON spell them alike)."""
    HANDED_OUT.extend([creds["SecretAccessKey"], creds["SessionToken"]])
    return creds


def sts_client(stack: Stack, scheme: str = "http", access_key=None, secret_key=None, token=None, **config):
    return boto3.client(
        "sts", endpoint_url=stack.url(scheme), region_name=REGION,
        aws_access_key_id=access_key or stack.access_key, aws_secret_access_key=secret_key or stack.secret_key,
        aws_session_token=token, verify=stack.verify(scheme),
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config))


def session_s3(stack: Stack, creds: dict, scheme: str = "http", signature_version=None):
    config = {"s3": {"addressing_style": "path"}, "retries": {"max_attempts": 1, "mode": "standard"}}
    if signature_version:
        config["signature_version"] = signature_version
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name=REGION,
    ).client("s3", endpoint_url=stack.url(scheme), verify=stack.verify(scheme), config=Config(**config))


def code_of(call) -> str:
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def admin(stack: Stack, method: str, path: str, body=None) -> requests.Response:
    """The admin API, signed with the root key by botocore's SigV4Auth (service s3)."""
    return admin_api.admin(stack, method, path, body, declare_hash=False)


def new_user(stack: Stack, permissions: dict) -> tuple[str, str, str]:
    """A user of the default tenant with one key: (name, access key, secret)."""
    name = "u-" + uuid.uuid4().hex[:10]
    r = admin(stack, "POST", "tenants/default/users", {"name": name, "permissions": permissions})
    assert r.status_code == 201, r.text
    r = admin(stack, "POST", f"tenants/default/users/{name}/credentials", {})
    assert r.status_code == 201, r.text
    key = r.json()
    HANDED_OUT.append(key["secret_key"])
    return name, key["access_key"], key["secret_key"]


def test_aws_cli_get_session_token_and_use_it(stack, scheme, tmp_path):
    env = client_env(stack, scheme, tmp_path)
    url = stack.url(scheme)
    before = time.time()
    out = run(["aws", "sts", "get-session-token", "--endpoint-url", url, "--duration-seconds", "900",
               "--output", "json"], env=env, stack=stack)
    creds = remember(json.loads(out.stdout)["Credentials"])
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40 and len(creds["SessionToken"]) >= 88
    expires = time.mktime(time.strptime(creds["Expiration"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before + 890 <= expires <= time.time() + 910, creds["Expiration"]

    session_env = dict(env, AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                       AWS_SESSION_TOKEN=creds["SessionToken"])
    bucket = new_bucket_name("sts-cli")
    run(["aws", "s3api", "create-bucket", "--bucket", bucket, "--endpoint-url", url], env=session_env, stack=stack)
    src = tmp_path / "hello.txt"
    src.write_bytes(b"from a session\n")
    run(["aws", "s3", "cp", str(src), f"s3://{bucket}/hello.txt", "--endpoint-url", url], env=session_env,
        stack=stack)
    listing = run(["aws", "s3", "ls", f"s3://{bucket}/", "--endpoint-url", url], env=session_env, stack=stack)
    assert "hello.txt" in listing.stdout
    assert s3_client(stack, scheme).get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"from a session\n"
    # The session key without its token is refused.
    no_token = dict(session_env)
    del no_token["AWS_SESSION_TOKEN"]
    r = run(["aws", "s3", "ls", f"s3://{bucket}/", "--endpoint-url", url], env=no_token, check=False)
    assert r.returncode != 0 and "InvalidToken" in r.stderr, r.stderr
    empty_and_delete_bucket(s3_client(stack, scheme), bucket)


def test_aws_cli_assume_role_with_a_policy_that_only_allows_get(stack, tmp_path):
    root = s3_client(stack)
    readable, other = new_bucket_name("sts-read"), new_bucket_name("sts-other")
    for b in (readable, other):
        root.create_bucket(Bucket=b)
        root.put_object(Bucket=b, Key="doc.txt", Body=b"contents of " + b.encode())
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{readable}/*"}]})
    env = client_env(stack, "http", tmp_path)
    out = run(["aws", "sts", "assume-role", "--endpoint-url", stack.http_url,
               "--role-arn", "arn:aws:iam::default:role/root", "--role-session-name", "e2e-reader",
               "--policy", policy, "--output", "json"], env=env, stack=stack)
    answer = json.loads(out.stdout)
    creds = remember(answer["Credentials"])
    assert answer["AssumedRoleUser"]["Arn"] == "arn:aws:sts::default:assumed-role/root/e2e-reader"
    assert answer["AssumedRoleUser"]["AssumedRoleId"].endswith(":e2e-reader")

    s3 = session_s3(stack, creds)
    assert s3.get_object(Bucket=readable, Key="doc.txt")["Body"].read() == b"contents of " + readable.encode()
    assert code_of(lambda: s3.get_object(Bucket=other, Key="doc.txt")) == "AccessDenied"
    assert code_of(lambda: s3.put_object(Bucket=readable, Key="new.txt", Body=b"x")) == "AccessDenied"
    assert code_of(lambda: s3.delete_object(Bucket=readable, Key="doc.txt")) == "AccessDenied"
    assert code_of(lambda: root.head_object(Bucket=readable, Key="new.txt")) == "404"
    assert [o["Key"] for o in root.list_objects_v2(Bucket=readable)["Contents"]] == ["doc.txt"]
    for b in (readable, other):
        empty_and_delete_bucket(root, b)


def test_assume_role_of_another_user(stack):
    name, _, _ = new_user(stack, {"s3:ListAllMyBuckets": ["*"], "s3:CreateBucket": ["team-*"]})
    answer = sts_client(stack).assume_role(RoleArn=f"arn:aws:iam::default:role/{name}", RoleSessionName="ops")
    creds = remember(answer["Credentials"])
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::default:assumed-role/{name}/ops"
    s3 = session_s3(stack, creds)
    s3.list_buckets()
    # The session has the user's permissions, not root's.
    assert code_of(lambda: s3.create_bucket(Bucket=new_bucket_name("elsewhere"))) == "AccessDenied"
    bucket = new_bucket_name("team")
    s3.create_bucket(Bucket=bucket)
    empty_and_delete_bucket(s3_client(stack), bucket)
    # Nobody assumes a user that does not exist, or one of another tenant.
    sts = sts_client(stack)
    assert code_of(lambda: sts.assume_role(RoleArn="arn:aws:iam::default:role/nobody-here",
                                           RoleSessionName="x1")) == "AccessDenied"
    assert code_of(lambda: sts.assume_role(RoleArn="arn:aws:iam::other:role/root",
                                           RoleSessionName="x1")) == "AccessDenied"


def test_boto3_session_put_get_list_presigned_and_post(stack, scheme):
    creds = remember(sts_client(stack, scheme).get_session_token(DurationSeconds=900)["Credentials"])
    s3 = session_s3(stack, creds, scheme)
    bucket = new_bucket_name("sts-boto")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"session bytes")
    assert s3.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"session bytes"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a/b.txt"]
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    # A presigned URL carries the token: X-Amz-Security-Token with SigV4, x-amz-security-token
    # (signed as a header) with SigV2, botocore's default presigner off AWS.
    for version, param in (("s3v4", "X-Amz-Security-Token="), (None, "x-amz-security-token=")):
        url = session_s3(stack, creds, scheme, version).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "a/b.txt"}, ExpiresIn=300)
        assert param in url, url.split("?")[0]
        r = requests.get(url, verify=stack.verify(scheme) or True, timeout=30)
        assert r.status_code == 200 and r.content == b"session bytes", r.text
    # A POST form carries it as the x-amz-security-token field.
    form = session_s3(stack, creds, scheme).generate_presigned_post(bucket, "posted.txt", ExpiresIn=300)
    assert form["fields"].get("x-amz-security-token") == creds["SessionToken"]
    r = requests.post(form["url"], data=form["fields"], files={"file": ("f", b"posted", "text/plain")},
                      verify=stack.verify(scheme) or True, timeout=30)
    assert r.status_code == 204, r.text
    assert s3.get_object(Bucket=bucket, Key="posted.txt")["Body"].read() == b"posted"
    empty_and_delete_bucket(s3_client(stack, scheme), bucket)


def test_tampered_or_missing_token_is_invalid_token(stack):
    creds = remember(sts_client(stack).get_session_token()["Credentials"])
    token = creds["SessionToken"]
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    tampered = dict(creds, SessionToken=flipped)
    assert code_of(lambda: session_s3(stack, tampered).list_buckets()) == "InvalidToken"
    bare = boto3.client("s3", endpoint_url=stack.http_url, region_name=REGION,
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    assert code_of(bare.list_buckets) == "InvalidToken"
    url = session_s3(stack, tampered).generate_presigned_url("list_buckets", ExpiresIn=60)
    r = requests.get(url, timeout=30)
    assert r.status_code == 400 and "<Code>InvalidToken</Code>" in r.text, r.text
    session_s3(stack, creds).list_buckets()


def test_sts_errors_come_back_as_sts_errors(stack):
    lax = sts_client(stack, parameter_validation=False)
    assert code_of(lambda: lax.get_session_token(DurationSeconds=4)) == "ValidationError"
    assert code_of(lambda: lax.get_session_token(DurationSeconds=43201)) == "ValidationError"
    assert code_of(lambda: lax.assume_role(RoleArn="arn:aws:iam::default:role/root", RoleSessionName="x",
                                           DurationSeconds=900)) == "ValidationError"
    assert code_of(lambda: sts_client(stack).assume_role(
        RoleArn="arn:aws:iam::default:role/root", RoleSessionName="bad-policy",
        Policy='{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {}}]}',
    )) == "MalformedPolicyDocument"
    wrong = sts_client(stack, secret_key="not-the-secret")
    assert code_of(wrong.get_session_token) == "SignatureDoesNotMatch"
    unknown = sts_client(stack, access_key="AKIDUNKNOWNKEY00")
    assert code_of(unknown.get_session_token) == "InvalidClientTokenId"
    # A session asks for no further sessions.
    creds = remember(sts_client(stack).get_session_token()["Credentials"])
    chained = sts_client(stack, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                         token=creds["SessionToken"])
    assert code_of(chained.get_session_token) == "AccessDenied"
    r = requests.post(stack.http_url + "/", data={"Action": "GetSessionToken", "Version": "2011-06-15"}, timeout=30)
    assert r.status_code == 403 and "<Code>MissingAuthenticationToken</Code>" in r.text, r.text
    assert r.text.startswith("<?xml") and "<ErrorResponse" in r.text and "<Type>Sender</Type>" in r.text


def test_short_session_expires_into_expired_token(stack):
    # botocore refuses DurationSeconds below 900 itself; the stack allows 5.
    lax = sts_client(stack, parameter_validation=False)
    creds = remember(lax.get_session_token(DurationSeconds=5)["Credentials"])
    s3 = session_s3(stack, creds)
    s3.list_buckets()
    url = s3.generate_presigned_url("list_buckets", ExpiresIn=300)
    assert requests.get(url, timeout=30).status_code == 200

    def expired():
        try:
            s3.list_buckets()
        except ClientError as e:
            return e.response["Error"]["Code"]
        return None

    code = wait_until(expired, 60, "the 5 s session to expire", interval=0.5)
    assert code == "ExpiredToken"
    r = requests.get(url, timeout=30)
    assert r.status_code == 400 and "<Code>ExpiredToken</Code>" in r.text, r.text


def test_deactivating_the_parent_key_stops_its_sessions(stack):
    name, key, secret = new_user(stack, {"s3:*": ["*"], "sts:GetSessionToken": ["*"]})
    creds = remember(sts_client(stack, access_key=key, secret_key=secret).get_session_token()["Credentials"])
    s3 = session_s3(stack, creds)
    s3.list_buckets()
    url = s3.generate_presigned_url("list_buckets", ExpiresIn=300)
    assert requests.get(url, timeout=30).status_code == 200

    r = admin(stack, "PATCH", f"tenants/default/users/{name}/credentials/{key}", {"status": "inactive"})
    assert r.status_code == 200, r.text

    def refused():
        try:
            s3.list_buckets()
        except ClientError as e:
            return e.response["Error"]["Code"]
        return None

    # Other workers may hold the lookup for its cache lifetime (2 s).
    assert wait_until(refused, 10, "the session of a deactivated key to be refused") == "InvalidAccessKeyId"
    wait_until(lambda: requests.get(url, timeout=30).status_code == 403, 10, "the presigned URL to be refused")

    r = admin(stack, "PATCH", f"tenants/default/users/{name}/credentials/{key}", {"status": "active"})
    assert r.status_code == 200, r.text
    wait_until(lambda: refused() is None, 10, "the session to work again with its key reactivated")

    r = admin(stack, "DELETE", f"tenants/default/users/{name}/credentials/{key}")
    assert r.status_code == 204, r.text
    assert wait_until(refused, 10, "the session of a deleted key to be refused") == "InvalidAccessKeyId"


def test_no_secret_or_token_in_the_logs_or_the_database(stack):
    assert len(HANDED_OUT) >= 10, "the suite obtained fewer credentials than expected: run the whole file"
    places = [stack.gateway_log, stack.nginx_prefix / "error.log", stack.nginx_prefix / "access.log"]
    places += sorted(stack.state_dir.glob("metadata.sqlite*"))
    for path in places:
        data = path.read_bytes() if path.exists() else b""
        for value in HANDED_OUT:
            assert value.encode() not in data, f"a secret or token handed out appears in {path.name}"
