"""The operations log end to end: a boto3 and aws cli workload through nginx and two workers,
then `s3gw oplog` (on the host, and through the admin API) shows every request with its
operation, status, error code, bytes, zones and access key — never a secret or a signature —
its filters work, the records of answered requests survive a worker's SIGKILL and a clean stop,
and a small max_bytes rotates the file while queries still find records in the rotated ones.
The writer thread is asynchronous: every check polls with a deadline."""

import json
import os
import signal
import uuid
from pathlib import Path

import boto3
import botocore
import pytest
import requests
from botocore.config import Config
from botocore.handlers import validate_bucket_name

import admin_api
from admin_cli import cli
from conftest import REGION, NotYet, Stack, client_env, new_bucket_name, run, s3_client, wait_until

MAX_BYTES = 2048


@pytest.fixture(scope="module")
def stack():
    s = Stack("oplog", workers=2, extra=f"\n[oplog]\nmax_bytes = {MAX_BYTES}\nfiles = 100\n").start()
    yield s
    s.stop()
    s.cleanup()


def oplog_dir(stack) -> Path:
    return stack.state_dir / "oplog"


def oplog(stack, *args, mode="local") -> dict:
    r = cli(stack, "oplog", "--json", "--limit", "1000", *args, mode=mode)
    return json.loads(r.stdout)


def by_id(stack, ids, *args, mode="local", timeout=20) -> dict:
    """Polls `s3gw oplog` until every request id in `ids` has its record; those records by id."""
    ids = set(ids)

    def found():
        records = {r.get("request_id"): r for r in oplog(stack, *args, mode=mode)["records"]}
        missing = ids - records.keys()
        if missing:
            raise NotYet(f"{len(missing)} records missing, e.g. {sorted(missing)[:3]}")
        return {i: records[i] for i in ids}

    return wait_until(found, timeout, "the records of the requests sent", detail=stack.log_tail)


class Recorder:
    """A boto3 client that remembers each request's id and operation, and every signature it sent."""

    def __init__(self, stack, **kwargs):
        self.client = s3_client(stack, request_checksum_calculation="when_required", **kwargs)
        self.sent: list[tuple[str, str, int]] = []  # (request id, operation, status)
        self.signatures: set[str] = set()
        self.client.meta.events.register("before-send", self._signed)
        self.client.meta.events.register("after-call", self._answered)

    def _signed(self, request, **_):
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        if "Signature=" in auth:
            self.signatures.add(auth.split("Signature=")[1])

    def _answered(self, http_response, parsed, model, **_):
        # Failures are looked up by the error's own request id (`failing`).
        if http_response.status_code < 300:
            self.sent.append((parsed["ResponseMetadata"]["RequestId"], model.name, http_response.status_code))

    def failing(self, call, *args, **kwargs) -> botocore.exceptions.ClientError:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(*args, **kwargs)
        return e.value


