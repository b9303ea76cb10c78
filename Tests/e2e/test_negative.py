"""Requests no well-behaved SDK sends: each must get the right S3 error XML (Code, Message,
RequestId, x-amz-request-id header) and must leave nothing stored."""

import base64
import datetime as dt
import hashlib
import zlib

import pytest
import requests

import sigv4
from conftest import assert_s3_error, new_bucket_name, s3_client


def send(gw, method, path, body=b"", headers=None, payload_hash=None, access_key=None, secret_key=None,
         now=None, scheme="http", data=None):
    url = gw.url(scheme) + path
    if payload_hash is None:
        payload_hash = sigv4.sha256_hex(body) if isinstance(body, bytes) else sigv4.UNSIGNED
    s = sigv4.sign(method, url, access_key or gw.access_key, secret_key or gw.secret_key, headers or {},
                   payload_hash=payload_hash, now=now)
    return requests.request(method, url, data=body if data is None else data, headers=s.headers,
                            verify=gw.verify(scheme) or True, timeout=60)


def assert_absent(gw, bucket, key):
    r = send(gw, "HEAD", sigv4.key_path(bucket, key))
    assert r.status_code == 404, f"object {key!r} exists after a failed upload: {r.status_code} {r.headers}"
    listed = s3_client(gw).list_objects_v2(Bucket=bucket).get("Contents", [])
    assert key not in [o["Key"] for o in listed]


def test_valid_hand_signed_request_works(gw, bucket):
    # Guards the helpers below: the same signer, untampered, is accepted.
    assert send(gw, "PUT", f"/{bucket}/ok", b"fine").status_code == 200
    r = send(gw, "GET", f"/{bucket}/ok")
    assert r.status_code == 200 and r.content == b"fine"


def test_tampered_signature(gw):
    url = gw.http_url + "/"
    s = sigv4.sign("GET", url, gw.access_key, gw.secret_key, payload_hash=sigv4.EMPTY_SHA256)
    sig = s.headers["Authorization"][-64:]
    flipped = ("0" if sig[-1] != "0" else "1")
    s.headers["Authorization"] = s.headers["Authorization"][:-1] + flipped
    assert_s3_error(requests.get(url, headers=s.headers), 403, "SignatureDoesNotMatch")


def test_tampered_header_after_signing(gw, bucket):
    url = gw.http_url + f"/{bucket}/k"
    s = sigv4.sign("PUT", url, gw.access_key, gw.secret_key, {"x-amz-meta-a": "1"},
                   payload_hash=sigv4.sha256_hex(b"body"))
    s.headers["x-amz-meta-a"] = "2"
    assert_s3_error(requests.put(url, data=b"body", headers=s.headers), 403, "SignatureDoesNotMatch")
    assert_absent(gw, bucket, "k")


def test_wrong_secret(gw):
    assert_s3_error(send(gw, "GET", "/", secret_key="not-the-secret"), 403, "SignatureDoesNotMatch")


def test_unknown_access_key(gw):
    assert_s3_error(send(gw, "GET", "/", access_key="AKIDUNKNOWNUNKNOWN"), 403, "InvalidAccessKeyId")


def test_anonymous_request_is_denied(gw):
    assert_s3_error(requests.get(gw.http_url + "/"), 403, "AccessDenied")


@pytest.mark.parametrize("skew", [-3600, 3600])
def test_skewed_clock(gw, skew):
    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=skew)
    assert_s3_error(send(gw, "GET", "/", now=now), 403, "RequestTimeTooSkewed")


def test_payload_hash_mismatch_stores_nothing(gw, bucket):
    r = send(gw, "PUT", f"/{bucket}/sha", b"actual body", payload_hash=sigv4.sha256_hex(b"other body"))
    assert_s3_error(r, 400, "XAmzContentSHA256Mismatch")
    assert_absent(gw, bucket, "sha")


def test_content_md5_mismatch_stores_nothing(gw, bucket):
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    r = send(gw, "PUT", f"/{bucket}/md5", b"actual body", headers={"Content-MD5": wrong})
    assert_s3_error(r, 400, "BadDigest")
    assert_absent(gw, bucket, "md5")


def test_malformed_content_md5(gw, bucket):
    r = send(gw, "PUT", f"/{bucket}/md5bad", b"actual body", headers={"Content-MD5": "not base64!"})
    assert_s3_error(r, 400, "InvalidDigest")
    assert_absent(gw, bucket, "md5bad")


def test_header_checksum_mismatch_stores_nothing(gw, bucket):
    wrong = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    r = send(gw, "PUT", f"/{bucket}/crc", b"actual body", headers={"x-amz-checksum-crc32": wrong})
    assert_s3_error(r, 400, "BadDigest")
    assert_absent(gw, bucket, "crc")


