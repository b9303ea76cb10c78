"""The global router (docs/ROUTER.md) end to end: two regional gateways, `fi` and `de`, each a
normal stack with its own tenant and keys and the router's host in `[s3] signing_hosts`, and one
router stack (`[router]` in its configuration) whose table is set through its admin API and the
CLI. Clients are then pointed at the router: curl -L with presigned GET and PUT URLs, headless
Chromium opening a presigned URL, boto3 and the aws CLI (which do not follow the router's 307 to
another host and learn their endpoint from the lookup instead). Each reaches its own region's
data; the router's own store, read at the end, holds routing data only."""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests
from botocore.auth import HmacV1Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from admin_api import admin
from conftest import REGION, Stack, client_env, run, s3gw_bin

LOOKUP = "/.well-known/s3gw-route"
NS = ""  # S3 error documents carry no namespace


@dataclass
class Region:
    name: str
    stack: Stack
    tenant: str
    access_key: str
    secret_key: str
    bucket: str


def ok(resp: requests.Response, status: int = 200) -> dict:
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json() if resp.content else {}


def client(endpoint: str, region: Region, **config) -> "boto3.client":
    cfg = {"s3": {"addressing_style": "path"}, "retries": {"max_attempts": 1, "mode": "standard"},
           "signature_version": "s3v4"}
    cfg.update(config)
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=region.access_key,
                        aws_secret_access_key=region.secret_key, region_name=REGION, config=Config(**cfg))


def marker(region: str) -> bytes:
    return f"object-of-{region}-{uuid.uuid4().hex}".encode()


@pytest.fixture(scope="module")
def router():
    s = Stack("router", extra="\n[router]\n")
    s.start()
    yield s
    s.stop()
    s.cleanup()


def regional(name: str, router: Stack) -> Region:
    """A gateway that accepts signatures made for the router's host, with a tenant, a user with
    every S3 permission, its key and a bucket."""
    s = Stack(name, extra=f'\n[s3]\nsigning_hosts = ["127.0.0.1:{router.http_port}"]\n')
    s.start()
    tenant = f"acme-{name}"
    ok(admin(s, "POST", "tenants", {"id": tenant}), 201)
    ok(admin(s, "POST", f"tenants/{tenant}/users", {"name": "app", "permissions": {"s3:*": ["*"]}}), 201)
    key = ok(admin(s, "POST", f"tenants/{tenant}/users/app/credentials"), 201)
    r = Region(name, s, tenant, key["access_key"], key["secret_key"], f"photos-{name}-{uuid.uuid4().hex[:8]}")
    client(s.http_url, r).create_bucket(Bucket=r.bucket)
    return r


@pytest.fixture(scope="module")
def regions(router):
    made = []
    try:
        for name in ("fi", "de"):
            made.append(regional(name, router))
        fi, de = made
        # fi through the CLI (remote, signed with the router's operator key), de through the
        # admin API: both write the same table.
        env = {**os.environ, "S3GW_ADMIN_ACCESS_KEY": router.access_key,
               "S3GW_ADMIN_SECRET_KEY": router.secret_key}
        for argv in (["region", "fi", fi.stack.http_url], ["tenant", fi.tenant, "fi"],
                     ["access-key", fi.access_key, fi.tenant], ["bucket", fi.bucket, fi.tenant]):
            run([s3gw_bin(), "routing", "set", *argv, "--endpoint", router.http_url], env=env, stack=router)
        ok(admin(router, "PUT", "routing/regions/de", {"endpoint": de.stack.http_url}))
        ok(admin(router, "PUT", f"routing/tenants/{de.tenant}", {"region": "de"}))
        ok(admin(router, "PUT", f"routing/access-keys/{de.access_key}", {"tenant": de.tenant}))
        ok(admin(router, "PUT", f"routing/buckets/{de.bucket}", {"tenant": de.tenant}))
        yield {"fi": fi, "de": de}
    finally:
        for r in made:
            r.stack.stop()
            r.stack.cleanup()


def presign(router: Stack, region: Region, method: str, key: str | None, **params) -> str:
    named = {"Key": key} if key is not None else {}
    return client(router.http_url, region).generate_presigned_url(
        method, Params={"Bucket": region.bucket, **named, **params}, ExpiresIn=600)


