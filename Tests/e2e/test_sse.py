"""Server-side encryption as real clients see it: bucket default encryption (Put/Get/Delete
BucketEncryption) with boto3 and the aws CLI, S3's errors for malformed SSE headers, customer keys
(SSE-C) only over TLS, and a customer key never written anywhere (log, operations log, metadata).
Every object write (PUT, copy, multipart, POST form) encrypts (SSE-S3, SSE-KMS, SSE-C) and GET/HEAD
decrypt, on a filesystem zone and (S3GW_E2E_ZONE=remote) a moto provider zone."""

import base64
import hashlib
import io
import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from conftest import client_env, run, s3_client

TENANT = "default"
REMOTE = os.environ.get("S3GW_E2E_ZONE") == "remote"

KEY = bytes(range(32))
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
AES256_RULES = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"].get("Message", "")


def blob_files(gw) -> set:
    """Every stored blob: the filesystem zone's files, or (S3GW_E2E_ZONE=remote) the moto
    provider's objects listed on moto directly, as (bucket, key)."""
    if REMOTE:
        m = gw.moto.client()
        return {(b["Name"], o["Key"]) for b in m.list_buckets()["Buckets"]
                for page in m.get_paginator("list_objects_v2").paginate(Bucket=b["Name"])
                for o in page.get("Contents", [])}
    return {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}


def blob_bytes(gw, blob) -> bytes:
    if REMOTE:
        return gw.moto.client().get_object(Bucket=blob[0], Key=blob[1])["Body"].read()
    return blob.read_bytes()


def test_bucket_encryption_put_get_delete_with_boto3(gw, bucket):
    client = s3_client(gw)
    assert error_of(lambda: client.get_bucket_encryption(Bucket=bucket))[:2] == (
        "ServerSideEncryptionConfigurationNotFoundError", 404)
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=AES256_RULES)
    rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules == [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]
    client.delete_bucket_encryption(Bucket=bucket)
    assert error_of(lambda: client.get_bucket_encryption(Bucket=bucket))[0] == (
        "ServerSideEncryptionConfigurationNotFoundError")


def test_bucket_encryption_with_the_aws_cli(gw, bucket, tmp_path):
    env = client_env(gw, "http", tmp_path)
    base = ["aws", "--endpoint-url", gw.http_url, "s3api"]
    run(base + ["put-bucket-encryption", "--bucket", bucket, "--server-side-encryption-configuration",
                json.dumps(AES256_RULES)], env=env, stack=gw)
    out = json.loads(run(base + ["get-bucket-encryption", "--bucket", bucket], env=env, stack=gw).stdout)
    assert out["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    run(base + ["delete-bucket-encryption", "--bucket", bucket], env=env, stack=gw)
    r = run(base + ["get-bucket-encryption", "--bucket", bucket], env=env, stack=gw, check=False)
    assert r.returncode != 0 and "ServerSideEncryptionConfigurationNotFoundError" in r.stderr, r.stderr


def test_bucket_encryption_errors(gw, bucket):
    client = s3_client(gw)

    def put(rule):
        return error_of(lambda: client.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]}))

    kms_unknown = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "no-such"}}
    assert put(kms_unknown)[:2] == ("KMS.NotFoundException", 400)
    aes_with_key = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}
    assert put(aes_with_key)[:2] == ("InvalidArgument", 400)
    dsse = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse"}}
    assert put(dsse)[:2] == ("NotImplemented", 501)
    assert error_of(lambda: client.get_bucket_encryption(Bucket=bucket))[1] == 404, "nothing was stored"


def assert_ciphertext_only(gw, before: set, plain: bytes):
    """The blobs written since `before` (files of the filesystem zone, or objects in moto) hold no
    64-byte run of `plain`."""
    new = [p for p in blob_files(gw) if p not in before]
    assert new, "no blob was written"
    probe = plain[len(plain) // 2:len(plain) // 2 + 64]
    for p in new:
        assert probe not in blob_bytes(gw, p), f"{p} holds plaintext"


def test_a_default_encrypted_bucket_encrypts_plain_puts(gw, bucket):
    client = s3_client(gw)
    client.put_object(Bucket=bucket, Key="before", Body=b"plain")
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=AES256_RULES)
    data = os.urandom(300_000)
    before = blob_files(gw)
    put = client.put_object(Bucket=bucket, Key="k", Body=data)
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), "SSE-S3 ETag is the MD5"
    assert_ciphertext_only(gw, before, data)
    got = client.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == data and got["ServerSideEncryption"] == "AES256"
    assert client.get_object(Bucket=bucket, Key="k", Range="bytes=70000-70009")["Body"].read() == data[70000:70010]
    assert client.get_object(Bucket=bucket, Key="before")["Body"].read() == b"plain"
    # A copy gets the target bucket's default too.
    copy = client.copy_object(Bucket=bucket, Key="m", CopySource={"Bucket": bucket, "Key": "before"})
    assert copy["ServerSideEncryption"] == "AES256"
    assert client.get_object(Bucket=bucket, Key="m")["Body"].read() == b"plain"
    client.delete_bucket_encryption(Bucket=bucket)