@pytest.fixture(scope="module")
def workload(stack, tmp_path_factory):
    """What every test below looks for: a bucket, puts (one multipart), gets, a 404, a request
    signed with a wrong secret, and the aws cli's own requests."""
    s3 = Recorder(stack)
    bucket = new_bucket_name("oplog")
    s3.client.create_bucket(Bucket=bucket)
    s3.client.put_object(Bucket=bucket, Key="hello.txt", Body=b"h" * 1000)
    s3.client.put_object(Bucket=bucket, Key="dir/ü x\t\"q\".bin", Body=b"u" * 10)
    up = s3.client.create_multipart_upload(Bucket=bucket, Key="big.bin")
    parts = []
    for n, size in ((1, 5 * 1024 * 1024), (2, 1234)):
        r = s3.client.upload_part(Bucket=bucket, Key="big.bin", UploadId=up["UploadId"], PartNumber=n,
                                  Body=b"m" * size)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.client.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": parts})
    assert s3.client.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"h" * 1000
    s3.client.head_object(Bucket=bucket, Key="big.bin")
    s3.client.list_objects_v2(Bucket=bucket)
    missing = s3.failing(s3.client.get_object, Bucket=bucket, Key="no-such-key")
    wrong_secret = "wrong-" + stack.secret_key[::-1]
    bad = Recorder(stack)
    bad.client = boto3.client(
        "s3", endpoint_url=stack.http_url, aws_access_key_id=stack.access_key, aws_secret_access_key=wrong_secret,
        region_name=REGION, config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    bad.client.meta.events.register("before-send", bad._signed)
    refused = bad.failing(bad.client.list_objects_v2, Bucket=bucket)

    tmp = tmp_path_factory.mktemp("awscli")
    env = client_env(stack, "http", tmp)
    f = tmp / "cli.txt"
    f.write_bytes(b"c" * 321)
    run(["aws", "--endpoint-url", stack.http_url, "s3", "cp", f, f"s3://{bucket}/cli.txt"], env=env, stack=stack)
    out = run(["aws", "--endpoint-url", stack.http_url, "s3", "ls", f"s3://{bucket}/"], env=env, stack=stack)
    assert "cli.txt" in out.stdout
    return {
        "bucket": bucket, "s3": s3, "bad": bad, "wrong_secret": wrong_secret,
        "missing_id": missing.response["ResponseMetadata"]["RequestId"],
        "refused_id": refused.response["ResponseMetadata"]["RequestId"],
    }


def test_every_request_is_logged_with_its_facts(stack, workload):
    s3 = workload["s3"]
    ids = [i for i, _, _ in s3.sent] + [workload["missing_id"], workload["refused_id"]]
    records = by_id(stack, ids)
    for request_id, operation, status in s3.sent:
        r = records[request_id]
        assert r["operation"] == operation, r
        assert r["status"] == status, r
        assert r["access_key_id"] == stack.access_key, r
        assert r["tenant"] == "default", r
        assert r["origin"] == "s3", r
        assert r["client_ip"] == "127.0.0.1", r
        assert "Boto3" in r["user_agent"] or "botocore" in r["user_agent"], r
        assert r["latency_ms"] >= 0 and r["time"].endswith("Z"), r
        assert "error_code" not in r and "auth_failure" not in r, r
        if operation != "CreateBucket":
            assert r["bucket"] == workload["bucket"], r
    ops = {i: op for i, op, _ in s3.sent}
    assert sorted(ops.values()) == sorted([
        "CreateBucket", "PutObject", "PutObject", "CreateMultipartUpload", "UploadPart", "UploadPart",
        "CompleteMultipartUpload", "GetObject", "HeadObject", "ListObjectsV2"])

    def the(operation, key=None):
        (r,) = [records[i] for i, op, _ in s3.sent if op == operation and (key is None or records[i].get("key") == key)]
        return r

    assert the("PutObject", "hello.txt")["bytes_in"] == 1000
    assert the("PutObject", "hello.txt")["zones"] == ["local-1"]
    assert the("PutObject", "dir/ü x\t\"q\".bin")["bytes_in"] == 10
    assert the("GetObject")["bytes_out"] == 1000 and the("GetObject")["zones"] == ["local-1"]
    assert sorted(records[i]["bytes_in"] for i, op, _ in s3.sent if op == "UploadPart") == [1234, 5 * 1024 * 1024]
    assert the("CompleteMultipartUpload")["key"] == "big.bin"
    assert the("HeadObject")["bytes_out"] == 0
    assert the("ListObjectsV2")["bytes_out"] > 0

    missing = records[workload["missing_id"]]
    assert (missing["status"], missing["error_code"], missing["operation"]) == (404, "NoSuchKey", "GetObject")
    assert missing["key"] == "no-such-key" and missing["access_key_id"] == stack.access_key
    refused = records[workload["refused_id"]]
    assert (refused["status"], refused["error_code"], refused["auth_failure"]) == (
        403, "SignatureDoesNotMatch", "SignatureDoesNotMatch")
    assert "access_key_id" not in refused and "tenant" not in refused

    # The aws cli's requests, by its user agent.
    cli_records = [r for r in oplog(stack, "--bucket", workload["bucket"])["records"]
                   if "aws-cli" in r.get("user_agent", "")]
    assert {(r["operation"], r["status"]) for r in cli_records} >= {("PutObject", 200), ("ListObjectsV2", 200)}
    (put,) = [r for r in cli_records if r["operation"] == "PutObject"]
    assert put["key"] == "cli.txt" and put["bytes_in"] >= 321


def test_no_secret_and_no_signature_reaches_the_files(stack, workload):
    by_id(stack, [workload["refused_id"]])
    files = sorted(oplog_dir(stack).glob("oplog.jsonl*"))
    assert files
    data = b"".join(f.read_bytes() for f in files if not f.name.endswith(".lock"))
    signatures = workload["s3"].signatures | workload["bad"].signatures
    assert len(signatures) >= 10
    for secret in [stack.secret_key, workload["wrong_secret"], *signatures]:
        assert secret.encode() not in data, "a secret or a signature is in the operations log"
    assert b"X-Amz-" not in data and b"Signature=" not in data and b"uploadId" not in data
    for f in files:
        assert f.stat().st_mode & 0o137 == 0, f"{f} is {oct(f.stat().st_mode)}"
    for line in data.splitlines():
        json.loads(line)


def test_filters(stack, workload):
    s3 = workload["s3"]
    by_id(stack, [workload["refused_id"], workload["missing_id"]])
    bucket = workload["bucket"]
    in_bucket = oplog(stack, "--bucket", bucket)["records"]
    assert in_bucket and all(r["bucket"] == bucket for r in in_bucket)
    assert {i for i, _, _ in s3.sent} <= {r["request_id"] for r in in_bucket}
    errors = oplog(stack, "--errors")["records"]
    assert errors and all(r["status"] >= 400 for r in errors)
    assert {workload["missing_id"], workload["refused_id"]} <= {r["request_id"] for r in errors}
    puts = oplog(stack, "--operation", "UploadPart", "--bucket", bucket)["records"]
    assert len(puts) == 2 and all(r["operation"] == "UploadPart" for r in puts)
    assert all(r["tenant"] == "default" for r in oplog(stack, "--tenant", "default")["records"])
    assert oplog(stack, "--tenant", "nobody")["records"] == []
    assert len(oplog(stack, "--since", "1h", "--bucket", bucket)["records"]) == len(in_bucket)
    assert oplog(stack, "--since", "2999-01-01T00:00:00Z")["records"] == []
    newest = oplog(stack, "--bucket", bucket, "--limit", "3")
    assert [r["request_id"] for r in newest["records"]] == [r["request_id"] for r in in_bucket[-3:]]
    # The table for people: a row per record, the hostile key without its raw tab.
    table = cli(stack, "oplog", "--bucket", bucket, "--operation", "PutObject").stdout
    assert table.splitlines()[0].split()[:3] == ["TIME", "STATUS", "OPERATION"]
    assert "hello.txt" in table and "\t" not in table
    bad = cli(stack, "oplog", "--since", "yesterday", check=False)
    assert bad.returncode == 1 and "InvalidRequest" in bad.stderr


def test_the_admin_api_answers_the_same(stack, workload):
    ids = [i for i, _, _ in workload["s3"].sent]
    remote = by_id(stack, ids, "--bucket", workload["bucket"], mode="remote")
    local = by_id(stack, ids, "--bucket", workload["bucket"])
    assert remote == local


def test_the_bucket_owners_view_shows_foreign_callers(stack):
    """`s3gw oplog --tenant T --bucket B` is T's bucket B whoever called: an anonymous GET of
    `T:B` and the default tenant's root addressing it show there, with their own tenant (or
    none) as the actor and `bucket_tenant` T; the bucket is its bare name."""
    tenant = "acme" + uuid.uuid4().hex[:6]
    assert admin_api.admin(stack, "POST", "tenants", {"id": tenant}).status_code == 201
    assert admin_api.admin(stack, "POST", f"tenants/{tenant}/users",
                           {"name": "admin", "permissions": {"s3:*": ["*"]}}).status_code == 201
    made = admin_api.admin(stack, "POST", f"tenants/{tenant}/users/admin/credentials").json()
    owner = boto3.client("s3", endpoint_url=stack.http_url, aws_access_key_id=made["access_key"],
                         aws_secret_access_key=made["secret_key"], region_name=REGION,
                         config=Config(s3={"addressing_style": "path"}))
    bucket = new_bucket_name("owned")
    owner.create_bucket(Bucket=bucket)
    anonymous = requests.get(f"{stack.http_url}/{tenant}:{bucket}/k", timeout=10)
    assert anonymous.status_code == 403
    other = s3_client(stack)
    other.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        other.get_object(Bucket=f"{tenant}:{bucket}", Key="k")
    ids = [anonymous.headers["x-amz-request-id"], e.value.response["ResponseMetadata"]["RequestId"]]
    records = by_id(stack, ids, "--tenant", tenant, "--bucket", bucket)
    anon, signed = records[ids[0]], records[ids[1]]
    assert (anon["bucket"], anon["bucket_tenant"], anon.get("tenant")) == (bucket, tenant, None), anon
    assert (signed["bucket"], signed["bucket_tenant"], signed["tenant"]) == (bucket, tenant, "default"), signed
    assert signed["access_key_id"] == stack.access_key
    assert all(r["bucket_tenant"] == tenant for r in oplog(stack, "--tenant", tenant, "--bucket", bucket)["records"])


def test_rotation_keeps_records_findable(stack, workload):
    by_id(stack, [workload["refused_id"]])
    rotated = sorted(oplog_dir(stack).glob("oplog.jsonl.[0-9]*"))
    assert len(rotated) >= 2, "a small max_bytes rotates"
    # Every rotated file is about max_bytes (each rotation happened once, by one worker).
    for f in rotated:
        assert MAX_BYTES <= f.stat().st_size < 8 * MAX_BYTES, (f, f.stat().st_size)
    in_rotated = {json.loads(line)["request_id"] for f in rotated for line in f.read_bytes().splitlines()}
    found = {r["request_id"] for r in oplog(stack)["records"]}
    assert in_rotated & {i for i, _, _ in workload["s3"].sent}, "the workload's records went into rotated files"
    assert in_rotated <= found


def test_a_killed_worker_loses_no_answered_request(stack, workload):
    """Large answers: a 1 MiB body goes out in direct writes, not through libfcgi's buffer, so
    without the gateway holding its last byte back the client could have it all before the
    record is written. Every GET read whole before the kill has its record."""
    bucket = workload["bucket"]
    body = os.urandom(1 << 20)
    s3_client(stack).put_object(Bucket=bucket, Key="before-kill.bin", Body=body)
    s3 = Recorder(stack)
    for n in range(30):
        assert s3.client.get_object(Bucket=bucket, Key="before-kill.bin")["Body"].read() == body
    workers = stack.worker_pids()
    assert len(workers) == 2
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    # The supervisor replaces them; the records were on disk before the kill.
    wait_until(lambda: set(stack.worker_pids()).isdisjoint(workers) and len(stack.worker_pids()) == 2, 30,
               "new workers", stack.log_tail)
    records = by_id(stack, [i for i, _, _ in s3.sent])
    assert len(records) == 30
    assert {(r["operation"], r["key"], r["bytes_out"]) for r in records.values()} == {
        ("GetObject", "before-kill.bin", 1 << 20)}
    # And the new workers write too.
    after = Recorder(stack)
    after.client.head_bucket(Bucket=workload["bucket"])
    by_id(stack, [i for i, _, _ in after.sent])


def test_a_clean_stop_loses_nothing(stack, workload):
    """Last: stops the stack. What the workers answered right before SIGTERM is in the files."""
    s3 = Recorder(stack)
    for n in range(50):
        s3.client.put_object(Bucket=workload["bucket"], Key=f"before-stop-{n}", Body=b"s")
    stack.stop()
    records = by_id(stack, [i for i, _, _ in s3.sent], timeout=5)
    assert len(records) == 50
