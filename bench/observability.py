"""What the operations log, the metrics and the audit chain cost on the small-request path.

Boots three gateways from the same binary behind their own nginx: one as configured by default
(oplog, metrics and audit chain on), one with all three off, and one with only the audit chain
off, and measures 4 KiB GET and PUT (presigned URLs replayed by wrk, as bench/bench.py does)
against each, in turn within every round so drift hits all alike. Reports the medians, the
on/off ratio of all three together and of the audit chain alone, and the audit records and oplog
lines each gateway wrote (so a run that measured nothing shows it).

Env: S3GW_BIN, BENCH_RUNS (3), BENCH_DURATION (10 s per wrk run), BENCH_CONNECTIONS (32).
"""

import os
import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))

from bench import CONNECTIONS, DURATION, RUNS, small_requests, stop_stacks  # noqa: E402
from conftest import Stack, s3_client  # noqa: E402

OFF = """
[oplog]
enabled = false

[metrics]
enabled = false

[audit]
enabled = false
"""
AUDIT_OFF = """
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
    stacks = {
        "on": Stack("bench-obs-on", workers=0, threads=32, log_level="info"),
        "off": Stack("bench-obs-off", workers=0, threads=32, log_level="info", extra=OFF),
        "audit-off": Stack("bench-obs-audit-off", workers=0, threads=32, log_level="info", extra=AUDIT_OFF),
    }
    results = []
    try:
        for s in stacks.values():
            s.start()
        targets = {name: urls(s, body) for name, s in stacks.items()}
        results = small_requests(targets, ["GET", "PUT"], body_file)
        wrote = {name: written(s) for name, s in stacks.items()}
    finally:
        stop_stacks(stacks.values())

    print()
    print(f"observability cost — oplog + metrics + audit chain; medians of {RUNS} runs; "
          f"wrk: {CONNECTIONS} connections, {DURATION}s; {os.cpu_count()} cores")
    print(f"{'workload':<10} {'all on':>12} {'all off':>12} {'audit off':>12} {'on/off':>7} {'audit on/off':>13}")
    for name, m, note in results:
        print(f"{name:<10} {m['on']:>8,.0f} r/s {m['off']:>8,.0f} r/s {m['audit-off']:>8,.0f} r/s "
              f"{m['on'] / m['off']:>6.2f}x {m['on'] / m['audit-off']:>12.2f}x {note}")
    for name, w in wrote.items():
        print(f"written by the '{name}' gateway: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
