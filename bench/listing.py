"""ListObjectsV2 latency in a bucket of 1 M objects (issue 15, "Listing at scale").

Boots one gateway behind nginx (the e2e harness's Stack) with the SQLite store, PUTs one object
and stops it; the row the gateway wrote for that PUT is the template for 1 M more, written
straight into the stopped gateway's metadata.sqlite with Python's sqlite3 (only the key
differs; blobs need not exist for a listing). The keys are laid out like a real tree:
  hosts/host-NNNN/NNN.json            2000 "directories" of 100 keys        (200 000)
  data/YYYY/NNNNNN.parquet            3 "directories" of 100 000 keys       (300 000)
  data/part-NNNNN.csv                 3000 keys beside them                 (  3 000)
  logs/2026/MM/DD/host-N/NNN.json     12 months x 28 days x 10 hosts x 30   (100 800)
  flat/NNNNNNN                        the rest, one flat area               (396 200)
Then it starts the gateway again and times each request of every workload (one keep-alive
connection, Python http.client, presigned URLs), after 5 warm-up requests:
  (a) prefix hosts/, delimiter /        -> 1000 common prefixes (a page of "directories")
  (b) prefix data/, delimiter /         -> 3 common prefixes of 100 000 keys each + 997 keys
  (b2) as (b), continuing after data/2019/ (a page resumed after a huge common prefix)
  (c) prefix flat/, no delimiter, a continuation token deep in it -> 1000 keys
Every answer is checked: HTTP 200 and KeyCount 1000.

With BENCH_LISTING_BASELINE=path (e.g. a release binary of the commit before the change) the
same store is measured with that binary too, the binaries taken in turn within every round so
drift hits both alike. The table gives median and p99 per workload and binary.

`figures(binary)` returns [(workload, median_ms, p99_ms)] for the main bench table.

Env: S3GW_BIN (default .build/release/s3gw), BENCH_LISTING_BASELINE (none),
BENCH_LISTING_REQUESTS (200 per workload and binary), BENCH_LISTING_ROUNDS (2),
BENCH_LISTING_BUDGET (60 s per workload, round and binary: a slow baseline stops early, with
at least 10 requests).
"""

import base64
import http.client
import os
import re
import sqlite3
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))

from conftest import Stack, s3_client, wait_until  # noqa: E402

BUCKET = "listing"
REQUESTS = int(os.environ.get("BENCH_LISTING_REQUESTS", "200"))
ROUNDS = int(os.environ.get("BENCH_LISTING_ROUNDS", "2"))
BUDGET = float(os.environ.get("BENCH_LISTING_BUDGET", "60"))
WARMUP = 5


def keys():
    """The 1 M keys, in any order."""
    for h in range(2000):
        for n in range(100):
            yield f"hosts/host-{h:04d}/{n:03d}.json"
    for year in (2019, 2020, 2021):
        for n in range(100_000):
            yield f"data/{year}/{n:06d}.parquet"
    for n in range(3000):
        yield f"data/part-{n:05d}.csv"
    for month in range(1, 13):
        for day in range(1, 29):
            for host in range(10):
                for n in range(30):
                    yield f"logs/2026/{month:02d}/{day:02d}/host-{host}/{n:03d}.json"
    for n in range(396_200):
        yield f"flat/{n:07d}"


def token(key: str) -> str:
    """The gateway's continuation token for a page that ended at `key`."""
    return base64.b64encode(key.encode()).decode()


# name -> ListObjectsV2 parameters
WORKLOADS = {
    "(a) 1000 common prefixes": {"Prefix": "hosts/", "Delimiter": "/"},
    "(b) 3 x 100k-key prefixes + keys": {"Prefix": "data/", "Delimiter": "/"},
    "(b2) resumed after a 100k-key prefix": {"Prefix": "data/", "Delimiter": "/", "StartAfter": "data/2019/"},
    "(c) 1000 keys, deep token": {"Prefix": "flat/", "ContinuationToken": token("flat/0300000")},
}


def fill(stack: Stack) -> int:
    """Writes the 1 M rows into the stopped stack's store, copies of the row its PUT wrote."""
    db = sqlite3.connect(stack.state_dir / "metadata.sqlite")
    try:
        cur = db.execute("SELECT * FROM objects WHERE bucket = ? AND key = ?", (BUCKET, "template"))
        columns = [d[0] for d in cur.description]
        template = list(cur.fetchone())
        at = columns.index("key")
        sql = f"INSERT INTO objects ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"

        def rows():
            for k in sorted(keys()):
                template[at] = k
                yield tuple(template)

        with db:
            db.executemany(sql, rows())
        return db.execute("SELECT count(*) FROM objects WHERE bucket = ?", (BUCKET,)).fetchone()[0]
    finally:
        db.close()


def prepared_stack() -> Stack:
    """A stopped stack whose bucket holds the 1 M keys (and the template)."""
    stack = Stack("bench-listing", workers=0, threads=32, log_level="warning")
    stack.start()
    try:
        s3 = s3_client(stack)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="template", Body=b"{}", ContentType="application/json")
    finally:
        stack.stop()
    started = time.monotonic()
    count = fill(stack)
    print(f"  listing: {count:,} objects written in {time.monotonic() - started:.0f} s", flush=True)
    return stack


