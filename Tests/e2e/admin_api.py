"""Calling the admin API from the end-to-end tests as any AWS library would: requests signed by
botocore's SigV4Auth (service s3, the body's SHA-256 in x-amz-content-sha256)."""

import hashlib
import json

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION


class SigV4(requests.auth.AuthBase):
    """A requests auth hook: signs the prepared request, every header included."""

    def __init__(self, access_key: str, secret_key: str, region: str = REGION, token: str | None = None,
                 declare_hash: bool = True):
        self.credentials = Credentials(access_key, secret_key, token)
        self.region = region
        # False: sign as plain SigV4Auth does for non-S3 services — the body's hash is signed but
        # not sent, and the gateway must hash the body itself.
        self.declare_hash = declare_hash

    def __call__(self, r):
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v for k, v in r.headers.items()
                   if k.lower() not in ("authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token")}
        aws = AWSRequest(method=r.method, url=r.url, data=body, headers=headers)
        if self.declare_hash:
            aws.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        SigV4Auth(self.credentials, "s3", self.region).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "x-amz-content-sha256", "X-Amz-Security-Token"):
            if name in aws.headers:
                r.headers[name] = aws.headers[name]
        return r


def admin(stack, method: str, path: str, body=None, access_key: str | None = None,
          secret_key: str | None = None, declare_hash: bool = True) -> requests.Response:
    """One admin call to `stack` (path after /admin/), signed with the root key unless told."""
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"} if data else {}
    auth = SigV4(access_key or stack.access_key, secret_key or stack.secret_key, declare_hash=declare_hash)
    return requests.request(method, stack.http_url + "/admin/" + path, data=data, headers=headers, auth=auth,
                            timeout=30)


def read_document(path) -> dict:
    """An OpenAPI document (YAML) as a dict."""
    import yaml

    return yaml.safe_load(path.read_text())


def openapi_schema(document: dict, base_url: str, **config):
    """`document` loaded by schemathesis, its requests sent to `base_url` (`config`: more of
    schemathesis's settings, such as pinned `parameters`)."""
    import schemathesis

    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.update(base_url=base_url, **config)
    return loaded


def call_and_validate(case, access_key: str, secret_key: str) -> None:
    """One schemathesis case against a JSON API described with the sigv4 scheme, checked against
    its document. Where schemathesis put an Authorization header the request is signed for real;
    where it left it out on purpose, or generated the headers to be invalid (it may rename or drop
    Authorization), it goes unsigned as generated."""
    from schemathesis.generation.meta import GenerationMode, ParameterLocation
    from schemathesis.specs.openapi.checks import ignored_auth, missing_required_header

    if case.method.upper() == "TRACE":
        return  # nginx answers TRACE itself (405, no Allow) before any s3gw process sees it
    meta = getattr(case, "_meta", None)
    headers_info = meta.components.get(ParameterLocation.HEADER) if meta else None
    invalid_headers = headers_info is not None and headers_info.mode == GenerationMode.NEGATIVE
    signed = not invalid_headers and any(k.lower() == "authorization" for k in (case.headers or {}))
    case.call_and_validate(
        auth=SigV4(access_key, secret_key) if signed else None, timeout=30,
        # ignored_auth counts the signature added here as made-up auth, and
        # missing_required_header wants 401 for a missing Authorization where AWS (S3, STS, this
        # API) answers 403 AccessDenied: the callers check refusals themselves.
        excluded_checks=[ignored_auth, missing_required_header])
