"""Discovery benchmark: what an inventory of a large account costs the gateway.

A synthetic S3 account (a small Python server in this file: ListBuckets, GetBucketLocation, the
bucket feature reads answered "not configured", ListObjectsV2 pages of 1000 keys generated on
the fly, so the source itself costs next to nothing and holds nothing) with BENCH_DISC_BUCKETS
buckets sharing each size in BENCH_DISC_OBJECTS. One gateway (release build) inventories it
through the discovery API (`POST /api/discovery/jobs`, sanitization `hashed`), polled until done.

Reported per size: wall time, objects/s, the worker processes' resident memory before the job
and at its peak (sampled every 50 ms from /proc), the snapshot file and summary sizes, and how
long the summary the UI draws takes to fetch. Memory that stays flat from the smallest to the
largest account is the point: the listing is never held, only one page at a time.

Env: S3GW_BIN (default .build/release/s3gw), BENCH_DISC_OBJECTS ("10000,100000"),
BENCH_DISC_BUCKETS (4).
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("S3GW_BIN", str(ROOT / ".build" / "release" / "s3gw"))
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))

from admin_api import SigV4  # noqa: E402
from conftest import Stack  # noqa: E402

SIZES = [int(s) for s in os.environ.get("BENCH_DISC_OBJECTS", "10000,100000").split(",")]
BUCKETS = int(os.environ.get("BENCH_DISC_BUCKETS", "4"))
CLASSES = ["STANDARD", "STANDARD", "STANDARD_IA", "GLACIER"]

NOT_CONFIGURED = {
    "encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "lifecycle": "NoSuchLifecycleConfiguration",
    "replication": "ReplicationConfigurationNotFoundError",
    "object-lock": "ObjectLockConfigurationNotFoundError",
    "policy": "NoSuchBucketPolicy",
    "policyStatus": "NoSuchBucketPolicy",
}


class Account:
    """`buckets` buckets of `per_bucket` objects each, generated from their index."""

    def __init__(self, buckets: int, per_bucket: int):
        self.names = [f"bench-{i:02d}" for i in range(buckets)]
        self.per_bucket = per_bucket

    @staticmethod
    def key(i: int) -> str:
        # Sorted by i (fixed width), two prefix levels so the prefix table has work to do.
        return f"tenant-{i % 37:02d}/day-{(i // 997) % 400:03d}/object-{i:09d}.bin"


def serve(account: Account) -> ThreadingHTTPServer:
    keys_sorted = sorted(range(account.per_bucket), key=Account.key)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status: int, body: str):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: int, code: str):
            self.send(status, f"<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>x</Message></Error>")

        def do_HEAD(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            bucket = url.path.strip("/").split("/")[0]
            if not bucket:
                entries = "".join(f"<Bucket><Name>{n}</Name><CreationDate>2025-01-01T00:00:00.000Z</CreationDate>"
                                  "</Bucket>" for n in account.names)
                return self.send(200, f"<ListAllMyBucketsResult><Owner><ID>o</ID></Owner><Buckets>{entries}"
                                      "</Buckets></ListAllMyBucketsResult>")
            if bucket not in account.names:
                return self.error(404, "NoSuchBucket")
            if "location" in query:
                return self.send(200, "<LocationConstraint>us-east-1</LocationConstraint>")
            if "versioning" in query:
                return self.send(200, "<VersioningConfiguration/>")
            for name, code in NOT_CONFIGURED.items():
                if name in query:
                    return self.error(404, code)
            if query.get("list-type") == ["2"]:
                start = int(query.get("continuation-token", ["0"])[0])
                end = min(account.per_bucket, start + 1000)
                parts = []
                for n in range(start, end):
                    i = keys_sorted[n]
                    size = (i * 7919) % (4 << 20)
                    parts.append(f"<Contents><Key>{Account.key(i)}</Key>"
                                 f"<LastModified>2025-{1 + i % 12:02d}-15T10:00:00.000Z</LastModified>"
                                 f"<ETag>&quot;{i:032x}&quot;</ETag><Size>{size}</Size>"
                                 f"<StorageClass>{CLASSES[i % len(CLASSES)]}</StorageClass></Contents>")
                more = end < account.per_bucket
                token = f"<NextContinuationToken>{end}</NextContinuationToken>" if more else ""
                return self.send(200, f"<ListBucketResult><Name>{bucket}</Name><KeyCount>{end - start}</KeyCount>"
                                      f"<MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType>"
                                      f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>{token}"
                                      + "".join(parts) + "</ListBucketResult>")
            return self.error(501, "NotImplemented")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total = max(total, int(line.split()[1]))
        except OSError:
            pass
    return total


def measure(total: int) -> dict:
    per_bucket = max(1, total // BUCKETS)
    source = serve(Account(BUCKETS, per_bucket))
    endpoint = f"http://127.0.0.1:{source.server_address[1]}"
    stack = Stack("bench-discovery", workers=1, log_level="error", extra=f"""
[discovery]
endpoints = ["{endpoint}"]
""").start()
    try:
        auth = SigV4(stack.access_key, stack.secret_key)
        workers = stack.worker_pids()
        before = rss_kib(workers)
        peak = before
        started = time.monotonic()
        body = {"endpoint": endpoint, "region": "us-east-1", "access_key_id": "AKIDBENCH",
                "secret_access_key": "bench-secret", "sanitization": "hashed"}
        r = requests.post(stack.http_url + "/api/discovery/jobs", data=json.dumps(body), auth=auth, timeout=60)
        r.raise_for_status()
        job = r.json()
        while job["state"] == "running":
            time.sleep(0.05)
            peak = max(peak, rss_kib(workers))
            job = requests.get(stack.http_url + f"/api/discovery/jobs/{job['id']}", auth=auth, timeout=60).json()
        elapsed = time.monotonic() - started
        assert job["state"] == "done", job
        assert job["objects"] == per_bucket * BUCKETS, job
        t = time.monotonic()
        summary = requests.get(stack.http_url + f"/api/discovery/snapshots/{job['id']}", auth=auth, timeout=60)
        summary_ms = (time.monotonic() - t) * 1000
        summary.raise_for_status()
        listed = requests.get(stack.http_url + "/api/discovery/snapshots", auth=auth, timeout=60).json()
        (row,) = [s for s in listed["snapshots"] if s["id"] == job["id"]]
        return {"objects": job["objects"], "seconds": elapsed, "objects_per_s": job["objects"] / elapsed,
                "rss_before_mib": before / 1024, "rss_peak_mib": peak / 1024,
                "snapshot_mib": row["file_bytes"] / (1 << 20), "summary_kib": len(summary.content) / 1024,
                "summary_ms": summary_ms}
    finally:
        stack.stop()
        stack.cleanup()
        source.shutdown()


def main():
    print(f"discovery: {BUCKETS} buckets, synthetic source, sanitization hashed, one worker")
    print(f"{'objects':>9} {'seconds':>8} {'objects/s':>10} {'RSS before':>11} {'RSS peak':>9} "
          f"{'snapshot':>9} {'summary':>8} {'fetch':>7}")
    for total in SIZES:
        m = measure(total)
        print(f"{m['objects']:>9} {m['seconds']:>8.1f} {m['objects_per_s']:>10.0f} {m['rss_before_mib']:>9.1f}Mi "
              f"{m['rss_peak_mib']:>7.1f}Mi {m['snapshot_mib']:>7.1f}Mi {m['summary_kib']:>6.1f}Ki "
              f"{m['summary_ms']:>5.0f}ms", flush=True)


if __name__ == "__main__":
    main()