# -- the redirect itself ---------------------------------------------------------------------------
def test_a_signed_request_gets_307_to_its_region_with_path_and_query_unchanged(router, regions):
    fi = regions["fi"]
    url = presign(router, fi, "get_object", "some/key.txt")
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 307, r.text
    path_and_query = url[len(router.http_url):]
    assert r.headers["Location"] == fi.stack.http_url + path_and_query
    doc = ET.fromstring(r.content)
    assert doc.tag == "Error"
    assert doc.findtext("Code") == "TemporaryRedirect"
    assert doc.findtext("Message") == ("Please re-send this request to the specified temporary endpoint. "
                                       "Continue to use the original request endpoint for future requests.")
    assert doc.findtext("Endpoint") == f"127.0.0.1:{fi.stack.http_port}"
    assert doc.findtext("Bucket") == fi.bucket
    assert r.headers["Content-Type"] == "application/xml"


def test_each_key_goes_to_its_own_region(router, regions):
    for name, region in regions.items():
        r = requests.get(presign(router, region, "list_objects_v2", None), allow_redirects=False, timeout=10)
        assert r.status_code == 307
        assert r.headers["Location"].startswith(region.stack.http_url + "/"), (name, r.headers["Location"])


def test_anonymous_requests_route_by_bucket(router, regions):
    """An anonymous request carries no signature: the router names the tenant's bucket in the
    path, as the region addresses it (there a bare name is the default tenant's)."""
    de = regions["de"]
    r = requests.get(f"{router.http_url}/{de.bucket}/public.txt?x=1", allow_redirects=False, timeout=10)
    assert r.status_code == 307
    assert r.headers["Location"] == f"{de.stack.http_url}/{de.tenant}:{de.bucket}/public.txt?x=1"


def test_unknown_keys_and_buckets_get_a_clear_error(router, regions):
    fi = regions["fi"]
    stranger = Region("xx", fi.stack, "nobody", "AKIDNOTROUTED0000000", "secret", fi.bucket)
    r = requests.get(presign(router, stranger, "get_object", "k"), allow_redirects=False, timeout=10)
    assert r.status_code == 403
    doc = ET.fromstring(r.content)
    assert doc.findtext("Code") == "InvalidAccessKeyId"
    assert "not routed by this endpoint" in doc.findtext("Message")
    assert "Location" not in r.headers
    r = requests.get(f"{router.http_url}/no-such-bucket-{uuid.uuid4().hex[:8]}/k", allow_redirects=False, timeout=10)
    assert r.status_code == 404
    assert ET.fromstring(r.content).findtext("Code") == "NoSuchBucket"
    # With no key and no bucket there is nothing to route on.
    r = requests.get(router.http_url + "/", allow_redirects=False, timeout=10)
    assert r.status_code == 403 and ET.fromstring(r.content).findtext("Code") == "AccessDenied"


# -- clients that follow the redirect -----------------------------------------------------------
def test_curl_follows_presigned_put_and_get_to_the_region(router, regions, tmp_path):
    fi, de = regions["fi"], regions["de"]
    body = marker("fi")
    src = tmp_path / "up.txt"
    src.write_bytes(body)
    put = presign(router, fi, "put_object", "via-router.txt")
    run(["curl", "-sS", "--fail-with-body", "-L", "-T", src, put])
    got = run(["curl", "-sS", "--fail-with-body", "-L", presign(router, fi, "get_object", "via-router.txt")])
    assert got.stdout.encode() == body
    # The object is fi's: fi serves it, de has no such bucket.
    assert client(fi.stack.http_url, fi).get_object(Bucket=fi.bucket, Key="via-router.txt")["Body"].read() == body
    with pytest.raises(ClientError) as e:
        client(de.stack.http_url, de).head_bucket(Bucket=fi.bucket)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (403, 404)
    assert blobs(fi.stack) and not blobs(de.stack)


def test_curl_follows_a_large_presigned_put(router, regions, tmp_path):
    """A body larger than what the router drains (1 MiB): curl sends Expect: 100-continue, nginx
    answers 100 Continue itself (the router never sees the header), so curl starts sending the
    body; the router answers 307 after draining at most 1 MiB, and curl re-sends the whole file
    to the region."""
    fi = regions["fi"]
    src = tmp_path / "large.bin"
    src.write_bytes(os.urandom(5 * 1024 * 1024 + 17))
    run(["curl", "-sS", "--fail-with-body", "-L", "-T", src, presign(router, fi, "put_object", "large.bin")])
    got = client(fi.stack.http_url, fi).get_object(Bucket=fi.bucket, Key="large.bin")["Body"].read()
    assert got == src.read_bytes()

