"""What versioning costs on the small-request path, and how listings of many versions scale.

One gateway behind its own nginx, two buckets: one never versioned, one versioning-Enabled.
wrk replays presigned 4 KiB PUTs of one key (an overwrite: the unversioned bucket replaces the
row in place, the versioned one keeps every write as a version, so its key gathers tens of
thousands of versions during the run) and GETs of the latest, alternating buckets within every
round so drift hits both alike. Then ListObjectVersions pages (1000 entries) through that key's
versions, and ListObjectsV2 of the bucket, timed from the client. Reports medians and the
versioned/unversioned ratios.

Env: S3GW_BIN, BENCH_RUNS (3), BENCH_DURATION (10 s per wrk run), BENCH_CONNECTIONS (32).
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))

from bench import CONNECTIONS, DURATION, RUNS, small_requests  # noqa: E402
from conftest import Stack, s3_client  # noqa: E402

SIZE = 4 * 1024
BUCKETS = {"unversioned": "plain", "versioned": "versions"}


def main() -> int:
    body = os.urandom(SIZE)
    work = Path(tempfile.mkdtemp(prefix="s3gw-bench-ver-"))
    body_file = work / "body"
    body_file.write_bytes(body)
    stack = Stack("bench-versioning", workers=0, threads=32, log_level="info")
    results = []
    try:
        stack.start()
        s3 = s3_client(stack)
        targets = {}
        for name, bucket in BUCKETS.items():
            s3.create_bucket(Bucket=bucket)
            if name == "versioned":
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_object(Bucket=bucket, Key="k", Body=body)
            targets[name] = (
                s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=3600),
                s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=3600))
        results = small_requests(targets, ["PUT", "GET"], body_file)

        # Paging through the one key's versions, 1000 at a time, as boto3's paginator does.
        pages, versions, times = 0, 0, []
        kwargs = {"Bucket": BUCKETS["versioned"], "MaxKeys": 1000}
        while True:
            t = time.perf_counter()
            page = s3.list_object_versions(**kwargs)
            times.append(time.perf_counter() - t)
            pages += 1
            versions += len(page.get("Versions", []))
            if not page.get("IsTruncated"):
                break
            kwargs.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])
        listing = [statistics.median(
            [timed(lambda: s3.list_objects_v2(Bucket=b)) for _ in range(20)]) for b in BUCKETS.values()]
    finally:
        stack.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            stack.cleanup()

    print()
    print(f"versioning cost — medians of {RUNS} runs; wrk: {CONNECTIONS} connections, {DURATION}s; "
          f"{os.cpu_count()} cores")
    print(f"{'workload':<10} {'unversioned':>14} {'versioned':>14} {'ratio':>7}")
    for name, m, note in results:
        print(f"{name:<10} {m['unversioned']:>10,.0f} r/s {m['versioned']:>10,.0f} r/s "
              f"{m['versioned'] / m['unversioned']:>6.2f}x {note}")
    print(f"ListObjectVersions of one key with {versions:,} versions: {pages} pages of ≤1000, "
          f"median {statistics.median(times) * 1000:.1f} ms per page (max {max(times) * 1000:.1f} ms)")
    print(f"ListObjectsV2 of the bucket (one key): unversioned {listing[0] * 1000:.1f} ms, "
          f"versioned {listing[1] * 1000:.1f} ms (medians of 20)")
    return 0


def timed(call) -> float:
    t = time.perf_counter()
    call()
    return time.perf_counter() - t


if __name__ == "__main__":
    sys.exit(main())
