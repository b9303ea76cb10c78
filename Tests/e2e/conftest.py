"""End-to-end harness: boots the real s3gw binary behind real nginx on 127.0.0.1 and hands the
tests a `gw` object. Every process is started here and stopped here by PID.

Environment:
  S3GW_BIN            the binary under test (default: .build/debug/s3gw)
  S3GW_E2E_KEEP=1     keep the temp directory (logs, zone, state) after the session
  S3GW_E2E_TIMEOUT    seconds to wait for the stack to answer (default 60)
  S3GW_NGINX_TEMPLATE an nginx template to use instead of nginx/s3gw-dev.conf.in
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(HERE))

TEST_ACCESS_KEY = "AKIDTESTTESTTEST"
REGION = "us-east-1"


def s3gw_bin() -> Path:
    return Path(os.environ.get("S3GW_BIN", ROOT / ".build" / "debug" / "s3gw")).resolve()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def proc_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def children_of(ppid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == ppid and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def stop_process(proc: subprocess.Popen | None, timeout: float = 15.0) -> int | None:
    """SIGTERM, wait, SIGKILL. Returns the exit status (None if it was not running)."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(timeout=10)
    return proc.returncode


def tail(path: Path, lines: int = 60) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(data[-lines:])


def run_script(*args: str) -> str:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout.strip()


def write_config(path: Path, tmp: Path, workers: int = 2, threads: int = 32, log_level: str = "debug",
                 extra: str = "", storage_extra: str = "", default_zone: str = "local-1") -> None:
    path.write_text(
        f"""# written by Tests/e2e/conftest.py
[server]
socket = "{tmp}/run/s3gw.sock"
socket_mode = "0660"
workers = {workers}
threads = {threads}
state_dir = "{tmp}/state"
log_level = "{log_level}"
max_clock_skew = 900
base_domains = ["s3.e2e.test"]

[storage]
default_zone = "{default_zone}"
{storage_extra}

[[zones]]
name = "local-1"
country = "se"
region = "se-sto"
kind = "filesystem"
path = "{tmp}/zones/local-1"
{extra}"""
    )


