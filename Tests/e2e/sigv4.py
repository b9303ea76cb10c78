"""Hand-written AWS Signature Version 4 for the end-to-end tests: requests the SDKs would never
send (tampered, skewed, signed chunks, broken framing) need their headers built by hand.
Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html"""

import datetime as _dt
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def canonical_query(raw: str) -> str:
    if not raw:
        return ""
    pairs = []
    for part in raw.split("&"):
        k, _, v = part.partition("=")
        pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _raw(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


@dataclass
class Signed:
    headers: dict  # every header to send, Authorization included
    signature: str
    amz_date: str
    scope: str
    key: bytes
    canonical_request: str


def sign(
    method: str,
    url: str,
    access_key: str,
    secret_key: str,
    headers: dict | None = None,
    payload_hash: str = UNSIGNED,
    region: str = "us-east-1",
    now: _dt.datetime | None = None,
    service: str = "s3",
) -> Signed:
    """Signs every header given plus host, x-amz-date and x-amz-content-sha256. `url` must be
    exactly what goes on the wire (path already percent-encoded)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    parts = urlsplit(url)
    hdrs = {k: v for k, v in (headers or {}).items()}
    hdrs["host"] = parts.netloc
    hdrs["x-amz-date"] = amz_date
    hdrs["x-amz-content-sha256"] = payload_hash
    # A header value may be bytes: it goes on the wire and into the signature byte for byte (the
    # canonical request is over the raw header bytes); str values are UTF-8.
    canon = {k.lower(): b" ".join(_raw(v).strip().split()) for k, v in hdrs.items()}
    names = sorted(canon)
    canonical_bytes = b"\n".join(
        [
            method.encode(),
            (parts.path or "/").encode(),
            canonical_query(parts.query).encode(),
            b"".join(n.encode() + b":" + canon[n] + b"\n" for n in names),
            ";".join(names).encode(),
            payload_hash.encode(),
        ]
    )
    canonical_request = canonical_bytes.decode("utf-8", errors="backslashreplace")
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256_hex(canonical_bytes)])
    key = signing_key(secret_key, date, region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    hdrs["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    del hdrs["host"]  # the HTTP client sends Host itself, byte-identical to the netloc
    return Signed(hdrs, signature, amz_date, scope, key, canonical_request)


def chunk_signature(s: Signed, previous: str, data: bytes) -> str:
    sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", s.amz_date, s.scope, previous, EMPTY_SHA256, sha256_hex(data)])
    return hmac.new(s.key, sts.encode(), hashlib.sha256).hexdigest()


def trailer_signature(s: Signed, previous: str, trailer_lines: bytes) -> str:
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", s.amz_date, s.scope, previous, sha256_hex(trailer_lines)])
    return hmac.new(s.key, sts.encode(), hashlib.sha256).hexdigest()


def signed_chunks(s: Signed, chunks: list[bytes]) -> list[bytes]:
    """Encodes `chunks` (plus the final empty chunk) as STREAMING-AWS4-HMAC-SHA256-PAYLOAD."""
    out, prev = [], s.signature
    for data in list(chunks) + [b""]:
        sig = chunk_signature(s, prev, data)
        out.append(b"%x;chunk-signature=%s\r\n" % (len(data), sig.encode()) + data + b"\r\n")
        prev = sig
    return out


def unsigned_trailer_body(chunks: list[bytes], trailer_name: str, trailer_value: str) -> bytes:
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER body, as botocore sends it over HTTPS."""
    body = b"".join(b"%x\r\n" % len(c) + c + b"\r\n" for c in chunks)
    return body + b"0\r\n" + f"{trailer_name}:{trailer_value}\r\n\r\n".encode()


def key_path(bucket: str, key: str) -> str:
    """Path-style request path with the key encoded the way the SDKs do."""
    return "/" + bucket + "/" + quote(key, safe="/~")
