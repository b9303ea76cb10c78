"""Server-side encryption as real clients see it: bucket default encryption (Put/Get/Delete
BucketEncryption) with boto3 and the aws CLI, S3's errors for malformed SSE headers, customer keys
(SSE-C) only over TLS, and a customer key never written anywhere (log, operations log, metadata).
Writes that must be encrypted are refused (501, nothing stored) until the data path encrypts."""

import base64
import hashlib
import json
import os

import pytest
from botocore.exceptions import ClientError

from conftest import client_env, run, s3_client

KEY = bytes(range(32))
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
AES256_RULES = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"].get("Message", "")


def blob_files(gw) -> set:
    return {p for p in (gw.zone_dir / "buckets").rglob("*") if p.is_file()}


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


def test_a_default_encrypted_bucket_refuses_writes_until_the_data_path_encrypts(gw, bucket):
    client = s3_client(gw)
    client.put_object(Bucket=bucket, Key="before", Body=b"plain")
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=AES256_RULES)
    before = blob_files(gw)
    code, status, message = error_of(lambda: client.put_object(Bucket=bucket, Key="k", Body=b"x" * 1024))
    assert (code, status) == ("NotImplemented", 501)
    assert "default encryption" in message
    assert blob_files(gw) == before
    assert client.get_object(Bucket=bucket, Key="before")["Body"].read() == b"plain"
    client.delete_bucket_encryption(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="k", Body=b"x")


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
    # Valid and over TLS, but not encryptable yet: refused, nothing stored.
    assert error_of(lambda: tls.put_object(Bucket=bucket, Key="k", Body=b"x", **SSE_C))[:2] == ("NotImplemented", 501)
    assert error_of(lambda: tls.head_object(Bucket=bucket, Key="k"))[1] == 404


def test_a_customer_key_is_written_nowhere(gw, bucket):
    """After requests carrying the key (accepted or refused), neither the key (base64, hex, raw)
    nor its MD5 is in any file of the installation: logs, operations log, metadata, blobs."""
    tls = s3_client(gw, "https")
    tls.put_object(Bucket=bucket, Key="src", Body=b"source")
    for call in (
        lambda: tls.put_object(Bucket=bucket, Key="k", Body=b"x", **SSE_C),
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