class Stack:
    """One gateway + one nginx in a private temp directory."""

    def __init__(self, name: str = "gw", workers: int = 2, env_credentials: bool = True, threads: int = 32,
                 log_level: str = "debug", storage_extra: str = "", extra: str = "",
                 default_zone: str = "local-1"):
        self.storage_extra = storage_extra
        self.default_zone = default_zone
        self.extra = extra
        self.tmp = Path(tempfile.mkdtemp(prefix=f"s3gw-{name}-"))
        self.workers_configured = workers
        self.threads, self.log_level = threads, log_level
        self.env_credentials = env_credentials
        self.access_key = TEST_ACCESS_KEY if env_credentials else None
        self.secret_key = secrets.token_urlsafe(30) if env_credentials else None
        self.http_port, self.https_port = free_port(), free_port()
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        self.https_url = f"https://127.0.0.1:{self.https_port}"
        self.state_dir = self.tmp / "state"
        self.zone_dir = self.tmp / "zones" / "local-1"
        self.config = self.tmp / "s3gw.toml"
        self.socket = self.tmp / "run" / "s3gw.sock"
        self.gateway_log = self.tmp / "s3gw.log"
        self.nginx_prefix = self.tmp / "nginx"
        self.ca_file = str(self.tmp / "tls" / "cert.pem")
        self.gateway: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None
        self._seen_children: set[int] = set()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float | None = None) -> "Stack":
        timeout = timeout or float(os.environ.get("S3GW_E2E_TIMEOUT", "60"))
        binary = s3gw_bin()
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"gateway binary {binary} not found; run `swift build` or set S3GW_BIN")
        for d in (self.state_dir, self.zone_dir, self.socket.parent):
            d.mkdir(parents=True, exist_ok=True)
        write_config(self.config, self.tmp, workers=self.workers_configured, threads=self.threads,
                     log_level=self.log_level, storage_extra=self.storage_extra, extra=self.extra,
                     default_zone=self.default_zone)
        run_script(SCRIPTS / "dev-cert.sh", self.tmp / "tls")
        conf = run_script(
            SCRIPTS / "render-nginx.sh",
            "--prefix", self.nginx_prefix,
            "--http-port", self.http_port,
            "--https-port", self.https_port,
            "--socket", self.socket,
            "--cert", self.tmp / "tls" / "cert.pem",
            "--key", self.tmp / "tls" / "key.pem",
            "--web-root", ROOT / "web",
            *(["--template", os.environ["S3GW_NGINX_TEMPLATE"]] if os.environ.get("S3GW_NGINX_TEMPLATE") else []),
        )
        env = dict(os.environ)
        env.pop("S3GW_ACCESS_KEY", None)
        env.pop("S3GW_SECRET_KEY", None)
        if self.env_credentials:
            env["S3GW_ACCESS_KEY"] = self.access_key
            env["S3GW_SECRET_KEY"] = self.secret_key
        with open(self.gateway_log, "ab") as log:
            self.gateway = subprocess.Popen(
                [str(binary), "serve", "--config", str(self.config), "--pid-file", str(self.tmp / "s3gw.pid")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        with open(self.nginx_prefix / "nginx.out", "ab") as log:
            self.nginx = subprocess.Popen(
                ["nginx", "-p", str(self.nginx_prefix), "-c", conf, "-e", str(self.nginx_prefix / "error.log"),
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            self.wait_ready(timeout)
            if not self.env_credentials:
                self.load_generated_credentials()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.gateway.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.gateway.returncode}\n{self.log_tail()}")
            if self.nginx.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.nginx.returncode}\n{self.log_tail()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
                c.request("GET", "/")
                status = c.getresponse().status
                c.close()
                last = f"HTTP {status}"
                if status not in (502, 503, 504):
                    self._seen_children.update(self.all_children())
                    return
            except OSError as e:
                last = repr(e)
            time.sleep(0.2)
        raise RuntimeError(f"stack not ready after {timeout}s (last: {last})\n{self.log_tail()}")

    def load_generated_credentials(self, timeout: float = 10) -> None:
        path = self.state_dir / "root-credentials"
        deadline = time.monotonic() + timeout
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        values = parse_credentials_file(path)
        self.access_key = values["S3GW_ACCESS_KEY"]
        self.secret_key = values["S3GW_SECRET_KEY"]

    def stop(self) -> dict:
        """Stops nginx, then the gateway (which should drain and stop its workers), then kills any
        child the gateway left behind. Returns the exit statuses."""
        kids = set(self._seen_children)
        if self.gateway is not None and self.gateway.poll() is None:
            kids.update(self.all_children())
        status = {"nginx": stop_process(self.nginx, 10), "gateway": stop_process(self.gateway, 30)}
        binary = str(s3gw_bin())
        leftovers = []
        for pid in kids:
            if pid_alive(pid) and binary in " ".join(proc_cmdline(pid)):
                leftovers.append(pid)
                os.kill(pid, signal.SIGKILL)
        status["leftover_children"] = leftovers
        return status

    def cleanup(self) -> None:
        if os.environ.get("S3GW_E2E_KEEP") == "1":
            print(f"\ns3gw e2e: kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- inspection --------------------------------------------------------------------------
    @property
    def gateway_pid(self) -> int:
        return self.gateway.pid

    def all_children(self) -> list[int]:
        return children_of(self.gateway.pid) if self.gateway else []

    def worker_pids(self) -> list[int]:
        """The supervisor's worker processes (children whose argv names the `worker` role; if no
        child says, every child but the agent)."""
        kids = self.all_children()
        self._seen_children.update(kids)
        argv = {pid: proc_cmdline(pid) for pid in kids}
        workers = [pid for pid in kids if "worker" in argv[pid][1:3]]
        if workers:
            return workers
        return [pid for pid in kids if "agent" not in argv[pid][1:3]]

    def log_tail(self, lines: int = 60) -> str:
        return (
            f"--- gateway log ({self.gateway_log}) ---\n{tail(self.gateway_log, lines)}\n"
            f"--- nginx error log ---\n{tail(self.nginx_prefix / 'error.log', lines // 2)}"
        )

    def url(self, scheme: str) -> str:
        return self.https_url if scheme == "https" else self.http_url

    def verify(self, scheme: str):
        return self.ca_file if scheme == "https" else None


def parse_credentials_file(path: Path) -> dict:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        k, _, v = line.partition("=")
        values[k.strip()] = v.strip().strip("'\"")
    return values


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def gw():
    """The gateway every client suite talks to. With S3GW_E2E_ZONE=remote its default zone is a
    moto_server provider instead of the filesystem, so the same suites run on a remote zone."""
    moto = None
    extra = ""
    if os.environ.get("S3GW_E2E_ZONE") == "remote":
        moto_port = free_port()
        moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_http(f"http://127.0.0.1:{moto_port}/", 30)
        extra = f"""
[[zones]]
name = "remote-1"
country = "fi"
region = "fi-hel"
kind = "s3"
endpoint = "http://127.0.0.1:{moto_port}"
access_key = "moto"
secret_key = "moto-secret"
"""
    stack = Stack("gw", extra=extra, default_zone="remote-1" if moto else "local-1").start()
    yield stack
    stack.stop()
    stack.cleanup()
    stop_process(moto)


def wait_for_http(url: str, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception as e:  # any HTTP answer means the server is up
            if hasattr(e, "code"):
                return
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@pytest.fixture(params=["http", "https"])
def scheme(request):
    return request.param


def new_bucket_name(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def s3_client(stack: Stack, scheme: str = "http", signature_version: str | None = "s3v4", **config):
    import boto3
    from botocore.config import Config

    cfg = {"s3": {"addressing_style": "path"}, "retries": {"max_attempts": 1, "mode": "standard"}}
    if signature_version:
        cfg["signature_version"] = signature_version
    cfg.update(config)
    return boto3.client(
        "s3",
        endpoint_url=stack.url(scheme),
        aws_access_key_id=stack.access_key,
        aws_secret_access_key=stack.secret_key,
        region_name=REGION,
        verify=stack.ca_file if scheme == "https" else None,
        config=Config(**cfg),
    )


def empty_and_delete_bucket(client, bucket: str) -> None:
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)
    except Exception:
        pass


@pytest.fixture
def bucket(gw):
    """A fresh bucket created with boto3 over HTTP; emptied and removed afterwards."""
    client = s3_client(gw, "http")
    name = new_bucket_name()
    client.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(client, name)


def run(cmd: list[str], env: dict | None = None, timeout: float = 300, check: bool = True,
        stack: Stack | None = None) -> subprocess.CompletedProcess:
    """Runs a client command; on failure the assertion shows its output and the gateway log."""
    r = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        extra = f"\n{stack.log_tail(40)}" if stack else ""
        raise AssertionError(
            f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stdout ---\n{r.stdout}\n--- stderr ---\n{r.stderr}{extra}"
        )
    return r


def client_env(stack: Stack, scheme: str, tmp: Path) -> dict:
    """Environment for the aws CLI: credentials, a private config file, the right CA bundle."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    cfg = tmp / "aws-config"
    cfg.touch()
    env.update(
        AWS_ACCESS_KEY_ID=stack.access_key,
        AWS_SECRET_ACCESS_KEY=stack.secret_key,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(cfg),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )
    if scheme == "https":
        env["AWS_CA_BUNDLE"] = stack.ca_file
    return env


def s3cmd_config(stack: Stack, scheme: str, tmp: Path) -> Path:
    port = stack.https_port if scheme == "https" else stack.http_port
    path = tmp / "s3cmd.cfg"
    path.write_text(
        "[default]\n"
        f"access_key = {stack.access_key}\n"
        f"secret_key = {stack.secret_key}\n"
        f"host_base = 127.0.0.1:{port}\n"
        f"host_bucket = 127.0.0.1:{port}\n"  # no %(bucket)s: path-style
        f"use_https = {'True' if scheme == 'https' else 'False'}\n"
        "check_ssl_certificate = True\n"
        f"ca_certs_file = {stack.ca_file if scheme == 'https' else ''}\n"
        "signature_v2 = False\n"
        f"bucket_location = {REGION}\n"
        "progress_meter = False\n"
    )
    return path


def rclone_env(stack: Stack, scheme: str, tmp: Path) -> dict:
    # The AWS SDK inside rclone reads AWS_* (AWS_CA_BUNDLE breaks its custom transport).
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    (tmp / "rclone.conf").touch()
    env.update(
        RCLONE_CONFIG=str(tmp / "rclone.conf"),
        RCLONE_CONFIG_GW_TYPE="s3",
        RCLONE_CONFIG_GW_PROVIDER="Other",  # provider AWS would force virtual-host style
        RCLONE_CONFIG_GW_ACCESS_KEY_ID=stack.access_key,
        RCLONE_CONFIG_GW_SECRET_ACCESS_KEY=stack.secret_key,
        RCLONE_CONFIG_GW_ENDPOINT=stack.url(scheme),
        RCLONE_CONFIG_GW_REGION=REGION,
        RCLONE_CONFIG_GW_FORCE_PATH_STYLE="true",
    )
    if scheme == "https":
        env["RCLONE_CA_CERT"] = stack.ca_file
    return env


def assert_s3_error(resp, status: int, code: str | set[str] | None = None):
    """Asserts an S3 error response: status, XML body with Code/Message/RequestId, and the
    x-amz-request-id header. Returns the parsed code."""
    import xml.etree.ElementTree as ET

    detail = f"{resp.request.method} {resp.request.url} -> {resp.status_code}\n{resp.headers}\n{resp.text[:2000]}"
    assert resp.status_code == status, detail
    assert resp.headers.get("x-amz-request-id"), "no x-amz-request-id header\n" + detail
    if resp.request.method == "HEAD":
        return None
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError as e:
        raise AssertionError(f"error body is not XML ({e})\n{detail}")
    fields = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root}
    assert root.tag.rsplit("}", 1)[-1] == "Error", detail
    for f in ("Code", "Message", "RequestId"):
        assert fields.get(f), f"error XML lacks {f}\n{detail}"
    assert fields["RequestId"] == resp.headers["x-amz-request-id"], detail
    if code is not None:
        codes = {code} if isinstance(code, str) else code
        assert fields["Code"] in codes, detail
    return fields["Code"]