def blobs(stack: Stack) -> list[Path]:
    """The blob files in a stack's filesystem zone."""
    root = stack.zone_dir / "buckets"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_only_the_configured_router_host_is_trusted(router, regions):
    """fi verifies a signature made for the router's host because `signing_hosts` names it: a
    URL presigned for any other host (another router, a typo'd port) is refused there."""
    fi = regions["fi"]
    elsewhere = "http://127.0.0.1:1"
    url = client(elsewhere, fi).generate_presigned_url(
        "get_object", Params={"Bucket": fi.bucket, "Key": "via-router.txt"}, ExpiresIn=600)
    r = requests.get(fi.stack.http_url + url[len(elsewhere):], timeout=10)
    assert r.status_code == 403 and ET.fromstring(r.content).findtext("Code") == "SignatureDoesNotMatch"
    url = presign(router, fi, "get_object", "via-router.txt")
    assert requests.get(fi.stack.http_url + url[len(router.http_url):], timeout=10).status_code == 200


CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")
def test_a_browser_opens_a_presigned_url_through_the_router(router, regions):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    de = regions["de"]
    body = marker("de")
    client(de.stack.http_url, de).put_object(Bucket=de.bucket, Key="page.txt", Body=body, ContentType="text/plain")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get(presign(router, de, "get_object", "page.txt"))
        assert driver.current_url.startswith(de.stack.http_url + "/"), driver.current_url
        assert body.decode() in driver.page_source
    finally:
        driver.quit()


def test_curl_signing_its_own_requests_follows_with_location_trusted(router, regions):
    """curl --aws-sigv4 signs each request it sends, the redirected one too, but hands its
    credentials to another host only when told (--location-trusted); without it the region gets
    an anonymous request and refuses it."""
    fi = regions["fi"]
    body = marker("fi")
    client(fi.stack.http_url, fi).put_object(Bucket=fi.bucket, Key="curl-signed.txt", Body=body)
    url = f"{router.http_url}/{fi.bucket}/curl-signed.txt"
    sign = ["--aws-sigv4", f"aws:amz:{REGION}:s3", "--user", f"{fi.access_key}:{fi.secret_key}"]
    got = run(["curl", "-sS", "--fail-with-body", "-L", "--location-trusted", *sign, url])
    assert got.stdout.encode() == body
    refused = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-L", *sign, url])
    assert refused.stdout in ("403", "404"), refused.stdout  # anonymous there: no such (public) bucket


