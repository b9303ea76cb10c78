"""CORS end to end (docs/ACCESS.md, "CORS"): Put/Get/DeleteBucketCors with boto3 and S3's
validation errors; preflight OPTIONS requests answered by the gateway through nginx without a
signature (also for a presigned URL, virtual-hosted, and refused in S3's order with its Method and
ResourceType), a replaced configuration answering the next preflight, a key nobody has finding no
bucket, the CORS headers on the answers to actual requests carrying Origin (success and error
alike, HEAD too), and the issue's own demo: a browser form uploading to a bucket whose policy lets
everyone put, after its preflight."""

import json

import requests
import pytest

from conftest import expect_error, new_bucket_name, s3_client

PAGE = "http://page.example"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
               "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
               "whitelisted by the resource's CORS spec.")
RULES = {"CORSRules": [
    {"ID": "page", "AllowedOrigins": [PAGE], "AllowedMethods": ["GET", "PUT"],
     "AllowedHeaders": ["Content-Type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
]}




def cors_headers(resp):
    return {k: v for k, v in resp.headers.items() if k.lower().startswith("access-control-") or k.lower() == "vary"}


def error_code(resp):
    import xml.etree.ElementTree as ET
    root = ET.fromstring(resp.content)
    return {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root}


def test_put_get_delete_bucket_cors(gw, bucket):
    client = s3_client(gw)
    expect_error(lambda: client.get_bucket_cors(Bucket=bucket), "NoSuchCORSConfiguration", 404)
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    assert client.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES["CORSRules"]
    # A second PUT replaces the whole configuration.
    only = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration=only)
    assert client.get_bucket_cors(Bucket=bucket)["CORSRules"] == only["CORSRules"]
    client.delete_bucket_cors(Bucket=bucket)
    expect_error(lambda: client.get_bucket_cors(Bucket=bucket), "NoSuchCORSConfiguration", 404)
    client.delete_bucket_cors(Bucket=bucket)
    # Never a CreateBucket.
    ghost = new_bucket_name("ghost")
    expect_error(lambda: client.put_bucket_cors(Bucket=ghost, CORSConfiguration=RULES), "NoSuchBucket", 404)
    assert ghost not in [b["Name"] for b in client.list_buckets()["Buckets"]]


@pytest.mark.parametrize("rules,code,message", [
    ([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PATCH"]}], "InvalidRequest",
     "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"),
    ([{"AllowedOrigins": ["https://*.example.*"], "AllowedMethods": ["GET"]}], "InvalidRequest",
     'AllowedOrigin "https://*.example.*" can not have more than one wildcard.'),
    ([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["x-amz-*"]}], "InvalidRequest",
     'ExposeHeader "x-amz-*" contains wildcard. We currently do not support wildcard for ExposeHeader.'),
    ([], "MalformedXML", None),
    ([{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101, "MalformedXML", None),
    ([{"ID": "x" * 256, "AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}], "MalformedXML", None),
], ids=["method", "origin-wildcards", "expose-wildcard", "no-rule", "101-rules", "long-id"])
def test_validation_errors_store_nothing(gw, bucket, rules, code, message):
    client = s3_client(gw)
    got = expect_error(lambda: client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules}),
                       code, 400)
    if message:
        assert got == message
    expect_error(lambda: client.get_bucket_cors(Bucket=bucket), "NoSuchCORSConfiguration", 404)


def options(gw, scheme, path, headers):
    """An unsigned preflight, through nginx (its http and https servers have a location each)."""
    return requests.options(gw.url(scheme) + path, headers=headers,
                            verify=gw.ca_file if scheme == "https" else None, timeout=30)


def test_preflight_through_nginx(gw, bucket, scheme):
    client = s3_client(gw)
    plain = new_bucket_name("plain")
    client.create_bucket(Bucket=plain)
    try:
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
        ok = options(gw, scheme, f"/{bucket}/photo.jpg", {
            "Origin": PAGE, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "Content-Type, X-Amz-Meta-Caption"})
        assert ok.status_code == 200, ok.text
        # The gateway answered (its request id), not nginx.
        assert ok.headers.get("x-amz-request-id")
        assert cors_headers(ok) == {
            "Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Methods": "GET, PUT",
            "Access-Control-Allow-Headers": "content-type, x-amz-meta-caption",
            "Access-Control-Expose-Headers": "ETag", "Access-Control-Max-Age": "600",
            "Access-Control-Allow-Credentials": "true", "Vary": VARY}
        everyone = options(gw, scheme, f"/{bucket}", {"Origin": "http://other.example",
                                                       "Access-Control-Request-Method": "HEAD"})
        assert everyone.status_code == 200
        assert everyone.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in everyone.headers

        ghost = new_bucket_name("ghost")
        # S3's order: Origin, the bucket, its configuration, the method, a matching rule; a
        # 403 names the method asked about (OPTIONS when none) and BUCKET unless a rule was
        # looked for on a key.
        refused = [
            (f"/{bucket}/photo.jpg", {"Origin": "http://other.example", "Access-Control-Request-Method": "PUT"},
             403, "AccessForbidden", NOT_ALLOWED, ("PUT", "OBJECT")),
            (f"/{bucket}/photo.jpg", {"Origin": PAGE, "Access-Control-Request-Method": "DELETE"},
             403, "AccessForbidden", NOT_ALLOWED, ("DELETE", "OBJECT")),
            (f"/{bucket}", {"Origin": PAGE, "Access-Control-Request-Method": "DELETE"},
             403, "AccessForbidden", NOT_ALLOWED, ("DELETE", "BUCKET")),
            (f"/{bucket}/photo.jpg", {"Origin": PAGE, "Access-Control-Request-Method": "GET",
                                      "Access-Control-Request-Headers": "Authorization"},
             403, "AccessForbidden", NOT_ALLOWED, ("GET", "OBJECT")),
            (f"/{plain}/photo.jpg", {"Origin": PAGE, "Access-Control-Request-Method": "GET"},
             403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", ("GET", "BUCKET")),
            (f"/{plain}/photo.jpg", {"Origin": PAGE},
             403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", ("OPTIONS", "BUCKET")),
            (f"/{ghost}/k", {"Origin": PAGE, "Access-Control-Request-Method": "GET"},
             403, "AccessForbidden", "CORSResponse: Bucket not found", ("GET", "BUCKET")),
            (f"/{ghost}/k", {"Origin": PAGE},
             403, "AccessForbidden", "CORSResponse: Bucket not found", ("OPTIONS", "BUCKET")),
            (f"/{bucket}/photo.jpg", {"Access-Control-Request-Method": "GET"},
             400, "BadRequest", "Insufficient information. Origin request header needed.", None),
            (f"/{bucket}/photo.jpg", {"Origin": PAGE},
             400, "BadRequest", "Invalid Access-Control-Request-Method: null", None),
        ]
        for path, headers, status, code, message, details in refused:
            r = options(gw, scheme, path, headers)
            assert r.status_code == status, (path, headers, r.text)
            fields = error_code(r)
            assert fields["Code"] == code, r.text
            assert fields["Message"] == message, r.text
            if details:
                assert (fields["Method"], fields["ResourceType"]) == details, (path, headers, r.text)
            else:
                assert "Method" not in fields and "ResourceType" not in fields, r.text
            assert cors_headers(r) == {}, r.headers
    finally:
        client.delete_bucket(Bucket=plain)


def test_presigned_put_from_a_page(gw, bucket):
    """What a browser does with a presigned PUT URL: the unsigned preflight of the same URL,
    then the PUT itself with Origin; the page can read the answer's ETag."""
    client = s3_client(gw)
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "upload.txt"}, ExpiresIn=300)
    pre = requests.options(url, headers={"Origin": PAGE, "Access-Control-Request-Method": "PUT",
                                         "Access-Control-Request-Headers": "content-type"}, timeout=30)
    assert pre.status_code == 200, pre.text
    assert pre.headers["Access-Control-Allow-Origin"] == PAGE
    assert pre.headers["Access-Control-Allow-Headers"] == "content-type"
    put = requests.put(url, data=b"from the page", headers={"Origin": PAGE, "Content-Type": "text/plain"},
                       timeout=30)
    assert put.status_code == 200, put.text
    assert put.headers["Access-Control-Allow-Origin"] == PAGE
    assert put.headers["Access-Control-Expose-Headers"] == "ETag"
    assert put.headers["ETag"]
    assert client.get_object(Bucket=bucket, Key="upload.txt")["Body"].read() == b"from the page"


def test_actual_requests_with_origin(gw, bucket):
    client = s3_client(gw)
    client.put_object(Bucket=bucket, Key="page.html", Body=b"<html/>")
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "page.html"})
    # No rules yet: served, no CORS headers.
    before = requests.get(url, headers={"Origin": PAGE}, timeout=30)
    assert before.status_code == 200 and cors_headers(before) == {}
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    match = requests.get(url, headers={"Origin": PAGE}, timeout=30)
    assert match.status_code == 200 and match.content == b"<html/>"
    assert cors_headers(match) == {
        "Access-Control-Allow-Origin": PAGE, "Access-Control-Allow-Methods": "GET, PUT",
        "Access-Control-Expose-Headers": "ETag", "Access-Control-Max-Age": "600",
        "Access-Control-Allow-Credentials": "true", "Vary": VARY}
    other = requests.get(url, headers={"Origin": "http://other.example"}, timeout=30)
    assert other.status_code == 200 and other.content == b"<html/>"
    assert cors_headers(other) == {}
    assert cors_headers(requests.get(url, timeout=30)) == {}
    # Errors carry them too: a missing key, and an unsigned request refused.
    missing = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "missing"})
    r = requests.get(missing, headers={"Origin": PAGE}, timeout=30)
    assert r.status_code == 404 and error_code(r)["Code"] == "NoSuchKey"
    assert r.headers["Access-Control-Allow-Origin"] == PAGE
    denied = requests.put(f"{gw.url('http')}/{bucket}/anonymous.txt", data=b"x", headers={"Origin": PAGE},
                          timeout=30)
    assert denied.status_code == 403 and error_code(denied)["Code"] == "AccessDenied"
    assert denied.headers["Access-Control-Allow-Origin"] == PAGE
    expect_error(lambda: client.head_object(Bucket=bucket, Key="anonymous.txt"), "404", 404)
    # HEAD answers have no body, but their headers carry the rules too.
    # (HEAD is the second rule's: every origin.)
    head_url = client.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "missing"})
    head = requests.head(head_url, headers={"Origin": PAGE}, timeout=30)
    assert head.status_code == 404 and head.content == b""
    assert head.headers["Access-Control-Allow-Origin"] == "*"
    assert head.headers["Access-Control-Allow-Methods"] == "HEAD"