def test_sse_s3_with_the_aws_cli(gw, bucket, tmp_path):
    env = client_env(gw, "http", tmp_path)
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(150_000))
    before = blob_files(gw)
    run(["aws", "--endpoint-url", gw.http_url, "s3", "cp", "--sse", "AES256", str(src), f"s3://{bucket}/f"],
        env=env, stack=gw)
    assert_ciphertext_only(gw, before, src.read_bytes())
    out = tmp_path / "out.bin"
    run(["aws", "--endpoint-url", gw.http_url, "s3", "cp", f"s3://{bucket}/f", str(out)], env=env, stack=gw)
    assert out.read_bytes() == src.read_bytes()
    head = json.loads(run(["aws", "--endpoint-url", gw.http_url, "s3api", "head-object", "--bucket", bucket,
                           "--key", "f"], env=env, stack=gw).stdout)
    assert head["ServerSideEncryption"] == "AES256"


def test_sse_kms_with_a_key_made_by_the_admin_api(gw, bucket):
    from test_admin_api import admin
    made = admin(gw, "POST", f"tenants/{TENANT}/kms-keys", {"alias": f"e2e-{bucket}"})
    assert made.status_code == 201, made.text
    key = made.json()
    client = s3_client(gw)
    data = os.urandom(100_000)
    before = blob_files(gw)
    put = client.put_object(Bucket=bucket, Key="k", Body=data, ServerSideEncryption="aws:kms",
                            SSEKMSKeyId=f"alias/e2e-{bucket}")
    assert put["SSEKMSKeyId"] == key["arn"]
    assert put["ETag"] != '"%s"' % hashlib.md5(data).hexdigest(), "an SSE-KMS ETag is not the MD5"
    assert_ciphertext_only(gw, before, data)
    got = client.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == data and got["SSEKMSKeyId"] == key["arn"]
    # A bucket default naming it; then the key disabled: no new objects under it.
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["id"]}}]})
    rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key["arn"]
    assert client.put_object(Bucket=bucket, Key="d", Body=b"x")["SSEKMSKeyId"] == key["arn"]
    disabled = admin(gw, "PATCH", f"tenants/{TENANT}/kms-keys/{key['id']}", {"state": "Disabled"})
    assert disabled.status_code == 200, disabled.text
    deadline = time.monotonic() + 15  # key rows are cached for a few seconds per process
    while True:
        try:
            client.put_object(Bucket=bucket, Key="late", Body=b"x")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "KMS.DisabledException", e.response
            break
        assert time.monotonic() < deadline, "a disabled key still encrypts"
        time.sleep(0.5)
    client.delete_bucket_encryption(Bucket=bucket)


def test_sse_c_round_trip_and_wrong_keys(gw, bucket):
    tls = s3_client(gw, "https")
    data = os.urandom(140_000)
    before = blob_files(gw)
    put = tls.put_object(Bucket=bucket, Key="c", Body=data, **SSE_C)
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(KEY).digest()).decode()
    assert_ciphertext_only(gw, before, data)
    assert tls.get_object(Bucket=bucket, Key="c", **SSE_C)["Body"].read() == data
    assert tls.get_object(Bucket=bucket, Key="c", Range="bytes=65530-65545", **SSE_C)["Body"].read() == \
        data[65530:65546]
    assert error_of(lambda: tls.get_object(Bucket=bucket, Key="c"))[:2] == ("InvalidRequest", 400)
    wrong = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": bytes(32)}
    assert error_of(lambda: tls.get_object(Bucket=bucket, Key="c", **wrong))[:2] == ("AccessDenied", 403)
    assert error_of(lambda: tls.head_object(Bucket=bucket, Key="c", **wrong))[1] == 403


