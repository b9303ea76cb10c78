"""What server-side encryption costs: PUT/GET 1 MiB and 1 GiB into a bucket with SSE-S3 default
encryption versus a plain bucket, in the same run.

One gateway behind its own nginx, two buckets: `plain` and `sse` (PutBucketEncryption AES256, so
presigned requests need no SSE headers and wrk can replay them). 1 MiB: wrk replays presigned
PUTs and GETs, the buckets taken in turn within every round so drift hits both alike. 1 GiB:
curl uploads and downloads one object per bucket, alternating. Every object read back is
compared with what was sent before timing starts. Reports medians and the sse/plain ratios
(AES-256-GCM runs at several GB/s per core with AES-NI; MD5, which every PUT computes anyway,
at about 0.6 GB/s — so encryption should cost little).

Env: S3GW_BIN, BENCH_RUNS (3), BENCH_DURATION (10 s per wrk run), BENCH_CONNECTIONS (32),
BENCH_BIG_MIB (1024).
"""

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))

from bench import BIG_MIB, RUNS, curl_rate, human_rate, small_requests  # noqa: E402
from conftest import Stack, s3_client  # noqa: E402

BUCKETS = {"plain": "plain", "sse": "sse"}
MIB = 1024 * 1024


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="s3gw-bench-sse-"))
    stack = Stack("bench-sse", workers=0, threads=32, log_level="info")
    results = []
    try:
        stack.start()
        s3 = s3_client(stack)
        for bucket in BUCKETS.values():
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_encryption(
            Bucket=BUCKETS["sse"],
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})

        body = os.urandom(MIB)
        body_file = work / "mib"
        body_file.write_bytes(body)
        targets = {}
        for name, bucket in BUCKETS.items():
            put = s3.put_object(Bucket=bucket, Key="mib", Body=body)
            if name == "sse" and put.get("ServerSideEncryption") != "AES256":
                raise RuntimeError(f"the sse bucket did not encrypt: {put.get('ServerSideEncryption')}")
            if s3.get_object(Bucket=bucket, Key="mib")["Body"].read() != body:
                raise RuntimeError(f"{bucket}: 1 MiB object read back differs")
            targets[name] = (
                s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "mib"}, ExpiresIn=3600),
                s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "mib-put"}, ExpiresIn=3600))
        for workload, m, note in small_requests(targets, ["PUT", "GET"], body_file, size_label="1 MiB"):
            results.append((workload, f"{m['plain']:,.0f} req/s", f"{m['sse']:,.0f} req/s", m["sse"] / m["plain"],
                            note))

        big = work / "big.bin"
        digest = hashlib.md5()
        with open(big, "wb") as f:
            for _ in range(BIG_MIB):
                chunk = os.urandom(MIB)
                digest.update(chunk)
                f.write(chunk)
        urls = {name: (s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "big"}, ExpiresIn=7200),
                       s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "big"}, ExpiresIn=7200))
                for name, b in BUCKETS.items()}
        for name in BUCKETS:
            curl_rate(["-T", str(big), urls[name][0]], "speed_upload")
            back = work / f"back-{name}"
            subprocess.run(["curl", "-sS", "--fail", "-o", str(back), urls[name][1]], check=True, timeout=1800)
            if hashlib.md5(back.read_bytes()).hexdigest() != digest.hexdigest():
                raise RuntimeError(f"{name}: {BIG_MIB} MiB object read back differs")
            back.unlink()
        for op, index, key in [("PUT", 0, "speed_upload"), ("GET", 1, "speed_download")]:
            runs: dict[str, list[float]] = {name: [] for name in BUCKETS}
            for _ in range(RUNS):
                for name in BUCKETS:
                    args = ["-T", str(big), urls[name][0]] if op == "PUT" else [urls[name][1]]
                    runs[name].append(curl_rate(args, key))
            p, e = statistics.median(runs["plain"]), statistics.median(runs["sse"])
            results.append((f"{op} {BIG_MIB} MiB", human_rate(p), human_rate(e), e / p, ""))
            print(f"  {op} {BIG_MIB} MiB: plain {human_rate(p)}, sse {human_rate(e)}", flush=True)
    finally:
        stack.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
            stack.cleanup()

    print()
    print(f"s3gw encryption benchmark — SSE-S3 (AES-256-GCM) vs plaintext, medians of {RUNS} runs; "
          f"{os.cpu_count()} cores")
    print(f"{'workload':<14} {'plain':<22} {'SSE-S3':<22} {'sse/plain':>9}")
    for name, p, e, ratio, note in results:
        print(f"{name:<14} {p:<22} {e:<22} {ratio:>8.2f}x {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