def test_a_replaced_configuration_answers_the_next_preflight(gw, bucket):
    client = s3_client(gw)
    ask = {"Origin": PAGE, "Access-Control-Request-Method": "GET"}
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    assert options(gw, "http", f"/{bucket}/k", ask).headers["Access-Control-Allow-Methods"] == "GET, PUT"
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["http://new.example"], "AllowedMethods": ["GET", "DELETE"]}]})
    old = options(gw, "http", f"/{bucket}/k", ask)
    assert old.status_code == 403 and error_code(old)["Message"] == NOT_ALLOWED
    new = options(gw, "http", f"/{bucket}/k", {"Origin": "http://new.example",
                                                "Access-Control-Request-Method": "DELETE"})
    assert new.status_code == 200, new.text
    assert new.headers["Access-Control-Allow-Methods"] == "GET, DELETE"
    client.delete_bucket_cors(Bucket=bucket)
    gone = options(gw, "http", f"/{bucket}/k", ask)
    assert error_code(gone)["Message"] == "CORSResponse: CORS is not enabled for this bucket."


def test_virtual_hosted_preflight(gw, bucket):
    """The bucket in the Host name (virtual-host style, s3.e2e.test is the stack's base domain)."""
    s3_client(gw).put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    host = {"Host": f"{bucket}.s3.e2e.test:{gw.http_port}"}
    ok = options(gw, "http", "/photo.jpg", {**host, "Origin": PAGE, "Access-Control-Request-Method": "PUT"})
    assert ok.status_code == 200, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == PAGE
    no = options(gw, "http", "/photo.jpg", {**host, "Origin": PAGE, "Access-Control-Request-Method": "DELETE"})
    assert no.status_code == 403
    assert (error_code(no)["Method"], error_code(no)["ResourceType"]) == ("DELETE", "OBJECT")


