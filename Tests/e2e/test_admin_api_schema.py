"""The admin API against its OpenAPI document, docs/admin-api.yaml: schemathesis generates valid
and hostile requests for every operation, signed as any AWS library signs them (botocore's
SigV4Auth, service s3), and checks each answer: never a 5xx, the status one the operation
documents, the body the documented JSON (errors included), invalid input refused with a 4xx, a
method a path lacks refused with 405 and Allow. Unsigned requests are refused on every path.

Every operation is generated, the operations on buckets, zones and the queue too; one is held
back from what it would do: `POST /admin/providers/import` runs as a dry run only (applied, it
would append made-up zones to the stack's configuration file)."""

import boto3
import pytest
import requests
import schemathesis
from botocore.config import Config
from hypothesis import HealthCheck, settings

import admin_api
from admin_api import SigV4, admin
from conftest import REGION, ROOT, Stack, new_bucket_name

DOCUMENT = ROOT / "docs" / "admin-api.yaml"


@pytest.fixture(scope="module")
def stack():
    s = Stack("adminapi").start()
    s.config_at_start = s.config.read_text()
    yield s
    s.stop()
    s.cleanup()


@pytest.fixture(scope="module")
def document() -> dict:
    return admin_api.read_document(DOCUMENT)


@pytest.fixture(scope="module")
def api_schema(document, stack):
    return admin_api.openapi_schema(document, stack.http_url)


@pytest.fixture(scope="module")
def existing(stack) -> dict:
    """A tenant, a user and one of its keys, a bucket of that tenant holding an object, its zone
    and its backend bucket there, all existing, for the pass that pins path and query parameters
    to them: random ids almost never name anything, so without it most operations would answer
    404 and their bodies would never be judged."""
    assert admin(stack, "POST", "tenants", {"id": "fixture"}).status_code == 201
    r = admin(stack, "POST", "tenants/fixture/users", {"name": "keeper", "permissions": {"s3:*": ["*"]}})
    assert r.status_code == 201, r.text
    r = admin(stack, "POST", "tenants/fixture/users/keeper/credentials")
    assert r.status_code == 201, r.text
    key = r.json()
    bucket = new_bucket_name("pinned")
    s3 = boto3.client("s3", endpoint_url=stack.http_url, aws_access_key_id=key["access_key"],
                      aws_secret_access_key=key["secret_key"], region_name=REGION,
                      config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"pinned")
    r = admin(stack, "GET", f"tenants/fixture/buckets/{bucket}")
    assert r.status_code == 200, r.text
    (backend,) = {p["backend_bucket"] for p in r.json()["placement"] if p["zone"] == "local-1"}
    return {"tenant": "fixture", "user": "keeper", "key": key["access_key"], "bucket": bucket, "zone": "local-1",
            "backend": backend}


@pytest.fixture(scope="module")
def pinned_schema(document, stack, existing):
    return admin_api.openapi_schema(document, stack.http_url, parameters=existing)


def call_and_validate(case, stack):
    if case.path == "/admin/providers/import" and isinstance(case.body, dict) and case.body.get("apply") is True:
        # A dry run answers as the import would (every check made), without writing the file;
        # true is a valid value, so the body's validity, which the checks judge, is unchanged.
        case.body["apply"] = False
    admin_api.call_and_validate(case, stack.access_key, stack.secret_key)


schema = schemathesis.pytest.from_fixture("api_schema")
# Deleting the pinned user or key would leave the rest of that pass nothing to work on; the
# random pass and test_admin_cli.py delete.
pinned = schemathesis.pytest.from_fixture("pinned_schema").exclude(method="DELETE", path_regex="/users/")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_document(case, stack):
    call_and_validate(case, stack)


@pinned.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_about_existing_entities_matches_the_document(case, stack):
    call_and_validate(case, stack)


def operations(document) -> list[tuple[str, str]]:
    """Every (method, path) the document names, with sample path parameters filled in."""
    out = []
    for path, item in document["paths"].items():
        concrete = path
        for name, value in (("tenant", "fixture"), ("user", "keeper"), ("key", "NOKEY"), ("bucket", "nobucket"),
                            ("zone", "local-1"), ("backend", "nobackend"), ("id", "1")):
            concrete = concrete.replace("{" + name + "}", value)
        assert "{" not in concrete, concrete
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                out.append((method.upper(), concrete))
    return out


def test_unsigned_and_badly_signed_requests_are_refused_everywhere(stack, document):
    wrong = SigV4(stack.access_key, "not-the-secret")
    for method, path in operations(document):
        for auth, code in ((None, "AccessDenied"), (wrong, "SignatureDoesNotMatch")):
            r = requests.request(method, stack.http_url + path, auth=auth, timeout=30)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.headers["Content-Type"] == "application/json", (method, path, r.headers)
            assert r.json() == {"code": code, "message": r.json()["message"]}, (method, path, r.text)


def test_a_user_name_that_needs_encoding_is_reachable(stack, existing):
    """botocore's SigV4Auth signs the path encoded twice (AWS's rule outside S3); `@` and `+` in
    an IAM-style user name must not make its requests fail their signature."""
    name = "ops+bot@example.com"
    r = admin(stack, "POST", f"tenants/{existing['tenant']}/users", {"name": name})
    assert r.status_code == 201, r.text
    r = admin(stack, "GET", f"tenants/{existing['tenant']}/users/ops%2Bbot%40example.com")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == name
    assert admin(stack, "DELETE", f"tenants/{existing['tenant']}/users/ops%2Bbot%40example.com").status_code == 204


def test_the_configuration_file_is_unchanged(stack):
    """Whatever providers the runs above generated, none was added: imports were dry runs."""
    assert stack.config.read_text() == stack.config_at_start
