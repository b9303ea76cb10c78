"""The router's admin API against its OpenAPI document, docs/router-admin-api.yaml, as
test_admin_api_schema.py holds the gateway's: schemathesis generates valid and hostile requests
for every operation, signed by the router's operator credential, and checks each answer (never a
5xx, a documented status, the documented JSON); unsigned and wrongly signed requests are refused
on every path."""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from admin_api import SigV4, admin, call_and_validate, openapi_schema, read_document
from conftest import ROOT, Stack

DOCUMENT = ROOT / "docs" / "router-admin-api.yaml"


@pytest.fixture(scope="module")
def router():
    s = Stack("router-schema", extra="\n[router]\n")
    s.start()
    # Something to find: a region with a tenant, a key and a bucket.
    assert admin(s, "PUT", "routing/regions/fi", {"endpoint": "https://fi.s3.example"}).status_code == 200
    assert admin(s, "PUT", "routing/tenants/acme", {"region": "fi"}).status_code == 200
    assert admin(s, "PUT", "routing/access-keys/AKIDACME", {"tenant": "acme"}).status_code == 200
    assert admin(s, "PUT", "routing/buckets/photos", {"tenant": "acme"}).status_code == 200
    yield s
    s.stop()
    s.cleanup()


@pytest.fixture(scope="module")
def document() -> dict:
    return read_document(DOCUMENT)


@pytest.fixture(scope="module")
def api_schema(document, router):
    """The document, its requests sent to this module's router."""
    return openapi_schema(document, router.http_url)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_document(case, router):
    call_and_validate(case, router.access_key, router.secret_key)


def test_unsigned_and_badly_signed_requests_are_refused_everywhere(router, document):
    wrong = SigV4(router.access_key, "not-the-secret")
    for path, item in document["paths"].items():
        concrete = (path.replace("{region}", "fi").replace("{tenant}", "acme")
                    .replace("{access_key_id}", "AKIDACME").replace("{bucket}", "photos"))
        for method in item:
            if method not in ("get", "put", "delete"):
                continue
            for auth, code in ((None, "AccessDenied"), (wrong, "SignatureDoesNotMatch")):
                r = requests.request(method.upper(), router.http_url + concrete, auth=auth, timeout=30)
                assert r.status_code == 403, (method, concrete, r.status_code, r.text)
                assert r.json()["code"] == code, (method, concrete, r.text)