def test_a_key_nobody_has_finds_no_bucket(gw, bucket):
    """A preflight repeating a presigned URL of a key that does not resolve is answered as for a
    missing bucket, not from the default tenant's bucket of that name; the request itself is
    refused without CORS headers."""
    s3_client(gw).put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIANOBODYHASTHIS%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
    r = options(gw, "http", f"/{bucket}/k?{query}", {"Origin": PAGE, "Access-Control-Request-Method": "GET"})
    assert r.status_code == 403 and error_code(r)["Message"] == "CORSResponse: Bucket not found", r.text
    assert cors_headers(r) == {}
    get = requests.get(f"{gw.url('http')}/{bucket}/k?{query}&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60"
                       "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0" * 64, headers={"Origin": PAGE}, timeout=30)
    assert get.status_code == 403, get.text
    assert cors_headers(get) == {}


def test_browser_form_upload_to_a_public_write_bucket(gw, bucket):
    """The issue's demo: a page posts an unsigned form to a bucket whose policy lets everyone
    put under uploads/ and whose CORS rules let that page POST; the browser's preflight, then the
    form itself with Origin, whose answer the page may read."""
    client = s3_client(gw)
    client.delete_public_access_block(Bucket=bucket)
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/uploads/*"}]}))
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": [PAGE], "AllowedMethods": ["POST"], "ExposeHeaders": ["ETag", "Location"]}]})
    pre = options(gw, "http", f"/{bucket}", {"Origin": PAGE, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 200, pre.text
    assert pre.headers["Access-Control-Allow-Origin"] == PAGE
    assert pre.headers["Access-Control-Allow-Methods"] == "POST"
    post = requests.post(f"{gw.url('http')}/{bucket}", data={"key": "uploads/${filename}"},
                         files={"file": ("hello.txt", b"from a page", "text/plain")}, headers={"Origin": PAGE},
                         timeout=30)
    assert post.status_code == 204, post.text
    assert post.headers["Access-Control-Allow-Origin"] == PAGE
    assert post.headers["Access-Control-Expose-Headers"] == "ETag, Location"
    assert client.get_object(Bucket=bucket, Key="uploads/hello.txt")["Body"].read() == b"from a page"
    # Outside uploads/ the policy refuses; the page can still read why.
    denied = requests.post(f"{gw.url('http')}/{bucket}", data={"key": "elsewhere.txt"},
                           files={"file": ("f", b"no", "text/plain")}, headers={"Origin": PAGE}, timeout=30)
    assert denied.status_code == 403 and error_code(denied)["Code"] == "AccessDenied"
    assert denied.headers["Access-Control-Allow-Origin"] == PAGE
