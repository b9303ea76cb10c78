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
