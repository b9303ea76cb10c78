"""Small-request throughput with the metadata in PostgreSQL against SQLite, in the same run.

Boots two gateways from the same binary, each behind its own nginx (the e2e harness's Stack):
one with the embedded SQLite store in its state directory, one with `[metadata] kind =
"postgres"` on a fresh database of a throw-away cluster (scripts/pg-cluster.sh, via the
harness: a temp directory, a free 127.0.0.1 port, fsync off, stopped by PID when the script
exits, failures included). wrk replays one presigned URL per workload, as bench/bench.py does:
  * PUT 4 KiB   — overwrites of one key (wrk/put.lua sends the body)
  * GET 4 KiB   — one object
  * HEAD        — the same object; from BENCH_CONNECTIONS Python threads on keep-alive connections,
                  as wrk 4.1 waits for the body a HEAD answer announces and never completes one
  * LIST 1000   — ListObjectsV2 of a bucket holding 1000 keys (one full page)
  * DELETE      — of one key, absent after the first request: the lookup and the 204, what an
                  idempotent retry costs; deleting a fresh key each time would need a presigned
                  URL per request
The two gateways are taken in turn within every round so drift hits both alike. Reports the
median req/s of BENCH_RUNS runs per store, the PG/SQLite ratio, and wrk's p50/p99 latency of
the median run.

Env: S3GW_BIN (default .build/release/s3gw), BENCH_RUNS (3), BENCH_DURATION (10 s per wrk run),
BENCH_CONNECTIONS (32).
"""

import http.client
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))

from bench import CONNECTIONS, DURATION, RUNS, parse_wrk, stop_stacks, wrk_output  # noqa: E402
from conftest import Stack, s3_client  # noqa: E402

SIZE = 4 * 1024
BUCKET = "meta"
LIST_BUCKET = "meta-list"
LIST_KEYS = 1000
STORES = {"SQLite": False, "PostgreSQL": True}


def latency_ms(out: str, percentile: str) -> float:
    """A percentile of wrk's --latency distribution, in milliseconds."""
    m = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def python_load(url: str, method: str) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, non-2xx) of CONNECTIONS threads sending `method` to `url` over
    keep-alive connections for DURATION seconds: for what wrk cannot send."""
    parts = urllib.parse.urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    deadline = time.monotonic() + DURATION
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine, errors = [], 0
        while (t := time.monotonic()) < deadline:
            conn.request(method, target)
            r = conn.getresponse()
            r.read()
            mine.append(time.monotonic() - t)
            errors += not 200 <= r.status < 300
        conn.close()
        with lock:
            latencies.extend(mine)
            bad[0] += errors

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return len(latencies) / elapsed, pct(0.50), pct(0.99), bad[0]


def measure(url: str, script: Path | None, env: dict[str, str]) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, non-2xx) of one run."""
    if env.get("BENCH_METHOD") == "HEAD":
        return python_load(url, "HEAD")
    out = wrk_output(url, script, env)
    rps, _, bad = parse_wrk(out)
    return rps, latency_ms(out, "50"), latency_ms(out, "99"), bad


def workloads(stack: Stack, body_file: Path) -> dict[str, tuple[str, Path | None, dict[str, str]]]:
    """Workload → (presigned URL, wrk script, script env), the objects they need written first."""
    s3 = s3_client(stack)
    body = body_file.read_bytes()
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="get", Body=body)
    s3.create_bucket(Bucket=LIST_BUCKET)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=LIST_BUCKET, Key=f"k{i:05d}", Body=b"x"), range(LIST_KEYS)))

    def url(method: str, **params) -> str:
        return s3.generate_presigned_url(method, Params=params, ExpiresIn=3600)

    def method(name: str) -> tuple[Path, dict[str, str]]:
        return HERE / "method.lua", {"BENCH_METHOD": name}

    return {
        "PUT 4 KiB": (url("put_object", Bucket=BUCKET, Key="put"), HERE / "put.lua",
                      {"BENCH_BODY_FILE": str(body_file)}),
        "GET 4 KiB": (url("get_object", Bucket=BUCKET, Key="get"), None, {}),
        "HEAD": (url("head_object", Bucket=BUCKET, Key="get"), *method("HEAD")),
        f"LIST {LIST_KEYS}": (url("list_objects_v2", Bucket=LIST_BUCKET), None, {}),
        "DELETE": (url("delete_object", Bucket=BUCKET, Key="delete"), *method("DELETE")),
    }


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="s3gw-bench-meta-"))
    body_file = work / "body"
    body_file.write_bytes(os.urandom(SIZE))
    stacks = {name: Stack(f"bench-meta-{name.lower()}", workers=0, threads=32, log_level="info", postgres=pg)
              for name, pg in STORES.items()}
    rows = []
    try:
        for s in stacks.values():
            s.start()
        targets = {name: workloads(s, body_file) for name, s in stacks.items()}
        for workload in targets["SQLite"]:
            runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in stacks}
            errors = 0
            for _ in range(RUNS):
                for name in stacks:
                    rps, p50, p99, bad = measure(*targets[name][workload])
                    runs[name].append((rps, p50, p99))
                    errors += bad
            # The median run by req/s, and its latencies.
            median = {name: sorted(r)[len(r) // 2] for name, r in runs.items()}
            rows.append((workload, median, f"non-2xx: {errors}" if errors else ""))
            print(f"  {workload}: " + ", ".join(f"{n} {m[0]:,.0f} req/s" for n, m in median.items()), flush=True)
        # The PostgreSQL gateway must have kept its metadata out of its state directory.
        stray = list(stacks["PostgreSQL"].state_dir.glob("metadata.sqlite*"))
    finally:
        stop_stacks(stacks.values())

    print()
    print(f"metadata store — PostgreSQL vs SQLite; medians of {RUNS} runs; wrk: {CONNECTIONS} connections, "
          f"{DURATION}s; {os.cpu_count()} cores; latency p50/p99 of the median run")
    print(f"{'workload':<10} {'SQLite':>12} {'PostgreSQL':>12} {'PG/SQLite':>9}   "
          f"{'SQLite p50/p99':>18} {'PG p50/p99':>18}")
    for workload, m, note in rows:
        sq, pg = m["SQLite"], m["PostgreSQL"]
        print(f"{workload:<10} {sq[0]:>8,.0f} r/s {pg[0]:>8,.0f} r/s {pg[0] / sq[0]:>8.2f}x   "
              f"{sq[1]:>7.2f}/{sq[2]:>7.2f} ms {pg[1]:>7.2f}/{pg[2]:>7.2f} ms {note}")
    if stray:
        print(f"WARNING: the PostgreSQL gateway wrote {', '.join(p.name for p in stray)} to its state directory")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
