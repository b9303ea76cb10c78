"""Signed aws-chunked uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD and its -TRAILER variant), as
the Java, Go v2 and minio-go SDKs send them. Spec:
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html"""

import base64
import os
import zlib

import pytest
import requests

import sigv4
from test_negative import assert_absent, send
from conftest import assert_s3_error

CHUNKS = [os.urandom(64 * 1024), os.urandom(64 * 1024), os.urandom(1000)]


def signed_put(gw, bucket, key, chunks, tamper=None, scheme="http", chunked_transport=False, trailer=False,
               trailer_checksum=None):
    url = gw.url(scheme) + sigv4.key_path(bucket, key)
    data = b"".join(chunks)
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    mode = sigv4.STREAMING_SIGNED_TRAILER if trailer else sigv4.STREAMING_SIGNED
    s = sigv4.sign("PUT", url, gw.access_key, gw.secret_key, headers, payload_hash=mode)
    frames = sigv4.signed_chunks(s, chunks)
    if trailer:
        # The final chunk carries no CRLF of its own; the trailer and its signature follow it.
        final_sig = frames[-1].split(b"chunk-signature=")[1][:64].decode()
        frames[-1] = frames[-1][:-2]
        value = trailer_checksum or base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        trailer_line = f"x-amz-checksum-crc32:{value}".encode()
        tsig = sigv4.trailer_signature(s, final_sig, trailer_line + b"\n")
        frames.append(trailer_line + b"\r\n" + f"x-amz-trailer-signature:{tsig}\r\n\r\n".encode())
    body = b"".join(frames)
    if tamper is not None:
        body = tamper(body)
    if not chunked_transport:
        s.headers["Content-Length"] = str(len(body))
        payload = body
    else:
        payload = iter([body[i:i + 50000] for i in range(0, len(body), 50000)])
    return requests.put(url, data=payload, headers=s.headers, verify=gw.verify(scheme) or True, timeout=60)


@pytest.mark.parametrize("chunked_transport", [False, True], ids=["content-length", "transfer-chunked"])
def test_signed_chunks_upload(gw, bucket, chunked_transport):
    r = signed_put(gw, bucket, "signed", CHUNKS, chunked_transport=chunked_transport)
    assert r.status_code == 200, r.text
    got = send(gw, "GET", f"/{bucket}/signed")
    assert got.status_code == 200
    assert got.content == b"".join(CHUNKS)


def test_signed_chunks_over_https(gw, bucket):
    r = signed_put(gw, bucket, "signed-tls", CHUNKS, scheme="https")
    assert r.status_code == 200, r.text
    assert send(gw, "GET", f"/{bucket}/signed-tls").content == b"".join(CHUNKS)


def test_tampered_chunk_is_rejected_and_nothing_stored(gw, bucket):
    def flip_byte_in_second_chunk(body: bytes) -> bytes:
        pos = body.index(b"chunk-signature=", 100) + 100  # inside the second chunk's data
        return body[:pos] + bytes([body[pos] ^ 0xFF]) + body[pos + 1:]

    r = signed_put(gw, bucket, "tampered", CHUNKS, tamper=flip_byte_in_second_chunk)
    assert_s3_error(r, 403, "SignatureDoesNotMatch")
    assert_absent(gw, bucket, "tampered")


def test_swapped_chunk_signature_is_rejected(gw, bucket):
    def drop_first_chunk_signature(body: bytes) -> bytes:
        i = body.index(b"chunk-signature=") + len(b"chunk-signature=")
        return body[:i] + b"0" * 64 + body[i + 64:]

    r = signed_put(gw, bucket, "badsig", CHUNKS, tamper=drop_first_chunk_signature)
    assert_s3_error(r, 403, "SignatureDoesNotMatch")
    assert_absent(gw, bucket, "badsig")


def test_signed_chunks_with_signed_trailer(gw, bucket):
    r = signed_put(gw, bucket, "trailer", CHUNKS, trailer=True)
    assert r.status_code == 200, r.text
    assert send(gw, "GET", f"/{bucket}/trailer").content == b"".join(CHUNKS)


def test_signed_trailer_with_wrong_checksum_stores_nothing(gw, bucket):
    wrong = base64.b64encode(zlib.crc32(b"nope").to_bytes(4, "big")).decode()
    r = signed_put(gw, bucket, "trailer-bad", CHUNKS, trailer=True, trailer_checksum=wrong)
    assert_s3_error(r, 400, {"BadDigest", "XAmzContentChecksumMismatch", "InvalidRequest"})
    assert_absent(gw, bucket, "trailer-bad")
