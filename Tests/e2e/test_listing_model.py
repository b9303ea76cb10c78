"""Delimiter listings page by page against a model (issue 15, "Listing at scale"): a bucket of
a few thousand keys laid out as a tree, with unusual bytes, listed by boto3's paginators
(ListObjectsV2 and V1, encoding-type url and raw) with many prefixes, delimiters and page
sizes; each page must be the one the S3 algorithm computes on the sorted key list."""

import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.handlers import set_list_objects_encoding_type_url

from conftest import empty_and_delete_bucket, new_bucket_name, s3_client

KEYS = (
    [f"photos/2024/{m:02d}/{i}.jpg" for m in range(1, 13) for i in range(40)]
    + [f"tree/{d:04d}/{j}" for d in range(300) for j in range(3)]
    + [f"k-{i:04d}" for i in range(900)]
    + [f"logs::2026::{m:02d}::{i}" for m in range(1, 4) for i in range(20)]
    + [
        "docs/", "docs/a b+c&d=e%f.txt", "docs/<tag>&'\".txt", "docs/日本語/ファイル.txt", "docs/日本語/x",
        "docs/e\u0301/1", "docs/\u00e9/2", "docs/e/3", "docs/¿/x", "docs/¿¿/y", "docs/À/z", "docs/~tilde",
        "docs/sub/", "docs/sub/deeper/", "docs/sub/deeper/leaf", "docs//double", "photos/", "photos/2025/é/ü.png",
        "\U0010ffff/max", "z", "é/1", "e\u0301/2",
    ]
)


def model_pages(prefix: str, delimiter: str | None, page_size: int, start_after: str = ""):
    """[(keys, common prefixes)] per page: keys after `start_after` under the prefix in UTF-8
    byte order, rolled up at the first delimiter after the prefix, `page_size` entries a page."""
    entries, seen = [], set()
    for k in sorted(KEYS, key=lambda s: s.encode()):
        if not k.startswith(prefix) or k.encode() <= start_after.encode():
            continue
        rest = k[len(prefix):]
        if delimiter and delimiter in rest:
            cp = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            if cp in seen or cp.encode() <= start_after.encode():
                continue
            seen.add(cp)
            entries.append(("cp", cp))
        else:
            entries.append(("key", k))
    pages = [entries[i:i + page_size] for i in range(0, len(entries), page_size)] or [[]]
    return [([v for t, v in p if t == "key"], [v for t, v in p if t == "cp"]) for p in pages]


CASES = [
    # prefix, delimiter, page size, start after
    ("", "/", 1000, ""),
    ("", "/", 7, ""),
    ("", None, 250, ""),
    ("photos/", "/", 5, ""),
    ("photos/2024/", "/", 100, ""),
    ("photos/2024/", "/", 3, "photos/2024/06/3.jpg"),
    ("tree/", "/", 1000, ""),
    ("tree/", "/", 37, ""),
    ("tree/0", "/", 1000, ""),
    ("docs/", "/", 2, ""),
    ("docs/", "/", 1000, "docs/a"),
    ("docs/e", "/", 1, ""),
    ("logs", "::", 1, ""),
    ("", "::", 50, ""),
    ("", "é", 100, ""),
    ("", "2024/", 200, ""),
    ("k-", "/", 333, ""),
    ("nothing/", "/", 10, ""),
]


@pytest.fixture(scope="module")
def tree(gw):
    client = s3_client(gw, "http")
    name = new_bucket_name("listing")
    client.create_bucket(Bucket=name)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=name, Key=k, Body=b"x"), KEYS))
    yield name
    empty_and_delete_bucket(client, name)


def raw_client(gw):
    """A client that sends no encoding-type, so keys come back as raw XML text."""
    client = s3_client(gw, "http")
    for op in ("ListObjects", "ListObjectsV2"):
        client.meta.events.unregister(f"before-parameter-build.s3.{op}", set_list_objects_encoding_type_url)
    return client


def pages_of(client, operation: str, bucket: str, prefix: str, delimiter: str | None, size: int, start: str,
             **extra):
    params = {"Bucket": bucket, "Prefix": prefix, **extra}
    if delimiter:
        params["Delimiter"] = delimiter
    if start:
        params["StartAfter" if operation == "list_objects_v2" else "Marker"] = start
    out = []
    for page in client.get_paginator(operation).paginate(**params, PaginationConfig={"PageSize": size}):
        keys = [o["Key"] for o in page.get("Contents", [])]
        cps = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if operation == "list_objects_v2":
            assert page["KeyCount"] == len(keys) + len(cps)
        out.append((keys, cps, page["IsTruncated"]))
    return out


def check(got, want, what):
    assert [(k, c) for k, c, _ in got] == want, what
    assert [t for _, _, t in got] == [True] * (len(want) - 1) + [False], what


@pytest.mark.parametrize("prefix,delimiter,size,start", CASES)
def test_v2_pages_are_the_models(gw, tree, prefix, delimiter, size, start):
    want = model_pages(prefix, delimiter, size, start)
    # botocore asks for encoding-type=url and decodes the answer itself.
    check(pages_of(s3_client(gw, "http"), "list_objects_v2", tree, prefix, delimiter, size, start), want, "url")
    check(pages_of(raw_client(gw), "list_objects_v2", tree, prefix, delimiter, size, start), want, "raw")


@pytest.mark.parametrize("prefix,delimiter,size,start", CASES[:12])
def test_v1_pages_are_the_models(gw, tree, prefix, delimiter, size, start):
    want = model_pages(prefix, delimiter, size, start)
    check(pages_of(raw_client(gw), "list_objects", tree, prefix, delimiter, size, start), want, "v1")


def test_url_encoding_is_the_keys_percent_encoded(gw, tree):
    """With encoding-type=url asked for by the caller (botocore then leaves the answer alone),
    keys, prefixes and the delimiter come back percent-encoded: only unreserved bytes, '/' and
    %XX, and decoding gives the model's page."""
    client = s3_client(gw, "http")
    want = model_pages("docs/", "/", 1000)[0]
    page = client.list_objects_v2(Bucket=tree, Prefix="docs/", Delimiter="/", EncodingType="url")
    keys = [o["Key"] for o in page["Contents"]]
    cps = [p["Prefix"] for p in page["CommonPrefixes"]]
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~/%")
    for s in keys + cps:
        assert set(s) <= allowed, s
    assert [urllib.parse.unquote(k) for k in keys] == want[0]
    assert [urllib.parse.unquote(c) for c in cps] == want[1]
    assert "docs/a%20b%2Bc%26d%3De%25f.txt" in keys
    assert "docs/e%CC%81/" in cps and "docs/%C3%A9/" in cps
