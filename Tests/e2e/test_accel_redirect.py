"""Filesystem-zone GETs sent by nginx (X-Accel-Redirect, `[server] accel_redirect`, on by default):
the worker decides and sets every header, nginx sends the file. These check that the answer is
the one the worker would have streamed, byte for byte; that what must stream still does; that a
blob gone before nginx opens it is answered by the gateway; and that no client reaches a zone's
files through nginx's internal locations.

Which path answered is visible in `Server`: an accelerated answer carries nginx's own (nginx
keeps no upstream header on a redirect and cannot replace its own Server), a streamed one the
gateway's `s3gw`."""

import base64
import hashlib
import http.client
import os
import re
import signal
import ssl
from pathlib import Path

import pytest

import sigv4
from conftest import Stack, new_bucket_name, wait_until

ACCELERATED, STREAMED = "nginx", "s3gw"
# Headers that differ between any two answers (clock, request id, connection, who sent them).
VARYING = {"date", "x-amz-request-id", "x-amz-id-2", "server", "connection", "keep-alive"}
ODD_META = b"caf\xc3\xa9 \xe9\x7f ;,=&%2F+\"quoted\" \ttab"


def send(stack: Stack, method: str, path: str, headers: dict | None = None, body: bytes = b"",
         host: str | None = None, sign: bool = True, scheme: str = "http"):
    """One raw request; (status, [(name, value as latin-1)], body). Signed with SigV4 (every
    header given), `host` as the Host header when given (virtual-hosted style)."""
    port = stack.https_port if scheme == "https" else stack.http_port
    netloc = host or f"127.0.0.1:{port}"
    hdrs = dict(headers or {})
    if sign:
        payload = sigv4.sha256_hex(body)
        hdrs = sigv4.sign(method, f"http://{netloc}{path}", stack.access_key, stack.secret_key, hdrs,
                          payload_hash=payload).headers
    if scheme == "https":
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=60,
                                           context=ssl.create_default_context(cafile=stack.ca_file))
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", netloc)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if body or method == "PUT":
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def header(headers, name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name.lower()]
    assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
    return values[0] if values else None


def comparable(headers) -> list:
    return sorted((k.lower(), v) for k, v in headers if k.lower() not in VARYING)


@pytest.fixture(scope="module")
def off():
    """The same gateway with acceleration off: every GET streams through the worker, as before."""
    s = Stack("accel-off", server_extra="accel_redirect = false").start()
    yield s
    s.stop()
    s.cleanup()


def put(stack: Stack, bucket: str, key: str, body: bytes, headers: dict | None = None):
    status, h, text = send(stack, "PUT", f"/{bucket}/{key}", headers, body)
    assert status == 200, text
    return header(h, "ETag")


def new_bucket(stack: Stack, versioned: bool = False) -> str:
    bucket = new_bucket_name("accel")
    assert send(stack, "PUT", f"/{bucket}")[0] == 200
    if versioned:
        doc = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
        assert send(stack, "PUT", f"/{bucket}?versioning", body=doc)[0] == 200
    return bucket