@pytest.mark.parametrize("mode", ["sse-s3", "sse-kms", "sse-c"])
def test_multipart_upload_per_mode(gw, bucket, mode):
    """boto3's managed transfer (multipart above 5 MiB) with each mode; ranges across parts."""
    from boto3.s3.transfer import TransferConfig
    client = s3_client(gw, "https")
    extra = {"sse-s3": {"ServerSideEncryption": "AES256"}, "sse-kms": {"ServerSideEncryption": "aws:kms"},
             "sse-c": SSE_C}[mode]
    read = SSE_C if mode == "sse-c" else {}
    data = os.urandom(11 * 1024 * 1024 + 123)
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    before = blob_files(gw)
    client.upload_fileobj(io.BytesIO(data), bucket, "big", ExtraArgs=extra, Config=cfg)
    assert_ciphertext_only(gw, before, data)
    head = client.head_object(Bucket=bucket, Key="big", **read)
    assert head["ETag"].endswith('-3"'), head["ETag"]
    assert head["ContentLength"] == len(data)
    assert client.get_object(Bucket=bucket, Key="big", **read)["Body"].read() == data
    lo = 5 * 1024 * 1024 - 100
    assert client.get_object(Bucket=bucket, Key="big", Range=f"bytes={lo}-{lo + 199}", **read)["Body"].read() == \
        data[lo:lo + 200]
    assert client.get_object(Bucket=bucket, Key="big", PartNumber=3, **read)["Body"].read() == \
        data[10 * 1024 * 1024:]


def test_copies_decrypt_and_re_encrypt(gw, bucket):
    tls = s3_client(gw, "https")
    data = os.urandom(90_000)
    tls.put_object(Bucket=bucket, Key="c", Body=data, **SSE_C)
    source_key = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": KEY}
    assert error_of(lambda: tls.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "c"}))[:2] \
        == ("InvalidRequest", 400)
    copy = tls.copy_object(Bucket=bucket, Key="s3", CopySource={"Bucket": bucket, "Key": "c"},
                           ServerSideEncryption="AES256", **source_key)
    assert copy["ServerSideEncryption"] == "AES256"
    assert copy["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    assert tls.get_object(Bucket=bucket, Key="s3")["Body"].read() == data
    # Onto itself with another encryption: S3's way to re-encrypt an object.
    tls.copy_object(Bucket=bucket, Key="s3", CopySource={"Bucket": bucket, "Key": "s3"}, ServerSideEncryption="aws:kms")
    assert tls.head_object(Bucket=bucket, Key="s3")["ServerSideEncryption"] == "aws:kms"
    assert tls.get_object(Bucket=bucket, Key="s3")["Body"].read() == data


def test_browser_post_form_with_sse(gw, bucket):
    import requests
    client = s3_client(gw, signature_version="s3v4")
    field = "x-amz-server-side-encryption"
    form = client.generate_presigned_post(bucket, "p", Fields={field: "AES256"}, Conditions=[{field: "AES256"}])
    data = os.urandom(70_000)
    before = blob_files(gw)
    r = requests.post(form["url"], data=form["fields"], files={"file": ("f", data)}, timeout=60)
    assert r.status_code == 204, r.text
    assert r.headers.get("x-amz-server-side-encryption") == "AES256"
    assert_ciphertext_only(gw, before, data)
    assert client.get_object(Bucket=bucket, Key="p")["Body"].read() == data


def test_two_identical_uploads_are_stored_differently(gw, bucket):
    client = s3_client(gw)
    data = os.urandom(10_000)
    before = blob_files(gw)
    client.put_object(Bucket=bucket, Key="a", Body=data, ServerSideEncryption="AES256")
    client.put_object(Bucket=bucket, Key="b", Body=data, ServerSideEncryption="AES256")
    new = [blob_bytes(gw, p) for p in blob_files(gw) if p not in before]
    assert len(new) == 2 and new[0] != new[1]


@pytest.mark.skipif(REMOTE, reason="swaps the filesystem zone's part blob files")
def test_swapped_equal_size_parts_fail_the_read(gw, bucket):
    """Each part is bound to its number: two equal-size part blobs swapped on disk make the GET
    (whole or ranged) fail, never answer the parts in the wrong order."""
    client = s3_client(gw)
    size = 5 * 1024 * 1024
    one, two = os.urandom(size), os.urandom(size)
    before = blob_files(gw)
    up = client.create_multipart_upload(Bucket=bucket, Key="sw", ServerSideEncryption="AES256")["UploadId"]
    etags = [client.upload_part(Bucket=bucket, Key="sw", UploadId=up, PartNumber=n, Body=body)["ETag"]
             for n, body in ((1, one), (2, two))]
    client.complete_multipart_upload(
        Bucket=bucket, Key="sw", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]})
    assert client.get_object(Bucket=bucket, Key="sw")["Body"].read() == one + two
    parts = [p for p in blob_files(gw) if p not in before]
    assert len(parts) == 2 and parts[0].stat().st_size == parts[1].stat().st_size
    a, b = parts[0].read_bytes(), parts[1].read_bytes()
    parts[0].write_bytes(b)
    parts[1].write_bytes(a)
    code, status, _ = error_of(lambda: client.get_object(Bucket=bucket, Key="sw")["Body"].read())
    assert (code, status) == ("InternalError", 500)
    code, status, _ = error_of(
        lambda: client.get_object(Bucket=bucket, Key="sw", Range=f"bytes={size + 10}-{size + 20}")["Body"].read())
    assert (code, status) == ("InternalError", 500)


