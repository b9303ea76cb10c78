"""CORS end to end (docs/ACCESS.md, "CORS"): Put/Get/DeleteBucketCors with boto3 and S3's
validation errors; preflight OPTIONS requests answered by the gateway through nginx without a
signature (also for a presigned URL), and the CORS headers on the answers to actual requests
carrying Origin, success and error alike."""

import requests
from botocore.exceptions import ClientError
import pytest

from conftest import new_bucket_name, s3_client

PAGE = "http://page.example"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
RULES = {"CORSRules": [
    {"ID": "page", "AllowedOrigins": [PAGE], "AllowedMethods": ["GET", "PUT"],
     "AllowedHeaders": ["Content-Type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
]}


def expect_error(call, code, status):
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response
    assert err["Error"]["Code"] == code, err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status, err
    return err["Error"].get("Message", "")


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

        refused = [
            (f"/{bucket}/photo.jpg", {"Origin": "http://other.example", "Access-Control-Request-Method": "PUT"},
             403, "AccessForbidden", "CORSResponse: This CORS request is not allowed."),
            (f"/{bucket}/photo.jpg", {"Origin": PAGE, "Access-Control-Request-Method": "DELETE"},
             403, "AccessForbidden", "CORSResponse: This CORS request is not allowed."),
            (f"/{bucket}/photo.jpg", {"Origin": PAGE, "Access-Control-Request-Method": "GET",
                                      "Access-Control-Request-Headers": "Authorization"},
             403, "AccessForbidden", "CORSResponse: This CORS request is not allowed."),
            (f"/{plain}/photo.jpg", {"Origin": PAGE, "Access-Control-Request-Method": "GET"},
             403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket."),
            (f"/{new_bucket_name('ghost')}/k", {"Origin": PAGE, "Access-Control-Request-Method": "GET"},
             403, "AccessForbidden", "CORSResponse: Bucket not found"),
            (f"/{bucket}/photo.jpg", {"Access-Control-Request-Method": "GET"},
             400, "BadRequest", "Insufficient information. Origin request header needed."),
            (f"/{bucket}/photo.jpg", {"Origin": PAGE},
             400, "BadRequest", "Invalid Access-Control-Request-Method: null"),
        ]
        for path, headers, status, code, message in refused:
            r = options(gw, scheme, path, headers)
            assert r.status_code == status, (path, headers, r.text)
            fields = error_code(r)
            assert fields["Code"] == code, r.text
            assert fields["Message"].startswith(message), r.text
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