def trailer_request(gw, bucket, key, body, decoded_length, scheme="http", chunked_transport=True):
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": str(decoded_length),
    }
    # botocore streams the aws-chunked body with Transfer-Encoding: chunked and no Content-Length.
    data = iter([body[i:i + 65536] for i in range(0, len(body), 65536)]) if chunked_transport else body
    return send(gw, "PUT", sigv4.key_path(bucket, key), body, headers=headers,
                payload_hash=sigv4.STREAMING_UNSIGNED_TRAILER, scheme=scheme, data=data)


@pytest.mark.parametrize("chunked_transport", [True, False], ids=["transfer-chunked", "content-length"])
def test_unsigned_trailer_upload_and_wrong_trailer_checksum(gw, bucket, chunked_transport):
    chunks = [b"a" * 70000, b"b" * 5000]
    data = b"".join(chunks)
    good = sigv4.unsigned_trailer_body(chunks, "x-amz-checksum-crc32",
                                       base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode())
    r = trailer_request(gw, bucket, "good", good, len(data), chunked_transport=chunked_transport)
    assert r.status_code == 200, r.text
    assert send(gw, "GET", f"/{bucket}/good").content == data

    bad = sigv4.unsigned_trailer_body(chunks, "x-amz-checksum-crc32",
                                      base64.b64encode(zlib.crc32(b"x").to_bytes(4, "big")).decode())
    r = trailer_request(gw, bucket, "bad", bad, len(data), chunked_transport=chunked_transport)
    assert_s3_error(r, 400, {"BadDigest", "XAmzContentChecksumMismatch", "InvalidRequest"})
    assert_absent(gw, bucket, "bad")


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",                     # size is not hex
        b"5\r\nabc\r\n0\r\n\r\n",                      # chunk shorter than announced
        b"3\r\nabcdef\r\n0\r\n\r\n",                   # chunk longer than announced
        b"3\r\nabc\r\n",                                # no final chunk
        b"3\r\nabc",                                    # truncated mid-frame
    ],
    ids=["not-hex", "short", "long", "no-final-chunk", "truncated"],
)
def test_broken_chunk_framing_stores_nothing(gw, bucket, body):
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "3"}
    r = send(gw, "PUT", f"/{bucket}/framing", body, headers=headers, payload_hash=sigv4.STREAMING_UNSIGNED_TRAILER)
    assert_s3_error(r, 400)
    assert_absent(gw, bucket, "framing")


def test_decoded_length_mismatch_stores_nothing(gw, bucket):
    body = sigv4.unsigned_trailer_body([b"abc"], "x-amz-checksum-crc32",
                                       base64.b64encode(zlib.crc32(b"abc").to_bytes(4, "big")).decode())
    headers = {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
               "x-amz-decoded-content-length": "10"}
    r = send(gw, "PUT", f"/{bucket}/declen", body, headers=headers, payload_hash=sigv4.STREAMING_UNSIGNED_TRAILER)
    assert_s3_error(r, 400)
    assert_absent(gw, bucket, "declen")


def test_malformed_create_bucket_xml(gw):
    name = new_bucket_name("badxml")
    body = b"<CreateBucketConfiguration><LocationConstraint>se</Location"
    assert_s3_error(send(gw, "PUT", f"/{name}", body), 400, "MalformedXML")
    assert send(gw, "HEAD", f"/{name}").status_code == 404


def test_unknown_location_constraint(gw):
    name = new_bucket_name("nowhere")
    body = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<LocationConstraint>atlantis-1</LocationConstraint></CreateBucketConfiguration>")
    assert_s3_error(send(gw, "PUT", f"/{name}", body), 400, "InvalidLocationConstraint")
    assert send(gw, "HEAD", f"/{name}").status_code == 404


def test_invalid_bucket_name(gw):
    assert_s3_error(send(gw, "PUT", "/Invalid_Bucket_Name", b""), 400, "InvalidBucketName")


def test_a_key_with_nul_is_refused_by_every_object_request(gw, bucket):
    # The same answer on SQLite and PostgreSQL (whose text cannot hold NUL): 400, from nginx (it
    # refuses %00 in a path) or from the gateway behind it (InvalidArgument).
    for method in ("PUT", "GET", "HEAD", "DELETE"):
        r = send(gw, method, f"/{bucket}/a%00b", b"x" if method == "PUT" else b"")
        assert r.status_code == 400, (method, r.status_code, r.text)
    r = send(gw, "PUT", f"/{bucket}/dst", b"", headers={"x-amz-copy-source": f"/{bucket}/a%00b"})
    assert_s3_error(r, 400, "InvalidArgument")
    assert s3_client(gw).list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_errors_carry_request_ids_for_missing_things(gw, bucket):
    assert_s3_error(send(gw, "GET", f"/{bucket}/nope"), 404, "NoSuchKey")
    assert_s3_error(send(gw, "GET", f"/{new_bucket_name('gone')}/nope"), 404, "NoSuchBucket")
    r = send(gw, "HEAD", f"/{bucket}/nope")
    assert r.status_code == 404 and r.headers.get("x-amz-request-id")
