"""s3gw throughput benchmark: nginx -> FastCGI -> s3gw against nginx alone on the same bytes.

Boots the release binary behind the dev nginx config (the e2e harness's Stack), plus a second,
plain nginx that serves the same files statically (GET) and accepts WebDAV PUT (the baseline).
  * 4 KiB and 1 MiB GET and PUT: wrk, concurrent connections, one presigned SigV4 URL (valid 1 h)
    per object so wrk can replay it; PUTs overwrite one key (wrk/put.lua sends the body).
  * 1 GiB PUT and GET: curl, one stream; and a 100 MiB range of it (Range: bytes=…).
  * The reference for 4 KiB GETs: bench/fcgi_ceiling.c, libfcgi answering fixed bytes with no
    work behind it, behind the same nginx configuration (BENCH_CEILING=0 skips).
  * ListObjectsV2 pages in a bucket of 1 M objects (bench/listing.py's figures; BENCH_LISTING=0).
  * The workers' RSS growth across the 1 GiB transfers and a BENCH_MULTIPART_GIB multipart
    upload and download, and instructions per 4 KiB GET and PUT under callgrind
    (bench/callgrind.py; BENCH_CALLGRIND=0).
Each figure is the median of BENCH_RUNS runs (the 1 GiB rows: BENCH_BIG_RUNS, the range three
times as many; each transfer starts with nothing dirty in the page cache, and the GETs follow one
untimed read of each file); the ratio is s3gw / nginx. It ends with one table of every figure
beside its target (issue 15's), marked met or MISSED.

Env: S3GW_BIN (default .build/release/s3gw), BENCH_RUNS (3), BENCH_BIG_RUNS (5), BENCH_DURATION (10 s per wrk run),
BENCH_CONNECTIONS (32), BENCH_BIG_MIB (1024), BENCH_RANGE_MIB (100).
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("S3GW_BIN", str(ROOT / ".build" / "release" / "s3gw"))
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))

from conftest import Stack, s3_client, spawn_server, start_nginx, start_on_free_ports, stop_process  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# Runs of the one-stream 1 GiB rows, which swing more than the wrk rows.
BIG_RUNS = int(os.environ.get("BENCH_BIG_RUNS", "5"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
BIG_MIB = int(os.environ.get("BENCH_BIG_MIB", "1024"))
# The range of the big object read by "GET 100 MiB range" (from its middle), in MiB.
RANGE_MIB = int(os.environ.get("BENCH_RANGE_MIB", "100"))
# A multipart upload and download of this many GiB with boto3 (8 MiB parts, 4 threads), for the
# worker-memory figure; 0 skips it.
MULTIPART_GIB = int(os.environ.get("BENCH_MULTIPART_GIB", "5"))
BUCKET = "bench"
# Issue 15's targets: the s3gw/nginx ratio each workload should reach (GETs against nginx static,
# PUTs against nginx WebDAV), the listing median and the worker RSS growth.
TARGETS = {"GET 4 KiB": 0.30, "GET 1 MiB": 0.9, "PUT 4 KiB": 0.6, "PUT 1 MiB": 0.7, f"GET {BIG_MIB} MiB": 0.95,
           f"GET {min(RANGE_MIB, BIG_MIB)} MiB range": 0.95, f"PUT {BIG_MIB} MiB": 0.45}
LISTING_TARGET_MS = 20.0
RSS_TARGET_MIB = 8.0

BASELINE_CONF = """
{user_line}
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {data}/.tmp;
    fastcgi_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        client_body_buffer_size 128k;
        root {data};
        location / {{
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
"""


def human_rate(bytes_per_s: float) -> str:
    return f"{bytes_per_s / 1e6:,.1f} MB/s"


def parse_wrk(out: str) -> tuple[float, float, int]:
    """(requests/s, bytes/s, non-2xx count) from wrk's summary."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    mult = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, float(m.group(1)) * mult, int(bad.group(1)) if bad else 0


def wrk_output(url: str, script: Path | None = None, env: dict[str, str] | None = None) -> str:
    """wrk's summary (with --latency) of DURATION seconds replaying `url`, `script` setting the request."""
    cmd = ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{DURATION}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    r = subprocess.run(cmd + [url], capture_output=True, text=True, env={**os.environ, **(env or {})},
                       timeout=DURATION + 60)
    if r.returncode != 0:
        raise RuntimeError(f"wrk failed: {r.stderr}\n{r.stdout}")
    return r.stdout


def wrk(url: str, body_file: Path | None = None) -> tuple[float, int]:
    if body_file is None:
        out = wrk_output(url)
    else:
        out = wrk_output(url, HERE / "put.lua", {"BENCH_BODY_FILE": str(body_file)})
    rps, _, bad = parse_wrk(out)
    return rps, bad


def small_requests(targets: dict[str, tuple[str, str]], ops: list[str], body_file: Path, size_label: str = "4 KiB"
                   ) -> list[tuple[str, dict[str, float], str]]:
    """Medians of RUNS wrk runs per target and operation ("GET", "PUT"), the targets taken in turn
    within every round so drift hits all alike. `targets`: name → (GET URL, PUT URL). Returns
    (workload, median req/s by name, note of non-2xx answers) per operation, and prints each."""
    results = []
    for op in ops:
        index, body_arg = (0, None) if op == "GET" else (1, body_file)
        runs: dict[str, list[float]] = {name: [] for name in targets}
        errors = 0
        for _ in range(RUNS):
            for name, urls in targets.items():
                rps, bad = wrk(urls[index], body_arg)
                runs[name].append(rps)
                errors += bad
        m = {name: statistics.median(r) for name, r in runs.items()}
        results.append((f"{op} {size_label}", m, f"non-2xx: {errors}" if errors else ""))
        print(f"  {op} {size_label}: " + ", ".join(f"{n} {v:,.0f} req/s" for n, v in m.items()), flush=True)
    return results


def stop_stacks(stacks) -> None:
    """Stops each Stack by PID and deletes its directory, unless BENCH_KEEP=1 keeps it to inspect."""
    for s in stacks:
        s.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            s.cleanup()


def synced(f, *args):
    """f(*args) once everything written before is on disk."""
    os.sync()
    return f(*args)


def curl_rate(args: list[str], key: str) -> float:
    r = subprocess.run(["curl", "-sS", "--fail", "-w", f"%{{{key}}}", "-o", "/dev/null"] + args,
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"curl failed: {r.stderr}")
    return float(r.stdout)


class RssSampler(threading.Thread):
    """Samples VmRSS of the gateway's workers while a transfer runs; VmHWM is read at the end."""

    def __init__(self, stack: Stack):
        super().__init__(daemon=True)
        self.stack, self.peak_rss, self.done = stack, 0, threading.Event()
        # Each worker's RSS before the big transfers (after the small-request runs warmed it up)
        # and its peak during them: the growth is what must stay flat.
        self.baseline = {pid: self.status_kib(pid, "VmRSS") for pid in stack.worker_pids()}
        self.peak_by_pid: dict[int, int] = {}

    @staticmethod
    def status_kib(pid: int, field: str) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def run(self):
        while not self.done.is_set():
            for pid in self.stack.worker_pids():
                rss = self.status_kib(pid, "VmRSS")
                self.peak_rss = max(self.peak_rss, rss)
                self.peak_by_pid[pid] = max(self.peak_by_pid.get(pid, 0), rss)
            time.sleep(0.05)  # the sampling interval

    def growth(self) -> int:
        return max((peak - self.baseline.get(pid, peak) for pid, peak in self.peak_by_pid.items()), default=0)

    def hwm(self) -> int:
        return max((self.status_kib(p, "VmHWM") for p in self.stack.worker_pids()), default=0)


def multipart_memory(stack, s3, work: Path) -> str:
    """Uploads and downloads MULTIPART_GIB GiB through multipart with boto3 while sampling the
    workers' RSS; returns the report line (time, rates, peak and growth)."""
    from boto3.s3.transfer import TransferConfig

    path = work / "multipart.bin"
    block = os.urandom(4 * 1024 * 1024)
    with open(path, "wb") as f:
        for _ in range(MULTIPART_GIB * 256):
            f.write(block)
    size = path.stat().st_size
    cfg = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=4)
    sampler = RssSampler(stack)
    sampler.start()
    t0 = time.monotonic()
    s3.upload_file(str(path), BUCKET, "multipart", Config=cfg)
    t1 = time.monotonic()
    back = work / "multipart.back"
    s3.download_file(BUCKET, "multipart", str(back), Config=cfg)
    t2 = time.monotonic()
    sampler.done.set()
    sampler.join()
    same = subprocess.run(["cmp", "-s", str(path), str(back)]).returncode == 0
    path.unlink()
    back.unlink()
    s3.delete_object(Bucket=BUCKET, Key="multipart")
    return (f"{MULTIPART_GIB} GiB multipart (boto3, 8 MiB parts x4): upload {human_rate(size / (t1 - t0))}, "
            f"download {human_rate(size / (t2 - t1))}, bytes {'identical' if same else 'DIFFER'}; worker peak RSS "
            f"{sampler.peak_rss / 1024:.1f} MiB, growth over the pre-transfer RSS {sampler.growth() / 1024:.1f} MiB",
            sampler.growth() / 1024)


def fcgi_ceiling(stack, work: Path) -> float | None:
    """req/s of bench/fcgi_ceiling.c (libfcgi answering 4096 fixed bytes, no work behind it) on
    as many processes as the gateway has workers, behind the gateway's own nginx configuration:
    the reference the 4 KiB GET target is named after. None when no C compiler is found."""
    cc = next((c for c in ("cc", "gcc", "clang", "/opt/swift/usr/bin/clang") if shutil.which(c)), None)
    if cc is None:
        print("  C libfcgi responder: no C compiler found, row skipped", flush=True)
        return None
    binary = work / "fcgi_ceiling"
    subprocess.run([cc, "-O2", "-o", str(binary), str(HERE / "fcgi_ceiling.c"), "-lfcgi", "-lpthread"], check=True)
    sock_path = work / "fcgi_ceiling.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock_path))
    listener.listen(128)
    procs = [subprocess.Popen([str(binary), "32"], stdin=listener.fileno())
             for _ in range(max(1, len(stack.worker_pids())))]
    listener.close()
    front = None
    try:
        front, port, _ = start_nginx(work / "ceiling-nginx", sock_path, stack.tmp / "tls", what="ceiling nginx")
        url = f"http://127.0.0.1:{port}/ceiling/obj"
        return statistics.median(wrk(url)[0] for _ in range(RUNS))
    finally:
        stop_process(front)
        for p in procs:
            stop_process(p)


def start_baseline(prefix: Path, data: Path):
    """The plain nginx serving `data` (GET) and taking WebDAV PUTs under it; (process, port)."""

    def start(port: int):
        (prefix / "nginx.conf").write_text(BASELINE_CONF.format(
            user_line="user root;" if os.geteuid() == 0 else "", prefix=prefix, data=data, port=port))
        proc = spawn_server(["nginx", "-p", prefix, "-c", prefix / "nginx.conf", "-e", prefix / "error.log",
                             "-g", "daemon off;"], prefix / "nginx.out", [port], "baseline nginx",
                            extra_logs=[prefix / "error.log"])
        return proc, port

    return start_on_free_ports(start, 1, "baseline nginx")


def workspace(name: str) -> tuple[Path, Path, Path] | None:
    """(work directory, the baseline's data, the baseline's prefix), fresh; None (said on stderr)
    when S3GW_BIN is no binary."""
    binary = Path(os.environ["S3GW_BIN"])
    if not os.access(binary, os.X_OK):
        print(f"{name}: {binary} not found; run `swift build -c release`", file=sys.stderr)
        return None
    work = Path(tempfile.mkdtemp(prefix=f"s3gw-{name}-"))
    data = work / "static"
    (data / ".tmp").mkdir(parents=True)
    (data / "dav").mkdir()
    prefix = work / "baseline"
    (prefix / "tmp").mkdir(parents=True)
    return work, data, prefix


def main() -> int:
    if (dirs := workspace("bench")) is None:
        return 1
    work, data, prefix = dirs

    baseline = None
    stack = Stack("bench", workers=0, threads=32, log_level="info")
    results = []
    try:
        baseline, port = start_baseline(prefix, data)
        stack.start()
        s3 = s3_client(stack)
        s3.create_bucket(Bucket=BUCKET)
        base = f"http://127.0.0.1:{port}"

        sizes = [("4 KiB", 4 * 1024), ("1 MiB", 1024 * 1024)]
        for label, size in sizes:
            body = os.urandom(size)
            name = f"obj-{size}"
            (data / name).write_bytes(body)
            (work / name).write_bytes(body)
            s3.put_object(Bucket=BUCKET, Key=name, Body=body)
            get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": name}, ExpiresIn=3600)
            put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": f"put-{size}"},
                                                ExpiresIn=3600)
            for op, gw_url, ng_url, body_file in [
                ("GET", get_url, f"{base}/{name}", None),
                ("PUT", put_url, f"{base}/dav/{name}", work / name),
            ]:
                gw_runs, ng_runs, errors = [], [], 0
                for _ in range(RUNS):
                    rps, bad = wrk(gw_url, body_file)
                    gw_runs.append(rps)
                    errors += bad
                    rps, bad = wrk(ng_url, body_file)
                    ng_runs.append(rps)
                    errors += bad
                g, n = statistics.median(gw_runs), statistics.median(ng_runs)
                results.append((f"{op} {label}", f"{g:,.0f} req/s ({human_rate(g * size)})",
                                 f"{n:,.0f} req/s ({human_rate(n * size)})", g / n,
                                 f"non-2xx: {errors}" if errors else ""))
                print(f"  {results[-1][0]}: s3gw {results[-1][1]}, nginx {results[-1][2]}", flush=True)
                if op == "GET" and size == 4096 and os.environ.get("BENCH_CEILING", "1") != "0":
                    c = fcgi_ceiling(stack, work)
                    if c is not None:
                        results.append(("GET 4 KiB, C libfcgi responder", f"{c:,.0f} req/s ({human_rate(c * size)})",
                                        f"{n:,.0f} req/s ({human_rate(n * size)})", c / n, "(reference)"))
                        print(f"  {results[-1][0]}: {results[-1][1]}", flush=True)

        big = work / "big.bin"
        with open(big, "wb") as f:
            chunk = os.urandom(1024 * 1024)
            for _ in range(BIG_MIB):
                f.write(chunk)
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "big"}, ExpiresIn=3600)
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "big"}, ExpiresIn=3600)
        shutil.copyfile(big, data / "big.bin")
        sampler = RssSampler(stack)
        sampler.start()
        # A range from the middle of the big object, the same bytes asked of both.
        span = min(RANGE_MIB, BIG_MIB) * 1024 * 1024
        start = (BIG_MIB * 1024 * 1024 - span) // 2
        ranged = ["-r", f"{start}-{start + span - 1}"]
        # A range transfer lasts tens of milliseconds, so single runs swing by 2x: three times
        # the runs.
        for label, gw_args, ng_args, key, count in [
            (f"PUT {BIG_MIB} MiB", ["-T", str(big), put_url], ["-T", str(big), f"{base}/dav/big.bin"], "speed_upload",
             BIG_RUNS),
            (f"GET {BIG_MIB} MiB", [get_url], [f"{base}/big.bin"], "speed_download", BIG_RUNS),
            (f"GET {span >> 20} MiB range", ranged + [get_url], ranged + [f"{base}/big.bin"], "speed_download",
             3 * BIG_RUNS),
        ]:
            if key == "speed_download":
                # Both files in the page cache: the gateway wrote its copy with direct I/O (not
                # cached), nginx's was just copied. The rows compare serving the same cached bytes.
                curl_rate(gw_args, key)
                curl_rate(ng_args, key)
            # Taken in turn, as the wrk rows: drift hits both alike. Each transfer starts with
            # nothing dirty: nginx's WebDAV PUT leaves its GiB to write-back, which would
            # otherwise land on the gateway's next PUT.
            runs = [(synced(curl_rate, gw_args, key), synced(curl_rate, ng_args, key)) for _ in range(count)]
            g, n = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            results.append((label, human_rate(g), human_rate(n), g / n, ""))
            print(f"  {results[-1][0]}: s3gw {results[-1][1]}, nginx {results[-1][2]}", flush=True)
        sampler.done.set()
        sampler.join()
        rss_line = (f"worker peak RSS during the {BIG_MIB} MiB transfers: {sampler.peak_rss / 1024:.1f} MiB sampled, "
                    f"VmHWM {sampler.hwm() / 1024:.1f} MiB (max over {len(stack.worker_pids())} workers); "
                    f"growth over the pre-transfer RSS: {sampler.growth() / 1024:.1f} MiB")
        big.unlink()
        (data / "big.bin").unlink()
        growth = {f"{BIG_MIB} MiB PUT and GET": sampler.growth() / 1024}
        if MULTIPART_GIB > 0:
            line, growth[f"{MULTIPART_GIB} GiB multipart"] = multipart_memory(stack, s3, work)
            rss_line += "\n" + line
    finally:
        stack.stop()
        stop_process(baseline)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
            stack.cleanup()

    # ListObjectsV2 in a bucket of 1 M objects (bench/listing.py): BENCH_LISTING=0 skips.
    listing = []
    if os.environ.get("BENCH_LISTING", "1") != "0":
        import listing as listing_bench
        listing = listing_bench.figures(os.environ["S3GW_BIN"])
    # Instructions per 4 KiB request under callgrind (bench/callgrind.py): BENCH_CALLGRIND=0 skips.
    instructions = None
    if os.environ.get("BENCH_CALLGRIND", "1") != "0":
        import callgrind
        if callgrind.available():
            instructions = callgrind.measure()
        else:
            print("instructions per request: valgrind not installed (scripts/install-test-deps.sh)")

    print()
    print(f"s3gw benchmark — medians of {RUNS} runs ({BIG_RUNS} for the {BIG_MIB} MiB rows, "
          f"{3 * BIG_RUNS} for the range); "
          f"wrk: {CONNECTIONS} connections, {DURATION}s; {os.cpu_count()} cores")
    print(f"{'workload':<34} {'nginx -> s3gw':<28} {'nginx alone':<28} {'ratio':>6}  {'target':<10}")
    for name, g, n, ratio, note in results:
        target = TARGETS.get(name.split(" (")[0])
        mark = "" if target is None else f">= {target:.2f}x {'met' if ratio >= target else 'MISSED'}"
        print(f"{name:<34} {g:<28} {n:<28} {ratio:>5.2f}x  {mark} {note}".rstrip())
    for workload, med, p99 in listing:
        mark = f"< {LISTING_TARGET_MS:.0f} ms {'met' if med < LISTING_TARGET_MS else 'MISSED'}"
        print(f"{'LIST ' + workload:<34} {f'{med:.1f} ms median, p99 {p99:.1f}':<28} {'-':<28} {'':>6}  {mark}")
    for what, mib in growth.items():
        mark = f"< {RSS_TARGET_MIB:.0f} MiB {'met' if mib < RSS_TARGET_MIB else 'MISSED'}"
        print(f"{'RSS growth, ' + what:<34} {f'{mib:.1f} MiB':<28} {'-':<28} {'':>6}  {mark}")
    if instructions is not None:
        for op in ("GET", "PUT"):
            print(f"{'instructions per 4 KiB ' + op:<34} {instructions[op]:<28,} {'-':<28}")
    print()
    print(rss_line)
    if instructions is not None:
        print(callgrind.report(instructions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