@pytest.mark.parametrize("args, answer", [
    ({"ServerSideEncryption": "AES128"}, ("InvalidArgument", 400)),
    ({"SSEKMSKeyId": "k"}, ("InvalidArgument", 400)),
    ({"ServerSideEncryption": "aws:kms:dsse"}, ("NotImplemented", 501)),
    ({"ServerSideEncryption": "aws:kms", "SSEKMSEncryptionContext": base64.b64encode(b"{}").decode()},
     ("NotImplemented", 501)),
    ({**SSE_C, "ServerSideEncryption": "AES256"}, ("InvalidArgument", 400)),
    ({"SSECustomerAlgorithm": "AES128", "SSECustomerKey": KEY}, ("InvalidEncryptionAlgorithmError", 400)),
    ({"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY[:16]}, ("InvalidArgument", 400)),
    # With the MD5 given, botocore sends the key as given (already base64).
    ({"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(KEY).decode(),
      "SSECustomerKeyMD5": base64.b64encode(b"0" * 16).decode()}, ("InvalidArgument", 400)),
], ids=["algorithm", "kms-key-without-kms", "dsse", "context", "sse-c-and-sse", "sse-c-algorithm", "short-key",
        "wrong-md5"])
def test_malformed_sse_headers_get_s3s_errors(gw, bucket, args, answer):
    client = s3_client(gw, "https")
    before = blob_files(gw)
    assert error_of(lambda: client.put_object(Bucket=bucket, Key="k", Body=b"x", **args))[:2] == answer
    assert blob_files(gw) == before
    assert error_of(lambda: client.head_object(Bucket=bucket, Key="k"))[1] == 404


def test_customer_keys_need_tls_and_never_apply_to_plaintext(gw, bucket):
    plain = s3_client(gw, "http")
    plain.put_object(Bucket=bucket, Key="src", Body=b"source")
    code, status, message = error_of(lambda: plain.put_object(Bucket=bucket, Key="k", Body=b"x", **SSE_C))
    assert (code, status) == ("InvalidRequest", 400)
    assert "secure connection" in message
    tls = s3_client(gw, "https")
    assert error_of(lambda: tls.get_object(Bucket=bucket, Key="src", **SSE_C))[:2] == ("InvalidRequest", 400)
    assert error_of(lambda: tls.copy_object(
        Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=KEY))[:2] == ("InvalidRequest", 400)
    # A copy into SSE-C, read back with the key only.
    tls.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "src"}, **SSE_C)
    assert tls.get_object(Bucket=bucket, Key="k", **SSE_C)["Body"].read() == b"source"
    assert error_of(lambda: tls.get_object(Bucket=bucket, Key="k"))[:2] == ("InvalidRequest", 400)


def test_a_customer_key_is_written_nowhere(gw, bucket):
    """After requests carrying the key (accepted or refused), neither the key (base64, hex, raw)
    nor its MD5 is in any file of the installation: logs, operations log, metadata, blobs."""
    tls = s3_client(gw, "https")
    tls.put_object(Bucket=bucket, Key="src", Body=b"source")
    tls.put_object(Bucket=bucket, Key="k", Body=b"x", **SSE_C)
    assert tls.get_object(Bucket=bucket, Key="k", **SSE_C)["Body"].read() == b"x"
    for call in (
        lambda: tls.get_object(Bucket=bucket, Key="k"),
        lambda: tls.get_object(Bucket=bucket, Key="src", **SSE_C),
        lambda: tls.put_object(Bucket=bucket, Key="k", Body=b"x", **SSE_C, ServerSideEncryption="AES256"),
    ):
        with pytest.raises(ClientError):
            call()
    md5 = hashlib.md5(KEY).digest()
    needles = [base64.b64encode(KEY), KEY.hex().encode(), KEY, base64.b64encode(md5), md5.hex().encode()]
    for path in gw.tmp.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for needle in needles:
            assert needle not in data, f"{path} holds the customer key or its MD5"