OBJECT_HEADERS = {
    "Content-Type": "text/x-odd; charset=latin1",
    "Cache-Control": "no-cache, private",
    "Content-Disposition": 'inline; filename="a b.txt"',
    "Content-Language": "sv",
    "Expires": "Thu, 01 Dec 2044 16:00:00 GMT",
    "x-amz-meta-odd": ODD_META,
    "x-amz-meta-plain": "v",
    "x-amz-tagging": "a=1&b=2",
}


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_accelerated_get_answers_as_the_worker_streams_it(gw, scheme):
    bucket = new_bucket(gw, versioned=True)
    cors = (b"<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>"
            b"<AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><ExposeHeader>ETag</ExposeHeader></CORSRule></CORSConfiguration>")
    md5 = base64.b64encode(hashlib.md5(cors).digest()).decode()
    status, _, text = send(gw, "PUT", f"/{bucket}?cors", {"Content-MD5": md5}, body=cors)
    assert status == 200, text
    body = os.urandom(100_000)
    etag = put(gw, bucket, "obj", body, OBJECT_HEADERS)
    path = f"/{bucket}/obj"
    origin = {"Origin": "https://app.example"}

    for query in ("", "?response-content-disposition=attachment%3B%20filename%3D%22x.bin%22"
                      "&response-content-type=application/x-over"):
        status, fast, got = send(gw, "GET", path + query, origin, scheme=scheme)
        assert (status, header(fast, "Server")) == (200, ACCELERATED), fast
        assert got == body
        # The same request answered by the worker itself: a condition that holds (If-Match)
        # keeps it off the accelerated path and changes nothing else.
        status, slow, got = send(gw, "GET", path + query, {**origin, "If-Match": etag}, scheme=scheme)
        assert (status, header(slow, "Server"), got) == (200, STREAMED, body)
        assert comparable(fast) == comparable(slow)
        # HEAD stays in the worker and says the same.
        status, head, _ = send(gw, "HEAD", path + query, origin, scheme=scheme)
        assert (status, header(head, "Server")) == (200, STREAMED)
        assert comparable(head) == comparable(fast)

    assert header(fast, "x-amz-meta-odd").encode("latin-1") == ODD_META
    assert header(fast, "ETag") == etag
    assert header(fast, "x-amz-version-id")
    assert header(fast, "x-amz-tagging-count") == "2"
    assert header(fast, "Content-Type") == "application/x-over"
    assert header(fast, "Content-Disposition") == 'attachment; filename="x.bin"'
    assert header(fast, "Access-Control-Allow-Origin") == "https://app.example"
    assert header(fast, "Last-Modified") == header(head, "Last-Modified")
    assert header(fast, "x-amz-mp-parts-count") is None
    assert header(fast, "Content-Security-Policy") == "sandbox"
    assert header(fast, "X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("spec", ["bytes=0-9", "bytes=5-", "bytes=-7", "bytes=-100000000", "bytes=99990-100000000",
                                  "bytes=0-"])
def test_a_range_nginx_sends_is_the_range_the_worker_sends(gw, spec):
    bucket = new_bucket(gw)
    body = os.urandom(100_000)
    etag = put(gw, bucket, "obj", body)
    status, fast, got = send(gw, "GET", f"/{bucket}/obj", {"Range": spec})
    assert (status, header(fast, "Server")) == (206, ACCELERATED), fast
    status2, slow, got2 = send(gw, "GET", f"/{bucket}/obj", {"Range": spec, "If-Match": etag})
    assert (status2, header(slow, "Server")) == (206, STREAMED)
    assert got == got2
    assert comparable(fast) == comparable(slow)
    first, last = (int(x) for x in header(fast, "Content-Range").split(" ")[1].split("/")[0].split("-"))
    assert got == body[first:last + 1]


def test_the_switch_off_streams_every_get_with_the_same_headers(gw, off):
    bucket_on, bucket_off = new_bucket(gw), new_bucket(off)
    body = os.urandom(5000)
    put(gw, bucket_on, "obj", body, OBJECT_HEADERS)
    put(off, bucket_off, "obj", body, OBJECT_HEADERS)
    for spec in (None, "bytes=-10", "bytes=100-"):
        h = {"Range": spec} if spec else {}
        s1, fast, b1 = send(gw, "GET", f"/{bucket_on}/obj", h)
        s2, slow, b2 = send(off, "GET", f"/{bucket_off}/obj", h)
        assert (header(fast, "Server"), header(slow, "Server")) == (ACCELERATED, STREAMED)
        assert (s1, b1) == (s2, b2)
        drop = {"last-modified", "x-s3gw-zone"}  # another stack: its own clock and zone
        assert [x for x in comparable(fast) if x[0] not in drop] == [x for x in comparable(slow) if x[0] not in drop]


