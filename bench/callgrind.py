"""Instructions per small request: one `s3gw worker` under valgrind's callgrind.

Instruction counts hardly move on a busy machine, where wrk's req/s do; this is the figure the
small-request work (issue 15) is judged by. It boots a Stack, starts one more worker under
`valgrind --tool=callgrind` on its own FastCGI socket behind a second nginx, warms it up, then
for each of a presigned 4 KiB GET and PUT zeroes the counters (`callgrind_control -z`), replays
N requests on one keep-alive connection and dumps (`callgrind_control -d`). Every thread of the
worker counts (the accept loop, the oplog writer), so the figure is what a request costs the
process.

Prints "instructions per 4 KiB GET/PUT" and the top inclusive functions of each. `measure()` is
what bench.py's table calls. Env: S3GW_BIN (default .build/release/s3gw), BENCH_CALLGRIND_N (300),
BENCH_CALLGRIND_TOP (15). Needs valgrind (scripts/install-test-deps.sh installs it).
"""

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("S3GW_BIN", str(ROOT / ".build" / "release" / "s3gw"))
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))

from conftest import Stack, s3_client, start_nginx, stop_process  # noqa: E402


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def _replay(port: int, host: str, url: str, method: str, n: int, body: bytes | None = None) -> None:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for _ in range(n):
            conn.request(method, u.path + "?" + u.query, body=body, headers={"Host": host})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"callgrind: {method} answered {r.status}")
    finally:
        conn.close()


def _total(dump: Path) -> int:
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"callgrind: no totals in {dump}")


def _top(dump: Path, n: int, top: int) -> list[tuple[int, str]]:
    """The functions with the largest inclusive cost per request, the thread scaffolding and
    the request loop itself left out (they include everything)."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(dump)], capture_output=True, text=True,
                         check=True).stdout
    if shutil.which("swift"):
        out = subprocess.run(["swift", "demangle", "--simplified"], input=out, capture_output=True, text=True,
                             check=True).stdout
    rows: list[tuple[int, str]] = []
    seen = set()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        name = m.group(2)
        name = re.sub(r"^\S*?:", "", name, count=1) if ":" in name.split(" ")[0] else name
        if re.search(r"clone|start_thread|Thread|acceptLoop|FastCGIServer.start|Worker.run|S3Gateway.handle|"
                     r"RequestTrace.run|closure #1 in S3Gateway.handle|^0x", name):
            continue
        name = re.sub(r" \[[^\]]*\]$", "", name)  # the object file
        # A function's inlined parts are listed again under the files they came from.
        if name in seen:
            continue
        seen.add(name)
        rows.append((int(m.group(1).replace(",", "")) // n, name[:110]))
        if len(rows) >= top:
            break
    return rows


def measure(n: int | None = None, top: int | None = None) -> dict:
    """{"GET": instructions per request, "PUT": …, "top": {"GET": [(instructions, function)], …}}."""
    n = n or int(os.environ.get("BENCH_CALLGRIND_N", "300"))
    top = top or int(os.environ.get("BENCH_CALLGRIND_TOP", "15"))
    binary = os.environ["S3GW_BIN"]
    out = Path(tempfile.mkdtemp(prefix="s3gw-callgrind-"))
    stack = Stack("callgrind", workers=1, threads=4, log_level="info")
    vg = nginx = None
    listener = None
    try:
        stack.start()
        s3 = s3_client(stack)
        s3.create_bucket(Bucket="bench")
        body = os.urandom(4096)
        s3.put_object(Bucket="bench", Key="k", Body=body)
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": "k"}, ExpiresIn=3600)
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "bench", "Key": "p"}, ExpiresIn=3600)
        host = f"127.0.0.1:{stack.http_port}"
        sock_path = stack.tmp / "run" / "callgrind.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(sock_path))
        listener.listen(64)
        env = dict(os.environ, S3GW_ACCESS_KEY=stack.access_key, S3GW_SECRET_KEY=stack.secret_key)
        vg = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p", "--dump-instr=no",
             binary, "worker", "--config", str(stack.config)],
            stdin=listener.fileno(), env=env, stdout=open(out / "valgrind.log", "w"), stderr=subprocess.STDOUT)
        nginx, port, _ = start_nginx(stack.tmp / "nginx-callgrind", sock_path, stack.tmp / "tls",
                                     what="nginx (callgrind)")
        deadline = time.monotonic() + 120
        while True:  # valgrind takes a while to start the worker
            try:
                _replay(port, host, get_url, "GET", 20)
                break
            except (OSError, RuntimeError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        _replay(port, host, put_url, "PUT", 20, body)
        result: dict = {"top": {}}
        for label, url, method, data in [("GET", get_url, "GET", None), ("PUT", put_url, "PUT", body)]:
            subprocess.run(["callgrind_control", "-z", str(vg.pid)], check=True, capture_output=True)
            _replay(port, host, url, method, n, data)
            before = set(out.glob("cg.*"))
            subprocess.run(["callgrind_control", "-d", label, str(vg.pid)], check=True, capture_output=True)
            dump = next(iter(set(out.glob("cg.*")) - before))
            result[label] = _total(dump) // n
            result["top"][label] = _top(dump, n, top)
        return result
    finally:
        if vg is not None:
            stop_process(vg, timeout=60)
        stop_process(nginx)
        if listener is not None:
            listener.close()
        stack.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            stack.cleanup()
            shutil.rmtree(out, ignore_errors=True)


def report(result: dict) -> str:
    lines = [f"instructions per 4 KiB GET: {result['GET']:,}", f"instructions per 4 KiB PUT: {result['PUT']:,}"]
    for label in ("GET", "PUT"):
        lines.append(f"top inclusive per {label} (instructions per request):")
        lines += [f"  {cost:>10,}  {name}" for cost, name in result["top"][label]]
    return "\n".join(lines)


def main() -> int:
    if not available():
        print("callgrind: valgrind not installed (scripts/install-test-deps.sh)", file=sys.stderr)
        return 1
    print(report(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