def timed(url: str, n: int, budget: float) -> list[float]:
    """Milliseconds of up to `n` GETs of `url` on one keep-alive connection (at least 10, then
    until `budget` seconds are spent); every answer must be a full page."""
    parts = urllib.parse.urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    out: list[float] = []
    deadline = time.monotonic() + budget
    try:
        while len(out) < n and (len(out) < 10 or time.monotonic() < deadline):
            t = time.monotonic()
            conn.request("GET", target)
            r = conn.getresponse()
            body = r.read()
            out.append((time.monotonic() - t) * 1000)
            m = re.search(rb"<KeyCount>(\d+)</KeyCount>", body)
            if r.status != 200 or not m or int(m.group(1)) != 1000:
                raise RuntimeError(f"listing answered {r.status}: {body[:300]!r}")
    finally:
        conn.close()
    return out


def agent_walk_done(stack: Stack, since: float) -> None:
    """Waits for the agent's count of the bytes each zone stores (ZoneStoredBytes, on start and
    every 5 minutes): it walks all 1 M objects on a core of its own, which would otherwise
    compete with the requests timed."""
    def counted():
        db = sqlite3.connect(f"file:{stack.state_dir / 'metadata.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("SELECT updated_at FROM agent_state WHERE key = 'metrics/zone-stored-bytes'").fetchone()
        finally:
            db.close()
        return row is not None and row[0] >= int(since)

    t = time.monotonic()
    wait_until(counted, 600, "the agent's stored-bytes walk", detail=stack.log_tail, interval=1,
               ignore=(sqlite3.OperationalError,))
    print(f"  listing: the agent's walk over every object took {time.monotonic() - t:.0f} s after start",
          flush=True)


def one_round(stack: Stack, binary: Path, samples: dict[str, list[float]], n: int) -> None:
    """Starts `stack` on `binary`, adds `n` timed requests per workload to `samples`, stops it."""
    os.environ["S3GW_BIN"] = str(binary)
    started = time.time()
    stack.start()
    try:
        agent_walk_done(stack, started)
        s3 = s3_client(stack)
        for name, params in WORKLOADS.items():
            url = s3.generate_presigned_url(
                "list_objects_v2", Params={"Bucket": BUCKET, "MaxKeys": 1000, **params}, ExpiresIn=3600)
            timed(url, WARMUP, BUDGET)
            samples.setdefault(name, []).extend(timed(url, n, BUDGET))
    finally:
        stack.stop()


def summary(samples: dict[str, list[float]]) -> list[tuple[str, float, float, int]]:
    """(workload, median ms, p99 ms, requests) per workload."""
    out = []
    for name, ms in samples.items():
        ms = sorted(ms)
        out.append((name, ms[len(ms) // 2], ms[min(len(ms) - 1, int(0.99 * len(ms)))], len(ms)))
    return out


def measure(binaries: dict[str, Path]) -> dict[str, list[tuple[str, float, float, int]]]:
    """Every binary on one prepared store, taken in turn within each of ROUNDS rounds."""
    saved = os.environ.get("S3GW_BIN")
    stack = prepared_stack()
    samples: dict[str, dict[str, list[float]]] = {label: {} for label in binaries}
    try:
        for _ in range(ROUNDS):
            for label, binary in binaries.items():
                one_round(stack, binary, samples[label], max(1, REQUESTS // ROUNDS))
    finally:
        stack.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            stack.cleanup()
        if saved is None:
            os.environ.pop("S3GW_BIN", None)
        else:
            os.environ["S3GW_BIN"] = saved
    return {label: summary(s) for label, s in samples.items()}


def figures(binary) -> list[tuple[str, float, float]]:
    """[(workload, median ms, p99 ms)] of `binary`, for the main bench table."""
    return [(w, med, p99) for w, med, p99, _ in measure({"s3gw": Path(binary)})["s3gw"]]


def main() -> int:
    binary = Path(os.environ.get("S3GW_BIN", ROOT / ".build" / "release" / "s3gw")).resolve()
    if not os.access(binary, os.X_OK):
        print(f"listing: {binary} not found; run `swift build -c release`", file=sys.stderr)
        return 1
    binaries = {"s3gw": binary}
    if baseline := os.environ.get("BENCH_LISTING_BASELINE"):
        binaries = {"baseline": Path(baseline).resolve(), **binaries}
    results = measure(binaries)
    print()
    print(f"ListObjectsV2, bucket of 1 M objects, MaxKeys 1000, one keep-alive connection; "
          f"{ROUNDS} rounds, binaries in turn; {os.cpu_count()} cores")
    for label, binary in binaries.items():
        print(f"  {label}: {binary}")
    print(f"{'workload':<38} " + " ".join(f"{label + ' p50/p99 ms (n)':>30}" for label in binaries))
    for i, (workload, *_rest) in enumerate(results["s3gw"]):
        cells = []
        for label in binaries:
            _, med, p99, n = results[label][i]
            cells.append(f"{med:>10.2f} /{p99:>9.2f} ({n:>4})")
        print(f"{workload:<38} " + " ".join(f"{c:>30}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