def test_an_anonymous_client_reaches_a_tenants_public_object(router, regions):
    de = regions["de"]
    s3 = client(de.stack.http_url, de)
    body = marker("de")
    s3.put_object(Bucket=de.bucket, Key="public.txt", Body=body)
    s3.delete_public_access_block(Bucket=de.bucket)
    s3.put_bucket_policy(Bucket=de.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{de.tenant}:{de.bucket}/*"}]}))
    # The bare name (routed explicitly to de's tenant), and the qualified one routing sync uses.
    # Path segments percent-encoded, as the CLI sends them (`:` is %3A).
    ok(admin(router, "PUT", f"routing/buckets/{de.tenant}%3A{de.bucket}", {"tenant": de.tenant}))
    for path in (f"/{de.bucket}/public.txt", f"/{de.tenant}:{de.bucket}/public.txt"):
        got = run(["curl", "-sS", "--fail-with-body", "-L", router.http_url + path])
        assert got.stdout.encode() == body, path
    # At the region the bare name is the default tenant's: without the router's rewrite the
    # object is not found.
    assert requests.get(f"{de.stack.http_url}/{de.bucket}/public.txt", timeout=10).status_code in (403, 404)
    # A signed request keeps its path and still works.
    got = run(["curl", "-sS", "--fail-with-body", "-L", presign(router, de, "get_object", "public.txt")])
    assert got.stdout.encode() == body


def test_a_tenant_id_alone_routes_nothing(router, regions):
    """`tenant:bucket` is routed only by its entry: an existing tenant id answers as an unknown
    one, so the router tells nobody which tenants exist."""
    de = regions["de"]
    known = requests.get(f"{router.http_url}/{de.tenant}:not-routed/k", allow_redirects=False, timeout=10)
    unknown = requests.get(f"{router.http_url}/no-such-tenant:not-routed/k", allow_redirects=False, timeout=10)
    assert known.status_code == unknown.status_code == 404
    assert "Location" not in known.headers
    assert ET.fromstring(known.content).findtext("Code") == "NoSuchBucket"


def test_a_cors_preflight_is_refused_not_redirected(router, regions):
    """Browsers never follow a redirected preflight: the router says where to go instead."""
    de = regions["de"]
    r = requests.options(f"{router.http_url}/{de.bucket}/public.txt", timeout=10, allow_redirects=False, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 403 and "Location" not in r.headers
    doc = ET.fromstring(r.content)
    assert doc.findtext("Code") == "AccessDenied" and "regional endpoint" in doc.findtext("Message")


# -- clients that do not follow it: the lookup ----------------------------------------------------
def test_boto3_does_not_follow_the_router_and_uses_the_lookup(router, regions):
    fi = regions["fi"]
    body = marker("fi")
    client(fi.stack.http_url, fi).put_object(Bucket=fi.bucket, Key="boto.txt", Body=body,
                                             Metadata={"owner": "customer-meta-marker"},
                                             Tagging="project=customer-tag-marker")
    with pytest.raises(ClientError) as e:
        client(router.http_url, fi).get_object(Bucket=fi.bucket, Key="boto.txt")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 307
    endpoint = ok(requests.get(router.http_url + LOOKUP, params={"access-key-id": fi.access_key}, timeout=10))
    assert endpoint == {"endpoint": fi.stack.http_url}
    assert client(endpoint["endpoint"], fi).get_object(Bucket=fi.bucket, Key="boto.txt")["Body"].read() == body


def test_the_aws_cli_does_not_follow_the_router_and_uses_the_lookup(router, regions, tmp_path):
    de = regions["de"]
    env = client_env(de.stack, "http", tmp_path)
    env.update(AWS_ACCESS_KEY_ID=de.access_key, AWS_SECRET_ACCESS_KEY=de.secret_key)
    src = tmp_path / "cli.txt"
    src.write_bytes(marker("de"))
    r = run(["aws", "--endpoint-url", router.http_url, "s3", "cp", src, f"s3://{de.bucket}/cli.txt"], env=env,
            check=False)
    assert r.returncode != 0 and "TemporaryRedirect" in r.stderr + r.stdout, r.stderr
    endpoint = ok(requests.get(router.http_url + LOOKUP, params={"access-key-id": de.access_key}, timeout=10))
    run(["aws", "--endpoint-url", endpoint["endpoint"], "s3", "cp", src, f"s3://{de.bucket}/cli.txt"], env=env)
    got = client(de.stack.http_url, de).get_object(Bucket=de.bucket, Key="cli.txt")["Body"].read()
    assert got == src.read_bytes()


def test_the_lookup_returns_the_endpoint_and_nothing_else(router, regions):
    fi, de = regions["fi"], regions["de"]
    assert ok(requests.get(router.http_url + LOOKUP, params={"bucket": de.bucket}, timeout=10)) == {
        "endpoint": de.stack.http_url}
    r = requests.get(router.http_url + LOOKUP, params={"access-key-id": fi.access_key}, timeout=10)
    assert r.json() == {"endpoint": fi.stack.http_url}
    assert r.headers["Cache-Control"] == "no-store"
    for text in (fi.tenant, "fi\"", fi.bucket):
        assert text not in r.text
    r = requests.get(router.http_url + LOOKUP, params={"access-key-id": "AKIDNOTROUTED0000000"}, timeout=10)
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    both = requests.get(router.http_url + LOOKUP, params={"access-key-id": fi.access_key, "bucket": fi.bucket},
                        timeout=10)
    assert both.status_code == 400
    assert requests.post(router.http_url + LOOKUP, timeout=10).status_code == 405


# -- the routing table and its API ----------------------------------------------------------------
def test_the_admin_api_needs_the_operator_signature(router, regions):
    fi = regions["fi"]
    r = requests.get(router.http_url + "/admin/routing/regions", timeout=10)
    assert r.status_code == 403 and r.json()["code"] == "AccessDenied"
    # A customer's key means nothing here: the router has no customer secrets.
    r = admin(router, "GET", "routing/regions", access_key=fi.access_key, secret_key=fi.secret_key)
    assert r.status_code == 403 and r.json()["code"] == "InvalidAccessKeyId"
    listed = ok(admin(router, "GET", "routing/regions"))["items"]
    assert {x["name"]: x["endpoint"] for x in listed} == {"fi": fi.stack.http_url, "de": regions["de"].stack.http_url}
    assert admin(router, "PUT", "routing/regions/bad", {"endpoint": "ftp://x"}).status_code == 400
    assert admin(router, "PUT", "routing/tenants/t1", {"region": "nowhere"}).status_code == 404
    assert admin(router, "DELETE", "routing/regions/fi").status_code == 409
    assert admin(router, "POST", "routing/regions").status_code == 405


def signed_admin_put(router: Stack, path: str, signed: bytes, sent: bytes, payload_hash: str | None = None,
                     v2: bool = False) -> requests.Response:
    """A PUT signed over `signed` (its hash declared, or `payload_hash`), sent with `sent`: a
    captured call replayed with another body."""
    url = router.http_url + "/admin/" + path
    aws = AWSRequest(method="PUT", url=url, data=signed, headers={"Content-Type": "application/json"})
    credentials = Credentials(router.access_key, router.secret_key)
    if v2:
        HmacV1Auth(credentials).add_auth(aws)
    else:
        aws.headers["x-amz-content-sha256"] = payload_hash or hashlib.sha256(signed).hexdigest()
        SigV4Auth(credentials, "s3", REGION).add_auth(aws)
    return requests.put(url, data=sent, headers=dict(aws.headers.items()), timeout=10)


def test_the_admin_api_takes_only_a_body_its_signature_covers(router, regions):
    """What the gateway's admin API refuses, the router's does too: a replayed call with another
    body, UNSIGNED-PAYLOAD with a body, SigV2. The table is unchanged after each."""
    fi = regions["fi"]
    honest = json.dumps({"endpoint": fi.stack.http_url}).encode()
    evil = json.dumps({"endpoint": "https://evil.example"}).encode()
    path = "routing/regions/fi"
    replayed = signed_admin_put(router, path, honest, evil)
    assert replayed.status_code == 400 and replayed.json()["code"] == "XAmzContentSHA256Mismatch", replayed.text
    unsigned = signed_admin_put(router, path, evil, evil, payload_hash="UNSIGNED-PAYLOAD")
    assert unsigned.status_code == 400 and unsigned.json()["code"] == "InvalidRequest", unsigned.text
    v2 = signed_admin_put(router, path, evil, evil, v2=True)
    assert v2.status_code == 403 and "Signature Version 4" in v2.json()["message"], v2.text
    assert ok(admin(router, "GET", path))["endpoint"] == fi.stack.http_url
    # The same call, sent as signed, goes through.
    assert signed_admin_put(router, path, honest, honest).status_code == 200


def test_the_cli_on_the_router_host_reads_the_same_table(router, regions):
    fi = regions["fi"]
    out = run([s3gw_bin(), "routing", "list", "access-key", "--tenant", fi.tenant, "-c", router.config]).stdout
    assert fi.access_key in out and regions["de"].access_key not in out
    out = run([s3gw_bin(), "routing", "show", "tenant", fi.tenant, "-c", router.config, "--json"]).stdout
    assert '"region" : "fi"' in out or '"region": "fi"' in out, out


def test_a_routing_change_takes_effect_at_once(router, regions):
    fi, de = regions["fi"], regions["de"]
    moved = f"moving-{uuid.uuid4().hex[:8]}"
    ok(admin(router, "PUT", f"routing/buckets/{moved}", {"tenant": fi.tenant}))
    r = requests.get(f"{router.http_url}/{moved}/k", allow_redirects=False, timeout=10)
    assert r.headers["Location"].startswith(fi.stack.http_url)
    # Taking a name routed to another tenant is asked for, never a side effect.
    taken = admin(router, "PUT", f"routing/buckets/{moved}", {"tenant": de.tenant})
    assert taken.status_code == 409 and taken.json()["code"] == "Conflict"
    assert requests.get(f"{router.http_url}/{moved}/k", allow_redirects=False, timeout=10).headers[
        "Location"].startswith(fi.stack.http_url)
    ok(admin(router, "PUT", f"routing/buckets/{moved}?replace=true", {"tenant": de.tenant}))
    r = requests.get(f"{router.http_url}/{moved}/k", allow_redirects=False, timeout=10)
    assert r.headers["Location"].startswith(de.stack.http_url)
    assert admin(router, "DELETE", f"routing/buckets/{moved}").status_code == 204
    assert requests.get(f"{router.http_url}/{moved}/k", allow_redirects=False, timeout=10).status_code == 404


def test_sync_feeds_the_router_from_a_regional_gateway(router, regions):
    """New keys and buckets are made on the regional gateway; `s3gw routing sync fi -c …` on its
    host routes them at the router, and removes what the gateway no longer has."""
    fi = regions["fi"]
    key = ok(admin(fi.stack, "POST", f"tenants/{fi.tenant}/users/app/credentials"), 201)
    bucket = f"synced-{uuid.uuid4().hex[:8]}"
    client(fi.stack.http_url, Region("fi", fi.stack, fi.tenant, key["access_key"], key["secret_key"], bucket)
           ).create_bucket(Bucket=bucket)
    ok(admin(router, "PUT", "routing/access-keys/AKIDGONEFROMFI", {"tenant": fi.tenant}))
    lookup = router.http_url + LOOKUP
    assert requests.get(lookup, params={"access-key-id": key["access_key"]}, timeout=10).status_code == 404
    env = {**os.environ, "S3GW_ROUTER_ACCESS_KEY": router.access_key, "S3GW_ROUTER_SECRET_KEY": router.secret_key}
    out = run([s3gw_bin(), "routing", "sync", "fi", "-c", fi.stack.config, "--router", router.http_url], env=env,
              stack=fi.stack).stdout
    assert "removed 1 stale" in out, out
    assert ok(requests.get(lookup, params={"access-key-id": key["access_key"]}, timeout=10)) == {
        "endpoint": fi.stack.http_url}
    # A tenant's bucket is routed by the name an anonymous request reaches it by at the region.
    assert ok(requests.get(lookup, params={"bucket": f"{fi.tenant}:{bucket}"}, timeout=10)) == {
        "endpoint": fi.stack.http_url}
    assert requests.get(lookup, params={"bucket": bucket}, timeout=10).status_code == 404
    assert requests.get(lookup, params={"access-key-id": "AKIDGONEFROMFI"}, timeout=10).status_code == 404
    # What was routed before stays: the first key and bucket, and de's untouched.
    assert requests.get(lookup, params={"access-key-id": fi.access_key}, timeout=10).status_code == 200
    assert requests.get(lookup, params={"bucket": regions["de"].bucket}, timeout=10).status_code == 200


# -- what the router holds -------------------------------------------------------------------------
def test_the_router_store_holds_routing_data_only(router, regions):
    """Read last (pytest runs this module's tests in order): every object, secret and tenant
    detail written above lives in the regions; the router's files name regions, tenants, key
    ids and buckets, and nothing else."""
    fi, de = regions["fi"], regions["de"]
    store = router.state_dir / "router.sqlite"
    assert store.exists()
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"regions", "tenants", "access_keys", "buckets"}
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    assert fi.access_key in dump and de.bucket in dump
    # Every byte of the router's state directory: no secret, no object key, no object data.
    everything = b"".join(p.read_bytes() for p in router.state_dir.rglob("*") if p.is_file())
    for secret in (fi.secret_key, de.secret_key, fi.stack.secret_key, de.stack.secret_key):
        assert secret.encode() not in everything
    for key in (b"via-router.txt", b"boto.txt", b"cli.txt", b"page.txt", b"object-of-", b"customer-meta-marker",
                b"customer-tag-marker"):
        assert key not in everything, key
    # The same search finds them where they do live: the search is not blind.
    in_fi = b"".join(p.read_bytes() for p in fi.stack.state_dir.rglob("*") if p.is_file())
    assert b"customer-meta-marker" in in_fi and b"boto.txt" in in_fi
    assert not (router.state_dir / "metadata.sqlite").exists()
    assert not blobs(router)


def test_serve_role_router_runs_the_router_without_a_router_table():
    """`s3gw serve --role router` with a configuration that has no [router]: the router's
    defaults, its admin API and its redirects, not a gateway."""
    s = Stack("role-router", serve_args=("--role", "router"))
    try:
        s.start()
        assert "[router]" not in s.config.read_text()
        r = requests.get(s.http_url + LOOKUP, params={"bucket": "unrouted"}, timeout=10)
        assert r.status_code == 404 and r.json()["code"] == "NotFound"
        ok(admin(s, "PUT", "routing/regions/far", {"endpoint": "http://127.0.0.1:9"}))
        ok(admin(s, "PUT", "routing/tenants/acme", {"region": "far"}))
        ok(admin(s, "PUT", "routing/buckets/photos", {"tenant": "acme"}))
        r = requests.get(s.http_url + "/photos/cat.jpg", allow_redirects=False, timeout=10)
        assert r.status_code == 307
        assert r.headers["Location"] == "http://127.0.0.1:9/acme:photos/cat.jpg"
    finally:
        s.stop()
        s.cleanup()