def test_what_nginx_would_answer_differently_still_streams(gw):
    bucket = new_bucket(gw)
    body = os.urandom(3000)
    etag = put(gw, bucket, "obj", body)
    path = f"/{bucket}/obj"
    for extra, status in [
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}, 200),
        ({"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}, 412),
        ({"Range": "bytes=1-2,5-6"}, 200),
        ({"Range": "bytes= 1-2"}, 206),
        ({"Range": "bytes=1-2", "If-Range": etag}, 206),
    ]:
        s, h, got = send(gw, "GET", path, extra)
        assert s == status, (extra, s, got[:200])
        assert header(h, "Server") == STREAMED, extra
    s, h, got = send(gw, "GET", path + "?partNumber=1")
    assert (s, header(h, "Server"), got) == (206, STREAMED, body)

    # Encrypted (SSE-S3): the worker decrypts.
    put(gw, bucket, "sealed", body, {"x-amz-server-side-encryption": "AES256"})
    s, h, got = send(gw, "GET", f"/{bucket}/sealed")
    assert (s, header(h, "Server"), got) == (200, STREAMED, body)
    assert header(h, "x-amz-server-side-encryption") == "AES256"


def test_a_multipart_object_of_several_blobs_streams(gw):
    bucket = new_bucket(gw)
    s, _, text = send(gw, "POST", f"/{bucket}/mp?uploads")
    upload = text.decode().split("<UploadId>")[1].split("</UploadId>")[0]
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    etags = [put(gw, bucket, f"mp?partNumber={i + 1}&uploadId={upload}", p) for i, p in enumerate(parts)]
    doc = "".join(f"<Part><PartNumber>{i + 1}</PartNumber><ETag>{e}</ETag></Part>" for i, e in enumerate(etags))
    s, _, text = send(gw, "POST", f"/{bucket}/mp?uploadId={upload}",
                      body=f"<CompleteMultipartUpload>{doc}</CompleteMultipartUpload>".encode())
    assert s == 200, text
    s, h, got = send(gw, "GET", f"/{bucket}/mp")
    assert (s, header(h, "Server"), got) == (200, STREAMED, b"".join(parts))
    s, h, got = send(gw, "GET", f"/{bucket}/mp", {"Range": "bytes=-10"})
    assert (s, header(h, "Server"), got) == (206, STREAMED, parts[1][-10:])


def blob_file(stack: Stack, body: bytes) -> Path:
    """The file in the stack's zone that holds `body` (random bytes: exactly one does)."""
    found = [p for p in (stack.zone_dir / "buckets").rglob("*") if p.is_file() and p.stat().st_size == len(body)
             and p.read_bytes() == body]
    assert len(found) == 1, found
    return found[0]


def test_a_blob_gone_before_nginx_opens_it_is_answered_by_the_gateway(gw):
    """The race (an overwrite or a delete between the worker's decision and nginx's open) made
    deterministic: the file goes behind the metadata's back. nginx's 404 is never the answer: its
    fallback asks the gateway again, which streams — and finds the copy missing."""
    bucket = new_bucket(gw)
    body = os.urandom(4096)
    put(gw, bucket, "obj", body)
    s, h, got = send(gw, "GET", f"/{bucket}/obj")
    assert (s, header(h, "Server"), got) == (200, ACCELERATED, body)
    blob_file(gw, body).unlink()
    try:
        s, h, got = send(gw, "GET", f"/{bucket}/obj")
        assert header(h, "Server") == STREAMED
        assert header(h, "x-amz-request-id")
        assert (s, b"<Code>InternalError</Code>" in got) == (500, True), got[:300]
    finally:
        # The gateway is shared: an object whose bytes are gone would be a finding of every
        # later residency audit over it.
        assert send(gw, "DELETE", f"/{bucket}/obj")[0] == 204
        assert send(gw, "DELETE", f"/{bucket}")[0] == 204


def test_the_zone_directory_is_unreachable_from_outside(gw):
    bucket = new_bucket(gw)
    body = os.urandom(2048)
    put(gw, bucket, "obj", body)
    relative = blob_file(gw, body).relative_to(gw.zone_dir / "buckets").as_posix()
    internal = f"/_s3gw/zones/local-1/{relative}"
    vhost = f"{bucket}.s3.e2e.test:{gw.http_port}"
    attempts = [
        (internal, None), ("/%5Fs3gw/zones/local-1/" + relative, None), ("/%5f%73%33gw/zones/local-1/" + relative, None),
        (f"/{bucket}/../_s3gw/zones/local-1/{relative}", None), ("/x/%2E%2E/_s3gw/zones/local-1/" + relative, None),
        ("//_s3gw/zones/local-1/" + relative, None), (internal, vhost), (f"/_s3gw/zones/{relative}", None),
        ("/_s3gw/zones/local-1/../../../" + relative, None),
    ]
    for path, host in attempts:
        for sign in (False, True):
            s, h, got = send(gw, "GET", path, host=host, sign=sign)
            assert body not in got, (path, host, sign, s)
            assert s != 200, (path, host, sign, s, got[:200])
            assert header(h, "Server") == STREAMED, (path, host, sign, s, got[:200])  # the gateway's answer


def test_a_virtual_hosted_key_under_the_internal_prefix_is_an_object_like_any_other(gw):
    """nginx's internal locations match on the path alone: a key `_s3gw/zones/…` of a
    virtual-hosted bucket reaches the gateway all the same (through the fallback)."""
    bucket = new_bucket(gw)
    vhost = f"{bucket}.s3.e2e.test:{gw.http_port}"
    body = os.urandom(1000)
    for key in ("_s3gw/zones/local-1/x", "_s3gw/other"):
        s, _, text = send(gw, "PUT", f"/{key}", body=body, host=vhost)
        assert s == 200, text
        s, h, got = send(gw, "GET", f"/{key}", host=vhost)
        assert (s, got) == (200, body)
        assert send(gw, "GET", f"/{bucket}/{key}")[2] == body


def test_by_default_small_answers_stream_and_large_ones_are_redirected():
    """`accel_min_size` (512 KiB unless configured; the session's gateway sets 0): a redirect costs
    nginx its kept FastCGI connection, which a small answer does not pay back."""
    s = Stack("accel-default").start()
    try:
        bucket = new_bucket(s)
        body = os.urandom(512 * 1024)
        put(s, bucket, "obj", body)
        status, h, got = send(s, "GET", f"/{bucket}/obj")
        assert (status, header(h, "Server"), got) == (200, ACCELERATED, body)
        status, h, got = send(s, "GET", f"/{bucket}/obj", {"Range": "bytes=-1000"})
        assert (status, header(h, "Server"), got) == (206, STREAMED, body[-1000:])

        # A plain object goes to the zone's plain location (no njs), one with user metadata to
        # the njs one. With the include as an older gateway generated it (no plain locations),
        # the plain object's redirect lands in `/_s3gw/` and the gateway streams it instead.
        put(s, bucket, "meta", body, {"x-amz-meta-a": "b"})
        for key in ("obj", "meta"):
            status, h, got = send(s, "GET", f"/{bucket}/{key}")
            assert (status, header(h, "Server"), got) == (200, ACCELERATED, body), key
        include = s.tmp / "nginx" / "zone-locations.conf"  # the copy nginx.conf includes
        include.write_text(re.sub(r"(?ms)^# The same files for answers.*?^}\n", "", include.read_text()))
        assert "/_s3gw/plain/" not in include.read_text()
        s.nginx.send_signal(signal.SIGHUP)
        wait_until(lambda: header(send(s, "GET", f"/{bucket}/obj")[1], "Server") == STREAMED, 20,
                   "nginx to reload the include without plain locations")
        status, h, got = send(s, "GET", f"/{bucket}/obj")
        assert (status, got) == (200, body)
        status, h, got = send(s, "GET", f"/{bucket}/meta")
        assert (status, header(h, "Server"), header(h, "x-amz-meta-a"), got) == (200, ACCELERATED, "b", body)
    finally:
        s.stop()
        s.cleanup()
