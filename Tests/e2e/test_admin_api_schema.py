"""The admin API against its OpenAPI document, docs/admin-api.yaml: schemathesis generates valid
and hostile requests for every operation, signed as any AWS library signs them (botocore's
SigV4Auth, service s3), and checks each answer: never a 5xx, the status one the operation
documents, the body the documented JSON (errors included), invalid input refused with a 4xx, a
method a path lacks refused with 405 and Allow. Unsigned requests are refused on every path."""

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, missing_required_header

from admin_api import SigV4, admin
from conftest import ROOT, Stack

DOCUMENT = ROOT / "docs" / "admin-api.yaml"


@pytest.fixture(scope="module")
def stack():
    s = Stack("adminapi").start()
    yield s
    s.stop()
    s.cleanup()


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


@pytest.fixture(scope="module")
def api_schema(document, stack):
    s = schemathesis.openapi.from_dict(document)
    s.config.update(base_url=stack.http_url)
    return s


@pytest.fixture(scope="module")
def existing(stack) -> dict:
    """A tenant, a user and one of its keys that exist, for the pass that pins path parameters
    to them: random ids almost never name anything, so without it the operations on users and
    keys would mostly answer 404 and their bodies would never be judged."""
    assert admin(stack, "POST", "tenants", {"id": "fixture"}).status_code == 201
    assert admin(stack, "POST", "tenants/fixture/users", {"name": "keeper"}).status_code == 201
    r = admin(stack, "POST", "tenants/fixture/users/keeper/credentials")
    assert r.status_code == 201, r.text
    return {"tenant": "fixture", "user": "keeper", "key": r.json()["access_key"]}


@pytest.fixture(scope="module")
def pinned_schema(document, stack, existing):
    s = schemathesis.openapi.from_dict(document)
    s.config.update(base_url=stack.http_url, parameters=existing)
    return s


def call_and_validate(case, stack):
    if case.method.upper() == "TRACE":
        return  # nginx answers TRACE itself (405, no Allow) before any gateway sees it
    # The document declares the Authorization header (the sigv4 scheme): where schemathesis put
    # one, the request is signed for real; where it left it out on purpose, it goes unsigned.
    signed = any(k.lower() == "authorization" for k in (case.headers or {}))
    auth = SigV4(stack.access_key, stack.secret_key) if signed else None
    case.call_and_validate(
        auth=auth, timeout=30,
        # ignored_auth counts the signature added here as made-up auth, and
        # missing_required_header wants 401 for a missing Authorization where AWS (S3, STS, this
        # API) answers 403 AccessDenied: both are checked by the tests below instead.
        excluded_checks=[ignored_auth, missing_required_header])


schema = schemathesis.pytest.from_fixture("api_schema")
# Deleting the pinned user or key would leave the rest of that pass nothing to work on; the
# random pass and test_admin_cli.py delete.
pinned = schemathesis.pytest.from_fixture("pinned_schema").exclude(method="DELETE", path_regex="/users/")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_document(case, stack):
    call_and_validate(case, stack)


@pinned.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_about_existing_entities_matches_the_document(case, stack):
    call_and_validate(case, stack)


def operations(document) -> list[tuple[str, str]]:
    """Every (method, path) the document names, with sample path parameters filled in."""
    out = []
    for path, item in document["paths"].items():
        concrete = path.replace("{tenant}", "fixture").replace("{user}", "keeper").replace("{key}", "NOKEY")
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
