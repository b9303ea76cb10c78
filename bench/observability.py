"""What the operations log, the metrics and the audit chain cost on the small-request path.

Boots two gateways from the same binary behind their own nginx: one as configured by default
(oplog, metrics and audit chain on) and one with all three off, and measures 4 KiB GET and PUT
(presigned URLs replayed by wrk, as bench/bench.py does) against each, alternating on/off within
every round so drift hits both alike. Reports the medians and the on/off ratio, and the audit
records and oplog lines the "on" gateway wrote (so a run that measured nothing shows it).

Env: S3GW_BIN, BENCH_RUNS (3), BENCH_DURATION (10 s per wrk run), BENCH_CONNECTIONS (32).
"""

import os
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))

from bench import CONNECTIONS, DURATION, RUNS, wrk  # noqa: E402
from conftest import Stack, s3_client  # noqa: E402

OFF = """
[oplog]
enabled = false

[metrics]
enabled = false

[audit]
enabled = false
"""
BUCKET = "obs"
SIZE = 4 * 1024


def urls(stack: Stack, body: bytes) -> tuple[str, str]:
    s3 = s3_client(stack)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="get", Body=body)
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "get"}, ExpiresIn=3600)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "put"}, ExpiresIn=3600)
    return get_url, put_url


def written(stack: Stack) -> str:
    """Audit records and oplog lines the stack wrote (0 for the 'off' stack)."""
    audit = 0
    db = stack.state_dir / "metadata.sqlite"
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
            audit = c.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    except sqlite3.Error:
        pass
    lines = sum(p.read_bytes().count(b"\n") for p in (stack.state_dir / "oplog").glob("oplog.jsonl*")) \
        if (stack.state_dir / "oplog").is_dir() else 0
    return f"{audit} audit records, {lines} oplog lines"


def main() -> int:
    body = os.urandom(SIZE)
    work = Path(tempfile.mkdtemp(prefix="s3gw-bench-obs-"))
    body_file = work / "body"
    body_file.write_bytes(body)
    on = Stack("bench-obs-on", workers=0, threads=32, log_level="info")
    off = Stack("bench-obs-off", workers=0, threads=32, log_level="info", extra=OFF)
    results = []
    try:
        on.start()
        off.start()
        targets = {"on": urls(on, body), "off": urls(off, body)}
        for op, index, body_arg in [("GET", 0, None), ("PUT", 1, body_file)]:
            runs: dict[str, list[float]] = {"on": [], "off": []}
            errors = 0
            for _ in range(RUNS):
                for name in ("on", "off"):
                    rps, bad = wrk(targets[name][index], body_arg)
                    runs[name].append(rps)
                    errors += bad
            a, b = statistics.median(runs["on"]), statistics.median(runs["off"])
            results.append((f"{op} 4 KiB", a, b, a / b, f"non-2xx: {errors}" if errors else ""))
            print(f"  {op} 4 KiB: on {a:,.0f} req/s, off {b:,.0f} req/s", flush=True)
        on_written, off_written = written(on), written(off)
    finally:
        on.stop()
        off.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            on.cleanup()
            off.cleanup()

    print()
    print(f"observability cost — oplog + metrics + audit chain on vs off; medians of {RUNS} runs; "
          f"wrk: {CONNECTIONS} connections, {DURATION}s; {os.cpu_count()} cores")
    print(f"{'workload':<10} {'on':>14} {'off':>14} {'on/off':>7}")
    for name, a, b, ratio, note in results:
        print(f"{name:<10} {a:>10,.0f} r/s {b:>10,.0f} r/s {ratio:>6.2f}x {note}")
    print(f"written by the 'on' gateway: {on_written}; by the 'off' one: {off_written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
